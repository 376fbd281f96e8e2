"""`make seeds`: make train under several seeds, so that a change is judged against the spread the seed alone causes.

Each run is make train's configuration with its own seed; the headline figures are summarised per seed with their
mean, min and max.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from movierec.config import ARTIFACTS_DIR, PROJECT_ROOT

DEFAULT_SEEDS = (42, 7, 123)
OWN_OPTIONS = ("seed", "output")  # make train's options that this command sets for each run

# (label, path into a bundle's metrics): the headline figures of the README's results tables
HEADLINES = (
    ("streaming retrieval HR@10, all events", ("streaming", "all_events", "retrieval", "hr@10")),
    ("streaming retrieval NDCG@10, all events", ("streaming", "all_events", "retrieval", "ndcg@10")),
    ("streaming retrieval HR@100, all events", ("streaming", "all_events", "retrieval", "hr@100")),
    ("streaming two-stage HR@10, sample", ("streaming", "sample_events", "two_stage", "hr@10")),
    ("streaming retrieval HR@10, sample", ("streaming", "sample_events", "retrieval", "hr@10")),
    ("static two-stage HR@10", ("static", "two_stage", "hr@10")),
    ("static two-stage NDCG@10", ("static", "two_stage", "ndcg@10")),
    ("static two-stage HR@100", ("static", "two_stage", "hr@100")),
    ("liked-movie NDCG@10, two-stage", ("final_list", "two_stage", "ndcg@10")),
    ("Recall@200", ("retrieval", "two_tower", "recall@200")),
    ("RMSE", ("rating", "ranker", "rmse")),
    ("RMSE, users with training ratings", ("rating", "ranker", "rmse_seen_users")),
    ("RMSE, users without", ("rating", "ranker", "rmse_unknown_users")),
)


def train_options() -> argparse.ArgumentParser:
    """The options of make train's (training.train) that this command looks at in what it passes on; argparse
    matches their abbreviations (`--out`, `--peer=ease`) as make train's parser does."""
    parser = argparse.ArgumentParser(prog="python -m training.train", add_help=False)  # allow_abbrev: on
    for option in ("--seed", "--output", "--peers"):
        parser.add_argument(option, nargs="*")
    return parser


def train_option(options: argparse.ArgumentParser, arg: str) -> str | None:
    """Which of train_options() make train reads `arg` (`--name` or `--name=value`) as: its dest, or None."""
    given, _ = options.parse_known_args([arg])
    return next((dest for dest, value in vars(given).items() if value is not None), None)


def parse_args(argv: list[str] | None) -> tuple[argparse.Namespace, list[str]]:
    """This command's options, and the rest: make train's options (training.train), passed to every run."""
    parser = argparse.ArgumentParser(
        prog="python -m tools.seeds",
        description=__doc__,
        allow_abbrev=False,  # --seed is make train's, not an abbreviation of --seeds
        epilog="Every other option is make train's (python -m training.train --help) and applies to every run; "
        "without --peers, the runs fit no peer method (the figures above do not depend on them).",
    )
    parser.add_argument(
        "--seeds",
        nargs="+",
        type=int,
        default=list(DEFAULT_SEEDS),
        metavar="SEED",
        help=f"at least two distinct seeds (default: {' '.join(map(str, DEFAULT_SEEDS))})",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=ARTIFACTS_DIR / "seeds",
        help="each run's bundle goes to OUTPUT/seed-N/, the summary to OUTPUT/summary.md and summary.json "
        "(default: artifacts/seeds/)",
    )
    args, rest = parser.parse_known_args(argv)
    if len(args.seeds) < 2 or len(set(args.seeds)) != len(args.seeds):
        parser.error(f"--seeds needs at least two distinct seeds, got {' '.join(map(str, args.seeds))}")
    if any(seed < 0 for seed in args.seeds):
        parser.error(f"--seeds must be at least 0, got {' '.join(map(str, args.seeds))}")
    passed_on = train_options()
    named = [train_option(passed_on, arg) for arg in rest]
    clash = [arg for arg, option in zip(rest, named, strict=True) if option in OWN_OPTIONS]
    if clash:
        parser.error(f"{' '.join(clash)}: make seeds sets each run's seed and output itself (use --seeds, --output)")
    if "peers" not in named:
        rest = [*rest, "--peers", "none"]
    return args, rest


