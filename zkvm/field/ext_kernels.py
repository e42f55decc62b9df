"""Numba kernels for extension-field arrays: F_p2 = F_p[X]/(X^2 - 7) (and, by dispatch, F_p3).

An extension array is a ``uint64`` array of shape ``(..., 2)``; ``[..., 0]`` is the
constant coefficient, ``[..., 1]`` the X coefficient. Products use
(a0 + a1 X)(b0 + b1 X) = (a0 b0 + 7 a1 b1) + (a0 b1 + a1 b0) X; inverses use the
norm a0^2 - 7 a1^2 (a base element) and Montgomery's trick over the norms.
Functions broadcast over the leading shape, accept an ``Ext`` scalar wherever
an array is expected, and never mutate their inputs.

Every function is degree-generic: an array whose trailing axis is 3 (or an
``Ext3`` scalar) is a cubic element of F_p[X]/(X^3 - 7) and goes to the twins
in :mod:`zkvm.field.ext3_kernels` (see :mod:`zkvm.field.extension`); mixing
degrees raises ``ValueError``. ``ext_from_base`` takes the degree ``d``.
"""

from __future__ import annotations

import numba
import numpy as np

from zkvm.field.arith import ONE, W_, ZERO, _JIT, addmod, mulmod, submod
from zkvm.field.scalar import P as _P_INT
from zkvm.field.scalar import Ext
from zkvm.field import base_kernels as _base
from zkvm.field import ext3_kernels as _K3
from zkvm.field.extension import Ext3

# ---------------------------------------------------------------------------
# kernels: rows of (m, 2); a length-1 operand broadcasts
# ---------------------------------------------------------------------------
@numba.njit(inline="always", **_JIT)
def _emul(a0, a1, b0, b1):
    return (addmod(mulmod(a0, b0), mulmod(W_, mulmod(a1, b1))),
            addmod(mulmod(a0, b1), mulmod(a1, b0)))


@numba.njit(**_JIT)
def _ext_mul_k(a, b, out):
    m = out.shape[0]
    if a.shape[0] == m and b.shape[0] == m:  # separate loops so LLVM can vectorise
        for i in range(m):
            out[i, 0], out[i, 1] = _emul(a[i, 0], a[i, 1], b[i, 0], b[i, 1])
    elif b.shape[0] == 1:
        b0 = b[0, 0]
        b1 = b[0, 1]
        for i in range(m):
            out[i, 0], out[i, 1] = _emul(a[i, 0], a[i, 1], b0, b1)
    elif a.shape[0] == 1:
        a0 = a[0, 0]
        a1 = a[0, 1]
        for i in range(m):
            out[i, 0], out[i, 1] = _emul(a0, a1, b[i, 0], b[i, 1])
    else:
        for i in range(m):
            out[i, 0], out[i, 1] = _emul(a[0, 0], a[0, 1], b[0, 0], b[0, 1])


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
def _ext_norms(a):
    m = a.shape[0]
    norms = np.empty(m, dtype=np.uint64)
    for i in range(m):
        norms[i] = submod(mulmod(a[i, 0], a[i, 0]), mulmod(W_, mulmod(a[i, 1], a[i, 1])))
    return norms


@numba.njit(**_JIT)
def _ext_batch_inv_k(a, ninv):
    """(a0 + a1 X)^-1 = (a0 - a1 X) / norm, given the inverted norms."""
    m = a.shape[0]
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


def _u(a) -> np.ndarray:
    if isinstance(a, np.ndarray) and a.dtype == np.uint64:
        return a
    return np.asarray(a, dtype=np.uint64)


def _ext_u(a) -> np.ndarray:
    if isinstance(a, Ext):
        return np.array([a.c0, a.c1], dtype=np.uint64)
    if isinstance(a, Ext3):
        return np.array([a.c0, a.c1, a.c2], dtype=np.uint64)
    a = _u(a)
    if a.ndim == 0 or a.shape[-1] not in (2, 3):
        raise ValueError(f"expected an extension array of shape (..., 2) or (..., 3), got shape {a.shape}")
    return a


def _same_d(a: np.ndarray, b: np.ndarray) -> int:
    d = a.shape[-1]
    if b.shape[-1] != d:
        raise ValueError(f"extension degrees differ: {a.shape} vs {b.shape}")
    return d


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
    a, b = _ext_u(a), _ext_u(b)
    _same_d(a, b)
    return _base.add(a, b)


def ext_sub(a, b) -> np.ndarray:
    """Element-wise difference of extension arrays."""
    a, b = _ext_u(a), _ext_u(b)
    _same_d(a, b)
    return _base.sub(a, b)


def ext_neg(a) -> np.ndarray:
    """Element-wise negation of an extension array."""
    return _base.neg(_ext_u(a))


