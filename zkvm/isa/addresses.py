"""Address maps of a program without a per-address array for every tensor.

Materialised tensors (inputs, weights, results of compute instructions) own
contiguous row-major address ranges, declared in increasing address order
(docs/architecture.md §5). So

* a materialised tensor's addresses are ``arange(base, base + size)``: they
  are made when asked for (:class:`Addresses`), not stored — storing them cost
  8 bytes per parameter of an 85M-parameter model (issue 14);
* which tensor owns an address is a binary search in the increasing bases
  (:class:`TensorIndex`), kept up to date as tensors are declared, so reading a
  view's values (a gather through its addresses) needs neither a whole-program
  memory image nor a sort per lookup (:func:`TensorIndex.gather`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

import numpy as np


class TensorIndex:
    """Which materialised tensor owns each address (bases appended in increasing order)."""

    def __init__(self) -> None:
        self._bases = np.zeros(64, dtype=np.int64)
        self._ends = np.zeros(64, dtype=np.int64)
        self.names: list[str] = []

    def add(self, name: str, base: int, size: int) -> None:
        """Record tensor ``name`` at ``[base, base + size)`` (after every earlier one)."""
        k = len(self.names)
        if k and base < self._ends[k - 1]:
            raise ValueError(f"tensor '{name}' declared at {base}, below the previous end")
        if k == len(self._bases):
            self._bases = np.concatenate([self._bases, np.zeros_like(self._bases)])
            self._ends = np.concatenate([self._ends, np.zeros_like(self._ends)])
        self._bases[k], self._ends[k] = base, base + size
        self.names.append(name)

    def locate(self, flat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(k, offset)`` per address: the owning tensor's position in :attr:`names` and the
        element inside it; ``k = -1`` for address 0 (the constant 0) and unowned addresses."""
        n = len(self.names)
        bases, ends = self._bases[:n], self._ends[:n]
        k = np.searchsorted(bases, flat, side="right") - 1
        kk = np.maximum(k, 0)
        inside = (k >= 0) & (flat < ends[kk]) if n else np.zeros(flat.shape, dtype=bool)
        k = np.where(inside, k, -1)
        return k, np.where(inside, flat - bases[kk] if n else 0, 0)

    def gather(self, addr: np.ndarray, lookup: Callable[[str], np.ndarray | None],
               lead: tuple[int, ...] = ()) -> np.ndarray | None:
        """Values at ``addr`` (any shape): ``lookup(name)`` gives a tensor's values as
        ``[*lead, size]`` (or None: unknown, and then so is the result); address 0 is 0.

        Returns an int64 array ``[*lead, *addr.shape]``.
        """
        flat = np.asarray(addr, dtype=np.int64).ravel()
        k, off = self.locate(flat)
        out = np.zeros(lead + (flat.size,), dtype=np.int64)
        if ((k < 0) & (flat != 0)).any():
            return None
        for j in np.unique(k[k >= 0]):
            src = lookup(self.names[j])
            if src is None:
                return None
            sel = k == j
            out[..., sel] = src[..., off[sel]]
        return out.reshape(lead + tuple(np.shape(addr)))


class Addresses(Mapping):
    """Tensor name -> int64 address array, as ``Program.addresses`` returns it.

    A view's addresses are stored (they are a gather); a materialised tensor's
    are the range ``base .. base + size`` made on each lookup (read-only).
    """

    def __init__(self) -> None:
        self._views: dict[str, np.ndarray] = {}
        self._ranges: dict[str, tuple[int, tuple[int, ...]]] = {}

    def materialise(self, name: str, base: int, shape: tuple[int, ...]) -> None:
        self._ranges[name] = (base, tuple(shape))

    def view(self, name: str, addr: np.ndarray) -> None:
        addr = np.ascontiguousarray(addr, dtype=np.int64)
        addr.flags.writeable = False
        self._views[name] = addr

    def __getitem__(self, name: str) -> np.ndarray:
        if name in self._views:
            return self._views[name]
        base, shape = self._ranges[name]
        a = np.arange(base, base + int(np.prod(shape, dtype=np.int64)), dtype=np.int64)
        a = a.reshape(shape)
        a.flags.writeable = False
        return a

    def __contains__(self, name: object) -> bool:
        return name in self._views or name in self._ranges

    def __iter__(self) -> Iterator[str]:
        yield from self._ranges
        yield from self._views

    def __len__(self) -> int:
        return len(self._views) + len(self._ranges)
