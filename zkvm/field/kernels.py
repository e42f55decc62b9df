"""Numba kernels for Goldilocks arrays (base field and the quadratic extension).

Base arrays are ``uint64`` arrays, canonical in ``[0, P)``; extension arrays are
``uint64`` arrays of shape ``(..., 2)`` holding ``c0 + c1*X`` in F_p[X]/(X^2 - 7).
No function here mutates its inputs.

Numba has no 128-bit integer, so a product is formed from four 32x32-bit partial
products and reduced with 2^64 = 2^32 - 1 and 2^96 = -1 (mod p): for
x = hi*2^64 + lo with hi = h1*2^32 + h0, x = lo - h1 + h0*(2^32 - 1) (mod p).
This is the usual Goldilocks reduction (see e.g. the Plonky2 paper, section 4).

The scalar (pure Python) twins live in :mod:`zkvm.field.scalar`; the plain
reference twins of these array functions in :mod:`zkvm.field.reference`.
"""

from __future__ import annotations

import numba
import numpy as np

from zkvm.field.scalar import P as _P_INT
from zkvm.field.scalar import Ext

__all__ = [
    "add", "sub", "mul", "neg", "inv", "batch_inv", "pow_", "sum_", "dot",
    "from_int", "to_signed", "powers",
    "ext_add", "ext_sub", "ext_mul", "ext_neg", "ext_inv", "ext_batch_inv", "ext_pow",
    "ext_mul_base", "ext_from_base", "ext_powers", "ext_sum",
]

U64 = np.uint64
P_ = np.uint64(_P_INT)
EPS = np.uint64(0xFFFFFFFF)
M32 = np.uint64(0xFFFFFFFF)
S32 = np.uint64(32)
S63 = np.uint64(63)
ZERO = np.uint64(0)
ONE = np.uint64(1)
W_ = np.uint64(7)

_JIT = dict(cache=True, nogil=True, fastmath=False)


# ---------------------------------------------------------------------------
# scalar building blocks (inlined into every kernel)
# ---------------------------------------------------------------------------
# Carries and borrows are computed with bit operations, not comparisons: LLVM turns
# compare-and-select into branches inside loops, and on random field elements those
# branches mispredict about half the time (an NTT butterfly was ~15x slower).
@numba.njit(inline="always", **_JIT)
def _carry(x, y, s):
    """1 if ``x + y`` wrapped past 2^64 (``s`` is the wrapped sum), else 0."""
    return ((x & y) | ((x | y) & ~s)) >> S63


@numba.njit(inline="always", **_JIT)
def _borrow(x, y, d):
    """1 if ``x - y`` wrapped below 0 (``d`` is the wrapped difference), else 0."""
    return ((~x & y) | ((~x | y) & d)) >> S63


@numba.njit(inline="always", **_JIT)
def _canon(x):
    """Reduce ``x < 2^64`` to ``[0, P)``: x >= P iff x + EPS wraps."""
    return x - (P_ & (ZERO - _carry(x, EPS, x + EPS)))


@numba.njit(inline="always", **_JIT)
def _reduce128(hi, lo):
    """Reduce hi * 2^64 + lo mod P, using 2^64 = EPS and 2^96 = -1 (mod P)."""
    h1 = hi >> S32
    h0 = hi & M32
    t0 = lo - h1
    t0 -= EPS & (ZERO - _borrow(lo, h1, t0))  # borrow: -2^64 = -EPS
    t1 = h0 * EPS
    t2 = t0 + t1
    t2 += EPS & (ZERO - _carry(t0, t1, t2))  # carry: +2^64 = +EPS (cannot wrap again)
    return _canon(t2)


@numba.njit(inline="always", **_JIT)
def mulmod(a, b):
    """``a * b mod P`` for canonical a, b (64x64 -> 128 via 32-bit limbs, then reduce)."""
    a0 = a & M32
    a1 = a >> S32
    b0 = b & M32
    b1 = b >> S32
    ll = a0 * b0
    lh = a0 * b1
    hl = a1 * b0
    hh = a1 * b1
    mid = (ll >> S32) + (lh & M32) + (hl & M32)
    lo = (mid << S32) | (ll & M32)
    hi = hh + (lh >> S32) + (hl >> S32) + (mid >> S32)
    return _reduce128(hi, lo)


@numba.njit(inline="always", **_JIT)
def addmod(a, b):
    """``a + b mod P`` for canonical a, b."""
    s = a + b
    s += EPS & (ZERO - _carry(a, b, s))  # wrapped: add 2^64 mod P; then s < P
    return _canon(s)


