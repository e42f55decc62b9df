"""The multi-table STARK: example AIRs prove and verify; every named attack is rejected."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from airs import (
    BUS_DATA, Fibonacci, Producer, RangeChecked, RangeTable, Squarer, fibonacci_trace,
)

from zkvm.air.builder import SymbolicBuilder
from zkvm.field.scalar import P
from zkvm.fri.security import SecurityConfig
from zkvm.stark.errors import (
    InsufficientSecurity, KeyMismatch, LogupSumMismatch, OodConstraintMismatch, ParameterMismatch,
    ProofFormatError, ProofShapeError, VerificationError,
)
from zkvm.stark.proof import PublicValues, StarkProof
from zkvm.stark.prover import ProverError, prove
from zkvm.stark.setup import setup
from zkvm.stark.verifier import verify

TEST = SecurityConfig.preset("test")
SID = b"\x01" * 32


# --- statements -------------------------------------------------------------
def fib(log_n=5, zk=False):
    trace, res = fibonacci_trace(log_n)
    pk = setup([Fibonacci(log_n)], TEST, zk, SID)
    return pk, [trace], PublicValues([[1, 1, res]])


def range_stmt(zk=False):
    """Values checked against a preprocessed 0..2^16-1 table (different heights)."""
    rng = np.random.default_rng(1)
    n = 64
    x = rng.integers(0, 1 << 16, n).astype(np.uint64)
    on = np.ones(n, np.uint64)
    on[-5:] = 0
    x[-5:] = 0
    counts = np.bincount(x[on == 1].astype(np.int64), minlength=1 << 16).astype(np.uint64)
    airs = [RangeChecked(6), RangeTable(16)]
    pk = setup(airs, TEST, zk, SID)
    return pk, [np.stack([x, on]), counts[None, :]], None


def bus_stmt(zk=False, public_out=True):
    """Producer (2^5 rows) -> Squarer (2^4 rows); the squares are a public output."""
    count = 8
    vals = np.arange(3, 3 + 32, dtype=np.uint64)
    prod = Producer(5, {"reads": 1})
    sq = Squarer(4, {"offset": 100, "count": count})
    # producer sends 16 values once each; squarer reads the first 8; the other 8 and
    # all squares are public terms received by the verifier
    x = vals[:count]
    y = x * x
    terms = [(BUS_DATA, (i + 1 + 100, int(y[i])), -1) for i in range(count)]
    terms += [(BUS_DATA, (i + 1, int(vals[i])), -1) for i in range(count, 32)]
    pk = setup([prod, sq], TEST, zk, SID)
    pad = np.zeros(8, np.uint64)
    traces = [vals[None, :], np.stack([np.concatenate([x, pad]), np.concatenate([y, pad])])]
    return pk, traces, PublicValues([[], []], terms)


STATEMENTS = {"fibonacci": fib, "range_check": range_stmt, "two_tables_bus": bus_stmt}


@pytest.fixture(scope="module", params=sorted(STATEMENTS))
def proved(request):
    pk, traces, pub = STATEMENTS[request.param]()
    proof = prove(pk, traces, pub, debug=True)
    return pk, traces, pub, proof


# --- honest proofs ------------------------------------------------------------
def test_example_statement_proves_and_verifies(proved):
    pk, _, _, proof = proved
    verify(pk.vk, StarkProof.from_bytes(proof.to_bytes()), min_bits=0)


@pytest.mark.parametrize("name", sorted(STATEMENTS))
def test_example_statement_proves_and_verifies_in_zk_mode(name):
    pk, traces, pub = STATEMENTS[name](zk=True)
    proof = prove(pk, traces, pub, debug=True, seed=b"zk")
    verify(pk.vk, StarkProof.from_bytes(proof.to_bytes()), min_bits=0)


def test_fibonacci_symbolic_degrees():
    sb = SymbolicBuilder(Fibonacci(4))
    Fibonacci(4).eval(sb)
    assert [c.degree for c, _ in sb.constraints] == [2, 2, 1, 1, 2]


def test_tables_of_different_heights_are_not_padded_to_the_tallest():
    pk, _, _ = range_stmt()
    heights = sorted(t.log_lde for t in pk.layout.tables)
    assert heights[0] < heights[-1]
    assert len(pk.layout.group_logs) == 2


# --- tampering with the witness -------------------------------------------------
def test_flipped_main_trace_cell_is_named_by_debug_builder():
    pk, traces, pub = fib()
    traces[0] = traces[0].copy()
    traces[0][1, 7] = (int(traces[0][1, 7]) + 1) % P
    with pytest.raises(ProverError, match=r"test_fibonacci.*airs.py:\d+.*rows \[6, 7\]"):
        prove(pk, traces, pub, debug=True)


def test_flipped_main_trace_cell_is_rejected():
    pk, traces, pub = fib()
    traces[0] = traces[0].copy()
    traces[0][0, 9] = (int(traces[0][0, 9]) + 1) % P
    with pytest.raises(ProverError):  # the honest prover refuses
        prove(pk, traces, pub)
    proof = prove(pk, traces, pub, _allow_invalid=True)
    with pytest.raises(VerificationError):
        verify(pk.vk, proof, min_bits=0)


def test_flipped_interaction_cell_is_rejected():
    pk, traces, pub = bus_stmt()

    def flip(perm):
        perm[1][0, 3] = (int(perm[1][0, 3]) + 1) % P
    proof = prove(pk, traces, pub, _allow_invalid=True, _hooks={"perm": flip})
    with pytest.raises(VerificationError):
        verify(pk.vk, proof, min_bits=0)


def test_bus_imbalance_is_rejected():
    pk, traces, pub = bus_stmt()
    traces[1] = traces[1].copy()
    traces[1][0, 2] += np.uint64(1)  # squarer reads a value nobody wrote
    traces[1][1, 2] = traces[1][0, 2] * traces[1][0, 2]
    with pytest.raises(ProverError, match="bus does not balance"):
        prove(pk, traces, pub, debug=True)
    with pytest.raises(LogupSumMismatch):
        verify(pk.vk, prove(pk, traces, pub), min_bits=0)


def test_quotient_chunk_swapped_is_rejected():
    pk, traces, pub = bus_stmt()
    assert pk.layout.tables[1].n_chunks == 2

    d = pk.layout.ext_degree  # a chunk is d base rows

    def swap(i, c):
        return np.concatenate([c[d:2 * d], c[0:d]]) if i == 1 else c
    with pytest.raises(ProverError):
        prove(pk, traces, pub, _hooks={"quot": swap})
    proof = prove(pk, traces, pub, _hooks={"quot": swap}, _allow_invalid=True)
    with pytest.raises(VerificationError):
        verify(pk.vk, proof, min_bits=0)


# --- tampering with the proof ------------------------------------------------------
def _reject(pk, proof, exc=VerificationError):
    with pytest.raises(exc):
        verify(pk.vk, StarkProof.from_bytes(proof.to_bytes()), min_bits=0)


def test_changed_claimed_sum_is_rejected():
    pk, traces, pub = bus_stmt()
    proof = prove(pk, traces, pub)
    proof.claimed_sums[0][0] = (proof.claimed_sums[0][0] + 1) % P
    _reject(pk, proof)


def test_changed_ood_value_is_rejected(proved):
    pk, _, _, proof = proved
    for pos in (0, len(proof.ood[0]) - 1):
        bad = copy.deepcopy(proof)
        bad.ood[0][pos] = (bad.ood[0][pos] + 1) % P
        _reject(pk, bad)


def test_wrong_public_input_is_rejected():
    pk, traces, pub = fib()
    proof = prove(pk, traces, pub)
    proof.public.table_publics[0][0] = 2
    _reject(pk, proof)


def test_wrong_public_output_is_rejected():
    pk, traces, pub = fib()
    proof = prove(pk, traces, pub)
    proof.public.table_publics[0][2] = (proof.public.table_publics[0][2] + 1) % P
    _reject(pk, proof, OodConstraintMismatch)
    pk, traces, pub = bus_stmt()
    proof = prove(pk, traces, pub)
    b, (addr, v), m = proof.public.bus_terms[0]
    proof.public.bus_terms[0] = (b, (addr, v + 1), m)
    _reject(pk, proof)  # the transcript absorbed the terms: the first check at z already fails


def test_proof_for_another_verifying_key_is_rejected():
    pk, traces, pub = fib(log_n=5)
    proof = prove(pk, traces, pub)
    other = setup([Fibonacci(5)], TEST, False, b"\x02" * 32)
    with pytest.raises(KeyMismatch):
        verify(other.vk, proof, min_bits=0)


def test_every_merkle_root_replaced_is_rejected(proved):
    pk, _, _, proof = proved
    for field in ("main_roots", "perm_roots", "quot_roots"):
        for i in range(len(getattr(proof, field))):
            bad = copy.deepcopy(proof)
            getattr(bad, field)[i] = bytes(32)
            _reject(pk, bad)
    for layer in range(len(proof.fri["layer_roots"]) if "layer_roots" in proof.fri else 0):
        bad = copy.deepcopy(proof)
        bad.fri["layer_roots"][layer] = bytes(32)
        _reject(pk, bad)


def test_every_opened_row_flipped_is_rejected(proved):
    pk, _, _, proof = proved
    for t in range(len(proof.openings)):
        for g in range(len(proof.openings[t].rows)):  # every row group of every phase tree
            bad = copy.deepcopy(proof)
            rows = bad.openings[t].rows[g].copy()
            rows[0, 0] = (int(rows[0, 0]) + 1) % P
            bad.openings[t].rows[g] = rows
            _reject(pk, bad)


def test_truncated_proof_file_is_rejected():
    pk, traces, pub = fib()
    data = prove(pk, traces, pub).to_bytes()
    for cut in (0, 10, len(data) // 2, len(data) - 1):
        with pytest.raises(ProofFormatError):
            StarkProof.from_bytes(data[:cut])


def test_padded_proof_file_is_rejected():
    pk, traces, pub = fib()
    data = prove(pk, traces, pub).to_bytes()
    with pytest.raises(ProofFormatError):
        StarkProof.from_bytes(data + b"\x00")


def test_proof_below_requested_security_is_rejected():
    pk, traces, pub = fib()
    proof = prove(pk, traces, pub)
    with pytest.raises(InsufficientSecurity):
        verify(pk.vk, proof, min_bits=100)


@pytest.mark.parametrize("label", ["standard", "custom", "", "TEST"])
def test_proof_relabelled_with_another_preset_is_rejected(label):
    """The proof only names the key's preset; any other label is refused."""
    pk, traces, pub = fib()
    proof = prove(pk, traces, pub)
    assert proof.security == "test"
    proof.security = label
    _reject(pk, proof, ParameterMismatch)


