"""The prover's constraint composition: each table's quotient, cut into chunks.

On a coset of ``m = n * 2^log_quotient`` points (``TableLayout.log_quotient``)
every constraint of the table and of its LogUp columns is evaluated on whole
columns (``zkvm.air.tape_eval.constraint_sum``), combined with powers of
``alpha``, and divided by the vanishing polynomial ``Z_H = X^n - 1``; the
quotient's coefficients are cut into ``n_chunks`` polynomials of degree
``< n`` (``q = sum_j X^(j n) q_j``), re-randomised in zk mode so that their
sum is unchanged (Haböck & Al Kindi, eprint 2024/1037, section 4). This is
Winterfell's ``ConstraintEvaluator`` and ``CompositionPoly`` in one step.
Prover only (numba kernels).
"""

from __future__ import annotations

import numpy as np

from zkvm.air.tape_eval import constraint_sum
from zkvm.field import kernels as K
from zkvm.field.scalar import P, Ext, root_of_unity, s_inv
from zkvm.poly.transforms import coset_intt, coset_ntt
from zkvm.stark.errors import ProverError
from zkvm.stark.layout import TableLayout
from zkvm.stark.rand import Randomness


def _selectors(t: TableLayout, xs: np.ndarray, zh: np.ndarray):
    """The first-row, last-row and transition selectors on the points ``xs``."""
    n_inv = s_inv(t.n)
    w_inv = s_inv(t.omega)
    inv_first = K.batch_inv(K.sub(xs, np.uint64(1)))
    inv_last = K.batch_inv(K.sub(xs, np.uint64(w_inv)))
    first = K.mul(K.mul(zh, inv_first), np.uint64(n_inv))
    last = K.mul(K.mul(zh, inv_last), np.uint64(n_inv * w_inv % P))
    trans = K.sub(xs, np.uint64(w_inv))
    return first, last, trans


def _on_quotient_domain(lde: np.ndarray | None, coeffs: np.ndarray | None, t: TableLayout):
    """Columns on the quotient coset ``shift * H_m``: the LDE itself when ``H_m`` is a
    sub-coset of it (point ``i`` at entry ``i * size / m``, the stride ``quotient_chunks`` passes on)."""
    if lde is None:
        return None
    m = t.n << t.log_quotient
    size = lde.shape[1]
    if m <= size:
        return lde
    padded = np.zeros((coeffs.shape[0], m), dtype=np.uint64)
    padded[:, : coeffs.shape[1]] = coeffs
    return coset_ntt(padded, t.shift)


def gather(cols: np.ndarray | None, stride: int) -> np.ndarray | None:
    """Every ``stride``-th point of ``cols`` (contiguous; ``cols`` itself for stride 1)."""
    if cols is None or stride == 1:
        return cols
    return np.ascontiguousarray(cols[:, ::stride])


def quotient_chunks(t: TableLayout, main: tuple, pre: tuple, perm: tuple, public: list[int],
                    alpha: Ext, bus_alpha: Ext, betas: list[Ext], claimed: Ext | None,
                    rng: Randomness, zk: bool, allow_invalid: bool = False) -> np.ndarray:
    """Quotient chunk coefficients ``(D * n_chunks, <= n')`` of one table.

    Args:
        t: the table's layout.
        main, pre, perm: ``(lde, coeffs)`` of the table's columns in each phase
            (``(None, None)`` when it has none there).
        public: the table's public values.
        alpha: the constraint-combination challenge; ``bus_alpha``, ``betas``: LogUp's.
        claimed: the table's claimed LogUp sum (``None`` without interactions).
        rng: the zk randomness (chunk re-randomisation).
        zk: re-randomise the chunks.
        allow_invalid: tests only: truncate a quotient that is not a polynomial.

    Raises:
        ProverError: the constraints do not hold on the trace.
    """
    n, m, d = t.n, t.n << t.log_quotient, alpha.D
    step = m // n
    mq = _on_quotient_domain(*main, t)
    pq = _on_quotient_domain(*pre, t)
    xs = K.mul(K.powers(root_of_unity(t.log_n + t.log_quotient), m), np.uint64(t.shift))
    # Z_H(x) = x^n - 1 takes only m/n values on the coset: shift^n * w_(m/n)^i - 1
    period = K.mul(K.powers(root_of_unity(t.log_quotient), m // n), np.uint64(pow(t.shift, n, P)))
    zh = np.tile(K.sub(period, np.uint64(1)), n)
    sel = _selectors(t, xs, zh)
    qq = _on_quotient_domain(*perm, t) if t.n_perm else None
    # Point i of the quotient domain is entry i * lde_stride of the main and LogUp LDEs (1 when
    # _on_quotient_domain made them) and entry i of the preprocessed columns, of which the
    # proving key keeps only these points (zkvm.stark.setup). The main and LogUp columns are
    # gathered at their stride once here rather than read strided by the kernel (its
    # per-phase strides allow either): one strided pass, then contiguous reads of the current
    # and next rows, is the cheaper of the two (python bench/bench_quotient_read.py).
    lde_stride = max(1, (1 << t.log_lde) // m)
    if pq is not None and pq.shape[1] != m:
        raise ProverError(f"table {t.air.name!r}: the proving key's preprocessed columns hold "
                          f"{pq.shape[1]} points, not the {m} of the quotient domain")
    mq, qq = (gather(a, lde_stride) for a in (mq, qq))
    acc = constraint_sum(t, mq, pq, qq, sel, step, public, alpha, bus_alpha, betas, claimed,
                         stride=(1, 1, 1))
    q = K.ext_mul_base(acc, K.batch_inv(zh))
    qc = coset_intt(np.ascontiguousarray(q.T), t.shift)  # (d, m) coefficients
    bound = t.n_chunks * n
    if qc[:, bound:].any() and not allow_invalid:
        raise ProverError(
            f"table {t.air.name!r}: the constraints do not hold on the trace (its quotient is "
            f"not a polynomial); prove with debug=True to see which constraint and row")
    chunks = [qc[:, j * n:(j + 1) * n] for j in range(t.n_chunks)]
    if zk:  # q_j' = q_j + X^n s_j - s_{j-1}: the sum over X^{jn} q_j' is unchanged
        s = [rng.field((d, n)) for _ in range(t.n_chunks - 1)]
        out = []
        for j, c in enumerate(chunks):
            cj = np.zeros((d, 2 * n), dtype=np.uint64)
            cj[:, :n] = c if j == 0 else K.sub(c, s[j - 1])
            if j < t.n_chunks - 1:
                cj[:, n:] = s[j]
            out.append(cj)
        chunks = out
    return np.concatenate(chunks)
