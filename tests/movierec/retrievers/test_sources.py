"""Candidate sources behind one interface: the towers and recent popularity answer `scores` and `top_k` as the peers
do, on the same Queries."""

import numpy as np
import pytest

from movierec.artifacts import load_bundle
from movierec.retrievers.history import HistoryBatch
from movierec.retrievers.recent_popularity import RecentPopularitySource
from movierec.retrievers.source import Queries
from movierec.retrievers.topk import padded_top_k
from movierec.retrievers.towers import TowerSource


@pytest.fixture(scope="module")
def bundle(synthetic_bundle):
    return load_bundle(synthetic_bundle)


@pytest.fixture(scope="module")
def sources(bundle):
    train, space = bundle.train_ratings, bundle.space
    return {
        "towers": TowerSource(bundle.movie_vectors).index(train, space),
        "recent_popularity": RecentPopularitySource().index(train, space),
        **bundle.peers,
    }


@pytest.fixture(scope="module")
def queries(bundle):
    """Three users: two with a few rated movies, one without."""
    vectors = np.asarray(bundle.user_model(bundle.space.user_inputs(bundle.users["user_id"].to_numpy()[:3])))
    histories = HistoryBatch(3, np.array([0, 0, 1]), np.array([4, 9, 4]), np.array([5.0, 3.0, 4.0], np.float32))
    return Queries(histories, vectors)


def test_every_source_scores_the_catalogue_and_keeps_its_top_k_the_same_way(sources, queries, bundle):
    for name, source in sources.items():
        scores = source.scores(queries)
        assert scores.shape == (3, bundle.space.n_catalog), name
        rows, values = source.top_k(queries, 12)
        masked = np.array(scores, dtype=np.float32, copy=True)
        masked[queries.histories.owner, queries.histories.rows] = -np.inf
        expected_rows, expected_values = padded_top_k(masked, 12)
        np.testing.assert_array_equal(rows, expected_rows, err_msg=name)
        np.testing.assert_allclose(values, expected_values, rtol=1e-6, err_msg=name)
        assert not {4, 9} & set(rows[0].tolist()) and 4 not in rows[1], name  # rated movies left out


def test_towers_score_the_inner_product_and_need_the_user_vectors(sources, queries, bundle):
    towers = sources["towers"]
    np.testing.assert_array_equal(towers.scores(queries), queries.vectors @ bundle.movie_vectors.T)
    with pytest.raises(ValueError, match="carry no user vectors"):
        towers.scores(Queries(queries.histories))
    with pytest.raises(RuntimeError, match="not indexed"):
        TowerSource(bundle.movie_vectors).scores(queries)
    with pytest.raises(ValueError, match="5 movie vectors for a catalogue of"):
        TowerSource(bundle.movie_vectors[:5]).index(bundle.train_ratings, bundle.space)


def test_similar_leaves_the_movie_out_and_pads_nothing(sources, bundle):
    rows, cosines = sources["towers"].similar(3, bundle.space.n_catalog + 5)
    assert 3 not in rows and len(rows) == bundle.space.n_catalog - 1 and np.all(np.diff(cosines) <= 0)


def test_recent_popularity_is_the_same_for_everyone(sources, queries, bundle):
    scores = sources["recent_popularity"].scores(queries)
    recent = bundle.space.movie_statistic("log_count_recent")
    np.testing.assert_allclose(scores[0], np.where(recent < 1e-4, 0.0, recent), atol=1e-6)
    assert np.all(scores == scores[0]) and scores.dtype == np.float32 and scores.max() > 0


class Counts:
    """The one thing the recent-popularity source reads from a feature space."""

    def __init__(self, values):
        self.values = np.asarray(values, np.float64)

    def movie_statistic(self, name):
        assert name == "log_count_recent"
        return self.values


def test_recent_popularity_reads_no_count_as_zero_and_refuses_negative_counts():
    """The feature space's float32 scaling brings a count of 0 back as a few 1e-7 either side of 0."""
    assert RecentPopularitySource().index(None, Counts([-2e-7, 3e-7, 0.7])).log_counts.tolist()[:2] == [0.0, 0.0]
    with pytest.raises(ValueError, match="one finite, non-negative value per movie"):
        RecentPopularitySource().index(None, Counts([0.1, -1.0]))


def test_queries_refuse_parts_that_disagree(queries):
    with pytest.raises(ValueError, match="3 histories but live flags of shape"):
        Queries(queries.histories, queries.vectors, np.zeros(2, bool))
    with pytest.raises(ValueError, match="3 histories but 2 user vectors"):
        Queries(queries.histories, queries.vectors[:2])
    assert Queries(queries.histories).live.tolist() == [False, False, False]
