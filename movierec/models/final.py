"""The learned final stage: a small network over each candidate's feature row (movierec.scoring.learned) whose output
is added to the formula's log final score; its last layer starts at 0, so the untrained stage is the formula."""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

from movierec.models.layers import ResidualLogit, Standardise
from movierec.scoring.learned import BASE_COLUMNS, FEATURES, RATED_COLUMN


def build_final_model(
    mean: np.ndarray, variance: np.ndarray, hidden: int = 32, dropout: float = 0.1, name: str = "final_model"
) -> keras.Model:
    """(users, k, F) feature rows -> (users, k) logits; mean and variance: each feature's, for the standardisation."""
    width = len(mean)
    rows = keras.Input(shape=(None, width), dtype="float32", name=FEATURES)
    standard = Standardise(width, name="standard")
    x = standard(rows)
    standard.set_weights([np.asarray(mean, np.float32), np.sqrt(np.maximum(np.asarray(variance, np.float32), 1e-6))])
    x = layers.Dense(hidden, activation="relu", name="final_hidden")(x)
    x = layers.Dropout(dropout, name="final_dropout")(x)
    residual = layers.Dense(1, kernel_initializer="zeros", bias_initializer="zeros", name="final_residual")(x)
    return keras.Model({FEATURES: rows}, ResidualLogit(BASE_COLUMNS, name="final_logit")(rows, residual), name=name)


def rated_next_view(model: keras.Model) -> keras.Model:
    """The final model's logit of what is rated next: the rated-next base column + the same residual (every layer
    shared with `model`), what the head is trained on; the served logit adds log P(liked | rated) to it."""
    rows = model.inputs[0]
    residual = model.get_layer("final_residual").output
    logit = ResidualLogit((RATED_COLUMN,), name="rated_next_logit")(rows, residual)
    return keras.Model({FEATURES: rows}, logit, name=f"{model.name}_rated_next")
