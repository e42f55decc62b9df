"""Lowering of pools, reductions, Softmax, LayerNormalization and ArgMax.

Pools are ``window`` views reduced by ``max`` or ``sum``; ONNX's
``count_include_pad=0`` (the default) divides each window by its own count of
real elements (a constant multiplier per position). Max pooling over padding
shifts negative inputs to ``>= 0`` first, so the zeros read by padding never
win. Softmax uses the assembler's macro (docs/isa.md "softmax") on an input
rescaled to at most scale 10.

LayerNormalization is expanded here (not with the ``layernorm`` macro) so that
its result gets a *tight* worst-case bound: ``mean``, ``c = x - mean``,
``var = mean(c·c)``, ``r = rsqrt(var + eps)`` (a table over ``[0, var_max]``,
``var_max`` = 4 × the largest calibrated variance: larger variances are
clamped), ``n = c·r`` rescaled, then clamped to ``±sqrt(m-1)`` (which
``|x_i - mean| <= sqrt(m-1)·std`` guarantees, so the clamp changes nothing)
with :func:`.ops_math.clamp`, then ``n·gamma + beta``. Without the clamp the
interval analysis would bound ``n`` by ``max|c| / sqrt(eps)`` and every later
layer (attention's ``Q·Kᵀ``) would lose most of its precision to fit ``i32``."""

from __future__ import annotations

import math

import numpy as np

from .graph import Node
from .lower import QT, Lowering, op
from .ops_linear import _reshape, conv_pads
from .ops_math import clamp

#: softmax inputs are rescaled to at most this scale (exp table ~ (S+2)·ln2·2^s entries)
SOFTMAX_IN_SCALE = 10
#: softmax output scale cap
SOFTMAX_OUT_SCALE = 14
#: layernorm runs at least at this scale (its normalised output has x's scale)
LN_MIN_SCALE = 12
#: var_max = LN_VAR_MARGIN × the largest calibrated variance
LN_VAR_MARGIN = 4.0
#: the rsqrt table holds at most 2^LN_TABLE_BITS entries
LN_TABLE_BITS = 16
#: worst-case width of the normalised value before its clamp (relu checks up to 48 bits)
LN_PRECLAMP_BITS = 40
#: rsqrt output scale for a standard deviation <= 1 (one more bit per doubling above)
LN_RSQRT_SCALE = 12


def _pool_geometry(c: Lowering, n: Node, x: QT) -> tuple[QT, dict, list[int], list[int]]:
    """4-D input, window params, ONNX pads ``[t, l, b, r]`` and the ceil-mode extras."""
    xs = c.pshape(x)
    if len(xs) not in (3, 4):
        raise c.unsupported(f"only 1-D and 2-D pooling is compiled (input {list(xs)})")
    kernel = list(n.attrs["kernel_shape"])
    r = len(kernel)
    strides = list(n.attrs.get("strides", [1] * r))
    dil = list(n.attrs.get("dilations", [1] * r))
    pads = conv_pads(n, xs[2:], kernel, strides, dil)
    oshape = list(c.shape(n.outputs[0]))
    if r == 1:
        x = _reshape(c, x, (xs[0], xs[1], 1, xs[2]), c.out_name("x4"))
        kernel, strides, dil = [1] + kernel, [1] + strides, [1] + dil
        pads = [0, pads[0], 0, pads[1]]
        oshape = oshape[:2] + [1] + oshape[2:]
    hw = c.pshape(x)[2:]
    extra = []
    for i in range(2):
        span = (kernel[i] - 1) * dil[i] + 1
        need = (oshape[2 + i] - 1) * strides[i] + span - (hw[i] + pads[i] + pads[2 + i])
        extra.append(max(need, 0))
    padding = [pads[0], pads[1], pads[2] + extra[0], pads[3] + extra[1]]
    return x, {"kernel": kernel, "stride": strides, "padding": padding, "dilation": dil}, \
        pads, extra


@op("MaxPool")
def lower_maxpool(c: Lowering, n: Node) -> None:
    x = c.tensor(n.inputs[0])
    x4, win, _, _ = _pool_geometry(c, n, x)
    lo = c.iv(x4)[0]
    shift = None
    if any(win["padding"]) and lo < 0:
        shift = c.weight(np.array(lo / 2.0**x4.scale), n.outputs[0] + "_lo", scale=x4.scale)
        x4 = c.emit("sub", [x4, shift], c.out_name("shift"))
    w = c.emit("window", [x4], c.out_name("win"), win)
    y = c.emit("max", [w], c.out_name("max" if shift else ""), {"axes": [4]})
    if shift is not None:
        y = c.emit("add", [y, shift], c.out_name())
    c.set(_reshape(c, y, c.shape(n.outputs[0]), c.out_name("r")))


