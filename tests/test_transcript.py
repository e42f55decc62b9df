"""Fiat-Shamir transcript: determinism, framing, uniform sampling, proof of work."""

from __future__ import annotations

import blake3
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zkvm.field import P, Ext
from zkvm.fri.transcript import (
    POW_CONTEXT,
    POW_KEY,
    TRANSCRIPT_CONTEXT,
    TRANSCRIPT_KEY,
    Transcript,
)


def test_keys_are_derived_from_their_contexts():
    assert TRANSCRIPT_KEY == blake3.blake3(b"", derive_key_context=TRANSCRIPT_CONTEXT).digest()
    assert POW_KEY == blake3.blake3(b"", derive_key_context=POW_CONTEXT).digest()


def _script(t: Transcript) -> list:
    t.observe_bytes(b"params")
    t.observe_field([1, 2, P - 1])
    t.observe_digest(bytes(range(32)))
    a = t.sample_ext()
    t.observe_ext([a, Ext(3, 4)])
    t.observe_ext(np.array([[5, 6]], dtype=np.uint64))
    return [a, t.sample_field(), t.sample_indices(5, 12).tolist()]


def test_prover_and_verifier_transcripts_agree():
    assert _script(Transcript(b"zkvm")) == _script(Transcript(b"zkvm"))


def test_protocol_id_changes_everything():
    assert _script(Transcript(b"zkvm")) != _script(Transcript(b"zkvm2"))


@pytest.mark.parametrize(
    "ops_a, ops_b",
    [
        ([("bytes", b"ab"), ("bytes", b"c")], [("bytes", b"a"), ("bytes", b"bc")]),
        ([("bytes", b"")], []),
        ([("field", [1])], [("bytes", (1).to_bytes(8, "little"))]),
        ([("field", [1, 0])], [("ext", Ext(1, 0))]),
        ([("field", [1, 2])], [("field", [1]), ("field", [2])]),
        ([("digest", bytes(32))], [("bytes", bytes(32))]),
    ],
)
def test_framing_separates_different_sequences(ops_a, ops_b):
    def run(ops):
        t = Transcript(b"x")
        for kind, v in ops:
            getattr(t, f"observe_{kind}")(v)
        return t.state

    assert run(ops_a) != run(ops_b)


def test_sampling_changes_state_so_consecutive_draws_differ():
    t = Transcript(b"x")
    assert t.sample_ext() != t.sample_ext()


def test_sample_field_rejects_words_at_or_above_p():
    class Fixed(Transcript):
        def _u64s(self):
            yield from [P, 2**64 - 1, P + 5, 7, 9]

    assert Fixed(b"x").sample_field() == 7
    e = Fixed(b"x").sample_ext()
    assert (e.c0, e.c1) == (7, 9)


def test_non_canonical_field_element_is_refused():
    with pytest.raises(ValueError):
        Transcript(b"x").observe_field([P])
    with pytest.raises(ValueError):
        Transcript(b"x").observe_field(np.array([P], dtype=np.uint64))


@settings(max_examples=20, deadline=None, derandomize=True)
@given(log_domain=st.integers(0, 40), n=st.integers(0, 50))
def test_sample_indices_in_range(log_domain, n):
    idx = Transcript(b"x").sample_indices(n, log_domain)
    assert idx.shape == (n,) and idx.dtype == np.int64
    assert ((idx >= 0) & (idx < (1 << log_domain))).all()


def test_sample_indices_look_uniform():
    t = Transcript(b"uniform")
    idx = t.sample_indices(8000, 3)
    counts = np.bincount(idx, minlength=8)
    chi2 = ((counts - 1000) ** 2 / 1000).sum()
    assert chi2 < 30  # 7 degrees of freedom; p ~ 1e-4


def test_grind_then_check_pow_agree_and_absorb_the_nonce():
    for bits in (0, 6, 14):
        p, v = Transcript(b"pow"), Transcript(b"pow")
        nonce = p.grind(bits)
        assert v.check_pow(bits, nonce)
        assert p.state == v.state
        assert p.sample_field() == v.sample_field()


def test_bad_pow_nonce_is_rejected():
    t = Transcript(b"pow")
    good = t.fork().grind(10)
    bad = next(n for n in range(1 << 12) if n != good and not t.fork().check_pow(10, n))
    before = t.state
    assert not t.check_pow(10, bad)
    assert t.state == before
    assert not Transcript(b"pow").check_pow(10, -1)


def test_log_records_absorbs_and_draws():
    t = Transcript(b"x", log=True)
    t.observe_field([1])
    t.sample_ext()
    assert t.log[0].startswith("protocol") and "absorb field" in t.log[1] and "sample ext" in t.log[2]


def test_sample_ext_of_degree_three_and_cubic_observe():
    from zkvm.field.extension import Ext3

    class Fixed(Transcript):
        def _u64s(self):
            yield from [P, 7, 2**64 - 1, 9, 11, 13]

    e = Fixed(b"x").sample_ext(3)
    assert isinstance(e, Ext3) and e.to_list() == [7, 9, 11]
    assert Fixed(b"x").sample_ext().to_list() == [7, 9]  # the default degree stays 2
    a, b = Transcript(b"x"), Transcript(b"x")
    a.observe_ext([Ext3(1, 2, 3), Ext3(4, 5, 6)])
    b.observe_ext(np.array([[1, 2, 3], [4, 5, 6]], dtype=np.uint64))
    assert a.state == b.state
    with pytest.raises(ValueError):
        Transcript(b"x").observe_ext(np.zeros((2, 4), dtype=np.uint64))
