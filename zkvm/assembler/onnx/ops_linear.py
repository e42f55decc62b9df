"""Lowering of the linear layers: MatMul (plain, biased, batched), Gemm, Conv, BatchNormalization.

A product with a constant is one ``matmul`` against a weight (its bias, if
any, at the accumulator's scale ``s_x + s_w``, so the sum is exact); a
product of two activations (attention's ``Q·Kᵀ`` and ``P·V``) is one
``matmul`` per batch element, with the second operand read on the bus. The
accumulator is then rescaled to the output's calibrated scale
(:meth:`Lowering.requant`).
"""

from __future__ import annotations

import math

import numpy as np

from ...isa.lut import round_half_up
from ...isa.ops import broadcast_shape
from .lower import QT, Lowering, op, weight_scale
from .graph import Node


def _const_matmul(c: Lowering, x: QT, w: np.ndarray, bias: np.ndarray | None, out: str,
                  hint: str) -> QT:
    """``x[..., K] · w[K, N] (+ bias)`` then rescale to the target scale of ONNX tensor ``out``."""
    wq = c.weight(w, hint + "_W")
    x = c.fit_to(x, c.maxabs(wq) * w.shape[0])
    ins = [x, wq]
    if bias is not None:
        ins.append(c.weight(np.broadcast_to(bias, np.broadcast_shapes(bias.shape, (w.shape[1],))),
                            hint + "_b", scale=x.scale + wq.scale))
    acc = c.emit("matmul", ins, c.out_name("acc"))
    return c.requant(acc, c.target_scale(out), c.out_name())


def _reshape(c: Lowering, x: QT, shape: tuple[int, ...] | list[int], hint: str) -> QT:
    if tuple(c.pshape(x)) == tuple(shape):
        return x
    return c.emit("reshape", [x], c.fresh(hint), {"shape": [int(d) for d in shape]})


def _transpose_last2(c: Lowering, x: QT, hint: str) -> QT:
    r = len(c.pshape(x))
    perm = list(range(r - 2)) + [r - 1, r - 2]
    return c.emit("transpose", [x], c.fresh(hint), {"perm": perm})


def matmul_tensors(c: Lowering, a: QT, b: QT, out: str) -> QT:
    """``a · b`` for two activations (numpy matmul semantics, batch dims broadcast)."""
    sa, sb = c.pshape(a), c.pshape(b)
    oshape = c.shape(out)
    if len(sa) == 1:
        a = _reshape(c, a, (1, sa[0]), c.out_name("a2"))
    if len(sb) == 1:
        b = _reshape(c, b, (sb[0], 1), c.out_name("b2"))
    sa, sb = c.pshape(a), c.pshape(b)
    m, k, n = sa[-2], sa[-1], sb[-1]
    a, b = c.product_fit(a, b, k)
    if len(sb) == 2:
        acc = c.emit("matmul", [a, b], c.out_name("acc"))
    else:
        batch = broadcast_shape(sa[:-2], sb[:-2])
        nb = math.prod(batch)
        views = []
        for t, tail, tag in ((a, (m, k), "a"), (b, (k, n), "b")):
            if tuple(c.pshape(t)[:-2]) != tuple(batch):
                t = c.emit("broadcast", [t], c.out_name(f"{tag}bc"), {"shape": list(batch + tail)})
            views.append(_reshape(c, t, (nb,) + tail, c.out_name(f"{tag}3")))
        parts = []
        for i in range(nb):
            ai = c.emit("slice", [views[0]], c.out_name(f"a{i}"),
                        {"starts": [i], "ends": [i + 1], "axes": [0]})
            bi = c.emit("slice", [views[1]], c.out_name(f"b{i}"),
                        {"starts": [i], "ends": [i + 1], "axes": [0]})
            ai = _reshape(c, ai, (m, k), c.out_name(f"a{i}r"))
            bi = _reshape(c, bi, (k, n), c.out_name(f"b{i}r"))
            yi = c.emit("matmul", [ai, bi], c.out_name(f"mm{i}"))
            parts.append(_reshape(c, yi, (1, m, n), c.out_name(f"mm{i}r")))
        acc = parts[0] if nb == 1 else c.emit("concat", parts, c.out_name("cat"), {"axis": 0})
    acc = _reshape(c, acc, oshape, c.out_name("accr"))
    return c.requant(acc, c.target_scale(out), c.out_name())


