"""The benchmark models of issue 7, as zkvm programs (and, for EZKL, as ONNX graphs).

* ``mlp``, ``cnn``, ``tiny``: the trained example models of ``models/``
  (:func:`zkvm.examples.program.build_program`, shipped weights, held-out image 0);
* ``attention``: one self-attention block, 8 tokens of width 16, Q/K/V
  projections, ``softmax(Q Kᵀ / 4) V`` (the ``1/4`` is folded into ``W_q``);
* ``lenet``: LeNet-5 on a 28x28 input: conv 6@5x5 (pad 2) → ReLU → avgpool 2
  → conv 16@5x5 → ReLU → avgpool 2 → dense 400→120 → ReLU → 120→84 → ReLU →
  84→10 (61,706 parameters);
* ``transformer``: a pre-LayerNorm block on 16 tokens × 32: LN → single-head
  attention with output projection → residual → LN → dense 32→64 → GELU →
  64→32 → residual;
* ``mlp1m``: MLP 784→1024→256→10 with ReLU (1,068,810 parameters);
* ``mlp-w<K>``: 784→K→10 with ReLU, the family of the linear-scaling curve;
* ``adds<K>``: K chained element-wise adds (one table each): the per-table cost.

The models that ``models/`` does not have use deterministic seeded random
weights (fan-in scaled normal) and a seeded input; they are written with
:class:`zkvm.assembler.Builder` by :class:`Net`, which quantizes like
``models/program.py``: activations ``i16`` at scale 8 (a hidden layer's
rescale is raised until the worst-case bound fits ``i16``), weights ``i16``
at the largest scale ≤ 14 that fits, biases ``i32`` at the accumulator's
scale. Every input and weight is public. ``Net`` records the same float
model as ONNX nodes, so that the optional EZKL comparison proves exactly
this model (``BenchModel.onnx()``; needs the ``onnx`` package).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from zkvm.assembler import Builder
from zkvm.isa.lut import round_half_up
from zkvm.isa.program import Program
from zkvm.isa.quant import rescale_shift

from . import program as _program

ACT_SCALE = 8
WEIGHT_BITS = 16
MAX_WEIGHT_SCALE = 14
#: the GELU table covers [-8, 8] (real units); gelu(x) = x above, 0 below within 1e-14
GELU_RANGE = 8.0


@dataclass
class BenchModel:
    """One benchmark model: its program, an input, and how to write it as ONNX."""

    name: str
    description: str
    program: Program
    inputs: dict[str, np.ndarray]        # integers at the input's scale
    real_inputs: dict[str, np.ndarray]   # the same input as real numbers (for ONNX/EZKL)
    onnx_fn: Callable[[], Any] | None = None

    @property
    def macs(self) -> int:
        """Multiply-accumulates of the program's matmuls (convolutions are im2col matmuls)."""
        total = 0
        for ins in self.program.instructions:
            if ins.op == "matmul":
                x = self.program.tensors[ins.inputs[0]].shape
                w = self.program.tensors[ins.inputs[1]].shape
                total += math.prod(x[:-1]) * w[0] * w[1]
        return total

    @property
    def n_params(self) -> int:
        return self.program.n_params

    def onnx(self) -> Any:
        """The same float model as an ``onnx.ModelProto`` (raises if ``onnx`` is missing)."""
        if self.onnx_fn is None:
            raise NotImplementedError(f"model '{self.name}' has no ONNX form")
        return self.onnx_fn()


def weight_scale(w: np.ndarray, bits: int = WEIGHT_BITS, cap: int = MAX_WEIGHT_SCALE) -> int:
    """Largest scale ``s ≤ cap`` with ``max|w|·2^s ≤ 2^(bits-1) − 1`` (the trained models' rule)."""
    return _program.weight_scale(w, bits, cap)


