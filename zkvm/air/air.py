"""The AIR a chip declares: its columns, its constraints and its bus interactions.

A chip writes its rules once, in ``eval(b)``, against a *builder* ``b``; the
same method runs under several builders (see ``zkvm.air.builder``):

* the symbolic builder computes each constraint's degree and collects the
  bus interactions (what the prover sizes its quotient with, and what the
  verifier checks a verifying key against);
* the debug builder checks a concrete trace row by row and names the chip,
  the constraint (its source line) and the row that fails;
* the prover's builder evaluates whole columns over the quotient domain;
* the verifier's builder evaluates the constraints at the out-of-domain point.

This follows the design of Plonky3's ``Air``/``AirBuilder`` (one ``eval``,
many builders) with Python duck typing in place of generics.

Columns are declared as names, or ``(name, count)`` for a group of ``count``
columns that the builder exposes as a list (e.g. the lanes of a
multiply-accumulate row). ``b.main.acc`` is the current row, ``b.next.acc``
the next row (read only through this window, never as a copy in the same
row), ``b.pre.x`` / ``b.pre_next.x`` the preprocessed columns, and
``b.public.name`` a public value of the table.

Bus interactions are declared inside ``eval`` with ``b.send(bus, values,
multiplicity)`` and ``b.receive(bus, values, multiplicity)``; the framework
turns them into LogUp columns and constraints (``zkvm.air.logup``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence


ColumnSpec = str | tuple[str, int]


#: the most columns one table may have: checked before anything is sized by a count, so a
#: hostile key cannot make the verifier build a huge layout (honest chips use a few hundred)
MAX_WIDTH = 1 << 13


@dataclass(frozen=True)
class Layout:
    """Where each named column (or column group) lives in a flat row.

    Only the slices are computed up front (one entry per name or group); the
    per-column names, needed by the symbolic and debug builders, are spelled
    out on first use, so sizing a hostile key's layout costs nothing
    proportional to its declared widths.
    """

    slices: dict[str, int | slice]
    width: int

    @property
    def names(self) -> tuple[str, ...]:
        """One name per column: ``acc`` or ``x[3]``."""
        out: list[str] = []
        for name, where in self.slices.items():
            if isinstance(where, slice):
                out.extend(f"{name}[{i}]" for i in range(where.stop - where.start))
            else:
                out.append(name)
        return tuple(out)

    @classmethod
    def of(cls, specs: Sequence[ColumnSpec]) -> "Layout":
        slices: dict[str, int | slice] = {}
        width = 0
        for spec in specs:
            if isinstance(spec, str):
                name, count = spec, None
            else:
                name, count = spec
            if not name.isidentifier() or name in slices:
                raise ValueError(f"bad or duplicate column name {name!r}")
            if count is None:
                slices[name] = width
                width += 1
            else:
                if type(count) is not int or count < 1:
                    raise ValueError(f"column group {name!r} needs a positive integer count")
                if width + count > MAX_WIDTH:
                    raise ValueError(f"column group {name!r}: more than {MAX_WIDTH} columns in "
                                     "one table")
                slices[name] = slice(width, width + count)
                width += count
        return cls(slices, width)

    def index(self, name: str) -> int | slice:
        return self.slices[name]


class Row:
    """Named access to one row window of values: ``row.acc`` or ``row.x[3]``."""

    __slots__ = ("_layout", "_values")

    def __init__(self, layout: Layout, values: Sequence[Any]):
        self._layout = layout
        self._values = values

    def __getattr__(self, name: str) -> Any:
        try:
            where = self._layout.slices[name]
        except KeyError:
            raise AttributeError(f"no column named {name!r}") from None
        if isinstance(where, slice):
            return list(self._values[where])
        return self._values[where]

    def __getitem__(self, name: str) -> Any:
        return self.__getattr__(name)

    def all(self) -> list[Any]:
        return list(self._values)


@dataclass(frozen=True)
class Interaction:
    """One bus message a table sends (``sign=+1``) or receives (``sign=-1``).

    ``values`` and ``multiplicity`` are builder values (expressions in the
    symbolic builder). Every tuple carries its bus id, so messages of
    different buses can never cancel (DESIGN.md, soundness checklist 6).
    """

    bus: int
    values: tuple[Any, ...]
    multiplicity: Any
    sign: int


class Air:
    """Base class of a chip's AIR.

    Subclasses set the class attributes ``name``, ``main_columns``, optionally
    ``preprocessed_columns`` and ``public_names``, and implement ``eval``.
    ``log_height`` is the table's height (a power of two) fixed by the
    statement (for the VM: by the program). ``params`` are what the verifying
    key records to rebuild the chip (see ``spec``): a chip's constraints and
    preprocessed columns must be a pure function of them.
    """

    name: str = "air"
    main_columns: tuple[ColumnSpec, ...] = ()
    preprocessed_columns: tuple[ColumnSpec, ...] = ()
    public_names: tuple[str, ...] = ()

    def __init__(self, log_height: int, params: dict | None = None):
        if not 0 <= log_height <= 28:
            raise ValueError(f"{self.name}: log_height {log_height} out of range")
        self.log_height = log_height
        self.params = dict(params or {})
        self.main_layout = Layout.of(self.main_columns)
        self.pre_layout = Layout.of(self.preprocessed_columns)

    # --- what a chip implements -------------------------------------------
    def eval(self, b) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def preprocessed_trace(self):
        """Preprocessed columns as a ``uint64`` array ``(n_cols, 2^log_height)``.

        Only chips that declare preprocessed columns implement this; the
        result must be a pure function of ``params`` and ``log_height`` (it
        is recomputed by anyone who derives the verifying key).
        """
        raise NotImplementedError(f"{self.name} declares no preprocessed trace")

    # --- derived -----------------------------------------------------------
    @property
    def n_rows(self) -> int:
        return 1 << self.log_height

    @property
    def main_width(self) -> int:
        return self.main_layout.width

    @property
    def pre_width(self) -> int:
        return self.pre_layout.width

    def spec(self) -> dict:
        """The serialisable description the verifying key stores."""
        return {"kind": self.name, "log_height": self.log_height, "params": self.params}
