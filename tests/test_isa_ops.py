"""Each opcode's VM result equals an independent plain integer reference."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from zkvm.assembler import Builder
from zkvm.runtime import execute

SETTINGS = settings(max_examples=25, deadline=None, derandomize=True)


def run(op, inputs, params=None, weights=None, n_out=None):
    """Build a one-instruction program with int16 inputs and run it."""
    b = Builder()
    vals = {}
    for name, arr in inputs.items():
        b.input(name, arr.shape, 16, 4)
        vals[name] = arr
    for name, arr in (weights or {}).items():
        b.weight(name, arr, 16, 4)
    b.emit(op, list(inputs) + list(weights or {}), "y", params or {})
    b.output("y")
    prog = b.build()
    ex = execute(prog, vals)
    return ex.values["y"], ex, prog


def ints(shape, lo=-300, hi=300):
    return hnp.arrays(np.int64, shape, elements=st.integers(lo, hi))


def round_half_up(fr: Fraction) -> int:
    return math.floor(fr + Fraction(1, 2))


@SETTINGS
@given(st.data(), st.integers(1, 4), st.integers(1, 5), st.integers(1, 4))
def test_matmul_matches_reference(data, m, k, n):
    x = data.draw(ints((m, k)))
    w = data.draw(ints((k, n)))
    bias = data.draw(ints((n,)))
    b = Builder()
    b.input("x", x.shape, 16, 4)
    b.weight("w", w, 16, 4)
    b.weight("b", bias, 32, 8)
    b.emit("matmul", ["x", "w", "b"], "y")
    b.output("y")
    y = execute(b.build(), {"x": x}).values["y"]
    ref = [[sum(int(x[i, j]) * int(w[j, c]) for j in range(k)) + int(bias[c]) for c in range(n)]
           for i in range(m)]
    assert y.tolist() == ref


@SETTINGS
@given(st.data(), st.sampled_from(["add", "sub", "mul"]))
def test_elementwise_broadcasting_matches_reference(data, op):
    a = data.draw(ints((3, 1, 4)))
    c = data.draw(ints((2, 1)))
    y, _, prog = run(op, {"a": a, "c": c})
    fn = {"add": lambda u, v: u + v, "sub": lambda u, v: u - v, "mul": lambda u, v: u * v}[op]
    ref = np.empty((3, 2, 4), dtype=object)
    for i in range(3):
        for j in range(2):
            for k in range(4):
                ref[i, j, k] = fn(int(a[i, 0, k]), int(c[j, 0]))
    assert y.tolist() == ref.tolist()
    assert prog.tensors["y"].scale == (8 if op == "mul" else 4)


@SETTINGS
@given(st.data(), st.integers(1, 62))
def test_rescale_rounds_half_up(data, k):
    x = data.draw(ints((7,), -(2**15), 2**15 - 1))
    y, ex, _ = run("rescale", {"x": x}, {"k": k})
    ref = [round_half_up(Fraction(int(v), 2**k)) for v in x]
    assert y.tolist() == ref
    r = ex.events[0].aux["r"]
    assert ((0 <= r) & (r < 2**k)).all()
    assert (x + 2 ** (k - 1) == y * 2**k + r).all()


@SETTINGS
@given(st.data(), st.integers(1, 1000))
def test_div_rounds_half_up(data, d):
    x = data.draw(ints((7,), -(2**15), 2**15 - 1))
    y, ex, _ = run("div", {"x": x}, {"d": d})
    assert y.tolist() == [round_half_up(Fraction(int(v), d)) for v in x]
    r = ex.events[0].aux["r"]
    assert ((0 <= r) & (r < d)).all() and (x + d // 2 == y * d + r).all()


def test_rounding_examples():
    y, _, _ = run("rescale", {"x": np.array([-5, -3, -1, 1, 3, 5, 6])}, {"k": 1})
    assert y.tolist() == [-2, -1, 0, 1, 2, 3, 3]


@SETTINGS
@given(ints((3, 4)))
def test_relu_and_sign(x):
    y, ex, _ = run("relu", {"x": x})
    assert y.tolist() == [[max(int(v), 0) for v in row] for row in x]
    assert ex.events[0].aux["neg"].tolist() == [[int(v < 0) for v in row] for row in x]


@SETTINGS
@given(ints((2, 3, 4), -5, 5), st.sampled_from([[0], [1], [2], [0, 2], [1, 2], [0, 1, 2]]),
       st.booleans())
def test_sum_and_max(x, axes, keep):
    for op in ("sum", "max"):
        y, ex, _ = run(op, {"x": x}, {"axes": axes, "keepdims": keep})
        ref = (np.sum if op == "sum" else np.max)(x.astype(object), axis=tuple(axes), keepdims=keep)
        assert y.tolist() == np.asarray(ref).tolist()
    # max's aux: the first maximal element of each reduced group
    arg = ex.events[0].aux["arg"]
    rest = [i for i in range(3) if i not in axes]
    g = x.transpose(rest + axes).reshape([x.shape[i] for i in rest] + [-1])
    for idx in np.ndindex(*g.shape[:-1]):
        row = list(g[idx])
        assert arg.reshape(g.shape[:-1])[idx] == row.index(max(row))


@SETTINGS
@given(ints((3, 5), -3, 3), st.integers(-2, 1))
def test_argmax_first_index(x, axis):
    y, ex, _ = run("argmax", {"x": x}, {"axis": axis})
    ax = axis % 2
    ref = [list(r).index(max(r)) for r in (x if ax == 1 else x.T)]
    assert y.tolist() == ref
    assert ex.program.tensors["y"].scale == 0


@SETTINGS
@given(ints((9,), -80, 80), st.integers(-60, 0), st.integers(1, 60))
def test_lut_clamps_then_looks_up(x, lo, width):
    hi = lo + width
    y, ex, prog = run("lut", {"x": x}, {"fn": "tanh", "range": [lo, hi], "scale": 8})
    table = [math.floor(math.tanh(v / 16) * 256 + 0.5) for v in range(lo, hi + 1)]
    ref = [table[min(max(int(v), lo), hi) - lo] for v in x]
    assert y.tolist() == ref
    assert ex.events[0].aux["index"].tolist() == [min(max(int(v), lo), hi) - lo for v in x]
    assert prog.tensors["y"].scale == 8


@pytest.mark.parametrize("fn,f", [
    ("sigmoid", lambda v: 1 / (1 + math.exp(-v))), ("exp", math.exp),
    ("gelu", lambda v: 0.5 * v * (1 + math.erf(v / math.sqrt(2)))),
    ("reciprocal", lambda v: 1 / v), ("rsqrt", lambda v: 1 / math.sqrt(v)),
])
def test_lut_functions(fn, f):
    x = np.arange(1, 40)
    y, _, _ = run("lut", {"x": x}, {"fn": fn, "range": [1, 39], "scale": 10})
    assert y.tolist() == [math.floor(f(v / 16) * 1024 + 0.5) for v in range(1, 40)]


def test_views_gather_addresses():
    x = np.arange(24).reshape(2, 3, 4) - 12
    cases = [
        ("reshape", {"shape": [4, -1]}, x.reshape(4, 6)),
        ("transpose", {"perm": [2, 0, 1]}, x.transpose(2, 0, 1)),
        ("slice", {"starts": [1, 0], "ends": [3, 4], "axes": [1, 2], "steps": [1, 2]}, x[:, 1:3, 0:4:2]),
        ("pad", {"pads": [[0, 0], [1, 0], [0, 2]]}, np.pad(x, [(0, 0), (1, 0), (0, 2)])),
        ("broadcast", {"shape": [2, 2, 3, 4]}, np.broadcast_to(x, (2, 2, 3, 4))),
    ]
    for op, attrs, ref in cases:
        y, ex, prog = run(op, {"x": x}, attrs)
        assert y.tolist() == ref.tolist(), op
        assert ex.events == []  # views cost no rows
        assert prog.addresses("y").shape == ref.shape
    y, _, prog = run("concat", {"a": x, "c": x[:, :1] * 0 + 7}, {"axis": 1})
    assert y.tolist() == np.concatenate([x, x[:, :1] * 0 + 7], axis=1).tolist()


def _conv_ref(x, w, b, stride, pad, dil):
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    xp = np.pad(x, [(0, 0), (0, 0), (pad[0], pad[2]), (pad[1], pad[3])])
    oh = (h + pad[0] + pad[2] - dil[0] * (kh - 1) - 1) // stride[0] + 1
    ow = (wd + pad[1] + pad[3] - dil[1] * (kw - 1) - 1) // stride[1] + 1
    y = np.zeros((n, o, oh, ow), dtype=object)
    for ni in range(n):
        for oi in range(o):
            for i in range(oh):
                for j in range(ow):
                    acc = int(b[oi])
                    for ci in range(c):
                        for u in range(kh):
                            for v in range(kw):
                                acc += int(xp[ni, ci, i * stride[0] + u * dil[0],
                                              j * stride[1] + v * dil[1]]) * int(w[oi, ci, u, v])
                    y[ni, oi, i, j] = acc
    return y


@SETTINGS
@given(st.data(), st.integers(1, 2), st.integers(1, 2), st.integers(1, 2), st.integers(0, 1),
       st.integers(1, 2))
def test_conv2d_matches_direct_convolution(data, c, o, stride, pad, dil):
    x = data.draw(ints((1, c, 5, 6), -20, 20))
    w = data.draw(ints((o, c, 2, 3), -20, 20))
    bias = data.draw(ints((o,), -50, 50))
    b = Builder()
    b.input("x", x.shape, 16, 4)
    b.weight("w", w, 8, 4)
    b.weight("b", bias, 32, 8)
    b.emit("conv2d", ["x", "w", "b"], "y", {"stride": [stride, 1], "padding": [pad, pad],
                                            "dilation": [dil, 1]})
    b.output("y")
    prog = b.build()
    ex = execute(prog, {"x": x})
    ref = _conv_ref(x, w, bias, [stride, 1], [pad, pad, pad, pad], [dil, 1])
    assert ex.values["y"].tolist() == ref.tolist()
    assert [e.op for e in ex.events] == ["matmul"]  # conv is one matmul plus address maps


@SETTINGS
@given(ints((1, 2, 4, 6), -50, 50))
def test_pools_and_mean(x):
    y, _, _ = run("maxpool", {"x": x}, {"kernel": [2, 3]})
    ref = x.reshape(1, 2, 2, 2, 2, 3).max(axis=(3, 5))
    assert y.tolist() == ref.tolist()
    y, _, _ = run("avgpool", {"x": x}, {"kernel": [2, 2]})
    s = x.reshape(1, 2, 2, 2, 3, 2).sum(axis=(3, 5))
    assert y.tolist() == [[[[round_half_up(Fraction(int(v), 4)) for v in r] for r in ch]
                           for ch in s[0]]]
    y, _, _ = run("mean", {"x": x}, {"axes": [2, 3]})
    assert y.tolist() == [[round_half_up(Fraction(int(x[0, c].sum()), 24)) for c in range(2)]]


@SETTINGS
@given(ints((2, 3)), ints((3,)))
def test_maximum_elementwise(a, c):
    y, _, _ = run("maximum", {"a": a, "c": c})
    assert y.tolist() == np.maximum(a, c).tolist()


@SETTINGS
@given(ints((2, 6), -600, 600))
def test_softmax_close_to_float(x):
    y, _, prog = run("softmax", {"x": x}, {"axis": -1, "scale": 10})
    real = x / 16.0
    ref = np.exp(real - real.max(axis=1, keepdims=True))
    ref /= ref.sum(axis=1, keepdims=True)
    assert np.abs(y / 1024.0 - ref).max() <= 4 / 1024
    assert prog.tensors["y"].scale == 10


@SETTINGS
@given(ints((2, 8), -200, 200))
def test_layernorm_close_to_float(x):
    b = Builder()
    b.input("x", x.shape, 16, 6, value_range=(-256, 256))
    b.weight("g", np.full(8, 64), 16, 6)
    b.weight("beta", np.full(8, 16), 16, 6)
    b.emit("layernorm", ["x", "g", "beta"], "y", {"eps": 1e-3})
    b.output("y")
    prog = b.build()
    y = execute(prog, {"x": np.clip(x, -256, 256)}).values["y"] / 64.0
    r = np.clip(x, -256, 256) / 64.0
    ref = (r - r.mean(1, keepdims=True)) / np.sqrt(r.var(1, keepdims=True) + 1e-3) + 0.25
    assert np.abs(y - ref).max() < 0.1
