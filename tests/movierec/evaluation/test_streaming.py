"""The streaming protocol: no rating reaches the model before the one it predicts, exclusion, metrics by hand, sample."""

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest

from movierec.artifacts import load_bundle
from movierec.data.split import chronological_split
from movierec.datasets import ml1m
from movierec.evaluation.streaming import (
    build_timeline,
    excluded_rows,
    hit_summary,
    sample_events,
    streaming_evaluate,
)
from movierec.features.space import FeatureSpace
from movierec.recommender import Recommender
from movierec.retrievers.transitions import TransitionRetriever
from movierec.scoring import ScoringConfig


class Recorder:
    """Wraps a user model: every input row it is fed, in order, and what it returned."""

    def __init__(self, model):
        self.model, self.inputs, self.outputs = model, [], []

    def __call__(self, inputs):
        out = self.model(inputs)
        self.inputs.append({key: np.array(value) for key, value in inputs.items()})
        self.outputs.append(np.array(out))
        return out

    def reset(self):
        self.inputs, self.outputs = [], []

    def rows(self, key: str) -> np.ndarray:
        return np.concatenate([batch[key] for batch in self.inputs])


def fed_history(space, inputs_movies: np.ndarray, inputs_ratings: np.ndarray) -> list[tuple[int, float]]:
    """(movie_id, rating) pairs of one recorded history row, most recent first (empty slots dropped)."""
    used = inputs_movies != 0
    movie_ids = space.movie_ids.inverse_transform(inputs_movies[used])
    return [(int(m), float(r * 2 + 3)) for m, r in zip(movie_ids, inputs_ratings[used], strict=True)]


# ---- a hand-made case: 5 movies whose retrieval order is fixed, users A (known) and C (no training ratings) ----
A, B, C = 1, 2, 3


@pytest.fixture(scope="module")
def tiny(synthetic_data):
    movies = synthetic_data.movies.sort_values("movie_id").head(5).reset_index(drop=True)
    users = synthetic_data.users.sort_values("user_id").head(3).reset_index(drop=True)
    m = movies["movie_id"].tolist()
    rows = [  # (user, movie, rating, timestamp): the first four train, the last four are the test events
        (A, m[0], 5, 1),
        (B, m[1], 4, 2),
        (A, m[2], 3, 3),
        (B, m[0], 2, 4),
        (A, m[1], 4, 5),
        (C, m[2], 5, 6),
        (A, m[4], 1, 7),
        (C, m[0], 4, 8),
    ]
    ratings = pd.DataFrame(rows, columns=["user_id", "movie_id", "rating", "timestamp"])
    split = chronological_split(ratings, test_fraction=0.5)
    space = FeatureSpace.fit(split.train, users, movies, history_length=4, description=synthetic_data.description)
    # retrieval scores = first coordinate: movie row 0 > 1 > 2 > 3 > 4; the ranker predicts 5 x second coordinate
    movie_vectors = np.array([[0.5, 0.1], [0.4, 0.2], [0.3, 0.3], [0.2, 0.4], [0.1, 0.5]], np.float32)
    user_model = Recorder(lambda inputs: np.tile(np.array([[1.0, 0.0]], np.float32), (len(inputs["user_id"]), 1)))
    ranker = lambda inputs: 5.0 * inputs["movie_vector"][:, 1]  # noqa: E731
    # a flat retrieval softmax (temperature 100), so the ranker's preference for later rows decides the final order
    scoring = ScoringConfig(pooled_width=2, temperature=100.0, like_slope=2.0, like_intercept=-3.0)
    rec = built(space, user_model, ranker, movie_vectors, movies, users, split.train, scoring)
    user_model.reset()
    return rec, split, user_model, m


def built(space, user_model, ranker, movie_vectors, movies, users, train, scoring, peers=None) -> Recommender:
    return Recommender.build(
        space=space,
        user_model=user_model,
        ranking_model=ranker,
        movie_vectors=movie_vectors,
        movies=movies,
        users=users,
        train_ratings=train,
        scoring=scoring,
        description=ml1m.DESCRIPTION,
        peers=peers,
    )


