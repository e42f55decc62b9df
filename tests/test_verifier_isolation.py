"""The verifier runs in a fresh process that never imports the prover, the runtime,
the assembler or numba (no JIT compile on its path)."""

import os
import subprocess
import sys

import numpy as np
import pytest

import zkvm.api as api
from zkvm.assembler import assemble

SRC = """
input x : i16[4] scale 4 public
input z : i8[4] scale 4 private
weight w : i16[4] scale 4 = [1, -2, 3, 4]
a = add x, w
b = mul a, z
output b
"""

CHECK = r"""
import sys
from zkvm.stark.keys import VerifyingKey
from zkvm.stark.proof import StarkProof
import zkvm.api as api
vk = VerifyingKey.from_bytes(open(sys.argv[1], "rb").read())
proof = StarkProof.from_bytes(open(sys.argv[2], "rb").read())
out = api.verify(proof, vk, min_bits=0)
bad = sorted(m for m in sys.modules if m == "numba" or m.startswith(("numba.", "zkvm.runtime",
             "zkvm.assembler", "zkvm.stark.prover", "zkvm.stark.setup", "zkvm.field.kernels",
             "zkvm.fri.fri", "zkvm.fri.blake3_kernel", "zkvm.poly.transforms")) and m != "zkvm.fri.fri_verify"
             and m != "zkvm.fri.fri_types")
print("IMPORTED", bad)
print("OUT", out["b"].tolist())
"""


@pytest.mark.parametrize("security", ["test", "high"])  # quadratic and cubic extension
def test_verify_in_fresh_process_imports_no_prover_or_jit(tmp_path, security):
    prog = assemble(SRC)
    key = api.setup(prog, security)
    proof = api.prove(prog, {"x": np.arange(4), "z": np.array([1, -1, 2, 0])}, security, key=key)
    (tmp_path / "k.vk").write_bytes(key.vk.to_bytes())
    (tmp_path / "p.proof").write_bytes(proof.to_bytes())
    r = subprocess.run([sys.executable, "-c", CHECK, str(tmp_path / "k.vk"),
                        str(tmp_path / "p.proof")], capture_output=True, text=True, timeout=120,
                       env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert r.returncode == 0, r.stderr
    assert "IMPORTED []" in r.stdout, r.stdout
    expected = (np.arange(4) + np.array([1, -2, 3, 4])) * np.array([1, -1, 2, 0])
    assert f"OUT {expected.tolist()}" in r.stdout


CLI_CHECK = r"""
import sys, runpy
sys.argv = ["zkvm", "verify", sys.argv[1], "--key", sys.argv[2], "--security", "test"]
try:
    from zkvm.entry import main
    main()
except SystemExit as e:
    code = e.code
bad = sorted(m for m in sys.modules if m.split(".")[0] in ("numba", "galois", "llvmlite", "typer",
             "click", "rich", "pydantic") or m.startswith(("zkvm.runtime", "zkvm.assembler",
             "zkvm.isa", "zkvm.stark.prover", "zkvm.stark.setup", "zkvm.cli.", "zkvm.cli_prove")))
print("EXIT", code)
print("IMPORTED", bad)
"""


def test_zkvm_verify_process_imports_no_typer_prover_or_jit(tmp_path):
    """The whole ``zkvm verify --key`` process (the console script's path) stays light."""
    prog = assemble(SRC)
    key = api.setup(prog, "test")
    proof = api.prove(prog, {"x": np.arange(4), "z": np.array([1, -1, 2, 0])}, "test", key=key)
    (tmp_path / "k.vk").write_bytes(key.vk.to_bytes())
    (tmp_path / "p.proof").write_bytes(proof.to_bytes())
    r = subprocess.run([sys.executable, "-c", CLI_CHECK, str(tmp_path / "p.proof"),
                        str(tmp_path / "k.vk")], capture_output=True, text=True, timeout=120,
                       env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert "EXIT 0" in r.stdout, (r.stdout, r.stderr)
    assert "IMPORTED []" in r.stdout, r.stdout
    assert "proof valid (test security" in r.stdout
