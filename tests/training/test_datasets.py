"""Training batches: every row once per epoch in a seeded order, aligned rows, and no tf.data autotuning."""

from __future__ import annotations

import numpy as np
from keras.src.trainers.data_adapters.py_dataset_adapter import PyDatasetAdapter

from training.datasets import WindowBatches


def windows(n: int = 10, batch_size: int = 4, seed: int = 3) -> WindowBatches:
    rows = np.arange(n)
    inputs = {"a": rows.astype(np.int32), "b": np.stack([rows, -rows], axis=1).astype(np.float32)}
    return WindowBatches(inputs, (rows * 10).astype(np.int32), (rows / 10).astype(np.float32), batch_size, seed)


def epoch_rows(batches: WindowBatches) -> list[np.ndarray]:
    return [batches[i][0]["a"] for i in range(len(batches))]


def test_every_row_once_per_epoch_in_a_seeded_order_that_changes_each_epoch():
    batches = windows()
    assert len(batches) == 3
    first = epoch_rows(batches)
    assert sorted(np.concatenate(first).tolist()) == list(range(10))
    assert [len(rows) for rows in first] == [4, 4, 2]
    assert [rows.tolist() for rows in epoch_rows(windows())] == [rows.tolist() for rows in first]  # same seed
    batches.on_epoch_end()
    second = epoch_rows(batches)
    assert sorted(np.concatenate(second).tolist()) == list(range(10))
    assert np.concatenate(second).tolist() != np.concatenate(first).tolist()
    other = epoch_rows(windows(seed=4))
    assert np.concatenate(other).tolist() != np.concatenate(first).tolist()


def test_window_batches_keep_inputs_targets_and_weights_of_one_row_together():
    batches = windows()
    for i in range(len(batches)):
        inputs, targets, weights = batches[i]
        rows = inputs["a"]
        np.testing.assert_array_equal(inputs["b"], np.stack([rows, -rows], axis=1))
        np.testing.assert_array_equal(targets, rows * 10)
        np.testing.assert_allclose(weights, rows / 10)


def test_keras_feeds_the_batches_without_tf_data_autotuning():
    """Autotuning's thread held each dropped epoch iterator for its timed sleep (training.datasets.BATCH_WORKERS)."""
    dataset = PyDatasetAdapter(windows(), shuffle=False).get_tf_dataset()
    assert dataset.options().autotune.enabled is False
