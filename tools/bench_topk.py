"""`make bench` (top-K part): latency of each top-K backend on synthetic catalogues, to say when to switch to FAISS.

Figures, not asserts. For 4,000 and 100,000 seeded random 64-d unit vectors and each backend (exact NumPy,
FAISS flat, FAISS HNSW): the index build time, p50/p99 latency per query for batches of 1 and 64 queries
asking a plain top 10 and what serving asks (k=200 candidates, each query excluding a 100-movie history),
and recall@10 against the exact answer. One math thread, as the server has (main() pins BLAS/OpenMP with
serving.threads before numpy loads, so this module's top imports only the standard library; FAISS gets
omp_set_num_threads(1)).
Random vectors have no cluster structure, which makes them the hardest case for HNSW's recall.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import TYPE_CHECKING

from serving.threads import pin_math_threads

if TYPE_CHECKING:
    import numpy as np

    from movierec.retrievers.vector_index import VectorIndex

BATCHES = (1, 64)


def unit_vectors(rng: np.random.Generator, n: int, dimension: int) -> np.ndarray:
    import numpy as np

    vectors = rng.standard_normal((n, dimension)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def backends(ef_search: int, hnsw_m: int, ef_construction: int) -> dict[str, VectorIndex]:
    from movierec.retrievers.vector_index import FaissIndex, NumpyIndex

    return {
        "numpy (exact)": NumpyIndex(),
        "faiss flat (exact)": FaissIndex("flat", threads=1),
        f"faiss hnsw M={hnsw_m} efC={ef_construction} ef={ef_search}": FaissIndex(
            "hnsw", hnsw_m=hnsw_m, ef_construction=ef_construction, ef_search=ef_search, threads=1
        ),
    }


def latency_ms(index: VectorIndex, queries: np.ndarray, excluded: list, k: int, batch: int, calls: int):
    """p50/p99 milliseconds per query over `calls` top_k calls of `batch` queries each, and the last results."""
    import numpy as np

    per_query, results = [], []
    for call in range(calls):
        start = (call * batch) % (len(queries) - batch + 1)
        chunk, chunk_excluded = queries[start : start + batch], excluded[start : start + batch]
        began = time.perf_counter_ns()
        ids, _ = index.top_k(chunk, k, exclude=chunk_excluded)
        per_query.append((time.perf_counter_ns() - began) / 1e6 / batch)
        results.append((start, ids))
    return float(np.percentile(per_query, 50)), float(np.percentile(per_query, 99)), results


def recall_at_10(results: list, exact: np.ndarray) -> float:
    import numpy as np

    hits = [
        len(set(row[:10].tolist()) & set(exact[start + i, :10].tolist())) / 10
        for start, ids in results
        for i, row in enumerate(ids)
    ]
    return float(np.mean(hits))


def run(args: argparse.Namespace) -> None:
    import numpy as np

    from movierec.retrievers.vector_index import NumpyIndex

    dimension, calls = args.dimension, args.calls
    # (k, excluded movies per query): a plain top 10, and what serving asks (200 candidates, history excluded)
    scenarios = [(10, 0), (args.k, args.history)]
    print(
        f"top-K backends: {dimension}-d unit vectors, {calls} calls at batch 1 and {max(10, calls // 8)} at batch 64, "
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')} "
        f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}, faiss omp threads 1"
    )
    header = (
        "| movies | backend | build s | k / excluded | b=1 p50 ms | b=1 p99 ms | b=64 p50 ms/q | b=64 p99 ms/q "
        "| recall@10 |"
    )
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for size in args.sizes:
        rng = np.random.default_rng(args.seed)
        vectors = unit_vectors(rng, size, dimension)
        identifiers = np.arange(size, dtype=np.int64) + 1
        queries = unit_vectors(rng, max(BATCHES) * 4, dimension)
        exact_index = NumpyIndex().index(vectors, identifiers)
        work = []
        for k, history in scenarios:
            excluded = [
                set(rng.choice(identifiers, size=min(history, size - 1), replace=False).tolist()) for _ in queries
            ]
            work.append((k, history, excluded, exact_index.top_k(queries, k, exclude=excluded)[0]))
        for name, index in backends(args.ef_search, args.hnsw_m, args.ef_construction).items():
            began = time.perf_counter()
            index.index(vectors, identifiers)
            build_s = time.perf_counter() - began
            for k, history, excluded, exact in work:
                cells, recalls = [], []
                for batch in BATCHES:
                    n_calls = calls if batch == 1 else max(10, calls // 8)
                    p50, p99, results = latency_ms(index, queries, excluded, k, batch, n_calls)
                    cells += [p50, p99]
                    recalls.append(recall_at_10(results, exact))
                timings = " | ".join(f"{value:.3f}" for value in cells)
                print(f"| {size:,} | {name} | {build_s:.2f} | {k} / {history} | {timings} | {min(recalls):.3f} |")


def positive(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 10_000_000:
        raise argparse.ArgumentTypeError(f"expected an integer from 1 to 10,000,000, got {text}")
    return value


def main(argv: list[str] | None = None) -> None:
    pin_math_threads()  # before numpy loads
    parser = argparse.ArgumentParser(prog="python -m tools.bench_topk", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=positive, nargs="+", default=[4_000, 100_000], help="catalogue sizes")
    parser.add_argument("--dimension", type=positive, default=64)
    parser.add_argument("--k", type=positive, default=200, help="candidates per query (serving retrieves 200)")
    parser.add_argument("--history", type=int, default=100, help="excluded (already rated) movies per query")
    parser.add_argument(
        "--calls", type=positive, default=200, help="top_k calls at batch 1 (an eighth of them at batch 64)"
    )
    parser.add_argument("--hnsw-m", type=positive, default=32)
    parser.add_argument("--ef-construction", type=positive, default=40)
    parser.add_argument("--ef-search", type=positive, default=128)
    parser.add_argument("--seed", type=int, default=14)
    args = parser.parse_args(argv)
    if args.history < 0:
        parser.error(f"--history: expected 0 or more, got {args.history}")
    run(args)


if __name__ == "__main__":
    main()
