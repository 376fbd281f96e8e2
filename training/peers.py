"""`make peers`: every peer method as a retriever, fitted on the training period and judged on both protocols.

main() sets glibc's heap (training.memory) before pandas or pyarrow start a thread: the rest is imported where used.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

from training.memory import keep_freed_memory


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    from movierec.evaluation.streaming import DEFAULT_SAMPLE, DEFAULT_SEED
    from movierec.retrievers import RETRIEVERS
    from training.data import dataset_args

    parser = argparse.ArgumentParser(prog="python -m training.peers", description=__doc__)
    dataset_args(parser)  # --dataset, --archive ($DATASET, $DATA_ZIP / $ML1M_ZIP)
    parser.add_argument("--data-dir", type=Path, default=None, help="where raw/ and processed/ go (default: data/)")
    parser.add_argument(
        "--methods",
        nargs="+",
        choices=list(RETRIEVERS),
        default=list(RETRIEVERS),
        metavar="METHOD",
        help=f"methods to fit and evaluate, any of: {' '.join(RETRIEVERS)} (default: all)",
    )
    events = parser.add_mutually_exclusive_group()
    events.add_argument(
        "--streaming-sample",
        type=int,
        default=DEFAULT_SAMPLE,
        metavar="N",
        help=f"streaming protocol on a seeded sample of N test events, the two-stage list's sample in the main "
        f"evaluation (default {DEFAULT_SAMPLE:,}; all events when there are fewer)",
    )
    events.add_argument("--streaming-all", action="store_true", help="streaming protocol on every test event")
    parser.add_argument("--streaming-seed", type=int, default=DEFAULT_SEED, metavar="S", help="seed of that sample")
    parser.add_argument("--retrieve-k", type=int, default=200, help="length of the static protocol's lists")
    parser.add_argument("--final-k", type=int, default=10, help="length of the final list (NDCG@k, P@k)")
    parser.add_argument("--out", type=Path, default=None, help="write every figure as JSON to this file")
    args = parser.parse_args(argv)
    if args.streaming_sample < 1:
        parser.error(f"--streaming-sample must be at least 1, got {args.streaming_sample}")
    if args.streaming_seed < 0:
        parser.error(f"--streaming-seed must be 0 or more, got {args.streaming_seed}")
    if not 1 <= args.final_k <= args.retrieve_k:
        parser.error(f"need 1 <= --final-k <= --retrieve-k, got {args.final_k} and {args.retrieve_k}")
    if args.out is not None and args.out.is_dir():
        parser.error(f"--out {args.out} is a folder; give a file path")
    args.methods = list(dict.fromkeys(args.methods))
    return args


def table_lines(result: dict) -> list[str]:
    """The printed table: one row per method, static then streaming figures, then timings and rating errors."""
    ev = result["streaming_events"]
    how = f"all {ev['events']:,} events" if ev["kind"] == "all" else f"a sample of {ev['events']:,} of {ev['of']:,} "
    how += "" if ev["kind"] == "all" else f"events, seed {ev['seed']}"
    fk = result["counts"]["final_k"]
    lines = [
        f"static protocol: {result['counts']['test_users']:,} test users "
        f"({result['counts']['test_users_unknown']:,} without training ratings); streaming protocol: {how}",
        f"{'':<11}|{'static':^62}|{'streaming':^47}|",
        f"{'method':<11}|{'R@10':>7}{'R@50':>7}{'R@200':>7}{f'NDCG@{fk}+':>9}{f'P@{fk}+':>7}{'HR@10':>7}"
        f"{f'NDCG@{fk}':>9}{'HR@100':>8} |{'HR@10':>7}{f'NDCG@{fk}':>9}{'HR@100':>8}{'HR@10 seen':>11}{'unknown':>9} |"
        f"{'index s':>8}{'eval s':>8}",
    ]

    def f(value: float, width: int) -> str:
        return f"{value:>{width}.4f}" if not math.isnan(value) else f"{'-':>{width}}"

    for name, r in result["methods"].items():
        st, fl, hits, sm, s = (
            r["static"]["retrieval"],
            r["static"]["final_list"],
            r["static"]["hits"],
            r["streaming"],
            r["seconds"],
        )
        lines.append(
            f"{name:<11}|{f(st['recall@10'], 7)}{f(st['recall@50'], 7)}{f(st['recall@200'], 7)}"
            f"{f(fl[f'ndcg@{fk}'], 9)}{f(fl[f'precision@{fk}'], 7)}{f(hits['hr@10'], 7)}{f(hits[f'ndcg@{fk}'], 9)}"
            f"{f(hits['hr@100'], 8)} |{f(sm['hr@10'], 7)}{f(sm['ndcg@10'], 9)}{f(sm['hr@100'], 8)}"
            f"{f(sm['hr@10_seen_users'], 11)}{f(sm['hr@10_unknown_users'], 9)} |"
            f"{s.get('index', float('nan')):>8.1f}{s['static'] + s['streaming']:>8.1f}"
        )
    lines.append(
        f"R@k: every test movie relevant; NDCG@{fk}+ and P@{fk}+: ratings >= 4 relevant (users with one); HR@k, "
        f"NDCG@{fk}: every test movie relevant (static) or the one rated movie (streaming); seen/unknown: users "
        "with/without training ratings"
    )
    for name, r in result["methods"].items():
        if "rating" in r:
            e = r["rating"]
            lines.append(
                f"{name} rating prediction on every test rating: RMSE {e['rmse']:.4f}, MAE {e['mae']:.4f}, "
                f"RMSE seen users {e['rmse_seen_users']:.4f}, unknown users {e['rmse_unknown_users']:.4f}"
            )
        if r.get("settings"):
            lines.append(f"{name} settings: {r['settings']}")
        if r.get("validation_recall@50"):
            lines.append(f"{name} validation Recall@50 (last 7 training days): {r['validation_recall@50']}")
    return lines


def write_json(path: Path, payload: dict) -> None:
    """Write atomically: a temporary file in the same folder, renamed when complete."""
    from movierec.fsutil import write_text_atomic

    write_text_atomic(path, json.dumps(payload, indent=1, allow_nan=True))


def main(argv: list[str] | None = None) -> int:
    keep_freed_memory()  # before TensorFlow starts a thread (training.memory)
    args = parse_args(argv)
    from movierec.data.prepare import load_prepared
    from movierec.data.split import chronological_split
    from movierec.errors import MovieRecError
    from movierec.evaluation.peers import evaluate_peers
    from movierec.features.space import FeatureSpace
    from training.train import data_dirs

    started = time.perf_counter()
    try:
        data = load_prepared(args.archive, *data_dirs(args.data_dir), dataset=args.dataset)
    except MovieRecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    split = chronological_split(data.ratings)
    space = FeatureSpace.fit(split.train, data.users, data.movies, description=data.description)
    print(
        f"{split.sizes[0]:,} train / {split.sizes[1]:,} test ratings, {space.n_catalog:,} catalogue movies", flush=True
    )
    result = evaluate_peers(
        args.methods,
        split,
        space,
        data.description,
        None if args.streaming_all else args.streaming_sample,
        args.streaming_seed,
        args.retrieve_k,
        args.final_k,
        log=lambda line: print(line, flush=True),
    )
    print("\n".join(table_lines(result)))
    if args.out is not None:
        write_json(args.out, {**result, "archive_sha256": data.sha256})
        print(f"figures: {args.out}")
    print(f"total {time.perf_counter() - started:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