def _window_counts(hw: tuple[int, ...], win: dict, pads: list[int], extra: list[int],
                   include_pad: bool) -> np.ndarray:
    """Number of counted positions in every window ``[OH, OW]``."""
    h, w = hw
    t, l, b, r = win["padding"]
    mask = np.zeros((h + t + b, w + l + r))
    if include_pad:
        mask[: h + pads[0] + pads[2], : w + pads[1] + pads[3]] = 1.0
    else:
        mask[t : t + h, l : l + w] = 1.0
    (kh, kw), (sh, sw), (dh, dw) = win["kernel"], win["stride"], win["dilation"]
    oh = (mask.shape[0] - (kh - 1) * dh - 1) // sh + 1
    ow = (mask.shape[1] - (kw - 1) * dw - 1) // sw + 1
    rows = (np.arange(oh) * sh)[:, None] + (np.arange(kh) * dh)[None, :]
    cols = (np.arange(ow) * sw)[:, None] + (np.arange(kw) * dw)[None, :]
    return mask[rows[:, None, :, None], cols[None, :, None, :]].sum(axis=(2, 3))


@op("AveragePool")
def lower_avgpool(c: Lowering, n: Node) -> None:
    x = c.tensor(n.inputs[0])
    x4, win, pads, extra = _pool_geometry(c, n, x)
    counts = _window_counts(c.pshape(x4)[2:], win, pads, extra,
                            bool(n.attrs.get("count_include_pad", 0)))
    w = c.emit("window", [x4], c.out_name("win"), win)
    s = c.emit("sum", [w], c.out_name("sum"), {"axes": [4]})
    if np.all(counts == counts.flat[0]) and 1 <= counts.flat[0] <= 1 << 16:
        y = c.emit("div", [s], c.out_name(), {"d": int(counts.flat[0])}) if counts.flat[0] > 1 \
            else s
    else:
        inv = c.weight((1.0 / np.maximum(counts, 1))[None, None], n.outputs[0] + "_inv")
        s = c.fit_to(s, c.maxabs(inv))
        y = c.emit("mul", [s, inv], c.out_name("mul"))
        y = c.requant(y, x.scale, c.out_name())
    c.set(_reshape(c, y, c.shape(n.outputs[0]), c.out_name("r")))


def _reduce(c: Lowering, n: Node, macro: str, axes: list[int] | None) -> None:
    x = c.tensor(n.inputs[0])
    rank = len(c.pshape(x))
    keep = bool(n.attrs.get("keepdims", 1))
    if not axes:
        if n.attrs.get("noop_with_empty_axes", 0):
            c.set(x)
            return
        axes = list(range(rank))
    y = c.emit(macro, [x], c.out_name(), {"axes": [a % rank for a in axes], "keepdims": keep})
    c.set(_reshape(c, y, c.shape(n.outputs[0]), c.out_name("r")))


def _axes(c: Lowering, n: Node) -> list[int] | None:
    if "axes" in n.attrs:
        return list(n.attrs["axes"])
    return c.ints(n.inputs[1]) if len(n.inputs) > 1 else None


@op("ReduceMean")
def lower_reducemean(c: Lowering, n: Node) -> None:
    _reduce(c, n, "mean", _axes(c, n))


@op("ReduceSum")
def lower_reducesum(c: Lowering, n: Node) -> None:
    _reduce(c, n, "sum", _axes(c, n))


@op("ReduceMax")
def lower_reducemax(c: Lowering, n: Node) -> None:
    _reduce(c, n, "max", _axes(c, n))


@op("GlobalAveragePool")
def lower_gap(c: Lowering, n: Node) -> None:
    rank = len(c.pshape(c.tensor(n.inputs[0])))
    _reduce(c, Node(n.name, n.op, n.inputs[:1], n.outputs, {"keepdims": 1}), "mean",
            list(range(2, rank)))


@op("GlobalMaxPool")
def lower_gmp(c: Lowering, n: Node) -> None:
    rank = len(c.pshape(c.tensor(n.inputs[0])))
    _reduce(c, Node(n.name, n.op, n.inputs[:1], n.outputs, {"keepdims": 1}), "max",
            list(range(2, rank)))


@op("Softmax")
def lower_softmax(c: Lowering, n: Node) -> None:
    x = c.tensor(n.inputs[0])
    xs = c.pshape(x)
    rank = len(xs)
    axis = int(n.attrs.get("axis", -1 if c.g.opset >= 13 else 1)) % rank
    flat = c.g.opset < 13 and axis != rank - 1
    if flat:  # opset < 13: softmax over the flattened trailing axes
        x = _reshape(c, x, (math.prod(xs[:axis]), math.prod(xs[axis:])), c.out_name("2d"))
        axis = 1
    x = c.requant(x, min(x.scale, SOFTMAX_IN_SCALE), c.out_name("in"))
    s_out = c.opts.scale if c.opts.scale is not None else min(c.opts.bits - 2, SOFTMAX_OUT_SCALE)
    y = c.emit("softmax", [x], c.out_name(), {"axis": axis, "scale": s_out})
    c.set(_reshape(c, y, c.shape(n.outputs[0]), c.out_name("r")))