@pytest.mark.parametrize("value", [TEST.to_dict(), {"junk": 1}, 3, None, b"test"])
def test_proof_carrying_parameters_instead_of_a_label_is_refused(value):
    """Parameters never come from the proof: a map (or any non-string) there is malformed."""
    from zkvm import envelope
    from zkvm.stark.proof import PROOF_FORMAT, PROOF_MAGIC

    pk, traces, pub = fib()
    d = prove(pk, traces, pub).to_dict()
    d["security"] = value
    with pytest.raises(ProofFormatError, match="security"):
        StarkProof.from_bytes(envelope.pack(PROOF_MAGIC, PROOF_FORMAT, "proof", d))


def test_weak_key_is_refused_when_the_caller_asks_for_nothing():
    """No min_bits: the standard level (100 conjectured bits) is required."""
    pk, traces, pub = fib()
    with pytest.raises(InsufficientSecurity):
        verify(pk.vk, prove(pk, traces, pub))


def test_proof_with_free_meta_field_is_refused():
    """Every field of a proof is bound or checked: an extra one is malformed."""
    from zkvm import envelope
    from zkvm.stark.proof import PROOF_FORMAT, PROOF_MAGIC

    pk, traces, pub = fib()
    d = prove(pk, traces, pub).to_dict()
    d["meta"] = {"note": "anything"}
    with pytest.raises(ProofFormatError):
        StarkProof.from_bytes(envelope.pack(PROOF_MAGIC, PROOF_FORMAT, "proof", d))


