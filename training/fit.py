"""Fitting the models: the retrieval towers, joined into the served towers, then the rating ranker.

The pooled and the causal sequence towers are each trained with a full-catalogue softmax; the ranker with early
stopping.
"""

from __future__ import annotations

from typing import NamedTuple

import keras
import numpy as np
import pandas as pd

from movierec.config import TrainConfig
from movierec.data.split import in_last_days
from movierec.datasets.description import DatasetDescription
from movierec.features.sequences import training_windows
from movierec.models.hybrid import hybrid_tower, pooled_side_ranker
from movierec.models.losses import NextAndLaterLoss
from movierec.models.ranking import build_ranking_model
from movierec.models.retrieval import RetrievalModel
from movierec.models.sequence import build_sequence_towers
from movierec.models.towers import build_movie_tower, build_user_tower
from movierec.scoring import LikeCalibration
from training.datasets import (
    RankerRows,
    RankingBatches,
    RetrievalBatches,
    WindowBatches,
    recency_weights,
    retrieval_examples,
)
from training.memory import keep_freed_memory_callback


def compile_model(model):
    """A tf.function over model(inputs, training=False) with a batch-agnostic signature (fast batch inference)."""
    import tensorflow as tf

    spec = {
        name: tf.TensorSpec(shape=(None, *tensor.shape[1:]), dtype=tensor.dtype, name=name)
        for name, tensor in model.input.items()
    }
    function = tf.function(lambda inputs: model(inputs, training=False), input_signature=[spec])
    return lambda inputs: function({name: inputs[name] for name in spec})  # inputs may hold more than it reads


