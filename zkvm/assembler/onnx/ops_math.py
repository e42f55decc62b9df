"""Lowering of element-wise arithmetic and activations.

* ``Add``/``Sub``: operands brought to one scale (the finer one is rescaled);
  a constant operand becomes a weight at the tensor's scale.
* ``Mul``: exact ``mul`` then rescale to the output's target scale; a
  constant is a weight at its own scale (powers of two are exact: ``0.5`` is
  the integer 1 at scale 1). ``Div`` by a constant multiplies by its inverse
  (or uses ``div`` for an integer divisor); by a tensor, multiplies by a
  ``reciprocal`` table of the divisor's calibrated range.
* ``Pow`` by 2 (also 3, 4) is repeated ``mul``; by 0.5, -0.5, -1 it is
  ``Sqrt``, ``rsqrt``, ``Reciprocal``.
* ``Sigmoid``, ``Tanh``, ``Erf`` are ``lut`` over the range where they are not
  yet saturated (exact beyond it); ``Gelu`` too when its input's worst-case
  range is small, otherwise ``gelu(x) = relu(x) + gelu(-|x|)`` whose table is
  saturated on both sides, so no calibrated range is ever clamped.
* ``Relu`` is ``relu``; ``LeakyRelu`` is ``relu(x) + alpha·(x - relu(x))``;
  ``Clip`` is built from ``relu``s so that its bound is tight.
"""

from __future__ import annotations

import math

import numpy as np

from ...isa.lut import FUNCTIONS
from .graph import Node
from .lower import QT, Lowering, op

#: lut inputs are rescaled to at most this scale
MAX_LUT_IN_SCALE = 20
#: output scale of bounded activations (sigmoid, tanh, erf) at --bits 16
_BOUNDED_HEADROOM = 2


def _operand(c: Lowering, name: str, like: QT, hint: str) -> QT:
    """A tensor operand, or a constant as a weight at ``like``'s scale."""
    v = c.const(name)
    if v is None:
        return c.tensor(name)
    return c.weight(v, hint, scale=like.scale)


def _first_tensor(c: Lowering, n: Node) -> QT:
    for i in n.inputs[:2]:
        if c.const(i) is None:
            return c.tensor(i)
    raise c.error("no operand depends on the inputs (should have been folded)")


@op("Add", "Sub")
def lower_addsub(c: Lowering, n: Node) -> None:
    from .ops_select import masked_add  # an additive attention mask (-inf) before Softmax

    like = _first_tensor(c, n)
    vals = [c.const(i) for i in n.inputs[:2]]
    if n.op == "Add" and sum(v is not None for v in vals) == 1:
        y = masked_add(c, like, next(v for v in vals if v is not None))
        if y is not None:
            c.set(y)
            return
    a = _operand(c, n.inputs[0], like, n.outputs[0] + "_c")
    b = _operand(c, n.inputs[1], like, n.outputs[0] + "_c")
    a, b = c.align([a, b])
    c.set(c.emit(n.op.lower(), [a, b], c.out_name()))


def _mul(c: Lowering, a: QT, b: QT, out: str, name: str | None = None) -> QT:
    a, b = c.product_fit(a, b)
    y = c.emit("mul", [a, b], c.out_name("mul"))
    return c.requant(y, c.target_scale(out), name or c.out_name())


@op("Mul")
def lower_mul(c: Lowering, n: Node) -> None:
    av, bv = c.const(n.inputs[0]), c.const(n.inputs[1])
    if av is not None or bv is not None:
        x = c.tensor(n.inputs[1] if av is not None else n.inputs[0])
        v = av if av is not None else bv
        if np.all(v == 1.0) and np.broadcast_shapes(v.shape, c.pshape(x)) == c.pshape(x):
            c.set(x)
            return
        c.set(_mul(c, x, c.weight(v, n.outputs[0] + "_c"), n.outputs[0]))
        return
    c.set(_mul(c, c.tensor(n.inputs[0]), c.tensor(n.inputs[1]), n.outputs[0]))


