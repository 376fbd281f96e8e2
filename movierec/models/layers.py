"""Custom Keras layers, registered so saved models reload without custom_objects."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="movierec")
class HistoryPooling(keras.layers.Layer):
    """Pools a user's rated-movie embeddings: plain mean and rating-weighted mean over non-padding slots.

    Inputs: embeddings (B, L, d), movie indices (B, L) with 0 as padding, centred ratings (B, L) in [-1, 1];
    slot 0 is the most recent rating. With `recent=n` only the n most recent slots are pooled.
    Output: (B, 2d). An empty history gives zeros.
    """

    def __init__(self, recent: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.recent = int(recent) if recent else None

    def get_config(self):
        return {**super().get_config(), "recent": self.recent}

    def call(self, embeddings, movie_ids, ratings):
        if self.recent:
            embeddings, movie_ids, ratings = (
                embeddings[:, : self.recent],
                movie_ids[:, : self.recent],
                ratings[:, : self.recent],
            )
        mask = ops.cast(ops.not_equal(movie_ids, 0), embeddings.dtype)
        count = ops.maximum(ops.sum(mask, axis=1, keepdims=True), 1.0)
        masked = embeddings * ops.expand_dims(mask, -1)
        mean = ops.sum(masked, axis=1) / count
        weighted = ops.sum(masked * ops.expand_dims(ops.cast(ratings, embeddings.dtype), -1), axis=1) / count
        return ops.concatenate([mean, weighted], axis=-1)

    def compute_output_shape(self, embeddings_shape, movie_ids_shape=None, ratings_shape=None):
        return (embeddings_shape[0], 2 * embeddings_shape[-1])


@keras.saving.register_keras_serializable(package="movierec")
class RatingRange(keras.layers.Layer):
    """Shifts a raw score by the global mean rating and clips it to the dataset's rating scale.

    offset is the mean training rating; minimum/maximum are the scale's ends (DatasetDescription.rating_min and
    rating_max).
    """

    def __init__(self, offset: float, minimum: float, maximum: float, **kwargs):
        super().__init__(**kwargs)
        self.offset, self.minimum, self.maximum = float(offset), float(minimum), float(maximum)

    def call(self, inputs):
        return ops.clip(inputs + self.offset, self.minimum, self.maximum)

    def get_config(self):
        return {**super().get_config(), "offset": self.offset, "minimum": self.minimum, "maximum": self.maximum}


@keras.saving.register_keras_serializable(package="movierec")
class WeightedConcat(keras.layers.Layer):
    """[unit vectors x_i] -> concat(sqrt(w_i) * x_i): the dot product of two such outputs is sum_i w_i * cosine_i."""

    def __init__(self, weights: list[float], **kwargs):
        super().__init__(**kwargs)
        self.branch_weights = [float(w) for w in weights]

    def call(self, inputs):
        return ops.concatenate([x * (w**0.5) for x, w in zip(inputs, self.branch_weights, strict=True)], axis=-1)

    def compute_output_shape(self, input_shapes):
        return (input_shapes[0][0], sum(shape[-1] for shape in input_shapes))

    def get_config(self):
        return {**super().get_config(), "weights": self.branch_weights}


@keras.saving.register_keras_serializable(package="movierec")
class LeadingColumns(keras.layers.Layer):
    """(B, D) -> (B, count) * scale: the first `count` columns, rescaled when scale is not 1. It takes the latest
    slots of a history (slot 0 is the most recent rating) and one side of a WeightedConcat output back out."""

    def __init__(self, count: int, scale: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.count, self.scale = int(count), float(scale)

    def call(self, inputs):
        leading = inputs[:, : self.count]
        return leading if self.scale == 1.0 else leading * self.scale  # 1: integer ids keep their dtype

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.count)

    def get_config(self):
        return {**super().get_config(), "count": self.count, "scale": self.scale}


@keras.saving.register_keras_serializable(package="movierec")
class ResidualGate(keras.layers.Layer):
    """(residual (B, 1), user index (B,)) -> residual x the scale of its row's kind: scales[0] for known users (index
    above 0), scales[1] for unknown ones. The scales are weights set after training on the validation period (0: the
    rating head adds nothing to the bias model's prediction for that kind of user)."""

    def build(self, residual_shape, user_index_shape=None):
        self.scales = self.add_weight(shape=(2,), initializer="ones", trainable=False, name="scales")

    def call(self, residual, user_index):
        known = ops.expand_dims(ops.cast(ops.greater(user_index, 0), residual.dtype), -1)
        return residual * (known * self.scales[0] + (1.0 - known) * self.scales[1])

    def compute_output_shape(self, residual_shape, user_index_shape=None):
        return residual_shape


@keras.saving.register_keras_serializable(package="movierec")
class ResidualLogit(keras.layers.Layer):
    """(features (B, k, F), residual (B, k, 1)) -> the sum of the features' `base` columns + the residual, (B, k):
    the learned final stage's logit, the formula's log f(u, m) when the residual is 0."""

    def __init__(self, base: tuple[int, ...] = (0, 1), **kwargs):
        super().__init__(**kwargs)
        self.base = tuple(int(c) for c in base)

    def get_config(self):
        return {**super().get_config(), "base": list(self.base)}

    def call(self, features, residual):
        total = residual[..., 0]
        for column in self.base:
            total = total + features[..., column]
        return total

    def compute_output_shape(self, features_shape, residual_shape=None):
        return tuple(features_shape[:-1])


@keras.saving.register_keras_serializable(package="movierec")
class Standardise(keras.layers.Layer):
    """x -> (x - mean) / scale on the last axis; mean and scale are fixed (non-trainable) weights of that width."""

    def __init__(self, width: int, **kwargs):
        super().__init__(**kwargs)
        self.width = int(width)

    def get_config(self):
        return {**super().get_config(), "width": self.width}

    def build(self, input_shape):
        self.mean = self.add_weight(shape=(self.width,), initializer="zeros", trainable=False, name="mean")
        self.scale = self.add_weight(shape=(self.width,), initializer="ones", trainable=False, name="scale")

    def call(self, x):
        return (x - self.mean) / self.scale

    def compute_output_shape(self, input_shape):
        return input_shape