@numba.njit(inline="always", **_JIT)
def submod(a, b):
    """``a - b mod P`` for canonical a, b."""
    d = a - b
    return d + (P_ & (ZERO - _borrow(a, b, d)))


@numba.njit(inline="always", **_JIT)
def powmod(a, e):
    acc = ONE
    base = a
    while e > ZERO:
        if e & ONE:
            acc = mulmod(acc, base)
        base = mulmod(base, base)
        e >>= ONE
    return acc


# ---------------------------------------------------------------------------
# base-field ufuncs
# ---------------------------------------------------------------------------
@numba.vectorize(["uint64(uint64, uint64)"], cache=True)
def _add_u(a, b):
    return addmod(a, b)


@numba.vectorize(["uint64(uint64, uint64)"], cache=True)
def _sub_u(a, b):
    return submod(a, b)


@numba.vectorize(["uint64(uint64, uint64)"], cache=True)
def _mul_u(a, b):
    return mulmod(a, b)


@numba.vectorize(["uint64(uint64)"], cache=True)
def _neg_u(a):
    return submod(ZERO, a)


@numba.vectorize(["uint64(uint64, uint64)"], cache=True)
def _pow_u(a, e):
    return powmod(a, e)


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


@numba.njit(**_JIT)
def _sum_rows(a):
    m, n = a.shape
    out = np.empty(m, dtype=np.uint64)
    for r in range(m):
        lo = ZERO
        hi = ZERO
        for i in range(n):
            x = a[r, i]
            lo += x
            if lo < x:
                hi += ONE
        out[r] = _reduce128(hi, lo)
    return out


@numba.njit(**_JIT)
def _dot_rows(a, b):
    m, n = a.shape
    out = np.empty(m, dtype=np.uint64)
    for r in range(m):
        lo = ZERO
        hi = ZERO
        for i in range(n):
            x = mulmod(a[r, i], b[r, i])
            lo += x
            if lo < x:
                hi += ONE
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


def add(a, b) -> np.ndarray:
    """Element-wise ``a + b mod P`` (numpy broadcasting)."""
    return _add_u(_u(a), _u(b))


def sub(a, b) -> np.ndarray:
    """Element-wise ``a - b mod P``."""
    return _sub_u(_u(a), _u(b))


def mul(a, b) -> np.ndarray:
    """Element-wise ``a * b mod P``."""
    return _mul_u(_u(a), _u(b))


def neg(a) -> np.ndarray:
    """Element-wise ``-a mod P``."""
    return _neg_u(_u(a))


def batch_inv(a) -> np.ndarray:
    """Element-wise inverse by Montgomery's trick (one exponentiation in all).

    Raises:
        ZeroDivisionError: if any element is zero (its first index is named).
    """
    a = _u(a)
    zeros = np.flatnonzero(a.reshape(-1) == 0)
    if zeros.size:
        raise ZeroDivisionError(f"batch_inv: element {int(zeros[0])} (flat index) is zero")
    return _batch_inv_flat(np.ascontiguousarray(a).reshape(-1)).reshape(a.shape)


def inv(a) -> np.ndarray:
    """Element-wise inverse; raises ``ZeroDivisionError`` on a zero."""
    return batch_inv(a)


def _norm_exp(e: int) -> int:
    """Reduce a non-negative exponent below P - 1, keeping 0^e correct."""
    if e >= _P_INT - 1:
        e = (e - 1) % (_P_INT - 1) + 1
    return e


def pow_(a, e: int) -> np.ndarray:
    """Element-wise ``a^e``; ``e`` a Python int (negative inverts first)."""
    a = _u(a)
    e = int(e)
    if e < 0:
        a, e = batch_inv(a), -e
    return _pow_u(a, np.uint64(_norm_exp(e)))


def sum_(a, axis: int | None = None):
    """Modular sum; ``axis=None`` sums everything and returns a Python int."""
    a = _u(a)
    if axis is None:
        return int(_sum_rows(np.ascontiguousarray(a).reshape(1, -1))[0])
    a = np.moveaxis(a, axis, -1)
    shape = a.shape[:-1]
    flat = np.ascontiguousarray(a).reshape(-1, a.shape[-1]) if a.size else a.reshape(-1, a.shape[-1])
    return _sum_rows(flat).reshape(shape)


