"""FRI over the cubic extension (ext_degree=3): honest proofs accepted, every tampering rejected."""

from __future__ import annotations

import copy
import dataclasses

import msgpack
import numpy as np
import pytest

from test_fri import check, make_inputs, run
from zkvm.field import GENERATOR, P
from zkvm.field.extension import Ext3
from zkvm.fri import fri
from zkvm.fri.fri import (
    FriError, FriFoldMismatch, FriInputMismatch, FriMerkleError, FriPowInvalid, FriProof,
    FriShapeError, InsufficientSecurity,
)
from zkvm.fri.merkle_verify import MerkleProof
from zkvm.fri.security import SecurityConfig

TEST3 = dataclasses.replace(SecurityConfig.preset("test"), ext_degree=3)


@pytest.mark.parametrize("logs", [[2], [5], [8], [10, 8, 6], [10, 9, 8, 7, 6, 5, 4]])
def test_cubic_honest_low_degree_is_accepted(logs):
    inputs = make_inputs(logs, TEST3)
    assert inputs[max(logs)].shape[1] == 3
    proof, idx = run(inputs, TEST3)
    assert proof.final_poly.shape[1] == 3 and proof.openings[0].rows.shape[1] == 6 if proof.openings else True
    assert np.array_equal(check(proof, inputs, TEST3), idx)


@pytest.mark.parametrize("seed", range(3))
def test_cubic_too_high_degree_or_random_word_is_rejected(seed):
    inputs = make_inputs([10, 7], TEST3, seed=seed, excess=1 + seed)
    proof, _ = run(inputs, TEST3)
    with pytest.raises(FriError):
        check(proof, inputs, TEST3)
    rng = np.random.default_rng(seed)
    word = {9: rng.integers(0, P, size=(512, 3), dtype=np.uint64)}
    proof, _ = run(word, TEST3)
    with pytest.raises(FriError):
        check(proof, word, TEST3)


def test_degree_mismatch_is_refused():
    inputs = make_inputs([8], TEST3)
    with pytest.raises(FriShapeError):
        run(inputs)  # a quadratic run refuses cubic codewords
    proof, _ = run(inputs, TEST3)
    with pytest.raises(FriError):
        check(proof, inputs)  # verified as quadratic
    quad = make_inputs([8])
    qproof, _ = run(quad)
    with pytest.raises(FriError):
        check(qproof, quad, TEST3, values=lambda l, ii: inputs[l][ii])


@pytest.fixture(scope="module")
def honest3():
    inputs = make_inputs([10, 8], TEST3, seed=11)
    proof, _ = run(inputs, TEST3)
    check(proof, inputs, TEST3)
    return inputs, proof


def _chk(proof, inputs, **kw):
    return check(proof, inputs, TEST3, **kw)


def test_cubic_tampered_openings_are_rejected(honest3):
    inputs, proof = honest3
    for col in range(6):
        bad = copy.deepcopy(proof)
        rows = bad.openings[1].rows.copy()
        rows[0, col] = (int(rows[0, col]) + 1) % P
        bad.openings[1] = dataclasses.replace(bad.openings[1], rows=rows)
        with pytest.raises(FriMerkleError):
            _chk(bad, inputs)
    bad = copy.deepcopy(proof)
    sib = list(bad.openings[2].siblings)
    sib[0] = bytes(32)
    bad.openings[2] = MerkleProof(bad.openings[2].rows, None, sib)
    with pytest.raises(FriMerkleError):
        _chk(bad, inputs)
    bad = copy.deepcopy(proof)
    rows = bad.openings[0].rows.copy()
    rows[0, 5] = np.uint64(P + 1)
    bad.openings[0] = dataclasses.replace(bad.openings[0], rows=rows)
    with pytest.raises(FriShapeError):
        _chk(bad, inputs)
    bad = copy.deepcopy(proof)
    op = bad.openings[0]
    bad.openings[0] = MerkleProof(op.rows, [b""] * op.rows.shape[0], op.siblings)
    with pytest.raises(FriShapeError):
        _chk(bad, inputs)


