"""Numba kernels for the FRI prover (the verifier never imports this module).

``fold_leaves_kernel`` fuses one arity-2 FRI fold (see :func:`zkvm.fri.fri.fold`)
into a single pass over a codeword kept as Merkle leaves (row ``i`` holds
``a = f(x_i)`` and ``c = f(-x_i)``): with ``x_i^{-1} = shift^{-1} w_n^{-i}``,

    out[i] = (a + c)/2 + beta * (a - c) * x_i^{-1} / 2

in F_p[X]/(X^2 - 7), written straight into the next layer's leaves. Work is
split into contiguous blocks (parallel), each starting from ``w^{-lo}`` and
stepping by one multiplication. The ``*3`` kernel is the same fold in the
cubic extension F_p[X]/(X^3 - 7), written apart because the quadratic one,
unrolled by hand, is the prover's hot loop; the wrapper dispatches on the
trailing axis (``D`` coefficients per value).
"""

from __future__ import annotations

import numba as nb
import numpy as np

from zkvm.field.arith import addmod, mulmod, powmod, submod
from zkvm.field.ext3_kernels import e3mul

_INV2 = np.uint64((2**64 - 2**32 + 2) // 2)
_W = np.uint64(7)
_BLOCK = 1 << 14


@nb.njit(inline="always", cache=True)
def _fold_pair(a0, a1, c0, c1, b0, b1, x):
    """(a + c)/2 + beta * (a - c) * x for ext values a, c and beta = b0 + b1 X."""
    e0 = mulmod(addmod(a0, c0), _INV2)
    e1 = mulmod(addmod(a1, c1), _INV2)
    o0 = mulmod(submod(a0, c0), x)
    o1 = mulmod(submod(a1, c1), x)
    return (addmod(e0, addmod(mulmod(b0, o0), mulmod(_W, mulmod(b1, o1)))),
            addmod(e1, addmod(mulmod(b0, o1), mulmod(b1, o0))))


@nb.njit(parallel=True, cache=True)
def _fold_leaves_k(lv, b0, b1, c, w_inv, out):
    # lv[i] = [f(x_i), f(-x_i)] for i < half; out in the same leaf layout one size down
    half = lv.shape[0]
    q = half // 2
    n_blocks = (half + _BLOCK - 1) // _BLOCK
    for t in nb.prange(n_blocks):
        lo = t * _BLOCK
        hi = min(half, lo + _BLOCK)
        x = mulmod(c, powmod(w_inv, np.uint64(lo)))
        for i in range(lo, hi):
            v0, v1 = _fold_pair(lv[i, 0], lv[i, 1], lv[i, 2], lv[i, 3], b0, b1, x)
            if i < q:
                out[i, 0] = v0
                out[i, 1] = v1
            else:
                out[i - q, 2] = v0
                out[i - q, 3] = v1
            x = mulmod(x, w_inv)


def fold_leaves_kernel(lv: np.ndarray, beta: tuple[int, ...], inv2_shift_inv: int, w_inv: int) -> np.ndarray:
    """Fold a codeword stored as Merkle leaves ``(n/2, 2D)`` into leaves ``(n/4, 2D)`` of the next layer."""
    lv = np.ascontiguousarray(lv, dtype=np.uint64)
    if lv.shape[1] == 6:
        out = np.empty((lv.shape[0] // 2, 6), dtype=np.uint64)
        _fold3_leaves_k(lv, *(np.uint64(b) for b in beta), np.uint64(inv2_shift_inv), np.uint64(w_inv), out)
        return out
    out = np.empty((lv.shape[0] // 2, 4), dtype=np.uint64)
    _fold_leaves_k(lv, np.uint64(beta[0]), np.uint64(beta[1]), np.uint64(inv2_shift_inv), np.uint64(w_inv), out)
    return out


@nb.njit(inline="always", cache=True)
def _fold3_one(a0, a1, a2, c0, c1, c2, b0, b1, b2, x):
    """(a + c)/2 + beta * (a - c) * x for cubic values a, c and beta."""
    o0, o1, o2 = e3mul(b0, b1, b2, mulmod(submod(a0, c0), x), mulmod(submod(a1, c1), x),
                       mulmod(submod(a2, c2), x))
    return (addmod(mulmod(addmod(a0, c0), _INV2), o0),
            addmod(mulmod(addmod(a1, c1), _INV2), o1),
            addmod(mulmod(addmod(a2, c2), _INV2), o2))


@nb.njit(parallel=True, cache=True)
def _fold3_leaves_k(lv, b0, b1, b2, c, w_inv, out):
    # lv[i] = [f(x_i) (3), f(-x_i) (3)] for i < half; out in the same layout one size down
    half = lv.shape[0]
    q = half // 2
    n_blocks = (half + _BLOCK - 1) // _BLOCK
    for t in nb.prange(n_blocks):
        lo = t * _BLOCK
        hi = min(half, lo + _BLOCK)
        x = mulmod(c, powmod(w_inv, np.uint64(lo)))
        for i in range(lo, hi):
            v0, v1, v2 = _fold3_one(lv[i, 0], lv[i, 1], lv[i, 2], lv[i, 3], lv[i, 4], lv[i, 5],
                                    b0, b1, b2, x)
            r = i if i < q else i - q
            k = 0 if i < q else 3
            out[r, k] = v0
            out[r, k + 1] = v1
            out[r, k + 2] = v2
            x = mulmod(x, w_inv)
