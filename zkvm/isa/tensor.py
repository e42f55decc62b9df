"""Tensor metadata and instructions: the nouns of a zkvm program.

A tensor holds signed integers of a declared width ``iN`` (``2 <= N <= 63``)
that stand for the real values ``v / 2**scale``. See docs/isa.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .canonical import canonical
from .errors import IsaError

#: Largest magnitude any value may take: Goldilocks p ~ 2^64, so values below
#: 2^62 leave room for the chips' sums without wrapping (docs/isa.md "Field").
FIELD_SAFE_BITS = 62
MAX_BITS = 63
#: Declared scales (and lut output scales) lie in [-MAX_SCALE, MAX_SCALE].
MAX_SCALE = 62
KINDS = ("input", "weight", "intermediate", "output")
#: ``hashed``: private, bound to a public Poseidon2 digest (docs/visibility.md).
VISIBILITIES = ("public", "private", "hashed")
#: Widths the assembler picks for a result with no annotation.
STANDARD_BITS = (8, 16, 32, 63)


def bits_range(bits: int) -> tuple[int, int]:
    """The signed range ``[-2^(bits-1), 2^(bits-1) - 1]`` of ``iN``."""
    if not 2 <= bits <= MAX_BITS:
        raise IsaError(f"width i{bits} is not supported (use i2 .. i{MAX_BITS})")
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


def storage_dtype(bits: int) -> str:
    """Little-endian numpy dtype string used to store values of width ``bits``."""
    for nbytes, code in ((1, "<i1"), (2, "<i2"), (4, "<i4")):
        if bits <= 8 * nbytes:
            return code
    return "<i8"


@dataclass(frozen=True)
class TensorInfo:
    """One named tensor of a program.

    Attributes:
        name: unique name (single assignment).
        shape: dimensions (``()`` for a scalar).
        bits: declared signed width N of ``iN``.
        scale: fixed-point exponent s; an integer v stands for ``v / 2**s``.
        kind: ``input``, ``weight``, ``intermediate`` or ``output``.
        visibility: ``public``, ``private`` or ``hashed`` for inputs, weights and
            outputs (docs/visibility.md); ``public`` for every other tensor.
        value_range: for inputs, an optional narrower declared range ``(lo, hi)``.
        view: True when the tensor is an address map of others (owns no addresses).
    """

    name: str
    shape: tuple[int, ...]
    bits: int
    scale: int
    kind: str = "intermediate"
    visibility: str = "public"
    value_range: tuple[int, int] | None = None
    view: bool = False

    @property
    def size(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n

    @property
    def lo(self) -> int:
        """Smallest value the tensor may hold (declared range)."""
        return self.value_range[0] if self.value_range else bits_range(self.bits)[0]

    @property
    def hi(self) -> int:
        """Largest value the tensor may hold (declared range)."""
        return self.value_range[1] if self.value_range else bits_range(self.bits)[1]

    @property
    def type_str(self) -> str:
        return f"i{self.bits}[{','.join(map(str, self.shape))}]"


@dataclass(frozen=True, eq=False)
class Instruction:
    """One instruction: ``output = op inputs..., attrs``.

    Attributes are normalised by the ISA (explicit axes, non-negative indices),
    so equal programs have equal encodings. ``where`` is the source position
    (``file:line``) for messages; it is not part of the program's digest.
    """

    op: str
    inputs: tuple[str, ...]
    output: str
    attrs: dict[str, Any] = field(default_factory=dict)
    where: str = field(default="", compare=False)

    def _key(self) -> bytes:
        return canonical([self.op, list(self.inputs), self.output, dict(self.attrs)])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Instruction) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def describe(self) -> str:
        """Assembly-like one-line rendering for error messages."""
        parts = list(self.inputs)
        for k, v in self.attrs.items():
            if k == "table":
                continue
            parts.append(f"{k}={_short(v)}")
        loc = f" at {self.where}" if self.where else ""
        return f"'{self.output} = {self.op} {', '.join(parts)}'{loc}"


def _short(v: Any) -> str:
    s = str(v).replace(" ", "")
    return s if len(s) <= 40 else s[:37] + "..."
