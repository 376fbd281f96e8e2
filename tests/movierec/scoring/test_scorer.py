"""The Scorer built by build_scorer: each term of the retrieval score alone, for the users it applies to."""

import dataclasses

import numpy as np
import pytest

from movierec.artifacts import load_bundle
from movierec.retrievers.history import HistoryBatch
from movierec.retrievers.source import Queries
from movierec.scoring import build_scorer


@pytest.fixture(scope="module")
def bundle(synthetic_bundle):
    return load_bundle(synthetic_bundle)


def scorer_of(bundle, **weights):
    config = dataclasses.replace(bundle.scoring, **weights)
    return build_scorer(config, bundle.movie_vectors, bundle.space, bundle.train_ratings, bundle.peers)


@pytest.fixture(scope="module")
def queries(bundle):
    """Four users with histories (training ratings of four users), the first and third live."""
    train = bundle.train_ratings
    users = np.sort(train["user_id"].unique())[:4]
    mine = train.loc[train["user_id"].isin(users)].sort_values(["user_id", "timestamp"], kind="stable")
    owner = np.searchsorted(users, mine["user_id"].to_numpy())
    rows = bundle.space.catalog_rows(mine["movie_id"].to_numpy())
    histories = HistoryBatch(4, owner, rows, mine["rating"].to_numpy(np.float32))
    vectors = np.asarray(bundle.user_model(bundle.space.user_inputs(users)))
    return Queries(histories, vectors, np.array([True, False, True, False]))


def test_the_bundle_weighs_every_term(bundle):
    config = bundle.scoring
    assert config.transition_weight > 0 and config.popularity_weight > 0
    assert 0 < config.sequence_weight < 1 and config.live_weight != config.sequence_weight


def test_towers_alone_are_the_inner_product_with_the_movie_vectors(bundle, queries):
    towers = scorer_of(bundle, transition_weight=0.0, popularity_weight=0.0, live_weight=bundle.scoring.sequence_weight)
    assert towers.transitions is None and towers.popularity is None and towers.live is None
    np.testing.assert_allclose(
        towers.retrieval_scores(queries), queries.vectors @ bundle.movie_vectors.T, rtol=1e-6, atol=1e-6
    )


def test_the_transition_term_alone_is_added_for_live_users_only(bundle, queries):
    without = scorer_of(bundle, transition_weight=0.0, popularity_weight=0.0)
    with_term = scorer_of(bundle, popularity_weight=0.0)
    added = with_term.retrieval_scores(queries) - without.retrieval_scores(queries)
    term = bundle.scoring.transition_weight * bundle.peers["transitions"].recent_scores(queries.histories)
    assert term[queries.live].max() > 0
    np.testing.assert_allclose(added[queries.live], term[queries.live], atol=1e-5)
    np.testing.assert_array_equal(added[~queries.live], 0.0)


def test_the_recent_popularity_term_alone_is_added_for_users_without_live_ratings(bundle, queries):
    without = scorer_of(bundle, transition_weight=0.0, popularity_weight=0.0)
    with_term = scorer_of(bundle, transition_weight=0.0)
    added = with_term.retrieval_scores(queries) - without.retrieval_scores(queries)
    recent = bundle.space.movie_statistic("log_count_recent")
    term = bundle.scoring.popularity_weight * np.where(recent < 1e-4, 0.0, recent)
    assert term.max() > 0
    np.testing.assert_allclose(added[~queries.live], np.broadcast_to(term, added[~queries.live].shape), atol=1e-5)
    np.testing.assert_array_equal(added[queries.live], 0.0)


def test_live_users_are_scored_at_the_live_weight(bundle, queries):
    plain = scorer_of(bundle, transition_weight=0.0, popularity_weight=0.0)
    trained = scorer_of(
        bundle, transition_weight=0.0, popularity_weight=0.0, live_weight=bundle.scoring.sequence_weight
    )
    live = plain.retrieval_scores(queries)
    same = trained.retrieval_scores(queries)
    np.testing.assert_array_equal(live[~queries.live], same[~queries.live])
    assert not np.allclose(live[queries.live], same[queries.live])
    rescaled = plain.live.rescale(queries.vectors, queries.live)
    np.testing.assert_allclose(live, rescaled @ bundle.movie_vectors.T, rtol=1e-6, atol=1e-6)


def test_final_scores_read_every_movie_not_excluded(bundle, queries):
    scorer = scorer_of(bundle)
    scores = scorer.retrieval_scores(queries)[:1].astype(np.float64)
    scores[0, :5] = -np.inf
    candidates = np.array([[10, 11, 12]])
    predicted = np.array([[4.0, 2.0, 3.0]])
    final = scorer.final_scores(
        queries.subset([True] + [False] * (queries.size - 1)), {}, scores, candidates, predicted
    )
    np.testing.assert_allclose(
        final, scorer.final.scores(scores[:, [10, 11, 12]], predicted, scorer.final.log_normaliser(scores)[:, None])
    )
    assert np.all(final > 0) and final.sum() < 1  # a share of P(rated next) over the whole catalogue


def test_build_scorer_refuses_what_does_not_fit(bundle):
    with pytest.raises(ValueError, match="no fitted 'transitions' source"):
        build_scorer(bundle.scoring, bundle.movie_vectors, bundle.space, bundle.train_ratings, {})
    width = bundle.movie_vectors.shape[1]
    with pytest.raises(ValueError, match=f"do not fit vectors of {width}"):
        scorer_of(bundle, pooled_width=width)
    with pytest.raises(ValueError, match=f"pooled_width must be the vectors' {width}"):
        scorer_of(bundle, sequence_weight=0.0, live_weight=0.0)
