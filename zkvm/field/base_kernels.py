"""Numba kernels for Goldilocks base-field arrays.

Base arrays are ``uint64`` arrays, canonical in ``[0, P)``. Element-wise
functions broadcast like numpy ufuncs and never mutate their inputs. Large
inputs (>= ``PAR_MIN`` elements) run on all cores. The extension arrays
(:mod:`zkvm.field.ext_kernels`) build on these; :mod:`zkvm.field.kernels` is
the one namespace that offers both.

The scalar (pure Python) twins live in :mod:`zkvm.field.scalar`; the plain
reference twins of these array functions in :mod:`zkvm.field.reference`.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import prange

from zkvm.field.arith import (  # noqa: F401  (re-exported for the poly kernels)
    EPS, ONE, P_, U64, ZERO, _carry, _JIT, _reduce128, addmod, mulmod, powmod, submod,
)
from zkvm.field.scalar import P as _P_INT

__all__ = [
    "add", "sub", "mul", "neg", "inv", "batch_inv", "pow_", "sum_", "dot",
    "from_int", "to_signed", "powers",
]

PAR_MIN = 1 << 16  # element count from which the element-wise kernels use all cores
_OP_ADD, _OP_SUB, _OP_MUL, _OP_RSUB = 0, 1, 2, 3


# ---------------------------------------------------------------------------
# element-wise kernels on flat arrays; ``b`` may have length 1 (a broadcast scalar)
# ---------------------------------------------------------------------------
@numba.njit(inline="always", **_JIT)
def _binary_range(op, a, b, out, lo, hi):
    if b.shape[0] == 1:
        y = b[0]
        if op == _OP_ADD:
            for i in range(lo, hi):
                out[i] = addmod(a[i], y)
        elif op == _OP_SUB:
            for i in range(lo, hi):
                out[i] = submod(a[i], y)
        elif op == _OP_MUL:
            for i in range(lo, hi):
                out[i] = mulmod(a[i], y)
        else:
            for i in range(lo, hi):
                out[i] = submod(y, a[i])
    else:
        if op == _OP_ADD:
            for i in range(lo, hi):
                out[i] = addmod(a[i], b[i])
        elif op == _OP_SUB:
            for i in range(lo, hi):
                out[i] = submod(a[i], b[i])
        elif op == _OP_MUL:
            for i in range(lo, hi):
                out[i] = mulmod(a[i], b[i])
        else:
            for i in range(lo, hi):
                out[i] = submod(b[i], a[i])


@numba.njit(**_JIT)
def _binary_ser(op, a, b, out):
    _binary_range(op, a, b, out, 0, out.shape[0])


@numba.njit(parallel=True, **_JIT)
def _binary_par(op, a, b, out):
    n = out.shape[0]
    nch = (n + 8191) // 8192
    for c in prange(nch):
        _binary_range(op, a, b, out, c * 8192, min(n, (c + 1) * 8192))


@numba.njit(parallel=True, **_JIT)
def _pow_k(a, e, out):
    for i in prange(a.shape[0]):
        out[i] = powmod(a[i], e)


@numba.njit(**_JIT)
def _batch_inv_flat(a):
    n = a.shape[0]
    out = np.empty(n, dtype=np.uint64)
    if n == 0:
        return out
    acc = ONE
    for i in range(n):
        out[i] = acc
        acc = mulmod(acc, a[i])
    inv = powmod(acc, P_ - np.uint64(2))
    for i in range(n - 1, -1, -1):
        out[i] = mulmod(out[i], inv)
        inv = mulmod(inv, a[i])
    return out


@numba.njit(parallel=True, **_JIT)
def _batch_inv_par(a, out, nch):
    """Montgomery's trick on ``nch`` independent chunks (one exponentiation each).

    The chunk loop is written out here (not a call to ``_batch_inv_flat``,
    which allocates): numba can then cache this parallel kernel on disk
    instead of recompiling it in every process.
    """
    n = a.shape[0]
    size = (n + nch - 1) // nch
    for c in prange(nch):
        lo = c * size
        hi = min(n, lo + size)
        if lo < hi:
            acc = ONE
            for i in range(lo, hi):
                out[i] = acc
                acc = mulmod(acc, a[i])
            inv = powmod(acc, P_ - ONE - ONE)
            for i in range(hi - 1, lo - 1, -1):
                out[i] = mulmod(out[i], inv)
                inv = mulmod(inv, a[i])


@numba.njit(parallel=True, **_JIT)
def _sum_rows(a):
    m, n = a.shape
    out = np.empty(m, dtype=np.uint64)
    for r in prange(m):
        lo = ZERO
        hi = ZERO
        for i in range(n):
            x = a[r, i]
            lo += x
            hi += _carry(lo - x, x, lo)
        out[r] = _reduce128(hi, lo)
    return out


@numba.njit(parallel=True, **_JIT)
def _dot_rows(a, b):
    m, n = a.shape
    out = np.empty(m, dtype=np.uint64)
    for r in prange(m):
        lo = ZERO
        hi = ZERO
        for i in range(n):
            x = mulmod(a[r, i], b[r, i])
            lo += x
            hi += _carry(lo - x, x, lo)
        out[r] = _reduce128(hi, lo)
    return out


@numba.njit(**_JIT)
def _powers(g, n):
    out = np.empty(n, dtype=np.uint64)
    acc = ONE
    for i in range(n):
        out[i] = acc
        acc = mulmod(acc, g)
    return out


# ---------------------------------------------------------------------------
# public base-field API
# ---------------------------------------------------------------------------
def _u(a) -> np.ndarray:
    """View ``a`` as a uint64 array (Python ints must already be canonical)."""
    if isinstance(a, np.ndarray) and a.dtype == np.uint64:
        return a
    return np.asarray(a, dtype=np.uint64)


def _flat(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a).reshape(-1)


def _finish(out: np.ndarray, shape: tuple):
    out = out.reshape(shape)
    return out[()] if out.ndim == 0 else out


def _binary(op: int, a, b):
    a, b = _u(a), _u(b)
    if a.shape == b.shape:
        shape, fa, fb = a.shape, _flat(a), _flat(b)
    elif b.size == 1:
        shape = np.broadcast_shapes(a.shape, b.shape)
        fa, fb = _flat(a), _flat(b)
    elif a.size == 1:
        shape = np.broadcast_shapes(a.shape, b.shape)
        fa, fb = _flat(b), _flat(a)
        op = {_OP_SUB: _OP_RSUB}.get(op, op)
    else:
        a, b = np.broadcast_arrays(a, b)
        shape, fa, fb = a.shape, _flat(a), _flat(b)
    out = np.empty(fa.shape[0], dtype=np.uint64)
    (_binary_par if out.shape[0] >= PAR_MIN else _binary_ser)(op, fa, fb, out)
    return _finish(out, shape)


def add(a, b) -> np.ndarray:
    """Element-wise ``a + b mod P`` (numpy broadcasting)."""
    return _binary(_OP_ADD, a, b)


def sub(a, b) -> np.ndarray:
    """Element-wise ``a - b mod P``."""
    return _binary(_OP_SUB, a, b)


def mul(a, b) -> np.ndarray:
    """Element-wise ``a * b mod P``."""
    return _binary(_OP_MUL, a, b)


def neg(a) -> np.ndarray:
    """Element-wise ``-a mod P``."""
    return _binary(_OP_RSUB, a, np.zeros(1, dtype=np.uint64))


def batch_inv(a) -> np.ndarray:
    """Element-wise inverse by Montgomery's trick (one exponentiation per chunk).

    Raises:
        ZeroDivisionError: if any element is zero (its first flat index is named).
    """
    a = _u(a)
    fa = _flat(a)
    zeros = np.flatnonzero(fa == 0)
    if zeros.size:
        raise ZeroDivisionError(f"batch_inv: element {int(zeros[0])} (flat index) is zero")
    if fa.shape[0] >= PAR_MIN:
        out = np.empty_like(fa)
        _batch_inv_par(fa, out, 2 * numba.get_num_threads())
    else:
        out = _batch_inv_flat(fa)
    return _finish(out, a.shape)


def inv(a) -> np.ndarray:
    """Element-wise inverse; raises ``ZeroDivisionError`` on a zero."""
    return batch_inv(a)


def _norm_exp(e: int, order: int) -> int:
    """Reduce a non-negative exponent below the group order, keeping 0^e correct."""
    if e >= order:
        e = (e - 1) % order + 1
    return e


def pow_(a, e: int) -> np.ndarray:
    """Element-wise ``a^e``; ``e`` a Python int (negative inverts first)."""
    a = _u(a)
    e = int(e)
    if e < 0:
        a, e = batch_inv(a), -e
    fa = _flat(a)
    out = np.empty_like(fa)
    _pow_k(fa, np.uint64(_norm_exp(e, _P_INT - 1)), out)
    return _finish(out, a.shape)


def sum_(a, axis: int | None = None):
    """Modular sum; ``axis=None`` sums everything and returns a Python int."""
    a = _u(a)
    if axis is None:
        return int(_sum_rows(_flat(a).reshape(1, -1))[0])
    a = np.moveaxis(a, axis, -1)
    shape = a.shape[:-1]
    return _sum_rows(np.ascontiguousarray(a).reshape(-1, a.shape[-1])).reshape(shape)


def dot(a, b):
    """Modular inner product over the last axis (broadcasting the others).

    Returns a Python int for 1-D inputs, else a uint64 array.
    """
    a, b = np.broadcast_arrays(_u(a), _u(b))
    shape = a.shape[:-1]
    n = a.shape[-1] if a.ndim else 1
    out = _dot_rows(np.ascontiguousarray(a).reshape(-1, n), np.ascontiguousarray(b).reshape(-1, n))
    if len(shape) == 0:
        return int(out[0])
    return out.reshape(shape)


def from_int(x):
    """Map signed integers (Python int or integer array, |x| < P) to canonical form.

    Python ints return a Python int; arrays return uint64 (uint64 inputs >= P are reduced).
    """
    if isinstance(x, (int, np.integer)) and not isinstance(x, bool):
        return int(x) % _P_INT
    x = np.asarray(x)
    if x.dtype == np.uint64:
        return np.where(x >= P_, x - P_, x)
    if x.dtype == object:
        return np.array([int(v) % _P_INT for v in x.reshape(-1)], dtype=np.uint64).reshape(x.shape)
    if x.dtype.kind not in "iub":
        raise TypeError(f"from_int: expected an integer array, got dtype {x.dtype}")
    x = x.astype(np.int64, copy=False)
    u = x.view(np.uint64)
    return np.where(x < 0, u - EPS, u)  # 2^64 + x - EPS = P + x


def to_signed(a) -> np.ndarray:
    """Map canonical elements to int64 in ``(-P/2, P/2)``."""
    a = _u(a)
    return np.where(a > P_ // U64(2), a + EPS, a).view(np.int64)  # a + EPS = a - P + 2^64


def powers(g, n: int) -> np.ndarray:
    """Return ``[1, g, g^2, ..., g^(n-1)]`` as a uint64 array."""
    return _powers(np.uint64(int(g) % _P_INT), int(n))

