"""LogUp bus arguments: from a chip's interactions to interaction columns and constraints.

Every table proves that its bus messages add up, in LogUp form (Haböck,
"Multivariate lookups based on logarithmic derivatives", eprint 2022/1530):

    sum over rows, over interactions j of  sign_j * m_j / (alpha - t_j)

where ``t_j = bus_j + beta * v_j0 + beta^2 * v_j1 + ...`` compresses the
tuple with a random linear combination and carries its bus id. The sum over
all tables plus the terms the verifier computes itself for public values
must be zero.

Columns (all in the extension field): one helper column ``h_g`` per *group*
of interactions, with ``h_g * prod_j d_j = sum_j sign_j m_j prod_{i != j} d_i``
(``d_j = alpha - t_j``), and a running sum ``S``: ``S[0] = H[0]``,
``S[i+1] = S[i] + H[i+1]`` with ``H = sum_g h_g``, and ``S[n-1]`` equal to the
table's claimed sum, a value in the proof. Interactions are grouped greedily
so that no LogUp constraint exceeds the table's degree (at least 3).

This module is shared by prover and verifier and imports no numba kernel.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from zkvm.air.air import Air, Interaction
from zkvm.air.builder import SymbolicBuilder
from zkvm.air.expr import Expr, Var

MIN_DEGREE = 3


@dataclass(frozen=True)
class LogupPlan:
    """How a chip's interactions map to helper columns.

    Attributes:
        groups: interaction indices of each helper column ``h_g``.
        max_tuple: the longest tuple (how many powers of beta are needed).
    """

    groups: tuple[tuple[int, ...], ...]
    max_tuple: int

    @property
    def n_columns(self) -> int:
        """Extension columns: the helpers and the running sum (0 without interactions)."""
        return len(self.groups) + 1 if self.groups else 0


def _deg(x: Any) -> int:
    return x.degree if isinstance(x, Expr) else 0


def plan_interactions(interactions: Sequence[Interaction], max_degree: int) -> LogupPlan:
    """Group interactions so each group's constraint has degree ``<= max_degree``."""
    max_degree = max(max_degree, MIN_DEGREE)
    groups: list[list[int]] = []
    cur: list[int] = []
    cur_d: list[int] = []
    cur_m: list[int] = []

    def degree(ds: list[int], ms: list[int]) -> int:
        total = sum(ds)
        return max(1 + total, max(m + total - d for d, m in zip(ds, ms)))

    for j, it in enumerate(interactions):
        d = max((_deg(v) for v in it.values), default=0)
        m = _deg(it.multiplicity)
        if degree([d], [m]) > max_degree:
            raise ValueError(
                f"interaction {j} (bus {it.bus}) has degree {degree([d], [m])} > {max_degree}:"
                " use columns of lower degree in its tuple or multiplicity")
        if cur and degree(cur_d + [d], cur_m + [m]) > max_degree:
            groups.append(cur)
            cur, cur_d, cur_m = [], [], []
        cur.append(j)
        cur_d.append(d)
        cur_m.append(m)
    if cur:
        groups.append(cur)
    max_tuple = max((len(it.values) for it in interactions), default=0)
    return LogupPlan(tuple(tuple(g) for g in groups), max_tuple)


def denominators(interactions: Sequence[Interaction], alpha: Any, betas: Sequence[Any]) -> list[Any]:
    """``d_j = alpha - (bus_j + sum_k beta^(k+1) v_jk)`` for every interaction."""
    out = []
    for it in interactions:
        t: Any = it.bus
        for k, v in enumerate(it.values):
            t = t + betas[k] * v
        out.append(alpha - t)
    return out


def eval_logup(b, interactions: Sequence[Interaction], plan: LogupPlan, alpha: Any,
               betas: Sequence[Any], perm: Sequence[Any], perm_next: Sequence[Any],
               claimed: Any) -> None:
    """Assert the LogUp constraints through builder ``b`` (any builder)."""
    if not plan.groups:
        return
    ds = denominators(interactions, alpha, betas)
    for g, idxs in enumerate(plan.groups):
        prod: Any = 1
        for j in idxs:
            prod = prod * ds[j]
        num: Any = 0
        for j in idxs:
            term: Any = interactions[j].multiplicity
            if interactions[j].sign < 0:
                term = -1 * term
            for i in idxs:
                if i != j:
                    term = term * ds[i]
            num = num + term
        b.assert_zero(perm[g] * prod - num, f"{b.air.name}: logup helper h{g}")
    s, s_next = perm[-1], perm_next[-1]
    h: Any = 0
    h_next: Any = 0
    for g in range(len(plan.groups)):
        h = h + perm[g]
        h_next = h_next + perm_next[g]
    b.when_first_row().assert_zero(s - h, f"{b.air.name}: logup running sum, first row")
    b.when_transition().assert_zero(s_next - s - h_next, f"{b.air.name}: logup running sum")
    b.when_last_row().assert_zero(s - claimed, f"{b.air.name}: logup claimed sum")


@dataclass(frozen=True)
class AirInfo:
    """What the symbolic run of a chip tells prover and verifier alike."""

    n_constraints: int
    max_degree: int
    plan: LogupPlan
    buses: tuple[int, ...]
    interactions: tuple[Interaction, ...] = ()


def analyse(air: Air) -> AirInfo:
    """Run ``eval`` symbolically (plus its LogUp constraints): degrees and plan."""
    sb = SymbolicBuilder(air)
    air.eval(sb)
    plan = plan_interactions(sb.interactions, sb.max_degree)
    k = plan.n_columns
    ch = [Var("challenge", i) for i in range(2 + plan.max_tuple + 1)]
    eval_logup(sb, sb.interactions, plan, ch[0], ch[2:], [Var("perm", i) for i in range(k)],
               [Var("perm_next", i) for i in range(k)], ch[1])
    return AirInfo(len(sb.constraints), max(sb.max_degree, 1), plan,
                   tuple(sorted({it.bus for it in sb.interactions})), tuple(sb.interactions))
