"""Training on the synthetic fixture end to end: artifacts, manifest, reloads, exclusions, atomic export."""

import json

import joblib
import keras
import numpy as np
import pytest

from movierec.artifacts import CURRENT, MODEL_FILES, REQUIRED_FILES, load_bundle, recommender_from_bundle
from movierec.data.split import chronological_split
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
    assert {"tensorflow", "keras", "numpy"} <= set(manifest["libraries"])
    assert len(manifest["data"]["archive_sha256"]) == 64
    assert set(REQUIRED_FILES) <= set(manifest["files"])
    assert {"report.md", "plots/recall_at_k.png", "plots/rmse_by_group.png", "plots/rating_distribution.png"} <= set(
        manifest["files"]
    )
    assert all(len(meta["sha256"]) == 64 for meta in manifest["files"].values())
    assert manifest["config"]["history_length"] == 20
    assert {"retrieval", "final_list", "rating"} <= set(manifest["metrics"])
    for stage in ("data", "features", "retrieval", "ranking", "evaluation"):
        assert manifest["timings_seconds"][stage] >= 0


def test_every_keras_file_reloads_with_same_outputs(synthetic_bundle):
    bundle = load_bundle(synthetic_bundle, with_retrieval_model=True)
    space = bundle.space
    users = bundle.users["user_id"].to_numpy()[:8]
    user_in = space.user_inputs(users)
    movie_in = space.movie_inputs(np.arange(6))
    again = {name: keras.saving.load_model(bundle.path / name) for name in MODEL_FILES}
    pairs = [
        (bundle.user_tower, again["user_tower.keras"], user_in),
        (bundle.movie_tower, again["movie_tower.keras"], movie_in),
        (bundle.retrieval_model, again["retrieval_model.keras"], user_in),
    ]
    for first, second, inputs in pairs:
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(first(inputs)), keras.ops.convert_to_numpy(second(inputs)), atol=1e-5
        )
    # the exported movie vectors are the movie tower's output on the catalogue, in catalogue order
    all_movies = space.movie_inputs(np.arange(space.n_catalog))
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(bundle.movie_tower(all_movies)), bundle.movie_vectors, atol=1e-5
    )
    # the retrieval model scores equal user vectors dotted with the exported movie vectors / temperature
    logits = keras.ops.convert_to_numpy(bundle.retrieval_model(user_in))
    user_vec = keras.ops.convert_to_numpy(bundle.user_tower(user_in))
    np.testing.assert_allclose(
        logits, user_vec @ bundle.movie_vectors.T / bundle.retrieval_model.temperature, atol=1e-4
    )


def test_encoders_reload(synthetic_bundle):
    folder = (synthetic_bundle / CURRENT).resolve()
    space = joblib.load(folder / "feature_space.joblib")
    assert space.user_ids.transform([10**9])[0] == 0
    assert space.genders.transform(["F", "M"]).tolist() == [1, 2]
    assert space.year_scaler.transform([[1950.0]]).shape == (1, 1)


def test_unknown_users_get_finite_scores_and_seen_movies_are_excluded(synthetic_bundle, synthetic_data):
    bundle = load_bundle(synthetic_bundle)
    rec = recommender_from_bundle(bundle)
    split = chronological_split(synthetic_data.ratings)
    cold = sorted(set(split.test["user_id"]) - set(split.train["user_id"]))[0]
    cold_user = rec.known_user(cold)
    assert cold_user.inputs["user_id"][0] == 0
    assert np.isfinite(rec.score(cold_user, bundle.movies["movie_id"].to_numpy())).all()
    warm = int(split.train["user_id"].value_counts().index[0])
    user = rec.known_user(warm)
    seen = set(split.train.loc[split.train["user_id"] == warm, "movie_id"])
    results = rec.recommend(user, top_k_retrieve=bundle.space.n_catalog, top_n_final=50)
    assert results and not seen & {r.movie_id for r in results}
    including = rec.recommend(user, top_k_retrieve=bundle.space.n_catalog, top_n_final=50, exclude_seen=False)
    assert len(including) == 50


def test_failed_export_leaves_previous_bundle_untouched(synthetic_bundle, monkeypatch):
    before = (synthetic_bundle / CURRENT).resolve()
    listing = sorted(p.name for p in synthetic_bundle.iterdir())
    bundle = load_bundle(synthetic_bundle, with_retrieval_model=True)

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
    assert "two_tower" in capsys.readouterr().out