def test_hand_made_histories_exclusion_and_ranks(tiny):
    rec, split, recorder, m = tiny
    result = streaming_evaluate(rec, split, retrieve_k=200, sample_size=10, seed=0)
    space = rec.space
    # the model saw each event once, in test order, with what the user rated before it (latest first)
    histories = [fed_history(space, hm, hr) for hm, hr in zip(recorder.rows("history_movies"),
                                                              recorder.rows("history_ratings"), strict=True)]  # fmt: skip
    assert histories == [
        [(m[2], 3.0), (m[0], 5.0)],  # A at t5: training ratings only
        [],  # C at t6: nothing yet
        [(m[1], 4.0), (m[2], 3.0), (m[0], 5.0)],  # A at t7: the earlier test rating comes first
        [(m[2], 5.0)],  # C at t8
    ]
    assert recorder.rows("user_id").tolist() == [
        space.user_ids.transform([A])[0],
        0,
        space.user_ids.transform([A])[0],
        0,
    ]
    # exclusion: every movie rated before the event, never the event's own movie
    timeline = build_timeline(space, split)
    assert excluded_rows(timeline, np.arange(4)).astype(int).tolist() == [
        [1, 0, 1, 0, 0],
        [0, 0, 0, 0, 0],
        [1, 1, 1, 0, 0],
        [0, 0, 1, 0, 0],
    ]
    # retrieval: targets rows 1, 2, 4, 0 behind [row 0 excluded], [rows 0, 1], [row 3], [nothing]
    assert result["ranks"]["retrieval"].tolist() == [0, 2, 1, 0]
    # popularity (training counts 2, 1, 1, 0, 0; ties by catalogue row): the same ranks
    assert result["ranks"]["popularity"].tolist() == [0, 2, 1, 0]
    # two-stage: the ranker puts later rows first, so rows 4, 3 come before each target
    assert result["ranks"]["two_stage"].tolist() == [2, 2, 0, 3]
    stream = result["metrics"]["all_events"]["retrieval"]
    ndcg = [1.0, 1 / math.log2(4), 1 / math.log2(3), 1.0]
    assert stream["ndcg@10"] == pytest.approx(sum(ndcg) / 4)
    assert stream["ndcg@10_seen_users"] == pytest.approx((ndcg[0] + ndcg[2]) / 2)
    assert stream["ndcg@10_unknown_users"] == pytest.approx((ndcg[1] + ndcg[3]) / 2)
    assert stream["hr@10"] == 1.0 and stream["events_unknown_users"] == 2
    two_stage = result["metrics"]["sample_events"]["two_stage"]
    assert two_stage["ndcg@10"] == pytest.approx((2 / math.log2(4) + 1.0 + 1 / math.log2(5)) / 4)
    assert result["metrics"]["two_stage_events"] == {"kind": "all", "events": 4, "seed": None}
    # the liked events (rated 4 or 5): 0, 1 and 3; event 2, A's 1-star rating of m[4], is left out
    liked = result["metrics"]["liked_sample_events"]
    assert result["metrics"]["liked_threshold"] == 4.0
    assert liked["retrieval"]["events"] == 3 and liked["retrieval"]["events_unknown_users"] == 2
    assert liked["retrieval"]["ndcg@10"] == pytest.approx((1.0 + 1 / math.log2(4) + 1.0) / 3)
    assert liked["two_stage"]["ndcg@10"] == pytest.approx((2 / math.log2(4) + 1 / math.log2(5)) / 3)


def test_hit_summary_by_hand():
    ranks = np.array([0, 9, 10, 150])
    known = np.array([True, True, False, False])
    out = hit_summary(ranks, known)
    assert out["hr@10"] == 0.5 and out["hr@100"] == 0.75
    assert out["ndcg@10"] == pytest.approx((1 + 1 / math.log2(11)) / 4)
    assert out["hr@10_unknown_users"] == 0.0 and out["hr@100_unknown_users"] == 0.5
    assert out["ndcg@10_seen_users"] == pytest.approx((1 + 1 / math.log2(11)) / 2)
    assert math.isnan(hit_summary(ranks, np.ones(4, bool))["hr@10_unknown_users"])


def test_sample_is_fixed_by_its_seed():
    first, info = sample_events(1000, 50, seed=7)
    again, _ = sample_events(1000, 50, seed=7)
    other, _ = sample_events(1000, 50, seed=8)
    assert first.tolist() == again.tolist() and first.tolist() != other.tolist()
    assert len(set(first.tolist())) == 50 and np.all(np.diff(first) > 0) and first.max() < 1000
    assert info == {"kind": "sample", "events": 50, "seed": 7}
    assert sample_events(30, 50, seed=7)[0].tolist() == list(range(30))
    with pytest.raises(ValueError, match="at least 1"):
        sample_events(30, 0, seed=7)


