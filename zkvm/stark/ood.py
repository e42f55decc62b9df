"""The constraint identity at the out-of-domain point, which prover and verifier both check.

At ``z`` each table's constraints, combined with powers of ``alpha`` (and its
LogUp columns' constraints, ``zkvm.air.logup.eval_logup``), must equal its
quotient times the vanishing polynomial: ``C(z) = q(z) * Z_H(z)`` with
``q(z) = sum_j z^(j n) q_j(z)`` from the quotient chunks (DEEP-ALI,
Ben-Sasson, Goldberg, Kopparty, Saraf, "DEEP-FRI", ITCS 2020, section 5). The
verifier rejects a proof whose claimed values break it; the prover runs the
same check before absorbing its values, and refuses to prove a falsehood.
Winterfell keeps this in its verifier's ``evaluator``; it sits in its own
module here because both sides call it. No numba: the verifier imports it.
"""

from __future__ import annotations

from zkvm.air.builder import PointBuilder
from zkvm.air.logup import eval_logup
from zkvm.stark.errors import OodConstraintMismatch
from zkvm.stark.layout import TableLayout


def table_identity_at_z(t: TableLayout, vals: list, z, alpha, bus_alpha, betas: list,
                        claimed, public: list[int]) -> tuple:
    """``(C(z), Z_H(z), q(z))`` of one table from its claimed OOD values.

    Args:
        t: the table's layout (it owns the order of ``vals``, :attr:`TableLayout.ood_blocks`).
        vals: the table's OOD values (extension scalars).
        z: the out-of-domain point.
        alpha: the constraint-combination challenge.
        bus_alpha, betas: the LogUp challenges.
        claimed: the table's claimed LogUp sum (``None`` without interactions).
        public: the table's public values.
    """
    a, v = t.air, t.split_ood(vals)
    b = PointBuilder(a, v["main", 0], v["main", 1], v["pre", 0], v["pre", 1], public, z, alpha)
    a.eval(b)
    eval_logup(b, b.interactions, t.info.plan, bus_alpha, betas, v["perm", 0], v["perm", 1],
               claimed)
    zn = z ** t.n
    q, power = type(z)(0), type(z)(1)
    for c in v["quot", 0]:
        q = q + power * c
        power = power * zn
    return b.acc, b.vanishing, q


def check_table_at_z(t: TableLayout, vals: list, z, alpha, bus_alpha, betas: list, claimed,
                     public: list[int]) -> None:
    """Raise :class:`OodConstraintMismatch` unless ``C(z) = q(z) * Z_H(z)`` for table ``t``."""
    acc, vanishing, q = table_identity_at_z(t, vals, z, alpha, bus_alpha, betas, claimed, public)
    if acc != q * vanishing:
        raise OodConstraintMismatch(t.air.name)
