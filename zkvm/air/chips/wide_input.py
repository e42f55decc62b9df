"""``WideInputChip``: a private/hashed input whose declared range spans 2^16 values or more.

``InputChip`` checks ``x - lo`` against one 16-bit lookup, so it takes ranges
narrower than ``2^16``. Segment boundaries (``zkvm.segments``) carry
activations whose worst-case ranges are wider (e.g. ``[-71132, 71980]``), and
the segment program's downstream bounds rely on the exact range, so the check
must be exact, not rounded up to a power of two (DESIGN.md checklist 7).

Exact two-sided check with ``L`` 16-bit limbs (``span = hi - lo < 2^(16 L)``)::

    x - lo = sum_i a_i 2^(16 i)      a_i in [0, 2^16)
    hi - x = sum_i c_i 2^(16 i)      c_i in [0, 2^16)

Both sums lie in ``[0, 2^(16 L))``; adding the equations gives
``sum a + sum c = span`` in the field, and both sides are far below ``p``
(``L <= 3``), so it holds over the integers: ``0 <= x - lo <= span``, i.e.
``lo <= x <= hi`` exactly. Padding rows hold ``x = lo`` (limbs of ``0`` and of
``span``: the equations hold) and send nothing (``on = 0``).
"""

from __future__ import annotations

import numpy as np

from zkvm.air.chips.common import BUS_MEM, RANGE_BITS, pad_columns, range_check, range_lookups
from zkvm.air.chips.gadgets import MAX_LIMB_BITS, limbs_needed, split_limbs
from zkvm.air.chips.memory import InputChip
from zkvm.air.registry import register

#: widest span this chip checks (the gadgets' 3 limbs: far below p / 2 so the sums cannot wrap)
MAX_SPAN_BITS = MAX_LIMB_BITS


def n_limbs(span: int) -> int:
    """Limbs needed for ``0 <= v <= span`` (raises ValueError past ``MAX_SPAN_BITS``)."""
    if not 0 <= span < (1 << MAX_SPAN_BITS):
        raise ValueError(f"input range span {span} needs more than {MAX_SPAN_BITS} bits")
    return limbs_needed(span)


@register
class WideInputChip(InputChip):
    """params ``lo``, ``hi`` (span below 2^48); limbs ``a`` of ``x - lo``, ``c`` of ``hi - x``."""

    name = "input_wide"

    def __init__(self, log_height: int, params: dict | None = None, data=None):
        p = params or {}
        self.n_limbs = n_limbs(int(p["hi"]) - int(p["lo"]))
        self.main_columns = ("x", ("a", self.n_limbs), ("c", self.n_limbs))
        super().__init__(log_height, params, data)

    def eval(self, b):
        lo, hi = self.params["lo"], self.params["hi"]
        m, on = b.main, b.pre.on
        sa, sc = 0, 0
        for i, (a, c) in enumerate(zip(m.a, m.c)):
            sa = sa + a * (1 << (RANGE_BITS * i))
            sc = sc + c * (1 << (RANGE_BITS * i))
            range_check(b, a, RANGE_BITS, on)
            range_check(b, c, RANGE_BITS, on)
        b.assert_eq(m.x - lo, sa, "x - lo = sum a_i 2^16i")
        b.assert_eq(hi - m.x, sc, "hi - x = sum c_i 2^16i")
        b.send(BUS_MEM, [b.pre.addr, m.x], b.pre.mult)

    def trace(self, values: np.ndarray) -> np.ndarray:
        lo, hi = int(self.params["lo"]), int(self.params["hi"])
        x = np.full(self.n_rows, lo, dtype=np.int64)
        v = np.asarray(values, dtype=np.int64).ravel()
        x[:v.size] = v
        cols = [x]
        for s in (x - lo, hi - x):   # both in [0, span] for values in range
            cols += split_limbs(s, self.n_limbs)
        return pad_columns(cols, self.n_rows)

    def range_values(self, main: np.ndarray) -> list[np.ndarray]:
        k = self.data["addr"].size
        out: list[np.ndarray] = []
        for row in main[1:1 + 2 * self.n_limbs]:
            out += range_lookups(row[:k].astype(np.int64), RANGE_BITS)
        return out
