"""Exports a trained Keras model to ONNX (training side only: this imports Keras and TensorFlow)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def _call_once(model) -> None:
    """Keras exports only a model that has been called; a freshly loaded one has not. One call on zeros does it (a
    dynamic axis given size 1)."""
    import numpy as np

    inputs = {
        name: np.zeros((1, *(size or 1 for size in tensor.shape[1:])), dtype=tensor.dtype)
        for name, tensor in model.input.items()
    }
    model(inputs, training=False)


def to_onnx(model) -> bytes:
    """The model as an ONNX graph with a dynamic batch axis and the Keras input names, as bytes."""
    _call_once(model)
    with tempfile.TemporaryDirectory(prefix="movierec-onnx-") as folder:
        path = Path(folder) / f"{model.name}.onnx"
        devnull = os.open(os.devnull, os.O_WRONLY)
        saved = os.dup(2)
        try:  # tf2onnx prints its progress on stderr, line by line; keep training logs readable
            os.dup2(devnull, 2)
            model.export(str(path), format="onnx", verbose=False)
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            os.close(devnull)
        return path.read_bytes()
