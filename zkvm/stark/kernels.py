"""Numba kernels the STARK prover needs beyond the field's element-wise ops.

* ``lincomb``: ``sum_k c_k * col_k`` for many base columns and extension
  coefficients (the DEEP batch and random combinations of columns).
* ``ext_cumsum``: running sums of an extension column (the LogUp sum).
* ``horner_ext``: every base-coefficient polynomial of a batch at one
  extension point (out-of-domain values).

Each takes the extension degree from its operands (``(.., 2)`` or ``(.., 3)``
arrays, an ``Ext`` or ``Ext3`` point); the ``*3`` / ``_any`` kernels serve
the cubic extension and leave the quadratic ones untouched.

Prover only: the verifier never imports this module.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import prange

from zkvm.field.ext3_kernels import e3mul
from zkvm.field.extension import Ext3
from zkvm.field.kernels import addmod, mulmod
from zkvm.field.scalar import W, Ext

_JIT = dict(cache=True, nogil=True)
_W = np.uint64(W)


_BLOCK = 2048  # rows per work item of the parallel kernels (16 KiB of each column)


@numba.njit(parallel=True, **_JIT)
def _lincomb_k(cols, coeffs, out):
    """Row blocks in parallel; each block walks every column (contiguous reads) and keeps
    its two output components in separate arrays (interleaved ``(n, 2)`` stores do not
    vectorise: 4x slower)."""
    w, n = cols.shape
    nblk = (n + _BLOCK - 1) // _BLOCK
    for bi in prange(nblk):
        lo = bi * _BLOCK
        hi = min(n, lo + _BLOCK)
        o0 = np.empty(hi - lo, dtype=np.uint64)
        o1 = np.empty(hi - lo, dtype=np.uint64)
        for i in range(hi - lo):
            o0[i] = out[lo + i, 0]
            o1[i] = out[lo + i, 1]
        for k in range(w):
            c0 = coeffs[k, 0]
            c1 = coeffs[k, 1]
            x = cols[k, lo:hi]
            for i in range(hi - lo):
                o0[i] = addmod(o0[i], mulmod(c0, x[i]))
                o1[i] = addmod(o1[i], mulmod(c1, x[i]))
        for i in range(hi - lo):
            out[lo + i, 0] = o0[i]
            out[lo + i, 1] = o1[i]


@numba.njit(parallel=True, **_JIT)
def _lincomb_d_k(cols, coeffs, out):
    """``_lincomb_k`` for coefficients with any number ``D`` of components."""
    w, n = cols.shape
    d = coeffs.shape[1]
    nblk = (n + _BLOCK - 1) // _BLOCK
    for bi in prange(nblk):
        lo = bi * _BLOCK
        hi = min(n, lo + _BLOCK)
        o = np.empty(hi - lo, dtype=np.uint64)
        for j in range(d):
            for i in range(hi - lo):
                o[i] = out[lo + i, j]
            for k in range(w):
                c = coeffs[k, j]
                x = cols[k, lo:hi]
                for i in range(hi - lo):
                    o[i] = addmod(o[i], mulmod(c, x[i]))
            for i in range(hi - lo):
                out[lo + i, j] = o[i]


def lincomb(cols: np.ndarray, coeffs: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``out += sum_k coeffs[k] * cols[k]``; cols ``(w, n)`` base, coeffs ``(w, D)`` ext.

    ``out`` (``(n, 2)``, C-contiguous) may be longer than ``n``: only its first ``n``
    rows are updated (coefficient arrays of different lengths add into one).
    """
    cols = np.ascontiguousarray(cols, dtype=np.uint64)
    coeffs = np.ascontiguousarray(coeffs, dtype=np.uint64)
    d = coeffs.shape[1] if coeffs.ndim == 2 else 2
    if out is None:
        out = np.zeros((cols.shape[1], d), dtype=np.uint64)
    if cols.shape[0] and cols.shape[1]:
        (_lincomb_k if d == 2 else _lincomb_d_k)(cols, coeffs, out[: cols.shape[1]])
    return out


@numba.njit(**_JIT)
def _ext_cumsum_k(a):
    n = a.shape[0]
    out = np.empty_like(a)
    s0 = np.uint64(0)
    s1 = np.uint64(0)
    for i in range(n):
        s0 = addmod(s0, a[i, 0])
        s1 = addmod(s1, a[i, 1])
        out[i, 0] = s0
        out[i, 1] = s1
    return out


@numba.njit(**_JIT)
def _ext_cumsum_any_k(a):
    n, d = a.shape
    out = np.empty_like(a)
    for j in range(d):
        s = np.uint64(0)
        for i in range(n):
            s = addmod(s, a[i, j])
            out[i, j] = s
    return out


def ext_cumsum(a: np.ndarray) -> np.ndarray:
    """Running sums of an ``(n, D)`` extension column."""
    a = np.ascontiguousarray(a, dtype=np.uint64)
    return _ext_cumsum_k(a) if a.shape[1] == 2 else _ext_cumsum_any_k(a)


