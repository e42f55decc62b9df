"""Every model in models/ proves and verifies at `standard`, with a public and a private input."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

import zkvm.api as api
from zkvm.io import quantize_inputs
from zkvm.runtime import execute

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from zkvm.examples.program import QuantConfig, build_program  # noqa: E402
from zkvm.examples.trained import load_weights, sample_input  # noqa: E402


@pytest.mark.parametrize("private", [False, True], ids=["public", "private"])
@pytest.mark.parametrize("name", ["tiny", "cnn", "mlp"])
def test_model_proves_and_verifies_at_standard(name, private):
    prog = build_program(name, load_weights(name), QuantConfig(private_input=private))
    doc, _ = sample_input(name, 3)
    real = {prog.inputs[0].name: np.asarray(doc["input_data"][0], dtype=np.float64)
            .reshape(prog.inputs[0].shape)}
    ints = quantize_inputs(real, prog)
    key = api.setup(prog, "standard")
    assert key.vk.zk == private
    proof = api.prove(prog, ints, "standard", key=key)
    out = api.verify(proof, key.vk, min_bits=100)
    np.testing.assert_array_equal(out["logits"], execute(prog, ints).outputs["logits"])
