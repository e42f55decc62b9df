"""The shape of a multi-table STARK, derived identically by prover and verifier.

Everything here follows from the verifying key (the tables' AIRs and
heights), the security parameters and the zk flag, never from a proof
(DESIGN.md soundness checklist 4):

* table ``t`` has trace height ``n = 2^log_height`` on ``H_n``; in zk mode
  its witness polynomials are randomised to degree ``< n' = 2n``
  (``T + Z_H * R``, Haböck & Al Kindi, eprint 2024/1037), else ``n' = n``;
* its low-degree extension has ``n' * blowup`` points on the coset
  ``GENERATOR^(N / size) * H_size`` where ``N`` is the largest extension of
  the statement: exactly the domains FRI folds through, so a smaller table's
  DEEP codeword joins FRI when the folding reaches its size;
* its quotient has degree ``< (D * n'/n - 1) * n`` for constraint degree
  ``D`` (at least 2), split into ``n_chunks = D * n'/n - 1`` chunks of
  degree ``< n`` (randomised to ``< n'`` in zk mode);
* tables with the same extension size form a *group*; each phase
  (preprocessed, main, LogUp, quotient) has one mixed-height Merkle tree
  (``zkvm.fri.merkle_verify.verify_mixed``) in which every group with columns
  in that phase is one row group, its tables' columns side by side;
* an extension value (LogUp column, quotient chunk, DEEP mask) is
  ``ext_degree`` base columns (the parameters' degree D, 2 or 3).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import NamedTuple

from zkvm.air.air import Air
from zkvm.air.logup import AirInfo, analyse
from zkvm.field.scalar import GENERATOR, P, root_of_unity
from zkvm.stark.blind import blind_airs

PHASES = ("pre", "main", "perm", "quot")
#: phases whose columns are extension values (``ext_degree`` base columns each)
EXT_PHASES = ("perm", "quot")
MIN_LOG_HEIGHT_BLIND = 6


class OodBlock(NamedTuple):
    """One run of a table's out-of-domain values (see :attr:`TableLayout.ood_blocks`).

    Attributes:
        phase: the tree its columns live in (``pre``, ``main``, ``perm``, ``quot``).
        count: how many values (extension columns count once).
        ext: the columns are extension values (``ext_degree`` base columns each).
        point: 0 for ``z``, 1 for ``z * w`` (the next row).
    """

    phase: str
    count: int
    ext: bool
    point: int


@lru_cache(maxsize=1024)
def _ood_blocks(pre: int, main: int, perm: int, quot: int) -> tuple[OodBlock, ...]:
    """:attr:`TableLayout.ood_blocks` for these counts (shared: a key has many alike tables)."""
    return (OodBlock("pre", pre, False, 0), OodBlock("main", main, False, 0),
            OodBlock("perm", perm, True, 0), OodBlock("quot", quot, True, 0),
            OodBlock("pre", pre, False, 1), OodBlock("main", main, False, 1),
            OodBlock("perm", perm, True, 1))


@dataclass
class TableLayout:
    """One table's place in the statement."""

    index: int
    air: Air
    info: AirInfo
    zk: bool
    log_blowup: int
    log_lde_max: int = 0
    ext_degree: int = 2

    @property
    def log_n(self) -> int:
        return self.air.log_height

    @property
    def n(self) -> int:
        return 1 << self.air.log_height

    @property
    def log_ext(self) -> int:
        """log2 of the degree bound n' of the (randomised) witness polynomials."""
        return self.log_n + int(self.zk)

    @property
    def log_lde(self) -> int:
        return self.log_ext + self.log_blowup

    @property
    def shift(self) -> int:
        """The LDE coset shift, ``GENERATOR^(2^(log_lde_max - log_lde))``."""
        return pow(GENERATOR, 1 << (self.log_lde_max - self.log_lde), P)

    @property
    def omega(self) -> int:
        """Generator of the trace domain ``H_n``."""
        return root_of_unity(self.log_n)

    @property
    def n_chunks(self) -> int:
        return max(self.info.max_degree, 2) * (1 << int(self.zk)) - 1

    @property
    def log_quotient(self) -> int:
        """log2 of (quotient domain size / n): the smallest power of two >= n_chunks."""
        return (self.n_chunks - 1).bit_length()

    @property
    def n_perm(self) -> int:
        """Extension columns of LogUp (helpers + running sum)."""
        return self.info.plan.n_columns

    def width(self, phase: str) -> int:
        """Base-field columns this table puts in ``phase``'s tree."""
        if phase == "pre":
            return self.air.pre_width
        if phase == "main":
            return self.air.main_width
        if phase == "perm":
            return self.ext_degree * self.n_perm
        return self.ext_degree * self.n_chunks

    @cached_property
    def ood_blocks(self) -> tuple[OodBlock, ...]:
        """The order of this table's out-of-domain values, which prover and verifier share.

        At ``z`` (point 0) every phase: preprocessed, main, LogUp, quotient
        chunks; then at ``z * w`` (point 1) every phase but the quotient (its
        chunks are never read at the next row). The proof's OOD values, the
        transcript's absorption, the verifier's constraint check at ``z`` and
        the powers of the DEEP challenge all run in this order, table by table.
        Blocks of zero columns are kept (their ``count`` is 0).
        """
        return _ood_blocks(self.air.pre_width, self.air.main_width, self.n_perm, self.n_chunks)

    def split_ood(self, vals: list) -> dict[tuple[str, int], list]:
        """``(phase, point) -> values``: a table's OOD values cut by :attr:`ood_blocks`."""
        out, i = {}, 0
        for b in self.ood_blocks:
            out[(b.phase, b.point)] = vals[i:i + b.count]
            i += b.count
        return out

    @property
    def n_ood(self) -> int:
        """Extension values opened at z and z*w (columns at both, chunks at z)."""
        return sum(b.count for b in self.ood_blocks)


