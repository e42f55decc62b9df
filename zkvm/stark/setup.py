"""Key derivation (prover side): preprocessed columns, their LDEs and Merkle roots.

Anyone can recompute a verifying key from the statement's AIRs and the
security parameters: the preprocessed columns are a pure function of each
chip's params, their low-degree extensions are deterministic, and the
roots follow. The proving key keeps the extensions and trees for the prover.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from zkvm.air.air import Air
from zkvm.fri.merkle import MixedMerkleTree
from zkvm.fri.security import SecurityConfig
from zkvm.poly.transforms import coset_extend, intt
from zkvm.stark.keys import VerifyingKey
from zkvm.stark.layout import StarkLayout, TableLayout


@dataclass
class ProvingKey:
    vk: VerifyingKey
    layout: StarkLayout
    pre_coeffs: dict[int, np.ndarray]   # table index -> (w, n) coefficients
    pre_lde: dict[int, np.ndarray]      # table index -> (w, m) evaluations on the quotient domain
    pre_tree: MixedMerkleTree | None    # one tree over every group with preprocessed columns
    pre_trace: dict[int, np.ndarray]    # table index -> (w, n) values on the trace domain


def extend(coeffs: np.ndarray, t: TableLayout) -> np.ndarray:
    """Evaluate ``(w, m)`` coefficients (m <= n') on the table's LDE coset."""
    return coset_extend(coeffs, t.log_lde, t.shift)


def group_rows(parts: list[np.ndarray], pack: int = 1, lead: int = 0) -> np.ndarray:
    """Side-by-side columns ``[(w_i, N), ...]`` as Merkle rows ``(N / pack, pack * sum w_i)``.

    Row ``r`` of the result holds LDE rows ``r * pack .. r * pack + pack - 1``
    one after the other (the STARK's trees use ``pack = 1``). With ``lead > 0`` (and
    ``pack == 1``) the result is a view of a buffer with ``lead`` free words in
    front of each row, where ``MerkleTree`` puts the leaf salts without copying.
    """
    from zkvm.stark.kernels import transpose_into

    n = parts[0].shape[1] if parts else 0
    width = sum(p.shape[0] for p in parts)
    if pack != 1:
        lead = 0
    buf = np.empty((n, lead + width), dtype=np.uint64)
    col = lead
    for p in parts:  # a tiled transpose per part, straight into place (no concatenation)
        transpose_into(p, buf, col)
        col += p.shape[0]
    rows = buf[:, lead:] if lead else buf
    return rows.reshape(n // pack, width * pack)


def leaf_rows(parts_by_group: list[list[np.ndarray]], logs: list[int], leaf_log: int,
              lead: int = 0) -> np.ndarray:
    """The leaves of a mixed tree with ``2^leaf_log`` leaves (``StarkLayout.leaf_log``).

    ``parts_by_group[k]`` are the column blocks of the group of ``2^logs[k]``
    rows (``logs[k] >= leaf_log``, largest first); leaf ``j`` holds each group's
    rows ``j, j + 2^leaf_log, ..`` side by side. One unpacked group is
    :func:`group_rows` (with ``lead`` free words for the salts).
    """
    if len(logs) == 1 and logs[0] == leaf_log:
        return group_rows(parts_by_group[0], 1, lead)
    n = 1 << leaf_log
    blocks = []
    for parts, lg in zip(parts_by_group, logs):
        rows = group_rows(parts)
        f = 1 << (lg - leaf_log)
        blocks.append(rows.reshape(f, n, rows.shape[1]).transpose(1, 0, 2).reshape(n, -1))
    return np.ascontiguousarray(np.concatenate(blocks, axis=1))


def mixed_groups(parts: dict[int, list[np.ndarray]], logs: list[int], leaf_log: int,
                 salts=None) -> list[tuple[np.ndarray, object]]:
    """``MixedMerkleTree`` groups from each group's column blocks (``log_lde -> parts``).

    ``salts(n)`` (zk) gives the salts of ``n`` rows; ``None`` leaves rows unsalted.
    The rows are :class:`zkvm.stark.leaves.LeafRows`: hashed block by block, never
    written out whole (the same leaves as :func:`leaf_rows` / :func:`group_rows`, which
    materialise them and stay as the tests' reference).
    """
    from zkvm.stark.leaves import LeafRows

    packed = [g for g in logs if g >= leaf_log]
    rows = LeafRows([parts[g] for g in packed], packed, leaf_log)
    out = [(rows, salts(rows.shape[0]) if salts else None)]
    for g in logs:
        if g < leaf_log:
            r = LeafRows([parts[g]], [g], g)
            out.append((r, salts(r.shape[0]) if salts else None))
    return out


def _keep_quotient_points(layout: StarkLayout, coeffs: dict, lde: dict,
                          owners: dict[int, list[int]], leaf_rows: list) -> None:
    """Once the tree is built, keep of each preprocessed LDE only the points the quotient
    reads (its coset ``shift * H_m``, every ``2^log_lde / m``-th point: 1/8 of them for a
    degree-2 table at blowup 8) and open the tree from the coefficients
    (``LeafRows.from_coefficients``; ``owners[log][j]`` is the table of the ``j``-th block
    of the group of ``2^log`` rows). ResNet-20: 1.4 GB of extensions become 0.2 GB."""
    for i, full in list(lde.items()):
        t = layout.tables[i]
        stride = full.shape[1] // (t.n << t.log_quotient)
        if stride > 1:
            lde[i] = np.ascontiguousarray(full[:, ::stride])

    def poly(log: int, j: int) -> tuple[np.ndarray, int, int]:
        t = layout.tables[owners[log][j]]
        return coeffs[t.index], t.log_lde, t.shift
    for rows in leaf_rows:
        rows.from_coefficients(poly)


def setup(airs: list[Air], security: SecurityConfig, zk: bool, statement_id: bytes,
          meta: dict | None = None) -> ProvingKey:
    """Derive the proving and verifying keys of a statement shape."""
    layout = StarkLayout(airs, security.log_blowup, zk, security.ext_degree)
    floor = security.log_final_poly_len + security.log_blowup
    short = [t for t in layout.tables if t.log_lde < floor]
    if short:
        t = short[0]
        raise ValueError(
            f"table {t.air.name!r} has {t.n} rows: at these parameters every table needs at "
            f"least 2^{floor - security.log_blowup - int(zk)} rows (FRI's final polynomial has "
            f"2^{security.log_final_poly_len} coefficients); pad it")
    if zk:
        small = [t for t in layout.tables if t.n < security.n_queries + 2]
        if small:
            raise ValueError(
                f"zero-knowledge needs every table to have at least n_queries + 2 = "
                f"{security.n_queries + 2} rows (the randomiser must outnumber the points "
                f"opened); table {small[0].air.name!r} has {small[0].n}")
    pre_trace, pre_coeffs, pre_lde, groups, owners = {}, {}, {}, {}, {}
    for g in layout.trees_of("pre"):
        parts, owners[g] = [], []
        for t in layout.groups[g]:
            if not t.air.pre_width:
                continue
            pre = np.asarray(t.air.preprocessed_trace(), dtype=np.uint64)
            if pre.shape != (t.air.pre_width, t.n):
                raise ValueError(f"{t.air.name}: preprocessed trace has shape {pre.shape}, "
                                 f"expected {(t.air.pre_width, t.n)}")
            pre_trace[t.index] = pre
            pre_coeffs[t.index] = intt(pre)
            pre_lde[t.index] = extend(pre_coeffs[t.index], t)
            parts.append(pre_lde[t.index])
            owners[g].append(t.index)
        groups[g] = parts
    leaves = mixed_groups(groups, layout.trees_of("pre"), layout.leaf_log("pre")) if groups else []
    tree = MixedMerkleTree(leaves, hash=security.hash) if groups else None
    _keep_quotient_points(layout, pre_coeffs, pre_lde, owners, [rows for rows, _ in leaves])
    roots = [tree.root] if tree else []
    vk = VerifyingKey(statement_id, security, zk, [a.spec() for a in airs], roots, dict(meta or {}))
    return ProvingKey(vk, layout, pre_coeffs, pre_lde, tree, pre_trace)