@op("Div")
def lower_div(c: Lowering, n: Node) -> None:
    bv = c.const(n.inputs[1])
    out = n.outputs[0]
    if bv is not None:
        x = c.tensor(n.inputs[0])
        if np.any(bv == 0):
            raise c.error("division by a constant that holds 0")
        d = float(bv.reshape(-1)[0]) if bv.size == 1 else 0.0
        if bv.size == 1 and d == round(d) and 2 < d <= 1 << 16 and int(d) & (int(d) - 1) and \
                np.broadcast_shapes(bv.shape, c.pshape(x)) == c.pshape(x):
            c.set(c.emit("div", [x], c.out_name(), {"d": int(d)}))
            return
        c.set(_mul(c, x, c.weight(1.0 / bv, out + "_inv"), out))
        return
    r = _reciprocal(c, n.inputs[1], c.tensor(n.inputs[1]))
    av = c.const(n.inputs[0])
    a = c.weight(av, out + "_c") if av is not None else c.tensor(n.inputs[0])
    c.set(_mul(c, a, r, out))


def _range(c: Lowering, onnx_name: str) -> tuple[float, float]:
    st = c.calib.stats(onnx_name)
    return st.lo, st.hi


def lut(c: Lowering, x: QT, fn: str, lo: float, hi: float, out_scale: int, name: str,
        eps: float = 0.0, table_bits: int | None = None) -> QT:
    """``lut fn`` of ``x`` over real ``[lo, hi]`` (clamped), input rescaled to fit the table."""
    tb = table_bits or c.opts.table_bits
    span = max(hi - lo, 2.0**-MAX_LUT_IN_SCALE)
    s_in = min(x.scale, math.floor(math.log2(2.0**tb / span)), MAX_LUT_IN_SCALE)
    if s_in < x.scale:
        x = c.requant(x, s_in, c.fresh(name + "_in"))
    wl, wh = c.iv(x)
    ilo = min(max(math.floor(lo * 2.0**x.scale), wl), wh)
    ihi = min(max(math.ceil(hi * 2.0**x.scale), wl), wh)
    p = {"fn": fn, "range": [ilo, ihi], "scale": int(out_scale)}
    if eps:
        p["eps"] = float(eps)
    return c.emit("lut", [x], name, p)


def _saturation(f, limit: float, s_out: int, sign: int) -> float:
    """Smallest ``T`` (1/16 grid) with ``|f(sign·t) - limit| < 2^-(s_out+2)`` for ``t >= T``."""
    t = 64.0
    while t > 0 and abs(f(sign * (t - 1.0 / 16)) - limit) < 2.0 ** -(s_out + 2):
        t -= 1.0 / 16
    return t


def _bounded_scale(c: Lowering) -> int:
    return c.opts.scale if c.opts.scale is not None else c.opts.bits - _BOUNDED_HEADROOM


_SIG = {
    "Sigmoid": ("sigmoid", lambda v: 1 / (1 + math.exp(-v)), 0.0, 1.0),
    "Tanh": ("tanh", math.tanh, -1.0, 1.0),
    "Erf": ("erf", math.erf, -1.0, 1.0),
}


@op("Sigmoid", "Tanh", "Erf")
def lower_bounded(c: Lowering, n: Node) -> None:
    fn, f, low, high = _SIG[n.op]
    if fn not in FUNCTIONS:
        raise c.unsupported(f"zkvm's lut has no '{fn}' table (supported functions: "
                            f"{', '.join(FUNCTIONS)}); Erf is compiled inside the GELU pattern "
                            "0.5·x·(1+Erf(x/√2)); use Gelu")
    s_out = _bounded_scale(c)
    t_lo = _saturation(f, low, s_out, -1)
    t_hi = _saturation(f, high, s_out, 1)
    c.set(lut(c, c.tensor(n.inputs[0]), fn, -t_lo, t_hi, s_out, c.out_name()))


def _gelu(v: float) -> float:
    return 0.5 * v * (1.0 + math.erf(v / math.sqrt(2.0)))


def _gelu_tanh(v: float) -> float:
    return 0.5 * v * (1.0 + math.tanh(math.sqrt(2.0 / math.pi) * (v + 0.044715 * v**3)))


