"""Bundle contract: schema and manifest checks, checksums, parts that must agree, no pickle, stale staging."""

import io
import json
import os
import shutil
import subprocess
import sys
from contextlib import contextmanager

import numpy as np
import pandas as pd
import pytest

from movierec.artifacts import CURRENT, load_bundle, read_manifest, recommender_from_bundle, resolve_bundle
from movierec.errors import BundleError
from tests.helpers import replace_part, resave_bundle


@pytest.fixture()
def root_copy(synthetic_bundle, tmp_path):
    return shutil.copytree(synthetic_bundle, tmp_path / "artifacts", symlinks=True)


@pytest.fixture()
def folder(root_copy):
    return resolve_bundle(root_copy)


def npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def npz_bytes(arrays: dict) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def space_arrays(folder) -> dict:
    with np.load(folder / "feature_space.npz") as arrays:
        return {k: arrays[k] for k in arrays.files}


@contextmanager
def edited_manifest(folder):
    """The bundle's manifest as a dict to change; written back when the block ends (its checksums stay as they were)."""
    manifest = json.loads((folder / "manifest.json").read_text())
    yield manifest
    (folder / "manifest.json").write_text(json.dumps(manifest))


def one_line_refusal(root, match: str) -> str:
    with pytest.raises(BundleError, match=match) as info:
        load_bundle(root)
    message = str(info.value)
    assert "\n" not in message and "Traceback" not in message
    return message


def test_resolve_current_or_folder(root_copy):
    folder = resolve_bundle(root_copy)
    assert folder == (root_copy / CURRENT).resolve()
    assert resolve_bundle(folder) == folder
    with pytest.raises(BundleError, match="make train"):
        resolve_bundle(root_copy / "nope")


def test_unsupported_schema_is_refused(folder):
    with edited_manifest(folder) as manifest:
        manifest["schema_version"] = 999
    with pytest.raises(BundleError, match="schema_version 999 is not supported"):
        read_manifest(folder)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("[]", "must be a JSON object, found list"),
        ("{", "unreadable manifest"),
        ("null", "must be a JSON object"),
        ("NO_BYTES", "entry 'metrics.json' of 'files' needs a string 'sha256' and an integer 'bytes'"),
        ("FILES_LIST", "field 'files' missing or not a dict"),
        ("ESCAPING", "is not a path inside the bundle"),
    ],
)
def test_malformed_manifest_is_one_line(folder, content, match):
    manifest = json.loads((folder / "manifest.json").read_text())
    if content == "NO_BYTES":
        del manifest["files"]["metrics.json"]["bytes"]
        content = json.dumps(manifest)
    elif content == "FILES_LIST":
        manifest["files"] = list(manifest["files"])
        content = json.dumps(manifest)
    elif content == "ESCAPING":
        manifest["files"]["../../etc/passwd"] = {"sha256": "0" * 64, "bytes": 1}
        content = json.dumps(manifest)
    (folder / "manifest.json").write_text(content)
    one_line_refusal(folder, match)


def test_malformed_manifest_stops_the_server_with_one_line(folder, root_copy):
    (folder / "manifest.json").write_text("[]")
    env = {**os.environ, "ARTIFACTS_DIR": str(root_copy)}
    proc = subprocess.run([sys.executable, "-m", "serving"], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if "ERROR" in line]
    assert len(errors) == 1 and "must be a JSON object" in errors[0], proc.stderr


def test_corrupt_part_is_refused_before_it_is_read(folder):
    (folder / "feature_space.npz").write_bytes(b"not an npz")
    one_line_refusal(folder, "feature_space.npz: 10 bytes, manifest says")


def test_manifest_missing_required_file_is_refused(folder):
    with edited_manifest(folder) as manifest:
        del manifest["files"]["ranking_model.onnx"]
    one_line_refusal(folder, "ranking_model.onnx")


