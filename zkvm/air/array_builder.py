"""Whole-column builders: the prover's quotient evaluation and the debug checker.

``FA`` wraps a column of base-field (``(n,)``) or extension (``(n, D)``,
D = 2 or 3) values and gives it ``+ - *`` through the numba kernels of
``zkvm.field.kernels``, so a chip's ``eval`` runs unchanged on whole columns.

* ``ArrayBuilder`` evaluates every constraint over a domain (the quotient
  coset in the prover) and folds them with the challenge ``alpha``:
  ``acc = acc * alpha + c`` in the same order as the verifier's
  ``PointBuilder``.
* ``DebugBuilder`` evaluates on the trace itself and records, for each
  failing constraint, the chip, the constraint's source line and the rows
  where it fails: run before proving in tests and with ``debug=True``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from zkvm.air.air import Air, Layout, Row
from zkvm.air.builder import BuilderBase
from zkvm.field import kernels as K
from zkvm.field.extension import Ext3
from zkvm.field.scalar import Ext, P


class FA:
    """A column (or scalar) of base or extension values with field arithmetic."""

    __slots__ = ("v", "ext")
    __array_priority__ = 100  # keep numpy from hijacking reflected ops

    def __init__(self, v: np.ndarray, ext: bool):
        self.v, self.ext = v, ext

    @staticmethod
    def lift(x: Any) -> "FA":
        if isinstance(x, FA):
            return x
        if isinstance(x, (Ext, Ext3)):
            return FA(np.array(x.to_list(), dtype=np.uint64), True)
        if isinstance(x, (int, np.integer)):
            return FA(np.uint64(int(x) % P), False)
        raise TypeError(f"cannot use {type(x).__name__} in a column expression")

    def as_ext(self, d: int = 2) -> np.ndarray:
        """The values as a degree-``d`` extension array (an extension FA keeps its own)."""
        return self.v if self.ext else K.ext_from_base(self.v, d)

    def _d(self, o: "FA") -> int:
        """The extension degree of whichever operand is an extension."""
        return (self if self.ext else o).v.shape[-1]

    def __add__(self, o: Any) -> "FA":
        o = FA.lift(o)
        if not self.ext and not o.ext:
            return FA(K.add(self.v, o.v), False)
        d = self._d(o)
        return FA(K.ext_add(self.as_ext(d), o.as_ext(d)), True)

    __radd__ = __add__

    def __sub__(self, o: Any) -> "FA":
        o = FA.lift(o)
        if not self.ext and not o.ext:
            return FA(K.sub(self.v, o.v), False)
        d = self._d(o)
        return FA(K.ext_sub(self.as_ext(d), o.as_ext(d)), True)

    def __rsub__(self, o: Any) -> "FA":
        return FA.lift(o) - self

    def __mul__(self, o: Any) -> "FA":
        o = FA.lift(o)
        if not self.ext and not o.ext:
            return FA(K.mul(self.v, o.v), False)
        if self.ext and o.ext:
            return FA(K.ext_mul(self.v, o.v), True)
        e, b = (self, o) if self.ext else (o, self)
        return FA(K.ext_mul_base(e.v, b.v), True)

    __rmul__ = __mul__

    def __neg__(self) -> "FA":
        return FA(K.ext_neg(self.v) if self.ext else K.neg(self.v), self.ext)

    def __pow__(self, e: int) -> "FA":
        out = self
        for _ in range(e - 1):
            out = out * self
        return out

    def nonzero_rows(self, n: int) -> np.ndarray:
        v = np.broadcast_to(self.v, (n, self.v.shape[-1]) if self.ext else (n,))
        return np.flatnonzero(v.any(axis=1) if self.ext else v != 0)


def _row(layout: Layout, cols: np.ndarray | None, ext: bool = False) -> Row:
    """A ``Row`` over ``cols`` (shape ``(width, n)`` or ``(width, n, D)``)."""
    if cols is None:
        return Row(layout, [])
    return Row(layout, [FA(c, ext) for c in cols])


class ArrayBuilder(BuilderBase):
    """Evaluates ``eval`` on whole columns over a domain of ``n`` points.

    Args:
        air: the chip.
        main, next_, pre, pre_next: ``(width, n)`` base arrays (current and
            next row on this domain).
        public: the table's public values (ints).
        selectors: ``(is_first, is_last, is_transition)`` base arrays.
        alpha: the constraint-combination challenge (``None``: do not fold,
            e.g. when only interactions are wanted).
    """

    def __init__(self, air: Air, main, next_, pre, pre_next, public, selectors, alpha: Ext | None):
        super().__init__(air)
        self.main = _row(air.main_layout, main)
        self.next = _row(air.main_layout, next_)
        self.pre = _row(air.pre_layout, pre)
        self.pre_next = _row(air.pre_layout, pre_next)
        self.public = Row(Layout.of(air.public_names), [FA.lift(int(x)) for x in public])
        self.is_first_row, self.is_last_row, self.is_transition = (FA(s, False) for s in selectors)
        self.alpha = alpha
        self.acc: FA | None = None

    def _assert(self, x: Any, label: str) -> None:
        if self.alpha is None:
            return
        x = FA.lift(x)
        self.acc = x if self.acc is None else self.acc * self.alpha + x


def eval_expr(e: Any, env: dict, memo: dict) -> "FA":
    """Evaluate a symbolic expression (``zkvm.air.expr``) on columns.

    ``env`` maps ``"main"``, ``"next"``, ``"pre"``, ``"pre_next"``, ``"public"``
    to lists of ``FA`` and ``"first"``, ``"last"``, ``"transition"`` to
    selector ``FA``. Used to compute only the bus messages of a chip (its
    LogUp columns) without evaluating its constraints.
    """
    from zkvm.air.expr import Bin, Const, Selector, Var

    if not hasattr(e, "degree"):
        return FA.lift(e)
    key = id(e)
    if key in memo:
        return memo[key]
    if isinstance(e, Const):
        out = FA.lift(e.value)
    elif isinstance(e, Var):
        out = env[e.kind][e.index]
    elif isinstance(e, Selector):
        out = env[e.which]
    elif isinstance(e, Bin):
        a, b = eval_expr(e.a, env, memo), eval_expr(e.b, env, memo)
        out = a + b if e.op == "+" else a - b if e.op == "-" else a * b
    else:
        raise TypeError(f"cannot evaluate {type(e).__name__}")
    memo[key] = out
    return out


def trace_selectors(log_n: int):
    """The selector polynomials' values on the trace domain H_n.

    ``is_first_row`` and ``is_last_row`` are Lagrange polynomials (0/1 on H);
    ``is_transition`` is ``x - w^-1``, whose values on H are not 0/1 (it only
    vanishes on the last row): anything that *uses* its value (a multiplicity)
    must see these, the same as the quotient domain does.
    """
    from zkvm.field.scalar import root_of_unity, s_inv

    n = 1 << log_n
    first = np.zeros(n, dtype=np.uint64)
    first[0] = 1
    last = np.zeros(n, dtype=np.uint64)
    last[-1] = 1
    trans = K.sub(K.powers(root_of_unity(log_n), n), np.uint64(s_inv(root_of_unity(log_n))))
    return first, last, trans


class DebugBuilder(ArrayBuilder):
    """Checks a concrete trace row by row; ``failures`` lists what does not hold."""

    def __init__(self, air: Air, main, pre, public):
        n = air.n_rows
        sel_first = np.zeros(n, dtype=np.uint64)
        sel_first[0] = 1
        sel_last = np.zeros(n, dtype=np.uint64)
        sel_last[-1] = 1
        sel_trans = np.ones(n, dtype=np.uint64) - sel_last
        nxt = np.roll(main, -1, axis=1) if main is not None else None
        pre_nxt = np.roll(pre, -1, axis=1) if pre is not None else None
        super().__init__(air, main, nxt, pre, pre_nxt, public,
                         (sel_first, sel_last, sel_trans), alpha=None)
        self.failures: list[tuple[str, list[int]]] = []

    def _assert(self, x: Any, label: str) -> None:
        rows = FA.lift(x).nonzero_rows(self.air.n_rows)
        if rows.size:
            self.failures.append((label, rows[:8].tolist()))