@op("MatMul")
def lower_matmul(c: Lowering, n: Node) -> None:
    """``MatMul`` (internally also ``MatMul(x, W, bias)`` from the rewrites)."""
    an, bn = n.inputs[0], n.inputs[1]
    av, bv = c.const(an), c.const(bn)
    bias = c.const(n.inputs[2]) if len(n.inputs) > 2 else None
    out = n.outputs[0]
    if bv is not None and bv.ndim <= 2:
        x = c.tensor(an)
        w = bv.reshape(-1, 1) if bv.ndim == 1 else bv
        xs = c.pshape(x)
        if len(xs) == 1:
            x = _reshape(c, x, (1, xs[0]), c.out_name("x2"))
        y = _const_matmul(c, x, w, bias, out, n.outputs[0])
        c.set(_reshape(c, y, c.shape(out), c.out_name("r")))
        return
    if av is not None and av.ndim <= 2 and bias is None:
        # y = A·B  ->  yᵀ = Bᵀ·Aᵀ  with the constant on the right
        b = c.tensor(bn)
        bs = c.pshape(b)
        if len(bs) == 1:
            b = _reshape(c, b, (1, bs[0]), c.out_name("b2"))
        else:
            b = _transpose_last2(c, b, c.out_name("bT"))
        a = av.reshape(1, -1) if av.ndim == 1 else av
        y = _const_matmul(c, b, a.T, None, out, n.outputs[0])
        if len(c.pshape(y)) >= 2 and len(bs) > 1:
            y = _transpose_last2(c, y, c.out_name("T"))
        c.set(_reshape(c, y, c.shape(out), c.out_name("r")))
        return
    a = c.tensor(an) if av is None else c.weight(av, an)
    b = c.tensor(bn) if bv is None else c.weight(bv, bn)
    y = matmul_tensors(c, a, b, out)
    if bias is not None:
        y = c.emit("add", [y, c.weight(bias, out + "_b", scale=y.scale)], c.out_name("bias"))
    c.set(y)


@op("Gemm")
def lower_gemm(c: Lowering, n: Node) -> None:
    """``Gemm`` not already rewritten (transposed or non-constant operands)."""
    alpha, beta = float(n.attrs.get("alpha", 1.0)), float(n.attrs.get("beta", 1.0))
    a = c.tensor(n.inputs[0]) if c.const(n.inputs[0]) is None else c.weight(c.const(n.inputs[0]),
                                                                          n.inputs[0])
    if n.attrs.get("transA", 0):
        a = c.emit("transpose", [a], c.out_name("AT"), {"perm": [1, 0]})
    bv = c.const(n.inputs[1])
    cv = c.const(n.inputs[2]) if len(n.inputs) > 2 and n.inputs[2] else None
    out = n.outputs[0]
    if bv is not None:
        w = alpha * (bv.T if n.attrs.get("transB", 0) else bv)
        c.set(_const_matmul(c, a, w, None if cv is None else beta * cv, out, out))
        return
    b = c.tensor(n.inputs[1])
    if n.attrs.get("transB", 0):
        b = c.emit("transpose", [b], c.out_name("BT"), {"perm": [1, 0]})
    y = matmul_tensors(c, a, b, out)
    if alpha != 1.0:
        y = c.emit("mul", [y, c.weight(np.array(alpha), out + "_alpha")], c.out_name("al"))
        y = c.requant(y, c.target_scale(out), c.out_name("alr"))
    if len(n.inputs) > 2 and n.inputs[2]:
        if cv is not None:
            y = c.emit("add", [y, c.weight(beta * cv, out + "_c", scale=y.scale)], c.out_name("c"))
        else:
            t = c.tensor(n.inputs[2])
            if beta != 1.0:
                t = c.emit("mul", [t, c.weight(np.array(beta), out + "_beta")], c.out_name("bt"))
            y2, t2 = c.align([y, t])
            y = c.emit("add", [y2, t2], c.out_name("c"))
    c.set(y)


