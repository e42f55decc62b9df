"""``add``, ``sub``, ``mul``: one row per output element (numpy broadcasting by address).

Row: receives ``(addr_a, a)`` and ``(addr_b, b)``, asserts ``y = a + b``,
``a - b`` or ``a * b``, sends ``(addr_y, y)`` with the element's read count.
Broadcasting is an address map: a broadcast operand's addresses repeat.
The outputs need no range check: they are exact integer functions of
bounded operands, and the assembler's interval analysis bounds them well
below p/2 (DESIGN.md checklist 8).

Preprocessed: ``addr_a, addr_b, addr_y, mult, on``. Main: ``a, b, y``.
Padding rows are all zero and send/receive nothing (``on = mult = 0``).
"""

from __future__ import annotations

import numpy as np

from zkvm.air.chips.common import BUS_MEM, EventChip, pad_columns, rows_with_on
from zkvm.air.chips.planner import planner
from zkvm.air.registry import register

_OPS = ("add", "sub", "mul")


@register
class ElementwiseChip(EventChip):
    """params: ``op`` in add/sub/mul."""

    name = "elementwise"
    main_columns = ("a", "b", "y")
    preprocessed_columns = ("addr_a", "addr_b", "addr_y", "mult", "on")

    def eval(self, b):
        m, p = b.main, b.pre
        op = self.params["op"]
        if op == "add":
            b.assert_eq(m.y, m.a + m.b)
        elif op == "sub":
            b.assert_eq(m.y, m.a - m.b)
        elif op == "mul":
            b.assert_eq(m.y, m.a * m.b)
        else:
            raise ValueError(f"elementwise op {op!r}")
        b.receive(BUS_MEM, [p.addr_a, m.a], p.on)
        b.receive(BUS_MEM, [p.addr_b, m.b], p.on)
        b.send(BUS_MEM, [p.addr_y, m.y], p.mult)

    def preprocessed_trace(self):
        return rows_with_on(self.data, ["addr_a", "addr_b", "addr_y", "mult"], self.n_rows)

    def trace(self, ex, event) -> np.ndarray:
        shape = ex.values[event.output].shape
        a = np.broadcast_to(ex.values[event.inputs[0]], shape)
        b = np.broadcast_to(ex.values[event.inputs[1]], shape)
        return pad_columns([a.ravel(), b.ravel(), ex.values[event.output].ravel()], self.n_rows)


@planner(*_OPS)
def plan_elementwise(ctx, idx, ins):
    prog = ctx.program
    shape = prog.tensors[ins.output].shape
    aa = np.broadcast_to(prog.addresses(ins.inputs[0]), shape).ravel()
    ab = np.broadcast_to(prog.addresses(ins.inputs[1]), shape).ravel()
    ay = prog.addresses(ins.output).ravel()
    c = ElementwiseChip(ctx.log_height(ay.size), {"op": ins.op},
                        {"addr_a": aa, "addr_b": ab, "addr_y": ay,
                         "read_addrs": np.concatenate([aa, ab]), "write_addrs": ay})
    c.source = idx
    return [c]
