"""The replay A/B simulation end to end against a real server subprocess on the synthetic bundle."""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path

import pandas as pd
import pytest

from movierec.store import RatingStore
from tools import simulate


def fingerprint(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def scratch_folders() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("movierec-simulate-*")}


def test_simulation_replays_through_the_api_and_never_touches_the_users_store(
    synthetic_bundle, synthetic_zip, tmp_path, monkeypatch, capsys
):
    # the user's own store, named by DATABASE_URL: the simulation must leave it exactly as it was
    own = tmp_path / "own-store"
    own_url = f"sqlite:///{own / 'movierec.sqlite3'}"
    store = RatingStore(own_url, user_id_floor=240)
    store.put_rating(store.create_user("F", 25, 12).user_id, 1, 5)
    store.close()
    before, scratch_before = fingerprint(own), scratch_folders()
    monkeypatch.setenv("DATABASE_URL", own_url)

    out = tmp_path / "reports"
    argv = ["--artifacts", str(synthetic_bundle), "--archive", str(synthetic_zip), "--data-dir", str(tmp_path)]
    argv += ["--events", "90", "--per-user", "6", "--policies", "two_stage,popularity,epsilon_greedy"]
    argv += ["--epsilon", "0.5", "--seed", "3", "--output", str(out)]
    assert simulate.main(argv) == 0
    printed = capsys.readouterr().out

    assert fingerprint(own) == before
    assert scratch_folders() == scratch_before  # the throwaway store is deleted
    for policy in ("two_stage", "popularity", "epsilon_greedy"):
        assert f"| {policy} |" in printed
    assert "two-proportion z-test, two_stage vs popularity: z = " in printed
    (report,) = out.iterdir()
    assert (report / "hits.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = (report / "summary.md").read_text()
    assert "| policy | events | users | hits | hit-rate@10 | 95% CI (Wilson) |" in summary
    results = json.loads((report / "results.json").read_text())
    arms = {a["policy"]: a for a in results["arms"]}
    assert sum(a["events"] for a in arms.values()) == results["params"]["events"] == 90
    for arm in arms.values():
        assert 0.0 <= arm["ci_low"] <= arm["hit_rate"] <= arm["ci_high"] <= 1.0 or arm["events"] == 0
        assert arm["events"] <= 6 * arm["users"]
    assert 0.0 <= results["tests"][0]["p_value"] <= 1.0


def test_events_are_a_seeded_sample_in_time_order():
    test = pd.DataFrame(
        {
            "user_id": [1, 2, 1, 3, 2, 1, 3, 4],
            "movie_id": [10, 11, 12, 13, 14, 15, 16, 17],
            "rating": [5, 4, 3, 2, 1, 5, 4, 3],
            "timestamp": [100, 101, 102, 103, 104, 105, 106, 107],
        }
    )
    events = simulate.sample_events(test, n_events=5, per_user=2, seed=7)
    assert len(events) == 5
    assert events["timestamp"].is_monotonic_increasing
    assert events.groupby("user_id").size().max() <= 2
    pd.testing.assert_frame_equal(events, simulate.sample_events(test, 5, 2, seed=7))


def test_arms_are_stable_and_split_users():
    policies = ["two_stage", "popularity"]
    arms = [simulate.arm_of(u, policies, "salt") for u in range(1, 2001)]
    assert arms == [simulate.arm_of(u, policies, "salt") for u in range(1, 2001)]
    assert 900 < arms.count("two_stage") < 1100
    assert arms != [simulate.arm_of(u, policies, "other salt") for u in range(1, 2001)]


def test_statistics():
    low, high = simulate.wilson_interval(30, 100)
    assert low == pytest.approx(0.2189, abs=1e-4) and high == pytest.approx(0.3958, abs=1e-4)
    z, p = simulate.two_proportion_test(30, 100, 15, 100)
    assert z == pytest.approx(2.5400, abs=1e-3) and p == pytest.approx(0.011085, abs=1e-5)


@pytest.mark.parametrize(
    "argv, words",
    [
        (["--policies", "two_stage,random"], "--policies 'two_stage,random'"),
        (["--policies", "popularity,popularity"], "distinct"),
        (["--events", "0"], "--events must be 1-1000000, got 0"),
        (["--epsilon", "1.5"], "--epsilon must be between 0 and 1"),
    ],
)
def test_bad_arguments_are_refused_with_a_message(argv, words, capsys):
    with pytest.raises(SystemExit) as exit_info:
        simulate.parse_args(argv)
    assert exit_info.value.code == 2
    assert words in capsys.readouterr().err
