"""The sequence tower's training loss: one catalogue softmax per position, scored on two targets.

The softmax may leave out the movies the user has rated already: a user rates a movie once, so what they rated is
never what comes next, and serving excludes it too; counted as negatives, those movies, the ones most like the user's
taste, would be pushed down. Their probability mass is taken out of the normaliser from their own logits (a few per
position), with no (positions, catalogue) mask.
"""

from __future__ import annotations

import keras
from keras import ops

MASS_FLOOR = 1e-6  # what is left of the normaliser once the rated movies' mass is taken out, at least


def excluding_normaliser(logits, rows, counted):
    """log sum of exp(logits) over the catalogue (last axis) without the movies `rows` where `counted`.

    logits (..., catalogue); rows, counted (..., K): catalogue rows to leave out (distinct per row, never the target).
    """
    normaliser = ops.logsumexp(logits, axis=-1)
    probabilities = ops.exp(ops.take_along_axis(logits, ops.maximum(rows, 0), axis=-1) - normaliser[..., None])
    mass = ops.sum(ops.where(counted, probabilities, ops.zeros_like(probabilities)), axis=-1)
    return normaliser + ops.log(ops.maximum(1.0 - mass, MASS_FLOOR))


@keras.saving.register_keras_serializable(package="movierec")
class NextAndLaterLoss(keras.losses.Loss):
    """Per position: -log p(next rating) - later_weight * log p(a random later rating), from the same logits.

    y_true (B, T, 2) holds catalogue rows (next, later); a negative row means the position predicts nothing.
    The log-normaliser is computed once and shared by both targets, so the second costs almost nothing.
    With a third channel, y_true[..., 2] = the catalogue row of the rating each position is the state after (negative:
    none), the softmax of position t leaves out the movies rated at positions up to t.
    """

    def __init__(self, later_weight: float = 1.0, name: str = "next_and_later", **kwargs):
        super().__init__(name=name, **kwargs)
        self.later_weight = float(later_weight)

    def call(self, y_true, y_pred):
        y_true = ops.cast(y_true, "int32")
        if y_true.shape[-1] == 3:
            rated = y_true[..., 2]  # (B, T): position t leaves out rated[:, s] for every s <= t
            length = ops.shape(rated)[1]
            left_out = ops.broadcast_to(rated[:, None, :], (ops.shape(rated)[0], length, length))  # [b, t, s]
            earlier = ops.tril(ops.ones((length, length), dtype="bool"))[None, :, :]
            counted = ops.logical_and(earlier, ops.greater_equal(left_out, 0))
            normaliser = excluding_normaliser(y_pred, left_out, counted)
        else:
            normaliser = ops.logsumexp(y_pred, axis=-1)

        def negative_log_likelihood(rows):
            valid = ops.cast(ops.greater_equal(rows, 0), y_pred.dtype)
            picked = ops.take_along_axis(y_pred, ops.expand_dims(ops.maximum(rows, 0), -1), axis=-1)[..., 0]
            return (normaliser - picked) * valid

        loss = negative_log_likelihood(y_true[..., 0])
        if self.later_weight:
            loss = loss + self.later_weight * negative_log_likelihood(y_true[..., 1])
        return loss

    def get_config(self):
        return {**super().get_config(), "later_weight": self.later_weight}
