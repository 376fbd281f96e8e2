"""Every retriever judged as the two-tower model is: the static and streaming protocols, same split, same metrics."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from movierec.data.split import Split
from movierec.datasets.description import DatasetDescription
from movierec.evaluation.baselines import BiasModel
from movierec.evaluation.evaluate import _hit_summary, _recall_summary, _relevant_sets
from movierec.evaluation.metrics import mae, ndcg_at_k, precision_at_k, recall_curve, rmse
from movierec.evaluation.streaming import (
    CHUNK_EVENTS,
    DEFAULT_SAMPLE,
    DEFAULT_SEED,
    Timeline,
    build_timeline,
    excluded_rows,
    hit_summary,
    sample_events,
    target_ranks,
)
from movierec.features.space import FeatureSpace
from movierec.retrievers import History, Retriever, histories_of, make_retriever
from movierec.retrievers.source import Queries

CHUNK_USERS = 512


def static_evaluate(
    retriever: Retriever,
    split: Split,
    space: FeatureSpace,
    liked_threshold: float,
    retrieve_k: int = 200,
    final_k: int = 10,
) -> dict:
    """Static protocol as movierec.evaluation.evaluate: each test user's training history gives one list of
    retrieve_k movies (training movies excluded). Recall@10/50/200 with every test movie relevant, NDCG@final_k and
    P@final_k of the first final_k with ratings >= liked_threshold (the dataset's) relevant (users with such a
    rating), HR@10/100 and binary NDCG@final_k with every test movie relevant; split by users with / without training
    ratings."""
    train, test = split.train, split.test
    users = np.unique(test["user_id"].to_numpy())
    known = np.isin(users, train["user_id"].to_numpy())
    test_rows = space.catalog_rows(test["movie_id"].to_numpy())
    relevant = _relevant_sets(test, users, test_rows)
    liked = _relevant_sets(test, users, test_rows, keep=(test["rating"] >= liked_threshold).to_numpy())
    histories = histories_of(train, users)
    k = min(retrieve_k, space.n_catalog)
    top = np.concatenate(
        [
            retriever.top_k(Queries.of(histories[i : i + CHUNK_USERS], space), k)[0]
            for i in range(0, len(users), CHUNK_USERS)
        ]
    )

    def subset(mask: np.ndarray) -> list[set[int]]:
        return [r for r, w in zip(relevant, mask, strict=True) if w]

    curve = recall_curve(top, relevant)
    retrieval = _recall_summary(
        curve, recall_curve(top[known], subset(known)), recall_curve(top[~known], subset(~known))
    )
    has_liked = np.array([len(r) > 0 for r in liked])
    liked_sets = [r for r, w in zip(liked, has_liked, strict=True) if w]
    chosen = top[has_liked, :final_k]
    ndcg = ndcg_at_k(chosen, liked_sets, final_k)
    known_liked = known[has_liked]
    final_list = {
        f"ndcg@{final_k}": float(ndcg.mean()),
        f"precision@{final_k}": float(precision_at_k(chosen, liked_sets, final_k).mean()),
        f"ndcg@{final_k}_seen_users": float(ndcg[known_liked].mean()) if known_liked.any() else float("nan"),
        f"ndcg@{final_k}_unknown_users": float(ndcg[~known_liked].mean()) if (~known_liked).any() else float("nan"),
    }
    return {
        "retrieval": retrieval,
        "final_list": final_list,
        "hits": _hit_summary(top, relevant, known, final_k),
        "curve": curve.tolist(),
    }


@dataclass(frozen=True)
class StreamingQueries:
    """The streaming protocol's events to score, each with the history before it (built once for every method)."""

    timeline: Timeline
    events: np.ndarray  # event indices scored (all, or the seeded sample of movierec.evaluation.streaming)
    histories: list[History]  # per scored event: everything its user rated before it, in order
    info: dict  # {"kind": "all" | "sample", "events": n, "seed": seed or None}


def streaming_queries(
    split: Split, space: FeatureSpace, sample_size: int | None = DEFAULT_SAMPLE, seed: int = DEFAULT_SEED
) -> StreamingQueries:
    """Events of the streaming protocol (movierec.evaluation.streaming.build_timeline) with their histories: the
    seeded sample of sample_size events (the two-stage list's sample), or every event when sample_size is None."""
    timeline = build_timeline(space, split)
    n = timeline.n_events
    events, info = sample_events(n, n if sample_size is None else sample_size, seed)
    movie_ids, ratings = space.catalog_ids.classes_[timeline.catalog_row].astype(np.int64), timeline.rating
    at = timeline.event_at[events]
    starts = timeline.user_start[at]
    histories = [History(movie_ids[s:a], ratings[s:a]) for s, a in zip(starts.tolist(), at.tolist(), strict=True)]
    return StreamingQueries(timeline, events, histories, info)


def streaming_ranks(retriever: Retriever, queries: StreamingQueries, chunk_events: int = CHUNK_EVENTS) -> np.ndarray:
    """0-based rank of each scored event's movie among the movies its user had not rated before it
    (movierec.evaluation.streaming.target_ranks: ties in catalogue order)."""
    timeline, events = queries.timeline, queries.events
    ranks = np.empty(len(events), np.int64)
    for start in range(0, len(events), chunk_events):
        stop = min(start + chunk_events, len(events))
        chunk = events[start:stop]
        scores = retriever.scores(Queries.of(queries.histories[start:stop], retriever.space))
        ranks[start:stop] = target_ranks(scores, timeline.target_row[chunk], excluded_rows(timeline, chunk))
    return ranks


