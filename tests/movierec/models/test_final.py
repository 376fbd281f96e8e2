"""The final model: a saved model reloads with the same outputs, and its ONNX graph gives the Keras model's logits."""

import keras
import numpy as np

from movierec.models.export import to_onnx
from movierec.models.final import build_final_model, rated_next_view
from movierec.models.runtime import OnnxModel
from movierec.scoring.learned import FEATURES


def trained_like(width=6, seed=0):
    """A final model with every weight set away from its start (so the round trip and parity can fail)."""
    rng = np.random.default_rng(seed)
    model = build_final_model(rng.normal(size=width), rng.uniform(0.5, 2.0, width), hidden=8)
    for layer in model.layers:
        weights = layer.get_weights()
        if weights and layer.name != "standard":
            layer.set_weights([rng.normal(size=w.shape).astype(np.float32) for w in weights])
    return model


def test_the_untrained_model_is_the_sum_of_the_base_columns():
    model = build_final_model(np.zeros(4), np.ones(4), hidden=8)
    rows = np.random.default_rng(1).normal(size=(3, 5, 4)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(model({FEATURES: rows})), rows[..., 0] + rows[..., 1], rtol=1e-6)


def test_the_rated_next_view_shares_the_residual_and_leaves_the_liked_column_out():
    model = trained_like()
    view = rated_next_view(model)
    rows = np.random.default_rng(4).normal(size=(2, 9, 6)).astype(np.float32)
    served, trained = np.asarray(model({FEATURES: rows})), np.asarray(view({FEATURES: rows}))
    np.testing.assert_allclose(served - trained, rows[..., 1], rtol=1e-5, atol=1e-5)
    assert not np.allclose(trained, rows[..., 0], atol=1e-3)  # the residual is not 0: the view carries it
    view.layers[-2].set_weights([w * 0 for w in view.layers[-2].get_weights()])  # the shared residual layer
    np.testing.assert_allclose(np.asarray(model({FEATURES: rows})), rows[..., 0] + rows[..., 1], rtol=1e-5, atol=1e-5)


def test_round_trip(tmp_path):
    model = trained_like()
    rows = np.random.default_rng(2).normal(size=(2, 7, 6)).astype(np.float32)
    model.save(tmp_path / "final_model.keras")
    again = keras.saving.load_model(tmp_path / "final_model.keras")
    np.testing.assert_allclose(np.asarray(again({FEATURES: rows})), np.asarray(model({FEATURES: rows})), rtol=1e-6)


def test_onnx_parity_on_any_number_of_candidates():
    model = trained_like()
    graph = OnnxModel(to_onnx(model), "final_model.onnx")
    for users, k in ((1, 200), (3, 7)):
        rows = np.random.default_rng(users).normal(size=(users, k, 6)).astype(np.float32)
        expected = np.asarray(model({FEATURES: rows}))
        np.testing.assert_allclose(graph({FEATURES: rows}), expected, rtol=1e-4, atol=1e-4)
