"""The peers' evaluation: the same protocols as the model's (static and streaming), no look-ahead, every method."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from movierec.data.split import Split
from movierec.datasets import ml1m
from movierec.evaluation.baselines import BiasModel, popularity_scores
from movierec.evaluation.evaluate import _hit_summary, _recall_summary, _relevant_sets
from movierec.evaluation.metrics import ndcg_at_k, recall_curve, rmse
from movierec.evaluation.peers import evaluate_peers, static_evaluate, streaming_queries, streaming_ranks
from movierec.evaluation.streaming import build_timeline, excluded_rows, sample_events, target_ranks
from movierec.retrievers import RETRIEVERS, histories_of, make_retriever
from movierec.retrievers.source import Queries


@pytest.fixture(scope="module")
def fitted(world):
    split, space = world
    return {name: make_retriever(name).index(split.train, space) for name in RETRIEVERS}


def test_static_protocol_is_the_models(world, fitted):
    """Figures recomputed from the retriever's scores the way movierec.evaluation.evaluate ranks the two-tower model:
    one list per test user from their training ratings, training movies masked, the same relevant sets and helpers."""
    split, space = world
    train, test = split.train, split.test
    got = static_evaluate(fitted["bias"], split, space, liked_threshold=4.0, retrieve_k=50, final_k=10)
    users = np.unique(test["user_id"].to_numpy())
    known = np.isin(users, train["user_id"].to_numpy())
    assert (~known).any() and known.any()
    scores = fitted["bias"].scores(Queries.of(histories_of(train, users), space)).astype(np.float64)
    seen = train.loc[train["user_id"].isin(users)]
    scores[
        np.searchsorted(users, seen["user_id"].to_numpy()), space.catalog_rows(seen["movie_id"].to_numpy())
    ] = -np.inf
    ranked = np.argsort(-scores, axis=1, kind="stable")[:, :50]
    rows = space.catalog_rows(test["movie_id"].to_numpy())
    relevant = _relevant_sets(test, users, rows)
    curves = [recall_curve(ranked[mask], [r for r, w in zip(relevant, mask, strict=True) if w]) for mask in
              (np.ones(len(users), bool), known, ~known)]  # fmt: skip
    assert got["retrieval"] == pytest.approx(_recall_summary(*curves), nan_ok=True)
    assert got["hits"] == pytest.approx(_hit_summary(ranked, relevant, known, 10))
    liked = _relevant_sets(test, users, rows, keep=(test["rating"] >= 4).to_numpy())
    has = np.array([len(r) > 0 for r in liked])
    expected = ndcg_at_k(ranked[has, :10], [r for r, w in zip(liked, has, strict=True) if w], 10).mean()
    assert got["final_list"]["ndcg@10"] == pytest.approx(expected)


def test_streaming_popularity_matches_the_streaming_module(world, fitted):
    split, space = world
    queries = streaming_queries(split, space, sample_size=None)
    assert queries.info == {"kind": "all", "events": len(split.test), "seed": None}
    timeline = build_timeline(space, split)
    events = np.arange(timeline.n_events)
    popularity = popularity_scores(split.train, space.catalog_rows, space.n_catalog)
    expected = target_ranks(popularity[None, :], timeline.target_row, excluded_rows(timeline, events))
    assert streaming_ranks(fitted["popularity"], queries, chunk_events=97).tolist() == expected.tolist()


def test_streaming_histories_are_exactly_the_earlier_ratings(world):
    split, space = world
    queries = streaming_queries(split, space, sample_size=150, seed=4)
    assert queries.events.tolist() == sample_events(len(split.test), 150, 4)[0].tolist()
    assert queries.info == {"kind": "sample", "events": 150, "seed": 4}
    ordered = pd.concat([split.train, split.test], ignore_index=True)
    for event, history in zip(queries.events.tolist(), queries.histories, strict=True):
        now = len(split.train) + event
        user = split.test["user_id"].iloc[event]
        earlier = ordered.iloc[:now].loc[lambda f, u=user: f["user_id"] == u]
        assert history.movie_ids.tolist() == earlier["movie_id"].tolist(), f"event {event}"
        assert history.ratings.tolist() == earlier["rating"].astype(float).tolist(), f"event {event}"


def test_no_method_sees_a_rating_at_or_after_the_one_it_predicts(world, fitted):
    """Changing the later test period (ratings flipped, every second event removed) leaves the ranks of every earlier
    event unchanged, for every method; the later events' own ranks do change (the histories are used)."""
    split, space = world
    test = split.test
    middle = int(test["timestamp"].median())
    early = int((test["timestamp"] <= middle).sum())  # the split is chronological: these come first
    late = test.iloc[early:]
    changed = pd.concat([test.iloc[:early], late.iloc[::2].assign(rating=lambda f: 6 - f["rating"])], ignore_index=True)
    other = Split(split.train, changed, split.cutoff_timestamp)
    before = streaming_queries(split, space, sample_size=None)
    after = streaming_queries(other, space, sample_size=None)
    kept = np.concatenate([np.arange(early), early + np.arange(0, len(late), 2)])  # original index of each event
    moved = False
    for name, retriever in fitted.items():
        original, now = streaming_ranks(retriever, before), streaming_ranks(retriever, after)
        assert now[:early].tolist() == original[:early].tolist(), name
        moved |= now[early:].tolist() != original[kept[early:]].tolist()
    assert moved


def test_evaluate_peers_every_method(world):
    split, space = world
    lines = []
    result = evaluate_peers(
        list(RETRIEVERS), split, space, ml1m.DESCRIPTION, sample_size=300, seed=3, retrieve_k=100, log=lines.append
    )
    assert list(result["methods"]) == list(RETRIEVERS) and len(lines) == len(RETRIEVERS)
    assert result["streaming_events"] == {"kind": "sample", "events": 300, "seed": 3, "of": len(split.test)}
    methods = result["methods"]
    for name, r in methods.items():
        assert r["streaming"]["events"] == 300, name
        assert set(r["seconds"]) == {"index", "static", "streaming"}, name
        assert 0.0 <= r["static"]["hits"]["hr@10"] <= r["static"]["hits"]["hr@100"] <= 1.0, name
        assert not math.isnan(r["static"]["retrieval"]["recall@50_unknown_users"]), name
    # the synthetic users have a genre taste: every collaborative method beats popularity on both protocols
    for name in ("item_knn", "user_knn", "mf", "ease"):
        assert methods[name]["static"]["hits"]["hr@10"] > methods["popularity"]["static"]["hits"]["hr@10"], name
        assert methods[name]["streaming"]["hr@10"] > methods["popularity"]["streaming"]["hr@10"], name
    predicted = BiasModel().fit(split.train).predict(split.test["user_id"], split.test["movie_id"], (1.0, 5.0))
    assert methods["bias"]["rating"]["rmse"] == pytest.approx(rmse(predicted, split.test["rating"]))
    assert "rating" not in methods["ease"] and methods["ease"]["settings"]["lam"] > 0
    with pytest.raises(ValueError, match="unknown retriever 'svd'"):
        evaluate_peers(["popularity", "svd"], split, space, ml1m.DESCRIPTION, sample_size=10, log=lines.append)
