"""Conventions every VM chip shares: buses, the memory argument, range checks, padding.

The memory bus (DESIGN.md "The bus"). Every tensor element has one address
fixed by the program. The chip that produces an element *sends*
``(addr, value)`` on ``BUS_MEM`` with multiplicity = the number of times the
element is read through the bus (the verifier counts reading a public output
as one read); every read *receives* ``(addr, value)`` once. Addresses,
multiplicities and on/off selectors are preprocessed columns derived from
the program, so the prover cannot redirect a read or drop a write; padding
rows have multiplicity 0 and contribute nothing. Address 0 is the constant
0 (padding of views): the verifier sends ``(0, 0)`` itself, as it does
``(addr, x)`` for every public input and receives ``(addr, y)`` for every
public output.

Range checks go to one preprocessed table ``0 .. 2^RANGE_BITS - 1``
(``BUS_RANGE``, tuple ``(value,)``). ``range_check`` checks a value lies in
``[0, 2^bits)`` for ``bits <= RANGE_BITS`` *exactly* (two lookups when
``bits < RANGE_BITS``: ``v`` and ``v + 2^RANGE_BITS - 2^bits``), as DESIGN.md
soundness checklist 7 asks. Signed values are shifted by ``2^(bits-1)``
first. Wider values are split into 16-bit limbs by the chip (columns it
declares), with the recomposition constrained and the top limb checked to
the exact remaining width.

Lookup tables of non-linear functions use ``BUS_LUT`` with tuples
``(table_id, x, f(x))``.

A VM chip is an ``Air`` whose constraints depend only on its structural
``params`` (recorded in the verifying key) and whose preprocessed columns are
made from ``self.data`` (filled from the program at setup; never needed by
the verifier, who has the preprocessed roots in the key).

The seam between the VM and the chips is typed and has one method: the
runtime records an :class:`~zkvm.isa.events.Execution` (one
:class:`~zkvm.isa.events.Event` per compute instruction), the statement wraps
it in a :class:`Witness`, and every chip builds its main trace with
``witness(w: Witness) -> trace``. Chips made from one instruction derive from
:class:`EventChip` and implement ``trace(execution, event)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field as dc_field
from typing import TYPE_CHECKING, Any

import numpy as np

from zkvm.air.air import Air
from zkvm.field.scalar import P

if TYPE_CHECKING:  # the verifier loads the chips but never the ISA package
    from zkvm.isa.events import Event, Execution

BUS_MEM = 1
BUS_RANGE = 2
BUS_LUT = 3

RANGE_BITS = 16
# Tables are at least 256 rows. Any table needs 32 (FRI's final codeword at every preset) and,
# in zk mode, n_queries + 2; 256 puts the many small tables of a model in one height group,
# which cuts the Merkle trees of a proof (MLP 784-128-10: 20 -> 12 trees, verify 74 -> 39 ms,
# proof 247 -> 223 KiB, same prover CPU time; measured with a /tmp script on an idle machine).
MIN_LOG_HEIGHT = 8
MIN_LOG_HEIGHT_ZK = 8


def log_height_for(n_rows: int, zk: bool) -> int:
    """Smallest power-of-two height holding ``n_rows`` rows (and the minimum)."""
    lo = MIN_LOG_HEIGHT_ZK if zk else MIN_LOG_HEIGHT
    return max(lo, (max(n_rows, 1) - 1).bit_length())


def field(x: np.ndarray) -> np.ndarray:
    """Signed int64 values -> canonical ``uint64`` field elements."""
    x = np.asarray(x, dtype=np.int64)
    return np.where(x < 0, np.uint64(P) - (-x).astype(np.uint64), x.astype(np.uint64)).astype(
        np.uint64)


def pad_columns(cols: list[np.ndarray], n: int, fill: int = 0) -> np.ndarray:
    """Stack 1-D int64/uint64 columns (signed allowed) and pad them to ``n`` rows."""
    out = np.full((len(cols), n), np.uint64(fill % P), dtype=np.uint64)
    for i, c in enumerate(cols):
        c = np.asarray(c).ravel()
        out[i, : c.size] = field(c) if c.dtype != np.uint64 else c
    return out


def rows_with_on(data: dict, names: list[str], n: int) -> np.ndarray:
    """Preprocessed columns ``data[name]`` for each name, then ``on`` (1 on the k used rows).

    ``k`` is the length of the first column; all are padded with 0 to ``n`` rows.
    """
    k = np.asarray(data[names[0]]).size
    return pad_columns([data[x] for x in names] + [np.ones(k, np.int64)], n)


def range_check(b, value: Any, bits: int, mult: Any = 1) -> None:
    """Send lookups proving ``0 <= value < 2^bits`` (``bits <= RANGE_BITS``)."""
    if not 0 < bits <= RANGE_BITS:
        raise ValueError(f"range_check: {bits} bits; split wider values into limbs")
    b.send(BUS_RANGE, [value], mult)
    if bits < RANGE_BITS:
        b.send(BUS_RANGE, [value + ((1 << RANGE_BITS) - (1 << bits))], mult)


def range_lookups(values: np.ndarray, bits: int) -> list[np.ndarray]:
    """The table entries ``range_check`` looks up for concrete values (for the counts)."""
    v = np.asarray(values, dtype=np.int64).ravel()
    out = [v]
    if bits < RANGE_BITS:
        out.append(v + ((1 << RANGE_BITS) - (1 << bits)))
    return out


@dataclass
class Witness:
    """Everything a chip may read to build its main trace: one object, one signature.

    Attributes:
        execution: the run of the program (values of every tensor, events).
        memory: the memory image as field elements (``uint64``) or signed
            ``int64``: the execution's memory, extended with the salts,
            headers and packed values of hashed tensors.
        range_lookups: the range-table entries every other chip looks up
            (filled by the statement before the chips that
            ``reads_range_lookups``).
        digests: the digests the hash chip computed (one per hash job).
    """

    execution: Execution
    memory: np.ndarray
    range_lookups: list[np.ndarray] = dc_field(default_factory=list)
    digests: list[list[int]] = dc_field(default_factory=list)

    def __post_init__(self) -> None:
        self._events = {e.index: e for e in self.execution.events}

    def event(self, index: int) -> Event:
        """The event of instruction ``index``."""
        return self._events[index]


class VmChip(Air):
    """An ``Air`` with setup-time data for its preprocessed columns.

    Subclasses implement ``preprocessed_trace`` from ``self.data`` and
    :meth:`witness`, the one way the statement asks a chip for its main trace.
    ``source`` names what the chip proves (an instruction index, a tensor
    name, ...; set by its planner).
    """

    #: True for chips that look values up in the range table (it is added when one does)
    uses_range: bool = False
    #: True for tables whose witness counts the other chips' range lookups
    reads_range_lookups: bool = False
    source: Any = None

    def __init__(self, log_height: int, params: dict | None = None,
                 data: dict[str, np.ndarray] | None = None):
        super().__init__(log_height, params)
        self.data = data or {}

    def range_values(self, main: np.ndarray) -> list[np.ndarray]:
        """Concrete values this chip looks up in the range table (for its multiplicities).

        Default: none. Chips that call ``range_check`` return the same values
        (for rows whose multiplicity is 1) via ``range_lookups``.
        """
        return []

    def witness(self, w: Witness) -> np.ndarray:
        """The main trace (``uint64``, one row per column) of this chip in the run ``w``."""
        raise NotImplementedError(f"{type(self).__name__} builds no witness")


class EventChip(VmChip):
    """A chip proving one compute instruction: its trace comes from that instruction's event.

    ``source`` is the instruction's index; subclasses implement
    ``trace(execution, event)``.
    """

    def trace(self, ex: Execution, event: Event) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def witness(self, w: Witness) -> np.ndarray:
        return self.trace(w.execution, w.event(self.source))
