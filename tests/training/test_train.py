"""Training on the synthetic fixture end to end: artifacts, manifest, reloads, exclusions, atomic export."""

import json

import keras
import numpy as np
import pytest

from movierec.artifacts import CURRENT, KERAS_FILES, REQUIRED_FILES, load_bundle, recommender_from_bundle
from movierec.config import SequenceConfig, TrainConfig
from movierec.data.split import chronological_split
from movierec.scoring.learned import FEATURE_NAMES
from tests.helpers import resave_bundle
from training import train as train_cli


def test_bundle_files_and_manifest(synthetic_bundle):
    folder = (synthetic_bundle / CURRENT).resolve()
    manifest = json.loads((folder / "manifest.json").read_text())
    for key in (
        "schema_version",
        "version",
        "created_at",
        "libraries",
        "data",
        "config",
        "metrics",
        "timings_seconds",
        "files",
        "row_order",
    ):
        assert key in manifest, key
    assert {"tensorflow", "keras", "numpy", "tf2onnx", "onnxruntime"} <= set(manifest["libraries"])
    assert manifest["served_models"] == {
        "user_tower": "user_tower.onnx",
        "ranking_model": "ranking_model.onnx",
        "final_model": "final_model.onnx",
    }
    final = manifest["config"]["settings"]["final_stage"]  # learned on the validation period, kept or not, and why
    assert final["examples"]["streaming"] > 0 and final["why"] and final["kept"] == (final["epochs"] > 0)
    assert len(manifest["data"]["archive_sha256"]) == 64
    assert set(REQUIRED_FILES) <= set(manifest["files"])
    assert {"report.md", "plots/recall_at_k.png", "plots/rmse_by_group.png", "plots/rating_distribution.png"} <= set(
        manifest["files"]
    )
    assert all(len(meta["sha256"]) == 64 for meta in manifest["files"].values())
    assert manifest["config"]["history_length"] == 20
    assert {"retrieval", "final_list", "rating"} <= set(manifest["metrics"])
    stages = ("data", "features", "retrieval", "sequence retrieval", "ranking", "onnx export", "evaluation", "peers")
    timings = manifest["timings_seconds"]
    assert all(timings[stage] > 0 for stage in ("retrieval", "sequence retrieval", "ranking", "evaluation"))
    assert sum(timings[stage] for stage in stages) <= timings["total_before_export"] + 0.1  # each stage timed once


def test_report_lists_every_method_on_both_protocols(synthetic_bundle):
    from movierec.retrievers import RETRIEVERS

    bundle = load_bundle(synthetic_bundle)
    peers = bundle.metrics["peers"]
    assert list(peers["methods"]) == list(RETRIEVERS) and bundle.manifest["peers"] == sorted(RETRIEVERS)
    # the peers' streaming protocol runs on the two-stage list's events
    two_stage = bundle.metrics["streaming"]["two_stage_events"]
    assert (peers["streaming_events"]["kind"], peers["streaming_events"]["events"]) == (
        two_stage["kind"],
        two_stage["events"],
    )
    report = (bundle.path / "report.md").read_text()
    table = report[report.index("## Every method on this split") :]
    for name in ("two-stage list", "two-tower retrieval order", *RETRIEVERS):
        assert f"| {name} | " in table
    ease = peers["methods"]["ease"]
    assert f"{ease['static']['hits']['hr@10']:.4f} | " in table and f"{ease['streaming']['hr@10']:.4f} | " in table


@pytest.mark.parametrize(("given", "expected"), [([], None), (["none"], ()), (["ease", "mf", "ease"], ("ease", "mf"))])
def test_cli_peers_choice(given, expected):
    _, cfg = train_cli.parse_args(["--peers", *given] if given else [])
    assert cfg.peers == expected