class Net:
    """Writes a quantized program with :class:`Builder` and records the float model as ONNX ops.

    Tensor arguments and results are program tensor names; the ONNX graph
    uses the same names (``_onnx`` maps them when they differ).
    """

    def __init__(self, name: str, description: str, seed: int, act_bits: int = 32) -> None:
        self.b = Builder()
        self.act_bits = act_bits
        self.b.meta("name", name)
        self.b.meta("description", description)
        self.b.meta("source", "zkvm/examples/models.py (seeded random weights)")
        self.rng = np.random.default_rng(seed)
        self.ops: list[Callable[[Any, dict[str, str]], None]] = []
        self.input_shapes: dict[str, list[int]] = {}
        self.n = 0

    # ---------------------------------------------------------------- helpers
    def scale(self, t: str) -> int:
        return self.b.tensors[t].scale

    def _fresh(self, tag: str) -> str:
        self.n += 1
        return f"{tag}{self.n}"

    def _const(self, g: Any, value: np.ndarray) -> str:
        return g.const(np.asarray(value, dtype=np.float32))

    def _rescale_to(self, acc: str, out: str, target: int | None) -> str:
        """``rescale`` to ``target`` (exact; widest as needed) or, if None, to act scale fitting i16."""
        s = self.scale(acc)
        if target is not None:
            k = s - target
            return acc if k <= 0 else self.b.emit("rescale", [acc], out, {"k": k}).name
        lo, hi = self.b.intervals[acc]
        k = rescale_shift(lo, hi, max(s - ACT_SCALE, 1), self.act_bits)
        return self.b.emit("rescale", [acc], out, {"k": k}).name

    # ------------------------------------------------------------------- ops
    def input(self, name: str, shape: tuple[int, ...], lo: float, hi: float,
              real: np.ndarray) -> np.ndarray:
        """Declare a public ``i16`` input at scale 8 with real range ``[lo, hi]``; return its ints."""
        q = (int(math.floor(lo * 2**ACT_SCALE)), int(math.ceil(hi * 2**ACT_SCALE)))
        self.b.input(name, shape, 16, ACT_SCALE, "public", q)
        self.input_shapes[name] = list(shape)
        return np.clip(round_half_up(np.asarray(real, dtype=np.float64) * 2.0**ACT_SCALE), *q)

    def dense(self, x: str, n_out: int, out: str, gain: float = 1.0, w: np.ndarray | None = None,
              target: int | None = None) -> str:
        """``x @ w + b`` then rescale (``target``: exact output scale, else fit ``i16``)."""
        n_in = self.b.tensors[x].shape[-1]
        if w is None:
            w = self.rng.standard_normal((n_in, n_out)) * math.sqrt(2.0 / n_in) * gain
        bias = self.rng.standard_normal(n_out) * 0.05
        s_w = weight_scale(w)
        s_acc = self.scale(x) + s_w
        self.b.weight(f"{out}.w", round_half_up(w * 2.0**s_w), WEIGHT_BITS, s_w)
        self.b.weight(f"{out}.b", round_half_up(bias * 2.0**s_acc), 32, s_acc)
        acc = self.b.emit("matmul", [x, f"{out}.w", f"{out}.b"], f"{out}.acc").name
        y = self._rescale_to(acc, out, target)

        def op(g: Any, env: dict[str, str]) -> None:
            mm = g.node("MatMul", [env[x], self._const(g, w)])
            env[y] = g.node("Add", [mm, self._const(g, bias)])
        self.ops.append(op)
        return y

    def conv(self, x: str, c_out: int, k: int, out: str, stride: int = 1, pad: int = 0) -> str:
        """2-D convolution (NCHW, OIHW), bias, rescale fitting ``i16``."""
        c_in = self.b.tensors[x].shape[1]
        fan = c_in * k * k
        w = self.rng.standard_normal((c_out, c_in, k, k)) * math.sqrt(2.0 / fan)
        bias = self.rng.standard_normal(c_out) * 0.05
        s_w = weight_scale(w)
        s_acc = self.scale(x) + s_w
        self.b.weight(f"{out}.w", round_half_up(w * 2.0**s_w), WEIGHT_BITS, s_w)
        self.b.weight(f"{out}.b", round_half_up(bias * 2.0**s_acc), 32, s_acc)
        p = {"stride": [stride, stride], "padding": [pad] * 4}
        acc = self.b.emit("conv2d", [x, f"{out}.w", f"{out}.b"], f"{out}.acc", p).name
        y = self._rescale_to(acc, out, None)

        def op(g: Any, env: dict[str, str]) -> None:
            env[y] = g.node("Conv", [env[x], self._const(g, w), self._const(g, bias)],
                            strides=[stride, stride], pads=[pad] * 4)
        self.ops.append(op)
        return y

    def unary(self, op_name: str, x: str, out: str, params: dict | None = None,
              onnx_op: str | None = None, **attrs: Any) -> str:
        """A one-input macro or primitive (relu, avgpool, flatten, softmax) mirrored in ONNX."""
        y = self.b.emit(op_name, [x], out, params or {}).name

        def op(g: Any, env: dict[str, str]) -> None:
            env[y] = g.node(onnx_op, [env[x]], **attrs)
        self.ops.append(op)
        return y

    def relu(self, x: str, out: str) -> str:
        return self.unary("relu", x, out, onnx_op="Relu")

    def avgpool(self, x: str, out: str) -> str:
        return self.unary("avgpool", x, out, {"kernel": [2, 2]}, onnx_op="AveragePool",
                          kernel_shape=[2, 2], strides=[2, 2])

    def flatten(self, x: str, out: str) -> str:
        return self.unary("flatten", x, out, onnx_op="Flatten", axis=1)

    def softmax(self, x: str, out: str) -> str:
        return self.unary("softmax", x, out, {"axis": -1, "scale": ACT_SCALE}, onnx_op="Softmax",
                          axis=-1)

    def gelu(self, x: str, out: str) -> str:
        """GELU (erf form) by a ``lut`` over ``[-GELU_RANGE, GELU_RANGE]``."""
        s = self.scale(x)
        r = int(GELU_RANGE * 2**s)  # [-r, r - 1]: 2r entries, a power of two (2r + 1 would double it)
        y = self.b.emit("lut", [x], out, {"fn": "gelu", "range": [-r, r - 1],
                                          "scale": ACT_SCALE}).name

        def op(g: Any, env: dict[str, str]) -> None:
            e = g.node("Erf", [g.node("Div", [env[x], self._const(g, math.sqrt(2.0))])])
            one = g.node("Add", [e, self._const(g, 1.0)])
            env[y] = g.node("Mul", [g.node("Mul", [env[x], one]), self._const(g, 0.5)])
        self.ops.append(op)
        return y

    def add(self, a: str, b: str, out: str) -> str:
        y = self.b.emit("add", [a, b], out).name

        def op(g: Any, env: dict[str, str]) -> None:
            env[y] = g.node("Add", [env[a], env[b]])
        self.ops.append(op)
        return y

    def matmul(self, a: str, b: str, out: str, transpose_b: bool = False,
               convex: bool = False) -> str:
        """``a @ b`` (or ``a @ bᵀ``) of two activations, rescaled (fitting ``act_bits``).

        ``convex``: the rows of ``a`` are softmax outputs (non-negative, summing
        to 1 up to rounding), so ``|y| ≤ max|b|``: the result is clamped to that
        bound (never active on an honest run) to keep the interval analysis tight.
        """
        bb = b
        if transpose_b:
            bb = self.b.emit("transpose", [b], f"{out}.bt", {"perm": [1, 0]}).name
        acc = self.b.emit("matmul", [a, bb], f"{out}.acc").name
        y = self._rescale_to(acc, out + ".full" if convex else out, None)
        if convex:
            n, s_a = self.b.tensors[a].shape[-1], self.scale(a)
            b_max = max(abs(v) for v in self.b.intervals[b])
            shift = self.scale(y) - self.scale(b)
            bound = math.ceil(b_max * 2.0**shift * (1 + n / 2.0 ** (s_a + 1))) + 2
            y = self.clamp(y, bound, out)
            self.ops.pop()

        def op(g: Any, env: dict[str, str]) -> None:
            rhs = g.node("Transpose", [env[b]], perm=[1, 0]) if transpose_b else env[b]
            env[y] = g.node("MatMul", [env[a], rhs])
        self.ops.append(op)
        return y

    def clamp(self, x: str, bound: int, out: str) -> str:
        """``min(max(x, -bound), bound)`` as ``bound - relu(2·bound - relu(x + bound))``: a tight
        interval for the analysis (no ONNX node: the float value is within the bound)."""
        s = self.scale(x)
        for tag, v in (("lo", bound), ("span", 2 * bound), ("hi", bound)):
            self.b.weight(f"{out}.{tag}", np.array(v), 32, s)
        a = self.b.emit("relu", [self.b.emit("add", [x, f"{out}.lo"], f"{out}.a").name],
                        f"{out}.ra").name
        c = self.b.emit("relu", [self.b.emit("sub", [f"{out}.span", a], f"{out}.c").name],
                        f"{out}.rc").name
        y = self.b.emit("sub", [f"{out}.hi", c], out).name
        self.ops.append(lambda g, env: env.__setitem__(y, env[x]))
        return y

    def layernorm(self, x: str, out: str, var_max: float = 3.99) -> str:
        """LayerNorm over the last axis (the ``layernorm`` macro), output clamped to its true bound
        ``sqrt(n-1)·max|γ| + max|β|`` so that the next layer keeps its precision. An input
        too wide for an ``i32`` variance is rescaled first (the LN then runs at a lower scale)."""
        n = self.b.tensors[x].shape[-1]
        m = max(abs(v) for v in self.b.intervals[x])
        k = 0
        while (2 * m >> k) ** 2 >= 2**31:  # the variance must stay i32 (the divide's output)
            k += 1
        src = x
        if k:
            x = self.b.emit("rescale", [x], f"{out}.in", {"k": k}).name
        s = self.scale(x)
        gamma = self.rng.uniform(0.8, 1.2, n)
        beta = self.rng.normal(0, 0.1, n)
        self.b.weight(f"{out}.gamma", round_half_up(gamma * 2.0**8), 16, 8)
        self.b.weight(f"{out}.beta", round_half_up(beta * 2.0**s), 16, s)
        ln = self.b.emit("layernorm", [x, f"{out}.gamma", f"{out}.beta"], f"{out}.ln",
                         {"var_max": var_max}).name
        bound = math.ceil((math.sqrt(n - 1) * gamma.max() + np.abs(beta).max()) * 2**s) + 4
        y = self.clamp(ln, bound, out)

        def op(g: Any, env: dict[str, str]) -> None:
            env[y] = g.node("LayerNormalization", [env[src], self._const(g, gamma),
                                                   self._const(g, beta)], axis=-1, epsilon=1e-5)
        self.ops.pop()  # the clamp's identity: replaced by the LayerNorm node
        self.ops.append(op)
        return y

    def finish(self, out: str) -> Program:
        self.b.output(out)
        self.program = self.b.build()
        self.out = out
        return self.program

    def to_onnx(self, opset: int = 18) -> Any:
        """The recorded float model as ONNX (``onnx.helper``; the output is named like the program's)."""
        from zkvm.assembler.onnx.examples import GraphMaker

        g = GraphMaker()
        env = {k: k for k in self.input_shapes}
        for op in self.ops:
            op(g, env)
        return g.model(self.input_shapes, [env[self.out]], opset=opset,
                       rename={env[self.out]: self.out})



