"""`make bench`: start the real server, measure POST /recommend over HTTP and in-process, print a table.

Figures, not asserts: p50/p95/p99 latency and requests/s at concurrency 1 and 8 on loopback with one worker and
at concurrency 8 with two (and their ratio), in-process latency of one recommendation and of the user tower, the
same request through a naive model.predict path, time from process start to first successful response, peak RSS
per worker, and whether TensorFlow is mapped into any server process. It loads Keras for the naive path, which is
why it lives in tools/ and not in the TensorFlow-free serving package.

main() pins the math libraries to one thread (serving.threads) before numpy loads, as `make serve` does for the
server: this module's top imports only the standard library and modules that do the same.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from serving.threads import pin_math_threads
from tools.client import Client
from tools.server import Readiness, api_server

# the start-up figure is the time to a first successful /recommend, polled every 10 ms
FIRST_RECOMMEND = Readiness("POST", "/recommend", json.dumps({"user_id": 1}).encode())


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def serving_processes(proc: subprocess.Popen, workers: int) -> list[int]:
    """The pids that serve requests: the process itself, or uvicorn's worker processes under it."""
    if workers == 1:
        return [proc.pid]
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
    return [int(pid) for pid in children if "serving" in Path(f"/proc/{pid}/cmdline").read_text()] or [
        int(pid) for pid in children
    ]


def loads_tensorflow(pid: int) -> bool:
    """Whether a process has any TensorFlow shared library mapped (importing tensorflow or keras maps them)."""
    return "tensorflow" in Path(f"/proc/{pid}/maps").read_text()


def _client_process(args: tuple[int, list[bytes], int, float]) -> list[float]:
    port, bodies, count, start_at = args
    client = Client(port)
    client.send("GET", "/health")
    while time.time() < start_at:
        time.sleep(0.001)
    return [client.timed("POST", "/recommend", bodies[j % len(bodies)]) for j in range(count)]


def http_load(port: int, bodies: list[bytes], concurrency: int, requests_per_client: int) -> dict:
    """`concurrency` client processes (so the load generator is not one GIL-bound process), each with one
    keep-alive connection sending its requests back to back."""
    import multiprocessing

    import numpy as np

    start_at = time.time() + 1.0
    jobs = [(port, bodies[i::concurrency] or bodies, requests_per_client, start_at) for i in range(concurrency)]
    with multiprocessing.get_context("fork").Pool(concurrency) as pool:
        results = pool.map(_client_process, jobs)
        wall = time.time() - start_at
    flat = np.array([x for per in results for x in per])
    ok = flat[flat >= 0] * 1000
    return {
        "p50": np.percentile(ok, 50),
        "p95": np.percentile(ok, 95),
        "p99": np.percentile(ok, 99),
        "rps": len(flat) / wall,
        "n": len(flat),
        "failures": int((flat < 0).sum()),
    }


WRK_SCRIPT = """
math.randomseed(%d)
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  local body = string.format('{"user_id": %%d, "top_k_retrieve": 200, "top_n_final": 10}', math.random(1, %d))
  return wrk.format(nil, "/recommend", nil, body)
end
"""


def wrk_load(port: int, concurrency: int, seconds: int, n_users: int, seed: int) -> dict | None:
    """Requests/s and p50/p99 from wrk (a C load generator: it leaves the 2 cores to the server far more than the
    Python clients do); None when wrk is not installed (`make bench` installs Debian's wrk when it can)."""
    import re
    import shutil
    import tempfile

    if shutil.which("wrk") is None:
        return None
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT % (seed, n_users))
    try:
        command = ["wrk", "-t1", f"-c{concurrency}", f"-d{seconds}s", "--latency", "-s", script.name]
        out = subprocess.run(
            [*command, f"http://127.0.0.1:{port}"], capture_output=True, text=True, timeout=seconds + 30
        ).stdout
    finally:
        os.unlink(script.name)

    def ms(label: str) -> float:
        value, unit = re.search(rf"{label}%\s+([\d.]+)(us|ms|s)", out).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": ms("50"),
        "p99": ms("99"),
        "failures": int(errors.group(1)) if errors else 0,
    }


def bench_server(artifacts: Path, workers: int):
    """The server under test: `workers` processes on a throwaway rating store (never the user's), started once a
    first /recommend succeeds."""
    return api_server(artifacts, workers=workers, prefix="movierec-bench-", ready=FIRST_RECOMMEND, interval_s=0.01)


