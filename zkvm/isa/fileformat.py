"""Program files (``.zkvm``) and the canonical encoding behind the digest.

File layout: one msgpack array ``[MAGIC, version, zkvm_version, body,
metadata]`` where ``MAGIC = b"ZKVMPROG"``, ``body`` is a map with keys
``tensors``, ``instructions``, ``weights``, ``outputs`` and, with hashed
weights, ``commitment`` (docs/visibility.md). ``weights`` holds the *public*
weights only: private and hashed weights live in the private weights file
(``zkvm.isa.weights_file``). Version 1 is written when every weight and output is
public and no input is hashed (so older programs keep their digests);
version 2 otherwise (an older reader refuses it instead of misreading it). Arrays (weights, lut
tables) are msgpack ext type 1 holding ``[dtype, shape, raw little-endian
bytes]``; weights are stored in the smallest of int8/16/32/64 that holds their
declared width.

The canonical encoding the digest hashes is :mod:`zkvm.isa.canonical`.

``digest = blake3(b"zkvm-program-v1" + canonical(body_with_format_version))``;
the zkvm version and the metadata are not part of it.
"""

from __future__ import annotations

from typing import Any

import blake3
import msgpack
import numpy as np

from zkvm import __version__
from .canonical import canonical, canonical_into  # noqa: F401  (canonical re-exported)
from .errors import ProgramFileError
from .tensor import TensorInfo, storage_dtype

MAGIC = b"ZKVMPROG"
FORMAT_VERSION = 2
#: versions this reader accepts
READ_VERSIONS = (1, 2)
_DIGEST_DOMAIN = b"zkvm-program-v1"
_EXT_ARRAY = 1


def _tensor_record(t: TensorInfo) -> dict[str, Any]:
    return {
        "name": t.name,
        "shape": list(t.shape),
        "bits": t.bits,
        "scale": t.scale,
        "kind": t.kind,
        "visibility": t.visibility,
        "range": list(t.value_range) if t.value_range else None,
        "view": t.view,
    }


def file_version(p: Any) -> int:
    """1 for programs version 1 can express, else 2 (see module docstring)."""
    for t in p.tensors.values():
        if (t.kind in ("weight", "output") and t.visibility != "public") or (
                t.kind == "input" and t.visibility == "hashed"):
            return 2
    return 1


def program_body(p: Any) -> dict[str, Any]:
    """The program as plain data (what the file stores and the digest hashes).

    Hidden weight values are never part of it; the model commitment is.
    """
    body = {
        "format": file_version(p),
        "tensors": [_tensor_record(t) for t in p.tensors.values()],
        "instructions": [
            {"op": i.op, "inputs": list(i.inputs), "output": i.output, "attrs": dict(i.attrs)}
            for i in p.instructions
        ],
        "weights": {n: w for n, w in p.weights.items() if p.tensors[n].visibility == "public"},
        "outputs": list(p.outputs),
    }
    if getattr(p, "commitment", None) is not None:
        body["commitment"] = p.commitment.to_body()
    return body


def program_digest(p: Any) -> bytes:
    """blake3 digest naming the program (32 bytes)."""
    h = blake3.blake3(_DIGEST_DOMAIN)
    canonical_into(program_body(p), h)  # streamed: 16 B per parameter less than the bytes
    return h.digest()


def _pack_default(o: Any) -> Any:
    if isinstance(o, np.ndarray):
        lo, hi = (int(o.min()), int(o.max())) if o.size else (0, 0)
        bits = max(hi.bit_length(), (-lo - 1).bit_length()) + 1  # signed width holding lo..hi
        dt = storage_dtype(bits)
        payload = msgpack.packb([dt, list(o.shape), np.ascontiguousarray(o, dtype=dt).tobytes()])
        return msgpack.ExtType(_EXT_ARRAY, payload)
    if isinstance(o, np.integer):
        return int(o)
    raise TypeError(f"cannot store {type(o).__name__}")


def _ext_hook(code: int, data: bytes) -> Any:
    if code != _EXT_ARRAY:
        raise ProgramFileError(f"unknown msgpack extension type {code}")
    dt, shape, raw = msgpack.unpackb(data, raw=False)
    if dt not in ("<i1", "<i2", "<i4", "<i8"):
        raise ProgramFileError(f"unsupported array dtype {dt!r}")
    arr = np.frombuffer(raw, dtype=dt)
    n = int(np.prod(shape)) if shape else 1
    if arr.size != n:
        raise ProgramFileError(f"array of shape {shape} holds {arr.size} values")
    return arr.astype(np.int64).reshape(shape)


def dump_program(p: Any) -> bytes:
    """Encode a program as file bytes."""
    doc = [MAGIC, file_version(p), __version__, program_body(p), dict(p.metadata)]
    return msgpack.packb(doc, default=_pack_default, use_bin_type=True)


def write_program(p: Any, f: Any) -> None:
    """Write :func:`dump_program`'s bytes to the binary file ``f`` piece by piece.

    msgpack encodes a container as its header followed by its items, so
    packing the body's entries (and each weight) one at a time gives the same
    bytes without holding the whole encoding (169 MiB for GPT-2's blocks) and
    the packer's growing buffer at once.
    """
    packer = msgpack.Packer(default=_pack_default, use_bin_type=True)
    f.write(packer.pack_array_header(5))
    for item in (MAGIC, file_version(p), __version__):
        f.write(packer.pack(item))
    body = program_body(p)
    f.write(packer.pack_map_header(len(body)))
    for key, value in body.items():
        f.write(packer.pack(key))
        if key == "weights":
            f.write(packer.pack_map_header(len(value)))
            for name, w in value.items():
                f.write(packer.pack(name))
                f.write(packer.pack(w))
        else:
            f.write(packer.pack(value))
    f.write(packer.pack(dict(p.metadata)))


def decode_program(data: bytes) -> tuple[int, Any, Any]:
    """Decode a program file's envelope: ``(format version, body, metadata)``.

    The body is plain data; :meth:`zkvm.isa.program.Program.from_bytes`
    replays it through the builder, so a file that decodes but describes an
    inconsistent program is refused there.

    Raises:
        ProgramFileError: not a program file, wrong version, corrupt or truncated.
    """
    if not data.startswith(b"\x95\xc4\x08" + MAGIC):
        if len(data) < 11:
            raise ProgramFileError("file is empty or truncated (not a zkvm program file)")
        raise ProgramFileError(
            "not a zkvm program file (magic ZKVMPROG not found); is it a proof, a key or "
            "an assembly source? Assemble .zasm sources with 'zkvm assemble'"
        )
    try:
        doc = msgpack.unpackb(data, raw=False, ext_hook=_ext_hook, strict_map_key=True)
    except ProgramFileError:
        raise
    except Exception as e:  # msgpack raises several unrelated types on bad data
        raise ProgramFileError(f"program file is corrupt or truncated ({type(e).__name__})") from None
    if not isinstance(doc, list) or len(doc) != 5:
        raise ProgramFileError("program file is corrupt (unexpected top-level layout)")
    _, version, _producer, body, meta = doc
    if version not in READ_VERSIONS:
        raise ProgramFileError(
            f"program file format version {version!r} is not supported (this zkvm reads "
            f"versions {', '.join(map(str, READ_VERSIONS))}); re-assemble it with this zkvm"
        )
    return version, body, meta
