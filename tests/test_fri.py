"""FRI: honest proofs accepted, every tampering rejected with a typed error."""

from __future__ import annotations

import copy
import dataclasses

import msgpack
import numpy as np
import pytest

from zkvm.field import GENERATOR, P
from zkvm.fri import fri
from zkvm.fri.fri import (
    FriError,
    FriFoldMismatch,
    FriInputMismatch,
    FriMerkleError,
    FriPowInvalid,
    FriProof,
    FriShapeError,
    InsufficientSecurity,
)
from zkvm.fri.merkle_verify import MerkleProof
from zkvm.fri.security import SecurityConfig
from zkvm.fri.transcript import Transcript
from zkvm.poly import coset_ntt

TEST = SecurityConfig.preset("test")
PID = b"zkvm-fri-test"


def codeword(rng, log_n: int, log_big: int, degree: int, d: int = 2) -> np.ndarray:
    """Ext codeword (degree-d extension) of a random polynomial of the given degree bound on GENERATOR^(N/n) H_n."""
    c = np.zeros((d, 1 << log_n), dtype=np.uint64)
    c[:, :degree] = rng.integers(0, P, size=(d, degree), dtype=np.uint64)
    return np.ascontiguousarray(coset_ntt(c, pow(GENERATOR, 1 << (log_big - log_n), P)).T)


def make_inputs(logs, cfg=TEST, seed=0, excess=0):
    rng = np.random.default_rng(seed)
    big = max(logs)
    return {l: codeword(rng, l, big, ((1 << l) >> cfg.log_blowup) + excess, cfg.ext_degree) for l in logs}


def run(inputs, cfg=TEST):
    proof, idx = fri.prove(inputs, cfg, Transcript(PID))
    return proof, idx


def check(proof, inputs, cfg=TEST, values=None, min_bits=0.0, pid=PID):
    values = values or (lambda l, ii: inputs[l][ii])
    return fri.verify(proof, cfg, Transcript(pid), sorted(inputs), values, min_bits=min_bits)


@pytest.mark.parametrize("logs", [[2], [3], [4], [5], [8], [11], [10, 8, 6], [9, 7], [10, 9, 8, 7, 6, 5, 4]])
def test_honest_low_degree_is_accepted(logs):
    inputs = make_inputs(logs)
    proof, idx = run(inputs)
    got = check(proof, inputs)
    assert np.array_equal(got, idx)
    assert ((idx >= 0) & (idx < (1 << max(logs)))).all()


@pytest.mark.parametrize("name", ["test", "standard", "high"])
def test_every_preset_shape_is_accepted(name):
    cfg = SecurityConfig.preset(name)
    for logs in ([10], [10, 9]):
        inputs = make_inputs(logs, cfg)
        proof, _ = run(inputs, cfg)
        assert len(proof.layer_roots) == 10 - cfg.log_final_poly_len - cfg.log_blowup
        check(proof, inputs, cfg)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("logs", [[8], [10, 7]])
def test_too_high_degree_is_rejected(seed, logs):
    inputs = make_inputs(logs, seed=seed, excess=1 + seed)
    proof, _ = run(inputs)
    with pytest.raises(FriError):
        check(proof, inputs)


def test_random_word_is_rejected():
    rng = np.random.default_rng(5)
    inputs = {9: rng.integers(0, P, size=(512, 2), dtype=np.uint64)}
    proof, _ = run(inputs)
    with pytest.raises(FriError):
        check(proof, inputs)


@pytest.fixture(scope="module")
def honest():
    inputs = make_inputs([10, 8], seed=11)
    proof, _ = run(inputs)
    check(proof, inputs)
    return inputs, proof


def test_flipped_leaf_value_is_rejected(honest):
    inputs, proof = honest
    bad = copy.deepcopy(proof)
    rows = bad.openings[1].rows.copy()
    rows[0, 1] = (int(rows[0, 1]) + 1) % P
    bad.openings[1] = dataclasses.replace(bad.openings[1], rows=rows)
    with pytest.raises(FriMerkleError) as e:
        check(bad, inputs)
    assert e.value.layer == 1


def test_forged_merkle_path_is_rejected(honest):
    inputs, proof = honest
    bad = copy.deepcopy(proof)
    sib = list(bad.openings[2].siblings)
    sib[0] = bytes(32)
    bad.openings[2] = MerkleProof(bad.openings[2].rows, None, sib)
    with pytest.raises(FriMerkleError):
        check(bad, inputs)


def test_fri_layer_removed_is_rejected(honest):
    inputs, proof = honest
    bad = copy.deepcopy(proof)
    del bad.layer_roots[3]
    del bad.openings[3]
    with pytest.raises(FriShapeError):
        check(bad, inputs)


def test_fri_layer_added_is_rejected(honest):
    inputs, proof = honest
    bad = copy.deepcopy(proof)
    bad.layer_roots.append(bad.layer_roots[-1])
    bad.openings.append(bad.openings[-1])
    with pytest.raises(FriShapeError):
        check(bad, inputs)


def test_fri_layers_reordered_are_rejected(honest):
    inputs, proof = honest
    bad = copy.deepcopy(proof)
    bad.layer_roots[1], bad.layer_roots[2] = bad.layer_roots[2], bad.layer_roots[1]
    bad.openings[1], bad.openings[2] = bad.openings[2], bad.openings[1]
    with pytest.raises(FriError):
        check(bad, inputs)


