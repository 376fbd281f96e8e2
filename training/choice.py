"""The choice pass: each tower's epochs stopped early on the validation period, then the candidate sources' mix chosen
there by Optuna in seconds.

The models are fitted on the fit part (the training period before its validation period); each candidate mix is
scored through the core's own Scorer (movierec.scoring) on the validation period's users (the static protocol: their
fit-part history, every validation movie relevant, and the liked ones) and on a sample of its ratings (the streaming
protocol: each forecast from everything its user rated before it). What each query costs once (tower vectors, the
rating head's predictions for the whole catalogue) is computed once; a mix then costs a matrix product and a top-K.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from movierec.data.split import Split, validation_mask
from movierec.evaluation.metrics import ndcg_at_k, recall_per_user
from movierec.evaluation.streaming import (
    build_timeline,
    event_histories,
    event_inputs,
    excluded_rows,
    sample_events,
    target_ranks,
)
from movierec.models.export import to_onnx
from movierec.models.ranking import inference_ranker
from movierec.models.runtime import OnnxModel
from movierec.recommender.ranker import Ranker
from movierec.retrievers.history import HistoryBatch
from movierec.retrievers.source import Queries
from movierec.retrievers.topk import top_k_rows
from movierec.retrievers.transitions import TransitionRetriever
from movierec.scoring import ScoringConfig, build_scorer
from training.fit import EarlyStopping, compile_model, movie_vectors

# the mix searched: each weight's range (the TrainConfig key it sets)
MIX_RANGES = {
    "sequence.weight": (0.0, 0.6),
    "sequence.live_weight": (0.0, 1.0),
    "transitions.weight": (0.0, 16.0),
    "popularity.weight": (0.0, 0.3),
}
FIGURES = ("recall@200", "ndcg@10", "liked_ndcg@10", "streaming_hr@10")


def objective(figures: dict) -> float:
    """One number to maximise: the geometric mean of the static Recall@200, NDCG@10 (every validation movie
    relevant), liked NDCG@10 and the streaming HR@10, so a relative gain counts the same on each."""
    values = [max(figures[name], 1e-9) for name in FIGURES]
    return float(math.exp(sum(math.log(v) for v in values) / len(values)))


def split_sides(joined: np.ndarray, pooled_width: int, weight: float) -> tuple[np.ndarray, np.ndarray | None]:
    """The pooled and sequence unit vectors inside served vectors joined at `weight` (no sequence side at 0)."""
    if weight == 0:
        return joined, None
    return joined[:, :pooled_width] / math.sqrt(1.0 - weight), joined[:, pooled_width:] / math.sqrt(weight)


def join_sides(pooled: np.ndarray, sequence: np.ndarray | None, weight: float) -> np.ndarray:
    """Served vectors joined at `weight` from the two sides' unit vectors (the pooled side alone at 0)."""
    if not weight:
        return np.ascontiguousarray(pooled, np.float32)
    return np.hstack([pooled * math.sqrt(1.0 - weight), sequence * math.sqrt(weight)]).astype(np.float32)


@dataclass(frozen=True)
class ValidationUsers:
    """A seeded sample of the validation period's users, as the static protocol judges them: what they rated in the
    fit part (excluded), their validation movies (relevant) and the liked ones, as catalogue rows."""

    users: np.ndarray
    excluded: np.ndarray  # (users, catalogue) booleans
    relevant: list[set[int]]
    liked: list[set[int]]

    @classmethod
    def sample(cls, space, fit, validation, size: int, seed: int, liked_threshold: float) -> ValidationUsers:
        users = np.unique(validation["user_id"].to_numpy())
        users = np.sort(np.random.default_rng(seed).choice(users, size=min(size, len(users)), replace=False))
        seen = fit.loc[fit["user_id"].isin(users)]
        excluded = np.zeros((len(users), space.n_catalog), bool)
        excluded[
            np.searchsorted(users, seen["user_id"].to_numpy()), space.catalog_rows(seen["movie_id"].to_numpy())
        ] = 1
        mine = validation.loc[validation["user_id"].isin(users)]
        relevant, liked = [set() for _ in users], [set() for _ in users]
        owners = np.searchsorted(users, mine["user_id"].to_numpy())
        rows = space.catalog_rows(mine["movie_id"].to_numpy())
        for owner, row, good in zip(owners, rows, mine["rating"].to_numpy() >= liked_threshold, strict=True):
            relevant[owner].add(int(row))
            if good:
                liked[owner].add(int(row))
        return cls(users, excluded, relevant, liked)


