"""``relu x``: ``y = max(x, 0)`` by sign decomposition (docs/isa.md; DESIGN.md "Fixed point").

One row per element. The row receives ``(addr_x, x)``, holds the sign bit
``s`` (the event's ``neg``: 1 where ``x < 0``), asserts ``s`` boolean and
``y = (1 - s)·x``, and sends ``(addr_y, y)`` with the element's read count.

The sign must be honest, or ``y`` could be 0 for a positive ``x`` (or ``x``
for a negative one). With ``B`` the input's declared width, the row defines

    u = (1 - 2s)·x - s          (s = 0: u = x;  s = 1: u = -x - 1)

as a main column (so its lookup tuple has degree 1) and range-checks
``0 <= u < 2^(B-1)`` exactly. Hence ``s = 0`` forces ``0 <= x < 2^(B-1)`` and
``s = 1`` forces ``-2^(B-1) <= x < 0``: the two cases are disjoint intervals
well inside the field, so for a given ``x`` only the true sign satisfies the
row. For ``B - 1 > 16``, ``u`` is held as 16-bit limbs with the top limb
checked to its exact width (``Bounded`` from the divide chip). ``y`` needs no
range check: it is ``x`` or 0.

Preprocessed: ``addr_x, addr_y, mult, on``. Main: ``x, s, y, u`` (or
``u_limbs``). Padding rows are all zero (a solution) and look up / send
nothing.
"""

from __future__ import annotations

import numpy as np

from zkvm.air.chips.common import BUS_MEM, EventChip, pad_columns, rows_with_on
from zkvm.air.chips.gadgets import Bounded
from zkvm.air.chips.planner import planner
from zkvm.air.registry import register


@register
class ReluChip(EventChip):
    """params: ``bits``, the declared width ``B`` of the input (``2 <= B <= 63``)."""

    name = "relu"
    uses_range = True
    preprocessed_columns = ("addr_x", "addr_y", "mult", "on")

    def __init__(self, log_height: int, params: dict | None = None, data=None):
        bits = int((params or {})["bits"])
        if not 2 <= bits <= 63:
            raise ValueError(f"relu: input width {bits} out of [2, 63]")
        self.u = Bounded("u", 0, (1 << (bits - 1)) - 1)
        self.main_columns = ("x", "s", "y") + self.u.columns
        super().__init__(log_height, params, data)

    def eval(self, b):
        m, pre = b.main, b.pre
        u = self.u.expr(m)
        b.assert_bool(m.s, "sign bit s is 0 or 1")
        b.assert_eq(m.y, (1 - m.s) * m.x, "y = (1 - s) x")
        b.assert_eq(u, (1 - 2 * m.s) * m.x - m.s, "u = (1 - 2s) x - s")
        self.u.check(b, m, pre.on)
        b.receive(BUS_MEM, [pre.addr_x, m.x], pre.on)
        b.send(BUS_MEM, [pre.addr_y, m.y], pre.mult)

    def preprocessed_trace(self):
        return rows_with_on(self.data, ["addr_x", "addr_y", "mult"], self.n_rows)

    def trace(self, ex, event) -> np.ndarray:
        x = ex.values[event.inputs[0]].ravel().astype(np.int64)
        s = event.aux["neg"].ravel().astype(np.int64)
        y = ex.values[event.output].ravel()
        u = np.where(s == 1, -x - 1, x)
        return pad_columns([x, s, y] + self.u.trace_columns(u), self.n_rows)

    def range_values(self, main: np.ndarray) -> list[np.ndarray]:
        return self.u.lookups(main, self.main_layout, self.data["addr_y"].size)


@planner("relu")
def plan_relu(ctx, idx, ins):
    prog = ctx.program
    bits = int(prog.tensors[ins.inputs[0]].bits)
    ax = np.asarray(prog.addresses(ins.inputs[0]), dtype=np.int64).ravel()
    ay = np.asarray(prog.addresses(ins.output), dtype=np.int64).ravel()
    chip = ReluChip(ctx.log_height(ay.size), {"bits": bits},
                    {"addr_x": ax, "addr_y": ay, "read_addrs": ax, "write_addrs": ay})
    chip.source = idx
    return [chip]
