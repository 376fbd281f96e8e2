"""Per-dataset settings files: what `make tune` chose on a dataset's validation period, read by `make train`.

A file training/tuned/<dataset>.json holds {"schema", "dataset", "settings": {"<section>.<field>": value},
"chosen": {how and on what they were chosen, with the validation figures}}. Keys name TrainConfig fields
("retrieval.temperature", "history_length"); a bad file is refused with one line naming the file, the key and what is
allowed.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

from movierec.config import TrainConfig
from movierec.errors import MovieRecError

SETTINGS_DIR = Path(__file__).resolve().parent / "tuned"
SCHEMA = 1
MAX_BYTES = 1_000_000
# what a settings file never sets: the run's identity and the evaluation protocol
FIXED = {"seed", "test_fraction", "holdout_fraction", "retrieve_k", "final_k", "peers"}
# (lowest, highest, whether the lowest is allowed) for keys whose range is not "a number at least 0"
RANGES = {
    "sequence.weight": (0.0, 1.0, True, False),
    "sequence.live_weight": (0.0, 1.0, True, True),
    "retrieval.temperature": (0.0, math.inf, False, False),
    "sequence.temperature": (0.0, math.inf, False, False),
    "retrieval.dropout": (0.0, 1.0, True, False),
    "sequence.dropout": (0.0, 1.0, True, False),
    "validation.fraction": (0.0, 1.0, False, False),
    "validation.max_fraction": (0.0, 1.0, False, False),
}
POSITIVE_INTS = ("epochs", "dim", "units", "length", "batch_size", "blocks", "heads", "history")


class SettingsError(MovieRecError, ValueError):
    """A settings file is missing, unreadable, or sets something that does not exist or is out of range."""


def settings_path(dataset: str) -> Path:
    return SETTINGS_DIR / f"{dataset}.json"


def settable(cfg: TrainConfig | None = None) -> dict[str, Any]:
    """Every key a settings file may set, with its current value (cfg, default TrainConfig())."""
    cfg = cfg or TrainConfig()
    keys = {}
    for field in dataclasses.fields(cfg):
        value = getattr(cfg, field.name)
        if field.name in FIXED:
            continue
        if dataclasses.is_dataclass(value):
            keys |= {f"{field.name}.{inner.name}": getattr(value, inner.name) for inner in dataclasses.fields(value)}
        else:
            keys[field.name] = value
    return keys


def _checked(key: str, value: Any, current: Any, where: str) -> Any:
    """value converted to the type of the field's current value, or SettingsError."""

    def bad(allowed: str) -> SettingsError:
        return SettingsError(f"{where}: setting {key!r} is {value!r}; allowed: {allowed}")

    if isinstance(current, bool):
        if not isinstance(value, bool):
            raise bad("true or false")
        return value
    if isinstance(current, tuple):
        if not isinstance(value, list) or not value:
            raise bad(f"a non-empty list like {list(current)}")
        return tuple(_checked(key, item, current[0], where) for item in value)
    if isinstance(current, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad("a whole number")
        leaf = key.rsplit(".", 1)[-1]
        lowest = 1 if any(part in leaf for part in POSITIVE_INTS) and leaf != "closing_epochs" else 0
        if value < lowest:
            raise bad(f"a whole number at least {lowest}")
        return value
    if isinstance(current, float):
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise bad("a finite number")
        low, high, low_ok, high_ok = RANGES.get(key, (0.0, math.inf, True, False))
        if value < low or (value == low and not low_ok) or value > high or (value == high and not high_ok):
            left, right = "[" if low_ok else "(", "]" if high_ok else ")"
            raise bad(f"a number in {left}{low:g}, {high:g}{right}")
        return float(value)
    raise bad(f"a value like {current!r}")


def apply(cfg: TrainConfig, settings: dict, where: str) -> TrainConfig:
    """cfg with every setting replaced; SettingsError (naming `where`) for an unknown key or a bad value."""
    allowed = settable(cfg)
    sections: dict[str, dict] = {}
    top: dict[str, Any] = {}
    for key, value in settings.items():
        if key not in allowed:
            raise SettingsError(f"{where}: unknown setting {key!r}; allowed: {', '.join(sorted(allowed))}")
        checked = _checked(key, value, allowed[key], where)
        if "." in key:
            section, name = key.split(".", 1)
            sections.setdefault(section, {})[name] = checked
        else:
            top[key] = checked
    replaced = {name: dataclasses.replace(getattr(cfg, name), **fields) for name, fields in sections.items()}
    return dataclasses.replace(cfg, **top, **replaced)


@dataclasses.dataclass(frozen=True)
class SettingsFile:
    """A read settings file: where it is, what it sets, and how those values were chosen."""

    path: Path
    settings: dict
    chosen: dict

    def record(self) -> dict:
        """What the bundle's manifest keeps about it."""
        return {"file": self.path.name, "settings": self.settings, "chosen": self.chosen}


def read(path: Path, dataset: str) -> SettingsFile:
    """The settings file at path, checked against TrainConfig and the dataset it is for; SettingsError otherwise."""
    where = str(path)
    try:
        if path.stat().st_size > MAX_BYTES:
            raise SettingsError(f"{where}: {path.stat().st_size:,} bytes; a settings file is at most {MAX_BYTES:,}")
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingsError(f"{where}: no such settings file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SettingsError(f"{where}: not a readable JSON settings file ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("settings"), dict):
        raise SettingsError(f'{where}: expected an object with "schema", "dataset", "settings" and "chosen"')
    if data.get("schema") != SCHEMA:
        raise SettingsError(f"{where}: schema {data.get('schema')!r}; this version reads schema {SCHEMA}")
    if data.get("dataset") != dataset:
        raise SettingsError(f"{where}: settings for dataset {data.get('dataset')!r}, not {dataset!r}")
    apply(TrainConfig(), data["settings"], where)  # every key and value checked
    chosen = data.get("chosen", {})
    return SettingsFile(path, data["settings"], chosen if isinstance(chosen, dict) else {})


def write(path: Path, dataset: str, settings: dict, chosen: dict) -> Path:
    """Write a settings file atomically (a temporary file moved into place), after checking it."""
    apply(TrainConfig(), settings, str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps({"schema": SCHEMA, "dataset": dataset, "settings": settings, "chosen": chosen}, indent=2)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, suffix=".tmp", delete=False, encoding="utf-8") as out:
        out.write(text + "\n")
    os.replace(out.name, path)
    return path


# Built-in epochs are for a training period of this many ratings (ML-1M's); a smaller one takes more epochs, up to
# MAX_EPOCH_FACTOR times as many and never more than the tuning's own ranges (training.tune)
REFERENCE_RATINGS = 800_000
MAX_EPOCH_FACTOR = 4.0
MAX_EPOCHS = {"retrieval": 8, "sequence": 10}


def scaled_to_size(cfg: TrainConfig, n_ratings: int) -> tuple[TrainConfig, str]:
    """(cfg with the towers' epochs scaled to a training period of n_ratings, one line saying so): a dataset without
    a settings file then takes about as many optimisation steps as the built-in epochs take on ML-1M."""
    factor = min(max(REFERENCE_RATINGS / max(n_ratings, 1), 1.0), MAX_EPOCH_FACTOR)
    epochs = {}
    for name, cap in MAX_EPOCHS.items():
        built_in = getattr(cfg, name).epochs
        epochs[name] = min(max(round(built_in * factor), built_in), max(cap, built_in))
    scaled = dataclasses.replace(
        cfg, **{name: dataclasses.replace(getattr(cfg, name), epochs=value) for name, value in epochs.items()}
    )
    note = (
        f"epochs scaled to {n_ratings:,} training ratings (x{factor:.2g}): retrieval {epochs['retrieval']}, "
        f"sequence {epochs['sequence']}"
    )
    return scaled, note
