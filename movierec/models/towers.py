"""The user and movie towers: each an MLP over its features ending in L2 normalisation (UnitNormalization)."""

from __future__ import annotations

import keras
from keras import layers

from movierec.models.layers import HistoryPooling


def _mlp_head(x, hidden_units: int, output_dim: int, dropout: float, name: str):
    x = layers.Dense(hidden_units, activation="relu", name=f"{name}_hidden")(x)
    x = layers.Dropout(dropout, name=f"{name}_dropout")(x)
    x = layers.Dense(output_dim, name=f"{name}_projection")(x)
    return layers.UnitNormalization(name=f"{name}_l2")(x)


def user_history_inputs(length: int) -> dict:
    """The inputs every user tower reads: user id, gender, age, occupation and the latest `length` ratings."""
    return {
        "user_id": keras.Input(shape=(), dtype="int32", name="user_id"),
        "gender": keras.Input(shape=(), dtype="int32", name="gender"),
        "age": keras.Input(shape=(), dtype="int32", name="age"),
        "occupation": keras.Input(shape=(), dtype="int32", name="occupation"),
        "history_movies": keras.Input(shape=(length,), dtype="int32", name="history_movies"),
        "history_ratings": keras.Input(shape=(length,), dtype="float32", name="history_ratings"),
    }


def build_user_tower(vocab: dict, cfg) -> keras.Model:
    """User id, gender, age, occupation embeddings + pooled history of rated movies + history stats."""
    inputs = user_history_inputs(vocab["history_length"])
    inputs["user_numeric"] = keras.Input(shape=(vocab["user_numeric"],), dtype="float32", name="user_numeric")
    parts = [layers.Embedding(vocab["user_id"], cfg.user_id_dim, name="user_id_embedding")(inputs["user_id"])]
    for key in ("gender", "age", "occupation"):
        parts.append(layers.Embedding(vocab[key], cfg.feature_dim, name=f"{key}_embedding")(inputs[key]))
    history = layers.Embedding(vocab["movie_id"], cfg.history_dim, name="history_embedding")(inputs["history_movies"])
    parts.append(HistoryPooling(name="history_pooling")(history, inputs["history_movies"], inputs["history_ratings"]))
    if getattr(cfg, "recent_history", 0):
        recent = HistoryPooling(recent=cfg.recent_history, name="recent_history_pooling")
        parts.append(recent(history, inputs["history_movies"], inputs["history_ratings"]))
    parts.append(inputs["user_numeric"])
    x = layers.Concatenate(name="user_features")(parts)
    return keras.Model(inputs, _mlp_head(x, cfg.hidden_units, cfg.output_dim, cfg.dropout, "user"), name="user_tower")


def build_movie_tower(vocab: dict, cfg, name: str = "movie_tower") -> keras.Model:
    """Movie id embedding + 18-genre multi-hot + scaled year and training-period popularity features."""
    inputs = {
        "movie_id": keras.Input(shape=(), dtype="int32", name="movie_id"),
        "genres": keras.Input(shape=(vocab["genres"],), dtype="float32", name="genres"),
        "movie_numeric": keras.Input(shape=(vocab["movie_numeric"],), dtype="float32", name="movie_numeric"),
    }
    movie = layers.Embedding(vocab["movie_id"], cfg.movie_id_dim, name="movie_id_embedding")(inputs["movie_id"])
    x = layers.Concatenate(name="movie_features")([movie, inputs["genres"], inputs["movie_numeric"]])
    return keras.Model(inputs, _mlp_head(x, cfg.hidden_units, cfg.output_dim, cfg.dropout, "movie"), name=name)
