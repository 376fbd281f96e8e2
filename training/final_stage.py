"""The learned final stage: its training examples from models fitted on the fit part, scored on the validation period,
and the head fitted on them listwise (a softmax over each query's retrieved candidates).

Each example is one query as serving meets it, with only what came before its targets: a validation rating predicted
from everything its user rated before it (the streaming protocol; one target), or a validation user forecast from the
fit part alone (the static protocol; every validation movie a target). Its rows are the Scorer's own feature rows
(movierec.scoring.learned) over the query's retrieved candidates. The head is cross-fitted by user (each fold judged
after every epoch by NDCG@10 with a head fitted on the other folds); epoch 0 is the formula (the head's residual starts
at 0), and the head replaces it only when its pooled gain is more than its standard error (a setting). The head learns
P(rated next); the like factor P(liked | rated) multiplies it after, as in the formula, and the judge counts liked
NDCG@10 beside the every-rating figures, as the choice pass's objective does.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np
import pandas as pd

from movierec.data.split import Split, validation_mask
from movierec.evaluation.streaming import (
    build_timeline,
    event_histories,
    event_inputs,
    excluded_rows,
    sample_events,
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
from movierec.scoring.learned import FEATURE_NAMES, FEATURES
from training.choice import FitPart, ValidationUsers, join_sides, split_sides
from training.fit import compile_model, movie_vectors

CHUNK = 1024
NDCG_K = 10


@dataclass
class Examples:
    """Listwise examples: rows (n, k, F) float32, targets (n, k) float32 summing to 1 over each example's targets,
    liked (n, k) bool the targets rated at or above the dataset's liked threshold, user (n,) the query's user id,
    static (n,) whether the example is a static one."""

    rows: np.ndarray
    targets: np.ndarray
    liked: np.ndarray
    user: np.ndarray
    static: np.ndarray

    def take(self, keep: np.ndarray) -> Examples:
        return Examples(self.rows[keep], self.targets[keep], self.liked[keep], self.user[keep], self.static[keep])


class ExampleBuilder:
    """Serving's final-stage inputs computed with models fitted on the fit part (training.stages.Fitted), for the
    mix `scoring` (its sequence weight may differ from the one the towers were joined at: the sides are re-joined)."""

    def __init__(self, models, scoring: ScoringConfig, cfg, fit: pd.DataFrame):
        space = models.space
        self.space, self.k = space, min(cfg.retrieve_k, space.n_catalog)
        self.trained_weight = models.scoring.sequence_weight  # the towers' join (the mix may move it)
        self.pooled_width = models.scoring.pooled_width
        self.weight = scoring.sequence_weight
        pooled, sequence = self._sides(models.vectors)
        peers = dict(models.peers)
        if scoring.transition_weight > 0 and TransitionRetriever.name not in peers:
            peers[TransitionRetriever.name] = TransitionRetriever(**cfg.transitions.retriever_settings()).index(
                fit, space
            )
        self.scorer = build_scorer(scoring, self._joined(pooled, sequence), space, fit, peers)
        self.user_fn = compile_model(models.retrieval.user_tower)
        self.ranker = Ranker(
            OnnxModel(to_onnx(inference_ranker(models.trained_ranker)), "ranking_model.onnx", os.cpu_count() or 1),
            space,
            movie_vectors(models.pooled.movie_tower, space),
        )

    def _sides(self, joined: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        return split_sides(joined, self.pooled_width, self.trained_weight)

    def _joined(self, pooled: np.ndarray, sequence: np.ndarray | None) -> np.ndarray:
        return join_sides(pooled, sequence, self.weight)

    def rows(self, inputs: dict, histories: HistoryBatch, live: np.ndarray, excluded: np.ndarray):
        """(candidates (n, k), feature rows (n, k, F)) of a batch of queries."""
        pooled, sequence = self._sides(self.user_fn(inputs).numpy())
        queries = Queries(histories, self._joined(pooled, sequence), live)
        scores = np.where(excluded, -np.inf, self.scorer.retrieval_scores(queries)).astype(np.float32)
        candidates = top_k_rows(scores, self.k)
        predicted = self.ranker.predict_candidates(inputs, pooled, candidates)
        return candidates, self.scorer.final_features(queries, inputs, scores, candidates, predicted)

    def examples(
        self, fit: pd.DataFrame, validation: pd.DataFrame, events: int, users: int, seed: int, liked_threshold: float
    ) -> Examples:
        """Streaming examples (a seeded sample of `events` validation ratings) and static ones (a seeded sample of
        `users` validation users), keeping those with a target among their candidates."""
        space = self.space
        timeline = build_timeline(space, Split(fit, validation, int(fit["timestamp"].max())))
        chosen, _ = sample_events(timeline.n_events, events, seed)
        base = space.user_inputs(timeline.users)
        parts = []
        for start in range(0, len(chosen), CHUNK):
            batch = chosen[start : start + CHUNK]
            candidates, rows = self.rows(
                event_inputs(space, timeline, base, batch),
                event_histories(timeline, batch),
                timeline.live(batch),
                excluded_rows(timeline, batch),
            )
            hit = (candidates == timeline.target_row[batch][:, None]).astype(np.float32)
            liked = (hit > 0) & (timeline.rating[timeline.event_at[batch]] >= liked_threshold)[:, None]
            user = timeline.users[timeline.event_user[batch]]
            parts.append(Examples(rows, hit, liked, user, np.zeros(len(batch), bool)))
        judged = ValidationUsers.sample(space, fit, validation, users, seed, liked_threshold)
        inputs = space.user_inputs(judged.users)
        for start in range(0, len(judged.users), CHUNK):
            stop = min(start + CHUNK, len(judged.users))
            n = stop - start
            candidates, rows = self.rows(
                {key: value[start:stop] for key, value in inputs.items()},
                HistoryBatch.empty(n),
                np.zeros(n, bool),
                judged.excluded[start:stop],
            )
            hit = np.zeros(candidates.shape, np.float32)
            liked = np.zeros(candidates.shape, bool)
            for i in range(n):
                hit[i] = np.isin(candidates[i], list(judged.relevant[start + i]))
                liked[i] = np.isin(candidates[i], list(judged.liked[start + i]))
            parts.append(Examples(rows, hit, liked, judged.users[start:stop], np.ones(n, bool)))
        fields = ("rows", "targets", "liked", "user", "static")
        every = Examples(*(np.concatenate([getattr(p, f) for p in parts]) for f in fields))
        found = every.targets.sum(axis=1)
        every = every.take(found > 0)
        every.targets /= every.targets.sum(axis=1, keepdims=True)
        return every


def ndcg(logits: np.ndarray, targets: np.ndarray, k: int = NDCG_K) -> np.ndarray:
    """Per example NDCG@k of the candidates ordered by logit (ties in candidate order), every target relevant."""
    order = np.argsort(-logits, axis=1, kind="stable")[:, :k]
    relevant = np.take_along_axis(targets > 0, order, axis=1)
    discount = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = (relevant * discount).sum(axis=1)
    ideal = np.array([discount[: min(int(c), k)].sum() for c in (targets > 0).sum(axis=1)])
    return dcg / ideal


FIGURES = ("static NDCG@10", "static liked NDCG@10", "streaming NDCG@10")  # what the head is judged on


def figures(logits: np.ndarray, examples: Examples) -> np.ndarray:
    """(len(FIGURES), n) per example figures of the candidates ordered by logit, NaN where a figure does not judge
    the example: NDCG@10 of the static examples (every target relevant), of those with a liked target (only liked
    targets relevant), and of the streaming examples."""
    every = ndcg(logits, examples.targets)
    liked = examples.liked.any(axis=1)
    of_liked = np.full(len(every), np.nan)
    of_liked[liked] = ndcg(logits[liked], examples.liked[liked].astype(np.float32))
    static = examples.static
    return np.stack(
        [np.where(static, every, np.nan), np.where(static, of_liked, np.nan), np.where(static, np.nan, every)]
    )


def judge(per_example: np.ndarray) -> float:
    """One figure: the geometric mean of the mean of each figure that judges some example (the choice pass's
    objective, less Recall@200, which the final order cannot change)."""
    means = [np.nanmean(row) for row in per_example if not np.isnan(row).all()]
    return float(math.exp(np.mean(np.log(np.maximum(means, 1e-9)))))


def gain_and_error(now: np.ndarray, base: np.ndarray) -> tuple[float, float]:
    """judge(now) - judge(base) and its standard error from the per-example differences: each example's influence
    on the log of the geometric mean summed over the figures that judge it (delta method; an example judged by two
    figures counts once)."""
    gain = judge(now) - judge(base)
    judged = [row for row in range(len(base)) if not np.isnan(base[row]).all()]
    influence = np.zeros(base.shape[1])
    for row in judged:
        mask = ~np.isnan(base[row])
        diff = now[row, mask] - base[row, mask]
        mean = max(float(base[row, mask].mean()), 1e-9)
        influence[mask] += (diff - diff.mean()) / (mask.sum() * mean * len(judged))
    return gain, judge(base) * math.sqrt(float((influence**2).sum()))


def fit_final_head(examples: Examples, cfg, seed: int, verbose: int = 0):
    """(the final model, record). The head learns a residual of log P(rated next) (the formula's first base
    column) from the examples' targets; the final order adds log P(liked | rated), so that, at 0, it is the formula.
    Cross-fitted by user: for each of cfg.final.folds folds a head is fitted on the other folds' examples and judged
    on its own after every epoch (FIGURES), so every example is judged by a head that never saw its user. The epoch
    count whose pooled figure is best is kept when its gain over epoch 0 (the formula) is more than
    cfg.validation.min_gain_errors standard errors; the head is then refitted on every example for that many epochs.
    Otherwise its residual is 0: the formula."""
    fc = cfg.final
    users = np.unique(examples.user)
    fold = (np.random.default_rng(seed).permutation(len(users)) % fc.folds)[np.searchsorted(users, examples.user)]
    held_out = np.zeros((fc.epochs + 1, len(FIGURES), len(examples.user)))  # each example's figures by epoch
    for f in range(fc.folds):
        held = fold == f
        train, test = examples.take(~held), examples.take(held)
        served, trained = _fitting(train, fc)
        held_out[0][:, held] = figures(_logits(served, test.rows), test)
        for epoch in range(1, fc.epochs + 1):
            _one_epoch(trained, train, fc, verbose)
            held_out[epoch][:, held] = figures(_logits(served, test.rows), test)
        print(
            f"final stage fold {f + 1}/{fc.folds}: held-out figure by epoch "
            + " ".join(f"{judge(held_out[e][:, held]):.4f}" for e in range(fc.epochs + 1)),
            flush=True,
        )
    values = [judge(held_out[e]) for e in range(fc.epochs + 1)]
    best_epoch = int(np.argmax(values))
    gain, error = (0.0, 0.0)
    if best_epoch > 0:
        gain, error = gain_and_error(held_out[best_epoch], held_out[0])
    kept = best_epoch > 0 and gain > cfg.validation.min_gain_errors * error
    model, trained = _fitting(examples, fc)
    if kept:
        for _ in range(best_epoch):
            _one_epoch(trained, examples, fc, verbose)
    times = f"{cfg.validation.min_gain_errors:g} x its standard error"
    figure = "cross-fitted validation figure (geometric mean of " + ", ".join(FIGURES) + ")"
    record = {
        "kept": bool(kept),
        "why": (
            f"after {best_epoch} epochs the {figure} gains {gain:+.4f} over the formula, more than {times} "
            f"{error:.4f}: the learned head orders the candidates"
            if kept
            else (
                f"no epoch count's {figure} gains more over the formula than {times} ({gain:+.4f} after "
                f"{best_epoch}, standard error {error:.4f}): the formula orders the candidates"
            )
        ),
        "epochs": best_epoch if kept else 0,
        "held_out_figure": values,
        "held_out_figures": {
            name: {
                "formula": float(np.nanmean(held_out[0][i])),
                "best_epoch": float(np.nanmean(held_out[best_epoch][i])),
            }
            for i, name in enumerate(FIGURES)
        },
        "gain": gain,
        "standard_error": error,
        "folds": fc.folds,
        "examples": {
            "users": int(len(users)),
            "static": int(examples.static.sum()),
            "streaming": int((~examples.static).sum()),
            "with_liked_targets": int(examples.liked.any(axis=1).sum()),
        },
        "features": list(FEATURE_NAMES),
    }
    return model, record


def _fitting(examples: Examples, fc):
    """(served, trained): a head standardised on the examples' rows, its residual at 0, as served (every base column)
    and as trained (compiled, the rated-next column alone: the liked factor is added after, not learnt away); the
    two share every layer."""
    import keras

    from movierec.models.final import build_final_model, rated_next_view

    flat = examples.rows.reshape(-1, examples.rows.shape[-1])
    served = build_final_model(flat.mean(axis=0), flat.var(axis=0), fc.hidden, fc.dropout)
    trained = rated_next_view(served)
    trained.compile(optimizer=keras.optimizers.Adam(fc.learning_rate), loss=keras.losses.CategoricalCrossentropy(True))
    return served, trained


def _one_epoch(model, examples: Examples, fc, verbose: int) -> None:
    """One listwise epoch; the static examples' total weight is static_weight x the streaming ones'."""
    static = examples.static
    weight = np.where(static, fc.static_weight * (~static).sum() / max(static.sum(), 1), 1.0)
    model.fit(
        {FEATURES: examples.rows},
        examples.targets,
        sample_weight=weight,
        batch_size=fc.batch_size,
        epochs=1,
        shuffle=True,
        verbose=verbose,
    )


def _logits(model, rows: np.ndarray) -> np.ndarray:
    return np.asarray(model.predict({FEATURES: rows}, batch_size=512, verbose=0))


def fit_part(cfg, data, train: pd.DataFrame, users, verbose: int = 1) -> FitPart:
    """Every model fitted on the training period's fit part with cfg's settings (the final stage's own pass when no
    choice pass ran)."""
    from training.stages import fit_models

    is_val = validation_mask(train, cfg.validation)
    fit, validation = train.loc[~is_val], train.loc[is_val]
    print(
        f"final-stage pass: fitted on {len(fit):,} ratings, examples from the validation period's {len(validation):,}"
    )
    return FitPart(fit_models(cfg, data, fit, users, {}, verbose), fit, validation)


def learn_final_stage(part: FitPart, cfg, liked_threshold: float, verbose: int = 0):
    """(the final model, record) for the mix cfg sets, from the fit part's models (FitPart); liked_threshold: the
    dataset's (its description's)."""
    scoring = ScoringConfig.from_train_config(cfg, part.models.scoring.like)
    builder = ExampleBuilder(part.models, scoring, cfg, part.fit)
    examples = builder.examples(part.fit, part.validation, cfg.final.events, cfg.final.users, cfg.seed, liked_threshold)
    print(
        f"final stage: {int((~examples.static).sum()):,} streaming and {int(examples.static.sum()):,} static examples "
        f"with a target among their {builder.k} candidates, {examples.rows.shape[-1]} features each"
    )
    return fit_final_head(examples, cfg, cfg.seed, verbose)


def formula_head():
    """A final model whose residual is 0: it orders the candidates by the formula."""
    from movierec.models.final import build_final_model

    width = len(FEATURE_NAMES)
    return build_final_model(np.zeros(width, np.float32), np.ones(width, np.float32))