def dot(a, b):
    """Modular inner product over the last axis (broadcasting the others).

    Returns a Python int for 1-D inputs, else a uint64 array.
    """
    a, b = np.broadcast_arrays(_u(a), _u(b))
    shape = a.shape[:-1]
    n = a.shape[-1] if a.ndim else 1
    a2 = np.ascontiguousarray(a).reshape(-1, n)
    b2 = np.ascontiguousarray(b).reshape(-1, n)
    out = _dot_rows(a2, b2)
    if len(shape) == 0:
        return int(out[0])
    return out.reshape(shape)


def from_int(x):
    """Map signed integers (Python int or integer array, |x| < P) to canonical form.

    Python ints return a Python int; arrays return uint64.
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
    return np.where(x < 0, u - EPS, u)


def to_signed(a) -> np.ndarray:
    """Map canonical elements to int64 in ``(-P/2, P/2)``."""
    a = _u(a)
    return np.where(a > P_ // U64(2), a + EPS, a).view(np.int64)


def powers(g, n: int) -> np.ndarray:
    """Return ``[1, g, g^2, ..., g^(n-1)]`` as a uint64 array."""
    return _powers(np.uint64(int(g) % _P_INT), int(n))


# ---------------------------------------------------------------------------
# extension-field kernels: rows of (m, 2); a length-1 operand broadcasts
# ---------------------------------------------------------------------------
@numba.njit(**_JIT)
def _ext_mul_k(a, b, out):
    m = out.shape[0]
    sa = 1 if a.shape[0] > 1 else 0
    sb = 1 if b.shape[0] > 1 else 0
    for i in range(m):
        a0 = a[i * sa, 0]
        a1 = a[i * sa, 1]
        b0 = b[i * sb, 0]
        b1 = b[i * sb, 1]
        out[i, 0] = addmod(mulmod(a0, b0), mulmod(W_, mulmod(a1, b1)))
        out[i, 1] = addmod(mulmod(a0, b1), mulmod(a1, b0))


@numba.njit(**_JIT)
def _ext_mul_base_k(a, b, out):
    m = out.shape[0]
    sa = 1 if a.shape[0] > 1 else 0
    sb = 1 if b.shape[0] > 1 else 0
    for i in range(m):
        x = b[i * sb]
        out[i, 0] = mulmod(a[i * sa, 0], x)
        out[i, 1] = mulmod(a[i * sa, 1], x)


@numba.njit(**_JIT)
def _ext_batch_inv_k(a):
    m = a.shape[0]
    norms = np.empty(m, dtype=np.uint64)
    for i in range(m):
        norms[i] = submod(mulmod(a[i, 0], a[i, 0]), mulmod(W_, mulmod(a[i, 1], a[i, 1])))
    ninv = _batch_inv_flat(norms)
    out = np.empty((m, 2), dtype=np.uint64)
    for i in range(m):
        out[i, 0] = mulmod(a[i, 0], ninv[i])
        out[i, 1] = submod(ZERO, mulmod(a[i, 1], ninv[i]))
    return out


@numba.njit(**_JIT)
def _ext_pow_k(a, e):
    m = a.shape[0]
    out = np.empty((m, 2), dtype=np.uint64)
    for i in range(m):
        r0 = ONE
        r1 = ZERO
        b0 = a[i, 0]
        b1 = a[i, 1]
        k = e
        while k > ZERO:
            if k & ONE:
                t0 = addmod(mulmod(r0, b0), mulmod(W_, mulmod(r1, b1)))
                r1 = addmod(mulmod(r0, b1), mulmod(r1, b0))
                r0 = t0
            t0 = addmod(mulmod(b0, b0), mulmod(W_, mulmod(b1, b1)))
            b1 = mulmod(np.uint64(2), mulmod(b0, b1))
            b0 = t0
            k >>= ONE
        out[i, 0] = r0
        out[i, 1] = r1
    return out


@numba.njit(**_JIT)
def _ext_powers_k(g0, g1, n):
    out = np.empty((n, 2), dtype=np.uint64)
    r0 = ONE
    r1 = ZERO
    for i in range(n):
        out[i, 0] = r0
        out[i, 1] = r1
        t0 = addmod(mulmod(r0, g0), mulmod(W_, mulmod(r1, g1)))
        r1 = addmod(mulmod(r0, g1), mulmod(r1, g0))
        r0 = t0
    return out


def _ext_u(a) -> np.ndarray:
    if isinstance(a, Ext):
        return np.array([a.c0, a.c1], dtype=np.uint64)
    a = _u(a)
    if a.ndim == 0 or a.shape[-1] != 2:
        raise ValueError(f"expected an extension array of shape (..., 2), got shape {a.shape}")
    return a


def _rows(a: np.ndarray, lead: tuple, width: int | None) -> np.ndarray:
    """Return ``a`` as contiguous rows, keeping a single row un-broadcast."""
    own = a.shape[:-1] if width is not None else a.shape
    if int(np.prod(own, dtype=np.int64)) == 1:
        return np.ascontiguousarray(a).reshape((1, width) if width else (1,))
    if own != lead:
        a = np.broadcast_to(a, lead + ((width,) if width else ()))
    a = np.ascontiguousarray(a)
    return a.reshape((-1, width) if width else (-1,))


def ext_add(a, b) -> np.ndarray:
    """Element-wise sum of extension arrays."""
    return _add_u(_ext_u(a), _ext_u(b))


def ext_sub(a, b) -> np.ndarray:
    """Element-wise difference of extension arrays."""
    return _sub_u(_ext_u(a), _ext_u(b))


def ext_neg(a) -> np.ndarray:
    """Element-wise negation of an extension array."""
    return _neg_u(_ext_u(a))


def ext_mul(a, b) -> np.ndarray:
    """Element-wise product of extension arrays (``a`` or ``b`` may be an ``Ext``)."""
    a, b = _ext_u(a), _ext_u(b)
    lead = np.broadcast_shapes(a.shape[:-1], b.shape[:-1])
    m = int(np.prod(lead, dtype=np.int64))
    out = np.empty((m, 2), dtype=np.uint64)
    _ext_mul_k(_rows(a, lead, 2), _rows(b, lead, 2), out)
    return out.reshape(lead + (2,))


def ext_mul_base(e, b) -> np.ndarray:
    """Multiply extension array ``e`` (..., 2) by base array ``b`` broadcast over e's leading shape."""
    e, b = _ext_u(e), _u(b)
    lead = np.broadcast_shapes(e.shape[:-1], b.shape)
    m = int(np.prod(lead, dtype=np.int64))
    out = np.empty((m, 2), dtype=np.uint64)
    _ext_mul_base_k(_rows(e, lead, 2), _rows(b, lead, None), out)
    return out.reshape(lead + (2,))


