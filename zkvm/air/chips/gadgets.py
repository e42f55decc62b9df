"""Range-check gadgets shared by several chips (DESIGN.md soundness checklist 7).

* :func:`check_upto` / :func:`upto_lookups`: ``0 <= v <= hi`` for ``hi < 2^16``
  with the exact bound (two lookups when ``hi < 2^16 - 1``);
* :class:`Bounded`: a value with an exact range ``[lo, hi]``, held as one
  column or as 16-bit limbs (divide, relu, private weights);
* :func:`bound_limbs`, :func:`check_bounded`, :func:`split_limbs`,
  :func:`bounded_lookups`: ``0 <= v <= bound`` through up to three limbs
  (max, argmax, lut).

Each gadget comes as a pair: the constraint side (called from a chip's
``eval``) and the witness side (the concrete range-table entries it looks
up, for the table's multiplicities), so the two cannot drift apart.
"""

from __future__ import annotations

import numpy as np

from zkvm.air.chips.common import BUS_RANGE, RANGE_BITS, range_check, range_lookups
from zkvm.air.chips.planner import StatementError


def check_upto(b, value, hi: int, mult=1) -> None:
    """Lookups proving ``0 <= value <= hi`` for ``hi < 2^16`` (exact bound, checklist 7)."""
    if not 0 <= hi < (1 << RANGE_BITS):
        raise ValueError(f"check_upto: bound {hi} needs limbs")
    b.send(BUS_RANGE, [value], mult)
    if hi < (1 << RANGE_BITS) - 1:
        b.send(BUS_RANGE, [value + ((1 << RANGE_BITS) - 1 - hi)], mult)


def upto_lookups(values: np.ndarray, hi: int) -> list[np.ndarray]:
    """The range-table entries ``check_upto`` looks up for concrete values."""
    v = np.asarray(values, dtype=np.int64).ravel()
    out = [v]
    if hi < (1 << RANGE_BITS) - 1:
        out.append(v + ((1 << RANGE_BITS) - 1 - hi))
    return out


LIMB = 1 << RANGE_BITS


class Bounded:
    """A value ``y`` with ``lo <= y <= hi`` that a chip range-checks exactly.

    Held as one column ``name`` (holding ``y``) when ``hi - lo < 2^16``, checked
    with ``check_upto(y - lo, hi - lo)``; otherwise as columns ``name_limbs``:
    16-bit limbs of ``y - lo`` (little-endian), each limb range-checked and
    the top one to its exact width, so ``hi - lo + 1`` must be a power of two
    (DESIGN.md checklist 7: the top limb's range is exactly the bound).

    Raises:
        ValueError: ``hi < lo``, or a wide range that is not ``2^N`` values.
    """

    def __init__(self, name: str, lo: int, hi: int):
        span = hi - lo
        if span < 0:
            raise ValueError(f"{name}: empty range [{lo}, {hi}]")
        self.name, self.lo, self.hi = name, lo, hi
        self.widths: list[int] | None = None
        if span >= LIMB:
            bits = (span + 1).bit_length() - 1
            if 1 << bits != span + 1:
                raise ValueError(f"{name}: range [{lo}, {hi}] is wider than 16 bits and does "
                                 "not span a power of two")
            n_full = (bits - 1) // RANGE_BITS
            self.widths = [RANGE_BITS] * n_full + [bits - RANGE_BITS * n_full]

    @property
    def columns(self) -> tuple:
        if self.widths is None:
            return (self.name,)
        return ((self.name + "_limbs", len(self.widths)),)

    def expr(self, row):
        """``y`` as a degree-1 expression of the row's columns."""
        if self.widths is None:
            return row[self.name]
        out = self.lo
        for i, limb in enumerate(row[self.name + "_limbs"]):
            out = out + limb * (1 << (RANGE_BITS * i))
        return out

    def check(self, b, row, mult) -> None:
        """Send the exact range-check lookups (multiplicity ``mult``)."""
        if self.widths is None:
            check_upto(b, row[self.name] - self.lo, self.hi - self.lo, mult)
            return
        for limb, w in zip(row[self.name + "_limbs"], self.widths):
            range_check(b, limb, w, mult)

    def trace_columns(self, y: np.ndarray) -> list[np.ndarray]:
        """Main-trace columns (signed int64) holding the values ``y``."""
        y = np.asarray(y, dtype=np.int64).ravel()
        if self.widths is None:
            return [y]
        v = (y - self.lo).astype(np.uint64)  # non-negative, < 2^63
        return [((v >> np.uint64(RANGE_BITS * i)) & np.uint64(LIMB - 1)).astype(np.int64)
                for i in range(len(self.widths))]

    def lookups(self, main: np.ndarray, layout, k: int) -> list[np.ndarray]:
        """The range-table entries ``check`` looks up on the first ``k`` rows of ``main``."""
        from zkvm.field.kernels import to_signed

        if self.widths is None:
            y = to_signed(main[layout.index(self.name), :k])
            return upto_lookups(y - self.lo, self.hi - self.lo)
        cols = main[layout.index(self.name + "_limbs"), :k].astype(np.int64)
        out: list[np.ndarray] = []
        for limb, w in zip(cols, self.widths):
            out += range_lookups(limb, w)
        return out