# ---- parts whose checksums match but which do not fit together (each failed a request, or started healthy) ----
def test_movie_vectors_of_the_wrong_catalogue_size(folder):
    replace_part(folder, "movie_vectors.npy", npy_bytes(np.zeros((10, 64), np.float32)))
    one_line_refusal(folder, r"movie_vectors.npy: shape \(10, 64\)")


def test_movie_vectors_of_the_wrong_dimension(folder):
    n = len(pd.read_parquet(folder / "movies.parquet"))
    replace_part(folder, "movie_vectors.npy", npy_bytes(np.ones((n, 5), np.float32)))
    one_line_refusal(folder, "(ranking_model|user_tower).onnx: .*(width|size)")


def test_movie_vectors_with_nan(folder):
    vectors = np.load(folder / "movie_vectors.npy")
    vectors[3, 2] = np.nan
    replace_part(folder, "movie_vectors.npy", npy_bytes(vectors))
    one_line_refusal(folder, "movie_vectors.npy: holds NaN")


def test_feature_space_that_is_not_a_feature_space(folder):
    replace_part(folder, "feature_space.json", b"[]")
    one_line_refusal(folder, "feature_space.json: must be a JSON object")
    replace_part(folder, "feature_space.json", json.dumps({"anything": 1}).encode())
    one_line_refusal(folder, "feature_space.npz: 'scalers' missing")


def test_feature_space_missing_an_array(folder):
    arrays = space_arrays(folder)
    del arrays["history_movies"]
    replace_part(folder, "feature_space.npz", npz_bytes(arrays))
    one_line_refusal(folder, "feature_space.npz: 'history_movies' missing")


def test_history_length_that_the_user_tower_does_not_take(folder):
    meta = json.loads((folder / "feature_space.json").read_text())
    arrays = space_arrays(folder)
    meta["history_length"] += 5
    for key in ("history_movies", "history_ratings"):
        arrays[key] = np.pad(arrays[key], ((0, 0), (0, 5)))
    replace_part(folder, "feature_space.json", json.dumps(meta).encode())
    replace_part(folder, "feature_space.npz", npz_bytes(arrays))
    one_line_refusal(folder, "feature_space.npz: vocabulary sizes .* differ from the manifest's")
    with edited_manifest(folder) as manifest:
        del manifest["vocab_sizes"]
    one_line_refusal(folder, "user_tower.onnx: input history_movies has width 20, the bundle's data has 25")


def edit_scoring(folder, **changes) -> None:
    """Change scoring.json and its manifest entry together (checksums still match: a deliberate edit)."""
    scoring = json.loads((folder / "scoring.json").read_text())
    replace_part(folder, "scoring.json", json.dumps({**scoring, **changes}).encode())


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"live_weight": 1.5}, r"scoring.json: scoring: live_weight must be in \[0, 1\]"),
        ({"live_weight": "high"}, "scoring.json: scoring: live_weight must be a finite number"),
        ({"pooled_width": 999}, "scoring.json: scoring: the pooled side's 999 columns do not fit vectors of 48"),
        ({"transition_weight": -1.0}, "scoring.json: scoring: transition_weight must be at least 0"),
        ({"popularity_weight": "high"}, "scoring.json: scoring: popularity_weight must be a finite number"),
        ({"like_slope": float("nan")}, "scoring.json: scoring: like_slope must be a finite number"),
        ({"slope": 1.0}, r"scoring.json: scoring: expected exactly .* unknown \['slope'\]"),
    ],
)
def test_scoring_the_bundle_cannot_serve(folder, changes, match):
    edit_scoring(folder, **changes)
    one_line_refusal(folder, match)


def test_a_weighted_transition_term_needs_its_saved_source(folder):
    with edited_manifest(folder) as manifest:
        manifest["peers"].remove("transitions")
        manifest["files"].pop("peers/transitions.npz")
    one_line_refusal(folder, "scoring.json: scoring: it weighs a transition term .* no fitted 'transitions' source")


