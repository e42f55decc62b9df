"""Private weights on the memory bus, range-checked to their declared width.

The producer of ``private`` and ``hashed`` weights (docs/visibility.md): the
values are witness columns, so neither the program file nor the verifying key
holds them. Like ``InputChip`` for private inputs, every value is
range-checked *exactly* to its tensor's declared range (``Bounded``: one
lookup pair below 2^16 values, 16-bit limbs above, the top limb to its exact
width), because every bound the other chips rely on (the matmul accumulator
bound, DESIGN.md checklist 8) was computed from that width, not from the
values. A hashed weight is also read by the Poseidon2 chip, which binds the
same addresses to the public model commitment.

``lanes`` values a row (up to 8): row ``r``, lane ``i`` holds the value at
preprocessed address ``addr[i]`` and sends ``(addr[i], v)`` with its read
count ``mult[i]``. Range lookups have multiplicity ``on`` (1 on used rows,
including the spare lanes of the last used row, which hold ``lo`` at address
0 with ``mult`` 0). Padding rows (``on = 0``) look up and send nothing.

Cost per value (i16): 1 main column, 2 bus interactions (one range lookup,
one send), so about 3 committed base cells with LogUp; wider values add a
limb and a lookup per 16 bits.
"""

from __future__ import annotations

import numpy as np

from zkvm.air.chips.common import BUS_MEM, VmChip, pad_columns
from zkvm.air.chips.divide import Bounded
from zkvm.air.registry import register

MAX_LANES = 8


def lanes_for(count: int) -> int:
    """Values per row: 8 for large tensors, fewer so that small ones stay near 64 rows."""
    return max(1, min(MAX_LANES, count // 64))


@register
class PrivateWeightsChip(VmChip):
    """params: ``lo``, ``hi`` (declared range of every value), ``lanes`` (values a row)."""

    name = "private_weights"
    uses_range = True

    def __init__(self, log_height: int, params: dict | None = None, data: dict | None = None):
        p = dict(params or {})
        try:
            lo, hi, lanes = int(p["lo"]), int(p["hi"]), int(p["lanes"])
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"private_weights params need ints lo, hi, lanes, got {p}") from None
        if not 1 <= lanes <= MAX_LANES:
            raise ValueError(f"private_weights: lanes must be in 1..{MAX_LANES}, got {lanes}")
        self.values = [Bounded(f"v{i}", lo, hi) for i in range(lanes)]
        self.lo, self.n_lanes = lo, lanes
        self.main_columns = tuple(c for v in self.values for c in v.columns)
        self.preprocessed_columns = (("addr", lanes), ("mult", lanes), "on")
        super().__init__(log_height, p, data)

    def eval(self, b):
        m, p = b.main, b.pre
        for i, v in enumerate(self.values):
            v.check(b, m, p.on)
            b.send(BUS_MEM, [p.addr[i], v.expr(m)], p.mult[i])

    # --- setup-time data ---------------------------------------------------
    @property
    def n_used(self) -> int:
        """Rows holding values (the last one may have spare lanes)."""
        return -(-int(self.data["write_addrs"].size) // self.n_lanes)

    def _lanes(self, flat: np.ndarray, fill: int) -> list[np.ndarray]:
        """Flat per-value array -> one column per lane (``n_rows`` each)."""
        out = np.full(self.n_rows * self.n_lanes, fill, dtype=np.int64)
        out[:flat.size] = flat
        return list(out.reshape(self.n_rows, self.n_lanes).T)

    def preprocessed_trace(self) -> np.ndarray:
        d = self.data
        k = d["write_addrs"].size
        mult = np.asarray(d.get("mult", np.ones(k, np.int64)), dtype=np.int64)
        on = np.zeros(self.n_rows, np.int64)
        on[:self.n_used] = 1
        return pad_columns(self._lanes(d["write_addrs"], 0) + self._lanes(mult, 0) + [on],
                           self.n_rows)

    # --- witness -----------------------------------------------------------
    def trace_values(self, values: np.ndarray) -> np.ndarray:
        """Main trace from the values in address order (int64, signed)."""
        cols: list[np.ndarray] = []
        for v, lane in zip(self.values, self._lanes(np.asarray(values).ravel(), self.lo)):
            cols += v.trace_columns(lane)
        return pad_columns(cols, self.n_rows)

    def trace_from_execution(self, ex, statement=None) -> np.ndarray:
        """The VM hook: the values of the tensors this table produces (``data["names"]``)."""
        return self.trace_values(np.concatenate(
            [np.asarray(ex.values[n], dtype=np.int64).ravel() for n in self.data["names"]]))

    def range_values(self, main: np.ndarray) -> list[np.ndarray]:
        out: list[np.ndarray] = []
        for v in self.values:
            out += v.lookups(main, self.main_layout, self.n_used)
        return out


def plan_private_weights(ctx, names: list[str]) -> list[PrivateWeightsChip]:
    """One table per declared range, producing the hidden weights ``names``.

    Addresses come from the program (each tensor's contiguous range); the
    framework sets the read counts (``data["mult"]``) from ``write_addrs``.
    """
    prog = ctx.program
    groups: dict[tuple[int, int], list[str]] = {}
    for n in names:
        t = prog.tensors[n]
        groups.setdefault((int(t.lo), int(t.hi)), []).append(n)
    chips = []
    for (lo, hi), group in groups.items():
        addrs = np.concatenate([np.arange(prog.base(n), prog.base(n) + prog.tensors[n].size,
                                          dtype=np.int64) for n in group])
        lanes = lanes_for(addrs.size)
        rows = -(-addrs.size // lanes)
        chip = PrivateWeightsChip(ctx.log_height(rows), {"lo": lo, "hi": hi, "lanes": lanes},
                                  {"names": list(group), "write_addrs": addrs})
        chip.source = tuple(group)
        chips.append(chip)
    return chips
