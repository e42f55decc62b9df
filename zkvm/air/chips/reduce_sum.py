"""``sum x, axes, keepdims``: each output element is the sum of a group of input elements.

docs/isa.md: ``y = x.sum(axes, keepdims)`` exactly (``mean`` and ``avgpool``
are expanded by the assembler into ``sum`` then ``div``).

Layout. The ``n`` inputs of one output element (a *group*) fill ``R`` rows of
``L`` lanes (``R = ceil(n / 8)``, ``L = ceil(n / R)``, so at most ``R - 1``
slots are spare); spare slots read address 0, the constant 0, whose value
the verifier supplies on the bus. Each row receives ``(addr_i, x_i)`` for
every lane and keeps a running total

    acc = start·0 + (1 - start)·acc_prev + sum_i x_i

with ``start`` a preprocessed selector that is 1 on the first row of each
group (and on padding rows): as constraints, ``acc = sum_i x_i`` on the first
row and ``acc' = (1 - start')·acc + sum_i x_i'`` on every transition (degree
2). The group's last row sends ``(addr_y, acc)`` with the element's read
count (``mult`` is 0 on every other row), so no other row's partial sum can
reach the bus.

No range check is needed: the total is an exact sum of bus values, each in
its producer's checked range, and the assembler's interval analysis bounds
every partial sum in any order below 2^62 (``Program.acc_bounds``,
docs/isa.md "Bounds"), so no partial sum wraps modulo p (DESIGN.md
checklist 8).

Preprocessed: ``addr[L], addr_y, start, mult, on``. Main: ``x[L], acc``.
Padding rows (after the last group) have ``start = 1``, all zero values and
multiplicities 0.
"""

from __future__ import annotations

import numpy as np

from zkvm.air.chips.common import BUS_MEM, EventChip, pad_columns
from zkvm.air.chips.planner import StatementError, planner
from zkvm.air.registry import register

MAX_LANES = 8


def group_layout(n: int, max_lanes: int = MAX_LANES) -> tuple[int, int]:
    """``(rows, lanes)`` per group of ``n`` inputs: fewest rows, then fewest spare slots."""
    rows = -(-n // max_lanes)
    return rows, -(-n // rows)


def _grouped(a: np.ndarray, axes: list[int]) -> np.ndarray:
    """``a`` as ``(groups, n)``: kept axes first (row-major, as the output), reduced axes last."""
    rest = [i for i in range(a.ndim) if i not in axes]
    g = a.transpose(rest + list(axes))
    n = int(np.prod([a.shape[i] for i in axes], dtype=np.int64))
    return g.reshape(-1, n)


def _slots(g: np.ndarray, rows: int, lanes: int) -> np.ndarray:
    """Pad each group to ``rows * lanes`` slots with 0, laid out as ``(groups * rows, lanes)``."""
    out = np.zeros((g.shape[0], rows * lanes), dtype=np.int64)
    out[:, : g.shape[1]] = g
    return out.reshape(-1, lanes)


@register
class SumChip(EventChip):
    """params: ``lanes`` (inputs per row)."""

    name = "sum"
    uses_range = False

    def __init__(self, log_height: int, params: dict | None = None, data=None):
        lanes = int((params or {})["lanes"])
        if not 1 <= lanes <= 64:
            raise ValueError(f"sum: {lanes} lanes out of [1, 64]")
        self.main_columns = (("x", lanes), "acc")
        self.preprocessed_columns = (("addr", lanes), "addr_y", "start", "mult", "on")
        super().__init__(log_height, params, data)

    def eval(self, b):
        m, nx, pre, pre_next = b.main, b.next, b.pre, b.pre_next
        row_sum = sum(m.x[1:], m.x[0])
        next_sum = sum(nx.x[1:], nx.x[0])
        b.when_first_row().assert_eq(m.acc, row_sum, "acc = sum x on the first row")
        b.when_transition().assert_eq(nx.acc, (1 - pre_next.start) * m.acc + next_sum,
                                      "acc' = (1 - start') acc + sum x'")
        for a, x in zip(pre.addr, m.x):
            b.receive(BUS_MEM, [a, x], pre.on)
        b.send(BUS_MEM, [pre.addr_y, m.acc], pre.mult)

    def preprocessed_trace(self):
        d = self.data
        n_rows, rows = self.n_rows, int(d["rows_per_group"])
        slots = d["slots"]                       # (groups * rows, lanes) addresses
        k = slots.shape[0]
        last = np.arange(rows - 1, k, rows)
        addr_y = np.zeros(k, np.int64)
        mult = np.zeros(k, np.int64)
        addr_y[last] = d["addr_y"]
        mult[last] = d["mult"]
        start = np.ones(n_rows, np.int64)
        start[:k] = (np.arange(k) % rows) == 0
        cols = list(slots.T) + [addr_y, start, mult, np.ones(k, np.int64)]
        return pad_columns(cols, n_rows)

    def trace(self, ex, event) -> np.ndarray:
        d = self.data
        rows, lanes = int(d["rows_per_group"]), self.params["lanes"]
        g = _grouped(np.asarray(ex.values[event.inputs[0]], dtype=np.int64), d["axes"])
        x = _slots(g, rows, lanes)
        acc = x.sum(axis=1).reshape(-1, rows).cumsum(axis=1).ravel()
        return pad_columns(list(x.T) + [acc], self.n_rows)


@planner("sum")
def plan_sum(ctx, idx, ins):
    prog = ctx.program
    axes = list(ins.attrs["axes"])
    ax = np.asarray(prog.addresses(ins.inputs[0]), dtype=np.int64)
    ay = np.asarray(prog.addresses(ins.output), dtype=np.int64).ravel()
    g = _grouped(ax, axes)
    if g.shape[1] == 0 or g.shape[0] != ay.size:
        raise StatementError(f"instruction {idx} {ins.describe()}: cannot lay out an empty "
                             "reduction")
    rows, lanes = group_layout(g.shape[1])
    slots = _slots(g, rows, lanes)
    chip = SumChip(ctx.log_height(slots.shape[0]), {"lanes": lanes},
                   {"slots": slots, "addr_y": ay, "axes": axes, "rows_per_group": rows,
                    "read_addrs": slots.ravel(), "write_addrs": ay})
    chip.source = idx
    return [chip]
