"""Chips that put values on the memory bus without computing them.

* ``InputChip``: a private input tensor. Sends ``(addr, x)`` for each element
  (multiplicity = its reads) and range-checks ``x`` to the declared range, so
  a private input cannot be a huge field element.
* ``ConstChip``: public weights read through the bus (preprocessed address,
  value and multiplicity: part of the verifying key, no witness at all).
* ``RangeTable``: the preprocessed table ``0 .. 2^16 - 1`` with the
  multiplicity of each entry as its only witness column.
"""

from __future__ import annotations

import numpy as np

from zkvm.air.chips.common import (
    BUS_MEM, BUS_RANGE, RANGE_BITS, VmChip, Witness, field, pad_columns,
)
from zkvm.air.chips.gadgets import check_upto, upto_lookups
from zkvm.air.registry import register


@register
class InputChip(VmChip):
    """A private input: ``x - lo`` in ``[0, hi - lo]``; sends ``(addr, x)``.

    params: ``lo``, ``hi`` (the declared range, ``hi - lo < 2^16``).
    """

    name = "input"
    uses_range = True
    main_columns = ("x",)
    preprocessed_columns = ("addr", "mult", "on")

    def eval(self, b):
        lo, hi = self.params["lo"], self.params["hi"]
        check_upto(b, b.main.x - lo, hi - lo, b.pre.on)
        b.send(BUS_MEM, [b.pre.addr, b.main.x], b.pre.mult)

    def preprocessed_trace(self):
        d = self.data
        return pad_columns([d["addr"], d["mult"], np.ones(d["addr"].size, np.int64)], self.n_rows)

    def trace(self, values: np.ndarray) -> np.ndarray:
        return pad_columns([values.ravel()], self.n_rows, fill=self.params["lo"])

    def witness(self, w: Witness) -> np.ndarray:
        return self.trace(w.execution.values[self.source])

    def range_values(self, main: np.ndarray) -> list[np.ndarray]:
        from zkvm.field.kernels import to_signed

        k = self.data["addr"].size
        return upto_lookups(to_signed(main[0, :k]) - self.params["lo"],
                            self.params["hi"] - self.params["lo"])


@register
class ConstChip(VmChip):
    """Public weights read through the bus: everything is preprocessed."""

    name = "const"
    main_columns = ()
    preprocessed_columns = ("addr", "value", "mult")

    def eval(self, b):
        b.send(BUS_MEM, [b.pre.addr, b.pre.value], b.pre.mult)

    def preprocessed_trace(self):
        d = self.data
        return pad_columns([d["addr"], d["value"], d["mult"]], self.n_rows)

    def trace(self) -> np.ndarray:
        return np.zeros((0, self.n_rows), dtype=np.uint64)

    def witness(self, w: Witness) -> np.ndarray:
        return self.trace()


RANGE_LANES = 16  # values per row of the range table


@register
class RangeTable(VmChip):
    """``0 .. 2^16 - 1`` received with the lookup counts as multiplicities, 16 values a row.

    Row ``i`` holds the values ``16 i + j`` (``j < 16``): one preprocessed
    column ``base = 16 i`` and sixteen witness multiplicities. A row of 16
    lanes makes the table 4096 rows high instead of 65536, which cuts the
    cells the prover extends and hashes about threefold (the LogUp helpers
    pair two lanes each, keeping degree 3).
    """

    name = "range16"
    reads_range_lookups = True
    main_columns = (("mult", RANGE_LANES),)
    preprocessed_columns = ("base",)

    def __init__(self, log_height: int = RANGE_BITS - 4, params: dict | None = None, data=None):
        super().__init__(log_height, params, data)
        if self.n_rows * RANGE_LANES != 1 << RANGE_BITS:
            raise ValueError("the range table holds exactly 2^16 values")

    def eval(self, b):
        for j, m in enumerate(b.main.mult):
            b.receive(BUS_RANGE, [b.pre.base + j], m)

    def preprocessed_trace(self):
        return (np.arange(self.n_rows, dtype=np.uint64) * RANGE_LANES)[None, :]

    def trace_from_counts(self, lookups: list[np.ndarray]) -> np.ndarray:
        counts = np.zeros(1 << RANGE_BITS, dtype=np.int64)
        for v in lookups:
            v = np.asarray(v, dtype=np.int64).ravel()
            if v.size and (v.min() < 0 or v.max() >= (1 << RANGE_BITS)):
                bad = v[(v < 0) | (v >= (1 << RANGE_BITS))][0]
                raise ValueError(f"range check of {bad}: out of [0, 2^16) (a value left its "
                                 "declared range)")
            counts += np.bincount(v, minlength=1 << RANGE_BITS)
        return np.ascontiguousarray(field(counts).reshape(self.n_rows, RANGE_LANES).T)

    def witness(self, w: Witness) -> np.ndarray:
        return self.trace_from_counts(w.range_lookups)
