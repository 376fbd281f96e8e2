"""`make bench`: start the real server, measure POST /recommend over HTTP and in-process, print a table.

Figures, not asserts: p50/p95/p99 latency and requests/s at concurrency 1 and 8 on loopback, in-process
latency of one recommendation, the same request through a naive model.predict path, time from process start
to first successful response, and the server's peak RSS.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


class Client:
    """A keep-alive HTTP/1.1 client with almost no overhead (http.client)."""

    def __init__(self, port: int):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def post(self, path: str, body: bytes) -> int:
        self.conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
        response = self.conn.getresponse()
        response.read()
        return response.status

    def get(self, path: str) -> int:
        self.conn.request("GET", path)
        response = self.conn.getresponse()
        response.read()
        return response.status


def start_server(artifacts: Path, port: int) -> tuple[subprocess.Popen, float]:
    env = {**os.environ, "ARTIFACTS_DIR": str(artifacts), "LOG_LEVEL": "warning"}
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "serving", "--port", str(port)], env=env)
    body = json.dumps({"user_id": 1}).encode()
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with code {proc.returncode} before answering")
        try:
            if Client(port).post("/recommend", body) == 200:
                return proc, time.perf_counter() - start
        except OSError:
            pass
        if time.perf_counter() - start > 120:
            proc.kill()
            raise SystemExit("server did not answer within 120 s")
        time.sleep(0.02)


def http_load(port: int, bodies: list[bytes], concurrency: int, requests_per_worker: int) -> dict:
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    failures = []

    def worker(i: int) -> None:
        client = Client(port)
        for j in range(requests_per_worker):
            body = bodies[(i * requests_per_worker + j) % len(bodies)]
            t = time.perf_counter()
            status = client.post("/recommend", body)
            latencies[i].append(time.perf_counter() - t)
            if status != 200:
                failures.append(status)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    all_ms = np.array([x for per in latencies for x in per]) * 1000
    return {
        "p50": np.percentile(all_ms, 50),
        "p95": np.percentile(all_ms, 95),
        "p99": np.percentile(all_ms, 99),
        "rps": len(all_ms) / wall,
        "n": len(all_ms),
        "failures": len(failures),
    }


def in_process(artifacts: Path, user_ids: list[int], repeats: int) -> dict:
    """The compiled hot path vs a naive path calling model.predict twice per request, same requests."""
    from movierec.artifacts import load_bundle, recommender_from_bundle
    from movierec.models.ranking import ranking_inputs
    from movierec.recommender import top_k_rows

    bundle = load_bundle(artifacts)
    rec = recommender_from_bundle(bundle)
    for uid in user_ids[:5]:
        rec.recommend(rec.known_user(uid), 200, 10)
    fast = []
    for i in range(repeats):
        uid = user_ids[i % len(user_ids)]
        t = time.perf_counter()
        rec.recommend(rec.known_user(uid), 200, 10)
        fast.append(time.perf_counter() - t)

    def naive(uid: int):
        user = rec.known_user(uid)
        vector = bundle.user_tower.predict(user.inputs, verbose=0)
        scores = rec.movie_vectors @ vector[0]
        scores[user.history_rows] = -np.inf
        candidates = top_k_rows(scores, 200)[0]
        inputs = ranking_inputs(rec.space, user.inputs, vector, candidates, rec.movie_vectors)
        predicted = bundle.ranking_model.predict(inputs, verbose=0, batch_size=len(candidates)).reshape(-1)
        scorer = rec.final_scorer
        final = scorer.scores(scores[candidates], predicted, scorer.log_normaliser(scores)[0])
        return candidates[np.argsort(-final, kind="stable")[:10]]

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
        "naive_p50": np.percentile(slow_ms, 50),
        "ratio": np.percentile(slow_ms, 50) / np.percentile(fast_ms, 50),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m serving.bench", description=__doc__)
    parser.add_argument("--artifacts", type=Path, default=Path(os.environ.get("ARTIFACTS_DIR", "artifacts")))
    parser.add_argument("--requests", type=int, default=2000, help="requests per concurrency level")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    from movierec.artifacts import read_manifest, resolve_bundle

    manifest = read_manifest(resolve_bundle(args.artifacts))
    rng = np.random.default_rng(args.seed)
    n_users = manifest["counts"]["users"]
    user_ids = rng.integers(1, n_users + 1, size=500).tolist()
    bodies = [json.dumps({"user_id": u, "top_k_retrieve": 200, "top_n_final": 10}).encode() for u in user_ids]

    port = free_port()
    proc, first_response_s = start_server(args.artifacts, port)
    try:
        http_load(port, bodies, 1, 100)  # warm connections and caches
        results = {c: http_load(port, bodies, c, max(1, args.requests // c)) for c in (1, 8)}
        rss = peak_rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    local = in_process(args.artifacts, user_ids, repeats=500)

    print(
        f"\nbundle {manifest['version']}  ({n_users} users, {manifest['counts']['movies']} movies), "
        f"{os.cpu_count()} CPU cores\n"
    )
    print("| measure | value |")
    print("|---|---|")
    for c, r in results.items():
        print(
            f"| HTTP POST /recommend, concurrency {c}: p50 / p95 / p99 | "
            f"{r['p50']:.2f} / {r['p95']:.2f} / {r['p99']:.2f} ms |"
        )
        print(
            f"| HTTP POST /recommend, concurrency {c}: throughput | {r['rps']:.0f} requests/s "
            f"({r['n']} requests, {r['failures']} failed) |"
        )
    print(f"| in-process recommend (NumPy path): p50 / p99 | {local['fast_p50']:.2f} / {local['fast_p99']:.2f} ms |")
    print(f"| in-process recommend via model.predict: p50 | {local['naive_p50']:.2f} ms |")
    print(f"| speed-up of the NumPy path over model.predict | {local['ratio']:.0f}x |")
    print(f"| process start to first successful /recommend | {first_response_s:.2f} s |")
    print(f"| server peak RSS | {rss:.0f} MB |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
