"""The causal sequence user tower: self-attention over the user's latest ratings, a user token for demographics.

Inputs keep the feature space's history layout (slot 0 = the most recent rating, zero padding after the oldest).
Inside, the history is turned into a chronological sequence that ends with the most recent rating, and a user token
(demographics) is placed just before the oldest rating, so an empty history is the user token alone. Every position
attends only to itself and earlier positions: its output is the user's state after that rating, which training asks
to predict the next rating (sequence to sequence) and serving reads at the last position.
"""

from __future__ import annotations

import keras
from keras import layers, ops

from movierec.models.towers import user_history_inputs


@keras.saving.register_keras_serializable(package="movierec")
class UserTokenSequence(keras.layers.Layer):
    """(rating tokens (B, L, d) slot 0 = latest, user token (B, d), movie ids (B, L)) ->
    (chronological sequence (B, L + 1, d) ending with the latest rating, key mask (B, L + 1)).

    The user token sits just before the oldest rating; slots after the oldest rating are padding (masked), and so
    are unknown movies (id 0) inside the history.
    """

    def call(self, tokens, user_token, movie_ids):
        length = ops.shape(movie_ids)[1]
        present = ops.not_equal(movie_ids, 0)
        slots = ops.arange(1, length + 1, dtype="int32")[None, :]
        count = ops.max(ops.where(present, slots, ops.zeros_like(slots)), axis=1)  # slots up to the oldest rating
        tokens = tokens * ops.cast(present, tokens.dtype)[:, :, None]  # padding carries nothing (the user slot is one)
        extended = ops.concatenate([tokens, ops.zeros_like(tokens[:, :1])], axis=1)  # (B, L + 1, d)
        user_slot = ops.one_hot(count, length + 1, dtype=tokens.dtype)  # (B, L + 1)
        sequence = extended + user_slot[:, :, None] * user_token[:, None, :]
        mask = ops.logical_or(ops.concatenate([present, ops.zeros_like(present[:, :1])], axis=1), user_slot > 0)
        return ops.flip(sequence, axis=1), ops.flip(mask, axis=1)

    def compute_output_shape(self, tokens_shape, user_token_shape=None, movie_ids_shape=None):
        length = None if tokens_shape[1] is None else tokens_shape[1] + 1
        return (tokens_shape[0], length, tokens_shape[2]), (tokens_shape[0], length)


@keras.saving.register_keras_serializable(package="movierec")
class PositionEmbedding(keras.layers.Layer):
    """Adds a learned embedding of each position (position 0 = the oldest slot of the window)."""

    def __init__(self, length: int, **kwargs):
        super().__init__(**kwargs)
        self.length = int(length)

    def build(self, input_shape):
        self.positions = self.add_weight(
            shape=(self.length, input_shape[-1]), initializer=keras.initializers.RandomNormal(stddev=0.02),
            name="positions",
        )  # fmt: skip

    def call(self, inputs):
        return inputs + self.positions[None, : ops.shape(inputs)[1], :]

    def get_config(self):
        return {**super().get_config(), "length": self.length}


@keras.saving.register_keras_serializable(package="movierec")
class CausalTransformerBlock(keras.layers.Layer):
    """Pre-norm transformer block: causal multi-head self-attention over unmasked keys, then a ReLU feed-forward."""

    def __init__(self, dim: int, heads: int = 2, ff_units: int = 128, dropout: float = 0.1, **kwargs):
        super().__init__(**kwargs)
        self.dim, self.heads, self.ff_units, self.dropout = int(dim), int(heads), int(ff_units), float(dropout)
        self.attention_norm = layers.LayerNormalization(epsilon=1e-6, name="attention_norm")
        self.attention = layers.MultiHeadAttention(
            num_heads=self.heads, key_dim=self.dim // self.heads, dropout=self.dropout, name="attention"
        )
        self.ff_norm = layers.LayerNormalization(epsilon=1e-6, name="ff_norm")
        self.ff_hidden = layers.Dense(self.ff_units, activation="relu", name="ff_hidden")
        self.ff_out = layers.Dense(self.dim, name="ff_out")
        self.drop = layers.Dropout(self.dropout)

    def build(self, inputs_shape, key_mask_shape=None):
        input_shape = inputs_shape
        self.attention_norm.build(input_shape)
        self.attention.build(input_shape, input_shape)
        self.ff_norm.build(input_shape)
        self.ff_hidden.build(input_shape)
        self.ff_out.build((*input_shape[:-1], self.ff_units))

    def call(self, inputs, key_mask, training=False, last_only=False):
        """(B, T, d) states; last_only: only the last position's, (B, 1, d), which is all a final block serving the
        state after the latest rating needs (the same numbers as the last row of the full output, a T-th of the work).
        """
        x = self.attention_norm(inputs)
        if last_only:  # the last position sees every earlier key by causality, and itself even if masked
            query, residual = x[:, -1:, :], inputs[:, -1:, :]
            allowed = ops.concatenate([key_mask[:, :-1], ops.ones_like(key_mask[:, -1:])], axis=1)[:, None, :]
        else:
            length = ops.shape(inputs)[1]
            causal = ops.tril(ops.ones((length, length), dtype="bool"))
            allowed = ops.logical_and(causal[None, :, :], key_mask[:, None, :])
            allowed = ops.logical_or(allowed, ops.eye(length, dtype="bool")[None, :, :])  # padding attends to itself
            query, residual = x, inputs
        x = residual + self.drop(self.attention(query, x, attention_mask=allowed, training=training), training=training)
        y = self.ff_out(self.ff_hidden(self.ff_norm(x)))
        return x + self.drop(y, training=training)

    def get_config(self):
        return {
            **super().get_config(),
            "dim": self.dim,
            "heads": self.heads,
            "ff_units": self.ff_units,
            "dropout": self.dropout,
        }


