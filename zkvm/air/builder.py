"""Builders: what ``Air.eval(b)`` runs against.

``BuilderBase`` holds the vocabulary every builder shares (Plonky3's
``AirBuilder``): the row windows ``main``/``next``/``pre``/``pre_next``,
``public``, the selectors ``is_first_row``/``is_last_row``/``is_transition``,
``when(...)``/``when_first_row()``/``when_last_row()``/``when_transition()``,
``assert_zero``/``assert_eq``/``assert_bool``, and ``send``/``receive`` for
bus interactions. A subclass decides what a value is and what an assertion
does:

* ``SymbolicBuilder``: values are ``zkvm.air.expr`` nodes; it records every
  constraint (with its degree and source line) and every interaction.
* ``PointBuilder`` (verifier): values are ``Ext`` scalars at the
  out-of-domain point; assertions fold into ``acc = acc * alpha + c``.
* ``zkvm.air.array_builder`` (prover and debug): whole columns.

This module imports no numba kernel: the verifier uses it directly.
"""

from __future__ import annotations

import sys
from typing import Any, Sequence

from zkvm.air.air import Air, Interaction, Layout, Row
from zkvm.air.expr import Expr, Selector, Var
from zkvm.field.scalar import Ext, P


class _When:
    """A builder view whose assertions only bind where ``cond`` is non-zero."""

    __slots__ = ("_b", "_cond")

    def __init__(self, b: "BuilderBase", cond: Any):
        self._b, self._cond = b, cond

    def assert_zero(self, x: Any, label: str | None = None) -> None:
        self._b._assert(self._cond * x, label or _caller())

    def assert_eq(self, x: Any, y: Any, label: str | None = None) -> None:
        self._b._assert(self._cond * (x - y), label or _caller())

    def assert_bool(self, x: Any, label: str | None = None) -> None:
        self._b._assert(self._cond * (x * (x - 1)), label or _caller())

    def assert_zeros(self, xs: Sequence[Any], label: str | None = None) -> None:
        lab = label or _caller()
        for x in xs:
            self._b._assert(self._cond * x, lab)


def _caller(depth: int = 2) -> str:
    """``file:line`` of the chip code that made the assertion (debug labels)."""
    f = sys._getframe(depth)
    return f"{f.f_code.co_filename.rsplit('/', 1)[-1]}:{f.f_lineno}"


class BuilderBase:
    """Shared vocabulary; subclasses set the windows and implement ``_assert``."""

    main: Row
    next: Row
    pre: Row
    pre_next: Row
    public: Row
    is_first_row: Any
    is_last_row: Any
    is_transition: Any

    def __init__(self, air: Air):
        self.air = air
        self.interactions: list[Interaction] = []

    # assertions -------------------------------------------------------
    def _assert(self, x: Any, label: str) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def assert_zero(self, x: Any, label: str | None = None) -> None:
        self._assert(x, label or _caller())

    def assert_eq(self, x: Any, y: Any, label: str | None = None) -> None:
        self._assert(x - y, label or _caller())

    def assert_bool(self, x: Any, label: str | None = None) -> None:
        self._assert(x * (x - 1), label or _caller())

    def assert_zeros(self, xs: Sequence[Any], label: str | None = None) -> None:
        lab = label or _caller()
        for x in xs:
            self._assert(x, lab)

    def when(self, cond: Any) -> _When:
        return _When(self, cond)

    def when_first_row(self) -> _When:
        return _When(self, self.is_first_row)

    def when_last_row(self) -> _When:
        return _When(self, self.is_last_row)

    def when_transition(self) -> _When:
        return _When(self, self.is_transition)

    # bus ----------------------------------------------------------------
    def send(self, bus: int, values: Sequence[Any], multiplicity: Any = 1) -> None:
        """Put ``values`` on ``bus`` ``multiplicity`` times (LogUp: +m/(alpha - t))."""
        self.interactions.append(Interaction(int(bus), tuple(values), multiplicity, +1))

    def receive(self, bus: int, values: Sequence[Any], multiplicity: Any = 1) -> None:
        """Take ``values`` off ``bus`` ``multiplicity`` times (LogUp: -m/(alpha - t))."""
        self.interactions.append(Interaction(int(bus), tuple(values), multiplicity, -1))


def _vars(kind: str, layout: Layout) -> list[Var]:
    return [Var(kind, i, f"{kind}.{name}") for i, name in enumerate(layout.names)]


class SymbolicBuilder(BuilderBase):
    """Runs ``eval`` on symbols: constraint degrees, labels and interactions."""

    def __init__(self, air: Air):
        super().__init__(air)
        self.main = Row(air.main_layout, _vars("main", air.main_layout))
        self.next = Row(air.main_layout, _vars("next", air.main_layout))
        self.pre = Row(air.pre_layout, _vars("pre", air.pre_layout))
        self.pre_next = Row(air.pre_layout, _vars("pre_next", air.pre_layout))
        pub = Layout.of(air.public_names)
        self.public = Row(pub, _vars("public", pub))
        self.is_first_row = Selector("first")
        self.is_last_row = Selector("last")
        self.is_transition = Selector("transition")
        self.constraints: list[tuple[Expr, str]] = []

    def _assert(self, x: Any, label: str) -> None:
        if not isinstance(x, Expr):
            if isinstance(x, int) and x % P == 0:
                return  # a constant zero binds nothing
            raise TypeError(f"{self.air.name}: constraint {label} is not an expression")
        self.constraints.append((x, label))

    @property
    def max_degree(self) -> int:
        return max((c.degree for c, _ in self.constraints), default=0)


class PointBuilder(BuilderBase):
    """Evaluates constraints at the out-of-domain point ``z`` (verifier side).

    Args:
        air: the chip.
        main, next, pre, pre_next: opened column values (``Ext``) at z and z*w.
        public: the table's public values (Python ints).
        z: the out-of-domain point; ``log_n`` the trace height.
        alpha: the constraint-combination challenge.
    """

    def __init__(self, air: Air, main, next_, pre, pre_next, public, z: Ext, alpha: Ext):
        super().__init__(air)
        self.main = Row(air.main_layout, main)
        self.next = Row(air.main_layout, next_)
        self.pre = Row(air.pre_layout, pre)
        self.pre_next = Row(air.pre_layout, pre_next)
        self.public = Row(Layout.of(air.public_names), public)
        n = air.n_rows
        from zkvm.field.scalar import root_of_unity

        w_inv = pow(root_of_unity(air.log_height), P - 2, P)
        zh = z ** n - 1
        n_inv = pow(n, P - 2, P)
        self.vanishing = zh
        self.is_first_row = zh * n_inv / (z - 1)
        self.is_last_row = zh * n_inv * w_inv / (z - w_inv)
        self.is_transition = z - w_inv
        self.alpha = alpha
        self.acc = type(z)(0)  # Ext or Ext3: the degree of the challenges

    def _assert(self, x: Any, label: str) -> None:
        self.acc = self.acc * self.alpha + x
