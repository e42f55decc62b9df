"""Private weights on the bus, range-checked to their declared width (and packed for hashing).

The producer of ``private`` and ``hashed`` weights (docs/visibility.md): the
values are witness columns, so neither the program file nor the verifying key
holds them. Like ``InputChip`` for private inputs, every value is
range-checked *exactly* to its tensor's declared range (``Bounded``: one
lookup pair below 2^16 values, 16-bit limbs above, the top limb to its exact
width), because every bound the other chips rely on (the matmul accumulator
bound, DESIGN.md checklist 8) was computed from that width, not from the
values.

``lanes`` values a row (up to 16, or one packed group ``k`` when ``k > 16``:
weights of 3 bits or fewer): lane ``i`` holds the value at preprocessed
address ``addr[i]`` and sends ``(addr[i], v)`` with its read count
``mult[i]``. Range lookups have multiplicity ``on`` (1 on used rows). Spare
lanes (the end of a tensor, the last row) hold ``lo`` at address 0 with
``mult`` 0.

Packing (``pack = k > 0``; ``zkvm.isa.hidden.pack_tensor``). For hashed
weights the row also sends, for each group of ``k`` lanes, the packed element
``sum_j (v_j - lo) * 2^(N*j)`` (``N``: the declared width, so ``hi - lo + 1 =
2^N``, and ``k*N <= 63``) at preprocessed address ``paddr[g]`` with count
``pmult[g]``: the Poseidon2 chip absorbs these instead of the raw values, 3
i16 or 7 i8 weights per element. The range checks make the packing injective
(each ``v_j - lo`` lies in ``[0, 2^N)`` and the sum stays below ``2^63 < p``),
so the commitment binds every value. Each tensor starts a new group (its
lanes are padded to a multiple of ``k``); groups of private (not hashed)
tensors have ``pmult = 0``.

Cost per i16 value: 1 main column and 2 bus interactions (a range lookup and
the send) plus 1/3 of a packed send; i32 values add a limb and a lookup.
"""

from __future__ import annotations

import numpy as np

from zkvm.air.chips.common import BUS_MEM, VmChip, Witness, log_height_for, pad_columns
from zkvm.air.chips.gadgets import Bounded
from zkvm.air.registry import register

MAX_LANES = 16


