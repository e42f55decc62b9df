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

from zkvm.field.ext3_kernels import e3mul
from zkvm.field.extension import Ext3
from zkvm.field.kernels import addmod, mulmod
from zkvm.field.scalar import W, Ext

_JIT = dict(cache=True, nogil=True)
_W = np.uint64(W)


@numba.njit(**_JIT)
def _lincomb_k(cols, coeffs, out):
    w, n = cols.shape
    for k in range(w):
        c0 = coeffs[k, 0]
        c1 = coeffs[k, 1]
        for i in range(n):
            x = cols[k, i]
            out[i, 0] = addmod(out[i, 0], mulmod(c0, x))
            out[i, 1] = addmod(out[i, 1], mulmod(c1, x))


@numba.njit(**_JIT)
def _lincomb_any_k(cols, coeffs, out):
    w, n = cols.shape
    d = coeffs.shape[1]
    for k in range(w):
        for j in range(d):
            c = coeffs[k, j]
            for i in range(n):
                out[i, j] = addmod(out[i, j], mulmod(c, cols[k, i]))


def lincomb(cols: np.ndarray, coeffs: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``out += sum_k coeffs[k] * cols[k]``; cols ``(w, n)`` base, coeffs ``(w, D)`` ext."""
    cols = np.ascontiguousarray(cols, dtype=np.uint64)
    coeffs = np.ascontiguousarray(coeffs, dtype=np.uint64)
    d = coeffs.shape[1] if coeffs.ndim == 2 else 2
    if out is None:
        out = np.zeros((cols.shape[1], d), dtype=np.uint64)
    if cols.shape[0]:
        (_lincomb_k if d == 2 else _lincomb_any_k)(cols, coeffs, out)
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


@numba.njit(**_JIT)
def _horner_k(coeffs, z0, z1, out):
    w, m = coeffs.shape
    for k in range(w):
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