def test_the_served_towers_join_the_pooled_tower_and_the_sequence_branch(synthetic_bundle):
    """One vector per side (32 pooled + 16 sequence wide in the test config); the branch reads the latest slots
    only, so a rating beyond them moves the pooled side alone; the ranker reads the pooled side."""
    bundle = load_bundle(synthetic_bundle, keras_models=True)
    assert bundle.manifest["config"]["sequence"]["weight"] == pytest.approx(SequenceConfig().weight)
    assert bundle.movie_vectors.shape[1] == 32 + 16
    assert bundle.ranking_model.input_width("user_vector") == 32 + 16
    space = bundle.space
    users = space.user_inputs(bundle.users["user_id"].to_numpy())
    full = np.flatnonzero((users["history_movies"] != 0).all(axis=1))
    assert len(full), "the fixture should hold users with a full history"
    older = {key: value[full] for key, value in users.items()}
    before = bundle.user_model(older)
    older["history_movies"] = older["history_movies"].copy()
    older["history_movies"][:, 10:] = 0  # beyond the branch's 10 latest slots
    moved = bundle.user_model(older) - before
    assert np.abs(moved[:, :32]).max() > 1e-4 and np.abs(moved[:, 32:]).max() < 1e-5


@pytest.mark.parametrize("weight", ["1", "-0.1", "1.5"])
def test_cli_sequence_weight_outside_zero_to_one_is_a_clear_error(weight, capsys):
    with pytest.raises(SystemExit):
        train_cli.parse_args(["--sequence-weight", weight])
    assert "--sequence-weight must be at least 0 and below 1" in capsys.readouterr().err


@pytest.mark.parametrize("weight", ["-0.1", "inf", "nan"])
def test_cli_transition_weight_below_zero_or_not_finite_is_a_clear_error(weight, capsys):
    with pytest.raises(SystemExit):
        train_cli.parse_args(["--transition-weight", weight])
    assert "--transition-weight must be a number at least 0" in capsys.readouterr().err


@pytest.mark.parametrize("weight", ["-0.1", "inf", "nan"])
def test_cli_popularity_weight_below_zero_or_not_finite_is_a_clear_error(weight, capsys):
    with pytest.raises(SystemExit):
        train_cli.parse_args(["--popularity-weight", weight])
    assert "--popularity-weight must be a number at least 0" in capsys.readouterr().err


def test_cli_popularity_weight_reaches_the_config():
    assert train_cli.parse_args(["--popularity-weight", "0"])[1].popularity.weight == 0.0
    assert train_cli.parse_args(["--settings", "none"])[1].popularity == TrainConfig().popularity


def test_cli_transition_weight_reaches_the_config():
    assert train_cli.parse_args(["--transition-weight", "0"])[1].transitions.weight == 0.0
    assert train_cli.parse_args(["--settings", "none"])[1].transitions == TrainConfig().transitions


@pytest.mark.parametrize("weight", ["-0.1", "1.5"])
def test_cli_live_weight_outside_zero_to_one_is_a_clear_error(weight, capsys):
    with pytest.raises(SystemExit):
        train_cli.parse_args(["--live-weight", weight])
    assert "--live-weight must be in [0, 1]" in capsys.readouterr().err


def test_cli_live_weight_reaches_the_config():
    _, cfg = train_cli.parse_args(["--live-weight", "0.6"])
    assert cfg.sequence.live_weight == 0.6


def test_cli_unknown_peer_is_a_clear_error(capsys):
    with pytest.raises(SystemExit):
        train_cli.parse_args(["--peers", "svd"])
    assert "unknown method(s) ['svd']" in capsys.readouterr().err