# --------------------------------------------------------------------- models
def _seeded_input(rng: np.random.Generator, shape: tuple[int, ...], lim: float) -> np.ndarray:
    return np.clip(rng.standard_normal(shape), -lim, lim)


def attention(seed: int = 1) -> BenchModel:
    """Self-attention, 8 tokens × 16: Q/K/V projections, ``softmax(Q Kᵀ / 4) V``."""
    desc = "self-attention 8x16: Q/K/V projections, softmax(QK^T/4)V"
    net = Net("attention", desc, seed)
    real = _seeded_input(net.rng, (8, 16), 3.0)
    x = net.input("x", (8, 16), -3.0, 3.0, real)
    wq = net.rng.standard_normal((16, 16)) * math.sqrt(2.0 / 16) / 4.0   # 1/sqrt(16) folded in
    q = net.dense("x", 16, "q", w=wq)
    k = net.dense("x", 16, "k")
    v = net.dense("x", 16, "v")
    p = net.softmax(net.matmul(q, k, "s", transpose_b=True), "p")
    net.finish(net.matmul(p, v, "o"))
    return BenchModel("attention", desc, net.program, {"x": x}, {"x": real}, net.to_onnx)


def lenet(seed: int = 2) -> BenchModel:
    """LeNet-5 on 28x28 (ReLU, average pooling): 61,706 parameters."""
    desc = "LeNet-5: conv6@5x5 pad2-relu-avgpool-conv16@5x5-relu-avgpool-400-120-84-10"
    net = Net("lenet", desc, seed)
    real = _digit("mlp").reshape(1, 1, 28, 28)
    x = net.input("x", (1, 1, 28, 28), 0.0, 1.0, real)
    h = net.avgpool(net.relu(net.conv("x", 6, 5, "c1", pad=2), "a1"), "p1")
    h = net.avgpool(net.relu(net.conv(h, 16, 5, "c2"), "a2"), "p2")
    h = net.flatten(h, "f")
    h = net.relu(net.dense(h, 120, "d3"), "a3")
    h = net.relu(net.dense(h, 84, "d4"), "a4")
    net.finish(net.dense(h, 10, "logits"))
    return BenchModel("lenet", desc, net.program, {"x": x}, {"x": real}, net.to_onnx)


