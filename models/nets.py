"""Training pieces of the example models: initialisation, the gradient, the loss.

The architectures and the float forward pass ship with the package
(:mod:`zkvm.examples.nets`, re-exported here); only training, which the
package never does, lives in the repository.
"""

from __future__ import annotations

import math

import numpy as np

from zkvm.examples.nets import (  # noqa: F401  (re-exported: the models' one definition)
    MODELS, Conv, Dense, Flatten, Layer, ModelSpec, ReLU, _im2col, accuracy, batch_input, forward,
    get_spec,
)


def init_params(spec: ModelSpec, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """He-normal weights, zero biases."""
    params = {}
    for name, shape in spec.param_shapes().items():
        if name.startswith("b"):
            params[name] = np.zeros(shape)
        else:
            fan_in = math.prod(shape[1:]) if len(shape) == 4 else shape[0]
            params[name] = rng.normal(0.0, math.sqrt(2.0 / fan_in), size=shape)
    return params


def backward(spec: ModelSpec, params: dict[str, np.ndarray], cache: list,
             dlogits: np.ndarray) -> dict[str, np.ndarray]:
    """Gradients of a loss with respect to every parameter, given ``dloss/dlogits``."""
    names = {i: (w, b) for i, w, b in spec.param_names()}
    grads: dict[str, np.ndarray] = {}
    g = dlogits
    for i in range(len(spec.layers) - 1, -1, -1):
        layer, h = spec.layers[i], cache[i]
        if isinstance(layer, Dense):
            w, b = names[i]
            grads[w], grads[b] = h.T @ g, g.sum(axis=0)
            if i:
                g = g @ params[w].T
        elif isinstance(layer, Conv):
            w, b = names[i]
            shape, cols = h
            gm = g.transpose(0, 2, 3, 1)  # [N, OH, OW, O]
            grads[w] = np.einsum("nijo,nijk->ok", gm, cols).reshape(params[w].shape)
            grads[b] = gm.sum(axis=(0, 1, 2))
            if i:
                g = _conv_input_grad(gm @ params[w].reshape(layer.c_out, -1), shape, layer)
        elif isinstance(layer, ReLU):
            g = g * (h > 0)
        else:
            g = g.reshape(h.shape)
    return grads


def _conv_input_grad(dcols: np.ndarray, shape: tuple[int, ...], layer: Conv) -> np.ndarray:
    """Scatter patch gradients ``[N, OH, OW, C*k*k]`` back onto the NCHW input."""
    n, c, _, _ = shape
    k, s = layer.kernel, layer.stride
    _, oh, ow, _ = dcols.shape
    d = dcols.reshape(n, oh, ow, c, k, k).transpose(0, 3, 1, 2, 4, 5)
    dx = np.zeros(shape)
    for u in range(k):  # k*k strided slices, not a loop over elements
        for v in range(k):
            dx[:, :, u : u + s * oh : s, v : v + s * ow : s] += d[..., u, v]
    return dx


def softmax_xent(logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean softmax cross-entropy and its gradient with respect to the logits."""
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    n = logits.shape[0]
    loss = float(-np.log(p[np.arange(n), y] + 1e-300).mean())
    p[np.arange(n), y] -= 1.0
    return loss, p / n
