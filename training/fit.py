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
from movierec.data.split import validation_mask
from movierec.datasets.description import DatasetDescription
from movierec.evaluation.baselines import BiasModel
from movierec.evaluation.metrics import rmse
from movierec.features.sequences import training_windows
from movierec.models.hybrid import hybrid_tower, pooled_side_ranker
from movierec.models.losses import NextAndLaterLoss
from movierec.models.ranking import RatingBiases, build_ranking_model
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
    """A tf.function over model(inputs, training=False) with a batch-agnostic signature (fast batch inference); a
    history input narrower than the feature space's is given its latest slots (slot 0 is the most recent)."""
    import tensorflow as tf

    spec = {
        name: tf.TensorSpec(shape=(None, *tensor.shape[1:]), dtype=tensor.dtype, name=name)
        for name, tensor in model.input.items()
    }
    function = tf.function(lambda inputs: model(inputs, training=False), input_signature=[spec])
    widths = {name: tensor.shape[1] if len(tensor.shape) > 1 else None for name, tensor in model.input.items()}

    def fit_width(name: str, value):
        return value[:, : widths[name]] if widths[name] is not None and value.shape[1] > widths[name] else value

    return lambda inputs: function({name: fit_width(name, inputs[name]) for name in spec})  # may hold more


class EarlyStopping(keras.callbacks.Callback):
    """Stops training after `patience` epochs without a gain in a validation figure judged after each epoch (higher
    is better), then restores the best epoch's weights; best_epoch is its 1-based number."""

    def __init__(self, judge, patience: int = 1, report=None):
        super().__init__()
        self.judge, self.patience, self.report = judge, patience, report
        self.best, self.best_epoch, self.best_weights, self.values = -np.inf, 0, None, []

    def on_epoch_end(self, epoch, logs=None):
        value = float(self.judge())
        self.values.append(value)
        if value > self.best:
            self.best, self.best_epoch, self.best_weights = value, epoch + 1, self.model.get_weights()
        elif epoch + 1 - self.best_epoch >= self.patience:
            self.model.stop_training = True
        if self.report is not None:
            self.report(epoch, value)  # may stop the whole run (a pruned tuning trial)

    def on_train_end(self, logs=None):
        if self.best_weights is not None:
            self.model.set_weights(self.best_weights)


def fit_retrieval(
    space, train: pd.DataFrame, cfg: TrainConfig, verbose: int = 1, early_stopping=None
) -> RetrievalModel:
    """The pooled two-tower model. early_stopping: given (user tower, movie tower), a Keras callback that stops the
    epochs early (EarlyStopping on a validation period); None: cfg's epochs."""
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
    callbacks = [keep_freed_memory_callback()]
    if early_stopping is not None:
        callbacks.append(early_stopping(model.user_tower, model.movie_tower))
    model.fit(batches, epochs=rc.epochs, verbose=verbose, callbacks=callbacks)
    return model


class SequenceBranch(NamedTuple):
    """The fitted sequence branch: the model trained on every position, and the tower that reads the latest one."""

    model: RetrievalModel  # user side: the state after every position (what training fits)
    user_tower: keras.Model  # the state after the latest rating (what serving runs); shares every layer


def fit_sequence(space, train: pd.DataFrame, cfg: TrainConfig, verbose: int = 1, early_stopping=None) -> SequenceBranch:
    """The causal sequence branch: every training rating a target of the ratings its user gave before it, trained
    sequence to sequence (next rating and a random later one) with a catalogue softmax. early_stopping: as
    fit_retrieval's, given the tower that reads the latest state."""
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
    callbacks = [keep_freed_memory_callback()]
    if early_stopping is not None:
        callbacks.append(early_stopping(user_tower, model.movie_tower))
    model.fit(batches, epochs=sc.epochs, verbose=verbose, callbacks=callbacks)
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