def transformer(seed: int = 3, seq: int = 16, d: int = 32, ffn: int = 64) -> BenchModel:
    """Pre-LayerNorm transformer block, 16 tokens × 32, one head, GELU MLP 32→64→32."""
    desc = (f"pre-LN transformer block {seq}x{d}: LN-attention(QKV, out proj)-residual-"
            f"LN-{d}->{ffn} GELU->{d}-residual")
    net = Net("transformer", desc, seed)
    real = _seeded_input(net.rng, (seq, d), 3.0)
    x = net.input("x", (seq, d), -3.0, 3.0, real)
    h = net.layernorm("x", "ln1")
    wq = net.rng.standard_normal((d, d)) * math.sqrt(1.0 / d) / math.sqrt(d)
    q = net.dense(h, d, "q", w=wq)
    k = net.dense(h, d, "k", gain=math.sqrt(0.5))
    v = net.dense(h, d, "v", gain=math.sqrt(0.5))
    p = net.softmax(net.matmul(q, k, "s", transpose_b=True), "p")
    o = net.dense(net.matmul(p, v, "att", convex=True), d, "proj", gain=math.sqrt(0.5), target=ACT_SCALE)
    x1 = net.add("x", o, "x1")
    h2 = net.layernorm(x1, "ln2")
    f = net.gelu(net.dense(h2, ffn, "ff1", gain=math.sqrt(0.5)), "gelu")
    y = net.add(x1, net.dense(f, d, "ff2", gain=math.sqrt(0.5), target=ACT_SCALE), "y")
    net.finish(y)
    return BenchModel("transformer", desc, net.program, {"x": x}, {"x": real}, net.to_onnx)