def test_wrong_final_polynomial_is_rejected(honest):
    inputs, proof = honest
    bad = copy.deepcopy(proof)
    fp = bad.final_poly.copy()
    fp[0, 0] = (int(fp[0, 0]) + 1) % P
    bad.final_poly = fp
    with pytest.raises(FriError):
        check(bad, inputs)
    bad.final_poly = np.vstack([proof.final_poly, proof.final_poly[:1]])
    with pytest.raises(FriShapeError):
        check(bad, inputs)


def test_bad_pow_nonce_is_rejected():
    cfg = dataclasses.replace(TEST, pow_bits=16)
    inputs = make_inputs([8], cfg)
    proof, _ = run(inputs, cfg)
    check(proof, inputs, cfg)
    bad = dataclasses.replace(proof, pow_nonce=proof.pow_nonce + 1)
    with pytest.raises(FriPowInvalid):
        check(bad, inputs, cfg)


def test_wrong_input_value_is_rejected(honest):
    """DEEP consistency: the caller's value at a query must equal FRI's opened value."""
    inputs, proof = honest

    def tampered(target):
        def values(l, ii):
            v = inputs[l][ii].copy()
            if l == target:
                v[0, 0] = (int(v[0, 0]) + 1) % P
            return v

        return values

    with pytest.raises(FriInputMismatch):
        check(proof, inputs, values=tampered(10))
    with pytest.raises(FriFoldMismatch):
        check(proof, inputs, values=tampered(8))


def test_different_transcript_is_rejected(honest):
    inputs, proof = honest
    with pytest.raises(FriError):
        check(proof, inputs, pid=b"another statement")


def test_weaker_parameters_than_min_bits_are_rejected_first(honest):
    inputs, proof = honest
    garbage = FriProof(layer_roots=[], final_poly=np.zeros((0, 2), np.uint64), pow_nonce=0)
    with pytest.raises(InsufficientSecurity):
        check(garbage, inputs, min_bits=100)
    check(proof, inputs, min_bits=15)  # the test preset gives ~20 bits


def test_non_canonical_opening_is_rejected(honest):
    inputs, proof = honest
    bad = copy.deepcopy(proof)
    rows = bad.openings[0].rows.copy()
    rows[0, 0] = np.uint64(P + 1)
    bad.openings[0] = dataclasses.replace(bad.openings[0], rows=rows)
    with pytest.raises(FriShapeError):
        check(bad, inputs)


def test_input_sizes_below_the_final_codeword_are_refused():
    with pytest.raises(FriShapeError):
        run(make_inputs([8, 3]))


def test_proof_msgpack_round_trip(honest):
    inputs, proof = honest
    blob = msgpack.packb(proof.to_dict())
    back = FriProof.from_dict(msgpack.unpackb(blob))
    assert back.layer_roots == proof.layer_roots and back.pow_nonce == proof.pow_nonce
    assert np.array_equal(back.final_poly, proof.final_poly)
    check(back, inputs)
    with pytest.raises(FriShapeError):
        FriProof.from_dict({"version": 99})
    with pytest.raises(FriShapeError):
        FriProof.from_dict({"version": 1, "layer_roots": [], "final_poly": b"123", "pow_nonce": 0, "openings": []})


@pytest.mark.parametrize("log_n", [1, 2, 5, 11, 16])
def test_fused_fold_matches_reference_and_python(log_n):
    from zkvm.field import Ext, root_of_unity

    rng = np.random.default_rng(log_n)
    f = rng.integers(0, P, size=(1 << log_n, 2), dtype=np.uint64)
    beta = Ext(int(rng.integers(0, 2**63)) * 3 % P, int(rng.integers(0, 2**63)) * 5 % P)
    shift = pow(GENERATOR, 4, P)
    got = fri.fold(f, beta, shift)
    assert np.array_equal(got, fri.fold_reference(f, beta, shift))
    half = f.shape[0] // 2
    w = root_of_unity(log_n)
    for i in sorted({0, half // 3, half - 1}):
        x = shift * pow(w, i, P) % P
        a, c = Ext.from_list(f[i]), Ext.from_list(f[i + half])
        want = (a + c) * pow(2, P - 2, P) + beta * (a - c) * pow(2 * x % P, P - 2, P)
        assert Ext.from_list(got[i]) == want


@pytest.mark.parametrize("log_n", [2, 6, 15])
def test_fold_in_leaf_layout_matches_natural_fold(log_n):
    from zkvm.field import Ext, root_of_unity, s_inv
    from zkvm.fri.fri_kernels import fold_leaves_kernel

    rng = np.random.default_rng(log_n)
    f = rng.integers(0, 2**63, size=(1 << log_n, 2), dtype=np.uint64)
    beta = Ext(12345, 678910)
    shift = pow(GENERATOR, 2, P)
    nat = fri.fold(f, beta, shift)
    half = f.shape[0] // 2
    lv = np.concatenate([f[:half], f[half:]], axis=1)
    got = fold_leaves_kernel(lv, (beta.c0, beta.c1), (P + 1) // 2 * s_inv(shift) % P, s_inv(root_of_unity(log_n)))
    assert np.array_equal(np.concatenate([got[:, :2], got[:, 2:]]), nat)


def test_salted_fri_opening_is_rejected(honest):
    inputs, proof = honest
    bad = copy.deepcopy(proof)
    op = bad.openings[0]
    bad.openings[0] = MerkleProof(op.rows, [b""] * op.rows.shape[0], op.siblings)
    with pytest.raises(FriShapeError):
        check(bad, inputs)
