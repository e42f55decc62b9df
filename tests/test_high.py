"""The ``high`` preset (cubic extension): >= 128 conjectured bits, end to end through api and CLI."""

from __future__ import annotations

import os
import shutil
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

import zkvm.api as api
from zkvm.cli import app
from zkvm.io import quantize_inputs
from zkvm.runtime import execute
from zkvm.stark.errors import InsufficientSecurity, VerificationError
from zkvm.stark.proof import StarkProof

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from zkvm.examples.program import QuantConfig, build_program  # noqa: E402
from zkvm.examples.trained import load_weights, sample_input  # noqa: E402

runner = CliRunner()


@pytest.mark.parametrize("private", [False, True], ids=["public", "private"])
def test_tiny_model_proves_and_verifies_at_high_with_128_bits(private):
    prog = build_program("tiny", load_weights("tiny"), QuantConfig(private_input=private))
    doc, _ = sample_input("tiny", 3)
    real = {prog.inputs[0].name: np.asarray(doc["input_data"][0], dtype=np.float64)
            .reshape(prog.inputs[0].shape)}
    ints = quantize_inputs(real, prog)
    key = api.setup(prog, "high")
    assert key.vk.security.ext_degree == 3 and key.vk.zk == private
    proof = api.prove(prog, ints, "high", key=key)
    back = StarkProof.from_bytes(proof.to_bytes())
    out = api.verify(back, key.vk, min_bits=128)
    np.testing.assert_array_equal(out["logits"], execute(prog, ints).outputs["logits"])
    bad = StarkProof.from_bytes(proof.to_bytes())
    bad.ood[0][0] = (bad.ood[0][0] + 1) % (2**64 - 2**32 + 1)
    with pytest.raises(VerificationError):
        api.verify(bad, key.vk, min_bits=128)


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_cli_prove_and_verify_at_high(tmp_path):
    for f in ("xor.zasm", "xor.npz", "xor.input.json"):
        shutil.copy(os.path.join(ROOT, "programs", f), tmp_path / f)
    prog, inp = tmp_path / "xor.zasm", tmp_path / "xor.input.json"
    r = invoke("run", prog, "--input", inp, "--prove", "--proof", tmp_path / "h.proof",
               "--security", "high")
    assert r.exit_code == 0, (r.stdout, r.stderr)
    r = invoke("setup", prog, "-o", tmp_path / "h.vk", "--security", "high")
    assert r.exit_code == 0, (r.stdout, r.stderr)
    r = invoke("verify", tmp_path / "h.proof", "--key", tmp_path / "h.vk", "--security", "high")
    assert r.exit_code == 0, (r.stdout, r.stderr)
    assert "high security" in r.stdout
    r = invoke("verify", tmp_path / "h.proof", "--program", prog, "--security", "high")
    assert r.exit_code == 0, (r.stdout, r.stderr)
    # a standard (quadratic) proof cannot reach 128 bits
    r = invoke("run", prog, "--input", inp, "--prove", "--proof", tmp_path / "s.proof")
    assert r.exit_code == 0, (r.stdout, r.stderr)
    r = invoke("verify", tmp_path / "s.proof", "--program", prog, "--min-security", 128)
    assert r.exit_code == 1 and "InsufficientSecurity" in r.stderr
    # nor does a standard proof pass for the high key
    r = invoke("verify", tmp_path / "s.proof", "--key", tmp_path / "h.vk", "--security", "high")
    assert r.exit_code == 1 and "ParameterMismatch" in r.stderr
    # and a high key is not taken when the verifier asks for standard (the default)
    r = invoke("verify", tmp_path / "h.proof", "--key", tmp_path / "h.vk")
    assert r.exit_code == 1 and "ParameterMismatch" in r.stderr
    data = bytearray((tmp_path / "h.proof").read_bytes())
    data[len(data) // 2] ^= 1
    (tmp_path / "bad.proof").write_bytes(bytes(data))
    r = invoke("verify", tmp_path / "bad.proof", "--key", tmp_path / "h.vk", "--security", "high")
    assert r.exit_code != 0


def test_standard_proof_below_128_is_refused_by_the_api():
    from test_e2e import load

    prog, ints = load("xor")
    key = api.setup(prog, "standard")
    with pytest.raises(InsufficientSecurity):
        api.verify(api.prove(prog, ints, "standard", key=key), key.vk, min_bits=128)