def ext_mul(a, b) -> np.ndarray:
    """Element-wise product of extension arrays (``a`` or ``b`` may be an ``Ext``)."""
    a, b = _ext_u(a), _ext_u(b)
    d = _same_d(a, b)
    lead = np.broadcast_shapes(a.shape[:-1], b.shape[:-1])
    m = int(np.prod(lead, dtype=np.int64))
    out = np.empty((m, d), dtype=np.uint64)
    (_ext_mul_k if d == 2 else _K3.ext3_mul_k)(_rows(a, lead, d), _rows(b, lead, d), out)
    return out.reshape(lead + (d,))


def ext_mul_base(e, b) -> np.ndarray:
    """Multiply extension array ``e`` (..., 2) by base array ``b`` broadcast over e's leading shape."""
    e, b = _ext_u(e), _u(b)
    d = e.shape[-1]
    lead = np.broadcast_shapes(e.shape[:-1], b.shape)
    m = int(np.prod(lead, dtype=np.int64))
    out = np.empty((m, d), dtype=np.uint64)
    (_ext_mul_base_k if d == 2 else _K3.ext3_mul_base_k)(_rows(e, lead, d), _rows(b, lead, None), out)
    return out.reshape(lead + (d,))


def ext_from_base(b, d: int = 2) -> np.ndarray:
    """Embed a base array as a degree-``d`` extension array of shape ``b.shape + (d,)``."""
    b = _u(b)
    out = np.zeros(b.shape + (d,), dtype=np.uint64)
    out[..., 0] = b
    return out


def ext_batch_inv(a) -> np.ndarray:
    """Element-wise inverse of an extension array via norms and Montgomery's trick.

    Raises:
        ZeroDivisionError: if any element is zero.
    """
    a = _ext_u(a)
    d = a.shape[-1]
    flat = np.ascontiguousarray(a).reshape(-1, d)
    zeros = np.flatnonzero(~flat.any(axis=1))
    if zeros.size:
        raise ZeroDivisionError(f"ext_batch_inv: element {int(zeros[0])} (flat index) is zero")
    if d == 3:
        adj, norms = _K3.ext3_adj_norms(flat)
        return _K3.ext3_scale_rows_k(adj, _base.batch_inv(norms)).reshape(a.shape)
    return _ext_batch_inv_k(flat, _base.batch_inv(_ext_norms(flat))).reshape(a.shape)


def ext_inv(a) -> np.ndarray:
    """Element-wise inverse of an extension array; raises ``ZeroDivisionError`` on a zero."""
    return ext_batch_inv(a)


def ext_pow(a, e: int) -> np.ndarray:
    """Element-wise ``a^e`` for an extension array (negative ``e`` inverts first)."""
    a = _ext_u(a)
    e = int(e)
    if e < 0:
        a, e = ext_batch_inv(a), -e
    d = a.shape[-1]
    e = _base._norm_exp(e, _P_INT**d - 1)
    flat = np.ascontiguousarray(a).reshape(-1, d)
    pk = _ext_pow_k if d == 2 else _K3.ext3_pow_k
    if e >= 2**64:  # rare: split the exponent (recursively: p^3 - 1 exceeds 2^128)
        hi, lo = divmod(e, 2**63)
        t = _ext_pow_k_big(flat, hi, pk)
        t = pk(t, np.uint64(2**63))
        return ext_mul(t, pk(flat, np.uint64(lo))).reshape(a.shape)
    return pk(flat, np.uint64(e)).reshape(a.shape)


def _ext_pow_k_big(flat: np.ndarray, e: int, pk) -> np.ndarray:
    """``flat^e`` for an exponent that may exceed 64 bits (rows of ``flat``)."""
    if e < 2**64:
        return pk(flat, np.uint64(e))
    hi, lo = divmod(e, 2**63)
    t = pk(_ext_pow_k_big(flat, hi, pk), np.uint64(2**63))
    return ext_mul(t, pk(flat, np.uint64(lo)))


def ext_powers(g, n: int) -> np.ndarray:
    """Return ``[1, g, ..., g^(n-1)]`` as an (n, D) array; ``g`` an ``Ext``/``Ext3`` or int (D = 2)."""
    if isinstance(g, Ext3):
        return _K3.ext3_powers_k(np.uint64(g.c0), np.uint64(g.c1), np.uint64(g.c2), int(n))
    g = g if isinstance(g, Ext) else Ext(int(g))
    return _ext_powers_k(np.uint64(g.c0), np.uint64(g.c1), int(n))


def ext_sum(a, axis: int = 0) -> np.ndarray:
    """Modular sum of an extension array over a leading ``axis`` (not the last)."""
    a = _ext_u(a)
    if axis < 0:
        axis += a.ndim
    if axis == a.ndim - 1:
        raise ValueError("ext_sum: cannot sum over the coefficient axis")
    return _base.sum_(a, axis=axis)
