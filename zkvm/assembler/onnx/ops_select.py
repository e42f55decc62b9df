"""Selections and masks: ``Where``, ``Trilu`` on activations, comparisons, attention masks.

What exporters write around attention (docs/onnx.md "Attention masks"):

* the causal mask itself is built from shapes and constants (``Shape``,
  ``Range``, ``ConstantOfShape``, ``Trilu``, ``Slice`` of a ``bias`` buffer,
  ``Equal``/``Less``/``Where`` on those): a constant subgraph, folded;
* it is applied to the scores by ``Where(mask, scores, -big)`` (HF GPT-2,
  ``masked_fill``) or ``Add(scores, mask)`` with ``mask ∈ {0, -inf}``
  (``scaled_dot_product_attention``), then ``Softmax``.

**Constant condition.** ``Where(m, x, y)`` with a constant 0/1 ``m`` is
``x·m + y·(1-m)``: a ``mul`` by the 0/1 mask (a weight at scale 0, so the
product is exact and keeps ``x``'s scale) and an ``add`` of the constant
``y·(1-m)`` (or a second ``mul`` when ``y`` is an activation too). Two rows
per element, no rounding: the result is exactly the selected values. The
mask keeps its own shape (``[1, 1, T, T]``; ``mul`` broadcasts).

**−∞ before Softmax.** ``-inf``, ``finfo(float32).min`` or ``-1e9`` cannot be
quantized. When the masked tensor is read only by ``Softmax`` (through
``Cast``/``Identity``/``Dropout``), the mask is applied as a selection: kept
scores ``x`` (plus their finite mask value, for ``Add``), masked entries the
constant ``F = a - 64`` (real; ``[a, b]`` = the scores' worst-case interval;
for ``Add`` also minus the most negative kept mask value). An entry counts as
masked in a ``Where`` when its constant is below ``F``, in an ``Add`` when it
is below ``a - b - 64`` (then ``x + v`` is at least 64 below any kept score).
Either way a masked entry minus its row's maximum is at most ``-64`` as long
as the row keeps one entry, which the softmax macro's ``exp`` table maps to
exactly 0 (its range stops at ``-(E+2)·ln 2``, ``E ≤ 24``), exactly as
``exp(-inf) = 0``: no output changes. A row masked entirely is uniform in the
program (all ``F``), as in the model under ``Where`` (under ``Add`` the model
gives NaN). Cost: a ``mul`` and an ``add`` per score; the result's interval
stays about the scores' (an ``add`` of the floor alone would double it and
cost the Softmax input bits). Such values anywhere else are refused.

**Data-dependent condition.** Comparisons of activations (``Greater``,
``Less``, ``GreaterOrEqual``, ``LessOrEqual``, ``Equal``) become 0/1 tensors
at scale 0 computed on the integers: with ``d`` the integer difference,
``[d ≥ 1] = 1 - relu(1 - relu(d))``, ``[d = 0] = relu(1 - |d|)`` (exact for
integers, and the interval analysis sees ``[0, 1]``); ``Not``, ``And``,
``Or`` are ``1-a``, ``a·b``, ``1-(1-a)(1-b)``; ``Where(b, x, y) = y + b·(x - y)``.
A comparison with a constant ``K`` compares against ``K·2^s`` rounded the
way the inequality needs (``x > K`` ⇔ ``x_int > floor(K·2^s)``), so it is
exact on the fixed-point values (two real numbers closer than ``2^-s``
compare as their quantized values do).
"""

from __future__ import annotations

import numpy as np

from .graph import Node
from .lower import QT, Lowering, op

#: masked entries end up this far (real units) below every unmasked one: exp(-64) ≈ 1.6e-28
MASK_MARGIN = 64
#: a finite mask value not before a Softmax is computed as it is when it fits 40 bits here
MAX_MASK_SCALE = 24
#: ops between a masked tensor and its Softmax that keep values as they are
_PASS = ("Cast", "Identity", "Dropout")


def _softmax_only(c: Lowering, name: str) -> bool:
    """Whether ``name`` is read only by Softmax nodes (through Cast/Identity/Dropout)."""
    if name in c.g.outputs:
        return False
    readers = [n for n in c.g.nodes if name in n.inputs]
    if not readers:
        return False
    for n in readers:
        if n.op in _PASS and n.inputs[0] == name:
            if not _softmax_only(c, n.outputs[0]):
                return False
        elif n.op != "Softmax":
            return False
    return True


