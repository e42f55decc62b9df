"""Goldilocks scalars and the quadratic extension scalar class ``Ext``.

Everything here is plain Python ints (no numpy, no numba), so the verifier can
import this module without triggering any JIT compile:

    from zkvm.field.scalar import P, Ext, s_inv, root_of_unity

Field: p = 2^64 - 2^32 + 1 ("Goldilocks"), two-adicity 32, multiplicative
generator 7. Extension: F_p2 = F_p[X]/(X^2 - 7); 7 is a quadratic non-residue
mod p (checked in tests/test_ext_field.py), so X^2 - 7 is irreducible.
An element c0 + c1*X is stored as the pair (c0, c1).
"""

from __future__ import annotations

from functools import lru_cache

P: int = 2**64 - 2**32 + 1
"""The Goldilocks prime."""
EPSILON: int = 2**32 - 1
"""2^64 mod P: the constant used by the fast reduction."""
GENERATOR: int = 7
"""A generator of the multiplicative group F_p^*."""
TWO_ADICITY: int = 32
"""Largest k with 2^k | P - 1."""
W: int = 7
"""Extension non-residue: F_p2 = F_p[X]/(X^2 - W)."""

__all__ = [
    "P", "EPSILON", "GENERATOR", "TWO_ADICITY", "W", "Ext",
    "s_add", "s_sub", "s_mul", "s_neg", "s_inv", "s_pow", "s_div",
    "s_from_int", "s_to_signed", "root_of_unity",
]


def s_add(a: int, b: int) -> int:
    """Return ``a + b mod P``."""
    return (a + b) % P


def s_sub(a: int, b: int) -> int:
    """Return ``a - b mod P``."""
    return (a - b) % P


def s_mul(a: int, b: int) -> int:
    """Return ``a * b mod P``."""
    return (a * b) % P


def s_neg(a: int) -> int:
    """Return ``-a mod P``."""
    return (-a) % P


def s_inv(a: int) -> int:
    """Return the inverse of ``a`` mod P.

    Raises:
        ZeroDivisionError: if ``a`` is 0 mod P.
    """
    a %= P
    if a == 0:
        raise ZeroDivisionError("s_inv: 0 has no inverse in F_p")
    return pow(a, P - 2, P)


def s_div(a: int, b: int) -> int:
    """Return ``a / b mod P`` (raises ``ZeroDivisionError`` when b = 0)."""
    return (a * s_inv(b)) % P


def s_pow(a: int, e: int) -> int:
    """Return ``a^e mod P``; a negative ``e`` inverts first."""
    if e < 0:
        return pow(s_inv(a), -e, P)
    return pow(a % P, e, P)


def s_from_int(x: int) -> int:
    """Map a signed Python int to its canonical representative in ``[0, P)``."""
    return x % P


def s_to_signed(a: int) -> int:
    """Map a canonical element to the signed representative in ``(-P/2, P/2)``."""
    a %= P
    return a - P if a > P // 2 else a


@lru_cache(maxsize=None)
def root_of_unity(log_n: int) -> int:
    """Return the fixed primitive ``2^log_n``-th root of unity ``GENERATOR^((P-1) >> log_n)``.

    Raises:
        ValueError: if ``log_n`` is outside ``[0, TWO_ADICITY]``.
    """
    if not 0 <= log_n <= TWO_ADICITY:
        raise ValueError(f"root_of_unity: log_n={log_n} outside [0, {TWO_ADICITY}]")
    return pow(GENERATOR, (P - 1) >> log_n, P)


class ExtOps:
    """Division and powers shared by the extension scalar classes (``Ext``, ``Ext3``).

    A subclass provides ``_lift`` (an operand as an element of its field, or
    ``None``), ``inv`` and ``*``; everything here is written in those terms.
    """

    __slots__ = ()

    def __truediv__(self, o: object):
        q = type(self)._lift(o)
        if q is None:
            return NotImplemented
        return self * q.inv()

    def __rtruediv__(self, o: object):
        q = type(self)._lift(o)
        if q is None:
            return NotImplemented
        return q * self.inv()

    def __pow__(self, e: int):
        """Square-and-multiply; a negative ``e`` inverts first."""
        e = int(e)
        base = self
        if e < 0:
            base, e = self.inv(), -e
        acc = type(self)._lift(1)
        while e:
            if e & 1:
                acc = acc * base
            base = base * base
            e >>= 1
        return acc


