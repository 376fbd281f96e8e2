"""`make data`: fetch or accept a MovieLens archive (DATASET, default ml-1m), validate it, build the parquet cache.

main() sets glibc's heap (training.memory) before pandas or pyarrow start a thread: the rest is imported where used.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from movierec.config import PROCESSED_DIR, RAW_DIR
from training.memory import keep_freed_memory


def dataset_args(parser: argparse.ArgumentParser) -> None:
    """--dataset and --archive, defaulting to $DATASET and $DATA_ZIP (else $ML1M_ZIP, kept for ml-1m)."""
    from movierec.datasets.registry import ADAPTERS, DEFAULT_DATASET

    parser.add_argument(
        "--dataset",
        default=os.environ.get("DATASET") or DEFAULT_DATASET,
        choices=sorted(ADAPTERS),
        help=f"which MovieLens dataset (default: $DATASET, else {DEFAULT_DATASET})",
    )
    parser.add_argument(
        "--archive",
        default=os.environ.get("DATA_ZIP") or os.environ.get("ML1M_ZIP") or None,
        help="local zip of that dataset (default: $DATA_ZIP, else $ML1M_ZIP, else download the official archive)",
    )


def main(argv: list[str] | None = None) -> int:
    keep_freed_memory()  # before pandas or pyarrow start a thread (training.memory)
    from movierec.data.prepare import prepare_dataset
    from movierec.data.split import chronological_split
    from movierec.datasets.registry import ADAPTERS
    from movierec.errors import MovieRecError

    parser = argparse.ArgumentParser(prog="python -m training.data", description=__doc__)
    dataset_args(parser)
    parser.add_argument("--data-dir", type=Path, default=None, help="where raw/ and processed/ go (default: data/)")
    args = parser.parse_args(argv)
    raw_dir, processed_dir = (
        (args.data_dir / "raw", args.data_dir / "processed") if args.data_dir else (RAW_DIR, PROCESSED_DIR)
    )
    start = time.perf_counter()
    try:
        data = prepare_dataset(args.archive, raw_dir, processed_dir, dataset=args.dataset)
    except MovieRecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    split = chronological_split(data.ratings)
    print(
        f"{ADAPTERS[args.dataset].layout.label} ready in {time.perf_counter() - start:.1f}s: {len(data.ratings):,} "
        f"ratings, {len(data.users):,} users, {len(data.movies):,} movies (archive sha256 {data.sha256[:12]}...)\n"
        f"parquet cache: {processed_dir / data.sha256[:16]}\n"
        f"chronological split: {split.sizes[0]:,} train / {split.sizes[1]:,} test, "
        f"cut-off timestamp {split.cutoff_timestamp}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
