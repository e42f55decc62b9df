"""The STARK proof object and its file format (msgpack, magic, version).

Reading never trusts the file: every field is type-checked here, and every
count is checked against the verifying key by the verifier before any
arithmetic (``ProofShapeError``). A truncated or corrupt file raises
``ProofFormatError``, never a traceback from deep inside.
"""

from __future__ import annotations

from dataclasses import dataclass, field


from zkvm import envelope
from zkvm.fri.merkle_verify import MixedProof, as_bytes
from zkvm.stark.errors import ProofFormatError

PROOF_MAGIC = b"ZKVMPROF"
PROOF_FORMAT = 2  # 2: one mixed-height tree per phase (1: one tree per group and phase)


@dataclass
class PublicValues:
    """The public part of a statement besides the verifying key.

    Attributes:
        table_publics: per table, its public values (ints in [0, p)).
        bus_terms: messages the verifier puts on the bus itself, as
            ``(bus, values, multiplicity)``; a negative multiplicity receives.
            For the VM: public inputs (sent) and public outputs (received).
        meta: public, bound, not used by the arithmetic (e.g. output scales).
    """

    table_publics: list[list[int]] = field(default_factory=list)
    bus_terms: list[tuple[int, tuple[int, ...], int]] = field(default_factory=list)
    meta: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"table_publics": [list(map(int, t)) for t in self.table_publics],
                "bus_terms": [[int(b), [int(v) for v in vals], int(m)]
                              for b, vals, m in self.bus_terms],
                "meta": self.meta}

    @classmethod
    def from_dict(cls, d: dict) -> "PublicValues":
        return cls([list(map(int, t)) for t in d["table_publics"]],
                   [(int(b), tuple(int(v) for v in vals), int(m)) for b, vals, m in d["bus_terms"]],
                   dict(d.get("meta") or {}))


@dataclass
class StarkProof:
    """Everything the prover sends, in transcript order."""

    vk_digest: bytes
    security: dict
    zk: bool
    public: PublicValues
    main_roots: list[bytes]
    perm_roots: list[bytes]
    claimed_sums: list[list[int]]
    quot_roots: list[bytes]
    ood: list[list[int]]
    fri: dict
    openings: list[MixedProof]
    meta: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "vk_digest": self.vk_digest, "security": self.security, "zk": self.zk,
            "public": self.public.to_dict(), "main_roots": self.main_roots,
            "perm_roots": self.perm_roots, "claimed_sums": self.claimed_sums,
            "quot_roots": self.quot_roots, "ood": self.ood, "fri": self.fri,
            "openings": [o.to_dict() for o in self.openings], "meta": self.meta,
        }

    def to_bytes(self) -> bytes:
        return envelope.pack(PROOF_MAGIC, PROOF_FORMAT, "proof", self.to_dict())

    @classmethod
    def from_bytes(cls, data: bytes) -> "StarkProof":
        p = envelope.unpack(data, PROOF_MAGIC, PROOF_FORMAT, "proof", ProofFormatError,
                            "proof file", "is this a program or a key?")
        try:

            def roots(k: str) -> list[bytes]:
                rs = p[k]
                if not isinstance(rs, list) or not all(isinstance(r, bytes) and len(r) == 32
                                                       for r in rs):
                    raise ValueError(f"{k} must be a list of 32-byte digests")
                return rs

            def ints(rows, what: str) -> list[list[int]]:
                if not isinstance(rows, list) or not all(
                        isinstance(r, list) and all(isinstance(x, int) for x in r) for r in rows):
                    raise ValueError(f"{what} must be lists of integers")
                return rows

            out = cls(
                vk_digest=as_bytes(p["vk_digest"], "key digest", 32), security=dict(p["security"]), zk=bool(p["zk"]),
                public=PublicValues.from_dict(p["public"]), main_roots=roots("main_roots"),
                perm_roots=roots("perm_roots"), claimed_sums=ints(p["claimed_sums"], "claimed sums"),
                quot_roots=roots("quot_roots"), ood=ints(p["ood"], "OOD values"),
                fri=dict(p["fri"]),
                openings=[MixedProof.from_dict(o) for o in p["openings"]],
                meta=dict(p.get("meta") or {}),
            )
        except ProofFormatError:
            raise
        except Exception as e:  # any malformed field
            raise ProofFormatError(f"malformed proof: {type(e).__name__}: {e}") from None
        return out
