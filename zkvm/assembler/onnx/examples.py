"""Small ONNX models built with ``onnx.helper`` (no torch, no download): for tests, docs, benches.

* :func:`mlp` — ``Gemm → Relu → Gemm`` as PyTorch exports ``nn.Linear`` (``transB=1``);
* :func:`lenet` — two ``Conv → Relu → pool`` stages (a BatchNormalization after
  the first conv, to be folded), ``Flatten``, two ``Gemm``;
* :func:`transformer_block` — pre-LayerNorm block: multi-head self-attention
  (``MatMul``, ``Reshape``, ``Transpose``, batched ``MatMul``, scale, ``Softmax``),
  residual, LayerNorm, a GELU MLP (the opset-20 ``Gelu`` op, or the
  ``0.5·x·(1+Erf(x/√2))`` pattern and the LayerNorm expansion of older exports).

Weights are seeded, with fan-in scaled normal initialisation.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .errors import require_onnx


def _init(rng: np.random.Generator, shape: tuple[int, ...], fan_in: int) -> np.ndarray:
    return (rng.standard_normal(shape) * math.sqrt(2.0 / fan_in)).astype(np.float32)


class GraphMaker:
    """A tiny helper over ``onnx.helper``: nodes, constants and unique names."""

    def __init__(self) -> None:
        self.onnx = require_onnx()
        self.nodes: list[Any] = []
        self.inits: list[Any] = []
        self.n = 0

    def const(self, value: Any, name: str | None = None, dtype: Any = np.float32) -> str:
        from onnx import numpy_helper

        self.n += 1
        name = name or f"c{self.n}"
        self.inits.append(numpy_helper.from_array(np.asarray(value, dtype=dtype), name))
        return name

    def node(self, op: str, inputs: list[str], n_out: int = 1, **attrs: Any) -> str:
        from onnx import helper

        self.n += 1
        outs = [f"{op.lower()}{self.n}_{k}" for k in range(n_out)]
        self.nodes.append(helper.make_node(op, inputs, outs, name=f"/{op}_{self.n}", **attrs))
        return outs[0]

    def model(self, inputs: dict[str, list[Any]], outputs: list[str], opset: int = 17,
              rename: dict[str, str] | None = None) -> Any:
        from onnx import TensorProto, helper

        if rename:
            for nd in self.nodes:
                for i, o in enumerate(nd.output):
                    if o in rename:
                        nd.output[i] = rename[o]
                for i, o in enumerate(nd.input):
                    if o in rename:
                        nd.input[i] = rename[o]
            outputs = [rename.get(o, o) for o in outputs]
        g = helper.make_graph(
            self.nodes, "zkvm_example",
            [helper.make_tensor_value_info(k, TensorProto.FLOAT, v) for k, v in inputs.items()],
            [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outputs],
            self.inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
        m.ir_version = min(m.ir_version, 8)
        return m


def mlp(w1: np.ndarray, b1: np.ndarray, w2: np.ndarray, b2: np.ndarray) -> Any:
    """``x[1, n_in] → Gemm → Relu → Gemm → logits`` (weights ``[n_in, n_out]`` as in models/)."""
    g = GraphMaker()
    h = g.node("Gemm", ["x", g.const(w1.T, "fc1.weight"), g.const(b1, "fc1.bias")], transB=1)
    a = g.node("Relu", [h])
    y = g.node("Gemm", [a, g.const(w2.T, "fc2.weight"), g.const(b2, "fc2.bias")], transB=1)
    return g.model({"x": [1, w1.shape[0]]}, [y], rename={y: "logits"})


def lenet(seed: int = 0, pool: str = "MaxPool") -> Any:
    """LeNet-style CNN on ``[1, 1, 28, 28]``: conv 4@5x5 (pad 2) + BN → relu → pool →
    conv 8@5x5 → relu → pool → flatten → 200→32 → relu → 32→10."""
    rng = np.random.default_rng(seed)
    g = GraphMaker()
    c1 = g.node("Conv", ["x", g.const(_init(rng, (4, 1, 5, 5), 25)), g.const(np.zeros(4))],
                pads=[2, 2, 2, 2])
    bn = g.node("BatchNormalization", [c1, g.const(rng.uniform(0.5, 1.5, 4)),
                                       g.const(rng.normal(0, 0.1, 4)),
                                       g.const(rng.normal(0, 0.1, 4)),
                                       g.const(rng.uniform(0.5, 2.0, 4))], epsilon=1e-5)
    a1 = g.node("Relu", [bn])
    p1 = g.node(pool, [a1], kernel_shape=[2, 2], strides=[2, 2])
    c2 = g.node("Conv", [p1, g.const(_init(rng, (8, 4, 5, 5), 100)),
                         g.const(rng.normal(0, 0.05, 8))])
    a2 = g.node("Relu", [c2])
    p2 = g.node(pool, [a2], kernel_shape=[2, 2], strides=[2, 2])
    f = g.node("Flatten", [p2], axis=1)
    h = g.node("Gemm", [f, g.const(_init(rng, (32, 200), 200)), g.const(rng.normal(0, 0.05, 32))],
               transB=1)
    a3 = g.node("Relu", [h])
    y = g.node("Gemm", [a3, g.const(_init(rng, (10, 32), 32)), g.const(np.zeros(10))], transB=1)
    return g.model({"x": [1, 1, 28, 28]}, [y], rename={y: "logits"})


def _layernorm(g: GraphMaker, x: str, d: int, rng: np.random.Generator, expanded: bool) -> str:
    gamma, beta = g.const(rng.uniform(0.8, 1.2, d)), g.const(rng.normal(0, 0.1, d))
    if not expanded:
        return g.node("LayerNormalization", [x, gamma, beta], axis=-1, epsilon=1e-5)
    mu = g.node("ReduceMean", [x], axes=[-1], keepdims=1)
    dd = g.node("Sub", [x, mu])
    p = g.node("Pow", [dd, g.const(2.0)])
    v = g.node("ReduceMean", [p], axes=[-1], keepdims=1)
    s = g.node("Sqrt", [g.node("Add", [v, g.const(1e-5)])])
    n = g.node("Div", [dd, s])
    return g.node("Add", [g.node("Mul", [n, gamma]), beta])


def _linear(g: GraphMaker, x: str, n_in: int, n_out: int, rng: np.random.Generator) -> str:
    w = g.const(_init(rng, (n_in, n_out), n_in) * 0.7)
    return g.node("Add", [g.node("MatMul", [x, w]), g.const(rng.normal(0, 0.05, n_out))])


def transformer_block(seq: int = 8, d: int = 16, heads: int = 2, ffn: int = 32, seed: int = 0,
                      legacy: bool = False) -> Any:
    """A pre-LayerNorm transformer block on ``x[1, seq, d]``.

    ``legacy=True`` writes LayerNorm and GELU as opset-13 exporters do (the
    ReduceMean/Sub/Pow/Sqrt/Div expansion and the Erf pattern); otherwise the
    opset-20 ``LayerNormalization`` and ``Gelu`` ops.
    """
    rng = np.random.default_rng(seed)
    g = GraphMaker()
    dh = d // heads
    h = _layernorm(g, "x", d, rng, legacy)
    q, k, v = (_linear(g, h, d, d, rng) for _ in range(3))
    shp = g.const([1, seq, heads, dh], dtype=np.int64)
    qh = g.node("Transpose", [g.node("Reshape", [q, shp])], perm=[0, 2, 1, 3])
    kh = g.node("Transpose", [g.node("Reshape", [k, shp])], perm=[0, 2, 3, 1])
    vh = g.node("Transpose", [g.node("Reshape", [v, shp])], perm=[0, 2, 1, 3])
    s = g.node("Div", [g.node("MatMul", [qh, kh]), g.const(math.sqrt(dh))])
    p = g.node("Softmax", [s], axis=-1)
    o = g.node("Transpose", [g.node("MatMul", [p, vh])], perm=[0, 2, 1, 3])
    o = g.node("Reshape", [o, g.const([1, seq, d], dtype=np.int64)])
    x1 = g.node("Add", ["x", _linear(g, o, d, d, rng)])
    h2 = _layernorm(g, x1, d, rng, legacy)
    f = _linear(g, h2, d, ffn, rng)
    if legacy:
        e = g.node("Erf", [g.node("Div", [f, g.const(math.sqrt(2.0))])])
        act = g.node("Mul", [g.node("Mul", [f, g.node("Add", [e, g.const(1.0)])]), g.const(0.5)])
    else:
        act = g.node("Gelu", [f])
    y = g.node("Add", [x1, _linear(g, act, ffn, d, rng)])
    return g.model({"x": [1, seq, d]}, [y], opset=13 if legacy else 20, rename={y: "y"})
