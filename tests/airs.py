"""Example AIRs for the STARK's own tests (DESIGN.md / issue: Fibonacci, range check,
two tables joined by the bus, public input and output)."""

from __future__ import annotations

import numpy as np

from zkvm.air.air import Air
from zkvm.air.registry import register
from zkvm.field.scalar import P

BUS_RANGE = 1
BUS_DATA = 2


@register
class Fibonacci(Air):
    """a' = b, b' = a + b; a, b start at the public (a0, b0); b ends at the public result."""

    name = "test_fibonacci"
    main_columns = ("a", "b")
    public_names = ("a0", "b0", "result")

    def eval(self, b):
        m, n, pub = b.main, b.next, b.public
        b.when_first_row().assert_eq(m.a, pub.a0)
        b.when_first_row().assert_eq(m.b, pub.b0)
        b.when_transition().assert_eq(n.a, m.b)
        b.when_transition().assert_eq(n.b, m.a + m.b)
        b.when_last_row().assert_eq(m.b, pub.result)


def fibonacci_trace(log_n: int, a0: int = 1, b0: int = 1) -> tuple[np.ndarray, int]:
    n = 1 << log_n
    a = np.empty(n, dtype=object)
    bb = np.empty(n, dtype=object)
    a[0], bb[0] = a0, b0
    for i in range(1, n):  # test helper only
        a[i], bb[i] = bb[i - 1], (a[i - 1] + bb[i - 1]) % P
    return np.array([a.astype(np.uint64), bb.astype(np.uint64)]), int(bb[-1])


@register
class RangeTable(Air):
    """Preprocessed 0..2^bits-1; main column = multiplicity; receives (value) on BUS_RANGE."""

    name = "test_range_table"
    main_columns = ("mult",)
    preprocessed_columns = ("value",)

    def eval(self, b):
        b.receive(BUS_RANGE, [b.pre.value], b.main.mult)

    def preprocessed_trace(self):
        return np.arange(self.n_rows, dtype=np.uint64)[None, :]


@register
class RangeChecked(Air):
    """Values that must lie in [0, 2^16): each sends (x) on BUS_RANGE when its selector is on."""

    name = "test_range_checked"
    main_columns = ("x", "on")

    def eval(self, b):
        b.assert_bool(b.main.on)
        b.send(BUS_RANGE, [b.main.x], b.main.on)


@register
class Producer(Air):
    """Sends (addr, value) on BUS_DATA with multiplicity `reads` (preprocessed address)."""

    name = "test_producer"
    main_columns = ("value",)
    preprocessed_columns = ("addr", "reads")

    def eval(self, b):
        b.send(BUS_DATA, [b.pre.addr, b.main.value], b.pre.reads)

    def preprocessed_trace(self):
        n = self.n_rows
        addr = np.arange(1, n + 1, dtype=np.uint64)
        reads = np.full(n, self.params.get("reads", 1), dtype=np.uint64)
        return np.stack([addr, reads])


@register
class Squarer(Air):
    """Receives (addr, x), asserts y = x*x, sends (addr + offset, y)."""

    name = "test_squarer"
    main_columns = ("x", "y")
    preprocessed_columns = ("addr", "on")

    def eval(self, b):
        m, p = b.main, b.pre
        b.assert_zero(p.on * (m.y - m.x * m.x))
        b.receive(BUS_DATA, [p.addr, m.x], p.on)
        b.send(BUS_DATA, [p.addr + self.params["offset"], m.y], p.on)

    def preprocessed_trace(self):
        n = self.n_rows
        k = self.params["count"]
        addr = np.zeros(n, dtype=np.uint64)
        addr[:k] = np.arange(1, k + 1)
        on = np.zeros(n, dtype=np.uint64)
        on[:k] = 1
        return np.stack([addr, on])
