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
from zkvm.errors import ZkvmUserError
from zkvm.fri.security import SecurityConfig

AIR_VERSION = 1
KEY_MAGIC = b"ZKVMVKEY"
KEY_FORMAT = 3  # 3: the tables digest is stored and checked (2: no tables digest)


class KeyFileError(ZkvmUserError, ValueError):
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
        meta: public data the statement's own verifier uses (for the VM:
            ``io``, the public input/output addresses and read counts, and
            ``program_digest``); bound by :meth:`digest` like everything else.

    Two digests name a key. :meth:`tables_digest` covers everything the
    verifier computes with (parameters, zk, tables, preprocessed roots,
    ``meta``) but not the ``statement_id`` label; it is written into the key
    file and recomputed when the file is read, so what a verifier prints about
    a key file is what it recomputed. :meth:`digest` adds the label and is
    what proofs name and the transcript absorbs. A key is bound to a program
    only by deriving the program's key and comparing (``zkvm verify --key K
    --program P``): the label alone proves nothing.
    """

    statement_id: bytes
    security: SecurityConfig
    zk: bool
    tables: list[dict]
    pre_roots: list[bytes]
    meta: dict = field(default_factory=dict)

    def _content(self) -> dict:
        return {
            "air_version": AIR_VERSION,
            "security": self.security.to_dict(),
            "zk": self.zk,
            "tables": self.tables,
            "pre_roots": list(self.pre_roots),
            "meta": self.meta,
        }

    def to_dict(self) -> dict:
        return {**self._content(), "statement_id": self.statement_id}

    def to_file_dict(self) -> dict:
        """:meth:`to_dict` plus the tables digest (what a key file holds)."""
        return {**self.to_dict(), "tables_digest": self.tables_digest()}

    @classmethod
    def from_dict(cls, d: dict) -> "VerifyingKey":
        if not isinstance(d, dict):
            raise KeyFileError("malformed verifying key: not a map")
        unknown = set(d) - _KEY_FIELDS
        if unknown:
            raise KeyFileError(f"malformed verifying key: unknown fields {sorted(unknown)}")
        try:
            if d["air_version"] != AIR_VERSION:
                raise KeyFileError(
                    f"verifying key is for AIR version {d['air_version']}, this zkvm speaks "
                    f"{AIR_VERSION}: re-run `zkvm setup` with this version")
            return cls(
                statement_id=_digest32(d["statement_id"], "the statement id"),
                security=SecurityConfig.from_dict(d["security"]),
                zk=_strict_bool(d["zk"]),
                tables=[_table_spec(t) for t in _strict_list(d["tables"], "tables", MAX_TABLES)],
                pre_roots=[_digest32(v, "a preprocessed root") for v in d["pre_roots"]],
                meta=_strict_dict(d["meta"], "meta"),
            )
        except (KeyError, TypeError, ValueError) as e:
            if isinstance(e, KeyFileError):
                raise
            raise KeyFileError(f"malformed verifying key: {e}") from e

    def __setattr__(self, name, value) -> None:
        self.__dict__.pop("_digest", None)  # any field change invalidates the cached digests
        self.__dict__.pop("_tables_digest", None)
        super().__setattr__(name, value)

    def __deepcopy__(self, memo) -> "VerifyingKey":
        return VerifyingKey.from_dict(_copy(self.to_dict()))  # never copies the cached digest

    def tables_digest(self) -> bytes:
        """blake3 of the canonical encoding of everything but the statement label."""
        cached = self.__dict__.get("_tables_digest")
        if cached is None:
            cached = blake3.blake3(_canonical(self._content())).digest()
            self.__dict__["_tables_digest"] = cached
        return cached

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
        return envelope.pack(KEY_MAGIC, KEY_FORMAT, "key", self.to_file_dict())

    @classmethod
    def from_bytes(cls, data: bytes) -> "VerifyingKey":
        """Read a key file; its stored tables digest must be the one recomputed here.

        Raises:
            KeyFileError: unreadable, malformed, or the tables do not hash to the
                stored digest (the file was edited).
        """
        d = envelope.unpack(data, KEY_MAGIC, KEY_FORMAT, "key", KeyFileError,
                            "verifying key", "is this a proof or a program?")
        if not isinstance(d, dict) or "tables_digest" not in d:
            raise KeyFileError("malformed verifying key: no tables digest")
        stored = d.pop("tables_digest")
        vk = cls.from_dict(d)
        if stored != vk.tables_digest():
            raise KeyFileError("verifying key is corrupt or was edited: its tables do not hash to "
                               "the digest it records; derive it again with `zkvm setup`")
        return vk


#: at most this many tables (an honest model has tens: the transformer benchmark 74)
MAX_TABLES = 1 << 12
MAX_LOG_HEIGHT = 28  # as zkvm.air.air.Air checks

_KEY_FIELDS = {"air_version", "statement_id", "security", "zk", "tables", "pre_roots", "meta"}


def _strict_bool(v) -> bool:
    if not isinstance(v, bool):
        raise ValueError("zk must be true or false")
    return v


def _strict_list(v, what: str, max_len: int | None = None) -> list:
    if not isinstance(v, list):
        raise ValueError(f"{what} must be a list")
    if max_len is not None and len(v) > max_len:
        raise ValueError(f"{what}: {len(v)} entries, more than the {max_len} a key may have")
    return v


def _table_spec(t) -> dict:
    """A chip spec ``{"kind": str, "log_height": int, "params": map}`` (checked, not yet built)."""
    if not (isinstance(t, dict) and set(t) == {"kind", "log_height", "params"}
            and isinstance(t["kind"], str) and type(t["log_height"]) is int
            and 0 <= t["log_height"] <= MAX_LOG_HEIGHT and isinstance(t["params"], dict)):
        raise ValueError("a table spec must be {kind: name, log_height: 0..28, params: map}")
    return dict(t)


def _strict_dict(v, what: str) -> dict:
    if not isinstance(v, dict):
        raise ValueError(f"{what} must be a map")
    return dict(v)


def _digest32(v, what: str) -> bytes:
    if not isinstance(v, (bytes, bytearray)) or len(v) != 32:
        raise ValueError(f"{what} must be 32 bytes")
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