def test_every_keras_file_reloads_with_same_outputs(synthetic_bundle):
    bundle = load_bundle(synthetic_bundle, keras_models=True)
    models, space = bundle.keras_models, bundle.space
    users = bundle.users["user_id"].to_numpy()[:8]
    user_in = space.user_inputs(users)
    movie_in = space.movie_inputs(np.arange(6))
    again = {name: keras.saving.load_model(bundle.path / file) for name, file in KERAS_FILES.items()}
    rows = {"features": np.random.default_rng(0).normal(size=(2, 9, len(FEATURE_NAMES))).astype(np.float32)}
    for name, inputs in (
        ("user_tower", user_in),
        ("movie_tower", movie_in),
        ("retrieval_model", user_in),
        ("final_model", rows),
    ):
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(models[name](inputs)), keras.ops.convert_to_numpy(again[name](inputs)), atol=1e-5
        )
    # the exported movie vectors are the movie tower's output on the catalogue, in catalogue order
    all_movies = space.movie_inputs(np.arange(space.n_catalog))
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(models["movie_tower"](all_movies)), bundle.movie_vectors, atol=1e-5
    )
    # the retrieval model scores equal user vectors dotted with the exported movie vectors / temperature
    logits = keras.ops.convert_to_numpy(models["retrieval_model"](user_in))
    user_vec = keras.ops.convert_to_numpy(models["user_tower"](user_in))
    np.testing.assert_allclose(
        logits, user_vec @ bundle.movie_vectors.T / models["retrieval_model"].temperature, atol=1e-4
    )


def test_served_onnx_models_match_the_saved_keras_models(synthetic_bundle):
    """Parity of what the server runs with the training artifacts, on the trained bundle: every user (with and
    without history, including the unknown user row), and the ranker on real pairs."""
    bundle = load_bundle(synthetic_bundle, keras_models=True)
    models, space = bundle.keras_models, bundle.space
    users = space.user_inputs(bundle.users["user_id"].to_numpy())
    assert (users["history_movies"] == 0).all(axis=1).any(), "the fixture should hold users without history"
    expected = keras.ops.convert_to_numpy(models["user_tower"](users, training=False))
    np.testing.assert_allclose(bundle.user_model(users), expected, atol=1e-5)
    empty = space.profile_inputs(None, None, None)
    np.testing.assert_allclose(
        bundle.user_model(empty), keras.ops.convert_to_numpy(models["user_tower"](empty, training=False)), atol=1e-5
    )
    from movierec.features.pairs import ranking_inputs

    rows = np.arange(space.n_catalog)
    pairs = ranking_inputs(space, {k: v[:1] for k, v in users.items()}, expected[:1], rows, bundle.movie_vectors)
    np.testing.assert_allclose(
        bundle.ranking_model(pairs),
        keras.ops.convert_to_numpy(models["ranking_model"](pairs, training=False)),
        atol=1e-5,
    )
    rows = {"features": np.random.default_rng(0).normal(size=(3, 40, len(FEATURE_NAMES))).astype(np.float32)}
    np.testing.assert_allclose(
        bundle.final_model(rows), keras.ops.convert_to_numpy(models["final_model"](rows, training=False)), atol=1e-4
    )


def test_sequence_weight_zero_trains_and_serves_the_pooled_two_tower_alone(synthetic_zip, tmp_path):
    import dataclasses

    from tests.conftest import small_config

    cfg = small_config(peers=(), sequence=dataclasses.replace(small_config().sequence, weight=0.0))
    train_cli.run(cfg, synthetic_zip, tmp_path / "artifacts", tmp_path / "raw", tmp_path / "processed", verbose=0)
    bundle = load_bundle(tmp_path / "artifacts")
    assert bundle.movie_vectors.shape[1] == 32 and "example_age" not in bundle.user_model.input_names
    assert (bundle.scoring.sequence_weight, bundle.scoring.live_weight, bundle.scoring.pooled_width) == (0.0, 0.0, 32)
    # no peers chosen, but the transition term's matrix is served, so it is evaluated too
    assert bundle.manifest["peers"] == ["transitions"] and list(bundle.metrics["peers"]["methods"]) == ["transitions"]
    users = bundle.users["user_id"].to_numpy()[:3]
    recommender = recommender_from_bundle(bundle)
    assert recommender.scorer.live is None
    assert len(recommender.recommend(recommender.contexts.known(int(users[0])), top_n_final=5)) == 5


