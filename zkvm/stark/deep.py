"""The prover's out-of-domain values and DEEP codewords (steps 8 and 9 of ``zkvm.stark.prover``).

Every committed column is evaluated at ``z`` and ``z * w`` (quotient chunks
at ``z`` only) in the order the layout owns
(:attr:`zkvm.stark.layout.TableLayout.ood_blocks`); then each group of tables
of one LDE size gets one DEEP codeword (DEEP-ALI, Ben-Sasson, Goldberg,
Kopparty, Saraf, "DEEP-FRI", ITCS 2020):

    f(x) = sum_k l^k (f_k(x) - f_k(z)) / (x - z) + sum_k l^k (f_k(x) - f_k(z w)) / (x - z w)

with the powers of the DEEP challenge ``l`` running over the same blocks in
the same order, plus the committed random mask in zk mode. The verifier's
twin is :mod:`zkvm.stark.deep_verify`. Prover only (numba kernels).
"""

from __future__ import annotations

import numpy as np

from zkvm.field import kernels as K
from zkvm.field.extension import ext_gen
from zkvm.field.scalar import Ext, root_of_unity
from zkvm.stark.common import powers
from zkvm.stark.kernels import eval_with_powers, lincomb
from zkvm.stark.layout import EXT_PHASES, PHASES, StarkLayout
from zkvm.stark.setup import extend


def _at_points(coeffs: np.ndarray | None, pows: np.ndarray, ext: bool, z) -> list[list[Ext]]:
    """Columns at each point whose powers are ``pows`` (see ``eval_with_powers``).

    ``z`` (any of the points) gives the extension type and degree ``D``: ``pows`` has
    ``D`` rows per point, and an extension column is ``D`` base columns
    ``sum_i X^i c_i``. Written for any degree (no quadratic-only helper).
    """
    cls = type(z)
    d = len(z.to_list())
    q = pows.shape[0] // d
    if coeffs is None or not coeffs.shape[0]:
        return [[] for _ in range(q)]
    v = eval_with_powers(coeffs, pows)
    x = cls(0, 1)
    out = []
    for j in range(q):
        vals = [cls(*(int(c) for c in row)) for row in v[:, d * j:d * (j + 1)]]
        if ext:
            grouped = []
            for i in range(len(vals) // d):
                acc = vals[d * i + d - 1]
                for k in range(d - 2, -1, -1):  # Horner in X
                    acc = acc * x + vals[d * i + k]
                grouped.append(acc)
            vals = grouped
        out.append(vals)
    return out


def ood_values(lay: StarkLayout, columns, z) -> list[list[Ext]]:
    """Every table's values at ``z`` and ``z * w``, in the order of its ``ood_blocks``.

    Args:
        lay: the layout.
        columns: ``columns(t)`` gives table ``t``'s coefficients by phase.
        z: the out-of-domain point.
    """
    d = len(z.to_list())
    out = []
    z_pows = K.ext_powers(z, max(t.n << int(lay.zk) for t in lay.tables)).T
    for t in lay.tables:
        m_t = t.n << int(lay.zk)  # n': the longest coefficient array of the table
        both = np.concatenate([z_pows[:, :m_t], K.ext_powers(z * t.omega, m_t).T])  # (2D, m_t)
        cols = columns(t)
        at = {}
        for ph in PHASES:  # quotient chunks: at z only
            vals = _at_points(cols[ph], both[:d] if ph == "quot" else both, ph in EXT_PHASES, z)
            at.update({(ph, point): v for point, v in enumerate(vals)})
        vals = [v for b in t.ood_blocks for v in at[b.phase, b.point]]
        assert len(vals) == t.n_ood
        out.append(vals)
    return out


def _coeff_block(lams: list[Ext], ext: bool) -> np.ndarray:
    """DEEP coefficients for a block of columns: ext columns take (l, l X, .., l X^(D-1)) on their D parts."""
    rows = []
    d = lams[0].D if lams else 2
    x = ext_gen(d)
    for lam in lams:
        rows.append(lam.to_list())
        if ext:
            for _ in range(d - 1):
                lam = lam * x
                rows.append(lam.to_list())
    return np.array(rows, dtype=np.uint64).reshape(-1, d)


def deep_codeword(lay: StarkLayout, g: int, columns, ood: list[list[Ext]], z, lam,
                  mask: np.ndarray | None) -> np.ndarray:
    """The DEEP codeword ``(2^g, D)`` of group ``g`` (see the module docstring).

    The batches are linear in the columns, so they are formed on the
    coefficients (``n'`` per column instead of ``n' * blowup`` LDE points) and
    extended once.

    Args:
        lay: the layout.
        g: the group's log LDE size.
        columns: ``columns(t)`` gives table ``t``'s coefficients by phase.
        ood: every table's OOD values (:func:`ood_values`).
        z: the out-of-domain point; ``lam``: the DEEP challenge.
        mask: zk: the group's committed random mask ``(D, 2^g)``, else ``None``.
    """
    d = len(lam.to_list())
    lams = powers(lam, lay.deep_coefficients_count(g))
    t0 = lay.groups[g][0]
    n_ext = 1 << t0.log_ext
    batch = [np.zeros((n_ext, d), dtype=np.uint64) for _ in range(2)]  # at z, at z*w
    value = [type(lam)(0), type(lam)(0)]  # the batches' values at z, z*w
    k = 0
    for t in lay.groups[g]:
        vals, cols, i = ood[t.index], columns(t), 0
        for b in t.ood_blocks:
            if b.count:
                lincomb(cols[b.phase], _coeff_block(lams[k:k + b.count], b.ext), batch[b.point])
                for j in range(b.count):
                    value[b.point] = value[b.point] + lams[k + j] * vals[i + j]
            k += b.count
            i += b.count
    ev = extend(np.concatenate([batch[0].T, batch[1].T]), t0)  # (2D, size)
    xs = K.ext_from_base(K.mul(K.powers(root_of_unity(g), 1 << g), np.uint64(t0.shift)), d)
    deep = None
    for point, at in enumerate((z, z * t0.omega)):  # (f(x) - f(at)) / (x - at)
        inv = K.ext_batch_inv(K.ext_sub(xs, np.array(at.to_list(), np.uint64)))
        f = np.ascontiguousarray(ev[d * point:d * (point + 1)].T)
        term = K.ext_mul(K.ext_sub(f, np.array(value[point].to_list(), np.uint64)), inv)
        deep = term if deep is None else K.ext_add(deep, term)
    if mask is not None:
        deep = K.ext_add(deep, np.ascontiguousarray(mask.T))
    return deep
