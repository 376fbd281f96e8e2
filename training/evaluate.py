"""`make evaluate`: evaluate an exported bundle on the test split again and write a fresh report.

The bundle itself is immutable (its manifest holds checksums), so the report goes to reports/<version>/. main()
sets glibc's heap (training.memory) before pandas or pyarrow start a thread: the rest is imported where used.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from movierec.config import PROJECT_ROOT
from training.memory import keep_freed_memory


def main(argv: list[str] | None = None) -> int:
    keep_freed_memory()  # before TensorFlow starts a thread (training.memory)
    parser = argparse.ArgumentParser(prog="python -m training.evaluate", description=__doc__)
    parser.add_argument("--bundle", type=Path, default=Path(os.environ.get("ARTIFACTS_DIR", "artifacts")))
    parser.add_argument(
        "--archive",
        default=os.environ.get("DATA_ZIP") or os.environ.get("ML1M_ZIP") or None,
        help="the archive the bundle was trained on (default: $DATA_ZIP or $ML1M_ZIP, else the prepared data/)",
    )
    parser.add_argument("--data-dir", type=Path, default=None, help="where raw/ and processed/ are (default: data/)")
    parser.add_argument("--reports", type=Path, default=PROJECT_ROOT / "reports")
    parser.add_argument(
        "--streaming-sample",
        type=int,
        default=None,
        help="test events the streaming protocol's two-stage list is scored on (default: the evaluation's; all "
        "events when there are fewer)",
    )
    parser.add_argument("--streaming-seed", type=int, default=None, help="seed of that sample")
    args = parser.parse_args(argv)
    if args.streaming_sample is not None and args.streaming_sample < 1:
        parser.error(f"--streaming-sample must be at least 1, got {args.streaming_sample}")

    from movierec.artifacts import load_bundle, recommender_from_bundle
    from movierec.data.prepare import load_prepared
    from movierec.data.split import evaluation_split
    from movierec.errors import MovieRecError
    from movierec.evaluation.evaluate import evaluate
    from movierec.evaluation.peers import evaluate_fitted
    from movierec.evaluation.report import report_files
    from movierec.evaluation.streaming import same_events
    from training.train import data_dirs, print_summary

    start = time.perf_counter()
    try:
        bundle = load_bundle(args.bundle, threads=os.cpu_count() or 1)
        data = load_prepared(args.archive, *data_dirs(args.data_dir), dataset=bundle.description.name)
    except MovieRecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if data.sha256 != bundle.manifest["data"]["archive_sha256"]:
        print(
            f"error: the data (sha256 {data.sha256[:12]}...) is not the archive bundle {bundle.version} was "
            f"trained on ({bundle.manifest['data']['archive_sha256'][:12]}...); pass --archive",
            file=sys.stderr,
        )
        return 2
    cfg = bundle.manifest["config"]
    holdout = float(cfg.get("holdout_fraction", 0.0))  # a held-out run's bundle is judged on its held-out period again
    split = evaluation_split(data.ratings, cfg["test_fraction"], holdout)
    streaming = {
        key: value
        for key, value in (("streaming_sample", args.streaming_sample), ("streaming_seed", args.streaming_seed))
        if value is not None
    }
    result = evaluate(
        recommender_from_bundle(bundle), split, cfg["retrieve_k"], cfg["final_k"], cfg["recent_days"], **streaming
    )
    metrics = result["metrics"]
    metrics["dataset"] = bundle.description.name
    metrics["holdout_fraction"] = holdout
    if bundle.peers:  # the bundle's fitted peers, on the same streaming events as the two-stage list
        metrics["peers"] = evaluate_fitted(
            bundle.peers,
            split,
            bundle.space,
            bundle.description,
            *same_events(metrics["streaming"]["two_stage_events"]),
            cfg["retrieve_k"],
            cfg["final_k"],
            log=lambda line: print(line, flush=True),
        )
    print_summary(metrics)
    target = args.reports / bundle.version
    for name, content in report_files(result, {"bundle": bundle.version}).items():
        path = target / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    print(f"\nreport: {target / 'report.md'} ({time.perf_counter() - start:.1f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