def test_deep_grinding_nonce_changed_is_rejected():
    """The nonce before the DEEP challenge must meet the key's bits (and is bound)."""
    import dataclasses

    from zkvm.stark.verifier import DeepPowInvalid

    cfg = dataclasses.replace(TEST, deep_pow_bits=8)
    pk = setup([Fibonacci(5)], cfg, False, SID)
    _, traces, pub = fib()
    proof = prove(pk, traces, pub)
    verify(pk.vk, proof, min_bits=0)
    n = proof.deep_pow_nonce
    proof.deep_pow_nonce = 0 if n else 1  # grinding returns the smallest valid nonce
    with pytest.raises(DeepPowInvalid if n else VerificationError):
        verify(pk.vk, StarkProof.from_bytes(proof.to_bytes()), min_bits=0)


def test_free_nonce_without_grinding_is_rejected():
    """With 0 grinding bits the nonce must be 0: any other would re-draw lambda for free."""
    from zkvm.stark.verifier import DeepPowInvalid

    pk, traces, pub = fib()
    proof = prove(pk, traces, pub)
    assert pk.vk.security.deep_pow_bits == 0 and proof.deep_pow_nonce == 0
    proof.deep_pow_nonce = 5
    _reject(pk, proof, DeepPowInvalid)


def test_proof_with_missing_ood_block_is_rejected():
    pk, traces, pub = fib()
    proof = prove(pk, traces, pub)
    proof.ood[0] = proof.ood[0][:-2]
    _reject(pk, proof, ProofShapeError)