def mlp_net(name: str, widths: list[int], seed: int, desc: str) -> BenchModel:
    """``784 → widths... → 10`` with ReLU, seeded weights, on held-out digit 0."""
    net = Net(name, desc, seed)
    real = _digit("mlp").reshape(1, 784)
    x = net.input("x", (1, 784), 0.0, 1.0, real)
    h = "x"
    for i, w in enumerate(widths):
        h = net.relu(net.dense(h, w, f"d{i + 1}"), f"a{i + 1}")
    net.finish(net.dense(h, 10, "logits"))
    return BenchModel(name, desc, net.program, {"x": x}, {"x": real}, net.to_onnx)


def mlp1m(seed: int = 4) -> BenchModel:
    return mlp_net("mlp1m", [1024, 256], seed, "MLP 784->1024->256->10 with ReLU")


def scaling_model(width: int, seed: int = 5) -> BenchModel:
    """``784 → width → 10`` (the linear-scaling family)."""
    return mlp_net(f"mlp-w{width}", [width], seed, f"MLP 784->{width}->10 with ReLU")


def adds_model(k: int, width: int = 256) -> BenchModel:
    """``k`` chained element-wise adds on ``[1, width]``: one small table per instruction
    (measures the per-table cost of a proof; not a model of the issue)."""
    desc = f"{k} chained adds on [1, {width}] (per-table cost)"
    b = Builder()
    b.meta("name", f"adds{k}")
    b.input("x", (1, width), 16, ACT_SCALE, "public", (0, 256))
    b.weight("one", np.ones((1, width), dtype=np.int64), 16, ACT_SCALE)
    h = "x"
    for i in range(k):
        h = b.emit("add", [h, "one"], f"h{i}").name
    b.output(h)
    x = np.arange(width, dtype=np.int64).reshape(1, width) % 257
    return BenchModel(f"adds{k}", desc, b.build(), {"x": x}, {"x": x / 2.0**ACT_SCALE})


