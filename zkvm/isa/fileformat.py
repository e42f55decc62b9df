"""Program files (``.zkvm``) and the canonical encoding behind the digest.

File layout: one msgpack array ``[MAGIC, version, zkvm_version, body,
metadata]`` where ``MAGIC = b"ZKVMPROG"``, ``body`` is a map with keys
``tensors``, ``instructions``, ``weights``, ``outputs`` and, with hashed
weights, ``commitment`` (docs/visibility.md). ``weights`` holds the *public*
weights only: private and hashed weights live in the private weights file
(``zkvm.weights_file``). Version 1 is written when every weight and output is
public and no input is hashed (so older programs keep their digests);
version 2 otherwise (an older reader refuses it instead of misreading it). Arrays (weights, lut
tables) are msgpack ext type 1 holding ``[dtype, shape, raw little-endian
bytes]``; weights are stored in the smallest of int8/16/32/64 that holds their
declared width.

Canonical encoding (what the digest hashes; independent of msgpack, of dict
order and of storage widths), defined recursively:

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

``digest = blake3(b"zkvm-program-v1" + canonical(body_with_format_version))``;
the zkvm version and the metadata are not part of it.
"""

from __future__ import annotations

import struct
from typing import Any

import blake3
import msgpack
import numpy as np

from .. import __version__
from .errors import ProgramFileError, ZkvmError
from .tensor import TensorInfo, storage_dtype

MAGIC = b"ZKVMPROG"
FORMAT_VERSION = 2
#: versions this reader accepts
READ_VERSIONS = (1, 2)
_DIGEST_DOMAIN = b"zkvm-program-v1"
_EXT_ARRAY = 1


def canonical(obj: Any) -> bytes:
    """Canonical bytes of a value (see module docstring)."""
    out: list[bytes] = []
    _canon(obj, out)
    return b"".join(out)


def _canon(o: Any, out: list[bytes]) -> None:
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
        out.append(np.ascontiguousarray(o, dtype="<i8").tobytes())
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
    return blake3.blake3(_DIGEST_DOMAIN + canonical(program_body(p))).digest()


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


def load_program(data: bytes) -> Any:
    """Decode and re-validate a program file.

    Every declaration and instruction is replayed through the builder, so a
    file that decodes but describes an inconsistent program is refused too.

    Raises:
        ProgramFileError: not a program file, wrong version, corrupt, truncated
            or inconsistent.
    """
    from .program import ProgramBuilder

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
    try:
        b = ProgramBuilder()
        for k, v in dict(meta).items():
            b.meta(k, v)
        instructions = iter(body["instructions"])
        for t in body["tensors"]:
            if t["kind"] == "input":
                rng = tuple(t["range"]) if t["range"] is not None else None
                b.input(t["name"], t["shape"], t["bits"], t["scale"], t["visibility"], rng)
            elif t["kind"] == "weight":
                values = body["weights"][t["name"]] if t["visibility"] == "public" else None
                b.weight(t["name"], values, t["bits"], t["scale"], tuple(t["shape"]),
                         t["visibility"])
            else:
                ins = next(instructions)
                if ins["output"] != t["name"]:
                    raise ProgramFileError("tensor table and instructions are out of order")
                info = b.instruction(ins["op"], ins["inputs"], ins["output"], ins["attrs"],
                                     t["bits"])
                if list(info.shape) != list(t["shape"]) or info.scale != t["scale"]:
                    raise ProgramFileError(f"tensor '{info.name}' does not match its instruction")
        if next(instructions, None) is not None:
            raise ProgramFileError("program file has instructions with no tensor entry")
        vis = {t["name"]: t["visibility"] for t in body["tensors"]}
        for name in body["outputs"]:
            b.output(name, visibility=vis.get(name, "public"))
        if body.get("commitment") is not None:
            from .hidden import ModelCommitment

            b.commitment = ModelCommitment.from_body(body["commitment"])
        if version == 1 and (b.commitment is not None or b.hidden):
            raise ProgramFileError("a version 1 program file cannot hold hidden weights")
        prog = b.build()
        if file_version(prog) != version:
            raise ProgramFileError(f"program file says version {version} but describes a "
                                   f"version {file_version(prog)} program")
    except ProgramFileError:
        raise
    except ZkvmError as e:
        raise ProgramFileError(f"program file describes an invalid program: {e}") from None
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, StopIteration) as e:
        raise ProgramFileError(f"program file is corrupt ({type(e).__name__}: {e})") from None
    return prog
