"""Numba kernels for cubic-extension arrays: F_p3 = F_p[X]/(X^3 - 7).

The cubic twins of the row kernels in :mod:`zkvm.field.ext_kernels`, which
dispatches to them when an array's trailing axis is 3 (see
:mod:`zkvm.field.extension` for the field and the product formula). Inverses
use the adjugate ``(a0^2 - 7 a1 a2, 7 a2^2 - a0 a1, a1^2 - a0 a2)`` and the
base-field norm ``a0 d0 + 7 (a1 d2 + a2 d1)``, inverted with Montgomery's trick.
"""

from __future__ import annotations

import numba
import numpy as np

from zkvm.field.arith import ONE, W_, ZERO, _JIT, addmod, mulmod, submod


@numba.njit(inline="always", **_JIT)
def e3mul(a0, a1, a2, b0, b1, b2):
    """Product of two cubic elements given by their coefficients."""
    return (addmod(mulmod(a0, b0), mulmod(W_, addmod(mulmod(a1, b2), mulmod(a2, b1)))),
            addmod(addmod(mulmod(a0, b1), mulmod(a1, b0)), mulmod(W_, mulmod(a2, b2))),
            addmod(addmod(mulmod(a0, b2), mulmod(a1, b1)), mulmod(a2, b0)))


@numba.njit(**_JIT)
def ext3_mul_k(a, b, out):
    """Rows of ``(m, 3)``; a length-1 operand broadcasts."""
    m = out.shape[0]
    sa = 1 if a.shape[0] == m else 0
    sb = 1 if b.shape[0] == m else 0
    for i in range(m):
        ia = i * sa
        ib = i * sb
        out[i, 0], out[i, 1], out[i, 2] = e3mul(a[ia, 0], a[ia, 1], a[ia, 2], b[ib, 0], b[ib, 1], b[ib, 2])


@numba.njit(**_JIT)
def ext3_mul_base_k(a, b, out):
    m = out.shape[0]
    sa = 1 if a.shape[0] > 1 else 0
    sb = 1 if b.shape[0] > 1 else 0
    for i in range(m):
        x = b[i * sb]
        out[i, 0] = mulmod(a[i * sa, 0], x)
        out[i, 1] = mulmod(a[i * sa, 1], x)
        out[i, 2] = mulmod(a[i * sa, 2], x)


@numba.njit(**_JIT)
def ext3_adj_norms(a):
    """Adjugates ``(m, 3)`` and norms ``(m,)`` of the rows of ``a``."""
    m = a.shape[0]
    adj = np.empty((m, 3), dtype=np.uint64)
    norms = np.empty(m, dtype=np.uint64)
    for i in range(m):
        a0 = a[i, 0]
        a1 = a[i, 1]
        a2 = a[i, 2]
        d0 = submod(mulmod(a0, a0), mulmod(W_, mulmod(a1, a2)))
        d1 = submod(mulmod(W_, mulmod(a2, a2)), mulmod(a0, a1))
        d2 = submod(mulmod(a1, a1), mulmod(a0, a2))
        adj[i, 0] = d0
        adj[i, 1] = d1
        adj[i, 2] = d2
        norms[i] = addmod(mulmod(a0, d0), mulmod(W_, addmod(mulmod(a1, d2), mulmod(a2, d1))))
    return adj, norms


@numba.njit(**_JIT)
def ext3_scale_rows_k(adj, ninv):
    m = adj.shape[0]
    out = np.empty((m, 3), dtype=np.uint64)
    for i in range(m):
        out[i, 0] = mulmod(adj[i, 0], ninv[i])
        out[i, 1] = mulmod(adj[i, 1], ninv[i])
        out[i, 2] = mulmod(adj[i, 2], ninv[i])
    return out


@numba.njit(**_JIT)
def ext3_pow_k(a, e):
    m = a.shape[0]
    out = np.empty((m, 3), dtype=np.uint64)
    for i in range(m):
        r0 = ONE
        r1 = ZERO
        r2 = ZERO
        b0 = a[i, 0]
        b1 = a[i, 1]
        b2 = a[i, 2]
        k = e
        while k > ZERO:
            if k & ONE:
                r0, r1, r2 = e3mul(r0, r1, r2, b0, b1, b2)
            b0, b1, b2 = e3mul(b0, b1, b2, b0, b1, b2)
            k >>= ONE
        out[i, 0] = r0
        out[i, 1] = r1
        out[i, 2] = r2
    return out


@numba.njit(**_JIT)
def ext3_powers_k(g0, g1, g2, n):
    out = np.empty((n, 3), dtype=np.uint64)
    r0 = ONE
    r1 = ZERO
    r2 = ZERO
    for i in range(n):
        out[i, 0] = r0
        out[i, 1] = r1
        out[i, 2] = r2
        r0, r1, r2 = e3mul(r0, r1, r2, g0, g1, g2)
    return out
