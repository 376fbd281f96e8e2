"""The training stages shared by `make train` and `make tune`: each timed, then every model fitted on one period.

This module's top imports only the standard library (the entry points import it before setting glibc's heap); the
stages import what they use.
"""

from __future__ import annotations

import os
import resource
import time
from contextlib import contextmanager
from typing import Any, NamedTuple

from training.memory import keep_freed_memory


@contextmanager
def stage(name: str, timings: dict):
    print(f"\n=== {name} ===", flush=True)
    keep_freed_memory()  # TensorFlow's generator datasets lower malloc's trim threshold again (training.memory)
    start, cpu = time.perf_counter(), os.times()
    yield
    timings[name] = round(time.perf_counter() - start, 2)
    now = os.times()
    user, system = now.user - cpu.user, now.system - cpu.system  # this process and its threads
    print(
        f"=== {name}: {timings[name]:.1f}s wall, CPU {user:.1f}s user + {system:.1f}s sys "
        f"(peak RSS {peak_rss_mb():.0f} MB) ===",
        flush=True,
    )


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


class Fitted(NamedTuple):
    """Every model of one training period."""

    space: Any  # movierec.features.space.FeatureSpace
    pooled: Any  # the pooled two-tower RetrievalModel
    sequence: Any  # training.fit.SequenceBranch, or None (weight 0)
    retrieval: Any  # the served towers (pooled alone, or both joined)
    vectors: Any  # the served movie vectors (n_catalog, d)
    peers: dict  # fitted sources the score reads (the transitions)
    trained_ranker: Any  # the rating head as trained (the pooled side's vectors)
    ranker: Any  # as served (over the joined vectors)
    scoring: Any  # movierec.scoring.ScoringConfig
    ranking_info: dict


def fit_models(cfg, data, train, users, timings: dict, verbose: int = 1, judge=None) -> Fitted:
    """Features, the towers, the sequence branch, the transitions and the rating head, fitted on `train` (the
    training period, or in a choice pass its fit part); data: movierec.data.prepare's prepared dataset. judge: given
    the feature space, a training.choice.TowerJudge that stops each tower's epochs early (None: cfg's epochs)."""
    from movierec.features.space import FeatureSpace
    from movierec.retrievers.transitions import TransitionRetriever
    from movierec.scoring import ScoringConfig
    from training.fit import fit_ranker, fit_retrieval, fit_sequence, movie_vectors, served_ranker, served_towers

    with stage("features", timings):
        space = FeatureSpace.fit(
            train, users, data.movies, cfg.history_length, cfg.recent_days, description=data.description
        )
        print(f"vocabularies: {space.vocab_sizes}")
    judged = judge(space) if judge is not None else None

    def stopper(kind: str):
        return None if judged is None else judged.stopper(kind)

    with stage("retrieval", timings):
        pooled = fit_retrieval(space, train, cfg, verbose=verbose, early_stopping=stopper("retrieval"))
    with stage("sequence retrieval", timings):
        sequence = None
        if cfg.sequence.weight > 0:
            sequence = fit_sequence(space, train, cfg, verbose=verbose, early_stopping=stopper("sequence"))
        retrieval = served_towers(pooled, sequence, cfg, space)
        vectors = movie_vectors(retrieval.movie_tower, space)
        print(f"served vectors: {vectors.shape[1]} wide, sequence weight {cfg.sequence.weight}")
    with stage("transitions", timings):  # the transition term, fitted once: served, evaluated and saved as a peer
        peers: dict = {}
        if cfg.transitions.weight > 0:
            chain = TransitionRetriever(**cfg.transitions.retriever_settings()).index(train, space)
            peers[chain.name] = chain
            print(f"transitions: {chain.pairs:,} movie pairs, weight {cfg.transitions.weight}")
    with stage("ranking", timings):
        pooled_vectors = vectors if sequence is None else movie_vectors(pooled.movie_tower, space)
        trained_ranker, like, ranking_info = fit_ranker(  # on the pooled side's vectors
            space, train, pooled.user_tower, pooled_vectors, cfg, data.description, verbose=verbose
        )
        ranker = served_ranker(trained_ranker, vectors.shape[1], sequence is not None, cfg)
        print(
            f"ranker: best epoch {ranking_info['best_epoch']}, {rating_head_line(ranking_info)}, "
            f"then {ranking_info['closing_epochs']} closing epoch(s) over the whole period"
        )
    scoring = ScoringConfig.from_train_config(cfg, like)
    return Fitted(space, pooled, sequence, retrieval, vectors, peers, trained_ranker, ranker, scoring, ranking_info)


def rating_head_line(info: dict) -> str:
    """The rating head's choices on the validation period, in one line."""
    reg, scale = info["bias_regularisation"], info["residual_scale"]
    return (
        f"bias model regularisation user {reg['reg_user']:g} / movie {reg['reg_movie']:g}; residual scale known "
        f"{scale['known']:g} / unknown {scale['unknown']:g}; RMSE {info['val_rmse']:.4f} vs bias model "
        f"{info['val_rmse_bias_model']:.4f} on {info['validation_ratings']:,} ratings"
    )
