"""Running a model in row batches (movierec.models.runtime.in_batches)."""

import numpy as np

from movierec.models.runtime import in_batches


def test_in_batches_gives_one_row_inputs_whole_to_every_batch():
    seen = []

    def model(inputs):
        seen.append({k: len(v) for k, v in inputs.items()})
        return inputs["movie"] * inputs["user"][0]

    inputs = {"user": np.array([2.0]), "movie": np.arange(7.0)}
    np.testing.assert_array_equal(in_batches(model, inputs, 3), np.arange(7.0) * 2)
    assert seen == [{"user": 1, "movie": 3}, {"user": 1, "movie": 3}, {"user": 1, "movie": 1}]