def choose_lanes(n_lanes: int, k: int, zk: bool) -> int:
    """Lanes a row (a multiple of ``k``, at most 16 unless ``k`` is larger) minimising the
    padded committed cells.

    A lane costs about 3 committed columns (its value and, with LogUp, one per
    interaction), a row about 4 more (running sum, selectors); ties go to
    fewer rows.
    """
    best, best_cells = k, None   # k > 16 (weights of 3 bits or fewer): one group a row
    for lanes in range(k, MAX_LANES + 1, k):
        cells = (1 << log_height_for(-(-n_lanes // lanes), zk)) * (3 * lanes + 4)
        if best_cells is None or cells <= best_cells:
            best, best_cells = lanes, cells
    return best


@register
class PrivateWeightsChip(VmChip):
    """params: ``lo``, ``hi`` (declared range of every value), ``lanes``, ``pack`` (k or 0)."""

    name = "private_weights"
    uses_range = True

    def __init__(self, log_height: int, params: dict | None = None, data: dict | None = None):
        p = dict(params or {})
        try:
            lo, hi, lanes, pack = int(p["lo"]), int(p["hi"]), int(p["lanes"]), int(p["pack"])
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"private_weights params need ints lo, hi, lanes, pack, got {p}"
                             ) from None
        self.bits = (hi - lo + 1).bit_length() - 1
        if not 1 <= lanes <= max(MAX_LANES, pack) or hi < lo:
            raise ValueError(f"private_weights: lanes must be in 1..{max(MAX_LANES, pack)}, "
                             f"got {lanes}")
        if pack and (lanes % pack or (1 << self.bits) != hi - lo + 1 or pack * self.bits > 63):
            raise ValueError(f"private_weights: cannot pack {pack} values of range [{lo}, {hi}] "
                             f"in {lanes} lanes")
        self.values = [Bounded(f"v{i}", lo, hi) for i in range(lanes)]
        self.lo, self.n_lanes, self.pack = lo, lanes, pack
        self.n_groups = lanes // pack if pack else 0
        self.main_columns = tuple(c for v in self.values for c in v.columns)
        pre: list = [("addr", lanes), ("mult", lanes), "on"]
        if pack:
            pre += [("paddr", self.n_groups), ("pmult", self.n_groups)]
        self.preprocessed_columns = tuple(pre)
        super().__init__(log_height, p, data)

    def eval(self, b):
        m, p = b.main, b.pre
        exprs = []
        for i, v in enumerate(self.values):
            v.check(b, m, p.on)
            e = v.expr(m)
            exprs.append(e)
            b.send(BUS_MEM, [p.addr[i], e], p.mult[i])
        for g in range(self.n_groups):
            packed = 0
            for j in range(self.pack):
                packed = packed + (exprs[g * self.pack + j] - self.lo) * (1 << (self.bits * j))
            b.send(BUS_MEM, [p.paddr[g], packed], p.pmult[g])

    # --- setup-time data ---------------------------------------------------
    @property
    def n_used(self) -> int:
        """Rows holding values (the last one may have spare lanes)."""
        return -(-int(self.data["lane_addrs"].size) // self.n_lanes)

    def _lanes(self, flat: np.ndarray, width: int, fill: int) -> list[np.ndarray]:
        """Flat per-slot array -> ``width`` columns of ``n_rows``."""
        out = np.full(self.n_rows * width, fill, dtype=np.int64)
        out[:flat.size] = flat
        return list(out.reshape(self.n_rows, width).T)

    def _split_mult(self) -> tuple[np.ndarray, np.ndarray]:
        """Read counts (set by the framework on ``write_addrs``) per lane and per group."""
        d = self.data
        lane, pk = d["lane_addrs"], d.get("pack_addrs", np.zeros(0, np.int64))
        mult = np.asarray(d.get("mult", np.ones(d["write_addrs"].size, np.int64)), np.int64)
        n_real = int(np.count_nonzero(lane))
        lm = np.zeros(lane.size, np.int64)
        lm[lane != 0] = mult[:n_real]
        pm = np.zeros(pk.size, np.int64)
        pm[pk != 0] = mult[n_real:]
        return lm, pm

    def preprocessed_trace(self) -> np.ndarray:
        d = self.data
        lm, pm = self._split_mult()
        on = np.zeros(self.n_rows, np.int64)
        on[:self.n_used] = 1
        cols = (self._lanes(d["lane_addrs"], self.n_lanes, 0)
                + self._lanes(lm, self.n_lanes, 0) + [on])
        if self.pack:
            cols += (self._lanes(d["pack_addrs"], self.n_groups, 0)
                     + self._lanes(pm, self.n_groups, 0))
        return pad_columns(cols, self.n_rows)

    # --- witness -----------------------------------------------------------
    def trace_values(self, lane_values: np.ndarray) -> np.ndarray:
        """Main trace from the per-lane values (int64, signed; spare lanes hold ``lo``)."""
        cols: list[np.ndarray] = []
        for v, lane in zip(self.values, self._lanes(np.asarray(lane_values).ravel(),
                                                    self.n_lanes, self.lo)):
            cols += v.trace_columns(lane)
        return pad_columns(cols, self.n_rows)

    def witness(self, w: Witness) -> np.ndarray:
        """The values of the tensors this table produces, in its lane layout."""
        ex = w.execution
        d = self.data
        flat = np.full(d["lane_addrs"].size, self.lo, dtype=np.int64)
        for n, start in zip(d["names"], d["starts"]):
            v = np.asarray(ex.values[n], dtype=np.int64).ravel()
            flat[start:start + v.size] = v
        return self.trace_values(flat)

    def range_values(self, main: np.ndarray) -> list[np.ndarray]:
        out: list[np.ndarray] = []
        for v in self.values:
            out += v.lookups(main, self.main_layout, self.n_used)
        return out


def plan_private_weights(ctx, names: list[str], packed: dict[str, np.ndarray] | None = None
                         ) -> list[PrivateWeightsChip]:
    """One table per declared range, producing the hidden weights ``names``.

    Args:
        names: the private and hashed weights.
        packed: for hashed weights, the addresses of their packed elements
            (``zkvm.air.chips.hashed``); those tables pack.

    Addresses come from the program (each tensor's contiguous range); the
    framework sets the read counts from ``write_addrs`` (lane addresses, then
    packed addresses).
    """
    from zkvm.isa.hidden import pack_factor

    prog, packed = ctx.program, packed or {}
    groups: dict[tuple[int, int], list[str]] = {}
    for n in names:
        t = prog.tensors[n]
        groups.setdefault((int(t.lo), int(t.hi)), []).append(n)
    chips = []
    for (lo, hi), group in groups.items():
        bits = prog.tensors[group[0]].bits
        k = pack_factor(bits) if any(n in packed for n in group) else 0
        step = k or 1
        lane_addrs, pack_addrs, starts, pos = [], [], [], 0
        for n in group:
            size = prog.tensors[n].size
            slots = -(-size // step) * step
            a = np.zeros(slots, np.int64)
            a[:size] = np.arange(prog.base(n), prog.base(n) + size, dtype=np.int64)
            lane_addrs.append(a)
            starts.append(pos)
            pos += slots
            if k:
                pa = packed.get(n)
                pack_addrs.append(np.zeros(slots // k, np.int64) if pa is None else pa)
        lane = np.concatenate(lane_addrs)
        pk = np.concatenate(pack_addrs) if k else np.zeros(0, np.int64)
        lanes = choose_lanes(lane.size, step, ctx.zk)
        rows = -(-lane.size // lanes)
        data = {"names": list(group), "starts": starts, "lane_addrs": lane, "pack_addrs": pk,
                "write_addrs": np.concatenate([lane[lane != 0], pk[pk != 0]])}
        chip = PrivateWeightsChip(ctx.log_height(rows),
                                  {"lo": lo, "hi": hi, "lanes": lanes, "pack": k}, data)
        chip.source = tuple(group)
        chips.append(chip)
    return chips
