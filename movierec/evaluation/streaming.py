"""The streaming protocol: every test rating predicted from everything its user rated before it, as live serving does."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from movierec.data.split import Split
from movierec.evaluation.baselines import popularity_scores
from movierec.features.space import FeatureSpace
from movierec.recommender import Recommender
from movierec.retrievers.history import HistoryBatch
from movierec.retrievers.source import Queries
from movierec.retrievers.topk import top_k_rows

HIT_KS = (10, 100)
NDCG_K = 10
# Events the two-stage list is scored on (all when fewer): the ranker on every retrieved candidate is the costly
# part; this size keeps the evaluation stage's growth to about a minute on 2 cores on MovieLens-1M.
DEFAULT_SAMPLE = 50_000
DEFAULT_SEED = 0
CHUNK_EVENTS = 2048
FORMULA = "two_stage_formula"  # the two-stage list ordered by the formula alone: the learned final stage's reference


@dataclass(frozen=True)
class Timeline:
    """Each test user's ratings, training period first, then the test period, in the split's order.

    Sequence arrays are grouped by user; within a user, position i came before position i + 1 in the global
    chronological order (the split is a stable sort by timestamp). Event i is test rating i.
    """

    users: np.ndarray  # sorted test user ids
    movie_index: np.ndarray  # per sequence element: movie index of the feature space (0: unknown to training)
    centred: np.ndarray  # per sequence element: centred rating
    rating: np.ndarray  # per sequence element: the rating given (float32)
    catalog_row: np.ndarray  # per sequence element: catalogue row
    user_start: np.ndarray  # per sequence element: where its user's block starts
    event_at: np.ndarray  # per event: its sequence element
    event_user: np.ndarray  # per event: index into users
    target_row: np.ndarray  # per event: catalogue row of the movie rated
    known: np.ndarray  # per event: the user has training ratings
    rated_at: np.ndarray  # (users, catalogue): offset in the user's block of each rated movie, else a large number
    train_count: np.ndarray  # per user: ratings in the training period (the first ones of the user's block)

    @property
    def n_events(self) -> int:
        return len(self.event_at)

    def offsets(self, events: np.ndarray) -> np.ndarray:
        """Each event's offset in its user's block = how many ratings of that user came before it."""
        at = self.event_at[events]
        return at - self.user_start[at]

    def live(self, events: np.ndarray) -> np.ndarray:
        """Whether each event's history holds test-period ratings: ratings given after the training cut-off, what
        serving calls live ratings (movierec.scoring)."""
        return self.offsets(events) > self.train_count[self.event_user[events]]


def build_timeline(space: FeatureSpace, split: Split) -> Timeline:
    """Index the test users' rating sequences (training ratings of other users are never needed)."""
    train, test = split.train, split.test
    users = np.unique(test["user_id"].to_numpy())
    of_test_users = train["user_id"].isin(users).to_numpy()
    train = train.loc[of_test_users]
    position = np.concatenate([np.flatnonzero(of_test_users), len(of_test_users) + np.arange(len(test))])
    frame = pd.DataFrame(
        {
            "user_id": np.concatenate([train["user_id"].to_numpy(), test["user_id"].to_numpy()]),
            "movie_id": np.concatenate([train["movie_id"].to_numpy(), test["movie_id"].to_numpy()]),
            "rating": np.concatenate([train["rating"].to_numpy(), test["rating"].to_numpy()]),
            "position": position,
        }
    )
    order = np.lexsort((frame["position"].to_numpy(), frame["user_id"].to_numpy()))
    seq_user = frame["user_id"].to_numpy()[order]
    catalog_row = space.catalog_rows(frame["movie_id"].to_numpy()[order])
    if np.any(catalog_row < 0):
        raise ValueError(f"movie_id {frame['movie_id'].to_numpy()[order][catalog_row < 0][0]} is not in the catalogue")
    movie_index = space.movie_ids.transform(frame["movie_id"].to_numpy()[order])
    rating = frame["rating"].to_numpy()[order].astype(np.float32)
    centred = np.where(movie_index != 0, space.centre_ratings(rating), 0.0).astype(np.float32)
    user_of = np.searchsorted(users, seq_user)
    starts = np.searchsorted(seq_user, users)
    user_start = starts[user_of]
    inverse = np.empty(len(order), dtype=np.int64)
    inverse[order] = np.arange(len(order))
    event_at = inverse[len(train) :]  # test rows follow the training rows in `frame`
    rated_at = np.full((len(users), space.n_catalog), np.iinfo(np.int32).max, dtype=np.int32)
    offsets = np.arange(len(order)) - user_start
    np.minimum.at(rated_at, (user_of, catalog_row), offsets.astype(np.int32))  # a movie's first rating
    event_user = user_of[event_at]
    return Timeline(
        users=users,
        movie_index=movie_index,
        centred=centred,
        rating=rating,
        catalog_row=catalog_row,
        user_start=user_start,
        event_at=event_at,
        event_user=event_user,
        target_row=catalog_row[event_at],
        known=np.isin(users, split.train["user_id"].to_numpy())[event_user],
        rated_at=rated_at,
        train_count=np.bincount(np.searchsorted(users, train["user_id"].to_numpy()), minlength=len(users)),
    )


