"""``rescale x, k`` and ``div x, d``: division by a constant, rounding half up.

docs/isa.md: ``q = floor((x + c) / D)`` with ``D = 2^k, c = 2^(k-1)``
(``rescale``) or ``D = d, c = floor(d/2)`` (``div``), and the remainder
``r = x + c - q·D`` in ``[0, D)`` (the event's ``r``). DESIGN.md: "division by
a constant or a power of two uses a quotient and a range-checked remainder".

One row per element. The row receives ``(addr_x, x)``, holds the witnesses
``q`` and ``r`` and asserts ``x + c = q·D + r`` (degree 1), then sends
``(addr_q, q)`` with the element's read count. Two range checks make the
integer quotient the *only* solution:

* ``0 <= r <= D - 1`` exactly (``check_upto`` when ``D <= 2^16``; 16-bit limbs
  when ``D = 2^k > 2^16``; ``div`` by ``d > 2^16`` is refused);
* ``lo <= q <= hi``, the output tensor's declared range (one lookup pair when
  ``hi - lo < 2^16``, otherwise 16-bit limbs of ``q - lo`` with the top limb
  checked to its exact width: declared ranges span ``2^N`` values).

Why the ``q`` check is needed: over F_p the equation alone has a solution
for *every* ``r'`` in ``[0, D)``: ``q' = (x + c - r')·D^-1 mod p``. All but one
of these ``q'`` are huge field elements, and only the range check on ``q``
rules them out. With both checks two solutions differ by
``(q - q')·D + (r - r')``, of magnitude at most ``(hi - lo + 1)·D - 1``, which
the planner requires to be below ``p``: then the integer equation holds and
``(q, r)`` is the integer division (DESIGN.md checklist 8). A program whose
output range is too wide for its divisor is refused with a StatementError.

Preprocessed: ``addr_x, addr_q, mult, on``. Main: ``x``, ``q`` (or
``q_limbs``), ``r`` (or ``r_limbs``). Padding rows hold ``x = 0, q = 0, r = c``
(a solution of the row constraint) and look up / send nothing.

``Bounded`` (a value held with an exact range check, as one column or as
16-bit limbs) lives in :mod:`zkvm.air.chips.gadgets`, shared with relu and
the private weights table.
"""

from __future__ import annotations

import numpy as np

from zkvm.air.chips.common import BUS_MEM, EventChip, pad_columns, rows_with_on
from zkvm.air.chips.gadgets import LIMB, Bounded
from zkvm.air.chips.planner import StatementError, planner
from zkvm.air.registry import register
from zkvm.field.scalar import P

@register
class DivideChip(EventChip):
    """params: ``op`` (rescale/div), ``D`` (divisor), ``c`` (rounding offset), ``lo``, ``hi``."""

    name = "divide"
    uses_range = True
    preprocessed_columns = ("addr_x", "addr_q", "mult", "on")

    def __init__(self, log_height: int, params: dict | None = None, data=None):
        p = params or {}
        self.q = Bounded("q", int(p["lo"]), int(p["hi"]))
        self.r = Bounded("r", 0, int(p["D"]) - 1)
        self.main_columns = ("x",) + self.q.columns + self.r.columns
        super().__init__(log_height, params, data)

    def eval(self, b):
        m, pre = b.main, b.pre
        D, c = self.params["D"], self.params["c"]
        q, r = self.q.expr(m), self.r.expr(m)
        b.assert_eq(m.x + c, q * D + r, "x + c = q*D + r")
        self.r.check(b, m, pre.on)
        self.q.check(b, m, pre.on)
        b.receive(BUS_MEM, [pre.addr_x, m.x], pre.on)
        b.send(BUS_MEM, [pre.addr_q, q], pre.mult)

    def preprocessed_trace(self):
        return rows_with_on(self.data, ["addr_x", "addr_q", "mult"], self.n_rows)

    def trace(self, ex, event) -> np.ndarray:
        n = self.n_rows
        k = ex.values[event.output].size
        x = np.zeros(n, np.int64)
        q = np.zeros(n, np.int64)
        r = np.full(n, self.params["c"], np.int64)  # padding rows: 0 + c = 0*D + c
        x[:k] = ex.values[event.inputs[0]].ravel()
        q[:k] = ex.values[event.output].ravel()
        r[:k] = event.aux["r"].ravel()
        cols = [x] + self.q.trace_columns(q) + self.r.trace_columns(r)
        return pad_columns(cols, n)

    def range_values(self, main: np.ndarray) -> list[np.ndarray]:
        k = self.data["addr_q"].size
        return self.r.lookups(main, self.main_layout, k) + self.q.lookups(main, self.main_layout, k)


@planner("rescale", "div")
def plan_divide(ctx, idx, ins):
    prog = ctx.program
    where = f"instruction {idx} {ins.describe()}"
    if ins.op == "rescale":
        k = int(ins.attrs["k"])
        D, c = 1 << k, 1 << (k - 1)
    else:
        D = int(ins.attrs["d"])
        c = D // 2
        if D > LIMB:
            raise StatementError(
                f"{where}: division by {D} > 2^16 is not supported (its remainder would need "
                "a two-limb range check with a non power-of-two bound); divide in steps, or by "
                "a power of two with 'rescale'")
    out = prog.tensors[ins.output]
    lo, hi = int(out.lo), int(out.hi)
    if (hi - lo + 1) * D >= P:
        raise StatementError(
            f"{where}: the output range [{lo}, {hi}] times the divisor {D} reaches the field "
            f"size, so the quotient would not be unique; declare the output narrower "
            f"(e.g. '{ins.output} : i16 = ...')")
    ax = np.asarray(prog.addresses(ins.inputs[0]), dtype=np.int64).ravel()
    aq = np.asarray(prog.addresses(ins.output), dtype=np.int64).ravel()
    chip = DivideChip(ctx.log_height(aq.size), {"op": ins.op, "D": D, "c": c, "lo": lo, "hi": hi},
                      {"addr_x": ax, "addr_q": aq, "read_addrs": ax, "write_addrs": aq})
    chip.source = idx
    return [chip]