@op("Gelu")
def lower_gelu(c: Lowering, n: Node) -> None:
    approx = n.attrs.get("approximate", "none")
    if approx not in ("none", "tanh"):
        raise c.unsupported(f"approximate='{approx}' (ONNX allows 'none' and 'tanh')")
    fn, f = ("gelu_tanh", _gelu_tanh) if approx == "tanh" else ("gelu", _gelu)
    x = c.tensor(n.inputs[0])
    out = n.outputs[0]
    s_out = c.target_scale(out)
    t = _saturation(f, 0.0, s_out, -1)
    wl, wh = c.iv(x)
    hi = wh / 2.0**x.scale
    s_fit = math.floor(math.log2(2.0**c.opts.table_bits / max(hi + t, 1e-9)))
    if s_fit >= min(x.scale, 10):  # one table over the whole worst-case range
        c.set(lut(c, x, fn, -t, hi, s_out, c.out_name()))
        return
    # gelu(x) = relu(x) + gelu(-|x|), and -|x| = x - 2·relu(x) (both forms: gelu(x) - gelu(-x) = x)
    r = c.emit("relu", [x], c.out_name("relu"))
    r2 = c.emit("add", [r, r], c.out_name("relu2"))
    neg = c.emit("sub", [x, r2], c.out_name("negabs"))
    g = lut(c, neg, fn, -t, 0.0, x.scale, c.out_name("tail"))
    c.set(c.emit("add", [r, g], c.out_name()))


def _reciprocal(c: Lowering, onnx_name: str, x: QT, sqrt: bool = False) -> QT:
    """``1/x`` (or ``1/sqrt(x)``) as a table over the calibrated range of ``x`` (one sign)."""
    lo, hi = _range(c, onnx_name)
    fn = "rsqrt" if sqrt else "reciprocal"
    if sqrt and lo < 0:
        raise c.error(f"'{onnx_name}' takes negative values on the calibration samples "
                      f"(down to {lo:g}); its square root is not real")
    if lo <= 0 <= hi and not sqrt:
        raise c.error(f"the divisor '{onnx_name}' takes both signs or 0 on the calibration "
                      f"samples (range [{lo:g}, {hi:g}]); 1/x has no table across 0")
    if hi < 0:  # 1/x = -(1/(-x))
        m = c.weight(np.array(-1.0), "minus_one", scale=0)
        neg = c.emit("mul", [x, m], c.out_name("neg"))
        r = _reciprocal_pos(c, neg, -hi, -lo, fn)
        return c.emit("mul", [r, m], c.out_name("recip"))
    return _reciprocal_pos(c, x, max(lo, 0.0), hi, fn)


def _reciprocal_pos(c: Lowering, x: QT, lo: float, hi: float, fn: str) -> QT:
    a, b = lo / 2, hi * 2  # margins: values a little outside the calibrated range
    tb = max(c.opts.table_bits, 16)
    s_in = min(x.scale, math.floor(math.log2(2.0**tb / max(b - a, 1e-12))), MAX_LUT_IN_SCALE)
    a = max(a, 2.0**-s_in)
    top = 1 / a if fn == "reciprocal" else 1 / math.sqrt(a)
    s_out = math.floor(math.log2((2 ** (c.opts.bits + 8) - 1) / top))
    return lut(c, x, fn, a, b, s_out, c.out_name(fn), table_bits=tb)


@op("Reciprocal")
def lower_reciprocal(c: Lowering, n: Node) -> None:
    r = _reciprocal(c, n.inputs[0], c.tensor(n.inputs[0]))
    c.set(c.requant(r, c.target_scale(n.outputs[0]), c.out_name()))


@op("Sqrt")
def lower_sqrt(c: Lowering, n: Node) -> None:
    x = c.tensor(n.inputs[0])
    r = _reciprocal(c, n.inputs[0], x, sqrt=True)  # sqrt(x) = x · rsqrt(x)
    c.set(_mul(c, x, r, n.outputs[0]))


@op("Pow")
def lower_pow(c: Lowering, n: Node) -> None:
    p = c.const(n.inputs[1])
    if p is None or p.size != 1:
        raise c.unsupported("the exponent must be a constant scalar")
    e = float(p.reshape(-1)[0])
    x = c.tensor(n.inputs[0])
    out = n.outputs[0]
    if e == 1.0:
        c.set(x)
    elif e in (2.0, 3.0, 4.0):
        y = _mul(c, x, x, out, c.out_name("p2") if e > 2 else None)
        if e == 3.0:
            y = _mul(c, y, x, out)
        elif e == 4.0:
            y = _mul(c, y, y, out)
        c.set(y)
    elif e == 0.5:
        c.set(_mul(c, x, _reciprocal(c, n.inputs[0], x, sqrt=True), out))
    elif e in (-1.0, -0.5):
        r = _reciprocal(c, n.inputs[0], x, sqrt=e == -0.5)
        c.set(c.requant(r, c.target_scale(out), c.out_name()))
    else:
        raise c.unsupported(f"exponent {e:g} (supported: 2, 3, 4, 0.5, -0.5, -1)")


