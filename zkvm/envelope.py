"""The envelope shared by zkvm's msgpack files (verifying key, proof, private weights).

A file is a msgpack map ``{"magic", "format", "zkvm", <field>: payload}``.
Reading checks, in order, that it decodes, that the magic names the
expected kind, and that the format version is one this zkvm reads, and
raises the caller's error type with a message that says which. Plain
msgpack, no numba: the verifier reads keys and proofs with it.
"""

from __future__ import annotations

import contextlib
import gc
from typing import Any, Callable

import msgpack

from zkvm import __version__


def load_file(path: str, parse: Callable[[bytes], Any], error: type[Exception], what: str) -> Any:
    """Read ``path`` and ``parse`` its bytes; errors become ``error`` naming the file.

    Raises:
        ``error``: the file cannot be read (``"cannot read WHAT file PATH: ..."``),
            or ``parse`` raised ``error`` (its message prefixed with the path).
    """
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise error(f"cannot read {what} file {path}: {e.strerror}") from None
    try:
        return parse(data)
    except error as e:
        raise error(f"{path}: {e}") from None


@contextlib.contextmanager
def no_gc():
    """Pause the cyclic garbage collector while a decoder builds many small containers.

    Each of them would otherwise count towards a collection, and a file of a
    million tiny lists makes the collector run again and again over all of
    them (msgpack's documentation gives the same advice). Nothing decoded
    here holds a cycle.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def pack(magic: bytes, fmt: int, field: str, payload: Any) -> bytes:
    """Encode ``payload`` under ``field`` with the magic, format and zkvm version."""
    return msgpack.packb({"magic": magic, "format": fmt, "zkvm": __version__, field: payload},
                         use_bin_type=True)


def unpack(data: bytes, magic: bytes, fmt: int | tuple[int, ...], field: str | None,
           error: type[Exception],
           what: str, hint: str) -> Any:
    """Decode an envelope of kind ``what`` and return its payload (``field=None``: the map).

    Raises:
        ``error``: undecodable (corrupt or truncated), another kind of file
            (``hint`` says what to check), or an unsupported format version.
    """
    try:
        with no_gc():
            d = msgpack.unpackb(data, raw=False, strict_map_key=False)
    except Exception as e:  # msgpack raises several unrelated types on bad data
        raise error(f"not a zkvm {what} (undecodable: {type(e).__name__}); "
                    "is it truncated or corrupt?") from None
    if not isinstance(d, dict) or d.get("magic") != magic:
        raise error(f"not a zkvm {what} (magic {magic.decode()} not found): {hint}")
    fmts = fmt if isinstance(fmt, tuple) else (fmt,)
    if d.get("format") not in fmts:
        raise error(f"{what} format {d.get('format')!r} is not supported "
                    f"(this zkvm reads format {' or '.join(str(f) for f in fmts)})")
    if field is None:
        return d
    if field not in d:
        raise error(f"{what} is corrupt (no {field!r} section)")
    return d[field]
