"""End to end: every example program proves and verifies at `standard`, with public and
private inputs; the named end-to-end attacks are all rejected."""

from __future__ import annotations

import copy
import os

import numpy as np
import pytest

import zkvm.api as api
from zkvm.assembler import assemble, assemble_file
from zkvm.io import quantize_inputs, read_real_inputs
from zkvm.stark.errors import InsufficientSecurity, KeyMismatch, ProofFormatError, VerificationError
from zkvm.stark.proof import StarkProof

ROOT = os.path.join(os.path.dirname(__file__), "..", "programs")
PROGRAMS = ["linreg", "xor", "cnn", "softmax_classifier"]


def load(name: str, private: bool = False):
    path = os.path.join(ROOT, f"{name}.zasm")
    if not private:
        prog = assemble_file(path)
    else:
        with open(path) as f:
            src = f.read().replace(" public", " private")
        prog = assemble(src, filename=path, base_dir=ROOT)
    ints = quantize_inputs(read_real_inputs(os.path.join(ROOT, f"{name}.input.json"), prog), prog)
    return prog, ints


@pytest.mark.parametrize("private", [False, True], ids=["public", "private"])
@pytest.mark.parametrize("name", PROGRAMS)
def test_example_program_proves_and_verifies_at_standard(name, private):
    from zkvm.runtime import execute

    prog, ints = load(name, private)
    key = api.setup(prog, "standard")
    assert key.vk.zk == private
    proof = api.prove(prog, ints, "standard", key=key)
    out = api.verify(StarkProof.from_bytes(proof.to_bytes()), key.vk, min_bits=100)
    expected = execute(prog, ints).outputs
    for k, v in expected.items():
        np.testing.assert_array_equal(out[k], v)


@pytest.fixture(scope="module")
def xor_proof():
    prog, ints = load("xor")
    key = api.setup(prog, "test")
    proof = api.prove(prog, ints, "test", key=key)
    return prog, ints, key, proof


def test_claiming_a_different_output_is_rejected(xor_proof):
    _, _, key, proof = xor_proof
    bad = copy.deepcopy(proof)
    name = next(iter(bad.public.meta["outputs"]))
    bad.public.meta["outputs"][name][0] += 1
    with pytest.raises(VerificationError):
        api.verify(bad, key.vk, min_bits=0)


def test_changing_one_weight_is_rejected(xor_proof):
    prog, ints, key, _ = xor_proof
    src = open(os.path.join(ROOT, "xor.zasm")).read().replace("[[256], [-512]]", "[[256], [-511]]")
    other = assemble(src, base_dir=ROOT)
    proof = api.prove(other, ints, "test")
    with pytest.raises(KeyMismatch):
        api.verify(proof, key.vk, min_bits=0)


def test_swapping_the_program_for_another_with_the_same_shapes_is_rejected(xor_proof):
    prog, ints, _, proof = xor_proof
    src = open(os.path.join(ROOT, "xor.zasm")).read().replace("[[256], [-512]]", "[[128], [-512]]")
    other_key = api.setup(assemble(src, base_dir=ROOT), "test")
    with pytest.raises(KeyMismatch):
        api.verify(proof, other_key.vk, min_bits=0)


def test_reusing_a_proof_with_different_public_inputs_is_rejected(xor_proof):
    _, _, key, proof = xor_proof
    bad = copy.deepcopy(proof)
    name = next(iter(bad.public.meta["inputs"]))
    bad.public.meta["inputs"][name][0] ^= 1
    with pytest.raises(VerificationError):
        api.verify(bad, key.vk, min_bits=0)


def test_test_security_proof_with_min_security_100_is_rejected(xor_proof):
    _, _, key, proof = xor_proof
    with pytest.raises(InsufficientSecurity):
        api.verify(proof, key.vk, min_bits=100)


def test_byte_flipped_anywhere_in_the_proof_file_is_rejected(xor_proof):
    _, _, key, proof = xor_proof
    data = bytearray(proof.to_bytes())
    rng = np.random.default_rng(7)
    for pos in rng.choice(len(data), 24, replace=False):
        bad = bytearray(data)
        bad[pos] ^= 1 << int(rng.integers(8))
        with pytest.raises((VerificationError, ProofFormatError)):
            api.verify(StarkProof.from_bytes(bytes(bad)), key.vk, min_bits=0)


def test_truncated_proof_file_is_rejected(xor_proof):
    _, _, _, proof = xor_proof
    data = proof.to_bytes()
    for cut in (1, len(data) // 3, len(data) - 1):
        with pytest.raises(ProofFormatError):
            StarkProof.from_bytes(data[:cut])


def test_private_input_values_do_not_appear_in_the_proof_file():
    src = """
input x : i16[1,8] scale 8 private
weight w : i16[8,2] scale 8 = [[1,2],[3,4],[5,6],[7,8],[9,10],[11,12],[13,14],[15,16]]
y0 = matmul x, w
y = rescale y0, 8
output y
"""
    prog = assemble(src)
    secret = np.array([[12345, -23456, 31111, -1717, 20202, 9999, -30303, 25252]])
    proof = api.prove(prog, {"x": secret}, "test")
    api.verify(proof, api.setup(prog, "test").vk, min_bits=0)
    data = proof.to_bytes()
    for v in secret.ravel():
        field = int(v) % (2**64 - 2**32 + 1)
        assert field.to_bytes(8, "little") not in data
        assert int(v).to_bytes(2, "little", signed=True) * 2 not in data
    assert "x" not in proof.public.meta["inputs"]


def test_public_input_outside_its_declared_range_is_rejected(xor_proof):
    from zkvm.air.chips import io as io_terms

    _, _, key, proof = xor_proof
    bad = copy.deepcopy(proof)
    name = next(iter(bad.public.meta["inputs"]))
    bad.public.meta["inputs"][name][0] = 1 << 40
    with pytest.raises(VerificationError, match="declared range"):
        api.verify(bad, key.vk, min_bits=0)
    with pytest.raises(ValueError, match="declared range"):
        io_terms.bus_terms(key.vk.meta["io"], bad.public.meta["inputs"], bad.public.meta["outputs"])