def run_server(
    artifacts: Path,
    bodies: list[bytes],
    workers: int,
    levels: tuple[int, ...],
    requests: int,
    wrk_levels: tuple[int, ...] = (),
    n_users: int = 1,
) -> dict:
    """Start a server with `workers` processes, load it at each concurrency level, and stop it."""
    with bench_server(artifacts, workers) as server:
        port = server.port
        http_load(port, bodies, max(levels), 50)  # warm every worker's connections and caches
        results = {c: http_load(port, bodies, c, max(1, requests // c)) for c in levels}
        wrk = {c: wrk_load(port, c, 10, n_users, seed=c) for c in wrk_levels}
        pids = serving_processes(server.proc, workers)
        rss = [peak_rss_mb(pid) for pid in pids]
        tensorflow = [loads_tensorflow(pid) for pid in pids]
    return {"levels": results, "wrk": wrk, "start_s": server.ready_s, "rss": rss, "tensorflow": tensorflow}


def naive_recommend(recommender, user_tower, ranker, user, k: int = 200, n: int = 10):
    """The served list's top n catalogue rows computed with Keras's model.predict for the user tower and the ranker
    (the path ONNX Runtime replaces); retrieval and the final order by the scoring seam, as served."""
    import dataclasses

    import numpy as np

    from movierec.features.pairs import ranking_inputs
    from movierec.retrievers.topk import top_k_rows

    vector = user_tower.predict(user.inputs, verbose=0)
    scorer = recommender.scorer
    queries = dataclasses.replace(user.queries(), vectors=vector)
    scores = scorer.retrieval_scores(queries)[0]
    scores[user.history_rows] = -np.inf
    candidates = top_k_rows(scores, k)
    inputs = ranking_inputs(recommender.space, user.inputs, vector, candidates[0], scorer.towers.movie_vectors)
    predicted = ranker.predict(inputs, verbose=0, batch_size=candidates.shape[1]).reshape(1, -1)
    final = scorer.final_scores(queries, user.inputs, scores[None, :], candidates, predicted)[0]
    return candidates[0, np.argsort(-final, kind="stable")[:n]]


def in_process(artifacts: Path, user_ids: list[int], repeats: int) -> dict:
    """The served path (ONNX Runtime + NumPy) vs a naive path calling model.predict twice per request."""
    import numpy as np

    from movierec.artifacts import load_bundle, recommender_from_bundle

    bundle = load_bundle(artifacts, keras_models=True)
    rec = recommender_from_bundle(bundle)
    for uid in user_ids[:20]:
        rec.recommend(rec.contexts.known(uid), 200, 10)
    fast, vector_only = [], []
    for i in range(repeats):
        uid = user_ids[i % len(user_ids)]
        t = time.perf_counter()
        rec.recommend(rec.contexts.known(uid), 200, 10)
        fast.append(time.perf_counter() - t)
    one_user = rec.space.user_inputs([user_ids[0]])
    for _ in range(repeats):
        t = time.perf_counter()
        rec.contexts.vectors(one_user)
        vector_only.append(time.perf_counter() - t)

    user_tower, ranker = bundle.keras_models["user_tower"], bundle.keras_models["ranking_model"]

    def naive(uid: int):
        return naive_recommend(rec, user_tower, ranker, rec.contexts.known(uid))

    naive(user_ids[0])
    slow = []
    for i in range(max(10, repeats // 20)):
        t = time.perf_counter()
        naive(user_ids[i % len(user_ids)])
        slow.append(time.perf_counter() - t)
    fast_ms, slow_ms = np.array(fast) * 1000, np.array(slow) * 1000
    return {
        "fast_p50": np.percentile(fast_ms, 50),
        "fast_p99": np.percentile(fast_ms, 99),
        "user_tower_p50": np.percentile(np.array(vector_only) * 1000, 50),
        "naive_p50": np.percentile(slow_ms, 50),
        "ratio": np.percentile(slow_ms, 50) / np.percentile(fast_ms, 50),
    }


def _mixed_client(args: tuple[int, list[tuple[str, str, bytes]], float]) -> list[tuple[str, float]]:
    port, operations, start_at = args
    client = Client(port)
    client.timed("GET", "/health")
    while time.time() < start_at:
        time.sleep(0.001)
    return [(method, client.timed(method, path, body)) for method, path, body in operations]


def _percentiles(latencies: list[float]) -> dict:
    import numpy as np

    values = np.array(latencies)
    ok = values[values >= 0] * 1000
    failures = int((values < 0).sum())
    if not len(ok):  # every request failed: no latency to report
        return {"p50": float("nan"), "p99": float("nan"), "n": len(values), "failures": failures}
    return {"p50": np.percentile(ok, 50), "p99": np.percentile(ok, 99), "n": len(values), "failures": failures}


def mixed_workload(artifacts: Path, user_ids: list[int], requests: int, seed: int, concurrency: int = 8) -> dict:
    """Live ratings under load, on a throwaway SQLite store: 90% POST /recommend and 10% PUT rating writes (random
    dataset users and movies) from `concurrency` client processes; then, at concurrency 1, PUT alone and /recommend
    for users with live ratings (a created user, and a dataset user whose history goes on)."""
    import multiprocessing

    import numpy as np
    import pandas as pd

    from movierec.artifacts import resolve_bundle

    movie_ids = pd.read_parquet(resolve_bundle(artifacts) / "movies.parquet", columns=["movie_id"])["movie_id"].tolist()
    rng = np.random.default_rng(seed)

    def put(user_id: int) -> tuple[str, str, bytes]:
        movie, rating = int(rng.choice(movie_ids)), int(rng.integers(1, 6))
        return "PUT", f"/users/{user_id}/ratings/{movie}", json.dumps({"rating": rating}).encode()

    def recommend(user_id: int) -> tuple[str, str, bytes]:
        return "POST", "/recommend", json.dumps({"user_id": user_id, "top_n_final": 10}).encode()  # retrieve 200

    dataset_user = int(user_ids[0])  # these two are kept out of the random traffic
    plain_user = next(int(u) for u in user_ids if u != dataset_user)
    pool = [u for u in user_ids if u not in (dataset_user, plain_user)]
    users = rng.choice(pool, size=requests)
    operations = [put(int(u)) if rng.random() < 0.1 else recommend(int(u)) for u in users]
    with bench_server(artifacts, 1) as server:
        start_at = time.time() + 1.0
        jobs = [(server.port, operations[i::concurrency], start_at) for i in range(concurrency)]
        with multiprocessing.get_context("fork").Pool(concurrency) as clients:
            results = clients.map(_mixed_client, jobs)
            wall = time.time() - start_at
        flat = [x for per in results for x in per]
        client = Client(server.port)
        created = client.call("POST", "/users", {})[1]["user_id"]
        for user_id in (created, dataset_user):
            for movie in rng.choice(movie_ids, size=20, replace=False):
                client.timed("PUT", f"/users/{user_id}/ratings/{int(movie)}", b'{"rating": 4}')
        n = max(100, requests // 10)
        single = {
            "put_alone": [client.timed(*put(int(rng.choice(pool)))) for _ in range(n)],
            "created": [client.timed(*recommend(created)) for _ in range(n)],
            "dataset": [client.timed(*recommend(dataset_user)) for _ in range(n)],
            "no_live": [client.timed(*recommend(plain_user)) for _ in range(n)],  # for comparison
        }
        client.close()
    return {
        "concurrency": concurrency,
        "rps": len(flat) / wall,
        "recommend": _percentiles([t for method, t in flat if method == "POST"]),
        "put": _percentiles([t for method, t in flat if method == "PUT"]),
        **{key: _percentiles(values) for key, values in single.items()},
    }


def print_mixed(mixed: dict) -> None:
    """The mixed-workload rows of the table."""
    c, rec, put = mixed["concurrency"], mixed["recommend"], mixed["put"]
    label = f"mixed 90% POST /recommend + 10% PUT rating (SQLite), concurrency {c}"
    print(f"| {label}: /recommend p50 / p99 | {rec['p50']:.2f} / {rec['p99']:.2f} ms ({rec['failures']} failed) |")
    print(f"| {label}: PUT p50 / p99 | {put['p50']:.2f} / {put['p99']:.2f} ms ({put['failures']} failed) |")
    print(f"| {label}: throughput | {mixed['rps']:.0f} requests/s ({rec['n'] + put['n']} requests) |")
    alone = mixed["put_alone"]
    print(f"| PUT rating (SQLite), concurrency 1: p50 / p99 | {alone['p50']:.2f} / {alone['p99']:.2f} ms |")
    for key, who in (
        ("created", "a created user with 20 live ratings"),
        ("dataset", "a dataset user + 20 live ratings"),
        ("no_live", "a dataset user, no live ratings"),
    ):
        r = mixed[key]
        print(f"| HTTP POST /recommend, {who}, concurrency 1: p50 / p99 | {r['p50']:.2f} / {r['p99']:.2f} ms |")


def main(argv: list[str] | None = None) -> int:
    pin_math_threads()  # before numpy loads, in this process and the servers it starts
    parser = argparse.ArgumentParser(prog="python -m tools.bench", description=__doc__)
    parser.add_argument("--artifacts", type=Path, default=Path(os.environ.get("ARTIFACTS_DIR", "artifacts")))
    parser.add_argument("--requests", type=int, default=2000, help="requests per concurrency level")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    import numpy as np

    from movierec.artifacts import read_manifest, resolve_bundle

    manifest = read_manifest(resolve_bundle(args.artifacts))
    rng = np.random.default_rng(args.seed)
    n_users = manifest["counts"]["users"]
    user_ids = rng.integers(1, n_users + 1, size=500).tolist()
    bodies = [json.dumps({"user_id": u, "top_k_retrieve": 200, "top_n_final": 10}).encode() for u in user_ids]

    try:
        one = run_server(args.artifacts, bodies, 1, (1, 8), args.requests, (1, 8), n_users)
        two = run_server(args.artifacts, bodies, 2, (8,), args.requests, (8,), n_users)
        local = in_process(args.artifacts, user_ids, repeats=500)
        mixed = mixed_workload(args.artifacts, user_ids, args.requests, args.seed)
    except RuntimeError as exc:  # a server that did not start (the reason and its log's tail)
        print(f"error: the server did not start: {exc}", file=sys.stderr)
        return 1

    print(
        f"\nbundle {manifest['version']}  ({n_users} users, {manifest['counts']['movies']} movies), "
        f"{os.cpu_count()} CPU cores\n"
    )
    print("| measure | value |")
    print("|---|---|")
    for label, run in (("1 worker", one), ("2 workers", two)):
        for c, r in run["levels"].items():
            print(
                f"| HTTP POST /recommend, {label}, concurrency {c}: p50 / p95 / p99 | "
                f"{r['p50']:.2f} / {r['p95']:.2f} / {r['p99']:.2f} ms |"
            )
            print(
                f"| HTTP POST /recommend, {label}, concurrency {c}: throughput | {r['rps']:.0f} requests/s "
                f"({r['n']} requests, {r['failures']} failed) |"
            )
    ratio = two["levels"][8]["rps"] / one["levels"][8]["rps"]
    print(f"| throughput at concurrency 8, 2 workers / 1 worker (Python clients) | {ratio:.2f}x |")
    for label, run in (("1 worker", one), ("2 workers", two)):
        for c, r in run["wrk"].items():
            if r is not None:
                print(
                    f"| wrk, {label}, concurrency {c}: p50 / p99, throughput | {r['p50']:.2f} / {r['p99']:.2f} ms, "
                    f"{r['rps']:.0f} requests/s ({r['failures']} failed) |"
                )
    if one["wrk"].get(8) and two["wrk"].get(8):
        wrk_ratio = two["wrk"][8]["rps"] / one["wrk"][8]["rps"]
        print(f"| throughput at concurrency 8, 2 workers / 1 worker (wrk) | {wrk_ratio:.2f}x |")
    print(
        f"| in-process recommend (ONNX Runtime + NumPy): p50 / p99 | "
        f"{local['fast_p50']:.3f} / {local['fast_p99']:.3f} ms |"
    )
    print(f"| in-process user tower, one user (ONNX Runtime): p50 | {local['user_tower_p50']:.3f} ms |")
    print(f"| in-process recommend via model.predict: p50 | {local['naive_p50']:.2f} ms |")
    print(f"| speed-up of the served path over model.predict | {local['ratio']:.0f}x |")
    for label, run in (("1 worker", one), ("2 workers", two)):
        print(f"| process start to first successful /recommend, {label} | {run['start_s']:.2f} s |")
        rss = " / ".join(f"{mb:.0f}" for mb in run["rss"])
        print(f"| peak RSS per worker, {label} | {rss} MB |")
        absent = "absent" if not any(run["tensorflow"]) else "LOADED"
        print(f"| TensorFlow in the server processes, {label} | {absent} (checked in /proc/<pid>/maps) |")
    print_mixed(mixed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
