"""Batch Poseidon2 (numba): many permutations at once, and the sponge's per-row witness.

The same permutation as ``zkvm.hash.poseidon2`` (the plain-int reference the
tests compare against), over ``uint64`` arrays with the inlined Goldilocks
arithmetic of ``zkvm.field.arith``. Two entry points:

* ``permute_batch(states)``: ``(n, 12)`` independent states -> outputs
  (parallel over states).
* ``sponge_rows(rate_in, cap_in, chain)``: the rows of a sponge (one
  permutation per row), returning every intermediate the Poseidon2 AIR
  commits to (``ROW_WIDTH`` values per row, in the chip's column order) and
  each row's output. Row ``r`` permutes ``rate_in[r] || cap`` where ``cap``
  is the previous row's output capacity when ``chain[r]`` is set, else
  ``cap_in[r]``; the loop over rows is sequential (the sponge is).

Prover side only (imports numba).
"""

from __future__ import annotations

import numba
import numpy as np

from zkvm.field.arith import addmod, mulmod
from zkvm.hash.poseidon2 import GOLDILOCKS_12, RATE, WIDTH, Poseidon2Params

_JIT = dict(cache=True, nogil=True)

#: full rounds, internal rounds
RF, RP = GOLDILOCKS_12.rf, GOLDILOCKS_12.rp
#: column offsets of one row: inp | fx3 (RF*t) | fpost (RF*t) | px3 (RP) | py (RP)
OFF_INP = 0
OFF_FX3 = WIDTH
OFF_FPOST = OFF_FX3 + RF * WIDTH
OFF_PX3 = OFF_FPOST + RF * WIDTH
OFF_PY = OFF_PX3 + RP
ROW_WIDTH = OFF_PY + RP


def _tables(params: Poseidon2Params):
    ext = np.array(params.external_rc, dtype=np.uint64)
    internal = np.array(params.internal_rc, dtype=np.uint64)
    dm1 = np.array(params.diag_m1, dtype=np.uint64)
    return ext, internal, dm1


_EXT, _INT, _DM1 = _tables(GOLDILOCKS_12)


@numba.njit(inline="always", **_JIT)
def _external(s, tmp):
    """``s <- M_E s`` (M4 on each chunk of 4, then add the chunk-wise column sums)."""
    t = s.shape[0]
    for c in range(0, t, 4):
        a0, a1, a2, a3 = s[c], s[c + 1], s[c + 2], s[c + 3]
        t0 = addmod(a0, a1)
        t1 = addmod(a2, a3)
        t2 = addmod(addmod(a1, a1), t1)          # 2a1 + a2 + a3
        t3 = addmod(addmod(a3, a3), t0)          # a0 + a1 + 2a3
        t1_4 = addmod(addmod(t1, t1), addmod(t1, t1))
        t0_4 = addmod(addmod(t0, t0), addmod(t0, t0))
        t4 = addmod(t1_4, t3)                    # [1, 1, 4, 6]
        t5 = addmod(t0_4, t2)                    # [4, 6, 1, 1]
        tmp[c] = addmod(t3, t5)                  # [5, 7, 1, 3]
        tmp[c + 1] = t5
        tmp[c + 2] = addmod(t2, t4)              # [1, 3, 5, 7]
        tmp[c + 3] = t4
    for i in range(4):
        acc = tmp[i]
        for c in range(4, t, 4):
            acc = addmod(acc, tmp[c + i])
        for c in range(0, t, 4):
            s[c + i] = addmod(tmp[c + i], acc)


@numba.njit(inline="always", **_JIT)
def _permute_row(s, ext, internal, dm1, row, tmp):
    """Permute ``s`` in place; write the AIR's intermediates into ``row`` (if non-empty)."""
    t = s.shape[0]
    keep = row.shape[0] > 0
    rf = ext.shape[0]
    half = rf // 2
    rp = internal.shape[0]
    if keep:
        for i in range(t):
            row[i] = s[i]
    _external(s, tmp)
    for r in range(rf):
        if r == half:
            for k in range(rp):
                u = addmod(s[0], internal[k])
                x3 = mulmod(mulmod(u, u), u)
                y = mulmod(mulmod(x3, x3), u)
                if keep:
                    row[t + 2 * rf * t + k] = x3
                    row[t + 2 * rf * t + rp + k] = y
                s[0] = y
                total = s[0]
                for i in range(1, t):
                    total = addmod(total, s[i])
                for i in range(t):
                    s[i] = addmod(mulmod(s[i], dm1[i]), total)
        for i in range(t):
            u = addmod(s[i], ext[r, i])
            x3 = mulmod(mulmod(u, u), u)
            y = mulmod(mulmod(x3, x3), u)
            if keep:
                row[t + r * t + i] = x3
                row[t + rf * t + r * t + i] = y
            s[i] = y
        _external(s, tmp)


@numba.njit(parallel=True, **_JIT)
def _permute_many(states, ext, internal, dm1, out):
    n, t = states.shape
    for j in numba.prange(n):
        s = states[j].copy()
        tmp = np.empty(t, dtype=np.uint64)
        _permute_row(s, ext, internal, dm1, np.empty(0, dtype=np.uint64), tmp)
        out[j] = s


@numba.njit(**_JIT)
def _sponge(rate_in, cap_in, chain, ext, internal, dm1, rows, outs):
    n, rate = rate_in.shape
    t = outs.shape[1]
    s = np.zeros(t, dtype=np.uint64)
    tmp = np.empty(t, dtype=np.uint64)
    for r in range(n):
        for i in range(rate):
            s[i] = rate_in[r, i]
        if not chain[r]:
            for i in range(rate, t):
                s[i] = cap_in[r, i - rate]
        # else: the capacity keeps the previous row's output
        _permute_row(s, ext, internal, dm1, rows[r], tmp)
        for i in range(t):
            outs[r, i] = s[i]


def permute_batch(states: np.ndarray, params: Poseidon2Params = GOLDILOCKS_12) -> np.ndarray:
    """Poseidon2 of each row of ``states`` (``(n, t)`` canonical ``uint64``)."""
    states = np.ascontiguousarray(states, dtype=np.uint64)
    if states.ndim != 2 or states.shape[1] != params.t:
        raise ValueError(f"states must have shape (n, {params.t}), got {states.shape}")
    out = np.empty_like(states)
    ext, internal, dm1 = (_EXT, _INT, _DM1) if params is GOLDILOCKS_12 else _tables(params)
    _permute_many(states, ext, internal, dm1, out)
    return out


def sponge_rows(rate_in: np.ndarray, cap_in: np.ndarray, chain: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    """Rows of width-12 sponges: ``(rows (n, ROW_WIDTH), outputs (n, 12))``.

    Args:
        rate_in: ``(n, 8)`` blocks absorbed (overwriting the rate) at each row.
        cap_in: ``(n, 4)`` capacity used where ``chain`` is 0 (a sponge's IV).
        chain: ``(n,)`` 1 where the row continues the previous row's sponge.
    """
    n = rate_in.shape[0]
    rate_in = np.ascontiguousarray(rate_in, dtype=np.uint64).reshape(n, RATE)
    cap_in = np.ascontiguousarray(cap_in, dtype=np.uint64).reshape(n, WIDTH - RATE)
    chain = np.ascontiguousarray(chain, dtype=np.uint8).reshape(n)
    rows = np.empty((n, ROW_WIDTH), dtype=np.uint64)
    outs = np.empty((n, WIDTH), dtype=np.uint64)
    _sponge(rate_in, cap_in, chain, _EXT, _INT, _DM1, rows, outs)
    return rows, outs
