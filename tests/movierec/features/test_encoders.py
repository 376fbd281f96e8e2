"""Index encoders: sequential indices, the reserved unknown index, no exceptions on unseen values."""

import numpy as np
import pytest

from movierec.features.encoders import UNKNOWN_INDEX, IndexEncoder


def test_known_values_get_sequential_indices():
    encoder = IndexEncoder([30, 10, 20, 10])
    assert encoder.size == 4
    assert encoder.transform([10, 20, 30]).tolist() == [1, 2, 3]
    assert encoder.inverse_transform([1, 3]).tolist() == [10, 30]


def test_unseen_values_map_to_unknown_and_never_raise():
    encoder = IndexEncoder([1, 2, 3])
    assert encoder.transform([0, 4, 99999, -5]).tolist() == [UNKNOWN_INDEX] * 4
    assert encoder.transform(np.array(["a"])).tolist() == [UNKNOWN_INDEX]
    assert encoder.transform(np.array([2.0, 2.5])).tolist() == [2, UNKNOWN_INDEX]
    assert encoder.transform([]).shape == (0,)
    assert 2 in encoder and 7 not in encoder


def test_string_encoder_accepts_object_arrays():
    encoder = IndexEncoder(np.array(["F", "M"]))
    assert encoder.transform(np.array(["M", "F", "X"], dtype=object)).tolist() == [2, 1, UNKNOWN_INDEX]


def test_inverse_of_unknown_is_refused():
    with pytest.raises(ValueError, match="unknown index"):
        IndexEncoder([1, 2]).inverse_transform([0])