def conv_pads(n: Node, in_hw: tuple[int, ...], kernel: list[int], strides: list[int],
              dil: list[int]) -> list[int]:
    """ONNX pads ``[b1, b2, e1, e2]`` (explicit or from ``auto_pad``)."""
    auto = n.attrs.get("auto_pad", "NOTSET")
    r = len(kernel)
    if auto in ("NOTSET", ""):
        return list(n.attrs.get("pads", [0] * (2 * r)))
    if auto == "VALID":
        return [0] * (2 * r)
    begin, end = [], []
    for i in range(r):
        o = -(-in_hw[i] // strides[i])
        total = max((o - 1) * strides[i] + (kernel[i] - 1) * dil[i] + 1 - in_hw[i], 0)
        lo = total // 2 if auto == "SAME_UPPER" else total - total // 2
        begin.append(lo)
        end.append(total - lo)
    return begin + end


@op("Conv")
def lower_conv(c: Lowering, n: Node) -> None:
    """``Conv`` (2-D, or 1-D as 2-D with height 1); groups as one conv per group."""
    x = c.tensor(n.inputs[0])
    w = c.const(n.inputs[1])
    if w is None:
        raise c.unsupported("the weight must be a constant (an initializer)")
    bias = c.const(n.inputs[2]) if len(n.inputs) > 2 and n.inputs[2] else None
    if len(n.inputs) > 2 and n.inputs[2] and bias is None:
        raise c.unsupported("the bias must be a constant")
    xs = c.pshape(x)
    if len(xs) not in (3, 4) or w.ndim != len(xs):
        raise c.unsupported(f"only 1-D and 2-D convolutions are compiled (input {list(xs)})")
    r = len(xs) - 2
    kernel = list(w.shape[2:])
    strides = list(n.attrs.get("strides", [1] * r))
    dil = list(n.attrs.get("dilations", [1] * r))
    pads = conv_pads(n, xs[2:], kernel, strides, dil)
    out = n.outputs[0]
    if r == 1:
        x = _reshape(c, x, (xs[0], xs[1], 1, xs[2]), c.out_name("x4"))
        w = w[:, :, None, :]
        kernel, strides, dil = [1] + kernel, [1] + strides, [1] + dil
        pads = [0, pads[0], 0, pads[1]]
    groups = int(n.attrs.get("group", 1))
    cin, cout = c.pshape(x)[1], w.shape[0]
    if cin % groups or cout % groups or w.shape[1] * groups != cin:
        raise c.error(f"group={groups} does not divide {cin} input / {cout} output channels")
    params = {"stride": strides, "padding": [pads[0], pads[1], pads[2], pads[3]],
              "dilation": dil}
    cg, og = cin // groups, cout // groups
    s_w = weight_scale(w, c.opts.weight_bits)
    q_max = int(np.abs(round_half_up(w * 2.0**s_w)).max(initial=0))
    xq = c.fit_to(x, q_max * cg * kernel[0] * kernel[1])
    parts = []
    for g in range(groups):
        xg = xq
        wg = w[g * og:(g + 1) * og]
        if groups > 1:
            xg = c.emit("slice", [xq], c.out_name(f"g{g}"),
                        {"starts": [g * cg], "ends": [(g + 1) * cg], "axes": [1]})
        wq = c.weight(wg, out + (f"_W{g}" if groups > 1 else "_W"), scale=s_w)
        ins = [xg, wq]
        if bias is not None:
            ins.append(c.weight(bias[g * og:(g + 1) * og], out + "_b", scale=xq.scale + wq.scale))
        parts.append(c.emit("conv2d", ins, c.out_name("acc" if groups == 1 else f"acc{g}"),
                            dict(params)))
    acc = parts[0] if groups == 1 else c.emit("concat", parts, c.out_name("cat"), {"axis": 1})
    y = c.requant(acc, c.target_scale(out), c.out_name())
    c.set(_reshape(c, y, c.shape(out), c.out_name("r")))


@op("BatchNormalization")
def lower_batchnorm(c: Lowering, n: Node) -> None:
    """A BatchNormalization that could not be folded: ``x·a + b`` per channel (axis 1)."""
    if n.attrs.get("training_mode", 0):
        raise c.unsupported("training_mode=1 (export the model in eval mode)")
    x = c.tensor(n.inputs[0])
    vals = [c.const(i) for i in n.inputs[1:5]]
    if any(v is None for v in vals):
        raise c.unsupported("scale, bias, mean and variance must be constants")
    gamma, beta, mean, var = vals
    eps = float(n.attrs.get("epsilon", 1e-5))
    a = gamma / np.sqrt(var + eps)
    b = beta - mean * a
    rank = len(c.pshape(x))
    shape = (-1,) + (1,) * (rank - 2)
    out = n.outputs[0]
    aw = c.weight(a.reshape(shape), out + "_a")
    x = c.fit_to(x, c.maxabs(aw))
    y = c.emit("mul", [x, aw], c.out_name("mul"))
    y = c.requant(y, c.target_scale(out), c.out_name("rq"))
    c.set(c.emit("add", [y, c.weight(b.reshape(shape), out + "_b", scale=y.scale)],
                 c.out_name()))
