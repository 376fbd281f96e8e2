"""The final stage's head: cross-fitted by user, kept only when it beats the formula by more than its standard error."""

import dataclasses

import keras
import numpy as np

from movierec.config import FinalStageConfig, TrainConfig
from movierec.scoring.learned import FEATURE_NAMES
from training.final_stage import Examples, figures, fit_final_head, gain_and_error, ndcg


def examples(informative: bool, n=1500, k=30, seed=0) -> Examples:
    """One target per example. Informative: the formula's columns (0, 1) are noise and column 2 marks the target.
    Not informative: the target is the formula's first choice, so no head can order it better (nothing to learn)."""
    rng = np.random.default_rng(seed)
    rows = rng.normal(size=(n, k, len(FEATURE_NAMES))).astype(np.float32)
    target = rng.integers(0, k, n)
    if informative:
        rows[np.arange(n), target, 2] += 3.0
    else:
        target = np.argmax(rows[..., 0] + rows[..., 1], axis=1)
    targets = np.zeros((n, k), np.float32)
    targets[np.arange(n), target] = 1.0
    return Examples(rows, targets, targets > 0, rng.integers(0, 300, n), np.arange(n) % 5 == 0)


def config() -> TrainConfig:
    return dataclasses.replace(TrainConfig(), final=FinalStageConfig(epochs=3, batch_size=64, learning_rate=3e-3))


def test_ndcg_of_a_target_at_each_rank():
    targets = np.zeros((3, 12), np.float32)
    targets[:, 0] = 1
    logits = np.zeros((3, 12))
    logits[1, 0] = -1  # last
    logits[2, 5] = 1  # second
    np.testing.assert_allclose(ndcg(logits, targets), [1.0, 0.0, 1 / np.log2(3)])


def per_figure(values: np.ndarray, static: np.ndarray, liked: np.ndarray) -> np.ndarray:
    """(3, n) figures as training.final_stage.figures lays them out, from one value per example."""
    nan = np.full(len(values), np.nan)
    return np.stack(
        [np.where(static, values, nan), np.where(static & liked, values, nan), np.where(static, nan, values)]
    )


def test_gain_and_error_of_a_change_that_helps_every_example():
    n = 100
    static, liked = np.arange(n) % 4 == 0, np.arange(n) % 8 == 0
    base = per_figure(np.full(n, 0.2), static, liked)
    now = per_figure(0.2 + np.linspace(0.05, 0.15, n), static, liked)
    gain, error = gain_and_error(now, base)
    assert gain > 3 * error > 0


def test_gain_and_error_of_noise_is_within_a_few_errors():
    rng = np.random.default_rng(0)
    n = 4000
    static, liked = np.arange(n) % 4 == 0, np.arange(n) % 8 == 0
    base = per_figure(rng.uniform(0.1, 0.5, n), static, liked)
    gain, error = gain_and_error(base + rng.normal(0, 0.1, base.shape), base)
    assert error > 0 and abs(gain) < 3 * error


def test_figures_judge_liked_ndcg_on_the_static_examples_with_a_liked_target_only():
    ex = examples(informative=True, n=6, k=12)
    ex.liked[:] = False
    ex.liked[0] = ex.targets[0] > 0  # static (index 0), its target liked
    ex.liked[1] = ex.targets[1] > 0  # streaming: not a liked figure
    per = figures(ex.rows[..., 0], ex)
    assert np.isnan(per[0, 1:5]).all() and not np.isnan(per[0, [0, 5]]).any()  # static: 0 and 5
    assert np.flatnonzero(~np.isnan(per[1])).tolist() == [0]
    assert np.flatnonzero(np.isnan(per[2])).tolist() == [0, 5]


def test_a_head_that_learns_something_is_kept():
    keras.utils.set_random_seed(0)
    model, record = fit_final_head(examples(informative=True), config(), seed=0)
    assert record["kept"] and record["epochs"] >= 1
    values = record["held_out_figure"]
    assert values[record["epochs"]] == max(values) and record["gain"] > record["standard_error"] > 0
    assert np.abs(model.get_layer("final_residual").get_weights()[0]).sum() > 0
    ex = examples(informative=True, seed=5)  # new examples: the head ranks the marked target higher than the formula
    logits = np.asarray(model({"features": ex.rows}))
    assert ndcg(logits, ex.targets).mean() > ndcg(ex.rows[..., 0] + ex.rows[..., 1], ex.targets).mean() + 0.1


def test_without_anything_to_learn_the_formula_stays():
    keras.utils.set_random_seed(0)
    model, record = fit_final_head(examples(informative=False), config(), seed=0)
    assert not record["kept"] and record["epochs"] == 0
    assert all(np.all(w == 0) for w in model.get_layer("final_residual").get_weights())
    rows = np.random.default_rng(3).normal(size=(2, 5, len(FEATURE_NAMES))).astype(np.float32)
    np.testing.assert_allclose(np.asarray(model({"features": rows})), rows[..., 0] + rows[..., 1], rtol=1e-5)