# ---- the synthetic bundle: the real models on a few thousand events --------------------------------------------
@pytest.fixture(scope="module")
def streamed(synthetic_bundle, synthetic_data):
    bundle = load_bundle(synthetic_bundle)
    recorder = Recorder(bundle.user_model)
    towers_alone = dataclasses.replace(  # the towers' score alone, at the trained weight for every event
        bundle.scoring, live_weight=bundle.scoring.sequence_weight, transition_weight=0.0, popularity_weight=0.0
    )
    rec = built(
        bundle.space,
        recorder,
        bundle.ranking_model,
        bundle.movie_vectors,
        bundle.movies,
        bundle.users,
        bundle.train_ratings,
        towers_alone,
    )
    recorder.reset()
    split = chronological_split(synthetic_data.ratings, bundle.manifest["config"]["test_fraction"])
    result = streaming_evaluate(rec, split, sample_size=200, seed=3, chunk_events=500)
    return rec, split, recorder, result


def timeline_of(split) -> pd.DataFrame:
    """Every rating with its position in the chronological order (training period first)."""
    ordered = pd.concat([split.train, split.test], ignore_index=True)
    return ordered.assign(position=np.arange(len(ordered)))


def test_no_rating_reaches_the_model_before_the_rating_it_predicts(streamed):
    rec, split, recorder, _ = streamed
    space, test = rec.space, split.test
    timeline = timeline_of(split)
    movies, ratings = recorder.rows("history_movies"), recorder.rows("history_ratings")
    assert len(movies) == len(test)  # one row per event, in test order
    by_user = {u: frame for u, frame in timeline.groupby("user_id")}
    for i, event in enumerate(test.itertuples(index=False)):
        mine = by_user[event.user_id]
        now = len(split.train) + i
        earlier = mine.loc[mine["position"] < now]
        fed = fed_history(space, movies[i], ratings[i])
        allowed = set(zip(earlier["movie_id"].astype(int), earlier["rating"].astype(float), strict=True))
        assert set(fed) <= allowed, f"event {i}: a rating that is not an earlier rating of user {event.user_id}"
        assert event.movie_id not in {movie for movie, _ in fed}, f"event {i}: its own movie is in the history"
        # and exactly the latest history_length earlier ratings (of movies known to training), most recent first
        latest = earlier.iloc[::-1].head(space.history_length)
        expected = [(int(mv), float(r)) for mv, r in zip(latest["movie_id"], latest["rating"], strict=True)]
        assert fed == [pair for pair in expected if pair[0] in space.movie_ids], f"event {i}"


def test_event_inputs_match_the_serving_profile_path(streamed):
    rec, split, recorder, _ = streamed
    space, test = rec.space, split.test
    timeline = timeline_of(split)
    rows = {key: recorder.rows(key) for key in recorder.inputs[0]}
    cold_seen = set()
    for i in np.linspace(0, len(test) - 1, 25).astype(int):
        event = test.iloc[i]
        earlier = timeline.loc[
            (timeline["user_id"] == event["user_id"]) & (timeline["position"] < len(split.train) + i)
        ]
        users = rec.contexts.users
        user = users.loc[users["user_id"] == event["user_id"]].iloc[0]
        expected = space.profile_inputs(
            str(user["gender"]), int(user["age"]), int(user["occupation"]),
            earlier["movie_id"].to_numpy(), earlier["rating"].to_numpy(), user_id=int(event["user_id"]),
        )  # fmt: skip
        cold_seen.add(int(expected["user_id"][0]) == 0)
        for key, value in expected.items():
            np.testing.assert_allclose(rows[key][i], value[0], rtol=1e-6, err_msg=f"event {i}, input {key}")
    assert cold_seen == {True, False}  # both kinds of users were compared


