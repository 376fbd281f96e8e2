"""`make seeds`: one make train run per seed, and a summary whose every figure is the runs' own."""

from __future__ import annotations

import json

import pytest

from movierec.artifacts import read_manifest
from tools import seeds as seeds_cli


def test_each_seed_trains_its_own_bundle_and_the_summary_holds_their_figures(synthetic_zip, tmp_path, capsys):
    out = tmp_path / "seeds"
    small = ["--retrieval-epochs", "1", "--ranking-epochs", "1", "--sequence-epochs", "1", "--history-length", "20"]
    data = ["--archive", str(synthetic_zip), "--data-dir", str(tmp_path / "data"), "--quiet"]
    assert seeds_cli.main(["--seeds", "3", "5", "--output", str(out), *small, *data]) == 0

    runs = {seed: read_manifest(out / f"seed-{seed}") for seed in (3, 5)}
    assert [manifest["config"]["seed"] for manifest in runs.values()] == [3, 5]
    assert all(manifest["config"]["peers"] == [] for manifest in runs.values())  # no peers unless asked
    summary = json.loads((out / "summary.json").read_text())
    assert summary["seeds"] == [3, 5]
    assert [row["label"] for row in summary["figures"]] == [label for label, _ in seeds_cli.HEADLINES]
    for row in summary["figures"]:
        values = [seeds_cli.headline(runs[seed]["metrics"], tuple(row["path"])) for seed in (3, 5)]
        assert row["values"] == values and None not in values, row["label"]
        assert row["mean"] == pytest.approx(sum(values) / 2)
        assert (row["min"], row["max"]) == (min(values), max(values))
    ndcg = next(row for row in summary["figures"] if row["label"] == "static two-stage NDCG@10")
    table = (out / "summary.md").read_text()
    assert (
        f"| static two-stage NDCG@10 | {ndcg['values'][0]:.4f} | {ndcg['values'][1]:.4f} | {ndcg['mean']:.4f} |"
        in table
    )
    assert table in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--seeds", "7"], "--seeds needs at least two distinct seeds, got 7"),
        (["--seeds", "7", "7"], "--seeds needs at least two distinct seeds, got 7 7"),
        (["--seeds", "7", "-1"], "--seeds must be at least 0, got 7 -1"),
        (["--seed", "3"], "--seed: make seeds sets each run's seed and output itself"),
        (["--seed=3"], "--seed=3: make seeds sets each run's seed and output itself"),
        (["--seeds", "1", "2", "--out", "x"], "--out: make seeds sets each run's seed and output itself"),
        (["--quiet", "--outp=x", "--se", "1"], "--outp=x --se: make seeds sets each run's seed and output itself"),
    ],
)
def test_bad_options_are_refused_before_any_training(argv, message, capsys):
    with pytest.raises(SystemExit):
        seeds_cli.parse_args(argv)
    assert message in capsys.readouterr().err


def test_a_failed_run_stops_without_a_summary(tmp_path, capsys):
    out = tmp_path / "seeds"
    code = seeds_cli.main(["--seeds", "1", "2", "--output", str(out), "--archive", str(tmp_path / "missing.zip")])
    assert code != 0
    assert "error: the run with seed 1 failed" in capsys.readouterr().err
    assert not (out / "summary.md").exists() and not (out / "seed-2").exists()


def test_a_figure_a_run_lacks_is_left_out_of_the_mean():
    runs = {1: {"rating": {"ranker": {"rmse": 0.9}}}, 2: {"rating": {"ranker": {"rmse": 1.0}}}, 3: {}}
    rmse = next(row for row in seeds_cli.summarise(runs)["figures"] if row["label"] == "RMSE")
    assert rmse["values"] == [0.9, 1.0, None]
    assert rmse["mean"] == pytest.approx(0.95) and (rmse["min"], rmse["max"]) == (0.9, 1.0)
    assert "| RMSE | 0.9000 | 1.0000 | n/a | 0.9500 | 0.9000 | 1.0000 | 0.1000 |" in seeds_cli.markdown(
        seeds_cli.summarise(runs), "t"
    )


@pytest.mark.parametrize("given", [["--peers", "ease"], ["--peers=ease"], ["--peer", "ease"]])
def test_peers_asked_for_are_kept_and_none_are_fitted_otherwise(given):
    assert seeds_cli.parse_args(given)[1] == given
    assert seeds_cli.parse_args(["--quiet"])[1] == ["--quiet", "--peers", "none"]
