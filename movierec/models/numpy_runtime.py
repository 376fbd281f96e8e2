"""Inference of a saved Keras functional model in plain NumPy, layer by layer, from its own weights.

TensorFlow costs 350-700 microseconds per call on these machines even for a trivial function, more than the
whole serving budget, so the request path runs the same trained models through this executor instead. It
walks the model's own graph (no second copy of any architecture) and implements each layer's inference
maths; a layer it does not know is refused when the runner is built, not during a request. Tests check
that it reproduces Keras's outputs within 1e-5 for every model the project saves.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np


def _activation(layer) -> Callable[[np.ndarray], np.ndarray]:
    name = getattr(layer.activation, "__name__", str(layer.activation))
    if name == "linear":
        return lambda x: x
    if name == "relu":
        return lambda x: np.maximum(x, 0.0)
    raise NotImplementedError(f"{layer.name}: activation {name!r} has no NumPy implementation")


def _dense(layer):
    kernel = np.asarray(layer.kernel.numpy(), np.float32)
    bias = np.asarray(layer.bias.numpy(), np.float32) if layer.use_bias else 0.0
    act = _activation(layer)
    return lambda x: act(x @ kernel + bias)


def _batch_norm(layer):
    mean, var = layer.moving_mean.numpy(), layer.moving_variance.numpy()
    scale = 1.0 / np.sqrt(var + layer.epsilon)
    if layer.scale:
        scale = scale * layer.gamma.numpy()
    shift = -mean * scale + (layer.beta.numpy() if layer.center else 0.0)
    scale, shift = scale.astype(np.float32), shift.astype(np.float32)
    return lambda x: x * scale + shift


def _embedding(layer):
    table = np.asarray(layer.embeddings.numpy(), np.float32)
    return lambda ids: table[np.asarray(ids, np.int64)]


def _unit_norm(layer):
    axis = layer.axis

    def run(x):
        norm = np.sqrt(np.sum(np.square(x), axis=axis, keepdims=True))
        return x / np.maximum(norm, 1e-12)

    return run


def _dot(layer):
    if layer.normalize or layer.axes not in (1, -1, (1, 1), [1, 1], (-1, -1), [-1, -1]):
        raise NotImplementedError(f"{layer.name}: only Dot(axes=1, normalize=False) is supported")
    return lambda inputs: np.sum(inputs[0] * inputs[1], axis=-1, keepdims=True)


def _reshape(layer):
    target = tuple(layer.target_shape)
    return lambda x: np.reshape(x, (x.shape[0], *target))


IGNORED_KWARGS = ("mask", "training")  # inference: no masks are used, dropout/batch-norm run in inference mode

BUILDERS: dict[type, Callable] = {
    keras.layers.Dense: _dense,
    keras.layers.BatchNormalization: _batch_norm,
    keras.layers.Embedding: _embedding,
    keras.layers.UnitNormalization: _unit_norm,
    keras.layers.Dot: _dot,
    keras.layers.Reshape: _reshape,
    keras.layers.Dropout: lambda layer: lambda x: x,
    keras.layers.Flatten: lambda layer: lambda x: np.reshape(x, (x.shape[0], -1)),
    keras.layers.Concatenate: lambda layer: lambda xs: np.concatenate(xs, axis=layer.axis),
    keras.layers.Multiply: lambda layer: lambda xs: np.prod(np.stack(xs), axis=0),
    keras.layers.Add: lambda layer: lambda xs: np.sum(np.stack(xs), axis=0),
}


def _implementation(layer) -> Callable:
    if hasattr(layer, "numpy_call"):  # the project's custom layers carry their own NumPy maths
        return layer.numpy_call
    builder = BUILDERS.get(type(layer))
    if builder is None:
        raise NotImplementedError(f"layer {layer.name!r} ({type(layer).__name__}) has no NumPy implementation")
    return builder(layer)


class NumpyModel:
    """Callable like the Keras model on a dict of NumPy arrays, returning a NumPy array (inference only)."""

    def __init__(self, model: keras.Model):
        self.name = model.name
        self._inputs = {name: id(tensor) for name, tensor in model.input.items()}
        self._output = id(model.output)
        self._steps = []
        for depth in sorted(model._nodes_by_depth, reverse=True):  # noqa: SLF001 (Keras 3 functional graph)
            for node in model._nodes_by_depth[depth]:  # noqa: SLF001
                if node.operation is None or node.is_input:
                    continue
                self._steps.append((node, _implementation(node.operation), [id(t) for t in node.outputs]))

    def __call__(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        values = {tensor_id: np.asarray(inputs[name]) for name, tensor_id in self._inputs.items()}
        for node, run, outputs in self._steps:
            args, kwargs = node.arguments.fill_in(values)
            kwargs = {k: v for k, v in kwargs.items() if k not in IGNORED_KWARGS}
            values[outputs[0]] = run(*args, **kwargs)
        return values[self._output]
