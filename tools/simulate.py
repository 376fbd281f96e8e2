"""`make simulate`: replay test-period ratings as live traffic through the running API and A/B-compare policies."""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import hashlib
import json
import math
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from movierec.config import ARTIFACTS_DIR, PROJECT_ROOT
from tools.client import Client
from tools.server import api_server

POLICIES = ("two_stage", "popularity", "epsilon_greedy")
DEFAULT_EVENTS = 20000
DEFAULT_PER_USER = 30
Z_95 = 1.959963984540054


# ---- statistics ----------------------------------------------------------------------------------
def wilson_interval(hits: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval of a proportion (sensible for small n and rates near 0)."""
    if n == 0:
        return 0.0, 1.0
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def two_proportion_test(hits_a: int, n_a: int, hits_b: int, n_b: int) -> tuple[float, float]:
    """(z, two-sided p-value) of H0: both arms have the same hit rate (pooled standard error)."""
    if n_a == 0 or n_b == 0:
        return float("nan"), float("nan")
    pooled = (hits_a + hits_b) / (n_a + n_b)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    if se == 0:
        return 0.0, 1.0
    z = (hits_a / n_a - hits_b / n_b) / se
    return z, math.erfc(abs(z) / math.sqrt(2))


def arm_of(user_id: int, policies: Sequence[str], salt: str) -> str:
    """A user's arm: sha256 of salt and user id, so a user always gets the same policy."""
    digest = hashlib.sha256(f"{salt}:{user_id}".encode()).digest()
    return policies[int.from_bytes(digest[:8], "big") % len(policies)]


# ---- the events --------------------------------------------------------------------------------------
def sample_events(test: pd.DataFrame, n_events: int, per_user: int, seed: int) -> pd.DataFrame:
    """Seeded sample of test ratings in time order: random users, each with their first `per_user` test ratings."""
    rng = np.random.default_rng(seed)
    ordered = test.sort_values(["timestamp", "user_id", "movie_id"], kind="stable")
    firsts = ordered.groupby("user_id", sort=False).head(per_user)
    sizes = firsts.groupby("user_id").size()
    users = rng.permutation(sizes.index.to_numpy())
    take = np.searchsorted(np.cumsum(sizes.reindex(users).to_numpy()), n_events) + 1
    chosen = firsts[firsts["user_id"].isin(users[:take])]
    return chosen.head(n_events).reset_index(drop=True)


# ---- the policies ---------------------------------------------------------------------------------------
@dataclasses.dataclass
class Policies:
    """What each policy recommends; `seen` is the user's training ratings plus what they rated so far."""

    api: Client
    popular: np.ndarray  # catalogue movie ids, most rated in the training period first
    catalogue: np.ndarray
    epsilon: float
    top_n: int
    rng: np.random.Generator

    def recommend(self, policy: str, user_id: int, seen: set[int]) -> list[int]:
        if policy == "popularity":
            return self._popular(seen)
        two_stage = self._two_stage(user_id)
        if policy == "two_stage":
            return two_stage
        return self._explore(two_stage, seen)

    def _two_stage(self, user_id: int) -> list[int]:
        status, body = self.api.call("POST", "/recommend", {"user_id": user_id, "top_n_final": self.top_n})
        if status != 200:
            raise RuntimeError(f"POST /recommend for user {user_id} answered {status}: {body.get('detail', body)}")
        return [r["movie_id"] for r in body["recommendations"]]

    def _popular(self, seen: set[int]) -> list[int]:
        chosen: list[int] = []
        for movie in self.popular:
            if int(movie) not in seen:
                chosen.append(int(movie))
                if len(chosen) == self.top_n:
                    break
        return chosen

    def _explore(self, ranked: list[int], seen: set[int]) -> list[int]:
        """Each slot is replaced, with probability epsilon, by a random catalogue movie the user has not seen."""
        chosen = list(ranked)
        for slot in np.flatnonzero(self.rng.random(len(chosen)) < self.epsilon):
            for _ in range(100):
                movie = int(self.rng.choice(self.catalogue))
                if movie not in seen and movie not in chosen:
                    chosen[slot] = movie
                    break
        return chosen


# ---- the replay ----------------------------------------------------------------------------------------
def replay(events: pd.DataFrame, arms: dict[int, str], policies: Policies, history: dict[int, set[int]]):
    """For each event: the user's policy recommends, a hit is the event's movie in the list, then PUT the rating."""
    from tqdm import tqdm

    hits = np.zeros(len(events), dtype=bool)
    rows = zip(events["user_id"].to_numpy(), events["movie_id"].to_numpy(), events["rating"].to_numpy(), strict=True)
    for i, (user_id, movie_id, rating) in enumerate(tqdm(rows, total=len(events), unit="event", file=sys.stderr)):
        user_id, movie_id = int(user_id), int(movie_id)
        seen = history.setdefault(user_id, set())
        hits[i] = movie_id in policies.recommend(arms[user_id], user_id, seen)
        # .item(): a Python int for whole-star data, a float for half stars (4.5 stays 4.5)
        status, body = policies.api.call("PUT", f"/users/{user_id}/ratings/{movie_id}", {"rating": rating.item()})
        if status != 200:
            raise RuntimeError(f"PUT rating of user {user_id}, movie {movie_id} answered {status}: {body}")
        seen.add(movie_id)
    return hits


def summarise(events: pd.DataFrame, arm_names: list[str], hits: np.ndarray, policies: Sequence[str]) -> dict:
    arms = np.asarray(arm_names)
    table = []
    for policy in policies:
        mask = arms == policy
        n, h = int(mask.sum()), int(hits[mask].sum())
        low, high = wilson_interval(h, n)
        table.append(
            {
                "policy": policy,
                "events": n,
                "users": int(events.loc[mask, "user_id"].nunique()),
                "hits": h,
                "hit_rate": h / n if n else float("nan"),
                "ci_low": low,
                "ci_high": high,
            }
        )
    base = table[0]
    tests = []
    for other in table[1:]:
        z, p = two_proportion_test(base["hits"], base["events"], other["hits"], other["events"])
        tests.append({"a": base["policy"], "b": other["policy"], "z": z, "p_value": p})
    return {"arms": table, "tests": tests}


def format_table(summary: dict, top_n: int) -> str:
    lines = [
        f"| policy | events | users | hits | hit-rate@{top_n} | 95% CI (Wilson) |",
        "|---|---|---|---|---|---|",
    ]
    for a in summary["arms"]:
        lines.append(
            f"| {a['policy']} | {a['events']:,} | {a['users']:,} | {a['hits']:,} | {a['hit_rate']:.4f} | "
            f"{a['ci_low']:.4f} - {a['ci_high']:.4f} |"
        )
    for t in summary["tests"]:
        lines.append(
            f"\ntwo-proportion z-test, {t['a']} vs {t['b']}: z = {t['z']:.3f}, p = {t['p_value']:.4g} "
            f"(H0: equal hit-rate@{top_n})"
        )
    return "\n".join(lines)


def plot(arm_names: list[str], hits: np.ndarray, policies: Sequence[str], summary: dict) -> bytes:
    """Cumulative hits per arm and each arm's regret against the best arm's hit rate, over the replayed events."""
    import io

    from matplotlib.figure import Figure  # the object API: no pyplot state, no global backend to set

    arms = np.asarray(arm_names)
    x = np.arange(1, len(hits) + 1)
    best = max((a for a in summary["arms"] if a["events"]), key=lambda a: a["hit_rate"], default=None)
    fig = Figure(figsize=(8, 7))
    top, bottom = fig.subplots(2, 1, sharex=True)
    for policy in policies:
        mask = arms == policy
        top.plot(x, np.cumsum(hits & mask), label=policy)
        if best is not None:
            regret = best["hit_rate"] * np.cumsum(mask) - np.cumsum(hits & mask)
            bottom.plot(x, regret, label=policy)
    top.set_ylabel("cumulative hits")
    top.set_title("Replay of test-period ratings: hits@10 per arm")
    top.legend()
    bottom.set_ylabel(f"regret vs best arm ({best['policy']})" if best else "regret")
    bottom.set_xlabel("replayed events (time order)")
    bottom.axhline(0, color="grey", linewidth=0.8)
    bottom.legend()
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    return buffer.getvalue()


def markdown(summary: dict, params: dict, top_n: int) -> str:
    settings = "\n".join(f"- {key}: `{value}`" for key, value in params.items())
    return (
        "# Replay simulation (A/B)\n\n"
        "Test-period ratings replayed in time order through the API as live traffic: for each event the user's "
        f"policy recommends {top_n} movies (a hit when the movie about to be rated is among them), then the "
        "rating is stored with `PUT /users/{user_id}/ratings/{movie_id}`. Users are split between the policies "
        "by a stable hash; the store is a throwaway SQLite file.\n\n"
        f"{format_table(summary, top_n)}\n\n![cumulative hits and regret](hits.png)\n\n## Settings\n\n{settings}\n"
    )


# ---- CLI ------------------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tools.simulate", description=__doc__)
    parser.add_argument("--artifacts", type=Path, default=ARTIFACTS_DIR, help="bundle to serve (default: artifacts/)")
    parser.add_argument(
        "--archive",
        default=os.environ.get("DATA_ZIP") or os.environ.get("ML1M_ZIP") or None,
        help="the bundle's archive (default: $DATA_ZIP or $ML1M_ZIP, else data/)",
    )
    parser.add_argument("--data-dir", type=Path, default=None, help="where raw/ and processed/ are (default: data/)")
    parser.add_argument(
        "--policies",
        default="two_stage,popularity",
        help=f"comma-separated arms, 1-3 of {', '.join(POLICIES)} (default: two_stage,popularity)",
    )
    parser.add_argument("--events", type=int, default=DEFAULT_EVENTS, help="test ratings to replay")
    parser.add_argument("--per-user", type=int, default=DEFAULT_PER_USER, help="at most this many events per user")
    parser.add_argument("--epsilon", type=float, default=0.1, help="share of epsilon_greedy slots that explore")
    parser.add_argument("--top-n", type=int, default=10, help="list length (hit-rate@N)")
    parser.add_argument("--seed", type=int, default=0, help="seeds the event sample and exploration")
    parser.add_argument("--salt", default="movierec-ab", help="salt of the users' A/B hash")
    parser.add_argument(
        "--output", type=Path, default=PROJECT_ROOT / "reports" / "simulation", help="reports/simulation/<time>/"
    )
    parser.add_argument("--startup-timeout", type=float, default=120.0, help="seconds to wait for the API")
    args = parser.parse_args(argv)
    policies = [p.strip() for p in args.policies.split(",") if p.strip()]
    unknown = [p for p in policies if p not in POLICIES]
    if unknown or not policies or len(set(policies)) != len(policies):
        parser.error(f"--policies {args.policies!r}: give 1-3 distinct names out of {', '.join(POLICIES)}")
    for name, low, high in (("events", 1, 1_000_000), ("per_user", 1, 100_000), ("top_n", 1, 100)):
        if not low <= getattr(args, name) <= high:
            parser.error(f"--{name.replace('_', '-')} must be {low}-{high}, got {getattr(args, name)}")
    if not 0.0 <= args.epsilon <= 1.0:
        parser.error(f"--epsilon must be between 0 and 1, got {args.epsilon}")
    args.policies = policies
    return args


def run(args: argparse.Namespace) -> Path:
    """The whole simulation; returns the report folder."""
    from movierec.artifacts import read_manifest, resolve_bundle
    from movierec.data.prepare import load_prepared
    from movierec.data.split import evaluation_split
    from movierec.datasets.registry import DEFAULT_DATASET
    from movierec.fsutil import atomic_directory
    from training.train import data_dirs

    start = time.perf_counter()
    bundle = resolve_bundle(args.artifacts)
    manifest = read_manifest(bundle)
    dataset = (manifest.get("dataset") or {}).get("name", DEFAULT_DATASET)
    data = load_prepared(args.archive, *data_dirs(args.data_dir), dataset=dataset)
    if data.sha256 != manifest["data"]["archive_sha256"]:
        raise ValueError(f"the data is not the archive bundle {manifest['version']} was trained on; pass --archive")
    config = manifest["config"]  # a held-out run's bundle replays its held-out period
    split = evaluation_split(data.ratings, config["test_fraction"], float(config.get("holdout_fraction", 0.0)))
    events = sample_events(split.test, args.events, args.per_user, args.seed)
    arms = {int(u): arm_of(int(u), args.policies, args.salt) for u in events["user_id"].unique()}
    arm_names = [arms[int(u)] for u in events["user_id"]]
    counts = split.train.groupby("movie_id").size()
    counts = counts.reindex(data.movies["movie_id"], fill_value=0)
    popular = counts.sort_values(ascending=False, kind="stable").index.to_numpy()
    history = {int(u): set(map(int, g)) for u, g in split.train.groupby("user_id")["movie_id"]}
    print(
        f"replaying {len(events):,} test ratings of {len(arms):,} users (seed {args.seed}) through bundle "
        f"{manifest['version']}; arms: {', '.join(args.policies)}",
        flush=True,
    )

    # a throwaway store, never the user's; the server's log goes with it
    server = api_server(
        bundle,
        prefix="movierec-simulate-",
        env={"RELOAD_POLL_SECONDS": "0"},
        log_to_file=True,
        timeout_s=args.startup_timeout,
    )
    with server as running:
        api = Client(running.port)
        try:
            policies = Policies(
                api,
                popular,
                data.movies["movie_id"].to_numpy(),
                args.epsilon,
                args.top_n,
                np.random.default_rng(args.seed),
            )
            t0 = time.perf_counter()
            hits = replay(events, arms, policies, history)
            replay_s = time.perf_counter() - t0
        finally:
            api.close()

    summary = summarise(events, arm_names, hits, args.policies)
    print(f"\n{format_table(summary, args.top_n)}\n")
    params = {
        "bundle": manifest["version"],
        "events": len(events),
        "users": len(arms),
        "per_user": args.per_user,
        "policies": ",".join(args.policies),
        "epsilon": args.epsilon,
        "seed": args.seed,
        "salt": args.salt,
        "replay seconds": round(replay_s, 1),
        "total seconds": round(time.perf_counter() - start, 1),
    }
    target = args.output / dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    with atomic_directory(target) as staging:
        (staging / "hits.png").write_bytes(plot(arm_names, hits, args.policies, summary))
        (staging / "summary.md").write_text(markdown(summary, params, args.top_n))
        (staging / "results.json").write_text(json.dumps({"params": params, **summary}, indent=2))
    print(f"report: {target / 'summary.md'} ({params['total seconds']:.1f}s, replay {replay_s:.1f}s)")
    return target


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from movierec.errors import MovieRecError

    try:
        run(args)
    except (MovieRecError, ValueError, RuntimeError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