@dataclass
class _Queries:
    pooled: np.ndarray  # (n, d_p) pooled user unit vectors
    sequence: np.ndarray | None  # (n, d_q) sequence-branch user unit vectors
    histories: HistoryBatch
    live: np.ndarray
    excluded: np.ndarray  # (n, catalogue) movies rated before
    predicted: np.ndarray  # (n, catalogue) the rating head's prediction


class ScoringChoice:
    """The validation period's queries, precomputed from models fitted on the fit part (training.stages.Fitted)."""

    def __init__(self, models, cfg, fit: pd.DataFrame, validation: pd.DataFrame, description, sample: int = 1500):
        space = models.space
        self.space, self.fit, self.cfg, self.k = space, fit, cfg, min(cfg.retrieve_k, space.n_catalog)
        self.base = models.scoring
        self.pooled_width = models.scoring.pooled_width
        self.trained_weight = cfg.sequence.weight if models.sequence is not None else 0.0
        self.movie_pooled, self.movie_sequence = self._sides(models.vectors)
        self.transitions = models.peers.get(TransitionRetriever.name)  # fitted on the fit part when weighted
        if self.transitions is None:
            self.transitions = TransitionRetriever(**cfg.transitions.retriever_settings()).index(fit, space)
        user_fn = compile_model(models.retrieval.user_tower)
        ranker = Ranker(
            OnnxModel(to_onnx(inference_ranker(models.trained_ranker)), "ranking_model.onnx", os.cpu_count() or 1),
            space,
            movie_vectors(models.pooled.movie_tower, space),
        )
        every = np.arange(space.n_catalog)

        def queries(inputs: dict, histories: HistoryBatch, live: np.ndarray, excluded: np.ndarray) -> _Queries:
            pooled, sequence = self._sides(user_fn(inputs).numpy())
            predicted = np.stack(
                [
                    ranker.predict_candidates(
                        {key: value[i : i + 1] for key, value in inputs.items()}, pooled[i : i + 1], every[None, :]
                    )[0]
                    for i in range(len(pooled))
                ]
            )
            return _Queries(pooled, sequence, histories, live, excluded, predicted)

        # static: validation users (a seeded sample), from their fit-part history
        judged = ValidationUsers.sample(space, fit, validation, sample, cfg.seed, description.liked_threshold)
        self.relevant, self.liked = judged.relevant, judged.liked
        n = len(judged.users)
        self.static = queries(
            space.user_inputs(judged.users), HistoryBatch.empty(n), np.zeros(n, bool), judged.excluded
        )
        # streaming: a seeded sample of validation ratings, each from everything its user rated before it
        timeline = build_timeline(space, Split(fit, validation, int(fit["timestamp"].max())))
        events, _ = sample_events(timeline.n_events, sample, cfg.seed)
        inputs = event_inputs(space, timeline, space.user_inputs(timeline.users), events)
        self.targets = timeline.target_row[events]
        self.stream = queries(
            inputs, event_histories(timeline, events), timeline.live(events), excluded_rows(timeline, events)
        )

    def _sides(self, joined: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        return split_sides(joined, self.pooled_width, self.trained_weight)

    def config(self, mix: dict) -> ScoringConfig:
        """The ScoringConfig of a mix (TrainConfig keys; those left out keep the fitted models' values)."""
        weight = mix.get("sequence.weight", self.base.sequence_weight) if self.trained_weight else 0.0
        return ScoringConfig(
            pooled_width=self.pooled_width if weight else self.movie_pooled.shape[1],
            temperature=self.base.temperature,
            like_slope=self.base.like_slope,
            like_intercept=self.base.like_intercept,
            sequence_weight=weight,
            live_weight=mix.get("sequence.live_weight", self.base.live_weight) if weight else 0.0,
            transition_weight=mix.get("transitions.weight", self.base.transition_weight),
            popularity_weight=mix.get("popularity.weight", self.base.popularity_weight),
        )

    def _joined(self, pooled: np.ndarray, sequence: np.ndarray | None, weight: float) -> np.ndarray:
        return join_sides(pooled, sequence, weight)

    def _lists(self, scorer, q: _Queries, weight: float) -> tuple[np.ndarray, np.ndarray]:
        """(candidates (n, k), final list (n, 10)) of each query, as the two-stage recommend orders them."""
        vectors = self._joined(q.pooled, q.sequence, weight)
        queries = Queries(q.histories, vectors, q.live)
        scores = np.where(q.excluded, -np.inf, scorer.retrieval_scores(queries)).astype(np.float32)
        candidates = top_k_rows(scores, self.k)
        predicted = np.take_along_axis(q.predicted, candidates, axis=1)
        final = scorer.final_scores(queries, {}, scores, candidates, predicted)  # the formula (no final model here)
        order = top_k_rows(final, min(self.cfg.final_k, self.k))
        return candidates, np.take_along_axis(candidates, order, axis=1)

    def per_query(self, mix: dict) -> dict[str, np.ndarray]:
        """Each validation query's figures of a mix: per static user Recall@k, NDCG@10 and liked NDCG@10 (NaN for a
        user with no liked movie), per streaming event its hit at 10."""
        config = self.config(mix)
        weight = config.sequence_weight
        movies = self._joined(self.movie_pooled, self.movie_sequence, weight)
        peers = {TransitionRetriever.name: self.transitions}
        scorer = build_scorer(config, movies, self.space, self.fit, peers)
        candidates, final = self._lists(scorer, self.static, weight)
        has_liked = np.array([len(s) > 0 for s in self.liked])
        liked = np.full(len(final), np.nan)
        liked[has_liked] = ndcg_at_k(final[has_liked], [s for s in self.liked if s], self.cfg.final_k)
        _, stream_final = self._lists(scorer, self.stream, weight)
        return {
            "recall@200": recall_per_user(candidates, self.relevant, self.k).astype(np.float64),
            "ndcg@10": ndcg_at_k(final, self.relevant, self.cfg.final_k).astype(np.float64),
            "liked_ndcg@10": liked,
            "streaming_hr@10": (stream_final == self.targets[:, None]).any(axis=1).astype(np.float64),
        }

    def figures(self, mix: dict) -> dict:
        """The four validation figures of a mix."""
        return means(self.per_query(mix))

    def halves(self, seed: int) -> tuple[dict, dict]:
        """Two seeded halves of the static users and of the streaming events, as per_query masks: the mix is searched
        on the first and confirmed on the second."""
        rng = np.random.default_rng(seed)
        first = {"static": rng.random(len(self.relevant)) < 0.5, "stream": rng.random(len(self.targets)) < 0.5}
        return first, {kind: ~mask for kind, mask in first.items()}

    def choose(self, trials: int, seed: int, start: dict, min_gain_errors: float) -> tuple[dict, dict, dict, dict]:
        """(chosen mix, its figures, the starting mix's figures, the confirmation): `trials` Optuna TPE trials
        (seeded, the first being `start`, the current settings) on one half of the validation queries; the best mix
        is chosen only when its gain over `start` on the other half is more than min_gain_errors standard errors."""
        import optuna

        ranges = {key: value for key, value in MIX_RANGES.items() if self.trained_weight or "sequence" not in key}
        sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=min(10, max(trials // 3, 1)))
        study = optuna.create_study(direction="maximize", sampler=sampler)
        study.enqueue_trial({key: start[key] for key in ranges})
        search, confirm = self.halves(seed)
        found: dict[int, dict] = {}

        def score(trial) -> float:
            mix = {key: trial.suggest_float(key, low, high) for key, (low, high) in ranges.items()}
            found[trial.number] = self.per_query(mix)
            return objective(means(found[trial.number], search))

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        study.optimize(score, n_trials=trials)
        best = study.best_trial
        gain, error = objective_gain(found[best.number], found[0], confirm)
        kept = best.number != 0 and gain > min_gain_errors * error
        confirmation = {
            "searched_objective": float(best.value),
            "searched_start_objective": float(study.trials[0].value),
            "confirmed_gain": gain,
            "confirmed_standard_error": error,
            "kept": bool(kept),
            "why": (
                f"the best mix's objective gain on the other half of the validation queries, {gain:+.4f}, is "
                + ("more" if kept else "not more")
                + f" than {min_gain_errors:g} x its standard error {error:.4f}"
            ),
        }
        chosen = dict(best.params) if kept else {key: start[key] for key in ranges}
        return chosen, means(found[best.number if kept else 0]), means(found[0]), confirmation


def means(per_query: dict[str, np.ndarray], masks: dict | None = None) -> dict[str, float]:
    """The figures of ScoringChoice.per_query's arrays (liked NDCG@10 over users with a liked movie), over the
    queries `masks` marks ({"static": ..., "stream": ...}; None: all)."""
    out = {}
    for name, values in per_query.items():
        if masks is not None:
            values = values[masks["stream" if name == "streaming_hr@10" else "static"]]
        out[name] = float(np.nanmean(values)) if np.isfinite(values).any() else 0.0
    return out


def objective_gain(now: dict, start: dict, masks: dict) -> tuple[float, float]:
    """objective(now) - objective(start) over the masked queries, and its standard error from the paired per-query
    differences (the delta method on the objective's logarithm: each figure's relative change counts a quarter)."""
    a, b = means(now, masks), means(start, masks)
    gain = objective(a) - objective(b)
    static = masks["static"]
    contribution = np.zeros(int(static.sum()))
    for name in ("recall@200", "ndcg@10", "liked_ndcg@10"):
        diff = (now[name] - start[name])[static]
        counted = np.isfinite(diff)
        share = len(diff) / max(int(counted.sum()), 1)  # a liked user's change weighs for the users without one
        contribution += np.where(counted, diff * share, 0.0) / max(b[name], 1e-9) / len(FIGURES)
    stream = (now["streaming_hr@10"] - start["streaming_hr@10"])[masks["stream"]] / max(b["streaming_hr@10"], 1e-9)
    variance = contribution.var(ddof=1) / max(len(contribution), 1) + (stream / len(FIGURES)).var(ddof=1) / max(
        len(stream), 1
    )
    return gain, objective(b) * math.sqrt(variance)


class FitPart(NamedTuple):
    """Models fitted on the training period's fit part, with the two parts."""

    models: Any  # training.stages.Fitted
    fit: pd.DataFrame
    validation: pd.DataFrame


class TowerJudge:
    """How a choice pass stops the towers' epochs early, each on the protocol it serves: the pooled towers by their
    static Recall@k on a seeded sample of the validation period's users (from their fit-part history), the sequence
    branch (which weighs most for users rating right now) by its streaming HR@10 on a seeded sample of the
    validation period's ratings (each from everything its user rated before it). A tuning trial's report(step,
    value) hears every epoch's figure and may prune it."""

    STEP = {"retrieval": 0, "sequence": 100}  # a tuning trial's report steps: the sequence branch's come after

    def __init__(self, space, fit, validation, k: int, sample: int, seed: int, report=None, patience: int = 2):
        self.judged = ValidationUsers.sample(space, fit, validation, sample, seed, liked_threshold=np.inf)
        self.space, self.k, self.report, self.patience = space, min(k, space.n_catalog), report, patience
        self.inputs = space.user_inputs(self.judged.users)
        timeline = build_timeline(space, Split(fit, validation, int(fit["timestamp"].max())))
        events, _ = sample_events(timeline.n_events, 2 * sample, seed)
        self.event_inputs = event_inputs(space, timeline, space.user_inputs(timeline.users), events)
        self.event_excluded = excluded_rows(timeline, events)
        self.targets = timeline.target_row[events]
        self.stoppers: dict[str, EarlyStopping] = {}

    def recall(self, user_tower, movie_tower) -> float:
        """Static Recall@k of the towers' order."""
        scores = compile_model(user_tower)(self.inputs).numpy() @ movie_vectors(movie_tower, self.space).T
        scores[self.judged.excluded] = -np.inf
        return float(recall_per_user(top_k_rows(scores, self.k), self.judged.relevant, self.k).mean())

    def hit_rate(self, user_tower, movie_tower, k: int = 10) -> float:
        """Streaming HR@k of the towers' order."""
        scores = compile_model(user_tower)(self.event_inputs).numpy() @ movie_vectors(movie_tower, self.space).T
        return float(np.mean(target_ranks(scores, self.targets, self.event_excluded) < k))

    def stopper(self, kind: str):
        """fit_retrieval's / fit_sequence's early_stopping: an EarlyStopping on the kind's figure, kept as
        stoppers[kind]."""
        figure = self.recall if kind == "retrieval" else self.hit_rate
        name = f"static Recall@{self.k}" if kind == "retrieval" else "streaming HR@10"

        def make(user_tower, movie_tower) -> EarlyStopping:
            def report(epoch: int, value: float) -> None:
                print(f"{kind} epoch {epoch + 1}: validation {name} {value:.4f}", flush=True)
                if self.report is not None:
                    self.report(self.STEP[kind] + epoch, value)

            self.stoppers[kind] = EarlyStopping(lambda: figure(user_tower, movie_tower), self.patience, report)
            return self.stoppers[kind]

        return make

    def epochs(self) -> dict[str, int]:
        """The best epoch of each tower fitted so far."""
        return {kind: stopper.best_epoch for kind, stopper in self.stoppers.items()}


def choice_pass(
    cfg, data, train: pd.DataFrame, users, timings: dict, verbose: int, trials: int, report=None, keep: bool = False
):
    """(cfg with the chosen epochs and mix, record): every model fitted on the training period's fit part, the towers
    stopped early on its validation period (cfg's epochs the most; TowerJudge, whose report a tuning trial passes),
    then the candidate sources' mix chosen there (ScoringChoice, `trials` Optuna trials from cfg's own mix). keep:
    also return the FitPart (the models and the two parts), for the final stage's examples."""
    from training.settings import apply, settable
    from training.stages import fit_models, stage

    is_val = validation_mask(train, cfg.validation)
    fit, validation = train.loc[~is_val], train.loc[is_val]
    print(
        f"choice pass: fitted on {len(fit):,} ratings, judged on the validation period's {len(validation):,} "
        f"ratings of {validation['user_id'].nunique():,} users"
    )
    judges: list[TowerJudge] = []

    def judge(space) -> TowerJudge:
        judges.append(TowerJudge(space, fit, validation, cfg.retrieve_k, 1500, cfg.seed, report))
        return judges[-1]

    models = fit_models(cfg, data, fit, users, timings, verbose, judge=judge)
    epochs = judges[0].epochs()
    print("epochs chosen on the validation period: " + ", ".join(f"{k} {v}" for k, v in epochs.items()))
    with stage("choice of the mix", timings):
        choice = ScoringChoice(models, cfg, fit, validation, data.description)
        current = settable(cfg)
        mix, figures, start, confirmation = choice.choose(trials, cfg.seed, current, cfg.validation.min_gain_errors)
        chosen = apply(cfg, {**mix, **{f"{kind}.epochs": value for kind, value in epochs.items()}}, "the choice pass")
        print(
            "mix chosen on the validation period: "
            + ", ".join(f"{key} {value:.4g}" for key, value in mix.items())
            + f"; objective {objective(figures):.4f} (from {objective(start):.4f} with "
            + ", ".join(f"{key} {current[key]:.4g}" for key in mix)
            + f"): {confirmation['why']}"
        )
    record = {
        "epochs": epochs,
        "tower_validation": {kind: stopper.values for kind, stopper in judges[0].stoppers.items()},
        "mix": mix,
        "figures": figures,
        "objective": objective(figures),
        "start_mix": {key: current[key] for key in mix},
        "start_figures": start,
        "start_objective": objective(start),
        "confirmation": confirmation,
        "trials": trials,
        "fit_ratings": int(len(fit)),
        "validation_ratings": int(len(validation)),
        "validation_users": int(validation["user_id"].nunique()),
        "rating_head": models.ranking_info,
    }
    if keep:
        return chosen, record, FitPart(models, fit, validation)
    return chosen, record