def test_cubic_layers_tampered_are_rejected(honest3):
    inputs, proof = honest3
    bad = copy.deepcopy(proof)
    del bad.layer_roots[3]
    del bad.openings[3]
    with pytest.raises(FriShapeError):
        _chk(bad, inputs)
    bad = copy.deepcopy(proof)
    bad.layer_roots.append(bad.layer_roots[-1])
    bad.openings.append(bad.openings[-1])
    with pytest.raises(FriShapeError):
        _chk(bad, inputs)
    bad = copy.deepcopy(proof)
    bad.layer_roots[1], bad.layer_roots[2] = bad.layer_roots[2], bad.layer_roots[1]
    bad.openings[1], bad.openings[2] = bad.openings[2], bad.openings[1]
    with pytest.raises(FriError):
        _chk(bad, inputs)
    with pytest.raises(FriError):
        check(proof, inputs, TEST3, pid=b"another statement")


@pytest.mark.parametrize("coef", [0, 1, 2])
def test_cubic_wrong_final_polynomial_is_rejected(honest3, coef):
    inputs, proof = honest3
    bad = copy.deepcopy(proof)
    fp = bad.final_poly.copy()
    fp[0, coef] = (int(fp[0, coef]) + 1) % P
    bad.final_poly = fp
    with pytest.raises(FriError):
        _chk(bad, inputs)
    bad.final_poly = np.vstack([proof.final_poly, proof.final_poly[:1]])
    with pytest.raises(FriShapeError):
        _chk(bad, inputs)


@pytest.mark.parametrize("coef", [0, 1, 2])
def test_cubic_wrong_input_value_is_rejected(honest3, coef):
    inputs, proof = honest3

    def tampered(target):
        def values(l, ii):
            v = inputs[l][ii].copy()
            if l == target:
                v[0, coef] = (int(v[0, coef]) + 1) % P
            return v

        return values

    with pytest.raises(FriInputMismatch):
        _chk(proof, inputs, values=tampered(10))
    with pytest.raises(FriFoldMismatch):
        _chk(proof, inputs, values=tampered(8))


def test_cubic_pow_min_bits_and_round_trip(honest3):
    inputs, proof = honest3
    cfg = dataclasses.replace(TEST3, pow_bits=12)
    small = make_inputs([8], cfg)
    p2, _ = run(small, cfg)
    check(p2, small, cfg)
    with pytest.raises(FriPowInvalid):
        check(dataclasses.replace(p2, pow_nonce=p2.pow_nonce + 1), small, cfg)
    garbage = FriProof(layer_roots=[], final_poly=np.zeros((0, 3), np.uint64), pow_nonce=0)
    with pytest.raises(InsufficientSecurity):
        _chk(garbage, inputs, min_bits=100)
    back = FriProof.from_dict(msgpack.unpackb(msgpack.packb(proof.to_dict())), ext_degree=3)
    assert np.array_equal(back.final_poly, proof.final_poly)
    _chk(back, inputs)
    with pytest.raises(FriError):
        _chk(FriProof.from_dict(msgpack.unpackb(msgpack.packb(proof.to_dict()))), inputs)


@pytest.mark.parametrize("log_n", [1, 2, 5, 11, 15])
def test_cubic_fused_fold_matches_reference_python_and_leaf_layout(log_n):
    from zkvm.field import root_of_unity, s_inv
    from zkvm.fri.fri_kernels import fold_leaves_kernel

    rng = np.random.default_rng(log_n)
    f = rng.integers(0, P, size=(1 << log_n, 3), dtype=np.uint64)
    beta = Ext3(*(int(v) for v in rng.integers(0, P, size=3, dtype=np.uint64)))
    shift = pow(GENERATOR, 4, P)
    got = fri.fold(f, beta, shift)
    assert got.shape == (f.shape[0] // 2, 3)
    assert np.array_equal(got, fri.fold_reference(f, beta, shift))
    half = f.shape[0] // 2
    w = root_of_unity(log_n)
    for i in sorted({0, half // 3, half - 1}):
        x = shift * pow(w, i, P) % P
        a, c = Ext3.from_list(f[i]), Ext3.from_list(f[i + half])
        assert Ext3.from_list(got[i]) == (a + c) * pow(2, P - 2, P) + beta * (a - c) * pow(2 * x % P, P - 2, P)
    if log_n >= 2:
        lv = np.concatenate([f[:half], f[half:]], axis=1)
        out = fold_leaves_kernel(lv, beta.coeffs, (P + 1) // 2 * s_inv(shift) % P, s_inv(root_of_unity(log_n)))
        assert np.array_equal(np.concatenate([out[:, :3], out[:, 3:]]), got)
