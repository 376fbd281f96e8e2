"""The final stage's head: cross-fitted by user, kept only when it beats the formula by more than its standard error."""

import dataclasses

import numpy as np

from movierec.config import FinalStageConfig, TrainConfig
from movierec.scoring.learned import FEATURE_NAMES
from training.final_stage import Examples, fit_final_head, gain_and_error, ndcg


def examples(informative: bool, n=1500, k=30, seed=0) -> Examples:
    """One target per example; the formula's columns (0, 1) are noise; column 2 marks the target when informative,
    else every other column is the same for every candidate of an example (nothing to reorder them by)."""
    rng = np.random.default_rng(seed)
    rows = rng.normal(size=(n, k, len(FEATURE_NAMES))).astype(np.float32)
    if not informative:
        rows[:, :, 2:] = rows[:, :1, 2:]
    target = rng.integers(0, k, n)
    if informative:
        rows[np.arange(n), target, 2] += 3.0
    targets = np.zeros((n, k), np.float32)
    targets[np.arange(n), target] = 1.0
    return Examples(rows, targets, rng.integers(0, 300, n), np.arange(n) % 5 == 0)


def config() -> TrainConfig:
    return dataclasses.replace(TrainConfig(), final=FinalStageConfig(epochs=3, batch_size=64, learning_rate=3e-3))


def test_ndcg_of_a_target_at_each_rank():
    targets = np.zeros((3, 12), np.float32)
    targets[:, 0] = 1
    logits = np.zeros((3, 12))
    logits[1, 0] = -1  # last
    logits[2, 5] = 1  # second
    np.testing.assert_allclose(ndcg(logits, targets), [1.0, 0.0, 1 / np.log2(3)])


def test_gain_and_error_of_a_change_that_helps_every_example():
    base, static = np.full(100, 0.2), np.arange(100) % 4 == 0
    gain, error = gain_and_error(base + np.linspace(0.05, 0.15, 100), base, static)
    assert gain > 3 * error > 0


def test_a_head_that_learns_something_is_kept():
    model, record = fit_final_head(examples(informative=True), config(), seed=0)
    assert record["kept"] and record["epochs"] >= 1
    values = record["held_out_ndcg@10"]
    assert values[record["epochs"]] == max(values) and record["gain"] > record["standard_error"] > 0
    assert np.abs(model.get_layer("final_residual").get_weights()[0]).sum() > 0
    ex = examples(informative=True, seed=5)  # new examples: the head ranks the marked target higher than the formula
    logits = np.asarray(model({"features": ex.rows}))
    assert ndcg(logits, ex.targets).mean() > ndcg(ex.rows[..., 0] + ex.rows[..., 1], ex.targets).mean() + 0.1


def test_without_anything_to_learn_the_formula_stays():
    model, record = fit_final_head(examples(informative=False), config(), seed=0)
    assert not record["kept"] and record["epochs"] == 0
    assert all(np.all(w == 0) for w in model.get_layer("final_residual").get_weights())
    rows = np.random.default_rng(3).normal(size=(2, 5, len(FEATURE_NAMES))).astype(np.float32)
    np.testing.assert_allclose(np.asarray(model({"features": rows})), rows[..., 0] + rows[..., 1], rtol=1e-5)