@keras.saving.register_keras_serializable(package="movierec")
class LastPosition(keras.layers.Layer):
    """(B, T, d) -> (B, d): the state after the most recent rating (the last position)."""

    def call(self, inputs):
        return inputs[:, -1, :]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])


def build_sequence_towers(vocab: dict, cfg) -> tuple[keras.Model, keras.Model]:
    """(user tower: inputs -> (B, out) unit vector after the latest rating, sequence model: inputs -> (B, L + 1, out)
    unit vectors after every position). Both share every layer; training fits the sequence model."""
    length = vocab["history_length"]
    dim = cfg.sequence_dim
    inputs = user_history_inputs(length)
    movies = layers.Embedding(vocab["movie_id"], dim, name="history_embedding")(inputs["history_movies"])
    ratings = layers.Reshape((length, 1), name="rating_column")(inputs["history_ratings"])
    tokens = layers.Add(name="rating_tokens")([movies, layers.Dense(dim, name="rating_projection")(ratings)])
    demographics = [
        layers.Embedding(vocab[key], cfg.feature_dim, name=f"{key}_embedding")(inputs[key])
        for key in ("gender", "age", "occupation")
    ]
    if cfg.user_id_dim:  # a known user's long-term taste; index 0 (unknown user) is trained on a share of windows
        demographics.append(
            layers.Embedding(vocab["user_id"], cfg.user_id_dim, name="user_id_embedding")(inputs["user_id"])
        )
    user_token = layers.Dense(dim, name="user_token")(layers.Concatenate(name="demographics")(demographics))
    sequence, key_mask = UserTokenSequence(name="user_token_sequence")(tokens, user_token, inputs["history_movies"])
    x = PositionEmbedding(length + 1, name="positions")(sequence)
    x = layers.Dropout(cfg.dropout, name="sequence_dropout")(x)
    blocks = [
        CausalTransformerBlock(dim, cfg.heads, cfg.ff_units, cfg.dropout, name=f"block_{i}") for i in range(cfg.blocks)
    ]
    for block in blocks[:-1]:
        x = block(x, key_mask)
    latest = x
    if blocks:  # the served tower runs the last block for the latest position only; training needs every position
        latest = blocks[-1](x, key_mask, last_only=True)
        x = blocks[-1](x, key_mask)
    final_norm = layers.LayerNormalization(epsilon=1e-6, name="final_norm")
    latest = LastPosition(name="latest")(final_norm(latest))
    x = final_norm(x)
    projection = layers.Dense(cfg.output_dim, name="user_projection")
    normalise = layers.UnitNormalization(name="user_l2")
    tower_inputs, sequence_inputs = dict(inputs), dict(inputs)
    if cfg.example_age:  # how long before "now" the prediction is asked: serving says 0, training its target's age
        tower_inputs["example_age"] = keras.Input(shape=(), dtype="float32", name="example_age")
        sequence_inputs["position_age"] = keras.Input(shape=(length + 1,), dtype="float32", name="position_age")
        with_age = layers.Concatenate(name="state_and_age")
        latest = with_age([latest, layers.Reshape((1,), name="age_column")(tower_inputs["example_age"])])
        x = with_age([x, layers.Reshape((length + 1, 1), name="position_age_column")(sequence_inputs["position_age"])])
    sequence_model = keras.Model(sequence_inputs, normalise(projection(x)), name="sequence_user_states")
    user_tower = keras.Model(tower_inputs, normalise(projection(latest)), name="sequence_user_tower")
    return user_tower, sequence_model
