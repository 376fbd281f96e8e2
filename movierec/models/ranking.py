"""DNN rating ranker: the residual over mean + user and movie biases, from the tower vectors, id embeddings and
numeric features."""

from __future__ import annotations

from typing import NamedTuple

import keras
import numpy as np
from keras import layers

from movierec.models.layers import RatingRange, ResidualGate


class RatingBiases(NamedTuple):
    """A fitted bias model in the ranker's index space: mean, and a bias per user index and per movie index (index 0,
    the unknown user or movie, has bias 0)."""

    mean: float
    user: np.ndarray
    movie: np.ndarray


def build_ranking_model(
    vocab: dict,
    vector_dim: int,
    cfg,
    global_mean: float,
    rating_range: tuple[float, float],
    biases: RatingBiases | None = None,
) -> keras.Model:
    """Predicts the explicit rating, clipped to rating_range (the dataset's rating_min and rating_max), as
    mean + user bias + movie bias + gated residual.

    The biases are frozen (biases, or 0 when None, with global_mean as the mean); the network learns only the
    residual, which starts at exactly 0 (its last layer is zero), so the untrained model is the bias model, and a
    ResidualGate (scales set on the validation period) can switch it off per kind of user. Dense blocks follow the
    reference design (256-128-64); the tower vectors also enter as their dot product and element-wise product, so
    user-movie affinity is explicit."""
    inputs = {
        "user_vector": keras.Input(shape=(vector_dim,), dtype="float32", name="user_vector"),
        "movie_vector": keras.Input(shape=(vector_dim,), dtype="float32", name="movie_vector"),
        "user_id": keras.Input(shape=(), dtype="int32", name="user_id"),
        "movie_id": keras.Input(shape=(), dtype="int32", name="movie_id"),
        "user_numeric": keras.Input(shape=(vocab["user_numeric"],), dtype="float32", name="user_numeric"),
        "movie_numeric": keras.Input(shape=(vocab["movie_numeric"],), dtype="float32", name="movie_numeric"),
    }
    user_id = layers.Embedding(vocab["user_id"], cfg.id_dim, name="rank_user_embedding")(inputs["user_id"])
    movie_id = layers.Embedding(vocab["movie_id"], cfg.id_dim, name="rank_movie_embedding")(inputs["movie_id"])
    bias_layers = {
        side: layers.Embedding(
            vocab[f"{side}_id"], 1, embeddings_initializer="zeros", trainable=False, name=f"{side}_bias"
        )
        for side in ("user", "movie")
    }
    user_bias = bias_layers["user"](inputs["user_id"])
    movie_bias = bias_layers["movie"](inputs["movie_id"])
    if biases is not None:
        global_mean = biases.mean
        for side, values in (("user", biases.user), ("movie", biases.movie)):
            expected = (vocab[f"{side}_id"],)
            if np.shape(values) != expected:
                raise ValueError(
                    f"{side} biases have shape {np.shape(values)}, the ranker's vocabulary needs {expected}"
                )
            bias_layers[side].set_weights([np.asarray(values, np.float32).reshape(-1, 1)])
    affinity = layers.Dot(axes=1, name="affinity")([inputs["user_vector"], inputs["movie_vector"]])
    interaction = layers.Multiply(name="interaction")([inputs["user_vector"], inputs["movie_vector"]])
    x = layers.Concatenate(name="ranking_features")(
        [
            inputs["user_vector"],
            inputs["movie_vector"],
            interaction,
            affinity,
            user_id,
            movie_id,
            inputs["user_numeric"],
            inputs["movie_numeric"],
        ]
    )
    for i, (units, dropout) in enumerate(zip(cfg.units, cfg.dropouts, strict=True)):
        x = layers.Dense(units, activation="relu", name=f"dense_{i}")(x)
        if i < len(cfg.units) - 1:
            x = layers.BatchNormalization(name=f"batch_norm_{i}")(x)
        x = layers.Dropout(dropout, name=f"dropout_{i}")(x)
    score = layers.Dense(1, kernel_initializer="zeros", name="score")(x)
    score = ResidualGate(name="residual_gate")(score, inputs["user_id"])
    score = layers.Add(name="with_biases")([score, user_bias, movie_bias])
    low, high = rating_range
    rating = RatingRange(offset=global_mean, minimum=low, maximum=high, name="rating")(
        layers.Flatten(name="flat")(score)
    )
    return keras.Model(inputs, layers.Reshape((), name="predicted_rating")(rating), name="ranking_model")


