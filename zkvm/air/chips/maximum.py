"""``max`` (reduction) and ``argmax``: one row per input element, groups contiguous.

Design (docs/isa.md ``max``/``argmax``; DESIGN.md "ReLU and max use sign
decomposition with range checks"). The input is laid out group by group
(``x.transpose(rest + axes).reshape(n_groups, G)``, the VM's order), one
element per row. Each row carries the group's claimed maximum ``m`` (equal on
all rows of a group), a boolean ``is_arg`` marking the chosen row and a
running count ``cnt`` of chosen rows since the group's first row:

* ``is_arg * (x - m) = 0`` — the chosen row holds ``m``;
* ``cnt`` restarts at each group and adds ``is_arg``; on the group's last
  row ``cnt = 1`` — exactly one chosen row, so ``m`` *is* an element;
* a range check ``0 <= gap <= bound`` on every real row, where for ``max``
  ``gap = m - x`` (so ``m >= x``) and for ``argmax``
  ``gap = m - x - (1 - cnt)``: rows before the chosen one (``cnt = 0``) need
  ``x <= m - 1`` (strictly smaller), rows from it on ``x <= m``. So ``m`` is
  the maximum and the chosen row is its *first* occurrence.
* ``argmax`` also keeps ``r``, the running count of rows before the chosen
  one (``r += 1 - cnt``); on the group's last row ``r`` is the index sent.

``bound`` is the width of the input's worst-case interval (``hi - lo``, from
the assembler's interval analysis, which every producer's chip enforces and
private inputs are range-checked to): ``0 <= gap <= bound`` holds for the
honest witness and, with ``bound < 2^48``, a field value passing it is a
true non-negative integer (no wrap-around), which is all soundness needs.
Bounds of 2^16 or more are split into 16-bit limbs (columns ``lim``).

This was preferred to a running-max chain (``acc' = max(acc, x')`` with a
selector bit): the chain needs a difference column and a range check per row
as well, plus a selector, and its ``argmax`` needs extra tie handling; here
the ``max`` gap is a degree-1 expression looked up directly, with no column.

Cost per input element: main ``x, m, is_arg, cnt`` (+ ``r`` for argmax,
+ limbs for wide inputs), one memory receive, 1-2 range lookups; one memory
send per group (preprocessed multiplicity on the group's last row).

Preprocessed: ``addr_x, addr_y`` (the group's output address on all its
rows), ``mult`` (read count, on the group's last row only), ``on`` (real
row), ``same`` (the next row is in the same group). Padding rows: all zero
except ``is_arg = cnt = 1`` (so every constraint holds there unconditioned).
"""

from __future__ import annotations

import math

import numpy as np

from zkvm.air.chips.common import BUS_MEM, EventChip, pad_columns
from zkvm.air.chips.gadgets import bound_limbs, bounded_lookups, check_bounded, split_limbs
from zkvm.air.chips.planner import planner
from zkvm.air.registry import register

# ---------------------------------------------------------------- the chips
class _GroupMax(EventChip):
    """Shared by ``max`` and ``argmax``. params: ``bound``, ``limbs``."""

    base_columns: tuple = ("x", "m", "is_arg", "cnt")
    preprocessed_columns = ("addr_x", "addr_y", "mult", "on", "same")
    uses_range = True

    def __init__(self, log_height: int, params: dict | None = None, data: dict | None = None):
        n = int((params or {}).get("limbs", 1))
        self.main_columns = self.base_columns + ((("lim", n),) if n > 1 else ())
        super().__init__(log_height, params, data)

    def _gap(self, w):  # pragma: no cover - abstract
        raise NotImplementedError

    def eval(self, b):
        w, p, nx = b.main, b.pre, b.next
        b.assert_bool(w.is_arg)
        b.assert_zero(w.is_arg * (w.x - w.m), f"{self.name}: the chosen row holds the maximum")
        b.assert_zero(p.same * (nx.m - w.m), f"{self.name}: one maximum per group")
        b.when_first_row().assert_eq(w.cnt, w.is_arg)
        b.when_transition().assert_eq(nx.cnt, p.same * w.cnt + nx.is_arg,
                                      f"{self.name}: running count of chosen rows")
        b.assert_zero((p.on - p.same) * (w.cnt - 1), f"{self.name}: exactly one chosen row")
        limbs = w.lim if self.params["limbs"] > 1 else []
        check_bounded(b, self._gap(w), limbs, self.params["bound"], p.on)
        b.receive(BUS_MEM, [p.addr_x, w.x], p.on)
        b.send(BUS_MEM, [p.addr_y, self._out(b)], p.mult)

    def _out(self, b):
        return b.main.m

    def preprocessed_trace(self):
        d = self.data
        ng, g = d["addr_y"].size, int(d["group"])
        n = ng * g
        mult = np.zeros((ng, g), np.int64)
        mult[:, -1] = d["mult"]
        same = np.ones((ng, g), np.int64)
        same[:, -1] = 0
        return pad_columns([d["addr_x"], np.repeat(d["addr_y"], g), mult.ravel(),
                            np.ones(n, np.int64), same.ravel()], self.n_rows)

    def _columns(self, x: np.ndarray, m: np.ndarray, arg: np.ndarray) -> dict:
        """Honest witness columns from groups ``x (ng, G)``, maxima and chosen indices."""
        ng, g = x.shape
        is_arg = np.zeros((ng, g), np.int64)
        is_arg[np.arange(ng), arg] = 1
        cnt = np.cumsum(is_arg, axis=1)
        mm = np.repeat(m[:, None], g, axis=1)
        return {"x": x, "m": mm, "is_arg": is_arg, "cnt": cnt}

    def _finish(self, cols: dict, gap: np.ndarray) -> np.ndarray:
        names = list(self.base_columns)
        data = [cols[c].ravel() for c in names]
        if self.params["limbs"] > 1:
            data += split_limbs(gap.ravel(), self.params["limbs"])
        tr = pad_columns(data, self.n_rows)
        k = cols["x"].size
        tr[names.index("is_arg"), k:] = 1
        tr[names.index("cnt"), k:] = 1
        return tr

    def range_values(self, main: np.ndarray) -> list[np.ndarray]:
        from zkvm.field.kernels import to_signed

        k = self.data["addr_x"].size
        lay = self.main_layout
        if self.params["limbs"] > 1:
            limbs = [to_signed(r) for r in main[lay.index("lim"), :k]]
        else:
            col = {c: to_signed(main[lay.index(c), :k]) for c in self.base_columns}
            limbs = [self._gap_values(col)]
        return bounded_lookups(limbs, self.params["bound"])


