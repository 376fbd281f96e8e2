"""The served towers: the pooled two-tower and the causal sequence branch side by side, scored by one dot product.

Each side's unit vectors are scaled by the square root of its weight and concatenated, so user · movie is
(1 - w) * pooled cosine + w * sequence cosine: retrieval, the top-K backends and the final score see one vector per
user and per movie. The ranker is trained on the pooled side's vectors and served behind a layer that takes that
side back out of the joined ones.
"""

from __future__ import annotations

import keras

from movierec.models.layers import LeadingColumns, WeightedConcat

HISTORY_KEYS = ("history_movies", "history_ratings")


def _inputs_like(models) -> dict:
    """One keras.Input per input name of the models; the first model's shape wins (the widest history)."""
    inputs: dict = {}
    for model in models:
        for key, tensor in model.input.items():
            if key not in inputs:
                inputs[key] = keras.Input(shape=tuple(tensor.shape[1:]), dtype=tensor.dtype, name=key)
    return inputs


def _feed(model, inputs: dict, prefix: str) -> dict:
    """The model's inputs from the shared ones, histories cut to the model's width (the latest slots)."""
    feed = {}
    for key, tensor in model.input.items():
        value = inputs[key]
        width = tensor.shape[1] if key in HISTORY_KEYS else None
        if width is not None and width != value.shape[1]:
            value = LeadingColumns(width, name=f"{prefix}_{key}")(value)  # the latest slots
        feed[key] = value
    return feed


def hybrid_tower(pooled: keras.Model, sequence: keras.Model, weight: float, name: str) -> keras.Model:
    """A model over the union of both towers' inputs whose output is WeightedConcat([1 - weight, weight])."""
    inputs = _inputs_like((pooled, sequence))
    vectors = [pooled(_feed(pooled, inputs, "pooled")), sequence(_feed(sequence, inputs, "sequence"))]
    output = WeightedConcat([1.0 - weight, weight], name="weighted_vectors")(vectors)
    return keras.Model(inputs, output, name=name)


def pooled_side_ranker(ranker: keras.Model, joined_width: int, weight: float, name: str) -> keras.Model:
    """The ranker (trained on the pooled tower's unit vectors) as a model over the joined vectors: its user_vector
    and movie_vector are the joined ones' leading (pooled) columns divided by sqrt(1 - weight)."""
    if not 0.0 <= weight < 1.0:
        raise ValueError(
            f"the sequence branch's weight must be in [0, 1) for the ranker to read the pooled side, got {weight}"
        )
    vectors = ("user_vector", "movie_vector")
    inputs = {}
    for key, tensor in ranker.input.items():
        shape = (joined_width,) if key in vectors else tuple(tensor.shape[1:])
        inputs[key] = keras.Input(shape=shape, dtype=tensor.dtype, name=key)
    feed = dict(inputs)
    for key in vectors:
        width = ranker.input[key].shape[1]
        feed[key] = LeadingColumns(width, (1.0 - weight) ** -0.5, name=f"pooled_{key}")(inputs[key])
    return keras.Model(inputs, ranker(feed), name=name)
