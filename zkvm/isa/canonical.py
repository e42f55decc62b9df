"""The canonical encoding of plain values: what program digests (and instruction keys) hash.

Independent of msgpack, of dict order and of storage widths, so the same
program always has the same digest. Defined recursively:

* ``None`` -> ``b"n"``; ``True``/``False`` -> ``b"T"``/``b"F"``
* int -> ``b"i"`` + 8 bytes little-endian two's complement (|v| < 2^63)
* float -> ``b"f"`` + 8 bytes IEEE-754 binary64 little-endian
* str -> ``b"s"`` + u32 LE byte length + UTF-8
* bytes -> ``b"b"`` + u32 LE length + bytes
* list/tuple -> ``b"l"`` + u32 LE count + items
* dict (str keys) -> ``b"d"`` + u32 LE count + (key, value) pairs sorted by the
  keys' UTF-8 bytes
* integer array -> ``b"a"`` + u32 LE ndim + each dim as u32 LE + the values as
  int64 little-endian, row-major
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np


def canonical(obj: Any) -> bytes:
    """Canonical bytes of a value (see module docstring)."""
    out: list[bytes] = []
    _canon(obj, out)
    return b"".join(out)


def canonical_into(obj: Any, sink: Any) -> None:
    """Feed the canonical bytes of ``obj`` to ``sink.update`` piece by piece (a hasher):
    the same bytes as :func:`canonical` without holding them (an array's values are
    passed as a view of its int64 buffer: no copy of a model's weights)."""
    _canon(obj, _Feed(sink))


class _Feed:
    """``append`` -> ``sink.update``: :func:`_canon` writes into it as into a list."""

    def __init__(self, sink: Any) -> None:
        self.sink = sink

    def append(self, piece: Any) -> None:
        self.sink.update(piece)


def _canon(o: Any, out: Any) -> None:
    if o is None:
        out.append(b"n")
    elif isinstance(o, (bool, np.bool_)):
        out.append(b"T" if o else b"F")
    elif isinstance(o, (int, np.integer)):
        out.append(b"i" + int(o).to_bytes(8, "little", signed=True))
    elif isinstance(o, (float, np.floating)):
        out.append(b"f" + struct.pack("<d", float(o)))
    elif isinstance(o, str):
        b = o.encode("utf-8")
        out.append(b"s" + struct.pack("<I", len(b)) + b)
    elif isinstance(o, (bytes, bytearray)):
        out.append(b"b" + struct.pack("<I", len(o)) + bytes(o))
    elif isinstance(o, np.ndarray):
        if o.dtype.kind not in "iub":
            raise TypeError(f"only integer arrays have a canonical encoding, got {o.dtype}")
        out.append(b"a" + struct.pack("<I", o.ndim) + b"".join(struct.pack("<I", d) for d in o.shape))
        vals = np.ascontiguousarray(o, dtype="<i8").reshape(-1)
        out.append(vals.tobytes() if isinstance(out, list) else memoryview(vals).cast("B"))
    elif isinstance(o, (list, tuple)):
        out.append(b"l" + struct.pack("<I", len(o)))
        for x in o:
            _canon(x, out)
    elif isinstance(o, dict):
        items = sorted(o.items(), key=lambda kv: kv[0].encode("utf-8"))
        out.append(b"d" + struct.pack("<I", len(items)))
        for k, v in items:
            _canon(k, out)
            _canon(v, out)
    else:
        raise TypeError(f"cannot encode {type(o).__name__} canonically")