def validation_split(train: pd.DataFrame, cfg: TrainConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(fit part, validation period) of the training period (movierec.config.ValidationConfig; never the test set)."""
    is_val = validation_mask(train, cfg.validation)
    return train.loc[~is_val], train.loc[is_val]


def rating_biases(bias: BiasModel, space) -> RatingBiases:
    """A fitted BiasModel in the ranker's index space (users and movies it has no bias for: 0)."""
    user = np.zeros(space.user_ids.size, np.float32)
    movie = np.zeros(space.movie_ids.size, np.float32)
    user[space.user_ids.transform(bias.user_bias.index.to_numpy())] = bias.user_bias.to_numpy()
    movie[space.movie_ids.transform(bias.movie_bias.index.to_numpy())] = bias.movie_bias.to_numpy()
    user[0] = movie[0] = 0.0  # index 0: unknown to the feature space
    return RatingBiases(float(bias.mean), user, movie)


def choose_bias_model(
    fit_part: pd.DataFrame, val_part: pd.DataFrame, grid: tuple[float, ...], rating_range: tuple[float, float]
) -> tuple[dict, dict]:
    """The bias model's (reg_user, reg_movie) of lowest validation RMSE over grid x grid, and every pair's RMSE."""
    actual = val_part["rating"].to_numpy(np.float64)
    users, movies = val_part["user_id"].to_numpy(), val_part["movie_id"].to_numpy()
    table = {}
    for reg_user in grid:
        for reg_movie in grid:
            predicted = BiasModel(reg_user, reg_movie).fit(fit_part).predict(users, movies, rating_range)
            table[(reg_user, reg_movie)] = rmse(predicted, actual)
    reg_user, reg_movie = min(table, key=table.get)
    return {"reg_user": reg_user, "reg_movie": reg_movie}, {f"{u}/{m}": error for (u, m), error in table.items()}


def fit_ranker(
    space,
    train: pd.DataFrame,
    user_tower,
    vectors: np.ndarray,
    cfg: TrainConfig,
    description: DatasetDescription,
    verbose: int = 1,
) -> tuple[keras.Model, LikeCalibration, dict]:
    """The rating head (its output clipped to the description's rating scale) and its LikeCalibration (P(liked |
    rated), liked being the description's liked_threshold), fitted on the training period's fit part and judged on
    its validation period (ValidationConfig).

    The head predicts the residual over a bias model (mean + regularised user and movie biases, the regularisation
    chosen on the validation period); its residual is early-stopped there, then scaled per kind of user (known,
    unknown) by the factor of lowest validation RMSE, 0 included: where the network adds nothing, the head is the
    bias model. Users of the validation period without a rating in the fit part are judged as unknown users, as the
    test split's new users are. Then closing_epochs more epochs over the whole period (biases refitted on it, at the
    best epoch's learning rate) let the head learn the latest ratings and the ids of users who rated only in the
    validation period.
    """
    kc = cfg.ranking
    keras.utils.set_random_seed(cfg.seed + 1)
    is_val = validation_mask(train, cfg.validation)
    fit_part, val_part = train.loc[~is_val], train.loc[is_val]
    rating_range = (description.rating_min, description.rating_max)
    regularisation, bias_table = choose_bias_model(fit_part, val_part, kc.bias_regularisation, rating_range)
    fit_bias = BiasModel(**regularisation).fit(fit_part)
    user_fn = compile_model(user_tower)

    def user_vectors(inputs):
        return user_fn(inputs).numpy()

    # every training row's inputs and frozen-tower vectors, as a known and as an unknown user, computed once for the
    # fit part, the validation period and the closing epochs over both
    every_row = RankerRows.compute(space, train, user_vectors, True, kc.example_age)

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
        fit_bias.mean,
        rating_range=rating_range,
        biases=rating_biases(fit_bias, space),
    )
    model.compile(
        optimizer=keras.optimizers.Adam(kc.learning_rate),
        loss="mse",
        metrics=[keras.metrics.RootMeanSquaredError(name="rmse")],
    )
    fit_batches = training_batches(fit_part, every_row.take(np.flatnonzero(~is_val), cold=kc.cold_user_rate > 0))
    new_user = ~val_part["user_id"].isin(fit_part["user_id"].unique()).to_numpy()  # judged as unknown users
    val_rows = every_row.take(np.flatnonzero(is_val)).as_unknown(new_user)
    val_batches = RankingBatches(
        space, val_part, 8192, cfg.seed, 0.0, user_vectors, vectors, False, kc.example_age, precomputed=val_rows
    )
    actual = val_part["rating"].to_numpy(np.float64)

    def validation_predictions() -> np.ndarray:
        return np.concatenate([model(val_batches[i][0], training=False).numpy() for i in range(len(val_batches))])

    gate = model.get_layer("residual_gate")
    bias_only = validation_predictions()  # the untrained residual is 0: the bias model's predictions
    callbacks = [
        keep_freed_memory_callback(),
        keras.callbacks.EarlyStopping(monitor="val_rmse", mode="min", patience=kc.patience, restore_best_weights=True),
        keras.callbacks.ReduceLROnPlateau(monitor="val_rmse", mode="min", factor=0.5, patience=1, min_lr=1e-5),
    ]
    history = model.fit(
        fit_batches, validation_data=val_batches, epochs=kc.epochs, callbacks=callbacks, verbose=verbose
    )
    best = int(np.argmin(history.history["val_rmse"]))
    scaled = {}
    for scale in kc.residual_scales:
        gate.set_weights([np.array([scale, scale], np.float32)])
        scaled[scale] = validation_predictions()
    scales, residual = {}, {}
    for kind, rows in (("known", ~new_user), ("unknown", new_user)):
        errors = {scale: rmse(predicted[rows], actual[rows]) for scale, predicted in scaled.items()}
        scales[kind] = min(errors, key=errors.get) if rows.any() else 1.0
        residual[kind] = {"bias_model": rmse(bias_only[rows], actual[rows]), "by_scale": errors}
    gate.set_weights([np.array([scales["known"], scales["unknown"]], np.float32)])
    predicted = validation_predictions()
    like = LikeCalibration.fit(  # on predictions for ratings the head has not learnt from
        predicted, actual, description.liked_threshold
    )
    if kc.closing_epochs > 0 and len(val_part):  # then the validation period too: the latest ratings and their users
        whole = BiasModel(**regularisation, mean=fit_bias.mean).fit(train)
        fitted = rating_biases(whole, space)
        model.get_layer("user_bias").set_weights([fitted.user.reshape(-1, 1)])
        model.get_layer("movie_bias").set_weights([fitted.movie.reshape(-1, 1)])
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
            "val_rmse": rmse(predicted, actual),  # before the closing epochs, which learn from it
            "val_rmse_bias_model": rmse(bias_only, actual),
            "validation_ratings": int(len(val_part)),
            "validation_users": int(val_part["user_id"].nunique()),
            "validation_new_users": int(val_part.loc[new_user, "user_id"].nunique()),
            "bias_regularisation": regularisation,
            "bias_validation_rmse": bias_table,
            "residual_scale": scales,
            "residual_validation_rmse": residual,
            "closing_epochs": kc.closing_epochs,
        },
    )
