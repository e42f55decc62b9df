"""Symbolic expressions over a table's columns, used to count constraint degrees.

The symbolic builder hands ``eval`` these nodes instead of numbers; the
resulting trees give each constraint's degree as a multiple of the trace
height (Plonky3's ``SymbolicExpression`` degree rules): a column or a
first/last-row selector counts 1, a constant, a public value, a challenge or
the transition selector counts 0, products add and sums take the maximum.

The prover sizes its quotient domain from the maximum degree and the
verifier derives the number of quotient chunks from it, never from a proof.
"""

from __future__ import annotations

from typing import Any


class Expr:
    """A node of a symbolic constraint. Immutable; supports ``+ - *``."""

    __slots__ = ("degree",)

    def __init__(self, degree: int):
        self.degree = degree

    # arithmetic --------------------------------------------------------
    def __add__(self, other: Any) -> "Expr":
        return Bin("+", self, lift(other))

    def __radd__(self, other: Any) -> "Expr":
        return Bin("+", lift(other), self)

    def __sub__(self, other: Any) -> "Expr":
        return Bin("-", self, lift(other))

    def __rsub__(self, other: Any) -> "Expr":
        return Bin("-", lift(other), self)

    def __mul__(self, other: Any) -> "Expr":
        return Bin("*", self, lift(other))

    def __rmul__(self, other: Any) -> "Expr":
        return Bin("*", lift(other), self)

    def __neg__(self) -> "Expr":
        return Bin("-", Const(0), self)

    def __pow__(self, e: int) -> "Expr":
        if not isinstance(e, int) or e < 1:
            raise ValueError("only positive integer powers of expressions")
        out: Expr = self
        for _ in range(e - 1):
            out = out * self
        return out


class Const(Expr):
    __slots__ = ("value",)

    def __init__(self, value: int):
        super().__init__(0)
        self.value = value

    def __repr__(self) -> str:
        return str(self.value)


class Var(Expr):
    """A column value (``kind`` names the window), a public value or a challenge."""

    __slots__ = ("kind", "index", "label")

    DEGREE = {"main": 1, "next": 1, "pre": 1, "pre_next": 1, "perm": 1, "perm_next": 1,
              "public": 0, "challenge": 0}

    def __init__(self, kind: str, index: int, label: str = ""):
        super().__init__(self.DEGREE[kind])
        self.kind = kind
        self.index = index
        self.label = label

    def __repr__(self) -> str:
        return self.label or f"{self.kind}[{self.index}]"


class Selector(Expr):
    """``first``, ``last`` (degree 1) or ``transition`` (degree 0: x - w^-1)."""

    __slots__ = ("which",)

    def __init__(self, which: str):
        super().__init__(0 if which == "transition" else 1)
        self.which = which

    def __repr__(self) -> str:
        return f"is_{self.which}"


class Bin(Expr):
    __slots__ = ("op", "a", "b")

    def __init__(self, op: str, a: Expr, b: Expr):
        degree = a.degree + b.degree if op == "*" else max(a.degree, b.degree)
        super().__init__(degree)
        self.op, self.a, self.b = op, a, b

    def __repr__(self) -> str:
        return f"({self.a!r} {self.op} {self.b!r})"


def lift(x: Any) -> Expr:
    if isinstance(x, Expr):
        return x
    if isinstance(x, int):
        return Const(x)
    raise TypeError(f"cannot use {type(x).__name__} in a constraint expression")
