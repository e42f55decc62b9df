"""Bundle files: a segmented proof and a bundle verifying key, read one segment at a time.

A bundle file is a stream of msgpack objects. The first is the usual
envelope (``zkvm.envelope``: ``{"magic", "format", "zkvm", <field>: header}``);
then come ``n_segments`` binary objects, each a complete segment file (a
``StarkProof`` or a ``VerifyingKey``, with its own envelope). A reader decodes
the header, then one segment at a time (``msgpack.Unpacker`` over the open
file), so its memory follows the largest segment, not the model.

Last comes a trailer map (what is only known once every segment is done).

* Proof (magic ``ZKVMBNDL``, format 1): header ``{program, params,
  n_segments, security, inputs}`` -- the program digest, the segmentation
  parameters, the claimed public inputs of the whole program (integers,
  row-major); segments ``StarkProof`` bytes in order; trailer ``{outputs}``,
  the claimed public outputs (the prover learns them from the last segments,
  and streams every segment out before it).
* Key (magic ``ZKVMBKEY``, format 1): header ``{program, params, n_segments,
  security, chain, io}`` -- ``chain`` lists per segment the role of each
  input and output name (``input``/``output``: the program's own,
  ``boundary``: crossing between segments; ``zkvm.segments.verify``), ``io``
  the program's inputs and outputs (name, shape, scale, visibility); segments
  ``VerifyingKey`` bytes in order; trailer ``{}``. Derived from the program (``zkvm setup
  --segment-rows``); with it, ``zkvm verify --key`` needs no program.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any, Iterator

import msgpack

from zkvm import __version__
from zkvm.stark.errors import ProofFormatError

PROOF_MAGIC = b"ZKVMBNDL"
KEY_MAGIC = b"ZKVMBKEY"
FORMAT = 1
#: largest single object a reader accepts (a segment proof or key)
MAX_OBJECT = 1 << 31


class BundleFormatError(ProofFormatError):
    """A bundle file is not well formed (kind, version, truncation, header fields)."""


def is_bundle(path: str, magic: bytes = PROOF_MAGIC) -> bool:
    """True when ``path`` starts like a bundle of that kind (reads 64 bytes)."""
    try:
        with open(path, "rb") as f:
            return magic in f.read(64)
    except OSError:
        return False


class BundleWriter:
    """Writes the header, then each segment's bytes as it comes (``add``)."""

    def __init__(self, path: str, magic: bytes, field: str, header: dict) -> None:
        self.path = path
        self.n = int(header["n_segments"])
        self.count = 0
        self._f = open(path, "wb")
        self._f.write(msgpack.packb({"magic": magic, "format": FORMAT, "zkvm": __version__,
                                     field: header}, use_bin_type=True))

    def add(self, data: bytes) -> None:
        if self.count >= self.n:
            raise ValueError("more segments than the header announces")
        self._f.write(msgpack.packb(bytes(data), use_bin_type=True))
        self.count += 1

    def close(self, trailer: dict | None = None) -> None:
        """Write the trailer and close; refuses (and deletes) a bundle with missing segments."""
        if self.count == self.n:
            self._f.write(msgpack.packb(trailer or {}, use_bin_type=True))
        self._f.close()
        if self.count != self.n:
            os.unlink(self.path)
            raise ValueError(f"bundle {self.path}: {self.count} of {self.n} segments written")

    def __enter__(self) -> BundleWriter:
        return self

    def __exit__(self, *exc: Any) -> None:
        if exc[0] is not None:   # a failed prover leaves no partial bundle behind
            self._f.close()
            with contextlib.suppress(OSError):
                os.unlink(self.path)
            return
        if not self._f.closed:
            self.close()


class BundleReader:
    """The header (``.header``) and the segments' bytes one at a time (``segments()``)."""

    def __init__(self, path: str, magic: bytes, field: str, what: str) -> None:
        self.what = what
        try:
            self._f = open(path, "rb")
        except OSError as e:
            raise BundleFormatError(f"cannot read {what} {path}: {e.strerror}") from None
        self._u = msgpack.Unpacker(self._f, raw=False, strict_map_key=False,
                                   max_buffer_size=MAX_OBJECT)
        d = self._next(f"{path} is not a zkvm {what}")
        if not isinstance(d, dict) or d.get("magic") != magic:
            raise BundleFormatError(f"{path} is not a zkvm {what} (magic {magic.decode()} not "
                                    "found)")
        if d.get("format") != FORMAT:
            raise BundleFormatError(f"{what} format {d.get('format')!r} is not supported (this "
                                    f"zkvm {__version__} reads format {FORMAT})")
        h = d.get(field)
        if not isinstance(h, dict) or not isinstance(h.get("n_segments"), int) or \
                h["n_segments"] < 1:
            raise BundleFormatError(f"{path}: malformed {what} header")
        self.header = h
        self.path = path
        self.trailer: dict | None = None

    def _next(self, msg: str) -> Any:
        try:
            return next(self._u)
        except StopIteration:
            raise BundleFormatError(f"{msg} (truncated)") from None
        except Exception as e:  # msgpack raises several unrelated types on bad data
            raise BundleFormatError(f"{msg} (undecodable: {type(e).__name__})") from None

    def segments(self) -> Iterator[bytes]:
        """Each segment's bytes, in order; then reads the trailer and checks nothing follows."""
        n = self.header["n_segments"]
        for i in range(n):
            b = self._next(f"{self.path}: segment {i + 1} of {n} missing")
            if not isinstance(b, bytes):
                raise BundleFormatError(f"{self.path}: segment {i + 1} is not a byte string")
            yield b
        t = self._next(f"{self.path}: the trailer after the {n} segments is missing")
        if not isinstance(t, dict):
            raise BundleFormatError(f"{self.path}: the trailer is not a map")
        self.trailer = t
        try:
            next(self._u)
        except StopIteration:
            return
        except Exception:
            pass
        raise BundleFormatError(f"{self.path}: data after the {n} segments the header announces")

    def close(self) -> None:
        self._f.close()

    def __enter__(self) -> BundleReader:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