def fit_retrieval(space, train: pd.DataFrame, cfg: TrainConfig, verbose: int = 1) -> RetrievalModel:
    rc = cfg.retrieval
    vocab = space.vocab_sizes
    model = RetrievalModel(
        build_user_tower(vocab, rc),
        build_movie_tower(vocab, rc),
        n_catalog=space.n_catalog,
        n_genres=vocab["genres"],
        n_movie_numeric=vocab["movie_numeric"],
        temperature=rc.temperature,
    )
    model.set_catalog(space.movie_inputs(np.arange(space.n_catalog)))
    weights = recency_weights(
        train["timestamp"].to_numpy(), space.cutoff_timestamp, rc.recency_half_life_days, rc.recency_floor
    )
    batches = RetrievalBatches(space, train, rc.batch_size, cfg.seed, rc.cold_user_rate, weights, rc.example_age)
    model.compile(
        optimizer=keras.optimizers.Adam(rc.learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    model.fit(batches, epochs=rc.epochs, verbose=verbose, callbacks=[keep_freed_memory_callback()])
    return model


class SequenceBranch(NamedTuple):
    """The fitted sequence branch: the model trained on every position, and the tower that reads the latest one."""

    model: RetrievalModel  # user side: the state after every position (what training fits)
    user_tower: keras.Model  # the state after the latest rating (what serving runs); shares every layer


def fit_sequence(space, train: pd.DataFrame, cfg: TrainConfig, verbose: int = 1) -> SequenceBranch:
    """The causal sequence branch: every training rating a target of the ratings its user gave before it, trained
    sequence to sequence (next rating and a random later one) with a catalogue softmax."""
    sc = cfg.sequence
    length = min(sc.history_length, space.history_length)  # the latest slots of the feature space's histories
    vocab = {**space.vocab_sizes, "history_length": length}
    user_tower, states = build_sequence_towers(vocab, sc)
    model = RetrievalModel(
        states,
        build_movie_tower(vocab, sc, name="sequence_movie_tower"),
        n_catalog=space.n_catalog,
        n_genres=vocab["genres"],
        n_movie_numeric=vocab["movie_numeric"],
        temperature=sc.temperature,
    )
    model.set_catalog(space.movie_inputs(np.arange(space.n_catalog)))
    windows = training_windows(space, train, length=length, seed=cfg.seed)
    inputs, targets, weights = retrieval_examples(space, windows, sc, cfg.seed)
    if verbose:
        print(f"{len(windows):,} causal windows of {length} ratings, {int((weights > 0).sum()):,} targets")
    model.compile(optimizer=keras.optimizers.Adam(sc.learning_rate), loss=NextAndLaterLoss(sc.later_weight))
    batches = WindowBatches(inputs, targets, weights, sc.batch_size, cfg.seed)
    model.fit(batches, epochs=sc.epochs, verbose=verbose, callbacks=[keep_freed_memory_callback()])
    return SequenceBranch(model, user_tower)


def served_towers(pooled: RetrievalModel, sequence: SequenceBranch | None, cfg: TrainConfig, space) -> RetrievalModel:
    """The retrieval model serving runs: the pooled towers alone (no sequence branch), or both joined side by side
    (movierec.models.hybrid) with the branch's weight; its temperature is the pooled model's."""
    if sequence is None:
        return pooled
    weight = cfg.sequence.weight
    model = RetrievalModel(
        hybrid_tower(pooled.user_tower, sequence.user_tower, weight, name="hybrid_user_tower"),
        hybrid_tower(pooled.movie_tower, sequence.model.movie_tower, weight, name="hybrid_movie_tower"),
        n_catalog=space.n_catalog,
        n_genres=space.vocab_sizes["genres"],
        n_movie_numeric=space.vocab_sizes["movie_numeric"],
        temperature=cfg.retrieval.temperature,
    )
    model.set_catalog(space.movie_inputs(np.arange(space.n_catalog)))
    model(space.user_inputs(space.users_table_ids.classes_[:1]), training=False)  # built, so it can be saved
    return model


def served_ranker(ranker, joined_width: int, joined: bool, cfg: TrainConfig):
    """The ranker as served: itself, or (with the sequence branch) behind a layer that reads the pooled side of the
    joined vectors, which is what it was trained on."""
    if not joined:
        return ranker
    return pooled_side_ranker(ranker, joined_width, cfg.sequence.weight, name="hybrid_ranking_model")


def movie_vectors(movie_tower, space) -> np.ndarray:
    fn = compile_model(movie_tower)
    return fn(space.movie_inputs(np.arange(space.n_catalog))).numpy().astype(np.float32)


def validation_rows(train: pd.DataFrame, days: float) -> np.ndarray:
    """Which rows of the training period are its validation slice: its last `days` days (never the test set)."""
    is_val = np.asarray(in_last_days(train["timestamp"], days))
    if is_val.all() or not is_val.any():  # too short a period: the chronologically last 10% instead
        cut = int(len(train) * 0.9)
        is_val = np.arange(len(train)) >= cut
    return is_val


def time_validation_split(train: pd.DataFrame, days: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fit/validation slices of the training period (validation_rows)."""
    is_val = validation_rows(train, days)
    return train.loc[~is_val], train.loc[is_val]


def fit_ranker(
    space,
    train: pd.DataFrame,
    user_tower,
    vectors: np.ndarray,
    cfg: TrainConfig,
    description: DatasetDescription,
    verbose: int = 1,
) -> tuple[keras.Model, LikeCalibration, dict]:
    """The ranker (its output clipped to the description's rating scale) and its LikeCalibration (P(liked | rated),
    liked being the description's liked_threshold), fitted on the training period with a validation slice cut from
    its end.

    Early stopping and the calibration use that slice; then closing_epochs more epochs over the whole period
    (slice included, at the best epoch's learning rate) let the ranker learn the latest ratings and the ids of users
    who rated only in that slice, who would otherwise keep untrained embeddings.
    """
    kc = cfg.ranking
    keras.utils.set_random_seed(cfg.seed + 1)
    is_val = validation_rows(train, kc.validation_days)
    fit_part, val_part = train.loc[~is_val], train.loc[is_val]
    user_fn = compile_model(user_tower)

    def user_vectors(inputs):
        return user_fn(inputs).numpy()

    # every training row's inputs and frozen-tower vectors, computed once for the fit part, the slice and the closing
    # epochs over both
    every_row = RankerRows.compute(space, train, user_vectors, kc.cold_user_rate > 0, kc.example_age)

    def training_batches(ratings: pd.DataFrame, precomputed: RankerRows) -> RankingBatches:
        """Shuffled training batches of these ratings, with the configured unknown-user rate."""
        return RankingBatches(
            space,
            ratings,
            kc.batch_size,
            cfg.seed,
            kc.cold_user_rate,
            user_vectors,
            vectors,
            use_example_age=kc.example_age,
            precomputed=precomputed,
        )

    model = build_ranking_model(
        space.vocab_sizes,
        vectors.shape[1],
        kc,
        float(fit_part["rating"].mean()),
        rating_range=(description.rating_min, description.rating_max),
    )
    model.compile(
        optimizer=keras.optimizers.Adam(kc.learning_rate),
        loss="mse",
        metrics=[keras.metrics.RootMeanSquaredError(name="rmse")],
    )
    fit_batches = training_batches(fit_part, every_row.take(np.flatnonzero(~is_val)))
    val_rows = every_row.take(np.flatnonzero(is_val), cold=False)
    val_batches = RankingBatches(
        space, val_part, 8192, cfg.seed, 0.0, user_vectors, vectors, False, kc.example_age, precomputed=val_rows
    )
    callbacks = [
        keep_freed_memory_callback(),
        keras.callbacks.EarlyStopping(monitor="val_rmse", mode="min", patience=kc.patience, restore_best_weights=True),
        keras.callbacks.ReduceLROnPlateau(monitor="val_rmse", mode="min", factor=0.5, patience=1, min_lr=1e-5),
    ]
    history = model.fit(
        fit_batches, validation_data=val_batches, epochs=kc.epochs, callbacks=callbacks, verbose=verbose
    )
    best = int(np.argmin(history.history["val_rmse"]))
    predicted = np.concatenate([model(val_batches[i][0], training=False).numpy() for i in range(len(val_batches))])
    like = LikeCalibration.fit(  # on predictions for ratings the ranker has not learnt from
        predicted, val_part["rating"].to_numpy(), description.liked_threshold
    )
    if kc.closing_epochs > 0 and len(val_part):  # then the validation slice too: the latest ratings and their users
        rates = history.history.get("learning_rate", [kc.learning_rate] * (best + 1))  # the rate of its best epoch
        model.compile(optimizer=keras.optimizers.Adam(float(rates[best])), loss="mse")
        model.fit(
            training_batches(train, every_row),
            epochs=kc.closing_epochs,
            callbacks=[keep_freed_memory_callback()],
            verbose=verbose,
        )
    return (
        model,
        like,
        {
            "best_epoch": best + 1,
            "val_rmse": float(history.history["val_rmse"][best]),  # before the closing epochs, which learn from it
            "validation_ratings": int(len(val_part)),
            "closing_epochs": kc.closing_epochs,
        },
    )
