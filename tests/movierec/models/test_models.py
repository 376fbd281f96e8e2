"""Every model and custom layer round-trips through .keras (save, load, same outputs)."""

import keras
import numpy as np
import pytest

from movierec.config import RankingConfig, RetrievalConfig
from movierec.datasets import ml1m
from movierec.models.layers import HistoryPooling, RatingRange
from movierec.models.ranking import build_ranking_model
from movierec.models.retrieval import RetrievalModel
from movierec.models.towers import build_movie_tower, build_user_tower

RANGE = (ml1m.DESCRIPTION.rating_min, ml1m.DESCRIPTION.rating_max)
VOCAB = {
    "user_id": 11,
    "movie_id": 21,
    "gender": 3,
    "age": 8,
    "occupation": 22,
    "genres": 18,
    "movie_numeric": 5,
    "user_numeric": 3,
    "history_length": 6,
}


def user_batch(n=4, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "user_id": rng.integers(0, 11, n).astype("int32"),
        "gender": rng.integers(0, 3, n).astype("int32"),
        "age": rng.integers(0, 8, n).astype("int32"),
        "occupation": rng.integers(0, 22, n).astype("int32"),
        "history_movies": rng.integers(0, 21, (n, 6)).astype("int32"),
        "history_ratings": rng.uniform(-1, 1, (n, 6)).astype("float32"),
        "user_numeric": rng.normal(size=(n, 3)).astype("float32"),
    }


def movie_batch(n=5, seed=1):
    rng = np.random.default_rng(seed)
    return {
        "movie_id": rng.integers(0, 21, n).astype("int32"),
        "genres": (rng.random((n, 18)) < 0.2).astype("float32"),
        "movie_numeric": rng.normal(size=(n, 5)).astype("float32"),
    }


def ranking_batch(n=6, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "user_vector": rng.normal(size=(n, 8)).astype("float32"),
        "movie_vector": rng.normal(size=(n, 8)).astype("float32"),
        "user_id": rng.integers(0, 11, n).astype("int32"),
        "movie_id": rng.integers(0, 21, n).astype("int32"),
        "user_numeric": rng.normal(size=(n, 3)).astype("float32"),
        "movie_numeric": rng.normal(size=(n, 5)).astype("float32"),
    }


def roundtrip(model, inputs, tmp_path):
    path = tmp_path / f"{model.name}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(model(inputs, training=False)),
        keras.ops.convert_to_numpy(loaded(inputs, training=False)),
        atol=1e-5,
    )
    return loaded


def test_towers_roundtrip_and_are_unit_norm(tmp_path):
    cfg = RetrievalConfig(hidden_units=16, output_dim=8, recent_history=3)
    user = roundtrip(build_user_tower(VOCAB, cfg), user_batch(), tmp_path)
    movie = roundtrip(build_movie_tower(VOCAB, cfg), movie_batch(), tmp_path)
    assert np.allclose(np.linalg.norm(keras.ops.convert_to_numpy(user(user_batch())), axis=1), 1.0, atol=1e-5)
    assert np.allclose(np.linalg.norm(keras.ops.convert_to_numpy(movie(movie_batch())), axis=1), 1.0, atol=1e-5)
    assert not any(isinstance(layer, keras.layers.Lambda) for layer in user.layers + movie.layers)


def test_retrieval_model_roundtrip_keeps_catalogue(tmp_path):
    cfg = RetrievalConfig(hidden_units=16, output_dim=8)
    model = RetrievalModel(
        build_user_tower(VOCAB, cfg),
        build_movie_tower(VOCAB, cfg),
        n_catalog=5,
        n_genres=18,
        n_movie_numeric=5,
        temperature=0.1,
    )
    model.set_catalog(movie_batch(5))
    logits = keras.ops.convert_to_numpy(model(user_batch()))
    assert logits.shape == (4, 5)
    loaded = roundtrip(model, user_batch(), tmp_path)
    assert isinstance(loaded, RetrievalModel) and loaded.temperature == pytest.approx(0.1)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(loaded.catalog_movie_id), movie_batch(5)["movie_id"])


def test_ranking_model_roundtrip_and_range(tmp_path):
    model = build_ranking_model(VOCAB, 8, RankingConfig(units=(16, 8, 4)), global_mean=3.6, rating_range=RANGE)
    inputs = ranking_batch()
    out = keras.ops.convert_to_numpy(roundtrip(model, inputs, tmp_path)(inputs))
    assert out.shape == (6,) and ((out >= 1) & (out <= 5)).all()


def test_history_pooling_ignores_padding():
    emb = np.arange(12, dtype="float32").reshape(1, 3, 4)
    ids = np.array([[5, 0, 7]], dtype="int32")
    ratings = np.array([[1.0, 0.9, -1.0]], dtype="float32")
    out = keras.ops.convert_to_numpy(HistoryPooling()(emb, ids, ratings))
    np.testing.assert_allclose(out[0, :4], (emb[0, 0] + emb[0, 2]) / 2)
    np.testing.assert_allclose(out[0, 4:], (emb[0, 0] - emb[0, 2]) / 2)
    empty = keras.ops.convert_to_numpy(HistoryPooling()(emb, np.zeros((1, 3), "int32"), ratings))
    assert (empty == 0).all()


