"""Pieces prover and verifier must compute identically (no numba here)."""

from __future__ import annotations

from zkvm.fri.transcript import Transcript
from zkvm.stark.keys import _canonical
from zkvm.stark.proof import PublicValues

PROTOCOL_ID = b"zkvm-stark-v1"


def seed_transcript(vk_digest: bytes, security: dict, zk: bool, public: PublicValues) -> Transcript:
    """Bind the whole claim before any challenge (DESIGN.md checklist 1; Winterfell's order)."""
    tr = Transcript(PROTOCOL_ID)
    tr.observe_bytes(_canonical({"security": security, "zk": zk}))
    tr.observe_digest(vk_digest)
    # bus terms as one flat list (bus, multiplicity, length, values...): injective, and
    # encoded without walking thousands of small lists (public inputs can be many)
    flat: list[int] = []
    for bus, values, mult in public.bus_terms:
        flat += [int(bus), int(mult), len(values), *map(int, values)]
    tr.observe_bytes(_canonical({"table_publics": public.table_publics, "bus_terms": flat,
                                 "meta": public.meta}))
    return tr


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