def inference_ranker(ranker: keras.Model, name: str = "ranking_model") -> keras.Model:
    """The trained ranker rewritten for inference: the same predictions from fewer operations.

    Dropout goes; each batch normalisation is folded into the Dense layer after it; the affinity (the sum of the
    interaction) is folded into the first layer's interaction weights; and the first layer is split by side, so
    its user part runs once when the user inputs hold one row for many movie rows (they broadcast: one user against
    a list of candidates, the serving case) and still row by row when every pair has its own user row.
    """
    inputs = {key: keras.Input(shape=tuple(t.shape[1:]), dtype=t.dtype, name=key) for key, t in ranker.input.items()}
    d = inputs["user_vector"].shape[1]
    e_user, e_movie = (ranker.get_layer(f"rank_{side}_embedding").output_dim for side in ("user", "movie"))
    p, q = inputs["user_numeric"].shape[1], inputs["movie_numeric"].shape[1]
    kernel, bias = ranker.get_layer("dense_0").get_weights()
    # the feature layout of build_ranking_model: user | movie | interaction | affinity | ids | numerics
    at = np.cumsum([0, d, d, d, 1, e_user, e_movie, p, q])
    rows = [kernel[a:b] for a, b in zip(at[:-1], at[1:], strict=True)]
    user_kernel = np.vstack([rows[0], rows[4], rows[6]])
    movie_kernel = np.vstack([rows[1], rows[5], rows[7]])
    interaction_kernel = rows[2] + rows[3]  # x . w_affinity * sum(u * m) == (u * m) . (w_affinity in every row)

    def ids(side: str, layer_name: str):
        """The trained ranker's embedding `layer_name` (of the side's id), copied."""
        source = ranker.get_layer(layer_name)
        layer = layers.Embedding(source.input_dim, source.output_dim, name=layer_name)
        out = layer(inputs[f"{side}_id"])
        layer.set_weights(source.get_weights())
        return out

    def dense(x, weights, activation, layer_name):
        layer = layers.Dense(weights[0].shape[1], activation=activation, use_bias=len(weights) > 1, name=layer_name)
        out = layer(x)
        layer.set_weights(weights)
        return out

    user_side = layers.Concatenate(name="user_features")(
        [inputs["user_vector"], ids("user", "rank_user_embedding"), inputs["user_numeric"]]
    )
    movie_side = layers.Concatenate(name="movie_features")(
        [inputs["movie_vector"], ids("movie", "rank_movie_embedding"), inputs["movie_numeric"]]
    )
    interaction = layers.Multiply(name="interaction")([inputs["user_vector"], inputs["movie_vector"]])
    x = layers.Add(name="dense_0_sum")(
        [
            dense(user_side, [user_kernel], None, "dense_0_user"),
            dense(movie_side, [movie_kernel, bias], None, "dense_0_movie"),
            dense(interaction, [interaction_kernel], None, "dense_0_interaction"),
        ]
    )
    x = layers.ReLU(name="dense_0_relu")(x)
    n_dense = sum(1 for layer in ranker.layers if layer.name.startswith("dense_"))
    for i in range(1, n_dense + 1):
        kernel, bias = ranker.get_layer(f"dense_{i}" if i < n_dense else "score").get_weights()
        norm = _layer_or_none(ranker, f"batch_norm_{i - 1}")
        if norm is not None:  # y = a * x + c before this layer: fold a and c into its kernel and bias
            gamma, beta, mean, variance = norm.get_weights()
            a = gamma / np.sqrt(variance + norm.epsilon)
            kernel, bias = kernel * a[:, None], bias + (beta - mean * a) @ kernel
        last = i == n_dense
        x = dense(x, [kernel, bias], None if last else "relu", "score" if last else f"dense_{i}")
    gate = ResidualGate(name="residual_gate")
    x = gate(x, inputs["user_id"])
    gate.set_weights(ranker.get_layer("residual_gate").get_weights())
    score = layers.Add(name="with_biases")([x, ids("user", "user_bias"), ids("movie", "movie_bias")])
    rating = ranker.get_layer("rating")
    clipped = RatingRange.from_config(rating.get_config())(layers.Flatten(name="flat")(score))
    return keras.Model(inputs, layers.Reshape((), name="predicted_rating")(clipped), name=name)


def _layer_or_none(model: keras.Model, layer_name: str):
    try:
        return model.get_layer(layer_name)
    except ValueError:
        return None