def bias_rating_errors(split: Split, description: DatasetDescription) -> dict:
    """RMSE/MAE of movierec.evaluation.baselines.BiasModel on every test rating, as the main report computes it."""
    train, test = split.train, split.test
    scale = (description.rating_min, description.rating_max)
    predicted = BiasModel().fit(train).predict(test["user_id"].to_numpy(), test["movie_id"].to_numpy(), scale)
    actual = test["rating"].to_numpy()
    known = test["user_id"].isin(train["user_id"]).to_numpy()
    return {
        "rmse": rmse(predicted, actual),
        "mae": mae(predicted, actual),
        "rmse_seen_users": rmse(predicted[known], actual[known]),
        "rmse_unknown_users": rmse(predicted[~known], actual[~known]),
    }


def evaluate_retriever(
    retriever: Retriever,
    split: Split,
    space: FeatureSpace,
    queries: StreamingQueries,
    liked_threshold: float,
    retrieve_k: int = 200,
    final_k: int = 10,
) -> dict:
    """One fitted retriever on both protocols, with the seconds each took."""
    started = time.perf_counter()
    static = static_evaluate(retriever, split, space, liked_threshold, retrieve_k, final_k)
    static_seconds = time.perf_counter() - started
    started = time.perf_counter()
    ranks = streaming_ranks(retriever, queries)
    streaming = hit_summary(ranks, queries.timeline.known[queries.events])
    return {
        "static": static,
        "streaming": streaming,
        "seconds": {"static": round(static_seconds, 2), "streaming": round(time.perf_counter() - started, 2)},
    }


def evaluate_peers(
    names: Sequence[str],
    split: Split,
    space: FeatureSpace,
    description: DatasetDescription,
    sample_size: int | None = DEFAULT_SAMPLE,
    seed: int = DEFAULT_SEED,
    retrieve_k: int = 200,
    final_k: int = 10,
    log: Callable[[str], None] = print,
    fitted: dict[str, Retriever] | None = None,
) -> dict:
    """Fit each named retriever on split.train and evaluate it on both protocols (streaming on the same events for
    every method) with the dataset's liked threshold and rating scale (its description). Returns {"methods": {name:
    {...}}, "streaming_events": {...}, "counts": {...}}; the fitted retrievers go into `fitted` when given (to save
    them in a bundle), and one already there is evaluated as it is (fitted once for the served model)."""
    for name in names:
        make_retriever(name)  # an unknown name fails before any work
    queries = streaming_queries(split, space, sample_size, seed)
    methods = {}
    for name in names:
        started = time.perf_counter()
        ready = fitted is not None and name in fitted
        retriever = fitted[name] if ready else make_retriever(name).index(split.train, space)
        seconds = None if ready else time.perf_counter() - started
        methods[name] = _evaluate_one(retriever, split, space, queries, description, retrieve_k, final_k, log, seconds)
        if fitted is not None:
            fitted[name] = retriever
    return _summary(methods, queries, split, space, retrieve_k, final_k)


def evaluate_fitted(
    retrievers: dict[str, Retriever],
    split: Split,
    space: FeatureSpace,
    description: DatasetDescription,
    sample_size: int | None = DEFAULT_SAMPLE,
    seed: int = DEFAULT_SEED,
    retrieve_k: int = 200,
    final_k: int = 10,
    log: Callable[[str], None] = print,
) -> dict:
    """evaluate_peers for retrievers already fitted on split.train (a bundle's peers), in the same form."""
    queries = streaming_queries(split, space, sample_size, seed)
    methods = {
        name: _evaluate_one(retriever, split, space, queries, description, retrieve_k, final_k, log, None)
        for name, retriever in retrievers.items()
    }
    return _summary(methods, queries, split, space, retrieve_k, final_k)


def _evaluate_one(
    retriever: Retriever,
    split: Split,
    space: FeatureSpace,
    queries: StreamingQueries,
    description: DatasetDescription,
    retrieve_k: int,
    final_k: int,
    log: Callable[[str], None],
    index_seconds: float | None,
) -> dict:
    name = retriever.name
    result = evaluate_retriever(retriever, split, space, queries, description.liked_threshold, retrieve_k, final_k)
    if index_seconds is not None:
        result["seconds"] = {"index": round(index_seconds, 2), **result["seconds"]}
    settings = {key: value for key, value in retriever.to_arrays().items() if value.ndim == 0 and key != "retriever"}
    result["settings"] = {key: value.item() for key, value in settings.items()}
    if getattr(retriever, "validation", None):
        result["validation_recall@50"] = {str(key): value for key, value in retriever.validation.items()}
    if name == "bias":
        result["rating"] = bias_rating_errors(split, description)
    s = result["seconds"]
    index = f"index {s['index']:.1f}s, " if "index" in s else ""
    log(f"{name}: {index}static {s['static']:.1f}s, streaming {s['streaming']:.1f}s")
    return result


def _summary(
    methods: dict, queries: StreamingQueries, split: Split, space: FeatureSpace, retrieve_k: int, final_k: int
) -> dict:
    test = split.test
    return {
        "methods": methods,
        "streaming_events": {**queries.info, "of": int(queries.timeline.n_events)},
        "counts": {
            "test_users": int(test["user_id"].nunique()),
            "test_users_unknown": int((~test["user_id"].drop_duplicates().isin(split.train["user_id"])).sum()),
            "test_ratings": int(len(test)),
            "retrieve_k": int(min(retrieve_k, space.n_catalog)),
            "final_k": int(final_k),
        },
    }