def mask_floor(c: Lowering, x: QT, additive: bool) -> float:
    """``F`` (real) of the module docstring for scores ``x``."""
    lo, hi = c.iv(x)
    return ((lo - hi) if additive else lo) / 2.0**x.scale - MASK_MARGIN


def _check_mask(c: Lowering, v: np.ndarray, low: np.ndarray) -> bool:
    """Whether the "−∞" entries ``low`` of ``v`` may be replaced (the result feeds Softmax only).

    Returns False when they may not but are representable (computed as they are); raises
    when they are neither.
    """
    if np.any(np.isnan(v)) or np.any(np.isposinf(v)):
        raise c.error("a constant operand holds NaN or +inf")
    if _softmax_only(c, c.node.outputs[0]):
        return True
    if np.all(np.isfinite(v)) and np.abs(v).max() * 2.0**MAX_MASK_SCALE < 2.0**40:
        return False
    raise c.unsupported(
        f"a constant holding {float(v.min()):g} (an attention mask?) whose result is not "
        "read by Softmax only; zkvm replaces such -inf/huge negative mask values by a finite "
        "floor only right before a Softmax (docs/onnx.md 'Attention masks')")


def softmax_mask(c: Lowering, x: QT, v: np.ndarray) -> np.ndarray:
    """``v`` (the constant branch of a ``Where`` on ``x``) with its "−∞" entries raised to
    ``F = a - 64`` (real; module docstring); ``v`` unchanged when it holds none."""
    floor = mask_floor(c, x, False)
    low = ~np.isfinite(v) | (v < floor)
    if not np.any(low) or not _check_mask(c, v, low):
        return v
    c.notes.append(f"{c.node.where}: mask values below {floor:.4g} (e.g. -inf) replaced by "
                   f"{floor:.4g}; the following Softmax gives them exactly 0 either way")
    return np.where(low, floor, v)


def masked_add(c: Lowering, x: QT, v: np.ndarray) -> QT | None:
    """``Add(x, v)`` for a constant ``v`` holding "−∞" entries, as a selection; else None.

    An entry below the additive floor (module docstring) is "−∞" for the Softmax
    that reads the sum. The sum is computed as ``x·keep + where(keep, v, F)``
    (a ``mul`` by the 0/1 mask and an ``add``) with ``F = a + min(0, min kept v) - 64``:
    masked entries sit 64 below every kept one, and the result's interval
    stays about ``x``'s (``x + F`` would double it and cost the Softmax input
    bits of precision).
    """
    fa = mask_floor(c, x, True)
    low = ~np.isfinite(v) | (v < fa)
    if not np.any(low) or not _check_mask(c, v, low):
        return None
    keep = ~low
    kept = float(min(0.0, v[keep].min())) if np.any(keep) else 0.0
    floor = mask_floor(c, x, False) + kept
    c.notes.append(f"{c.node.where}: mask values below {fa:.4g} (e.g. -inf) give {floor:.4g}; "
                   "the following Softmax gives them exactly 0 either way")
    out = c.node.outputs[0]
    y = c.emit("mul", [x, _mask01(c, keep, out + "_m")], c.out_name("sel"))
    rest = np.where(keep, v, floor)
    if np.any(rest):
        y = c.emit("add", [y, c.weight(rest, out + "_k", scale=y.scale)], c.out_name())
    return _fit(c, y, c.shape(out))


def _mask01(c: Lowering, m: np.ndarray, hint: str) -> QT:
    return c.weight(m.astype(np.float64), hint, scale=0)


def _fit(c: Lowering, y: QT, shape: tuple[int, ...]) -> QT:
    """``y`` broadcast to ``shape`` (a view) when a constant operand was smaller."""
    if tuple(c.pshape(y)) == tuple(shape):
        return y
    return c.emit("broadcast", [y], c.out_name("bc"), {"shape": list(shape)})


