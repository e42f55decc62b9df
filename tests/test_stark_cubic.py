"""The multi-table STARK over the cubic extension (``ext_degree=3``, as the ``high`` preset).

Every honest-proof and tamper test of ``test_stark`` runs again with the
statements set up at degree 3 (its module-level ``TEST`` is swapped for the
duration of this module), plus checks that keys and proofs record the degree
and that a proof of one degree never passes for the other.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import test_stark as S
from test_stark import *  # noqa: F401,F403  (re-collect every test_stark test at degree 3)
from zkvm.field.extension import Ext3
from zkvm.fri.security import SecurityConfig, security_bits
from zkvm.stark.errors import InsufficientSecurity, KeyMismatch, VerificationError
from zkvm.stark.proof import StarkProof
from zkvm.stark.prover import prove
from zkvm.stark.setup import setup
from zkvm.stark.verifier import verify

TEST3 = dataclasses.replace(SecurityConfig.preset("test"), ext_degree=3)


@pytest.fixture(scope="module", autouse=True)
def _cubic():
    old = S.TEST
    S.TEST = TEST3
    yield
    S.TEST = old


def test_keys_and_proofs_record_the_degree():
    pk, traces, pub = S.bus_stmt()
    assert pk.vk.security.ext_degree == 3 and pk.layout.ext_degree == 3
    proof = prove(pk, traces, pub)
    assert proof.security == TEST3.name  # a label only: the degree comes from the key
    assert pk.vk.to_dict()["security"]["ext_degree"] == 3
    assert all(len(c) == 3 for c in proof.claimed_sums)
    assert all(len(b) == 3 * t.n_ood for b, t in zip(proof.ood, pk.layout.tables))
    back = StarkProof.from_bytes(proof.to_bytes())
    assert back.security == proof.security
    verify(pk.vk, back, min_bits=0)
    assert SecurityConfig.from_dict(pk.vk.to_dict()["security"]) == TEST3
    quad = dataclasses.replace(TEST3, ext_degree=2)
    assert "ext_degree" not in quad.to_dict()  # degree-2 keys and proofs are unchanged


def test_a_proof_never_passes_for_the_other_degree():
    pk3, traces, pub = S.fib()
    proof3 = prove(pk3, traces, pub)
    pk2 = setup([S.Fibonacci(5)], dataclasses.replace(TEST3, ext_degree=2), False, S.SID)
    proof2 = prove(pk2, traces, pub)
    # same preset label, other degree: the keys differ, so each proof names the other key
    with pytest.raises(KeyMismatch):
        verify(pk2.vk, proof3, min_bits=0)
    with pytest.raises(KeyMismatch):
        verify(pk3.vk, proof2, min_bits=0)
    relabelled = StarkProof.from_bytes(proof2.to_bytes())
    relabelled.vk_digest = pk3.vk.digest()
    with pytest.raises(VerificationError):  # the degree is bound by the transcript and the key
        verify(pk3.vk, relabelled, min_bits=0)


def test_min_bits_counts_the_field_size():
    """At the same query parameters the cubic field lifts the estimate past the quadratic cap."""
    q = dataclasses.replace(SecurityConfig.preset("high"), ext_degree=2)
    c = SecurityConfig.preset("high")
    assert security_bits(q, 20).conjectured < 128 <= security_bits(c, 20).conjectured
    pk, traces, pub = S.fib()
    with pytest.raises(InsufficientSecurity):
        verify(pk.vk, prove(pk, traces, pub), min_bits=100)


def test_cubic_challenges_are_cubic():
    from zkvm.stark.common import powers, sample_ood_point
    from zkvm.fri.transcript import Transcript

    z = sample_ood_point(Transcript(b"x"), 3)
    assert isinstance(z, Ext3) and not z.is_base()
    assert powers(z, 3) == [Ext3(1), z, z * z]

