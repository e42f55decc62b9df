"""Run a constraint tape (``zkvm.air.tape``) over the quotient domain: the prover's
fused constraint evaluation, and its whole-column reference.

``constraint_sum`` returns, for every point of the domain, the combination
``sum_k alpha^(N-1-k) c_k`` of all of a table's constraints (its own, then its
LogUp ones) -- the same values as ``ArrayBuilder`` folding them one at a time
(``constraint_sum_reference``, kept as the reference the tests compare with).

The kernel splits the domain into blocks of ``ROWS`` rows, one block after the
other per thread; each block loads its slice of the columns on demand, runs
every instruction on it (a short loop LLVM vectorises) and adds each
constraint times its power of alpha into an extension accumulator. Next-row
values are read at ``(i + step) mod m`` directly: no rolled copies.

Prover only (numba): the verifier never imports this module.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import prange

from zkvm.air.array_builder import FA, ArrayBuilder
from zkvm.air.logup import eval_logup
from zkvm.air.tape import (
    ACC_B, ACC_E, B_ADD, B_ADDC, B_MUL, B_MULC, B_RSUBC, B_SUB, B_SUBC, BE_SUB, E_ADD, E_MUL,
    E_SUB, EB_ADD, EB_MUL, EB_SUB, LD_CH, LD_CONST, LD_MAIN, LD_NEXT, LD_PERM, LD_PERM_NEXT,
    LD_PRE, LD_PRE_NEXT, LD_PUB, LD_SEL, Tape, tape_for,
)
from zkvm.field.arith import W_, ZERO, addmod, mulmod, submod
from zkvm.field.scalar import P, Ext

ROWS = 256  # rows per block: the registers of a block stay in L2

_JIT = dict(cache=True, nogil=True)


@numba.njit(inline="always", **_JIT)
def _load(dst, src, lo, rows, step, mask, stride):
    """dst[i] = point ``lo + i + step`` (cyclically) of a column given at every
    ``stride``-th entry of ``src``."""
    if stride == 1:
        for i in range(rows):
            dst[i] = src[(lo + i + step) & mask]
    else:
        for i in range(rows):
            dst[i] = src[((lo + i + step) & mask) * stride]


@numba.njit(parallel=True, **_JIT)
def _run_tape(code, consts, main, pre, perm, sel, pubs, chal, apow, step, s_main, s_pre, s_perm,
              n_base, n_ext, rows, n_parts, out):
    m = out.shape[0]
    mask = m - 1
    n_blocks = m // rows
    per = (n_blocks + n_parts - 1) // n_parts
    n_ins = code.shape[0]
    for part in prange(n_parts):
        B = np.empty((max(n_base, 1), rows), dtype=np.uint64)
        E0 = np.empty((max(n_ext, 1), rows), dtype=np.uint64)
        E1 = np.empty((max(n_ext, 1), rows), dtype=np.uint64)
        acc0 = np.empty(rows, dtype=np.uint64)
        acc1 = np.empty(rows, dtype=np.uint64)
        for blk in range(part * per, min(n_blocks, (part + 1) * per)):
            lo = blk * rows
            acc0[:] = 0
            acc1[:] = 0
            for t in range(n_ins):
                op = code[t, 0]
                d = code[t, 1]
                a = code[t, 2]
                b = code[t, 3]
                if op == B_MUL:
                    x = B[a]
                    y = B[b]
                    z = B[d]
                    for i in range(rows):
                        z[i] = mulmod(x[i], y[i])
                elif op == B_ADD:
                    x = B[a]
                    y = B[b]
                    z = B[d]
                    for i in range(rows):
                        z[i] = addmod(x[i], y[i])
                elif op == B_SUB:
                    x = B[a]
                    y = B[b]
                    z = B[d]
                    for i in range(rows):
                        z[i] = submod(x[i], y[i])
                elif op == B_MULC:
                    x = B[a]
                    c = consts[b]
                    z = B[d]
                    for i in range(rows):
                        z[i] = mulmod(x[i], c)
                elif op == B_ADDC:
                    x = B[a]
                    c = consts[b]
                    z = B[d]
                    for i in range(rows):
                        z[i] = addmod(x[i], c)
                elif op == B_SUBC:
                    x = B[a]
                    c = consts[b]
                    z = B[d]
                    for i in range(rows):
                        z[i] = submod(x[i], c)
                elif op == B_RSUBC:
                    x = B[a]
                    c = consts[b]
                    z = B[d]
                    for i in range(rows):
                        z[i] = submod(c, x[i])
                elif op == LD_MAIN:
                    _load(B[d], main[a], lo, rows, 0, mask, s_main)
                elif op == LD_NEXT:
                    _load(B[d], main[a], lo, rows, step, mask, s_main)
                elif op == LD_PRE:
                    _load(B[d], pre[a], lo, rows, 0, mask, s_pre)
                elif op == LD_PRE_NEXT:
                    _load(B[d], pre[a], lo, rows, step, mask, s_pre)
                elif op == LD_SEL:
                    B[d, :] = sel[a, lo:lo + rows]
                elif op == LD_CONST:
                    B[d, :] = consts[a]
                elif op == LD_PUB:
                    B[d, :] = pubs[a]
                elif op == ACC_B:
                    x = B[d]
                    p0 = apow[a, 0]
                    p1 = apow[a, 1]
                    for i in range(rows):
                        acc0[i] = addmod(acc0[i], mulmod(x[i], p0))
                        acc1[i] = addmod(acc1[i], mulmod(x[i], p1))
                elif op == ACC_E:
                    x0 = E0[d]
                    x1 = E1[d]
                    p0 = apow[a, 0]
                    p1 = apow[a, 1]
                    w1 = mulmod(W_, p1)
                    for i in range(rows):
                        acc0[i] = addmod(acc0[i], addmod(mulmod(x0[i], p0), mulmod(x1[i], w1)))
                        acc1[i] = addmod(acc1[i], addmod(mulmod(x0[i], p1), mulmod(x1[i], p0)))
                elif op == E_ADD:
                    x0 = E0[a]
                    x1 = E1[a]
                    y0 = E0[b]
                    y1 = E1[b]
                    z0 = E0[d]
                    z1 = E1[d]
                    for i in range(rows):
                        z0[i] = addmod(x0[i], y0[i])
                        z1[i] = addmod(x1[i], y1[i])
                elif op == E_SUB:
                    x0 = E0[a]
                    x1 = E1[a]
                    y0 = E0[b]
                    y1 = E1[b]
                    z0 = E0[d]
                    z1 = E1[d]
                    for i in range(rows):
                        z0[i] = submod(x0[i], y0[i])
                        z1[i] = submod(x1[i], y1[i])
                elif op == E_MUL:
                    x0 = E0[a]
                    x1 = E1[a]
                    y0 = E0[b]
                    y1 = E1[b]
                    z0 = E0[d]
                    z1 = E1[d]
                    for i in range(rows):
                        z0[i] = addmod(mulmod(x0[i], y0[i]), mulmod(W_, mulmod(x1[i], y1[i])))
                        z1[i] = addmod(mulmod(x0[i], y1[i]), mulmod(x1[i], y0[i]))
                elif op == EB_ADD:
                    x0 = E0[a]
                    x1 = E1[a]
                    y = B[b]
                    z0 = E0[d]
                    z1 = E1[d]
                    for i in range(rows):
                        z0[i] = addmod(x0[i], y[i])
                        z1[i] = x1[i]
                elif op == EB_SUB:
                    x0 = E0[a]
                    x1 = E1[a]
                    y = B[b]
                    z0 = E0[d]
                    z1 = E1[d]
                    for i in range(rows):
                        z0[i] = submod(x0[i], y[i])
                        z1[i] = x1[i]
                elif op == BE_SUB:  # base a - ext b
                    x = B[a]
                    y0 = E0[b]
                    y1 = E1[b]
                    z0 = E0[d]
                    z1 = E1[d]
                    for i in range(rows):
                        z0[i] = submod(x[i], y0[i])
                        z1[i] = submod(ZERO, y1[i])
                elif op == EB_MUL:
                    x0 = E0[a]
                    x1 = E1[a]
                    y = B[b]
                    z0 = E0[d]
                    z1 = E1[d]
                    for i in range(rows):
                        z0[i] = mulmod(x0[i], y[i])
                        z1[i] = mulmod(x1[i], y[i])
                elif op == LD_PERM:
                    _load(E0[d], perm[2 * a], lo, rows, 0, mask, s_perm)
                    _load(E1[d], perm[2 * a + 1], lo, rows, 0, mask, s_perm)
                elif op == LD_PERM_NEXT:
                    _load(E0[d], perm[2 * a], lo, rows, step, mask, s_perm)
                    _load(E1[d], perm[2 * a + 1], lo, rows, step, mask, s_perm)
                elif op == LD_CH:
                    E0[d, :] = chal[a, 0]
                    E1[d, :] = chal[a, 1]
            for i in range(rows):
                out[lo + i, 0] = acc0[i]
                out[lo + i, 1] = acc1[i]


def _alpha_powers(alpha: Ext, n: int) -> np.ndarray:
    """``(n, 2)``: row k holds alpha^(n-1-k)."""
    out = np.zeros((max(n, 1), 2), dtype=np.uint64)
    p = Ext(1)
    for k in range(n - 1, -1, -1):
        out[k] = p.to_list()
        p = p * alpha
    return out


def _strides(stride: int | tuple[int, int, int]) -> tuple[int, int, int]:
    """``(main, pre, perm)`` strides from one stride or three."""
    s = (stride,) * 3 if isinstance(stride, int) else tuple(stride)
    if len(s) != 3 or min(s) < 1:
        raise ValueError(f"stride {stride!r}: expected a positive int or three of them")
    return tuple(int(x) for x in s)


def _base(a: np.ndarray | None, m: int) -> np.ndarray:
    if a is None:
        return np.zeros((0, m), dtype=np.uint64)
    return np.ascontiguousarray(a, dtype=np.uint64)


def constraint_sum(t, mq, pq, qq, selectors, step: int, public, alpha: Ext, bus_alpha: Ext,
                   betas, claimed: Ext | None, tape: Tape | None = None,
                   stride: int | tuple[int, int, int] = 1) -> np.ndarray:
    """All of table ``t``'s constraints, combined with ``alpha``, on a domain of ``m`` points.

    Args:
        t: the ``TableLayout`` (its ``air`` and LogUp ``info.plan``).
        mq, pq: main / preprocessed columns on the domain, ``(w, m)`` (or ``None``).
        qq: LogUp columns as base pairs ``(2k, m)`` (or ``None``).
        selectors: ``(is_first, is_last, is_transition)`` arrays of length ``m``.
        step: the next row of point ``i`` is point ``i + step`` (cyclically).
        public: the table's public values (ints).
        alpha: the constraint-combination challenge; bus_alpha, betas, claimed: LogUp's.
        tape: the compiled tape (default: ``tape_for(t.air, t.info.plan)``).
        stride: the columns hold point ``i`` at entry ``i * stride`` (the quotient
            domain as a sub-coset of the LDE, read in place): one for every phase, or
            ``(main, pre, perm)`` (the proving key keeps only the quotient points of the
            preprocessed columns, while the main and LogUp LDEs are whole). The prover
            passes 1 (it gathers the columns first: strided reads measured 5-10% slower,
            ``bench/bench_quotient_read.py``, which still uses the strided form).

    Returns:
        ``(m, 2)`` extension values.
    """
    strides = _strides(stride)
    if len(alpha.to_list()) != 2:  # the kernel is written for F_p2: other degrees, reference
        return constraint_sum_reference(t, mq, pq, qq, selectors, step, public, alpha,
                                        bus_alpha, betas, claimed, stride=strides)
    tape = tape or tape_for(t.air, t.info.plan)
    m = len(selectors[0])
    out = np.zeros((m, 2), dtype=np.uint64)
    if not tape.code.shape[0]:
        return out
    chal = [bus_alpha, claimed if claimed is not None else Ext(0)] + list(betas)
    chal = chal[:tape.n_challenges] + [Ext(0)] * max(0, tape.n_challenges - len(chal))
    chal_arr = np.array([c.to_list() for c in chal], dtype=np.uint64).reshape(-1, 2)
    pubs = np.array([int(x) % P for x in public] or [0], dtype=np.uint64)
    sel = np.ascontiguousarray(np.stack([np.broadcast_to(s, (m,)) for s in selectors]),
                               dtype=np.uint64)
    rows = min(ROWS, m)
    n_blocks = m // rows
    n_parts = max(1, min(n_blocks, 4 * numba.get_num_threads()))
    _run_tape(tape.code, tape.consts, _base(mq, m), _base(pq, m), _base(qq, m), sel, pubs,
              chal_arr, _alpha_powers(alpha, tape.n_constraints), int(step) % m, *strides,
              tape.n_base, tape.n_ext, rows, n_parts, out)
    return out


def constraint_sum_reference(t, mq, pq, qq, selectors, step: int, public, alpha,
                             bus_alpha, betas, claimed,
                             stride: int | tuple[int, int, int] = 1) -> np.ndarray:
    """``constraint_sum`` the whole-column way: ``ArrayBuilder`` and ``eval_logup`` on ``FA``.

    Any extension degree ``D`` (taken from ``alpha``); returns ``(m, D)``.
    """
    m = len(selectors[0])
    d = len(alpha.to_list())
    mq, pq, qq = (a if a is None or s == 1 else np.ascontiguousarray(a[:, ::s][:, :m])
                  for a, s in zip((mq, pq, qq), _strides(stride)))
    b = ArrayBuilder(t.air, mq, None if mq is None else np.roll(mq, -step, axis=1),
                     pq, None if pq is None else np.roll(pq, -step, axis=1), public,
                     selectors, alpha)
    t.air.eval(b)
    if t.n_perm:
        cur = [FA(np.stack([qq[d * j + i] for i in range(d)], axis=-1), True)
               for j in range(qq.shape[0] // d)]
        nxt = [FA(np.roll(c.v, -step, axis=0), True) for c in cur]
        eval_logup(b, b.interactions, t.info.plan, FA.lift(bus_alpha),
                   [FA.lift(x) for x in betas], cur, nxt, FA.lift(claimed))
    out = np.zeros((m, d), np.uint64)
    if b.acc is None:
        return out
    if b.acc.ext:
        out[:] = np.broadcast_to(b.acc.v, (m, d))
    else:  # a lone base-valued constraint
        out[:, 0] = np.broadcast_to(b.acc.v, (m,))
    return out
