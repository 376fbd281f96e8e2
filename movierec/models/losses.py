"""The sequence tower's training loss: one catalogue softmax per position, scored on two targets."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="movierec")
class NextAndLaterLoss(keras.losses.Loss):
    """Per position: -log p(next rating) - later_weight * log p(a random later rating), from the same logits.

    y_true (B, T, 2) holds catalogue rows (next, later); a negative row means the position predicts nothing.
    The log-normaliser is computed once and shared by both targets, so the second costs almost nothing.
    """

    def __init__(self, later_weight: float = 1.0, name: str = "next_and_later", **kwargs):
        super().__init__(name=name, **kwargs)
        self.later_weight = float(later_weight)

    def call(self, y_true, y_pred):
        normaliser = ops.logsumexp(y_pred, axis=-1)

        def negative_log_likelihood(rows):
            valid = ops.cast(ops.greater_equal(rows, 0), y_pred.dtype)
            picked = ops.take_along_axis(y_pred, ops.expand_dims(ops.maximum(rows, 0), -1), axis=-1)[..., 0]
            return (normaliser - picked) * valid

        y_true = ops.cast(y_true, "int32")
        loss = negative_log_likelihood(y_true[..., 0])
        if self.later_weight:
            loss = loss + self.later_weight * negative_log_likelihood(y_true[..., 1])
        return loss

    def get_config(self):
        return {**super().get_config(), "later_weight": self.later_weight}
