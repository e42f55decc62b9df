"""The extension of degree D over Goldilocks: F_p[X]/(X^D - 7), D in {2, 3}.

This is the one place the rest of the code asks "which extension?". The
degree is a security parameter (:class:`zkvm.fri.security.SecurityConfig`
``ext_degree``): the quadratic extension (|F| ~ 2^128) is the fast default;
the cubic one (|F| ~ 2^192) lifts the field-size terms of the soundness
estimate (commit phase, DEEP-ALI) well above 128 bits, as Winterfell does for
its 128-bit Goldilocks configurations.

Both use the non-residue ``W = 7``: 7 generates F_p^*, so it is neither a
square nor a cube, and since ``2 | p - 1`` and ``3 | p - 1`` both ``X^2 - 7``
and ``X^3 - 7`` are irreducible (Lang, *Algebra*, VI Thm 9.1: ``X^n - a`` is
irreducible when ``a`` is not an ``l``-th power for any prime ``l | n``;
checked with galois in tests/test_ext_field.py). A binomial modulus keeps
multiplication cheap: for D = 3,

    (a0 + a1 X + a2 X^2)(b0 + b1 X + b2 X^2)
      = a0 b0 + 7 (a1 b2 + a2 b1) + (a0 b1 + a1 b0 + 7 a2 b2) X + (a0 b2 + a1 b1 + a2 b0) X^2.

An element is stored as its D coefficients, constant first: an ``Ext``
(D = 2) or ``Ext3`` (D = 3) scalar, or the trailing axis of a ``uint64``
array of shape ``(..., D)``. Plain Python ints only (no numba): the verifier
imports this module.
"""

from __future__ import annotations

from typing import Iterable, Union

from zkvm.field.scalar import P, W, Ext, ExtOps, batch_inv, ext_batch_inv

__all__ = [
    "DEGREES", "Ext3", "ExtElem", "ext_class", "ext_zero", "ext_one", "ext_gen",
    "from_coeffs", "degree_of", "batch_inv_ext", "check_degree",
]

DEGREES: tuple[int, ...] = (2, 3)
"""The supported extension degrees."""