@op("Relu")
def lower_relu(c: Lowering, n: Node) -> None:
    c.set(c.emit("relu", [c.tensor(n.inputs[0])], c.out_name()))


@op("LeakyRelu")
def lower_leaky(c: Lowering, n: Node) -> None:
    x = c.tensor(n.inputs[0])
    alpha = float(n.attrs.get("alpha", 0.01))
    r = c.emit("relu", [x], c.out_name("relu"))
    neg = c.emit("sub", [x, r], c.out_name("neg"))  # min(x, 0)
    a = c.weight(np.array(alpha), n.outputs[0] + "_alpha")
    neg = c.fit_to(neg, c.maxabs(a))
    m = c.emit("mul", [neg, a], c.out_name("mul"))
    m = c.requant(m, r.scale, c.out_name("rq"))
    r, m = c.align([r, m])
    c.set(c.emit("add", [r, m], c.out_name()))


@op("Clip")
def lower_clip(c: Lowering, n: Node) -> None:
    x = c.tensor(n.inputs[0])
    if c.g.opset < 11 or "min" in n.attrs or "max" in n.attrs:
        lo, hi = n.attrs.get("min"), n.attrs.get("max")
    else:
        vals = []
        for i in (1, 2):
            name = n.inputs[i] if len(n.inputs) > i else ""
            v = c.const(name) if name else None
            if name and v is None:
                raise c.unsupported("min and max must be constants")
            vals.append(None if v is None else float(v.reshape(-1)[0]))
        lo, hi = vals
    s = x.scale
    qlo = None if lo is None else math.floor(lo * 2.0**s + 0.5)
    qhi = None if hi is None else math.floor(hi * 2.0**s + 0.5)
    c.set(clamp(c, x, qlo, qhi, c.out_name()))


def clamp(c: Lowering, x: QT, qlo: int | None, qhi: int | None, name: str) -> QT:
    """``min(max(x, qlo), qhi)`` (integers at x's scale; None: no bound) with a tight bound.

    ``lo + relu(x - lo)`` and ``hi - relu(hi - y)``: the interval analysis sees
    ``[lo, hi]`` exactly (a ``max`` would only give the union of the intervals).
    """
    s = x.scale
    wl, wh = c.iv(x)
    if qlo is not None and qlo <= wl:
        qlo = None
    if qhi is not None and qhi >= wh:
        qhi = None
    if qlo is None and qhi is None:
        return x

    def w(v: int, tag: str) -> QT:
        return c.weight(np.array(v / 2.0**s), f"{x.name}_{tag}", scale=s)

    y = x
    if qlo is not None:  # max(x, lo) = lo + relu(x - lo)
        a = y if qlo == 0 else c.emit("sub", [y, w(qlo, "lo")], c.fresh(name + "_xlo"))
        y = c.emit("relu", [a], name if qhi is None and not qlo else c.fresh(name + "_rlo"))
        if qhi is None and qlo:
            return c.emit("add", [y, w(qlo, "lo")], name)
        if qhi is None:
            return y
        # clip = hi - relu((hi - lo) - relu(x - lo))
        b = c.emit("sub", [w(qhi - qlo, "span"), y], c.fresh(name + "_span"))
        b = c.emit("relu", [b], c.fresh(name + "_rhi"))
        return c.emit("sub", [w(qhi, "hi"), b], name)
    b = c.emit("sub", [w(qhi, "hi"), y], c.fresh(name + "_hx"))  # min(x, hi) = hi - relu(hi - x)
    b = c.emit("relu", [b], c.fresh(name + "_rhi"))
    return c.emit("sub", [w(qhi, "hi"), b], name)


@op("Neg")
def lower_neg(c: Lowering, n: Node) -> None:
    x = c.tensor(n.inputs[0])
    c.set(c.emit("mul", [x, c.weight(np.array(-1.0), "minus_one", scale=0)], c.out_name()))
