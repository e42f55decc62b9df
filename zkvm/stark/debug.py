"""Debug checks run before proving (tests, ``debug=True``): name what does not hold.

``check_constraints`` runs every chip's ``eval`` on its concrete trace (the
``DebugBuilder``) and reports the chip, the constraint's source line and
the first failing rows. ``check_bus`` adds up every bus message of every
table and the verifier's public terms and reports the tuples that do not
balance. Both raise :class:`zkvm.stark.errors.ProverError`.
"""

from __future__ import annotations

import numpy as np

from zkvm.air.array_builder import FA, ArrayBuilder, DebugBuilder, trace_selectors
from zkvm.field.scalar import P
from zkvm.stark.errors import ProverError
from zkvm.stark.layout import StarkLayout


def check_constraints(lay: StarkLayout, main: dict, pre: dict, pubs: list[list[int]]) -> None:
    problems = []
    for t in lay.tables:
        b = DebugBuilder(t.air, main[t.index], pre.get(t.index), pubs[t.index])
        t.air.eval(b)
        for label, rows in b.failures:
            problems.append(f"chip {t.air.name!r} (table {t.index}): constraint at {label} "
                            f"fails on rows {rows}")
    if problems:
        raise ProverError("constraints do not hold:\n  " + "\n  ".join(problems[:20]))


def _signed(v: np.ndarray) -> np.ndarray:
    v = v.astype(np.uint64)
    return np.where(v > np.uint64(P // 2), -(np.uint64(P) - v).astype(np.int64), v.astype(np.int64))


def check_bus(lay: StarkLayout, main: dict, pre: dict, pubs: list[list[int]],
              bus_terms: list) -> None:
    width = 1 + max([lay.max_tuple] + [len(v) for _, v, _ in bus_terms])
    keys, mults, origin = [], [], []
    for t in lay.tables:
        if not t.n_perm:
            continue
        n = t.n
        tr = main[t.index]
        p = pre.get(t.index)
        b = ArrayBuilder(t.air, tr, np.roll(tr, -1, axis=1), p,
                         None if p is None else np.roll(p, -1, axis=1),
                         pubs[t.index], trace_selectors(t.log_n), None)
        t.air.eval(b)
        for j, it in enumerate(b.interactions):
            k = np.full((n, width + 1), np.uint64(P), dtype=np.uint64)  # P: "no entry"
            k[:, 0] = it.bus
            for c, v in enumerate(it.values):
                k[:, 1 + c] = np.broadcast_to(FA.lift(v).v, (n,))
            k[:, -1] = len(it.values)
            m = _signed(np.broadcast_to(FA.lift(it.multiplicity).v, (n,))) * it.sign
            keep = m != 0
            keys.append(k[keep])
            mults.append(m[keep])
            origin.extend([f"{t.air.name}#{j}"] * int(keep.sum()))
    for bus, vals, m in bus_terms:
        k = np.full((1, width + 1), np.uint64(P), dtype=np.uint64)
        k[0, 0] = bus
        k[0, 1:1 + len(vals)] = [v % P for v in vals]
        k[0, -1] = len(vals)
        keys.append(k)
        mults.append(np.array([m], np.int64))
        origin.append("public")
    if not keys:
        return
    allk = np.concatenate(keys)
    allm = np.concatenate(mults)
    uniq, inv = np.unique(allk, axis=0, return_inverse=True)
    net = np.zeros(len(uniq), np.int64)
    np.add.at(net, inv.ravel(), allm)
    bad = np.flatnonzero(net != 0)
    if bad.size:
        lines = []
        for u in bad[:10]:
            row = uniq[u]
            n_vals = int(row[-1])
            src = sorted({origin[i] for i in np.flatnonzero(inv.ravel() == u)[:50]})
            lines.append(f"bus {int(row[0])} tuple {[int(x) for x in row[1:1 + n_vals]]}: "
                         f"net multiplicity {int(net[u])} (from {', '.join(src)})")
        raise ProverError(f"the bus does not balance ({bad.size} tuples):\n  " + "\n  ".join(lines))