MAXLIMBS = 3  # bounds below 2^48: wide enough for i32 data, far from wrapping p
#: bits of the widest bound the limb gadgets check (``WideInputChip`` and the segment
#: boundaries of ``zkvm.segments.plan`` take theirs from here)
MAX_LIMB_BITS = RANGE_BITS * MAXLIMBS


# ---------------------------------------------------------------- limbs helpers
def limbs_needed(bound: int) -> int:
    """16-bit limbs holding ``0 <= v <= bound`` (1 when ``bound < 2^16``); callers refuse
    more than ``MAXLIMBS``."""
    return max(1, -(-int(bound).bit_length() // RANGE_BITS))


def bound_limbs(bound: int, where: str) -> int:
    """How many 16-bit limbs prove ``0 <= v <= bound`` (1 when ``bound < 2^16``).

    Raises:
        StatementError: ``bound >= 2^48`` (``where`` names the instruction).
    """
    n = limbs_needed(bound)
    if n > MAXLIMBS:
        raise StatementError(
            f"{where}: values span {bound} (>= 2^{RANGE_BITS * MAXLIMBS}), too wide to range "
            "check; rescale the input to a narrower width first")
    return n


def check_bounded(b, value, limbs: list, bound: int, mult) -> None:
    """Lookups proving ``0 <= value <= D`` with ``bound <= D < 2^bitlen(bound)``.

    ``limbs`` empty: ``value`` (degree 1, ``bound < 2^16``) is looked up as it is
    (exact bound). Otherwise ``value = sum_k limbs[k] 2^(16k)`` is asserted,
    the low limbs are checked to 16 bits and the top one to
    ``bound >> 16(n-1)``.
    """
    if not limbs:
        check_upto(b, value, bound, mult)
        return
    acc = 0
    for k, limb in enumerate(limbs):
        acc = acc + limb * (1 << (RANGE_BITS * k))
    b.assert_eq(value, acc, f"{b.air.name}: limbs recompose the range-checked value")
    for limb in limbs[:-1]:
        range_check(b, limb, RANGE_BITS, mult)
    check_upto(b, limbs[-1], bound >> (RANGE_BITS * (len(limbs) - 1)), mult)


def split_limbs(values: np.ndarray, n: int) -> list[np.ndarray]:
    """``n`` 16-bit limbs of non-negative ``values`` (the top limb takes the rest)."""
    v = np.asarray(values, dtype=np.int64)
    mask = (1 << RANGE_BITS) - 1
    out = [(v >> (RANGE_BITS * k)) & mask for k in range(n - 1)]
    out.append(v >> (RANGE_BITS * (n - 1)))
    return out


def bounded_lookups(limbs: list[np.ndarray], bound: int) -> list[np.ndarray]:
    """The range-table entries ``check_bounded`` looks up for concrete limbs."""
    out = [np.asarray(v, dtype=np.int64).ravel() for v in limbs[:-1]]
    return out + upto_lookups(limbs[-1], bound >> (RANGE_BITS * (len(limbs) - 1)))