@numba.njit(parallel=True, **_JIT)
def _horner_k(coeffs, z0, z1, out):
    w, m = coeffs.shape
    for k in prange(w):
        a0 = np.uint64(0)
        a1 = np.uint64(0)
        for i in range(m - 1, -1, -1):
            # (a0 + a1 X)(z0 + z1 X) with X^2 = W, then + coeff
            t0 = addmod(mulmod(a0, z0), mulmod(_W, mulmod(a1, z1)))
            t1 = addmod(mulmod(a0, z1), mulmod(a1, z0))
            a0 = addmod(t0, coeffs[k, i])
            a1 = t1
        out[k, 0] = a0
        out[k, 1] = a1


@numba.njit(**_JIT)
def _horner3_k(coeffs, z0, z1, z2, out):
    w, m = coeffs.shape
    for k in range(w):
        a0 = np.uint64(0)
        a1 = np.uint64(0)
        a2 = np.uint64(0)
        for i in range(m - 1, -1, -1):
            a0, a1, a2 = e3mul(a0, a1, a2, z0, z1, z2)
            a0 = addmod(a0, coeffs[k, i])
        out[k, 0] = a0
        out[k, 1] = a1
        out[k, 2] = a2


def horner_ext(coeffs: np.ndarray, z: Ext | Ext3) -> np.ndarray:
    """Evaluate each row of ``coeffs`` (``(w, m)`` base) at ``z``; returns ``(w, D)``."""
    coeffs = np.ascontiguousarray(coeffs, dtype=np.uint64)
    if isinstance(z, Ext3):
        out = np.zeros((coeffs.shape[0], 3), dtype=np.uint64)
        _horner3_k(coeffs, np.uint64(z.c0), np.uint64(z.c1), np.uint64(z.c2), out)
        return out
    out = np.zeros((coeffs.shape[0], 2), dtype=np.uint64)
    _horner_k(coeffs, np.uint64(z.c0), np.uint64(z.c1), out)
    return out


_LANES = 256


@numba.njit(parallel=True, **_JIT)
def _dot_pows_k(coeffs, pows, out):
    """out[k, j] = sum_i coeffs[k, i] * pows[j, i].

    Each row keeps 256 partial sums per point (lane ``i mod 256``), added with
    ``addmod`` in a loop LLVM vectorises (a single running sum would serialise on its
    dependency chain: 4x slower), then folds the lanes."""
    w, m = coeffs.shape
    q = pows.shape[0]
    full = m - m % _LANES
    for k in prange(w):
        acc = np.zeros((q, _LANES), dtype=np.uint64)
        c = coeffs[k]
        for i0 in range(0, full, _LANES):
            x = c[i0:i0 + _LANES]
            for j in range(q):
                a = acc[j]
                p = pows[j, i0:i0 + _LANES]
                for t in range(_LANES):
                    a[t] = addmod(a[t], mulmod(x[t], p[t]))
        for j in range(q):
            s = np.uint64(0)
            for t in range(_LANES):
                s = addmod(s, acc[j, t])
            for i in range(full, m):
                s = addmod(s, mulmod(c[i], pows[j, i]))
            out[k, j] = s


def eval_with_powers(coeffs: np.ndarray, pows: np.ndarray) -> np.ndarray:
    """Evaluate each row of ``coeffs`` (``(w, m)`` base) at points given by their powers.

    Args:
        coeffs: ``(w, m)`` coefficients, ascending.
        pows: ``(2q, M)`` with ``M >= m``: rows ``2j, 2j + 1`` are the two components of
            ``[1, z_j, z_j^2, ...]`` for the q points ``z_j`` (``K.ext_powers(z_j, M).T``).

    Returns:
        ``(w, 2q)``: columns ``2j, 2j + 1`` are the rows' values at ``z_j``.

    Two independent multiply-adds per coefficient and point (Horner's rule needs an
    extension product per coefficient, each waiting for the previous one).
    """
    coeffs = np.ascontiguousarray(coeffs, dtype=np.uint64)
    if coeffs.shape[1] > pows.shape[1]:
        raise ValueError(f"{coeffs.shape[1]} coefficients but only {pows.shape[1]} powers")
    out = np.zeros((coeffs.shape[0], pows.shape[0]), dtype=np.uint64)
    if coeffs.shape[0] and coeffs.shape[1]:
        _dot_pows_k(coeffs, np.ascontiguousarray(pows[:, : coeffs.shape[1]]), out)
    return out


_TI, _TK = 256, 8  # rows x columns per transpose tile (measured: 3x faster than 64 x 64)


@numba.njit(parallel=True, **_JIT)
def _transpose_into_k(src, out, col0):
    """out[i, col0 + k] = src[k, i], tile by tile: 8 source columns are read along 256
    contiguous entries while the 8 written entries of each output row share a cache line."""
    w, n = src.shape
    n_tiles = (n + _TI - 1) // _TI
    for ti in prange(n_tiles):
        i0 = ti * _TI
        i1 = min(n, i0 + _TI)
        for k0 in range(0, w, _TK):
            k1 = min(w, k0 + _TK)
            for k in range(k0, k1):
                for i in range(i0, i1):
                    out[i, col0 + k] = src[k, i]


def transpose_into(src: np.ndarray, out: np.ndarray, col0: int) -> None:
    """Write the ``(w, n)`` columns ``src`` as columns ``col0 .. col0 + w`` of ``out`` ``(n, W)``."""
    if src.shape[0] and src.shape[1]:
        _transpose_into_k(np.ascontiguousarray(src, dtype=np.uint64), out, col0)