def _digit(name: str) -> np.ndarray:
    from zkvm.examples.trained import sample_input

    doc, _ = sample_input(name, 0)
    return np.asarray(doc["input_data"][0], dtype=np.float64)


def trained(name: str) -> BenchModel:
    """A trained model of ``models/`` (committed weights) on its held-out image 0."""
    from zkvm.examples.nets import get_spec
    from zkvm.examples.program import QuantConfig, build_program
    from zkvm.examples.trained import load_weights
    from zkvm.io import quantize_inputs

    params = load_weights(name)
    program = build_program(name, params, QuantConfig())
    spec = get_spec(name)
    real = _digit(name).reshape(spec.input_shape)
    ints = quantize_inputs({"x": real}, program)
    return BenchModel(name, spec.description, program, ints, {"x": real},
                      lambda: _spec_onnx(spec, params))


def _spec_onnx(spec: Any, params: dict[str, np.ndarray]) -> Any:
    from zkvm.examples.nets import Conv, Dense, Flatten, ReLU
    from zkvm.assembler.onnx.examples import GraphMaker

    g = GraphMaker()
    cur, j = "x", 0
    for layer in spec.layers:
        if isinstance(layer, (Dense, Conv)):
            j += 1
            w, b = params[f"w{j}"].astype(np.float32), params[f"b{j}"].astype(np.float32)
            if isinstance(layer, Dense):
                cur = g.node("Add", [g.node("MatMul", [cur, g.const(w)]), g.const(b)])
            else:
                cur = g.node("Conv", [cur, g.const(w), g.const(b)],
                             strides=[layer.stride] * 2)
        elif isinstance(layer, ReLU):
            cur = g.node("Relu", [cur])
        elif isinstance(layer, Flatten):
            cur = g.node("Flatten", [cur], axis=1)
    return g.model({"x": list(spec.input_shape)}, [cur], rename={cur: "logits"})


#: the fixed benchmark set (issue 7), in table order
MODELS: dict[str, Callable[[], BenchModel]] = {
    "tiny": lambda: trained("tiny"),
    "mlp": lambda: trained("mlp"),
    "cnn": lambda: trained("cnn"),
    "attention": attention,
    "lenet": lenet,
    "transformer": transformer,
    "mlp1m": mlp1m,
}

#: hidden widths of the linear-scaling curve (784 → k → 10)
SCALING_WIDTHS = (16, 32, 64, 128, 256, 512, 1024)


def build(name: str) -> BenchModel:
    """The benchmark model ``name`` (a key of :data:`MODELS` or ``mlp-w<K>``).

    Raises:
        KeyError: unknown name.
    """
    if name in MODELS:
        return MODELS[name]()
    if name.startswith("mlp-w") and name[5:].isdigit():
        return scaling_model(int(name[5:]))
    if name.startswith("adds") and name[4:].isdigit():
        return adds_model(int(name[4:]))
    raise KeyError(f"unknown benchmark model '{name}' (known: {', '.join(MODELS)}, mlp-w<K>, "
                   "adds<K>)")
