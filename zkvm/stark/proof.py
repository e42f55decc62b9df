"""The STARK proof object and its file format (msgpack, magic, version).

Reading never trusts the file: every field is type-checked here, and every
count is checked against the verifying key by the verifier before any
arithmetic (``ProofShapeError``). A truncated or corrupt file raises
``ProofFormatError``, never a traceback from deep inside.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import chain
from typing import Any

from zkvm import envelope
from zkvm.field.scalar import P
from zkvm.fri.merkle_verify import MixedProof, as_bytes
from zkvm.stark.errors import ProofFormatError

PROOF_MAGIC = b"ZKVMPROF"
PROOF_FORMAT = 3  # 3: security as a label, strict public values, no free meta (2: parameters in the proof)


@dataclass
class PublicValues:
    """The public part of a statement besides the verifying key.

    Attributes:
        table_publics: per table, its public values (ints in [0, p)).
        bus_terms: messages the verifier puts on the bus itself, as
            ``(bus, values, multiplicity)``; a negative multiplicity receives.
            For the VM: public inputs (sent) and public outputs (received).
        meta: the claimed values those terms are made of, for the VM
            ``{"inputs", "outputs", "digests"}``: each a map from tensor name
            to a list of integers. Absorbed by the transcript; the VM's
            verifier (``zkvm.api.verify``) recomputes the bus terms from them
            and the key, so both are bound to one encoding.
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
    def from_dict(cls, d: Any) -> "PublicValues":
        """Strict decoder: one encoding per statement (issue 12, point 3).

        Field elements must be exact ints in ``[0, p)`` (no bool, float, string
        or ``v + p``), multiplicities exact ints with ``|m| < p``, and the
        claimed values exact ints under known keys only.

        Raises:
            ValueError: any other type, range, key or nesting.
        """
        _need(isinstance(d, dict) and set(d) <= {"table_publics", "bus_terms", "meta"}
              and {"table_publics", "bus_terms"} <= set(d), "public values: unexpected fields")
        tp = d["table_publics"]
        _need(isinstance(tp, list), "public values: table_publics must be a list")
        table_publics = [_felts(t, "a table's public values") for t in tp]
        terms = d["bus_terms"]
        _need(isinstance(terms, list), "public values: bus_terms must be a list")
        # whole-list checks (type sets, min/max) run in C: public inputs can be many
        _need(_types(terms) <= {list} and all(len(t) == 3 for t in terms),
              "a bus term must be [bus, values, mult]")
        buses, vals, ms = (list(c) for c in zip(*terms)) if terms else ([], [], [])
        _need(_all_ints(buses, 0, P - 1), "a bus id must be a field element")
        _need(_all_ints(ms, -P + 1, P - 1), "a bus multiplicity must be an integer below p")
        _need(_types(vals) <= {list} and _all_ints(list(chain.from_iterable(vals)), 0, P - 1),
              "bus term values must be lists of field elements")
        bus_terms = list(zip(buses, map(tuple, vals), ms))
        meta = d.get("meta", {})
        _need(isinstance(meta, dict) and set(meta) <= {"inputs", "outputs", "digests"},
              "public values: meta holds only inputs, outputs and digests")
        for k, part in meta.items():
            _need(isinstance(part, dict) and all(
                isinstance(name, str) and isinstance(v, list) and all(_is_int(x) for x in v)
                for name, v in part.items()), f"public {k} must map names to lists of integers")
        return cls(table_publics, bus_terms, meta)


def _types(xs: list) -> set:
    return set(map(type, xs))


def _all_ints(xs: list, lo: int, hi: int) -> bool:
    """Every entry an exact ``int`` in ``[lo, hi]`` (C-speed: a type set and min/max)."""
    return not xs or (_types(xs) == {int} and lo <= min(xs) and max(xs) <= hi)


def _is_int(x: Any) -> bool:
    return type(x) is int  # not bool, not a numpy scalar, not a float


def _need(cond: bool, what: str) -> None:
    if not cond:
        raise ValueError(what)