def test_recent_history_pooling_uses_the_latest_slots_only():
    emb = np.arange(12, dtype="float32").reshape(1, 3, 4)
    ids = np.array([[5, 6, 7]], dtype="int32")
    ratings = np.ones((1, 3), dtype="float32")
    layer = HistoryPooling(recent=2)
    out = keras.ops.convert_to_numpy(layer(emb, ids, ratings))
    np.testing.assert_allclose(out[0, :4], (emb[0, 0] + emb[0, 1]) / 2)
    assert HistoryPooling.from_config(layer.get_config()).recent == 2


def test_rating_range_config():
    layer = RatingRange(offset=3.2, minimum=1, maximum=5)
    clone = RatingRange.from_config(layer.get_config())
    assert (clone.offset, clone.minimum, clone.maximum) == (3.2, 1.0, 5.0)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(clone(np.array([-9.0, 0.0, 9.0]))), [1.0, 3.2, 5.0])


def test_onnx_export_matches_keras_for_every_model_within_1e5():
    """Each model the server runs (and the movie tower) gives the same outputs through ONNX Runtime as in Keras,
    including a user with an empty history and the unknown user."""
    from movierec.models.export import to_onnx
    from movierec.models.runtime import OnnxModel

    cfg = RetrievalConfig(hidden_units=16, output_dim=8, recent_history=3)
    rng = np.random.default_rng(3)
    ranker = build_ranking_model(VOCAB, 8, RankingConfig(units=(16, 8, 4)), global_mean=3.6, rating_range=RANGE)
    # non-trivial batch-norm statistics and weights, so a wrong inference formula would show
    for layer in ranker.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.moving_mean.assign(rng.normal(size=layer.moving_mean.shape))
            layer.moving_variance.assign(rng.uniform(0.5, 2.0, size=layer.moving_variance.shape))
    users = user_batch(9)
    users["history_movies"][0] = 0  # an empty history
    users["history_ratings"][0] = 0.0
    users["user_id"][1] = 0  # the unknown user
    cases = [
        (build_user_tower(VOCAB, cfg), users),
        (build_movie_tower(VOCAB, cfg), movie_batch(9)),
        (ranker, ranking_batch(7, seed=4)),
    ]
    for model, inputs in cases:
        expected = keras.ops.convert_to_numpy(model(inputs, training=False))
        onnx_model = OnnxModel(to_onnx(model), model.name)
        assert onnx_model.input_names == set(inputs)
        np.testing.assert_allclose(onnx_model(inputs), expected, atol=1e-5, err_msg=model.name)
        single = {k: v[:1] for k, v in inputs.items()}  # batch of one, as a serving request
        np.testing.assert_allclose(onnx_model(single), expected[:1], atol=1e-5, err_msg=model.name)


def trained_looking_ranker(seed: int = 7) -> keras.Model:
    """A ranker whose every weight, bias and batch-norm statistic is random (no zeros to hide a wrong formula)."""
    ranker = build_ranking_model(VOCAB, 8, RankingConfig(units=(16, 8, 4)), global_mean=3.6, rating_range=RANGE)
    rng = np.random.default_rng(seed)
    for layer in ranker.layers:
        for variable in layer.weights:
            low = 0.5 if "variance" in variable.path else -1.0
            variable.assign(rng.uniform(low, 1.0, size=variable.shape).astype("float32"))
    return ranker


def test_inference_ranker_predicts_what_the_trained_ranker_predicts_with_fewer_operations(tmp_path):
    """Batch norm and the affinity folded away, the first layer split by side: same ratings in Keras and ONNX,
    for aligned pairs and for one user row against many movies (what serving sends); it survives a save."""
    from movierec.models.export import to_onnx
    from movierec.models.ranking import inference_ranker
    from movierec.models.runtime import OnnxModel

    ranker = trained_looking_ranker()
    folded = inference_ranker(ranker)
    kinds = {type(layer).__name__ for layer in folded.layers}
    assert not kinds & {"BatchNormalization", "Dropout", "Dot"}, kinds
    pairs = ranking_batch(9, seed=5)
    expected = keras.ops.convert_to_numpy(ranker(pairs, training=False))
    assert np.ptp(expected) > 0.1  # not every rating clipped to one end of the scale
    np.testing.assert_allclose(keras.ops.convert_to_numpy(folded(pairs, training=False)), expected, atol=1e-5)
    one_user = {k: (v[:1] if k.startswith("user_") else v) for k, v in pairs.items()}
    broadcast = {k: (np.repeat(v[:1], 9, axis=0) if k.startswith("user_") else v) for k, v in pairs.items()}
    expected_one = keras.ops.convert_to_numpy(ranker(broadcast, training=False))
    onnx_model = OnnxModel(to_onnx(roundtrip(folded, pairs, tmp_path)), "ranking_model.onnx")
    np.testing.assert_allclose(onnx_model(pairs), expected, atol=1e-5)
    np.testing.assert_allclose(onnx_model(one_user), expected_one, atol=1e-5)


def test_onnx_model_refuses_bytes_that_are_not_a_model():
    from movierec.errors import BundleError
    from movierec.models.runtime import OnnxModel

    with pytest.raises(BundleError, match="broken.onnx: not a loadable ONNX model"):
        OnnxModel(b"not an onnx graph", "broken.onnx")