def _where_const_cond(c: Lowering, n: Node, cond: np.ndarray) -> QT:
    xn, yn = n.inputs[1], n.inputs[2]
    xv, yv = c.const(xn), c.const(yn)
    out = n.outputs[0]
    shape = c.shape(out)
    if xv is None and yv is None:
        x, y = c.align([c.tensor(xn), c.tensor(yn)])
        a = c.emit("mul", [x, _mask01(c, cond, out + "_m")], c.out_name("x"))
        b = c.emit("mul", [y, _mask01(c, ~cond, out + "_nm")], c.out_name("y"))
        return _fit(c, c.emit("add", [a, b], c.out_name()), shape)
    if xv is None:  # keep x where cond, the constant y elsewhere
        t, keep, k = c.tensor(xn), cond, yv
    else:
        t, keep, k = c.tensor(yn), ~cond, xv
    # masks keep their own (broadcastable) shape: [1, 1, T, T], not the scores' [1, H, T, T]
    ms = np.broadcast_shapes(keep.shape, np.shape(k))
    keep = np.broadcast_to(keep, ms)
    k = np.broadcast_to(np.asarray(k, dtype=np.float64), ms)
    if np.all(keep):
        return _fit(c, t, shape)
    k = softmax_mask(c, t, k)
    y = c.emit("mul", [t, _mask01(c, keep, out + "_m")], c.out_name("sel"))
    rest = np.where(keep, 0.0, k)
    if np.any(rest):
        y = c.emit("add", [y, c.weight(rest, out + "_k", scale=y.scale)], c.out_name())
    return _fit(c, y, shape)


@op("Where")
def lower_where(c: Lowering, n: Node) -> None:
    cv = c.const(n.inputs[0])
    shape = c.shape(n.outputs[0])
    if cv is not None:
        c.set(_where_const_cond(c, n, np.asarray(cv).astype(bool)))
        return
    b = _bool(c, n.inputs[0])
    xn, yn = n.inputs[1], n.inputs[2]
    like = next((c.tensor(i) for i in (xn, yn) if c.const(i) is None), None)
    if like is None:  # both branches constant: y + b·(x - y) with a constant difference
        xv, yv = (np.asarray(c.const(i), dtype=np.float64) for i in (xn, yn))
        diff = c.weight(xv - yv, n.outputs[0] + "_d")
        y = c.emit("mul", [b, diff], c.out_name("sel"))
        yw = c.weight(np.broadcast_to(yv, shape), n.outputs[0] + "_y", scale=y.scale)
        c.set(c.emit("add", [y, yw], c.out_name()))
        return
    x, y = (c.tensor(i) if c.const(i) is None else
            c.weight(c.const(i), n.outputs[0] + "_c", scale=like.scale) for i in (xn, yn))
    x, y = c.align([x, y])
    d = c.emit("sub", [x, y], c.out_name("d"))
    sel = c.emit("mul", [b, d], c.out_name("sel"))
    c.set(c.emit("add", [y, sel], c.out_name()))


# ------------------------------------------------------------ comparisons
def _bool(c: Lowering, name: str) -> QT:
    """A 0/1 program tensor (scale 0) for a boolean ONNX tensor computed from the inputs."""
    t = c.tensor(name)
    lo, hi = c.iv(t)
    if t.scale != 0 or lo < 0 or hi > 1:
        raise c.unsupported(f"the condition '{name}' is not a boolean computed by a comparison")
    return t


def _positive(c: Lowering, d: QT, tag: str) -> QT:
    """``[d ≥ 1]`` for an integer tensor ``d``: ``1 - relu(1 - relu(d))``, as 0/1 at scale 0.

    (For integers ``relu(d) ≥ 1`` exactly when ``d ≥ 1``; written this way the
    interval analysis sees ``[0, 1]``.)
    """
    r = c.emit("relu", [d], c.out_name(f"{tag}r"))
    return _not(c, _relu_one_minus(c, r, tag))


def _relu_one_minus(c: Lowering, r: QT, tag: str) -> QT:
    """``relu(1 - r)`` for an integer ``r ≥ 0`` at any scale: 1 where ``r == 0``, else 0 (scale 0)."""
    if r.scale != 0:
        r = c.emit("mul", [r, c.weight(np.array(2.0**r.scale), "one_s0", scale=-r.scale)],
                   c.out_name(f"{tag}s0"))
    one = c.weight(np.array(1.0), "one", scale=0)
    return c.emit("relu", [c.emit("sub", [one, r], c.out_name(f"{tag}1m"))],
                  c.out_name(f"{tag}z"))


def _diff(c: Lowering, n: Node, round_up: bool) -> QT:
    """Integer ``a - b`` at a common scale; a constant side is rounded per ``round_up``.

    ``round_up``: the constant on the right is rounded up (``x ≥ K``), else down (``x > K``);
    a constant on the left the other way.
    """
    an, bn = n.inputs[0], n.inputs[1]
    av, bv = c.const(an), c.const(bn)
    if av is None and bv is None:
        a, b = c.align([c.tensor(an), c.tensor(bn)])
        return c.emit("sub", [a, b], c.out_name("d"))
    t = c.tensor(an if av is None else bn)
    v = np.asarray(bv if av is None else av, dtype=np.float64)
    if not np.all(np.isfinite(v)):
        raise c.unsupported("a comparison with an infinite or NaN constant")
    up = round_up if av is None else not round_up
    q = (np.ceil(v * 2.0**t.scale) if up else np.floor(v * 2.0**t.scale)) / 2.0**t.scale
    k = c.weight(q, n.outputs[0] + "_k", scale=t.scale)
    return c.emit("sub", [t, k] if av is None else [k, t], c.out_name("d"))


