"""Runs the exported models with ONNX Runtime: the serving and evaluation path, with no TensorFlow or Keras import."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnxruntime as ort

from movierec.errors import BundleError

Model = Callable[[dict[str, np.ndarray]], np.ndarray]  # a model on named input arrays (OnnxModel, in the product)
ONNX_DTYPES = {"tensor(int32)": np.int32, "tensor(int64)": np.int64, "tensor(float)": np.float32}


def session_options(threads: int) -> ort.SessionOptions:
    """Sequential execution with a fixed number of intra-op threads (one per serving worker by default)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = int(threads)
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    return options


class OnnxModel:
    """Callable like the Keras model on a dict of NumPy arrays (inference only); one session, created once."""

    def __init__(self, source: bytes | Path, name: str, threads: int = 1):
        self.name = name
        try:
            model = source if isinstance(source, bytes) else Path(source).read_bytes()
            self.session = ort.InferenceSession(model, session_options(threads), providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types for malformed models
            raise BundleError(f"{name}: not a loadable ONNX model ({exc.__class__.__name__})") from exc
        self.inputs = {i.name: i for i in self.session.get_inputs()}
        self._dtypes = {name: ONNX_DTYPES.get(i.type) for name, i in self.inputs.items()}
        unknown = [f"{n} ({i.type})" for n, i in self.inputs.items() if self._dtypes[n] is None]
        if unknown:
            raise BundleError(f"{name}: unsupported input types {unknown}")
        outputs = self.session.get_outputs()
        if len(outputs) != 1:
            raise BundleError(f"{name}: expected one output, the model has {len(outputs)}")
        self.output_shape = tuple(outputs[0].shape)
        self._output = outputs[0].name

    @property
    def input_names(self) -> set[str]:
        return set(self.inputs)

    def input_width(self, name: str) -> int | None:
        """The fixed size of an input's second axis (None when the input is one value per row or dynamic)."""
        shape = self.inputs[name].shape
        return shape[1] if len(shape) > 1 and isinstance(shape[1], int) else None

    @property
    def output_width(self) -> int | None:
        shape = self.output_shape
        return shape[1] if len(shape) > 1 and isinstance(shape[1], int) else None

    def __call__(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        feed = {name: np.ascontiguousarray(inputs[name], dtype=self._dtypes[name]) for name in self.inputs}
        return self.session.run([self._output], feed)[0]


def in_batches(model: Model, inputs: dict[str, np.ndarray], batch_size: int) -> np.ndarray:
    """model over aligned input arrays in row batches (bounds the memory of large evaluations); an array of one row
    among longer ones (one user for many movies) goes whole into every batch."""
    n = max(len(v) for v in inputs.values())
    if n <= batch_size:
        return model(inputs)

    def rows(array: np.ndarray, i: int) -> np.ndarray:
        return array if len(array) == 1 else array[i : i + batch_size]

    return np.concatenate([model({k: rows(v, i) for k, v in inputs.items()}) for i in range(0, n, batch_size)])


__all__ = ["Model", "OnnxModel", "in_batches"]
