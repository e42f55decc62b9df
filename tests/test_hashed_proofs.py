"""Proofs with hashed weights, inputs and outputs: what verifies, what is rejected, what leaks.

The verifier holds only the public program (or its key): the model commitment
comes from there, never from the proof.
"""

from __future__ import annotations

import numpy as np
import pytest

import zkvm.api as api
from tests.test_hashed_program import B, SALT, W, contains_run, src
from zkvm.assembler import assemble
from zkvm.isa import Program
from zkvm.isa.hidden import hash_tensors
from zkvm.isa.program import WeightsError
from zkvm.isa.visibility import with_visibility
from zkvm.stark.errors import VerificationError
from zkvm.stark.proof import StarkProof
from zkvm.isa.weights_file import PrivateWeights

X = {"x": np.array([[3, -4, 5, 127]])}


def reference(x):
    h = (x @ W + B + (1 << 11)) >> 12
    return np.maximum(h, 0)


@pytest.fixture(scope="module")
def model():
    """(public program, private weights, key): what the owner publishes and keeps."""
    owner = assemble(src(), salt=SALT)
    public = Program.from_bytes(owner.to_bytes())
    return public, owner.private_weights(), api.setup(public, "test")


@pytest.fixture(scope="module")
def proof(model):
    public, weights, key = model
    return api.prove(public, X, "test", weights=weights, key=key, seed=b"hashed", debug=True)


def changed(weights: PrivateWeights) -> PrivateWeights:
    """The same weights file with one value changed."""
    w = weights.values["w"].copy()
    w[2, 1] += 1
    return PrivateWeights({**weights.values, "w": w}, weights.salt, weights.commitment,
                          weights.program_digest, weights.hashed)


def test_proof_with_committed_weights_verifies(model, proof):
    public, _, key = model
    out = api.verify(StarkProof.from_bytes(proof.to_bytes()), key.vk, min_bits=0)
    assert (out["y"] == reference(X["x"])).all()
    assert api.public_digests(proof, key.vk)["model"]["hex"] == public.commitment.hex
    # a verifier deriving the key from the program file alone gets the same key
    assert api.setup(Program.from_bytes(public.to_bytes()), "test").vk.digest() == key.vk.digest()


def test_proving_with_other_weights_fails(model):
    public, weights, key = model
    with pytest.raises(WeightsError, match="commitment"):
        api.prove(public, X, "test", weights=changed(weights), key=key)


def test_proof_with_other_weights_is_rejected(model):
    """A prover who skips the binding check: the Poseidon2 digest is not the commitment."""
    public, weights, key = model
    bad = public.bind_weights(changed(weights), check=False)
    p = api.prove(bad, X, "test", key=key, seed=b"bad", _tamper=lambda t: t)
    with pytest.raises(VerificationError):
        api.verify(p, key.vk, min_bits=0)


def test_proof_for_commitment_a_is_rejected_for_commitment_b(model, proof):
    public, weights, _ = model
    owner = public.bind_weights(weights)
    for other in (with_visibility(owner, salt=[5, 6, 7, 8]),             # same values, new salt
                  with_visibility(public.bind_weights(changed(weights), check=False),
                                  salt=SALT)):                           # one value changed
        assert other.commitment != public.commitment
        with pytest.raises(VerificationError):
            api.verify(proof, api.setup(Program.from_bytes(other.to_bytes()), "test").vk, min_bits=0)


def test_proof_relabelled_for_commitment_b_is_rejected(model, proof):
    """The prover rewrites the proof's bus terms to commitment B's: the key binds A."""
    public, weights, _ = model
    other = with_visibility(public.bind_weights(weights), salt=[5, 6, 7, 8])
    key_b = api.setup(Program.from_bytes(other.to_bytes()), "test")
    forged = StarkProof.from_bytes(proof.to_bytes())
    forged.public.bus_terms = [tuple(t) for t in api.io_terms.bus_terms(
        key_b.vk.meta["io"], forged.public.meta["inputs"], forged.public.meta["outputs"])]
    with pytest.raises(VerificationError):
        api.verify(forged, key_b.vk, min_bits=0)


def test_proof_and_key_hold_no_weight_value(model, proof):
    _, _, key = model
    for data in (proof.to_bytes(), key.vk.to_bytes()):
        assert not contains_run(data, W)
        assert not contains_run(data, B, 2)


def test_setup_refuses_a_non_zk_key_for_hidden_weights(model):
    from zkvm.air.chips.statement import StatementError

    with pytest.raises(StatementError, match="zero-knowledge"):
        api.setup(model[0], "test", zk=False)


# --- hashed inputs and outputs -------------------------------------------------------------
XI = np.array([[-101, 77, -3, 120]])     # the hashed input
SALT_X = [9, 8, 7, 6]