@op("LayerNormalization")
def lower_layernorm(c: Lowering, n: Node) -> None:
    """LayerNorm over the trailing axes from ``axis`` (see the module docstring)."""
    x = c.tensor(n.inputs[0])
    xs = c.pshape(x)
    axis = int(n.attrs.get("axis", -1)) % len(xs)
    eps = float(n.attrs.get("epsilon", 1e-5))
    nshape = xs[axis:]
    m = math.prod(nshape)
    gamma = c.const(n.inputs[1])
    beta = c.const(n.inputs[2]) if len(n.inputs) > 2 and n.inputs[2] else np.zeros(nshape)
    if gamma is None or beta is None:
        raise c.unsupported("scale (gamma) and bias (beta) must be constants")
    gamma = np.broadcast_to(gamma, nshape).reshape(m)
    beta = np.broadcast_to(beta, nshape).reshape(m)
    if len(nshape) != 1:
        x = _reshape(c, x, tuple(xs[:axis]) + (m,), c.out_name("flat"))
    if x.scale < LN_MIN_SCALE:
        x = c.upscale(x, LN_MIN_SCALE)
    # (2·max|x|)^2·m must stay below 2^61 (the variance's partial sums)
    excess = ((2 * c.maxabs(x)) ** 2 * m).bit_length() - 61
    if excess > 0:
        x = c.requant(x, x.scale - (excess + 1) // 2, c.out_name("fit"))
    s = x.scale
    v = c.calib.stacked(n.inputs[0]).reshape(-1, m)
    var_max = max(float(v.var(axis=1).max()) * LN_VAR_MARGIN, eps, 2.0 ** (-2 * s))
    red = {"axes": [len(c.pshape(x)) - 1], "keepdims": True}
    mu = c.emit("mean", [x], c.out_name("mu"), red)
    cc = c.emit("sub", [x, mu], c.out_name("c"))
    c2 = c.emit("mul", [cc, cc], c.out_name("c2"))
    var = c.emit("mean", [c2], c.out_name("var"), red)
    v_hi = min(c.iv(var)[1], max(1, int(var_max * 2.0 ** (2 * s))))
    k = max(0, v_hi.bit_length() - LN_TABLE_BITS)
    vr = c.emit("rescale", [var], c.out_name("vr"), {"k": k}) if k else var
    top = (v_hi + ((1 << (k - 1)) if k else 0)) >> k
    r_scale = LN_RSQRT_SCALE + max(0, math.ceil(math.log2(math.sqrt(var_max))))
    r = c.emit("lut", [vr], c.out_name("r"), {"fn": "rsqrt", "range": [0, max(top, 0)],
                                              "scale": r_scale, "eps": eps})
    x2, r = c.product_fit(cc, r)
    nm = c.emit("mul", [x2, r], c.out_name("n"))
    t = c.opts.scale if c.opts.scale is not None else c.opts.bits - 2
    nr = c.requant(nm, t, c.out_name("nr"), cap=LN_PRECLAMP_BITS)  # the clamp narrows it
    # |x_i - mean| <= sqrt(m - 1)·std: a tight bound for the interval analysis
    bound = math.ceil(math.sqrt(max(m - 1, 0)) * 1.001 * 2.0**nr.scale) + 2
    nr = clamp(c, nr, -bound, bound, c.out_name("nc"))
    gw = c.weight(gamma, n.outputs[0] + "_gamma")
    nr, gw = c.product_fit(nr, gw)
    g = c.emit("mul", [nr, gw], c.out_name("g"))
    g = c.requant(g, c.target_scale(n.outputs[0]), c.out_name("gr"))
    y = c.emit("add", [g, c.weight(beta, n.outputs[0] + "_beta", scale=g.scale)], c.out_name())
    c.set(_reshape(c, y, c.shape(n.outputs[0]), c.out_name("r")))


@op("ArgMax")
def lower_argmax(c: Lowering, n: Node) -> None:
    if n.attrs.get("select_last_index", 0):
        raise c.unsupported("select_last_index=1 (zkvm's argmax returns the first maximum)")
    x = c.tensor(n.inputs[0])
    rank = len(c.pshape(x))
    y = c.emit("argmax", [x], c.out_name(), {"axis": int(n.attrs.get("axis", 0)) % rank,
                                             "keepdims": bool(n.attrs.get("keepdims", 1))})
    c.set(y)
