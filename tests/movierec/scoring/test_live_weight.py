"""The live weight: a user's two sides rescaled give the live mix of cosines against the same movie vectors."""

import numpy as np
import pytest

from movierec.scoring import LiveWeight


def unit(rng, n, d):
    x = rng.normal(size=(n, d))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_rescaled_rows_score_the_live_mix_and_the_others_stay():
    rng = np.random.default_rng(0)
    w, w_live = 0.25, 0.8
    pooled_u, seq_u, pooled_m, seq_m = unit(rng, 6, 4), unit(rng, 6, 3), unit(rng, 9, 4), unit(rng, 9, 3)
    users = np.hstack([np.sqrt(1 - w) * pooled_u, np.sqrt(w) * seq_u]).astype(np.float32)  # as WeightedConcat
    movies = np.hstack([np.sqrt(1 - w) * pooled_m, np.sqrt(w) * seq_m]).astype(np.float32)
    live = np.array([True, False, True, False, False, True])
    before = users.copy()
    scaled = LiveWeight(pooled_width=4, weight=w, live_weight=w_live).rescale(users, live)
    np.testing.assert_array_equal(users, before)  # the input is not changed
    expected_live = (1 - w_live) * pooled_u @ pooled_m.T + w_live * seq_u @ seq_m.T
    expected_trained = (1 - w) * pooled_u @ pooled_m.T + w * seq_u @ seq_m.T
    np.testing.assert_allclose((scaled @ movies.T)[live], expected_live[live], atol=1e-5)
    np.testing.assert_allclose((scaled @ movies.T)[~live], expected_trained[~live], atol=1e-5)
    assert LiveWeight(4, w, w_live).rescale(users, np.zeros(6, bool)) is users  # nobody live: nothing copied


def test_refuses_weights_it_cannot_rescale():
    with pytest.raises(ValueError, match=r"sequence weight must be in \(0, 1\) to be rescaled"):
        LiveWeight(4, 0.0, 0.5)
    with pytest.raises(ValueError, match=r"live weight must be in \[0, 1\]"):
        LiveWeight(4, 0.25, 1.5)
