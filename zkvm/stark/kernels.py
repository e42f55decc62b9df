"""Numba kernels the STARK prover needs beyond the field's element-wise ops.

* ``lincomb``: ``sum_k c_k * col_k`` for many base columns and extension
  coefficients (the DEEP batch and random combinations of columns).
* ``ext_cumsum``: running sums of an extension column (the LogUp sum).
* ``horner_ext``: every base-coefficient polynomial of a batch at one
  extension point (out-of-domain values).

Prover only: the verifier never imports this module.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import prange

from zkvm.field.kernels import addmod, mulmod
from zkvm.field.scalar import W, Ext

_JIT = dict(cache=True, nogil=True)
_W = np.uint64(W)


_BLOCK = 2048  # rows per work item of the parallel kernels (16 KiB of each column)


@numba.njit(parallel=True, **_JIT)
def _lincomb_k(cols, coeffs, out):
    """Row blocks in parallel; each block walks every column (contiguous reads)."""
    w, n = cols.shape
    nblk = (n + _BLOCK - 1) // _BLOCK
    for bi in prange(nblk):
        lo = bi * _BLOCK
        hi = min(n, lo + _BLOCK)
        for k in range(w):
            c0 = coeffs[k, 0]
            c1 = coeffs[k, 1]
            for i in range(lo, hi):
                x = cols[k, i]
                out[i, 0] = addmod(out[i, 0], mulmod(c0, x))
                out[i, 1] = addmod(out[i, 1], mulmod(c1, x))


def lincomb(cols: np.ndarray, coeffs: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``out += sum_k coeffs[k] * cols[k]``; cols ``(w, n)`` base, coeffs ``(w, 2)`` ext.

    ``out`` (``(n, 2)``, C-contiguous) may be longer than ``n``: only its first ``n``
    rows are updated (coefficient arrays of different lengths add into one).
    """
    cols = np.ascontiguousarray(cols, dtype=np.uint64)
    if out is None:
        out = np.zeros((cols.shape[1], 2), dtype=np.uint64)
    if cols.shape[0] and cols.shape[1]:
        _lincomb_k(cols, np.ascontiguousarray(coeffs, dtype=np.uint64), out[: cols.shape[1]])
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


def ext_cumsum(a: np.ndarray) -> np.ndarray:
    """Running sums of an ``(n, 2)`` extension column."""
    return _ext_cumsum_k(np.ascontiguousarray(a, dtype=np.uint64))


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


def horner_ext(coeffs: np.ndarray, z: Ext) -> np.ndarray:
    """Evaluate each row of ``coeffs`` (``(w, m)`` base) at ``z``; returns ``(w, 2)``."""
    coeffs = np.ascontiguousarray(coeffs, dtype=np.uint64)
    out = np.zeros((coeffs.shape[0], 2), dtype=np.uint64)
    _horner_k(coeffs, np.uint64(z.c0), np.uint64(z.c1), out)
    return out
