"""Verifying key (what anyone can recompute from the statement's shape) and its file.

A verifying key binds the statement id (for the VM: the program digest),
the security parameters, the zk flag, every table's chip spec and height,
and the Merkle root of the preprocessed columns (one mixed-height tree over
every table group that has such columns). The
key's digest is absorbed into the transcript first thing, so a proof made
for one key never verifies against another.

This module imports no numba kernel: the verifier loads keys with it. The
prover derives keys with ``zkvm.stark.setup``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import blake3
import msgpack

from zkvm import envelope
from zkvm.fri.security import SecurityConfig

AIR_VERSION = 1
KEY_MAGIC = b"ZKVMVKEY"
KEY_FORMAT = 2  # 2: one mixed-height preprocessed tree (1: one tree per group)


class KeyFileError(ValueError):
    """A verifying-key file is not readable (wrong kind, version, or corrupt)."""


@dataclass
class VerifyingKey:
    """Public data the verifier needs besides the proof.

    Attributes:
        statement_id: 32 bytes naming what is proved (a program digest).
        security: the parameters proofs for this key are made with.
        zk: whether witness columns are randomised (any private value).
        tables: ``Air.spec()`` of every table, in order.
        pre_roots: the root of the preprocessed tree (empty when no table has
            preprocessed columns, else one root).
        meta: free-form public metadata (e.g. output names), also bound.
    """

    statement_id: bytes
    security: SecurityConfig
    zk: bool
    tables: list[dict]
    pre_roots: list[bytes]
    meta: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "air_version": AIR_VERSION,
            "statement_id": self.statement_id,
            "security": self.security.to_dict(),
            "zk": self.zk,
            "tables": self.tables,
            "pre_roots": list(self.pre_roots),
            "meta": self.meta,
        }

    @classmethod
    def from_dict(cls, d: dict) -> "VerifyingKey":
        try:
            if d["air_version"] != AIR_VERSION:
                raise KeyFileError(
                    f"verifying key is for AIR version {d['air_version']}, this zkvm speaks "
                    f"{AIR_VERSION}: re-run `zkvm setup` with this version")
            return cls(
                statement_id=bytes(d["statement_id"]),
                security=SecurityConfig.from_dict(d["security"]),
                zk=bool(d["zk"]),
                tables=[dict(t) for t in d["tables"]],
                pre_roots=[_digest32(v) for v in d["pre_roots"]],
                meta=dict(d.get("meta") or {}),
            )
        except (KeyError, TypeError, ValueError) as e:
            if isinstance(e, KeyFileError):
                raise
            raise KeyFileError(f"malformed verifying key: {e}") from e

    def __setattr__(self, name, value) -> None:
        self.__dict__.pop("_digest", None)  # any field change invalidates the cached digest
        super().__setattr__(name, value)

    def __deepcopy__(self, memo) -> "VerifyingKey":
        return VerifyingKey.from_dict(_copy(self.to_dict()))  # never copies the cached digest

    def digest(self) -> bytes:
        """blake3 of the canonical msgpack encoding (sorted keys, no floats).

        Cached on first use (keys are not mutated after they are made; assigning
        a field drops the cache, and copies never carry it).
        """
        cached = self.__dict__.get("_digest")
        if cached is None:
            cached = blake3.blake3(_canonical(self.to_dict())).digest()
            self.__dict__["_digest"] = cached
        return cached

    def to_bytes(self) -> bytes:
        return envelope.pack(KEY_MAGIC, KEY_FORMAT, "key", self.to_dict())

    @classmethod
    def from_bytes(cls, data: bytes) -> "VerifyingKey":
        return cls.from_dict(envelope.unpack(data, KEY_MAGIC, KEY_FORMAT, "key", KeyFileError,
                                             "verifying key", "is this a proof or a program?"))


def _digest32(v) -> bytes:
    if not isinstance(v, (bytes, bytearray)) or len(v) != 32:
        raise ValueError("a preprocessed root must be 32 bytes")
    return bytes(v)


def _copy(obj):
    import copy

    return copy.deepcopy(obj)


def _canonical(obj) -> bytes:
    """Deterministic msgpack: dict keys sorted, tuples as lists."""
    def norm(o):
        if isinstance(o, dict):
            return [[norm(k), norm(v)] for k, v in sorted(o.items(), key=lambda kv: str(kv[0]))]
        if isinstance(o, (list, tuple)):
            if set(map(type, o)) <= {int}:  # fast path: flat lists of ints (public values)
                return list(o)
            return [norm(x) for x in o]
        if isinstance(o, float):
            raise TypeError("floats are not allowed in canonical encodings")
        return o
    return msgpack.packb(norm(obj), use_bin_type=True)
