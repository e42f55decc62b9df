"""CLI: assemble / disasm / run / inspect, and one clear line + exit 2 on bad input."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest
from typer.testing import CliRunner

from zkvm.cli import app
from zkvm.isa import Program

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture()
def xor(tmp_path):
    for f in ("xor.zasm", "xor.npz", "xor.input.json"):
        shutil.copy(os.path.join(ROOT, "programs", f), tmp_path / f)
    return tmp_path


def assert_clean_error(r, *needles):
    assert r.exit_code == 2, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("error: ") or ".zasm:" in lines[0].split(" error: ")[0], r.stderr
    assert "Traceback" not in r.stderr + r.stdout
    for n in needles:
        assert n in lines[0], lines[0]


def test_assemble_disasm_run_inspect(xor):
    out = xor / "xor.zkvm"
    r = invoke("assemble", xor / "xor.zasm", "-o", out)
    assert r.exit_code == 0 and "digest" in r.stdout
    digest = Program.load(str(out)).digest_hex
    r = invoke("disasm", out)
    assert r.exit_code == 0
    (xor / "back.zasm").write_text(r.stdout)
    r = invoke("assemble", xor / "back.zasm", "-o", xor / "back.zkvm")
    assert r.exit_code == 0 and digest in r.stdout
    r = invoke("run", out, "--input", xor / "xor.input.json", "--output", xor / "o.json")
    assert r.exit_code == 0 and "y = [[1.]]" in r.stdout
    doc = json.loads((xor / "o.json").read_text())
    assert doc["outputs"]["y"]["values"] == [[1.0]] and doc["output_data"] == [[1.0]]
    r = invoke("inspect", out)
    assert r.exit_code == 0
    assert "parameters 8" in r.stdout and "estimated trace rows" in r.stdout and "matmul" in r.stdout


@pytest.mark.parametrize("layout", ["ezkl", "dict", "list", "npy", "npz"])
def test_input_layouts(xor, layout):
    path = xor / f"in.{layout}"
    x = [[0.0, 1.0]]
    if layout == "ezkl":
        path.write_text(json.dumps({"input_data": [[0.0, 1.0]]}))
    elif layout == "dict":
        path.write_text(json.dumps({"x": x}))
    elif layout == "list":
        path.write_text(json.dumps(x))
    elif layout == "npy":
        path = xor / "in.npy"
        np.save(path, np.array(x))
    else:
        path = xor / "in.npz"
        np.savez(path, x=np.array(x))
    r = invoke("run", xor / "xor.zasm", "--input", path)
    assert r.exit_code == 0 and "y = [[1.]]" in r.stdout, r.stderr


def test_malformed_assembly(xor):
    (xor / "bad.zasm").write_text("input x : i16[1,2] scale 8\ny = relu x x\noutput y\n")
    assert_clean_error(invoke("assemble", xor / "bad.zasm"), "bad.zasm:2:12: error: expected")


def test_unknown_opcode(xor):
    (xor / "bad.zasm").write_text("input x : i16[1,2] scale 8\ny = frobnicate x\noutput y\n")
    assert_clean_error(invoke("assemble", xor / "bad.zasm"), "bad.zasm:2:5", "unknown opcode")


def test_shape_mismatch(xor):
    src = (xor / "xor.zasm").read_text().replace("w2 : i16[2,1]  scale 8  = [[256], [-512]]",
                                                 "w2 : i16[1,2]  scale 8  = [[256, -512]]")
    (xor / "bad.zasm").write_text(src)
    assert_clean_error(invoke("run", xor / "bad.zasm", "-i", xor / "xor.input.json"),
                       "bad.zasm:10:1", "do not agree")


def test_overflowing_program(xor):
    # a matmul's result is not range-checked by its chip: its width must hold the worst case
    # (a rescale/div may be narrower: its chip range-checks it, docs/isa.md "Bounds")
    src = (xor / "xor.zasm").read_text().replace("h0 = matmul x, w1, b1", "h0 : i8 = matmul x, w1, b1")
    (xor / "bad.zasm").write_text(src)
    assert_clean_error(invoke("assemble", xor / "bad.zasm"), "does not fit i8")


def test_out_of_range_input(xor):
    (xor / "in.json").write_text(json.dumps({"x": [[1.5, 0]]}))
    assert_clean_error(invoke("run", xor / "xor.zasm", "-i", xor / "in.json"),
                       "input 'x': value 1.5", "[0, 1]")


def test_wrong_input_shape(xor):
    (xor / "in.json").write_text(json.dumps({"x": [[1, 0, 1]]}))
    assert_clean_error(invoke("run", xor / "xor.zasm", "-i", xor / "in.json"), "shape [1, 3]")
    (xor / "in.json").write_text(json.dumps({"input_data": [[1, 0], [1]]}))
    assert_clean_error(invoke("run", xor / "xor.zasm", "-i", xor / "in.json"), "input_data")
    (xor / "in.json").write_text("{not json")
    assert_clean_error(invoke("run", xor / "xor.zasm", "-i", xor / "in.json"), "JSON")


def test_missing_weights_file(xor):
    os.remove(xor / "xor.npz")
    assert_clean_error(invoke("assemble", xor / "xor.zasm"), "weights file 'xor.npz' not found")


def test_corrupt_program_file(xor):
    invoke("assemble", xor / "xor.zasm", "-o", xor / "x.zkvm")
    data = (xor / "x.zkvm").read_bytes()
    (xor / "t.zkvm").write_bytes(data[: len(data) // 2])
    assert_clean_error(invoke("run", xor / "t.zkvm", "-i", xor / "xor.input.json"), "truncated")
    (xor / "k.zkvm").write_bytes(b"ZKVMPROOF" + data)
    assert_clean_error(invoke("inspect", xor / "k.zkvm"), "not a zkvm program file")
    assert_clean_error(invoke("disasm", xor / "nothere.zkvm"), "cannot read")


@pytest.mark.parametrize("module", ["zkvm", "zkvm.cli"])
def test_python_dash_m_lists_every_command(module):
    """``python -m zkvm`` and ``python -m zkvm.cli`` offer the prover's commands too."""
    import subprocess
    import sys

    env = dict(os.environ, PYTHONPATH=ROOT, COLUMNS="120")
    out = subprocess.run([sys.executable, "-m", module, "--help"], capture_output=True,
                         text=True, env=env, cwd=ROOT, check=True).stdout
    for cmd in ("assemble", "run", "setup", "verify", "demo", "compile"):
        assert f" {cmd} " in out, f"python -m {module}: command {cmd!r} missing"


def test_first_run_hint_detects_the_kernel_cache(tmp_path, monkeypatch):
    """The CLI's first-run hint looks for the fused kernel's numba cache index."""
    import zkvm.platform_info as pi

    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setattr(pi, "__file__", str(tmp_path / "zkvm" / "platform_info.py"))
    assert not pi.kernels_compiled()
    cache = tmp_path / "zkvm" / "air" / "__pycache__"
    cache.mkdir(parents=True)
    (cache / "tape_eval._run_tape-51.py311.nbi").write_bytes(b"")
    assert pi.kernels_compiled()