def headline(metrics: dict, path: tuple[str, ...]) -> float | None:
    """The figure at `path` in a bundle's metrics, or None where the bundle has none (e.g. no test user)."""
    value = metrics
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def summarise(runs: dict[int, dict]) -> dict:
    """{seeds, figures: [{label, path, values (per seed, in order), mean, min, max}]} over each seed's metrics;
    mean, min and max over the seeds that have the figure."""
    figures = []
    for label, path in HEADLINES:
        values = [headline(metrics, path) for metrics in runs.values()]
        present = [value for value in values if value is not None]
        figures.append(
            {
                "label": label,
                "path": list(path),
                "values": values,
                "mean": statistics.fmean(present) if present else None,
                "min": min(present) if present else None,
                "max": max(present) if present else None,
            }
        )
    return {"seeds": list(runs), "figures": figures}


def markdown(summary: dict, title: str) -> str:
    """The summary as a Markdown table: one row per figure, one column per seed, then mean, min, max and spread."""

    def cell(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.4f}"

    seeds = summary["seeds"]
    lines = [
        f"# {title}",
        "",
        "| figure | " + " | ".join(f"seed {seed}" for seed in seeds) + " | mean | min | max | max - min |",
        "|---|" + "---|" * (len(seeds) + 4),
    ]
    for row in summary["figures"]:
        spread = None if row["mean"] is None else row["max"] - row["min"]
        cells = [*(cell(value) for value in row["values"]), cell(row["mean"]), cell(row["min"]), cell(row["max"])]
        lines.append(f"| {row['label']} | " + " | ".join(cells) + f" | {cell(spread)} |")
    return "\n".join(lines) + "\n"


def train_one(seed: int, output: Path, train_args: list[str]) -> int:
    """One make train run in its own process (each run's memory is given back when it ends); its exit code."""
    command = [sys.executable, "-m", "training.train", "--seed", str(seed), "--output", str(output), *train_args]
    return subprocess.run(command, cwd=PROJECT_ROOT, check=False).returncode  # -m: the project root comes first


def main(argv: list[str] | None = None) -> int:
    args, train_args = parse_args(argv)
    from movierec.artifacts import read_manifest
    from movierec.errors import MovieRecError
    from movierec.fsutil import write_text_atomic

    runs: dict[int, dict] = {}
    start = time.perf_counter()
    for number, seed in enumerate(args.seeds, 1):
        folder = args.output / f"seed-{seed}"
        print(f"\n=== make seeds: run {number} of {len(args.seeds)}, seed {seed} -> {folder}", flush=True)
        code = train_one(seed, folder, train_args)
        if code != 0:
            print(f"error: the run with seed {seed} failed (exit code {code}); no summary written", file=sys.stderr)
            return code
        try:
            runs[seed] = read_manifest(folder)["metrics"]
        except (MovieRecError, KeyError) as exc:
            print(f"error: seed {seed}: cannot read the run's metrics ({exc})", file=sys.stderr)
            return 2
    summary = summarise(runs)
    summary["train_args"] = train_args
    title = f"make train under seeds {', '.join(map(str, args.seeds))}"
    table = markdown(summary, title)
    write_text_atomic(args.output / "summary.json", json.dumps(summary, indent=1))
    write_text_atomic(args.output / "summary.md", table)
    print(f"\n{table}\nsummary: {args.output / 'summary.md'} ({time.perf_counter() - start:.0f} s in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