def _neg(c: Lowering, d: QT) -> QT:
    return c.emit("mul", [d, c.weight(np.array(-1.0), "minus_one", scale=0)], c.out_name("nd"))


@op("Greater", "Less", "GreaterOrEqual", "LessOrEqual", "Equal")
def lower_compare(c: Lowering, n: Node) -> None:
    """Comparisons of activations as 0/1 tensors (module docstring)."""
    if n.op == "Greater":  # a > b  <=>  a - b >= 1 (integers; constant b rounded down)
        c.set(_positive(c, _diff(c, n, False), "gt"))
    elif n.op == "GreaterOrEqual":  # a >= b  <=>  a - b + 1 >= 1
        d = _diff(c, n, True)
        c.set(_positive(c, c.emit("add", [d, _unit(c, d)], c.out_name("d1")), "ge"))
    elif n.op == "Less":  # a < b  <=>  b - a >= 1
        c.set(_positive(c, _neg(c, _diff(c, n, True)), "lt"))
    elif n.op == "LessOrEqual":
        d = _neg(c, _diff(c, n, False))
        c.set(_positive(c, c.emit("add", [d, _unit(c, d)], c.out_name("d1")), "le"))
    else:  # a == b  <=>  relu(1 - |a - b|)  with  |d| = relu(d) + relu(-d)
        d = _diff(c, n, True)
        if c.const(n.inputs[0]) is not None or c.const(n.inputs[1]) is not None:
            v = c.const(n.inputs[1]) if c.const(n.inputs[0]) is None else c.const(n.inputs[0])
            t = c.tensor(n.inputs[0] if c.const(n.inputs[0]) is None else n.inputs[1])
            if not np.array_equal(v * 2.0**t.scale, np.round(v * 2.0**t.scale)):
                c.notes.append(f"{n.where}: the constant is not a multiple of 2^-{t.scale}; "
                               "its entries that are not can never be equal")
        r1 = c.emit("relu", [d], c.out_name("pos"))
        r2 = c.emit("relu", [_neg(c, d)], c.out_name("neg"))
        ad = c.emit("add", [r1, r2], c.out_name("abs"))
        c.set(_relu_one_minus(c, ad, "eq"))


def _unit(c: Lowering, d: QT) -> QT:
    return c.weight(np.array(1.0 / 2.0**d.scale), "one_int", scale=d.scale)


def _not(c: Lowering, b: QT) -> QT:
    return c.emit("sub", [c.weight(np.array(1.0), "one", scale=0), b], c.out_name())


@op("Not", "And", "Or")
def lower_logic(c: Lowering, n: Node) -> None:
    """Boolean logic on 0/1 tensors: ``1-a``, ``a·b``, ``1-(1-a)(1-b)`` (bounds stay [0, 1])."""
    ins = []
    for i in n.inputs:
        v = c.const(i)
        ins.append(_bool(c, i) if v is None else c.weight(np.asarray(v, dtype=np.float64),
                                                           n.outputs[0] + "_c", scale=0))
    if n.op == "Not":
        c.set(_not(c, ins[0]))
    elif n.op == "And":
        c.set(c.emit("mul", ins, c.out_name()))
    else:
        na, nb = _not(c, ins[0]), _not(c, ins[1])
        c.set(_not(c, c.emit("mul", [na, nb], c.out_name("nor"))))


@op("Trilu")
def lower_trilu(c: Lowering, n: Node) -> None:
    """``Trilu`` of an activation: a ``mul`` by the constant 0/1 triangle (exact)."""
    x = c.tensor(n.inputs[0])
    k = 0
    if len(n.inputs) > 1 and n.inputs[1]:
        kv = c.ints(n.inputs[1])
        k = kv[0]
    shape = c.pshape(x)
    rows, cols = shape[-2], shape[-1]
    i, j = np.arange(rows)[:, None], np.arange(cols)[None, :]
    keep = (j - i >= k) if int(n.attrs.get("upper", 1)) else (j - i <= k)
    c.set(c.emit("mul", [x, _mask01(c, keep, n.outputs[0] + "_tri")], c.out_name()))
