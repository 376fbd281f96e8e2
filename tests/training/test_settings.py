"""Settings files: what make train reads from training/tuned/<dataset>.json, and one clear line for a bad one."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from movierec.config import TrainConfig
from training import train as train_cli
from training.settings import SETTINGS_DIR, SettingsError, apply, read, settable, write

PROJECT = Path(__file__).resolve().parents[2]


def settings_file(tmp_path: Path, settings: dict, dataset: str = "ml-1m", **extra) -> Path:
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"schema": 1, "dataset": dataset, "settings": settings, "chosen": {}, **extra}))
    return path


def test_a_settings_file_sets_nested_fields_and_options_still_override_it(tmp_path):
    path = settings_file(
        tmp_path,
        {"retrieval.temperature": 0.08, "history_length": 50, "ranking.units": [64, 32, 16], "sequence.weight": 0.3},
    )
    args, cfg = train_cli.parse_args(["--settings", str(path), "--dataset", "ml-1m", "--history-length", "70"])
    assert cfg.retrieval.temperature == 0.08 and cfg.sequence.weight == 0.3 and cfg.ranking.units == (64, 32, 16)
    assert cfg.history_length == 70  # the option wins
    assert cfg.retrieval.epochs == TrainConfig().retrieval.epochs  # what the file leaves out stays the default
    assert args.settings_file.settings["history_length"] == 50


def test_none_means_the_built_in_defaults(tmp_path):
    args, cfg = train_cli.parse_args(["--settings", "none"])
    assert args.settings_file is None and cfg == TrainConfig()


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"retrieval.temprature": 0.1}, "unknown setting 'retrieval.temprature'"),
        ({"seed": 3}, "unknown setting 'seed'"),  # the run's identity is never a setting
        ({"retrieval.temperature": 0}, "allowed: a number in (0, inf)"),
        ({"retrieval.temperature": "hot"}, "allowed: a finite number"),
        ({"sequence.weight": 1.0}, "allowed: a number in [0, 1)"),
        ({"retrieval.epochs": 0}, "allowed: a whole number at least 1"),
        ({"retrieval.epochs": 2.5}, "allowed: a whole number"),
        ({"ranking.units": []}, "allowed: a non-empty list"),
        ({"retrieval.example_age": 1}, "allowed: true or false"),
    ],
)
def test_bad_settings_are_refused_naming_the_file_and_what_is_allowed(tmp_path, settings, message):
    path = settings_file(tmp_path, settings)
    with pytest.raises(SettingsError, match=re.escape(message)):
        read(path, "ml-1m")
    with pytest.raises(SettingsError, match=str(path)):
        read(path, "ml-1m")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not a readable JSON settings file"),
        ("[]", "expected an object"),
        (json.dumps({"schema": 9, "dataset": "ml-1m", "settings": {}}), "schema 9"),
        (json.dumps({"schema": 1, "dataset": "ml-100k", "settings": {}}), "settings for dataset 'ml-100k'"),
    ],
)
def test_unreadable_or_foreign_files_are_refused(tmp_path, content, message):
    path = tmp_path / "s.json"
    path.write_text(content)
    with pytest.raises(SettingsError, match=message):
        read(path, "ml-1m")


def test_make_train_prints_one_error_line_for_a_bad_settings_file(tmp_path):
    path = settings_file(tmp_path, {"retrieval.epochs": -1})
    done = subprocess.run(
        [sys.executable, "-m", "training.train", "--settings", str(path), "--dataset", "ml-1m"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=PROJECT,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "retrieval.epochs" in lines[0]


def test_write_is_atomic_and_reads_back(tmp_path):
    path = write(tmp_path / "tuned" / "ml-1m.json", "ml-1m", {"popularity.weight": 0.05}, {"by": "a test"})
    assert read(path, "ml-1m").settings == {"popularity.weight": 0.05}
    assert [p.name for p in path.parent.iterdir()] == ["ml-1m.json"]
    with pytest.raises(SettingsError):
        write(tmp_path / "bad.json", "ml-1m", {"nope": 1}, {})
    assert not (tmp_path / "bad.json").exists()


def test_every_shipped_settings_file_reads_and_applies():
    files = sorted(SETTINGS_DIR.glob("*.json"))
    for path in files:
        loaded = read(path, path.stem)
        cfg = apply(TrainConfig(), loaded.settings, str(path))
        assert set(loaded.settings) <= set(settable(cfg))
        assert "by" in loaded.chosen and "figures" in loaded.chosen  # how and on what they were chosen


@pytest.mark.parametrize(
    ("ratings", "retrieval", "sequence"),
    [(800_000, 2, 5), (5_000_000, 2, 5), (400_000, 4, 10), (80_000, 8, 10)],
)
def test_without_a_settings_file_the_towers_epochs_scale_with_the_datasets_size(ratings, retrieval, sequence):
    from training.settings import scaled_to_size

    cfg, note = scaled_to_size(TrainConfig(), ratings)
    assert (cfg.retrieval.epochs, cfg.sequence.epochs) == (retrieval, sequence)
    assert f"{ratings:,} training ratings" in note and cfg.ranking == TrainConfig().ranking


def test_explicit_epochs_or_a_settings_file_turn_the_scaling_off(tmp_path):
    assert train_cli.parse_args(["--settings", "none"])[0].size_scaled
    assert not train_cli.parse_args(["--settings", "none", "--retrieval-epochs", "3"])[0].size_scaled
    path = settings_file(tmp_path, {"retrieval.epochs": 3})
    args, cfg = train_cli.parse_args(["--settings", str(path), "--dataset", "ml-1m"])
    assert not args.size_scaled and cfg.retrieval.epochs == 3