def test_feature_space_reloads_from_plain_arrays(synthetic_bundle):
    folder = (synthetic_bundle / CURRENT).resolve()
    space = load_bundle(synthetic_bundle).space
    assert space.user_ids.transform([10**9])[0] == 0
    assert space.genders.transform(["F", "M"]).tolist() == [1, 2]
    assert set(space.scalers) == {"year", "movie_numeric"}
    assert not list(folder.glob("*.joblib")) and not list(folder.glob("*.pkl"))  # nothing in a bundle is a pickle


def test_unknown_users_get_finite_scores_and_seen_movies_are_excluded(synthetic_bundle, synthetic_data):
    bundle = load_bundle(synthetic_bundle)
    rec = recommender_from_bundle(bundle)
    split = chronological_split(synthetic_data.ratings)
    cold = sorted(set(split.test["user_id"]) - set(split.train["user_id"]))[0]
    cold_user = rec.contexts.known(cold)
    assert cold_user.inputs["user_id"][0] == 0
    assert np.isfinite(rec.score(cold_user, bundle.movies["movie_id"].to_numpy())).all()
    warm = int(split.train["user_id"].value_counts().index[0])
    user = rec.contexts.known(warm)
    seen = set(split.train.loc[split.train["user_id"] == warm, "movie_id"])
    results = rec.recommend(user, top_k_retrieve=bundle.space.n_catalog, top_n_final=50)
    assert results and not seen & {r.movie_id for r in results}
    including = rec.recommend(user, top_k_retrieve=bundle.space.n_catalog, top_n_final=50, exclude_seen=False)
    assert len(including) == 50


def test_failed_export_leaves_previous_bundle_untouched(synthetic_bundle, monkeypatch):
    before = (synthetic_bundle / CURRENT).resolve()
    listing = sorted(p.name for p in synthetic_bundle.iterdir())
    bundle = load_bundle(synthetic_bundle, keras_models=True)

    def explode(*args, **kwargs):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(np, "save", explode)
    with pytest.raises(OSError, match="simulated"):
        resave_bundle(synthetic_bundle, bundle)
    assert (synthetic_bundle / CURRENT).resolve() == before
    assert sorted(p.name for p in synthetic_bundle.iterdir()) == listing  # no staging folder left behind
    load_bundle(synthetic_bundle)  # still loads and verifies


def test_cli_help_lists_options(capsys):
    with pytest.raises(SystemExit) as exit_info:
        train_cli.main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for option in (
        "--retrieval-epochs",
        "--ranking-epochs",
        "--retrieval-batch-size",
        "--ranking-batch-size",
        "--embedding-dim",
        "--seed",
        "--archive",
        "--output",
    ):
        assert option in out


def test_cli_bad_archive_is_a_clear_error(tmp_path, capsys):
    assert train_cli.main(["--archive", str(tmp_path / "missing.zip"), "--output", str(tmp_path / "a")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert not (tmp_path / "a").exists()


def test_make_evaluate_reproduces_the_bundle_metrics(synthetic_bundle, synthetic_zip, tmp_path, capsys):
    from training import evaluate as evaluate_cli

    assert (
        evaluate_cli.main(
            [
                "--bundle",
                str(synthetic_bundle),
                "--archive",
                str(synthetic_zip),
                "--data-dir",
                str(tmp_path / "data"),
                "--reports",
                str(tmp_path / "reports"),
            ]
        )
        == 0
    )
    report = next((tmp_path / "reports").glob("*/report.md")).read_text()
    bundle_metrics = load_bundle(synthetic_bundle).metrics
    recall = bundle_metrics["retrieval"]["two_tower"]["recall@10"]
    assert f"{recall:.4f}" in report and "popularity_all" in report
    out = capsys.readouterr().out
    assert "two_tower" in out
    # the bundle's fitted peers are evaluated again on the same split, with the same figures
    ease = bundle_metrics["peers"]["methods"]["ease"]
    assert f"{ease['static']['hits']['hr@10']:.4f}" in report and "every method" in out