class Ext3(ExtOps):
    """Immutable element ``c0 + c1 X + c2 X^2`` of F_p[X]/(X^3 - 7), Python-int coefficients.

    Same API as :class:`zkvm.field.scalar.Ext`; mixes with Python ints (base
    elements) but never with ``Ext`` (a ``TypeError``: two different fields).

    Example:
        >>> x = Ext3(1, 2, 3)
        >>> (x * x.inv()) == 1
        True
    """

    __slots__ = ("c0", "c1", "c2")
    D = 3
    c0: int
    c1: int
    c2: int

    def __init__(self, c0: int = 0, c1: int = 0, c2: int = 0) -> None:
        object.__setattr__(self, "c0", int(c0) % P)
        object.__setattr__(self, "c1", int(c1) % P)
        object.__setattr__(self, "c2", int(c2) % P)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Ext3 is immutable")

    @property
    def coeffs(self) -> tuple[int, int, int]:
        """``(c0, c1, c2)``."""
        return (self.c0, self.c1, self.c2)

    @classmethod
    def from_base(cls, x: int) -> Ext3:
        """Embed a base-field element."""
        return cls(x, 0, 0)

    @classmethod
    def from_list(cls, v) -> Ext3:
        """Build from a length-3 sequence ``[c0, c1, c2]``."""
        return cls(int(v[0]), int(v[1]), int(v[2]))

    def to_list(self) -> list[int]:
        """Return ``[c0, c1, c2]``."""
        return [self.c0, self.c1, self.c2]

    def to_bytes(self) -> bytes:
        """Return 24 bytes: c0, c1, c2, each 8 bytes little-endian."""
        return b"".join(c.to_bytes(8, "little") for c in self.coeffs)

    def is_base(self) -> bool:
        """True when the X and X^2 coefficients are zero."""
        return self.c1 == 0 and self.c2 == 0

    @staticmethod
    def _lift(o: object) -> Ext3 | None:
        if isinstance(o, Ext3):
            return o
        if isinstance(o, int):
            return Ext3(o)
        if hasattr(o, "__index__") and not isinstance(o, Ext):  # numpy integer scalars
            return Ext3(int(o))
        return None

    def __add__(self, o: object) -> Ext3:
        q = Ext3._lift(o)
        if q is None:
            return NotImplemented
        return Ext3(self.c0 + q.c0, self.c1 + q.c1, self.c2 + q.c2)

    __radd__ = __add__

    def __sub__(self, o: object) -> Ext3:
        q = Ext3._lift(o)
        if q is None:
            return NotImplemented
        return Ext3(self.c0 - q.c0, self.c1 - q.c1, self.c2 - q.c2)

    def __rsub__(self, o: object) -> Ext3:
        q = Ext3._lift(o)
        if q is None:
            return NotImplemented
        return Ext3(q.c0 - self.c0, q.c1 - self.c1, q.c2 - self.c2)

    def __neg__(self) -> Ext3:
        return Ext3(-self.c0, -self.c1, -self.c2)

    def __mul__(self, o: object) -> Ext3:
        if isinstance(o, Ext3):
            a0, a1, a2 = self.c0, self.c1, self.c2
            b0, b1, b2 = o.c0, o.c1, o.c2
            return Ext3(a0 * b0 + W * (a1 * b2 + a2 * b1),
                        a0 * b1 + a1 * b0 + W * a2 * b2,
                        a0 * b2 + a1 * b1 + a2 * b0)
        q = Ext3._lift(o)
        if q is None:
            return NotImplemented
        x = q.c0
        return Ext3(self.c0 * x, self.c1 * x, self.c2 * x)

    __rmul__ = __mul__

    def _adjugate(self) -> tuple[int, int, int]:
        """``(d0, d1, d2)`` with ``self * (d0 + d1 X + d2 X^2) = norm(self)`` (a base element)."""
        a0, a1, a2 = self.c0, self.c1, self.c2
        return ((a0 * a0 - W * a1 * a2) % P, (W * a2 * a2 - a0 * a1) % P, (a1 * a1 - a0 * a2) % P)

    def norm(self) -> int:
        """Return the field norm ``a0 d0 + 7 (a1 d2 + a2 d1)`` (a base element; 0 iff self = 0)."""
        d0, d1, d2 = self._adjugate()
        return (self.c0 * d0 + W * (self.c1 * d2 + self.c2 * d1)) % P

    def inv(self) -> Ext3:
        """Return the multiplicative inverse (adjugate over norm).

        Raises:
            ZeroDivisionError: if ``self`` is zero.
        """
        d0, d1, d2 = self._adjugate()
        n = (self.c0 * d0 + W * (self.c1 * d2 + self.c2 * d1)) % P
        if n == 0:
            raise ZeroDivisionError("Ext3.inv: 0 has no inverse in F_p3")
        ni = pow(n, P - 2, P)
        return Ext3(d0 * ni, d1 * ni, d2 * ni)

    def __eq__(self, o: object) -> bool:
        q = Ext3._lift(o)
        if q is None:
            return NotImplemented
        return self.c0 == q.c0 and self.c1 == q.c1 and self.c2 == q.c2

    def __hash__(self) -> int:
        return hash((self.c0, self.c1, self.c2))

    def __repr__(self) -> str:
        return f"Ext3({self.c0}, {self.c1}, {self.c2})"

    def __reduce__(self):
        return (Ext3, (self.c0, self.c1, self.c2))


ExtElem = Union[Ext, Ext3]
_CLASSES = {2: Ext, 3: Ext3}


def check_degree(d: int) -> int:
    """Return ``d`` if it is a supported degree.

    Raises:
        ValueError: otherwise.
    """
    if d not in _CLASSES:
        raise ValueError(f"extension degree must be one of {DEGREES}, got {d!r}")
    return int(d)


def ext_class(d: int) -> type:
    """The scalar class of the degree-``d`` extension (``Ext`` or ``Ext3``)."""
    return _CLASSES[check_degree(d)]


def ext_zero(d: int) -> ExtElem:
    """Zero of the degree-``d`` extension."""
    return ext_class(d)(0)


def ext_one(d: int) -> ExtElem:
    """One of the degree-``d`` extension."""
    return ext_class(d)(1)


def ext_gen(d: int) -> ExtElem:
    """The generator ``X`` of the degree-``d`` extension over F_p."""
    return ext_class(d)(0, 1)


def from_coeffs(v) -> ExtElem:
    """An extension scalar from its D coefficients (the degree is ``len(v)``)."""
    return ext_class(len(v)).from_list(v)


def degree_of(x) -> int:
    """The extension degree of an ``Ext``/``Ext3`` scalar or an ``(..., D)`` array."""
    if isinstance(x, Ext):
        return 2
    if isinstance(x, Ext3):
        return 3
    return check_degree(int(x.shape[-1]))


def batch_inv_ext(values: Iterable[ExtElem]) -> list:
    """Inverses of many extension scalars (all of one degree) with one base exponentiation.

    Raises:
        ZeroDivisionError: if any value is zero.
    """
    values = list(values)
    if not values or isinstance(values[0], Ext):
        return ext_batch_inv(values)
    adj = [v._adjugate() for v in values]
    norms = batch_inv([(v.c0 * a[0] + W * (v.c1 * a[2] + v.c2 * a[1])) % P for v, a in zip(values, adj)])
    return [Ext3(a[0] * ni, a[1] * ni, a[2] * ni) for a, ni in zip(adj, norms)]
