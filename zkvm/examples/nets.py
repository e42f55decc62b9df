"""The example models: their layers and a float64 forward pass, in plain numpy.

A model is a :class:`ModelSpec`: a list of layers (``Dense``, ``Conv``,
``ReLU``, ``Flatten``) applied to a batch whose first axis is the sample. The
same list drives training (``models/train.py`` in the repository, which adds
the gradient in ``models/nets.py``), the float reference (:func:`forward`)
and the program writer (:mod:`zkvm.examples.program`), so the three cannot
disagree about the architecture. Parameters are a dict of
float arrays named ``w1, b1, w2, b2, ...`` (one pair per weighted layer, in
order); a convolution's weight is OIHW and its flatten is NCHW row-major,
exactly as the zkvm ``conv2d`` and ``flatten`` macros compute them.

Models (docs: ``models/README.md``):

* ``mlp``: 784 -> 128 -> 10 with ReLU, on 28x28 digits (101,770 parameters);
* ``cnn``: conv 4 filters 5x5 stride 2 -> ReLU -> dense 576 -> 10, on
  28x28 digits (5,874 parameters);
* ``tiny``: 16 -> 32 -> 8 -> 4 with ReLU, on 4x4 digits 0..3 (844 parameters).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Dense:
    """``y = x @ w + b`` with ``w`` of shape ``[n_in, n_out]``."""

    n_in: int
    n_out: int


@dataclass(frozen=True)
class Conv:
    """2-D convolution, NCHW input, OIHW weight ``[c_out, c_in, k, k]``, no padding."""

    c_in: int
    c_out: int
    kernel: int
    stride: int


@dataclass(frozen=True)
class ReLU:
    """``max(x, 0)``."""


@dataclass(frozen=True)
class Flatten:
    """``[N, ...] -> [N, prod(...)]`` (row-major)."""


Layer = Dense | Conv | ReLU | Flatten


@dataclass(frozen=True)
class ModelSpec:
    """One example model.

    Attributes:
        name: ``mlp``, ``cnn`` or ``tiny``.
        view: the data view it is trained on (see :mod:`models.dataset`).
        input_shape: the program input's shape (batch 1).
        layers: the layers, in order.
        n_classes: number of logits.
        epochs, batch, lr, weight_decay, seed: training settings (Adam).
    """

    name: str
    view: str
    input_shape: tuple[int, ...]
    layers: tuple[Layer, ...]
    n_classes: int
    epochs: int
    batch: int = 32
    lr: float = 1e-3
    weight_decay: float = 1e-4
    seed: int = 0
    description: str = field(default="", compare=False)

    def param_names(self) -> list[tuple[int, str, str]]:
        """``(layer index, weight name, bias name)`` of each weighted layer."""
        out, j = [], 0
        for i, layer in enumerate(self.layers):
            if isinstance(layer, (Dense, Conv)):
                j += 1
                out.append((i, f"w{j}", f"b{j}"))
        return out

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        """Shape of every parameter, by name."""
        shapes = {}
        for i, w, b in self.param_names():
            layer = self.layers[i]
            if isinstance(layer, Dense):
                shapes[w], shapes[b] = (layer.n_in, layer.n_out), (layer.n_out,)
            else:
                shapes[w] = (layer.c_out, layer.c_in, layer.kernel, layer.kernel)
                shapes[b] = (layer.c_out,)
        return shapes

    @property
    def n_params(self) -> int:
        return sum(math.prod(s) for s in self.param_shapes().values())


MODELS: dict[str, ModelSpec] = {
    "mlp": ModelSpec(
        "mlp", "mnist", (1, 784), (Dense(784, 128), ReLU(), Dense(128, 10)), 10, epochs=12,
        description="MLP 784->128->10 with ReLU on 28x28 digits"),
    "cnn": ModelSpec(
        "cnn", "mnist", (1, 1, 28, 28), (Conv(1, 4, 5, 2), ReLU(), Flatten(), Dense(576, 10)), 10,
        epochs=30, lr=3e-3,
        description="CNN conv 4x5x5 stride 2 -> ReLU -> dense 576->10 on 28x28 digits"),
    "tiny": ModelSpec(
        "tiny", "tiny", (1, 16), (Dense(16, 32), ReLU(), Dense(32, 8), ReLU(), Dense(8, 4)), 4,
        epochs=150, batch=16, lr=3e-3,
        description="tiny MLP 16->32->8->4 with ReLU on 4x4 digits 0..3"),
}


def get_spec(name: str) -> ModelSpec:
    """The spec of model ``name``; raises ValueError naming the known models."""
    try:
        return MODELS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r} (expected one of: {', '.join(MODELS)})") from None


def batch_input(spec: ModelSpec, x: np.ndarray) -> np.ndarray:
    """Images ``[N, ...]`` -> the model's input layout ``[N, *input_shape[1:]]``."""
    return np.asarray(x, dtype=np.float64).reshape((x.shape[0],) + spec.input_shape[1:])


def _im2col(x: np.ndarray, k: int, s: int) -> np.ndarray:
    """NCHW ``x`` -> ``[N, OH, OW, C*k*k]`` patches (C major, then kernel row, column)."""
    win = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(2, 3))[:, :, ::s, ::s]
    n, c, oh, ow = win.shape[:4]
    return win.transpose(0, 2, 3, 1, 4, 5).reshape(n, oh, ow, c * k * k)


def forward(spec: ModelSpec, params: dict[str, np.ndarray], x: np.ndarray,
            keep: bool = False) -> np.ndarray | tuple[np.ndarray, list]:
    """Float64 logits ``[N, n_classes]`` of a batch ``x`` (``[N, ...]``).

    With ``keep=True`` also returns what :func:`backward` needs.
    """
    h = batch_input(spec, x)
    names = {i: (w, b) for i, w, b in spec.param_names()}
    cache = []
    for i, layer in enumerate(spec.layers):
        cache.append(h)
        if isinstance(layer, Dense):
            w, b = names[i]
            h = h @ params[w] + params[b]
        elif isinstance(layer, Conv):
            w, b = names[i]
            cols = _im2col(h, layer.kernel, layer.stride)
            cache[-1] = (h.shape, cols)
            h = (cols @ params[w].reshape(layer.c_out, -1).T + params[b]).transpose(0, 3, 1, 2)
        elif isinstance(layer, ReLU):
            h = np.maximum(h, 0.0)
        else:
            h = h.reshape(h.shape[0], -1)
    return (h, cache) if keep else h


def accuracy(spec: ModelSpec, params: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray) -> float:
    """Top-1 accuracy of the float model."""
    return float((forward(spec, params, x).argmax(axis=1) == y).mean())