class StarkLayout:
    """All tables, their groups and the trees of each phase."""

    def __init__(self, airs: list[Air], log_blowup: int, zk: bool, ext_degree: int = 2):
        if not airs:
            raise ValueError("a statement needs at least one table")
        self.zk = zk
        self.ext_degree = ext_degree
        self.log_blowup = log_blowup
        self.n_original = len(airs)
        infos = [analyse(a) for a in airs]
        if zk:  # blind every table's LogUp sum (zkvm.stark.blind)
            airs = blind_airs(airs, [bool(i.plan.groups) for i in infos], MIN_LOG_HEIGHT_BLIND,
                              ext_degree)
            infos = [analyse(a) for a in airs]
        self.tables = [TableLayout(i, a, info, zk, log_blowup, ext_degree=ext_degree)
                       for i, (a, info) in enumerate(zip(airs, infos))]
        top = max(t.log_lde for t in self.tables)
        for t in self.tables:
            t.log_lde_max = top
        self.log_lde_max = top
        # groups: distinct extension sizes, largest first
        self.group_logs: list[int] = sorted({t.log_lde for t in self.tables}, reverse=True)
        self.groups: dict[int, list[TableLayout]] = {
            g: [t for t in self.tables if t.log_lde == g] for g in self.group_logs}

    def group_width(self, log_lde: int, phase: str) -> int:
        """Base columns of ``phase``'s tree for a group (zk: + the FRI mask column)."""
        extra = self.ext_degree if (phase == "quot" and self.zk) else 0
        return sum(t.width(phase) for t in self.groups[log_lde]) + extra

    @cached_property
    def max_tuple(self) -> int:
        """The longest bus tuple of any table: how many powers of LogUp's ``beta`` are drawn,
        and the longest public bus term the verifier accepts."""
        return max((t.info.plan.max_tuple for t in self.tables), default=0)

    @cached_property
    def trees(self) -> list[tuple[str, tuple[int, ...]]]:
        """``(phase, group logs largest first)`` of every non-empty phase tree, in
        commitment order: one mixed-height tree per phase."""
        out = []
        for ph in PHASES:
            gs = tuple(g for g in self.group_logs if self.group_width(g, ph))
            if gs:
                out.append((ph, gs))
        return out

    def trees_of(self, phase: str) -> list[int]:
        """The groups (log LDE sizes, largest first) in ``phase``'s tree; empty if none."""
        return next((list(gs) for ph, gs in self.trees if ph == phase), [])

    def has_tree(self, phase: str) -> bool:
        return bool(self.trees_of(phase))

    def leaf_log(self, phase: str) -> int:
        """log2 of the number of leaves of ``phase``'s tree.

        A leaf of up to 16 elements costs at most two BLAKE3 compressions, so
        narrow groups pack: with ``2^L`` leaves, every group ``g >= L`` puts
        its rows ``j, j + 2^L, j + 2 * 2^L, ..`` (the rows FRI's folding joins)
        side by side into leaf ``j``, largest group first; smaller groups are
        injected above. ``L`` is the smallest level (from the largest group's
        down) whose leaves stay within 16 elements.
        """
        gs = self.trees_of(phase)
        lv = gs[0]
        while lv > 0 and self.leaf_width(phase, lv - 1) <= 16:
            lv -= 1
        return lv

    def leaf_width(self, phase: str, lv: int) -> int:
        """Elements per leaf when the tree has ``2^lv`` leaves."""
        return sum(self.group_width(g, phase) << (g - lv) for g in self.trees_of(phase) if g >= lv)

    def tree_shape(self, phase: str) -> tuple[list[int], list[int]]:
        """``(log heights, row widths)`` of ``phase``'s tree as ``verify_mixed`` sees it:
        the packed leaves first, then each group injected above them."""
        lv = self.leaf_log(phase)
        rest = [g for g in self.trees_of(phase) if g < lv]
        return [lv] + rest, [self.leaf_width(phase, lv)] + [self.group_width(g, phase)
                                                            for g in rest]

    def deep_coefficients_count(self, log_lde: int) -> int:
        """How many powers of the DEEP challenge a group's batch uses."""
        return sum(t.n_ood for t in self.groups[log_lde])

    def publics(self, table_publics: list[list[int]]) -> list[list[int]]:
        """Public values per table, with none for tables the layout added (zk blinding)."""
        return list(table_publics) + [[] for _ in range(len(self.tables) - len(table_publics))]

    @property
    def interacting(self) -> list[TableLayout]:
        """Tables with bus interactions (each has a claimed LogUp sum)."""
        return [t for t in self.tables if t.n_perm]
