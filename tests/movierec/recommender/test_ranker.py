"""The served ranker: one user row against many movies predicts what aligned pairs predict."""

import numpy as np
import pytest

from movierec.artifacts import load_bundle, recommender_from_bundle


@pytest.fixture(scope="module")
def rec(synthetic_bundle):
    return recommender_from_bundle(load_bundle(synthetic_bundle))


def test_one_user_against_many_movies_matches_the_same_pairs_row_by_row(rec):
    """Serving sends the ranker one user row for all candidates; it must predict what aligned pairs predict, in
    one batch or in many."""
    user = rec.contexts.known(int(rec.contexts.users["user_id"].iloc[0]))
    rows = np.arange(rec.space.n_catalog)
    ranker = rec.ranker
    pair_inputs, pair_vectors = ranker.pair_inputs(user.inputs, user.vector, np.zeros(len(rows), np.int64))
    aligned = ranker.predict(pair_inputs, pair_vectors, rows)
    np.testing.assert_allclose(ranker.predict(user.inputs, user.vector, rows), aligned, atol=1e-5)
    np.testing.assert_allclose(ranker.predict(user.inputs, user.vector, rows, batch_size=7), aligned, atol=1e-5)
