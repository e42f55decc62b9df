"""``lut``: a preprocessed function table and one consumer chip per instruction.

Semantics (docs/isa.md ``lut``): ``c = clamp(x, lo, hi)``, ``y = table[c - lo]``.

**Table** (``LutTable``, one per distinct ``(lo, hi, table)`` of the program,
shared by every ``lut`` instruction using it): preprocessed ``x = lo + i`` and
``y = table[i]``; the only witness is the multiplicity column ``mult`` (how
many lookups hit each entry; the prover's counts, from the events' ``index``
arrays). Each row receives ``(table_id, x, y)`` on ``BUS_LUT`` ``mult`` times
(LogUp, Haböck eprint 2022/1530). Padding rows repeat the last entry, so
whatever multiplicity the prover puts there only offers a true pair.
``table_id`` (the index of the first instruction using the table) is a
constant of both chips' params (in the verifying key), not a column.

**Consumer** (``LutChip``, one row per element): receives ``(addr_x, x)``,
sends ``(table_id, xc, y)`` on ``BUS_LUT`` and ``(addr_y, y)`` on the memory
bus. The clamp is proved with two boolean selectors ``below``/``above``
(never both):

* ``xc = x + below (lo - x) + above (hi - x)``;
* ``d = below (lo - 1 - x) + above (x - hi - 1)`` is range-checked to
  ``[0, bound]``: ``below`` forces ``x <= lo - 1``, ``above`` forces
  ``x >= hi + 1``; with neither, ``xc = x`` and the table lookup itself proves
  ``lo <= x <= hi`` (the table holds exactly ``lo..hi``).

``bound`` comes from the input's worst-case interval ``[a, b]``:
``max(lo - 1 - a, b - hi - 1, 0)``; ``d`` is kept as 16-bit limbs (columns
``d``; one limb below 2^16, at most three: see ``maximum.bound_limbs``).
"""

from __future__ import annotations

import numpy as np

from zkvm.air.chips.common import (
    BUS_LUT, BUS_MEM, EventChip, VmChip, Witness, field, pad_columns, rows_with_on,
)
from zkvm.air.chips.gadgets import bound_limbs, bounded_lookups, check_bounded, split_limbs
from zkvm.air.chips.planner import planner
from zkvm.air.registry import register


@register
class LutTable(VmChip):
    """``(table_id, lo + i, table[i])`` received with the lookup counts. params: ``table_id``."""

    name = "lut_table"
    main_columns = ("mult",)
    preprocessed_columns = ("x", "y")

    def eval(self, b):
        b.receive(BUS_LUT, [self.params["table_id"], b.pre.x, b.pre.y], b.main.mult)

    def preprocessed_trace(self):
        d = self.data
        t = np.asarray(d["table"], dtype=np.int64)
        x = d["lo"] + np.arange(t.size, dtype=np.int64)
        return np.stack([_pad_last(field(x), self.n_rows), _pad_last(field(t), self.n_rows)])

    def witness(self, w: Witness) -> np.ndarray:
        """Multiplicities: how often each entry is looked up by this table's instructions."""
        ex = w.execution
        n = np.asarray(self.data["table"]).size
        want = set(self.data["sources"])
        counts = np.zeros(n, dtype=np.int64)
        for e in ex.events:
            if e.index in want:
                counts += np.bincount(np.asarray(e.aux["index"], np.int64).ravel(), minlength=n)
        return pad_columns([counts], self.n_rows)


def _pad_last(col: np.ndarray, n: int) -> np.ndarray:
    out = np.empty(n, dtype=np.uint64)
    out[: col.size] = col
    out[col.size:] = col[-1]
    return out


@register
class LutChip(EventChip):
    """Clamp then look up. params: ``lo``, ``hi``, ``table_id``, ``bound``, ``limbs``."""

    name = "lut"
    preprocessed_columns = ("addr_x", "addr_y", "mult", "on")
    uses_range = True

    def __init__(self, log_height: int, params: dict | None = None, data: dict | None = None):
        n = int((params or {}).get("limbs", 1))
        self.main_columns = ("x", "y", "xc", "below", "above", ("d", n))
        super().__init__(log_height, params, data)

    def eval(self, b):
        m, p = b.main, b.pre
        lo, hi = self.params["lo"], self.params["hi"]
        b.assert_bool(m.below)
        b.assert_bool(m.above)
        b.assert_zero(m.below * m.above, "lut: not both below and above the range")
        b.assert_eq(m.xc, m.x + m.below * (lo - m.x) + m.above * (hi - m.x),
                    "lut: xc is x clamped to [lo, hi]")
        dist = m.below * (lo - 1 - m.x) + m.above * (m.x - hi - 1)
        check_bounded(b, dist, m.d, self.params["bound"], p.on)
        b.receive(BUS_MEM, [p.addr_x, m.x], p.on)
        b.send(BUS_LUT, [self.params["table_id"], m.xc, m.y], p.on)
        b.send(BUS_MEM, [p.addr_y, m.y], p.mult)

    def preprocessed_trace(self):
        return rows_with_on(self.data, ["addr_x", "addr_y", "mult"], self.n_rows)

    def trace(self, ex, event) -> np.ndarray:
        lo, hi = self.params["lo"], self.params["hi"]
        x = ex.values[event.inputs[0]].ravel()
        xc = lo + np.asarray(event.aux["index"], np.int64).ravel()
        below = (x < xc).astype(np.int64)
        above = (x > xc).astype(np.int64)
        dist = below * (lo - 1 - x) + above * (x - hi - 1)
        limbs = split_limbs(dist, self.params["limbs"])
        return pad_columns([x, ex.values[event.output].ravel(), xc, below, above] + limbs,
                           self.n_rows)

    def range_values(self, main: np.ndarray) -> list[np.ndarray]:
        from zkvm.field.kernels import to_signed

        k = self.data["addr_y"].size
        limbs = [to_signed(r) for r in main[self.main_layout.index("d"), :k]]
        return bounded_lookups(limbs, self.params["bound"])


@planner("lut")
def plan_lut(ctx, idx, ins):
    """A consumer per instruction; a table per distinct ``(lo, hi, table)`` (shared)."""
    prog = ctx.program
    lo, hi = int(ins.attrs["lo"]), int(ins.attrs["hi"])
    table = np.asarray(ins.attrs["table"], dtype=np.int64)
    # tables already made for this statement (planners run in program order on one ctx)
    tables = ctx.__dict__.setdefault("_lut_tables", {})
    key = (lo, hi, table.tobytes())
    out = []
    tab = tables.get(key)
    if tab is None:
        tab = LutTable(ctx.log_height(table.size), {"table_id": idx},
                       {"lo": lo, "table": table, "sources": []})
        tables[key] = tab
        out.append(tab)
    tab.data["sources"].append(idx)
    a, b = prog.intervals[ins.inputs[0]]
    bound = max(lo - 1 - int(a), int(b) - hi - 1, 0)
    ax = prog.addresses(ins.inputs[0]).ravel()
    ay = prog.addresses(ins.output).ravel()
    c = LutChip(ctx.log_height(ay.size),
                {"lo": lo, "hi": hi, "table_id": tab.params["table_id"], "bound": bound,
                 "limbs": bound_limbs(bound, f"instruction {idx} {ins.describe()}")},
                {"addr_x": ax, "addr_y": ay, "read_addrs": ax, "write_addrs": ay})
    c.source = idx
    out.append(c)
    return out