def event_inputs(space: FeatureSpace, timeline: Timeline, base: dict, events: np.ndarray) -> dict[str, np.ndarray]:
    """User-tower inputs of events: the user's id index and demographics (`base`, from space.user_inputs of
    timeline.users) and, as history, the latest history_length ratings before the event, slot 0 = most recent."""
    at = timeline.event_at[events]
    slots = at[:, None] - 1 - np.arange(space.history_length)[None, :]
    valid = slots >= timeline.user_start[at][:, None]
    slots = np.where(valid, slots, 0)
    hist_m = np.where(valid, timeline.movie_index[slots], 0)
    hist_r = np.where(valid, timeline.centred[slots], 0.0).astype(np.float32)
    u = timeline.event_user[events]
    return FeatureSpace.assemble_user(  # the feature space's own assembly: the same inputs as profile_inputs
        base["user_id"][u],
        base["gender"][u],
        base["age"][u],
        base["occupation"][u],
        hist_m,
        hist_r,
        np.zeros(len(events), np.float32),  # example age 0: "now", as serving
    )


def event_histories(timeline: Timeline, events: np.ndarray) -> HistoryBatch:
    """Each event's whole history (everything its user rated before it, oldest first), as serving holds it."""
    at = timeline.event_at[events]
    return HistoryBatch.spans(timeline.user_start[at], at, timeline.catalog_row, timeline.rating)


def excluded_rows(timeline: Timeline, events: np.ndarray) -> np.ndarray:
    """(events, catalogue) booleans: movies the event's user rated before it (all of them, any period)."""
    return timeline.rated_at[timeline.event_user[events]] < timeline.offsets(events)[:, None]


def target_ranks(scores: np.ndarray, target_rows: np.ndarray, excluded: np.ndarray) -> np.ndarray:
    """0-based rank of each row's target among its non-excluded catalogue movies, highest score first; equal
    scores are ordered by catalogue row (as a stable sort), so tied popularity counts rank deterministically."""
    scores = np.broadcast_to(scores, excluded.shape)
    target = scores[np.arange(len(target_rows)), target_rows][:, None]
    columns = np.arange(excluded.shape[1])[None, :]
    ahead = (scores > target) | ((scores == target) & (columns < target_rows[:, None]))
    return np.count_nonzero(ahead & ~excluded, axis=1)


def hit_summary(ranks: np.ndarray, known: np.ndarray) -> dict:
    """HR@10, NDCG@10 (one relevant item: 1/log2(rank + 2) in the top 10) and HR@100, for all events and split by
    users with (seen) and without (unknown) training ratings; NaN for an empty group."""
    out = {}
    for suffix, mask in (("", np.ones(len(ranks), bool)), ("_seen_users", known), ("_unknown_users", ~known)):
        r = ranks[mask]
        for k in HIT_KS:
            out[f"hr@{k}{suffix}"] = float(np.mean(r < k)) if len(r) else float("nan")
        gains = np.where(r < NDCG_K, 1.0 / np.log2(r + 2.0), 0.0)
        out[f"ndcg@{NDCG_K}{suffix}"] = float(gains.mean()) if len(r) else float("nan")
        out[f"events{suffix}"] = int(mask.sum())
    return out


def sample_events(n_events: int, size: int, seed: int) -> tuple[np.ndarray, dict]:
    """A fixed, seeded sample of event indices (sorted), or all events when there are no more than `size`."""
    if size < 1:
        raise ValueError(f"the streaming sample size must be at least 1, got {size}")
    if n_events <= size:
        return np.arange(n_events), {"kind": "all", "events": int(n_events), "seed": None}
    chosen = np.sort(np.random.default_rng(seed).choice(n_events, size=size, replace=False))
    return chosen, {"kind": "sample", "events": int(size), "seed": int(seed)}


def same_events(info: dict) -> tuple[int | None, int]:
    """(sample size or None for all events, seed) that draw again the events a `sample_events` info describes: how
    other methods are scored on the two-stage list's events."""
    return (info["events"] if info["kind"] == "sample" else None), (info.get("seed") or 0)


