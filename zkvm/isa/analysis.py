"""Worst-case interval analysis (docs/isa.md "Bounds").

Each tensor gets one integer interval ``[lo, hi]`` that holds every element on
every input allowed by the declarations. Inputs start from their declared range,
weights from their values; each opcode maps intervals exactly as its integer
semantics does (monotone ops map endpoints, ``matmul`` by a known weight uses
the weight's per-column positive and negative sums). For accumulating ops the
analysis also returns ``acc``: a bound on the magnitude of every partial sum,
in any order of accumulation. All arithmetic is on Python ints (no wrap).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .tensor import TensorInfo

Interval = tuple[int, int]


def _corners(a: Interval, b: Interval) -> Interval:
    c = [a[0] * b[0], a[0] * b[1], a[1] * b[0], a[1] * b[1]]
    return min(c), max(c)


def _count(shape: tuple[int, ...], axes: list[int]) -> int:
    n = 1
    for ax in axes:
        n *= shape[ax]
    return n


def interval(
    op: str,
    attrs: dict[str, Any],
    ins: list[TensorInfo],
    ivs: list[Interval],
    static: list[np.ndarray | None],
) -> tuple[Interval, int]:
    """Interval of the result of one compute instruction.

    Args:
        op: opcode (not a view).
        attrs: normalised attributes.
        ins: operand metadata.
        ivs: operand intervals.
        static: operand values when known at assembly time (weights), else None.

    Returns:
        ``((lo, hi), acc)`` where ``acc`` bounds the magnitude of every partial
        sum the op forms (0 for ops that form none).
    """
    if op == "matmul":
        return _matmul(ins, ivs, static)
    if op in ("add", "sub"):
        a, b = ivs
        r = (a[0] + b[0], a[1] + b[1]) if op == "add" else (a[0] - b[1], a[1] - b[0])
        return r, 0
    if op == "mul":
        return _corners(ivs[0], ivs[1]), 0
    if op == "sum":
        n = _count(ins[0].shape, attrs["axes"])
        lo, hi = ivs[0]
        return (lo * n, hi * n), n * max(abs(lo), abs(hi))
    if op == "max":
        return ivs[0], 0
    if op == "argmax":
        return (0, ins[0].shape[attrs["axis"]] - 1), 0
    if op == "rescale":
        k = attrs["k"]
        half = 1 << (k - 1)
        lo, hi = ivs[0]
        return ((lo + half) >> k, (hi + half) >> k), 0
    if op == "div":
        d = attrs["d"]
        lo, hi = ivs[0]
        return ((lo + d // 2) // d, (hi + d // 2) // d), 0
    if op == "relu":
        lo, hi = ivs[0]
        return (max(lo, 0), max(hi, 0)), 0
    if op == "lut":
        t_lo, t_hi, table = attrs["lo"], attrs["hi"], attrs["table"]
        lo = min(max(ivs[0][0], t_lo), t_hi)
        hi = min(max(ivs[0][1], t_lo), t_hi)
        part = table[lo - t_lo : hi - t_lo + 1]
        return (int(part.min()), int(part.max())), 0
    raise AssertionError(f"no interval rule for {op}")  # every compute op has one


def _matmul(
    ins: list[TensorInfo], ivs: list[Interval], static: list[np.ndarray | None]
) -> tuple[Interval, int]:
    (xl, xh), w = ivs[0], static[1]
    k = ins[1].shape[0]
    xm = max(abs(xl), abs(xh))
    if w is not None and w.size:
        wo = w.astype(object)
        pos = np.where(w > 0, wo, 0).sum(axis=0)  # per output column
        neg = np.where(w < 0, wo, 0).sum(axis=0)
        col_lo = [xl * p + xh * n for p, n in zip(pos, neg)]
        col_hi = [xh * p + xl * n for p, n in zip(pos, neg)]
        col_acc = [xm * (p - n) for p, n in zip(pos, neg)]
    else:
        lo, hi = _corners(ivs[0], ivs[1])
        m = max(abs(lo), abs(hi))
        n_cols = ins[1].shape[1]
        col_lo, col_hi, col_acc = [k * lo] * n_cols, [k * hi] * n_cols, [k * m] * n_cols
    if not col_lo:
        return (0, 0), 0
    if len(ins) == 3:
        b, bl, bh = static[2], ivs[2][0], ivs[2][1]
        if b is not None and b.shape == (len(col_lo),):
            bl_col = [int(v) for v in b]
            bh_col = bl_col
        else:
            bl_col, bh_col = [bl] * len(col_lo), [bh] * len(col_lo)
        col_lo = [c + v for c, v in zip(col_lo, bl_col)]
        col_hi = [c + v for c, v in zip(col_hi, bh_col)]
        col_acc = [a + max(abs(u), abs(v)) for a, u, v in zip(col_acc, bl_col, bh_col)]
    return (int(min(col_lo)), int(max(col_hi))), int(max(col_acc))
