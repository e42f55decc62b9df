"""The private weights file (``.zkw``): hidden weight values and the commitment's salt.

``zkvm assemble/compile … --weights hashed`` writes two files: the public
program (shapes, scales, the model commitment; no weight values) and this
one, which only the model owner keeps. ``zkvm run PROGRAM --weights FILE
--prove`` binds them (``Program.bind_weights`` checks that the values and the
salt hash to the program's commitment) and proves.

File layout: a msgpack map ``{"magic": b"ZKVMWGHT", "format": 1 | 2, "zkvm":
version, "program": program digest (32 bytes, informational), "hashed":
[names in commitment order], "header": [ints] (the commitment's public
header), "commitment": [4 ints] | None, "salt": [ints] | None, "weights":
{name: [dtype, shape, raw little-endian bytes]}}``; format 2 (a per-tensor
commitment) adds ``"scheme"`` (``zkvm.isa.hidden.SCHEMES``) and its ``salt``
is every part's salt, concatenated; format 1 holds a one-sponge commitment
(or none). Reading a file of another kind or version, or a truncated/corrupt
one, raises :class:`WeightsFileError` with what to do.

Keep this file secret: the salt is what makes the commitment hiding.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgpack
import numpy as np

from zkvm import __version__, envelope
from .errors import ZkvmError
from .hidden import SCHEME, SCHEMES, commitment_message, hash_tensors, header_infos, top_digest
from .tensor import storage_dtype

WEIGHTS_MAGIC = b"ZKVMWGHT"
#: format 2: a per-tensor commitment (``scheme``; ``salt`` is every part's salt, concatenated);
#: format 1 (still read and written for them): a one-sponge commitment, no ``scheme``
WEIGHTS_FORMAT = 2
_DTYPES = ("<i1", "<i2", "<i4", "<i8")


class WeightsFileError(ZkvmError):
    """A private weights file is not readable (wrong kind, version, or corrupt)."""


@dataclass
class PrivateWeights:
    """Values of a program's private/hashed weights and the model commitment's salt.

    Attributes:
        values: int64 arrays by weight name.
        salt: the commitment's salt (None when no weight is hashed).
        commitment: the digest the values and salt hash to (None without hashed weights).
        program_digest: the program this file was written with (informational).
        hashed: the hashed weights, in the order the commitment absorbs them.
        header: the public header absorbed before the values (shapes, widths,
            scales: ``zkvm.isa.hidden.commitment_header``).
        scheme: the commitment's scheme (``zkvm.isa.hidden.SCHEMES``).
    """

    values: dict[str, np.ndarray]
    salt: list[int] | None = None
    commitment: list[int] | None = None
    program_digest: bytes = b""
    hashed: list[str] = field(default_factory=list)
    header: list[int] = field(default_factory=list)
    scheme: str = SCHEME

    def recompute(self) -> list[int] | None:
        """The commitment these values and salt hash to (None without hashed weights)."""
        if not self.hashed:
            return None
        missing = [n for n in self.hashed if n not in self.values]
        if missing or self.salt is None:
            raise WeightsFileError(f"weights file lacks the values of hashed weight "
                                   f"'{missing[0]}'" if missing else "weights file has no salt")
        infos = header_infos(self.header)
        if len(infos) != len(self.hashed) or any(
                tuple(i.shape) != tuple(self.values[n].shape) for i, n in zip(infos, self.hashed)):
            raise WeightsFileError("weights file is inconsistent: its header does not describe "
                                   "its hashed weights")
        if self.scheme not in SCHEMES:
            raise WeightsFileError(f"weights file: unknown commitment scheme {self.scheme!r}")
        vals = [self.values[n] for n in self.hashed]
        k = len(self.salt) // max(1, len(infos))
        if self.scheme != SCHEME and (k < 2 or k * len(infos) != len(self.salt)):
            raise WeightsFileError("weights file: its salt is not one salt (of at least 2 "
                                   "elements) per hashed weight")
        try:
            if self.scheme == SCHEME:
                return hash_tensors([commitment_message(infos, vals)], self.salt)
            parts = [hash_tensors([commitment_message([i], [v])], self.salt[j * k:(j + 1) * k])
                     for j, (i, v) in enumerate(zip(infos, vals))]
        except ZkvmError as e:
            raise WeightsFileError(f"weights file: {e}") from None
        return top_digest(parts)

    @property
    def n_values(self) -> int:
        return sum(int(v.size) for v in self.values.values())

    # --- file --------------------------------------------------------------
    def to_bytes(self) -> bytes:
        def arr(v: np.ndarray) -> list:
            v = np.asarray(v, dtype=np.int64)
            lo, hi = (int(v.min()), int(v.max())) if v.size else (0, 0)
            dt = storage_dtype(max(hi.bit_length(), (-lo - 1).bit_length()) + 1)
            return [dt, list(v.shape), np.ascontiguousarray(v, dtype=dt).tobytes()]

        fmt = 1 if self.scheme == SCHEME else WEIGHTS_FORMAT
        doc = {"magic": WEIGHTS_MAGIC, "format": fmt, "zkvm": __version__,
               "program": bytes(self.program_digest), "hashed": list(self.hashed),
               "header": [int(v) for v in self.header],
               "commitment": None if self.commitment is None else [int(v) for v in
                                                                   self.commitment],
               "salt": None if self.salt is None else [int(s) for s in self.salt],
               "weights": {n: arr(v) for n, v in self.values.items()}}
        if fmt > 1:
            doc["scheme"] = self.scheme
        return msgpack.packb(doc, use_bin_type=True)

    @classmethod
    def from_bytes(cls, data: bytes) -> "PrivateWeights":
        """Decode a weights file (raises WeightsFileError)."""
        d = envelope.unpack(data, WEIGHTS_MAGIC, (1, WEIGHTS_FORMAT), None, WeightsFileError,
                            "private weights file", "is this a program, a proof or a key?")
        try:
            values = {}
            for name, (dt, shape, raw) in dict(d["weights"]).items():
                if dt not in _DTYPES:
                    raise ValueError(f"weight {name!r}: unsupported dtype {dt!r}")
                a = np.frombuffer(raw, dtype=dt)
                n = int(np.prod(shape)) if shape else 1
                if a.size != n:
                    raise ValueError(f"weight {name!r}: shape {shape} but {a.size} values")
                values[str(name)] = a.astype(np.int64).reshape([int(s) for s in shape])
            out = cls(values,
                      None if d["salt"] is None else [int(s) for s in d["salt"]],
                      None if d["commitment"] is None else [int(v) for v in d["commitment"]],
                      bytes(d["program"]), [str(n) for n in d["hashed"]],
                      [int(v) for v in d["header"]],
                      SCHEME if d["format"] == 1 else str(d["scheme"]))
        except Exception as e:  # any malformed field
            raise WeightsFileError(f"weights file is corrupt ({type(e).__name__}: {e})") from None
        return out

    def save(self, path: str) -> None:
        with open(path, "wb") as f:
            f.write(self.to_bytes())

    @classmethod
    def load(cls, path: str) -> "PrivateWeights":
        return envelope.load_file(path, cls.from_bytes, WeightsFileError, "weights")


def as_private_weights(weights: Any) -> PrivateWeights:
    """A ``PrivateWeights``, a path to a weights file, or its bytes -> ``PrivateWeights``."""
    if isinstance(weights, PrivateWeights):
        return weights
    if isinstance(weights, (bytes, bytearray)):
        return PrivateWeights.from_bytes(bytes(weights))
    if isinstance(weights, str):
        return PrivateWeights.load(weights)
    raise TypeError(f"weights must be a PrivateWeights, a path or bytes, got {type(weights)}")


def weights_path(program_path: str) -> str:
    """``dir/NAME.zkvm`` -> ``dir/NAME.zkw`` (where the private weights go by default)."""
    base = program_path[:-5] if program_path.endswith(".zkvm") else program_path
    return base + ".zkw"