# --- zero knowledge --------------------------------------------------------------
def test_zk_claimed_sums_are_blinded():
    """Every interacting table's claimed sum carries a random mask (zkvm.stark.blind)."""
    pk, traces, pub = bus_stmt(zk=True)
    a = prove(pk, traces, pub)
    b = prove(pk, traces, pub)
    assert len(a.claimed_sums) == 3  # producer, squarer, blinding table
    assert all(x != y for x, y in zip(a.claimed_sums, b.claimed_sums))


def test_zk_refuses_tables_smaller_than_the_openings():
    with pytest.raises(ValueError, match="n_queries"):
        setup([Fibonacci(3)], TEST, True, SID)


def test_two_zk_proofs_of_the_same_statement_differ():
    pk, traces, pub = fib(zk=True)
    a = prove(pk, traces, pub)
    b = prove(pk, traces, pub)
    assert a.main_roots != b.main_roots and a.ood != b.ood
    verify(pk.vk, a, min_bits=0)
    verify(pk.vk, b, min_bits=0)


def test_zk_openings_do_not_reveal_private_cells():
    pattern = 0x1234_5678_9ABC
    pk, traces, pub = bus_stmt(zk=True)
    # the producer's values are the private cells; give them a recognisable pattern
    vals = np.full(32, pattern, dtype=np.uint64) + np.arange(32, dtype=np.uint64)
    x = vals[:8]
    y = K_mul(x, x)
    pad = np.zeros(8, np.uint64)
    traces = [vals[None, :], np.stack([np.concatenate([x, pad]), np.concatenate([y, pad])])]
    terms = [(BUS_DATA, (i + 1 + 100, int(y[i])), -1) for i in range(8)]
    terms += [(BUS_DATA, (i + 1, int(vals[i])), -1) for i in range(8, 32)]
    pub = PublicValues([[], []], terms)
    proof = prove(pk, traces, pub, debug=True)
    verify(pk.vk, proof, min_bits=0)
    secret = set(int(v) for v in vals[:8])  # y and vals[8:] are public terms
    opened = set()
    for op in proof.openings:
        for rows in op.rows:
            opened |= set(int(v) for v in rows.ravel())
    for block in proof.ood:
        opened |= set(block)
    assert not (secret & opened)


def K_mul(a, b):
    from zkvm.field import kernels as K
    return K.mul(a, b)


def test_key_naming_an_unknown_chip_is_rejected_cleanly():
    pk, traces, pub = fib()
    proof = prove(pk, traces, pub)
    vk = copy.deepcopy(pk.vk)
    vk.tables[0]["kind"] = "no_such_chip"
    with pytest.raises(KeyMismatch, match="cannot rebuild"):
        verify(vk, proof, min_bits=0)
    vk = copy.deepcopy(pk.vk)
    vk.pre_roots.append(bytes(32))
    with pytest.raises(KeyMismatch, match="preprocessed roots"):
        verify(vk, proof, min_bits=0)


def test_proof_and_key_of_the_old_one_tree_per_group_format_are_refused():
    """Format 1 (one tree per group and phase) is refused with a message, not a traceback."""
    import msgpack

    from zkvm.stark.keys import KeyFileError, VerifyingKey

    pk, traces, pub = fib()
    proof = prove(pk, traces, pub)
    for data, load, err in ((proof.to_bytes(), StarkProof.from_bytes, ProofFormatError),
                            (pk.vk.to_bytes(), VerifyingKey.from_bytes, KeyFileError)):
        d = msgpack.unpackb(data, raw=False, strict_map_key=False)
        d["format"] = 1
        with pytest.raises(err, match="format 1 is not supported"):
            load(msgpack.packb(d, use_bin_type=True))


def test_one_root_and_one_opening_per_phase():
    pk, traces, pub = bus_stmt(zk=True)
    proof = prove(pk, traces, pub)
    lay = pk.layout
    phases = [ph for ph, _ in lay.trees]
    assert phases == [p for p in ("pre", "main", "perm", "quot") if p in phases]
    assert {"main", "perm", "quot"} <= set(phases)
    assert len(proof.openings) == len(lay.trees)
    assert len(proof.main_roots) == len(proof.quot_roots) == 1
    for (ph, gs), op in zip(lay.trees, proof.openings):
        logs, widths = lay.tree_shape(ph)
        assert [r.shape[1] for r in op.rows] == widths
        assert sum(w << lg for w, lg in zip(widths, logs)) == sum(
            lay.group_width(g, ph) << g for g in gs)  # every group's rows, once
        assert widths[0] <= 16 or logs[0] == gs[0]  # leaves packed up to 16 elements
    verify(pk.vk, StarkProof.from_bytes(proof.to_bytes()), min_bits=0)
