"""Pieces prover and verifier must compute identically (no numba here)."""

from __future__ import annotations

from zkvm.fri.transcript import Transcript, transcript_for
from zkvm.stark.keys import _canonical
from zkvm.stark.proof import PublicValues

PROTOCOL_ID = b"zkvm-stark-v1"


def seed_transcript(vk_digest: bytes, security: dict, zk: bool, public: PublicValues) -> Transcript:
    """Bind the whole claim before any challenge (DESIGN.md checklist 1; Winterfell's order)."""
    # the hash profile is the key's (the security dict names it, and is absorbed first)
    tr = transcript_for(security.get("hash", "blake3"), PROTOCOL_ID)
    tr.observe_bytes(_canonical({"security": security, "zk": zk}))
    tr.observe_digest(vk_digest)
    # bus terms as one flat list (bus, multiplicity, length, values...): injective, and
    # encoded without walking thousands of small lists (public inputs can be many)
    flat: list[int] = []
    for bus, values, mult in public.bus_terms:
        flat += [int(bus), int(mult), len(values), *map(int, values)]
    if security.get("hash") == "keccak":
        # for a Solidity verifier: field elements, not msgpack. ``meta`` (the values by
        # tensor name) is not absorbed: every value it proves is a bus term, bound here
        # (api.verify checks meta against the terms), and a contract rebuilds the terms
        # from its calldata and the key's addresses
        tr.observe_field(public_field_elements(public))
        return tr
    tr.observe_bytes(_canonical({"table_publics": public.table_publics, "bus_terms": flat,
                                 "meta": public.meta}))
    return tr


def public_field_elements(public: PublicValues) -> list[int]:
    """The public values as field elements (the Keccak transcript's seed; a Solidity verifier
    builds the same list): every table's publics, then per bus term
    ``bus, multiplicity mod p, len(values), values...``."""
    from zkvm.field.scalar import P

    flat = [int(v) for vals in public.table_publics for v in vals]
    for bus, values, mult in public.bus_terms:
        flat += [int(bus), int(mult) % P, len(values), *map(int, values)]
    return flat


def sample_ood_point(tr: Transcript, d: int = 2):
    """Draw z in the degree-``d`` extension outside the base field, hence outside every
    trace domain and LDE coset."""
    while True:
        z = tr.sample_ext(d)
        if not z.is_base():
            return z


def powers(x, k: int) -> list:
    """``[1, x, x^2, ..., x^(k-1)]`` for an ``Ext``/``Ext3`` (the challenges' powers, both sides)."""
    out, acc = [], type(x)(1)
    for _ in range(k):
        out.append(acc)
        acc = acc * x
    return out


def draw_logup_challenges(tr: Transcript, lay) -> tuple:
    """Step 3 on both sides: LogUp's ``alpha`` and the powers ``beta^1 .. beta^max_tuple``
    that fingerprint a bus tuple (``lay``: the ``StarkLayout``)."""
    bus_alpha = tr.sample_ext(lay.ext_degree)
    beta = tr.sample_ext(lay.ext_degree)
    return bus_alpha, powers(beta, lay.max_tuple + 1)[1:]