@register
class MaxChip(_GroupMax):
    """``y = max x over axes``: ``m >= x`` on every row, ``m = x`` on the chosen one."""

    name = "max"

    def _gap(self, w):
        return w.m - w.x

    def _gap_values(self, c: dict) -> np.ndarray:
        return c["m"] - c["x"]

    def trace(self, ex, event) -> np.ndarray:
        x = ex.values[event.inputs[0]]
        axes = list(event.attrs["axes"])
        rest = [i for i in range(x.ndim) if i not in axes]
        g = x.transpose(rest + axes).reshape(self.data["addr_y"].size, -1)
        cols = self._columns(g, ex.values[event.output].ravel(), event.aux["arg"].ravel())
        return self._finish(cols, cols["m"] - cols["x"])


@register
class ArgmaxChip(_GroupMax):
    """``y = first index of the maximum``: earlier rows strictly below ``m``."""

    name = "argmax"
    base_columns = ("x", "m", "is_arg", "cnt", "r")

    def _gap(self, w):
        return w.m - w.x - 1 + w.cnt

    def _gap_values(self, c: dict) -> np.ndarray:
        return c["m"] - c["x"] - 1 + c["cnt"]

    def _out(self, b):
        return b.main.r

    def eval(self, b):
        super().eval(b)
        w, nx, p = b.main, b.next, b.pre
        b.when_first_row().assert_eq(w.r, 1 - w.cnt)
        b.when_transition().assert_eq(nx.r, p.same * w.r + 1 - nx.cnt,
                                      "argmax: running count of rows before the chosen one")

    def trace(self, ex, event) -> np.ndarray:
        x = np.moveaxis(ex.values[event.inputs[0]], event.attrs["axis"], -1)
        g = x.reshape(self.data["addr_y"].size, -1)
        cols = self._columns(g, event.aux["max"].ravel(), ex.values[event.output].ravel())
        cols["r"] = np.cumsum(1 - cols["cnt"], axis=1)
        return self._finish(cols, cols["m"] - cols["x"] - 1 + cols["cnt"])


def _plan(ctx, idx, ins, cls, axes):
    prog = ctx.program
    src = ins.inputs[0]
    ax = prog.addresses(src)
    rest = [i for i in range(ax.ndim) if i not in axes]
    ax = ax.transpose(rest + axes).ravel()
    ay = prog.addresses(ins.output).ravel()
    g = math.prod(prog.tensors[src].shape[i] for i in axes)
    lo, hi = prog.intervals[src]
    where = f"instruction {idx} {ins.describe()}"
    bound = int(hi) - int(lo)
    c = cls(ctx.log_height(ax.size), {"bound": bound, "limbs": bound_limbs(bound, where)},
            {"addr_x": ax, "addr_y": ay, "group": g, "read_addrs": ax, "write_addrs": ay})
    c.source = idx
    return [c]


@planner("max")
def plan_max(ctx, idx, ins):
    return _plan(ctx, idx, ins, MaxChip, list(ins.attrs["axes"]))


@planner("argmax")
def plan_argmax(ctx, idx, ins):
    return _plan(ctx, idx, ins, ArgmaxChip, [int(ins.attrs["axis"])])