def test_a_term_at_weight_zero_is_left_out(folder):
    edit_scoring(folder, popularity_weight=0.0, transition_weight=0.0)
    scorer = recommender_from_bundle(load_bundle(folder)).scorer
    assert scorer.popularity is None and scorer.transitions is None and scorer.live is not None


def test_users_table_of_another_dataset(folder):
    users = pd.read_parquet(folder / "users.parquet")
    replace_part(folder, "users.parquet", parquet_bytes(users.iloc[:-3]))
    one_line_refusal(folder, "users.parquet: .* users do not match")


def test_models_swapped(folder):
    replace_part(folder, "ranking_model.onnx", (folder / "user_tower.onnx").read_bytes())
    one_line_refusal(folder, "ranking_model.onnx: inputs")


def test_vocabulary_larger_than_the_models_embedding_tables(folder):
    """A feature space with more movies than the models were trained on: the probe at load refuses it."""
    arrays = space_arrays(folder)
    classes = arrays["movie_ids_classes"]
    arrays["movie_ids_classes"] = np.concatenate([classes, classes.max() + 1 + np.arange(50)])
    arrays["history_movies"][1, 0] = len(arrays["movie_ids_classes"])  # an index only the bigger vocabulary has
    replace_part(folder, "feature_space.npz", npz_bytes(arrays))
    one_line_refusal(folder, "feature_space.npz: vocabulary sizes")
    with edited_manifest(folder) as manifest:
        del manifest["vocab_sizes"]  # an edited manifest cannot hide it: the models are probed at load
    one_line_refusal(folder, "user_tower.onnx: fails on the feature space's largest ids")


def test_a_bundle_without_a_dataset_description_is_refused(folder):
    with edited_manifest(folder) as manifest:
        del manifest["dataset"]
    one_line_refusal(folder, "manifest.json: a dataset description must be a JSON object")


def test_nothing_is_unpickled(folder, monkeypatch):
    import pickle

    def refuse(*args, **kwargs):
        raise AssertionError("load_bundle unpickled something")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    load_bundle(folder)


# ---- a killed export ----------------------------------------------------------------------------------------
def test_stale_staging_is_cleaned_by_the_next_export(root_copy):
    current = (root_copy / CURRENT).resolve()
    stale = root_copy / ".20250101T000000Z-abcdef-staging-x1y2z3"
    (stale / "plots").mkdir(parents=True)
    (stale / "user_tower.keras").write_bytes(b"half written")
    os.symlink("nowhere", root_copy / ".current-0a1b2c")
    new = resave_bundle(root_copy)
    names = {p.name for p in root_copy.iterdir()}
    assert stale.name not in names and ".current-0a1b2c" not in names
    assert current.name in names and (root_copy / CURRENT).resolve() == new
    load_bundle(root_copy)


# ---- the peers' methods saved beside the two-tower model ------------------------------------------------------
def test_peers_are_saved_as_arrays_and_rebuilt(folder):
    from movierec.retrievers import RETRIEVERS, History
    from movierec.retrievers.source import Queries

    bundle = load_bundle(folder)
    assert bundle.manifest["peers"] == sorted(RETRIEVERS)
    assert sorted(bundle.peers) == sorted(RETRIEVERS)
    first = int(bundle.train_ratings["movie_id"].iloc[0])
    history = [History(np.array([first]), np.array([5.0]))]
    for name, peer in bundle.peers.items():
        assert peer.name == name and peer.space is bundle.space
        scores = peer.scores(Queries.of(history, bundle.space))
        assert scores.shape == (1, bundle.space.n_catalog) and np.isfinite(scores).all()
    resaved = load_bundle(resave_bundle(folder.parent))  # a re-export keeps them
    assert sorted(resaved.peers) == sorted(RETRIEVERS)