def _felts(v: Any, what: str) -> list[int]:
    _need(isinstance(v, list) and _all_ints(v, 0, P - 1),
          f"{what} must be a list of field elements (integers in [0, p))")
    return v


@dataclass
class StarkProof:
    """Everything the prover sends, in transcript order.

    ``security`` is only a label: the name of the verifying key's preset,
    which must equal the key's (the parameters themselves come from the key,
    never from the proof). ``zk`` likewise must equal the key's flag.
    """

    vk_digest: bytes
    security: str
    zk: bool
    public: PublicValues
    main_roots: list[bytes]
    perm_roots: list[bytes]
    claimed_sums: list[list[int]]
    quot_roots: list[bytes]
    ood: list[list[int]]
    fri: dict
    openings: list[MixedProof]
    deep_pow_nonce: int = 0

    def to_dict(self) -> dict:
        return {
            "vk_digest": self.vk_digest, "security": self.security, "zk": self.zk,
            "public": self.public.to_dict(), "main_roots": self.main_roots,
            "perm_roots": self.perm_roots, "claimed_sums": self.claimed_sums,
            "quot_roots": self.quot_roots, "ood": self.ood, "fri": self.fri,
            "openings": [o.to_dict() for o in self.openings],
            "deep_pow_nonce": self.deep_pow_nonce,
        }

    def to_bytes(self) -> bytes:
        return envelope.pack(PROOF_MAGIC, PROOF_FORMAT, "proof", self.to_dict())

    @classmethod
    def from_bytes(cls, data: bytes) -> "StarkProof":
        p = envelope.unpack(data, PROOF_MAGIC, PROOF_FORMAT, "proof", ProofFormatError,
                            "proof file", "is this a program or a key?")
        try:
            with envelope.no_gc():
                return cls._from_payload(p)
        except ProofFormatError:
            raise
        except Exception as e:  # any malformed field
            raise ProofFormatError(f"malformed proof: {type(e).__name__}: {e}") from None

    @classmethod
    def _from_payload(cls, p: Any) -> "StarkProof":
        """The typed proof from a decoded payload; ``ValueError`` (or worse) when malformed."""
        _need(isinstance(p, dict) and set(p) == _FIELDS,
              f"a proof has exactly the fields {sorted(_FIELDS)}")

        def roots(k: str) -> list[bytes]:
            rs = p[k]
            if not isinstance(rs, list) or not all(isinstance(r, bytes) and len(r) == 32
                                                   for r in rs):
                raise ValueError(f"{k} must be a list of 32-byte digests")
            return rs

        def ints(rows, what: str) -> list[list[int]]:
            if not isinstance(rows, list) or not all(
                    isinstance(r, list) and all(_is_int(x) for x in r) for r in rows):
                raise ValueError(f"{what} must be lists of integers")
            return rows

        _need(isinstance(p["security"], str), "security must be a preset label (a string)")
        _need(isinstance(p["zk"], bool), "zk must be true or false")
        _need(isinstance(p["fri"], dict), "fri must be a map")
        _need(isinstance(p["openings"], list), "openings must be a list")
        _need(_is_int(p["deep_pow_nonce"]) and 0 <= p["deep_pow_nonce"] < 2**64,
              "deep_pow_nonce must be a 64-bit unsigned integer")
        out = cls(
            vk_digest=as_bytes(p["vk_digest"], "key digest", 32), security=p["security"],
            zk=p["zk"], public=PublicValues.from_dict(p["public"]),
            main_roots=roots("main_roots"), perm_roots=roots("perm_roots"),
            claimed_sums=ints(p["claimed_sums"], "claimed sums"),
            quot_roots=roots("quot_roots"), ood=ints(p["ood"], "OOD values"),
            fri=p["fri"], openings=[MixedProof.from_dict(o) for o in p["openings"]],
            deep_pow_nonce=p["deep_pow_nonce"],
        )
        return out


_FIELDS = {"vk_digest", "security", "zk", "public", "main_roots", "perm_roots", "claimed_sums",
           "quot_roots", "ood", "fri", "openings", "deep_pow_nonce"}