def test_ranks_exclude_everything_rated_before(streamed):
    rec, split, recorder, result = streamed
    timeline = timeline_of(split)
    vectors = np.concatenate(recorder.outputs)
    rows = rec.space.catalog_rows(timeline["movie_id"].to_numpy())
    for i in range(0, len(split.test), 7):
        event = split.test.iloc[i]
        mine = timeline.loc[(timeline["user_id"] == event["user_id"]).to_numpy()]
        before = set(rows[mine.index[mine["position"] < len(split.train) + i]])
        scores = rec.scorer.towers.movie_vectors @ vectors[i]
        target = int(rec.space.catalog_rows([event["movie_id"]])[0])
        ahead = [r for r in range(len(scores)) if r not in before and scores[r] > scores[target]]
        assert result["ranks"]["retrieval"][i] == len(ahead), f"event {i}"


def test_streaming_metrics_and_sample_record(streamed):
    _, split, _, result = streamed
    metrics = result["metrics"]
    assert metrics["events"]["all"] == len(split.test)
    assert metrics["two_stage_events"] == {"kind": "sample", "events": 200, "seed": 3}
    assert len(result["ranks"]["two_stage"]) == 200
    for table in ("all_events", "sample_events"):
        for row in metrics[table].values():
            assert 0.0 <= row["ndcg@10"] <= row["hr@10"] <= row["hr@100"] <= 1.0
            assert row["events_seen_users"] > 0 and row["events_unknown_users"] > 0
    assert metrics["sample_events"]["retrieval"]["events"] == 200


def test_static_hit_rates_with_every_test_movie_relevant_by_hand():
    from movierec.evaluation.evaluate import _hit_summary

    ranked = np.arange(24).reshape(2, 12)
    relevant = [{10}, {12, 15, 99}]  # user 1: first hit at rank 11; user 2: hits at ranks 1 and 4 of 3 relevant
    out = _hit_summary(ranked, relevant, np.array([True, False]), 10)
    assert out["hr@10"] == 0.5 and out["hr@100"] == 1.0
    assert out["hr@10_seen_users"] == 0.0 and out["hr@10_unknown_users"] == 1.0
    ideal = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert out["ndcg@10_unknown_users"] == pytest.approx((1 + 1 / math.log2(5)) / ideal)
    assert out["ndcg@10"] == pytest.approx((1 + 1 / math.log2(5)) / ideal / 2)


def test_report_and_summary_show_both_protocols_and_the_reference(streamed, capsys):
    from movierec.evaluation.evaluate import evaluate
    from movierec.evaluation.report import render_markdown
    from training.train import print_summary

    rec, split, _, _ = streamed
    result = evaluate(rec, split, streaming_sample=100, streaming_seed=5)
    metrics = result["metrics"]
    assert metrics["streaming"]["two_stage_events"] == {"kind": "sample", "events": 100, "seed": 5}
    assert set(metrics["static"]) == {"two_tower", "two_stage", "two_stage_formula", "popularity_all", "popularity_30d"}
    for row in metrics["static"].values():
        assert 0.0 <= row["ndcg@10"] <= row["hr@10"] <= row["hr@100"] <= 1.0
    report = render_markdown(result)
    two_stage = metrics["streaming"]["sample_events"]["two_stage"]
    assert "## Streaming protocol" in report and "a fixed sample of 100 events, seed 5" in report
    assert f"| two-stage list, sample | 100 | {two_stage['hr@10']:.4f} | {two_stage['ndcg@10']:.4f} |" in report
    liked = metrics["streaming"]["liked_sample_events"]["two_stage"]
    assert 0 < liked["events"] < 100
    assert f"| two-stage list, sample, rated 4+ | {liked['events']:,} | {liked['hr@10']:.4f} |" in report
    assert "## Reference: Time to Split (Gusak et al., RecSys 2025, monkey0head/time-to-split)" in report
    assert "| streaming | NDCG@10 | 0.10–0.12 |" in report and "| static | HR@100 | ≈ 0.91 |" in report
    print_summary(metrics)
    printed = capsys.readouterr().out
    assert "streaming (" in printed and "two_stage, sample" in printed and "Time to Split" in printed
    assert "two_stage, sample rated 4+" in printed


def test_reference_figures_only_for_the_dataset_they_were_published_on(streamed, capsys):
    from movierec.evaluation.evaluate import evaluate
    from movierec.evaluation.report import render_markdown
    from training.train import print_summary

    rec, split, _, _ = streamed
    result = evaluate(rec, split, streaming_sample=100, streaming_seed=5)
    result["metrics"]["dataset"] = "ml-100k"
    report = render_markdown(result)
    assert "## Streaming protocol" in report and "Time to Split" not in report
    print_summary(result["metrics"])
    printed = capsys.readouterr().out
    assert "reference, SASRec" not in printed and "no published reference for ml-100k" in printed


