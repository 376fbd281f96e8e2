"""DNN rating ranker over [user vector | movie vector] plus id embeddings, biases and numeric features."""

from __future__ import annotations

import keras
from keras import layers

from movierec.datasets.ml1m import DESCRIPTION as ML1M_DESCRIPTION
from movierec.models.layers import RatingRange

ML1M_RANGE = (ML1M_DESCRIPTION.rating_min, ML1M_DESCRIPTION.rating_max)


def build_ranking_model(
    vocab: dict, vector_dim: int, cfg, global_mean: float, rating_range: tuple[float, float] = ML1M_RANGE
) -> keras.Model:
    """Predicts the explicit rating, clipped to rating_range (the dataset's rating_min and rating_max). Dense blocks
    follow the reference design (256-128-64); the tower vectors also enter as their dot product and element-wise
    product, so user-movie affinity is explicit."""
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
    user_bias = layers.Embedding(vocab["user_id"], 1, embeddings_initializer="zeros", name="user_bias")(
        inputs["user_id"]
    )
    movie_bias = layers.Embedding(vocab["movie_id"], 1, embeddings_initializer="zeros", name="movie_bias")(
        inputs["movie_id"]
    )
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
    score = layers.Dense(1, name="score")(x)
    score = layers.Add(name="with_biases")([score, user_bias, movie_bias])
    low, high = rating_range
    rating = RatingRange(offset=global_mean, minimum=low, maximum=high, name="rating")(
        layers.Flatten(name="flat")(score)
    )
    return keras.Model(inputs, layers.Reshape((), name="predicted_rating")(rating), name="ranking_model")
