"""Fitting the two models: full-catalogue softmax retrieval, then the rating ranker with early stopping."""

from __future__ import annotations

import keras
import numpy as np
import pandas as pd

from movierec.config import TrainConfig
from movierec.data.split import in_last_days
from movierec.datasets.description import DatasetDescription
from movierec.datasets.ml1m import DESCRIPTION as ML1M_DESCRIPTION
from movierec.models.final_score import FinalScorer
from movierec.models.ranking import build_ranking_model
from movierec.models.retrieval import RetrievalModel
from movierec.models.towers import build_movie_tower, build_user_tower
from training.datasets import RankingBatches, RetrievalBatches, recency_weights


def compile_model(model):
    """A tf.function over model(inputs, training=False) with a batch-agnostic signature (fast batch inference)."""
    import tensorflow as tf

    spec = {
        name: tf.TensorSpec(shape=(None, *tensor.shape[1:]), dtype=tensor.dtype, name=name)
        for name, tensor in model.input.items()
    }
    return tf.function(lambda inputs: model(inputs, training=False), input_signature=[spec])


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
    model.fit(batches, epochs=rc.epochs, verbose=verbose)
    return model


def movie_vectors(movie_tower, space) -> np.ndarray:
    fn = compile_model(movie_tower)
    return fn(space.movie_inputs(np.arange(space.n_catalog))).numpy().astype(np.float32)


def time_validation_split(train: pd.DataFrame, days: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fit/validation slices of the training period: validation is its last `days` days (never the test set)."""
    is_val = in_last_days(train["timestamp"], days)
    if is_val.all() or not is_val.any():  # too short a period: the chronologically last 10% instead
        cut = int(len(train) * 0.9)
        is_val = np.arange(len(train)) >= cut
    return train.loc[~is_val], train.loc[is_val]


def fit_ranker(
    space,
    train: pd.DataFrame,
    user_tower,
    vectors: np.ndarray,
    cfg: TrainConfig,
    verbose: int = 1,
    description: DatasetDescription = ML1M_DESCRIPTION,
):
    """The ranker (its output clipped to the description's rating scale) and the FinalScorer (its "liked" is the
    description's liked_threshold), fitted on the training period with a validation slice cut from its end."""
    kc = cfg.ranking
    keras.utils.set_random_seed(cfg.seed + 1)
    fit_part, val_part = time_validation_split(train, kc.validation_days)
    user_fn = compile_model(user_tower)

    def user_vectors(inputs):
        return user_fn(inputs).numpy()

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
    fit_batches = RankingBatches(
        space,
        fit_part,
        kc.batch_size,
        cfg.seed,
        kc.cold_user_rate,
        user_vectors,
        vectors,
        use_example_age=kc.example_age,
    )
    val_batches = RankingBatches(
        space, val_part, 8192, cfg.seed, 0.0, user_vectors, vectors, shuffle=False, use_example_age=kc.example_age
    )
    callbacks = [
        keras.callbacks.EarlyStopping(monitor="val_rmse", mode="min", patience=kc.patience, restore_best_weights=True),
        keras.callbacks.ReduceLROnPlateau(monitor="val_rmse", mode="min", factor=0.5, patience=1, min_lr=1e-5),
    ]
    history = model.fit(
        fit_batches, validation_data=val_batches, epochs=kc.epochs, callbacks=callbacks, verbose=verbose
    )
    best = int(np.argmin(history.history["val_rmse"]))
    predicted = np.concatenate([model(val_batches[i][0], training=False).numpy() for i in range(len(val_batches))])
    scorer = FinalScorer.fit(
        cfg.retrieval.temperature, predicted, val_part["rating"].to_numpy(), description.liked_threshold
    )
    return (
        model,
        scorer,
        {
            "best_epoch": best + 1,
            "val_rmse": float(history.history["val_rmse"][best]),
            "validation_ratings": int(len(val_part)),
        },
    )