def ext_from_base(b) -> np.ndarray:
    """Embed a base array as an extension array of shape ``b.shape + (2,)``."""
    b = _u(b)
    out = np.zeros(b.shape + (2,), dtype=np.uint64)
    out[..., 0] = b
    return out


def ext_batch_inv(a) -> np.ndarray:
    """Element-wise inverse of an extension array via norms and Montgomery's trick.

    Raises:
        ZeroDivisionError: if any element is zero.
    """
    a = _ext_u(a)
    flat = np.ascontiguousarray(a).reshape(-1, 2)
    zeros = np.flatnonzero((flat[:, 0] == 0) & (flat[:, 1] == 0))
    if zeros.size:
        raise ZeroDivisionError(f"ext_batch_inv: element {int(zeros[0])} (flat index) is zero")
    return _ext_batch_inv_k(flat).reshape(a.shape)


def ext_inv(a) -> np.ndarray:
    """Element-wise inverse of an extension array; raises ``ZeroDivisionError`` on a zero."""
    return ext_batch_inv(a)


def ext_pow(a, e: int) -> np.ndarray:
    """Element-wise ``a^e`` for an extension array (negative ``e`` inverts first)."""
    a = _ext_u(a)
    e = int(e)
    if e < 0:
        a, e = ext_batch_inv(a), -e
    if e >= _P_INT**2 - 1:
        e = (e - 1) % (_P_INT**2 - 1) + 1
    flat = np.ascontiguousarray(a).reshape(-1, 2)
    if e >= 2**64:  # rare: split the exponent
        hi, lo = divmod(e, 2**63)
        t = _ext_pow_k(_ext_pow_k(flat, np.uint64(hi)), np.uint64(2**63))
        return ext_mul(t, _ext_pow_k(flat, np.uint64(lo))).reshape(a.shape)
    return _ext_pow_k(flat, np.uint64(e)).reshape(a.shape)


def ext_powers(g, n: int) -> np.ndarray:
    """Return ``[1, g, ..., g^(n-1)]`` as an (n, 2) array; ``g`` an ``Ext`` or int."""
    g = g if isinstance(g, Ext) else Ext(int(g))
    return _ext_powers_k(np.uint64(g.c0), np.uint64(g.c1), int(n))


def ext_sum(a, axis: int = 0) -> np.ndarray:
    """Modular sum of an extension array over a leading ``axis`` (not the last)."""
    a = _ext_u(a)
    if axis < 0:
        axis += a.ndim
    if axis == a.ndim - 1:
        raise ValueError("ext_sum: cannot sum over the coefficient axis")
    return sum_(a, axis=axis)