def test_events_after_a_users_first_test_rating_are_live(tiny):
    rec, split, _, _ = tiny
    timeline = build_timeline(rec.space, split)
    # test events in order: A's first, C's first (no training ratings), A's second, C's second
    np.testing.assert_array_equal(timeline.live(np.arange(4)), [False, False, True, True])


def test_live_events_are_retrieved_with_the_live_weight(tiny):
    """Pooled side (first coordinate) and sequence side (second) order the movies oppositely: an event whose history
    holds earlier test ratings is ranked by the live weight's mix, every other event by the trained one."""
    rec, split, _, m = tiny

    def ranks(live_weight):
        user_model = lambda inputs: np.tile(np.array([[1.0, 0.5]], np.float32), (len(inputs["user_id"]), 1))  # noqa: E731
        scoring = ScoringConfig(
            pooled_width=1, temperature=100.0, like_slope=2.0, like_intercept=-3.0, sequence_weight=0.5,
            live_weight=live_weight,
        )  # fmt: skip
        recommender = built(
            rec.space, user_model, rec.ranker._rank_fn, rec.scorer.towers.movie_vectors, rec.catalogue.movies,
            rec.contexts.users, split.train, scoring,
        )  # fmt: skip
        result = streaming_evaluate(recommender, split, retrieve_k=5, sample_size=4)
        return result["ranks"]["retrieval"], result["metrics"]

    trained, metrics = ranks(0.5)
    live, live_metrics = ranks(1.0)  # live: the sequence side
    np.testing.assert_array_equal(trained[:2], live[:2])  # first test ratings: the trained weight
    np.testing.assert_array_equal(trained[2:], [1, 0])  # A's m4 behind m3; C's m0 first
    np.testing.assert_array_equal(live[2:], [0, 3])  # reversed order: m4 first; m0 last of the four left
    assert metrics["live_weight"] is None and live_metrics["live_weight"] == 1.0
    assert live_metrics["events"]["after_test_ratings"] == 2


class RecordingTransitions(TransitionRetriever):
    """A transition source that records the histories it is given and scores `bonus` for the movie after the
    latest."""

    def __init__(self, bonus: float):
        super().__init__()
        self.bonus, self.batches = bonus, []

    def recent_scores(self, batch):
        self.batches.append(batch)
        out = np.zeros((batch.size, 5), np.float32)
        for owner in range(batch.size):
            rows = batch.rows[batch.owner == owner]
            if len(rows):
                out[owner, (rows[-1] + 1) % 5] = self.bonus
        return out


def test_the_transition_term_sees_each_events_earlier_ratings_oldest_first_and_moves_live_ranks(tiny):
    rec, split, _, m = tiny
    term = RecordingTransitions(bonus=10.0)
    scoring = dataclasses.replace(rec.scorer.config, transition_weight=1.0)
    recommender = built(
        rec.space, rec.contexts._user_fn, rec.ranker._rank_fn, rec.scorer.towers.movie_vectors, rec.catalogue.movies,
        rec.contexts.users, split.train, scoring, peers={"transitions": term},
    )  # fmt: skip
    result = streaming_evaluate(recommender, split, retrieve_k=5, sample_size=4)
    (batch,) = term.batches
    histories = [
        [(int(r), float(v)) for r, v in zip(batch.rows[batch.owner == i], batch.ratings[batch.owner == i], strict=True)]
        for i in range(batch.size)
    ]
    assert histories == [  # catalogue rows are the movies' order: m[i] is row i
        [(0, 5.0), (2, 3.0)],  # A at t5: training ratings
        [],  # C at t6: nothing yet
        [(0, 5.0), (2, 3.0), (1, 4.0)],  # A at t7: then its earlier test rating
        [(2, 5.0)],  # C at t8
    ]
    # without the term the ranks are [0, 2, 1, 0]. The term counts for live events only (earlier test ratings in the
    # history): A at t5 is forecast from training (row 3 would have passed target row 1) and C at t6 has no history;
    # A at t7 -> row 2, rated and excluded; C at t8 -> row 3, now ahead of target row 0
    np.testing.assert_array_equal(result["ranks"]["retrieval"], [0, 2, 1, 1])