def final_list_ranks(
    recommender: Recommender, queries: Queries, inputs: dict, scores: np.ndarray, targets: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """0-based rank of each target in the two-stage list (retrieve k, the final order as `recommend` gives it) and in
    the same candidates ordered by the formula alone; k when the target was not retrieved. scores: retrieval scores
    with excluded movies at -inf."""
    candidates = top_k_rows(scores, k)
    order, _, predicted = recommender.two_stage.order(queries, inputs, scores, candidates)
    formula = recommender.two_stage.formula_order(scores, candidates, predicted)

    def ranks(by: np.ndarray) -> np.ndarray:
        listed = np.take_along_axis(candidates, by, axis=1) == targets[:, None]
        return np.where(listed.any(axis=1), listed.argmax(axis=1), k)

    return ranks(order), ranks(formula)


def streaming_evaluate(
    recommender: Recommender,
    split: Split,
    retrieve_k: int = 200,
    sample_size: int = DEFAULT_SAMPLE,
    seed: int = DEFAULT_SEED,
    chunk_events: int = CHUNK_EVENTS,
) -> dict:
    """{"metrics": {...}, "ranks": {...}, "sample": event indices}: retrieval order and popularity on every test
    event, and the two-stage list on a seeded sample of events (with retrieval and popularity on the same sample)."""
    space = recommender.space
    timeline = build_timeline(space, split)
    n = timeline.n_events
    base = space.user_inputs(timeline.users)
    popularity = popularity_scores(split.train, space.catalog_rows, space.n_catalog)
    sample, sample_info = sample_events(n, sample_size, seed)
    in_sample = np.zeros(n, bool)
    in_sample[sample] = True
    k = min(retrieve_k, space.n_catalog)
    ranks = {"retrieval": np.empty(n, np.int64), "popularity": np.empty(n, np.int64)}
    two_stage, formula = np.empty(n, np.int64), np.empty(n, np.int64)
    for start in range(0, n, chunk_events):
        events = np.arange(start, min(start + chunk_events, n))
        inputs = event_inputs(space, timeline, base, events)
        vectors = recommender.contexts.vectors(inputs)
        excluded = excluded_rows(timeline, events)
        targets = timeline.target_row[events]
        queries = Queries(event_histories(timeline, events), vectors, timeline.live(events))
        retrieval = recommender.scorer.retrieval_scores(queries)  # the live weight and the history terms, as served
        scores = np.where(excluded, -np.inf, retrieval).astype(np.float32)
        ranks["retrieval"][events] = target_ranks(scores, targets, excluded)
        ranks["popularity"][events] = target_ranks(popularity[None, :], targets, excluded)
        chosen = in_sample[events]
        if chosen.any():
            sub = {key: value[chosen] for key, value in inputs.items()}
            two_stage[events[chosen]], formula[events[chosen]] = final_list_ranks(
                recommender, queries.subset(chosen), sub, scores[chosen], targets[chosen], k
            )
    ranks["two_stage"] = two_stage[sample]
    ranks[FORMULA] = formula[sample]
    known = timeline.known
    live = timeline.live(np.arange(n))
    threshold = recommender.description.liked_threshold
    liked = timeline.rating[timeline.event_at[sample]] >= threshold  # the sampled events the user liked
    metrics = {
        "all_events": {
            "retrieval": hit_summary(ranks["retrieval"], known),
            "popularity_all": hit_summary(ranks["popularity"], known),
        },
        "sample_events": {
            "retrieval": hit_summary(ranks["retrieval"][sample], known[sample]),
            "two_stage": hit_summary(ranks["two_stage"], known[sample]),
            FORMULA: hit_summary(ranks[FORMULA], known[sample]),
            "popularity_all": hit_summary(ranks["popularity"][sample], known[sample]),
        },
        # the same sample's events rated at or above the dataset's liked threshold: the retrieval order ranks what
        # the user rates next, the two-stage list also what they will like, so it moves down movies rated low
        "liked_sample_events": {
            "retrieval": hit_summary(ranks["retrieval"][sample][liked], known[sample][liked]),
            "two_stage": hit_summary(ranks["two_stage"][liked], known[sample][liked]),
            FORMULA: hit_summary(ranks[FORMULA][liked], known[sample][liked]),
        },
        "liked_threshold": float(threshold),
        "events": {
            "all": int(n),
            "seen_users": int(known.sum()),
            "unknown_users": int((~known).sum()),
            "after_test_ratings": int(live.sum()),
        },
        "live_weight": None if recommender.scorer.live is None else recommender.scorer.live.live_weight,
        "two_stage_events": sample_info,
        "retrieve_k": int(k),
    }
    return {"metrics": metrics, "ranks": ranks, "sample": sample}
