"""The soundness of one statement: the estimator fed with every count its layout implies.

``zkvm.fri.security.security_bits`` prices each round of the protocol by
what one challenge batches; this module reads those counts off a
:class:`~zkvm.stark.layout.StarkLayout` (hence off a verifying key), so that
the verifier, ``zkvm inspect``-style reports and the benchmarks all quote
one figure. No numba: the verifier calls it.
"""

from __future__ import annotations

from dataclasses import dataclass

from zkvm.fri.security import SecurityConfig, SecurityReport, security_bits
from zkvm.stark.layout import StarkLayout


@dataclass(frozen=True)
class LayoutCounts:
    """What the challenges of one statement batch.

    Attributes:
        trace_log_height: log2 of the tallest witness polynomial's degree bound
            (the table height, doubled in zk mode by the randomiser).
        max_degree: the largest constraint degree.
        n_batched: the most values one DEEP batch combines (powers of lambda).
        n_constraints: constraints combined with powers of alpha, all tables.
        n_logup_terms: bus fractions: rows times interactions, all tables,
            plus the verifier's own terms.
        max_tuple: the longest bus tuple (powers of beta).
    """

    trace_log_height: int
    max_degree: int
    n_batched: int
    n_constraints: int
    n_logup_terms: int
    max_tuple: int


def layout_counts(lay: StarkLayout, n_public_terms: int = 0) -> LayoutCounts:
    """The counts of ``lay`` (``n_public_terms``: bus terms the verifier adds itself)."""
    return LayoutCounts(
        trace_log_height=max(t.log_ext for t in lay.tables),
        max_degree=max(t.info.max_degree for t in lay.tables),
        n_batched=max(lay.deep_coefficients_count(g) for g in lay.group_logs),
        n_constraints=sum(t.info.n_constraints for t in lay.tables),
        n_logup_terms=sum(t.n * len(t.info.interactions) for t in lay.tables) + n_public_terms,
        max_tuple=lay.max_tuple,
    )


def layout_security(lay: StarkLayout, cfg: SecurityConfig, n_public_terms: int = 0
                    ) -> SecurityReport:
    """:func:`~zkvm.fri.security.security_bits` of ``cfg`` for the statement laid out as ``lay``."""
    c = layout_counts(lay, n_public_terms)
    return security_bits(cfg, c.trace_log_height, c.max_degree, n_batched=c.n_batched,
                         n_constraints=c.n_constraints, n_logup_terms=c.n_logup_terms,
                         max_tuple=c.max_tuple)