class Ext(ExtOps):
    """Immutable element ``c0 + c1*X`` of F_p[X]/(X^2 - 7), with Python-int coefficients.

    Mixes freely with Python ints, which are read as base-field elements.

    Example:
        >>> x = Ext(1, 2)
        >>> (x * x.inv()) == 1
        True
    """

    __slots__ = ("c0", "c1")
    D = 2
    c0: int
    c1: int

    def __init__(self, c0: int = 0, c1: int = 0) -> None:
        object.__setattr__(self, "c0", int(c0) % P)
        object.__setattr__(self, "c1", int(c1) % P)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Ext is immutable")

    @property
    def coeffs(self) -> tuple[int, int]:
        """``(c0, c1)`` (the degree-generic view, see :mod:`zkvm.field.extension`)."""
        return (self.c0, self.c1)

    # -- constructors / conversions --------------------------------------
    @classmethod
    def from_base(cls, x: int) -> Ext:
        """Embed a base-field element."""
        return cls(x, 0)

    @classmethod
    def from_list(cls, v) -> Ext:
        """Build from a length-2 sequence ``[c0, c1]`` (ints or a uint64 array row)."""
        return cls(int(v[0]), int(v[1]))

    def to_list(self) -> list[int]:
        """Return ``[c0, c1]``."""
        return [self.c0, self.c1]

    def to_bytes(self) -> bytes:
        """Return 16 bytes: c0 then c1, each 8 bytes little-endian."""
        return self.c0.to_bytes(8, "little") + self.c1.to_bytes(8, "little")

    def is_base(self) -> bool:
        """True when the X coefficient is zero."""
        return self.c1 == 0

    # -- arithmetic -------------------------------------------------------
    @staticmethod
    def _lift(o: object) -> Ext | None:
        if isinstance(o, Ext):
            return o
        if isinstance(o, int):
            return Ext(o, 0)
        if hasattr(o, "__index__"):  # numpy integer scalars
            return Ext(int(o), 0)
        return None

    def __add__(self, o: object) -> Ext:
        q = Ext._lift(o)
        if q is None:
            return NotImplemented
        return Ext(self.c0 + q.c0, self.c1 + q.c1)

    __radd__ = __add__

    def __sub__(self, o: object) -> Ext:
        q = Ext._lift(o)
        if q is None:
            return NotImplemented
        return Ext(self.c0 - q.c0, self.c1 - q.c1)

    def __rsub__(self, o: object) -> Ext:
        q = Ext._lift(o)
        if q is None:
            return NotImplemented
        return Ext(q.c0 - self.c0, q.c1 - self.c1)

    def __neg__(self) -> Ext:
        return Ext(-self.c0, -self.c1)

    def __mul__(self, o: object) -> Ext:
        if isinstance(o, Ext):
            a0, a1, b0, b1 = self.c0, self.c1, o.c0, o.c1
            return Ext(a0 * b0 + W * a1 * b1, a0 * b1 + a1 * b0)
        q = Ext._lift(o)
        if q is None:
            return NotImplemented
        return Ext(self.c0 * q.c0, self.c1 * q.c0)

    __rmul__ = __mul__

    def norm(self) -> int:
        """Return the field norm ``c0^2 - 7*c1^2`` (a base element)."""
        return (self.c0 * self.c0 - W * self.c1 * self.c1) % P

    def inv(self) -> Ext:
        """Return the multiplicative inverse.

        Raises:
            ZeroDivisionError: if ``self`` is zero.
        """
        n = self.norm()
        if n == 0:
            raise ZeroDivisionError("Ext.inv: 0 has no inverse in F_p2")
        ni = pow(n, P - 2, P)
        return Ext(self.c0 * ni, -self.c1 * ni)

    def __eq__(self, o: object) -> bool:
        q = Ext._lift(o)
        if q is None:
            return NotImplemented
        return self.c0 == q.c0 and self.c1 == q.c1

    def __hash__(self) -> int:
        return hash((self.c0, self.c1))

    def __repr__(self) -> str:
        return f"Ext({self.c0}, {self.c1})"

    def __reduce__(self):
        return (Ext, (self.c0, self.c1))


def batch_inv(values: list[int]) -> list[int]:
    """Inverses of many base elements with one exponentiation (Montgomery's trick).

    Raises:
        ZeroDivisionError: if any value is 0 mod P.
    """
    n = len(values)
    prefix = [1] * n
    acc = 1
    for i, v in enumerate(values):
        prefix[i] = acc
        acc = acc * v % P
    if acc == 0:
        raise ZeroDivisionError("batch_inv: a value is 0")
    inv = pow(acc, P - 2, P)
    out = [0] * n
    for i in range(n - 1, -1, -1):
        out[i] = prefix[i] * inv % P
        inv = inv * values[i] % P
    return out


def ext_batch_inv(values: list[Ext]) -> list[Ext]:
    """Inverses of many ``Ext`` with one base-field exponentiation.

    ``1 / (c0 + c1 X) = (c0 - c1 X) / (c0^2 - 7 c1^2)``: the norms are
    inverted together with :func:`batch_inv`.
    """
    norms = batch_inv([(v.c0 * v.c0 - W * v.c1 * v.c1) % P for v in values])
    return [Ext(v.c0 * ni, -v.c1 * ni) for v, ni in zip(values, norms)]