def test_bundle_without_peers_still_loads(folder):
    """No peers saved and no transition term weighed: nothing but the two stages to serve."""
    edit_scoring(folder, transition_weight=0.0)
    with edited_manifest(folder) as manifest:
        del manifest["peers"]
        for name in [n for n in manifest["files"] if n.startswith("peers/")]:
            del manifest["files"][name]
    shutil.rmtree(folder / "peers")
    assert load_bundle(folder).peers == {}


@pytest.mark.parametrize(
    ("peers", "match"),
    [
        (["svd"], "unknown peer method 'svd'"),
        ("ease", "'peers' must be a list"),
        (["ease", "ease"], "'peers' must be a list of distinct"),
    ],
)
def test_manifest_peers_that_cannot_be_read(folder, peers, match):
    with edited_manifest(folder) as manifest:
        manifest["peers"] = peers
    one_line_refusal(folder, match)


def test_peer_listed_without_its_file(folder):
    with edited_manifest(folder) as manifest:
        del manifest["files"]["peers/ease.npz"]
    one_line_refusal(folder, "peer 'ease' has no peers/ease.npz")


def test_peer_arrays_of_another_catalogue(folder):
    with np.load(folder / "peers" / "mf.npz") as arrays:
        mf = {k: arrays[k] for k in arrays.files}
    mf["item_factors"] = mf["item_factors"][:5]
    replace_part(folder, "peers/mf.npz", npz_bytes(mf))
    one_line_refusal(folder, r"peers/mf.npz: retriever array 'item_factors' has shape \(5, ")


def test_peer_arrays_of_another_method(folder):
    replace_part(folder, "peers/ease.npz", (folder / "peers" / "mf.npz").read_bytes())
    one_line_refusal(folder, "peers/ease.npz: these arrays are of retriever 'mf', not 'ease'")


def test_description_of_another_genre_vocabulary(folder):
    with edited_manifest(folder) as manifest:
        manifest["dataset"]["genres"] = manifest["dataset"]["genres"][:-1]
    one_line_refusal(folder, r"manifest.json: the dataset description lists \d+ genres, the feature space has \d+")


def test_a_final_model_of_another_width_is_refused(folder):
    from movierec.models.export import to_onnx
    from movierec.models.final import build_final_model

    replace_part(folder, "final_model.onnx", to_onnx(build_final_model(np.zeros(3), np.ones(3))))
    one_line_refusal(folder, "final_model.onnx: inputs")


def final_model_onnx(residual_bias: float) -> bytes:
    """A final model of the served width whose residual is residual_bias everywhere (0: the formula)."""
    from movierec.models.export import to_onnx
    from movierec.models.final import build_final_model
    from movierec.scoring.learned import FEATURE_NAMES

    model = build_final_model(np.zeros(len(FEATURE_NAMES)), np.ones(len(FEATURE_NAMES)))
    layer = model.get_layer("final_residual")
    kernel, bias = layer.get_weights()
    layer.set_weights([kernel, bias + residual_bias])
    return to_onnx(model)


def set_final_stage_kept(folder, kept: bool) -> None:
    with edited_manifest(folder) as manifest:
        manifest["config"]["settings"]["final_stage"] = {"kept": kept, "why": "set by the test"}


def test_a_learned_final_model_in_a_bundle_whose_manifest_says_formula_is_refused(folder):
    replace_part(folder, "final_model.onnx", final_model_onnx(0.5))
    set_final_stage_kept(folder, False)
    one_line_refusal(folder, "final_model.onnx: the manifest says the formula orders the candidates")


@pytest.mark.parametrize("kept", [True, False])
def test_serving_runs_the_final_model_only_when_the_learned_stage_was_kept(folder, kept):
    replace_part(folder, "final_model.onnx", final_model_onnx(0.0))
    set_final_stage_kept(folder, kept)
    bundle = load_bundle(folder)
    assert bundle.final_stage_learned is kept
    scorer = recommender_from_bundle(bundle).two_stage.scorer
    assert (scorer.final_model is not None) is kept