@pytest.fixture(scope="module")
def io_run():
    """Hashed input x, public weights, hashed output y, plus a private output z."""
    text = src(xv="hashed", wv="public", ov="hashed").replace(
        "output y hashed", "z = relu h0\noutput y hashed, z private")
    prog = assemble(text)
    key = api.setup(prog, "test")
    rep = api.ProveReport()
    p = api.prove(prog, {"x": XI}, "test", key=key, salts={"x": SALT_X}, seed=b"io", report=rep,
                  debug=True)
    return prog, key, p, rep


def test_hashed_input_and_output_round_trip(io_run):
    prog, key, p, rep = io_run
    assert api.verify(p, key.vk, min_bits=0) == {}                       # no public output
    y = reference(XI)
    assert rep.digests["x"] == hash_tensors([XI], SALT_X)
    assert rep.digests["y"] == hash_tensors([y], rep.salts["y"])
    got = api.public_digests(p, key.vk)
    assert {k: v["value"] for k, v in got.items()} == {"x": rep.digests["x"], "y": rep.digests["y"]}
    assert got["x"]["kind"] == "input" and got["y"]["kind"] == "output"
    assert p.public.meta["inputs"] == {} and p.public.meta["outputs"] == {}
    assert [t["name"] for t in key.vk.meta["io"]["hidden_outputs"]] == ["y", "z"]


def test_hashed_input_is_not_in_the_proof(io_run):
    _, _, p, _ = io_run
    assert not contains_run(p.to_bytes(), XI)


def test_fresh_salts_give_fresh_digests(io_run):
    prog, _, _, rep = io_run
    assert rep.salts["x"] == SALT_X and len(rep.salts["y"]) == 4
    assert rep.digests["y"] != hash_tensors([reference(XI)], [0, 0, 0, 0])


@pytest.mark.parametrize("name", ["x", "y"])
def test_wrong_digest_is_rejected(io_run, name):
    """The prover claims another digest (and rewrites the bus terms to match)."""
    _, key, p, _ = io_run
    forged = StarkProof.from_bytes(p.to_bytes())
    digests = dict(forged.public.meta["digests"])
    digests[name] = [(digests[name][0] + 1) % (2**64 - 2**32 + 1)] + digests[name][1:]
    forged.public.meta["digests"] = digests
    forged.public.bus_terms = [tuple(t) for t in api.io_terms.bus_terms(
        key.vk.meta["io"], {}, {}, digests)]
    with pytest.raises(VerificationError):
        api.verify(forged, key.vk, min_bits=0)


def test_missing_digest_is_rejected(io_run):
    _, key, p, _ = io_run
    forged = StarkProof.from_bytes(p.to_bytes())
    forged.public.meta["digests"] = {"x": forged.public.meta["digests"]["x"]}
    with pytest.raises(VerificationError, match="digest"):
        api.verify(forged, key.vk, min_bits=0)


def test_one_sponge_commitment_of_older_programs_still_proves_and_verifies():
    """Programs made before per-tensor commitments hold one sponge over all hashed weights;
    their files load, prove and verify as before (the scheme is in the program file)."""
    from zkvm.isa.hidden import SCHEME, make_commitment
    from zkvm.isa.program import ProgramBuilder

    owner = assemble(src(), salt=SALT)
    b = ProgramBuilder()
    b.input("x", (1, 4), 8, 4)
    b.weight("w", W, 16, 8, visibility="hashed")
    b.weight("b", B, 32, 12, visibility="hashed")
    b.instruction("matmul", ["x", "w", "b"], "h0")
    b.instruction("rescale", ["h0"], "h", {"k": 12}, bits=16)
    b.instruction("relu", ["h"], "y")
    b.output("y")
    b.commitment, b.weight_salt = make_commitment([b.tensors["w"], b.tensors["b"]], [W, B],
                                                  SALT, SCHEME)
    old = b.build()
    assert old.commitment.scheme == SCHEME and old.commitment.hex != owner.commitment.hex
    public = Program.from_bytes(old.to_bytes())
    assert public.commitment == old.commitment
    pw = PrivateWeights.from_bytes(old.private_weights().to_bytes())
    assert pw.recompute() == list(old.commitment.digest)
    key = api.setup(public, "test")
    proof = api.prove(public, X, "test", weights=pw, key=key, seed=b"old")
    assert (api.verify(proof, key.vk, min_bits=0)["y"] == reference(X["x"])).all()
    assert api.public_digests(proof, key.vk)["model"]["hex"] == old.commitment.hex
    with pytest.raises(WeightsError):
        api.prove(public, X, "test", weights=changed(pw), key=key)
