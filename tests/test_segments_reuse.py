"""Each run is executed once: ``api.prove(execution=)``, the segment prover and ``zkvm run``.

``api.prove`` proves an execution the caller already has, and refuses one of
another program or on other inputs (it would prove a statement nobody asked
for); the bundle prover proves each segment from the run that gave its
boundaries; ``zkvm run --prove`` in segments prints the outputs and digests
of the bundle report without running the whole program again.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from test_segments import ROWS, residual_mlp

import zkvm.api as api
import zkvm.runtime
import zkvm.segments.api as segapi
from zkvm.isa.hidden import digest_hex, hash_tensors
from zkvm.runtime import execute


@pytest.fixture
def runs(monkeypatch):
    """Digests of the programs the VM runs (``zkvm.runtime.execute``, as every caller imports it)."""
    seen: list[bytes] = []

    def counting(program, inputs):
        seen.append(program.digest)
        return execute(program, inputs)
    monkeypatch.setattr(zkvm.runtime, "execute", counting)
    return seen


def test_proof_from_a_given_execution_is_the_same_proof(runs):
    prog, x = residual_mlp(21)
    ex = execute(prog, x)
    key = api.setup(prog, "test")
    given = api.prove(prog, x, "test", key=key, execution=ex, seed=b"e")
    assert runs == []   # the given run was proved, not a new one
    again = api.prove(prog, x, "test", key=key, seed=b"e")
    assert runs == [prog.digest]
    assert given.to_bytes() == again.to_bytes()


def test_execution_on_other_inputs_is_refused():
    prog, x = residual_mlp(22)
    ex = execute(prog, {"x": (x["x"] + 1) % 256})
    with pytest.raises(api.ExecutionMismatch, match="input 'x'"):
        api.prove(prog, x, "test", execution=ex)


def test_execution_of_another_program_is_refused():
    prog, x = residual_mlp(23)
    other, _ = residual_mlp(24)
    with pytest.raises(api.ExecutionMismatch, match="another program"):
        api.prove(prog, x, "test", execution=execute(other, x))


def test_bundle_executes_each_segment_once_and_reports_the_proved_digests(runs, tmp_path):
    prog, x = residual_mlp(25, x_vis="private", out_vis="hashed")
    path = str(tmp_path / "b.proof")
    rep = segapi.prove_segmented(prog, x, path, segment_rows=ROWS, security="test", seed=b"r")
    assert rep.n_segments >= 3
    assert len(runs) == rep.n_segments == len(set(runs))   # one run per segment, none repeated
    y = execute(prog, x).outputs["y"]
    assert set(rep.digests) == {"y"}   # the hashed output; not the hashed boundaries
    assert rep.digests["y"] == [int(v) for v in hash_tensors([y], rep.salts["y"])]
    res = segapi.verify_segmented(path, program=prog, security="test")
    assert res["digests"]["y"] == digest_hex(rep.digests["y"])


def test_cli_run_prove_in_segments_runs_no_whole_program(runs, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    import zkvm.runtime as runtime
    from zkvm.cli import app

    def no_float_run(*a, **k):
        raise AssertionError("the float reference ran the whole model")
    monkeypatch.setattr(runtime, "execute_float", no_float_run)
    prog, x = residual_mlp(26, out_vis="hashed")
    prog.save(str(tmp_path / "m.zkvm"))
    np.save(tmp_path / "x.npy", x["x"] / 2.0**8)
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        r = CliRunner().invoke(app, ["run", "m.zkvm", "-i", "x.npy", "--prove", "--segment-rows",
                                     str(ROWS), "--security", "test", "--proof", "b.proof",
                                     "-o", "out.json"])
        assert r.exit_code == 0, r.output
        with open("b.proof.open.json") as f:
            opening = json.load(f)
        with open("out.json") as f:
            written = json.load(f)
    finally:
        os.chdir(cwd)
    assert prog.digest not in runs and runs   # only segment programs ran
    y = execute(prog, x).outputs["y"]
    assert written["outputs"]["y"]["integers"] == y.tolist()
    want = digest_hex(hash_tensors([y], opening["salts"]["y"]))
    assert opening["digests"]["y"] == want and f"digest of hashed y: {want}" in r.output


def test_cli_run_prove_proves_the_run_it_printed(runs, tmp_path):
    from typer.testing import CliRunner

    from zkvm.cli import app

    prog, x = residual_mlp(27)
    prog.save(str(tmp_path / "m.zkvm"))
    np.save(tmp_path / "x.npy", x["x"] / 2.0**8)
    r = CliRunner().invoke(app, ["run", str(tmp_path / "m.zkvm"), "-i", str(tmp_path / "x.npy"),
                                 "--prove", "--security", "test",
                                 "--proof", str(tmp_path / "p.proof")])
    assert r.exit_code == 0, r.output
    assert runs == [prog.digest]   # executed once, for the outputs and the proof


def test_execution_with_other_hidden_weights_is_refused():
    """Same program digest (the hidden weights are not in it), other private weight values."""
    from zkvm.assembler import assemble
    from zkvm.isa.weights_file import PrivateWeights

    src = """
input x : i8[1,4] scale 0 public
weight w : i8[4,2] scale 0 private = [[1, 2], [3, 4], [5, 6], [7, 8]]
y = matmul x, w
output y
"""
    prog = assemble(src)
    other = prog.bind_weights(PrivateWeights({"w": prog.weights["w"] + 1}), check=False)
    assert other.digest == prog.digest
    x = {"x": np.array([[1, -2, 3, -4]])}
    with pytest.raises(api.ExecutionMismatch, match="hidden weight 'w'"):
        api.prove(prog, x, "test", execution=execute(other, x))


def test_execution_without_memory_or_with_another_salt_is_refused():
    """A run made with execute(memory=False) cannot be proved; a run bound to another
    weights file (same values, same digest, another commitment salt) is not this one."""
    from zkvm.isa.visibility import with_visibility

    pub, x = residual_mlp(27)
    with pytest.raises(api.ExecutionMismatch, match="memory image"):
        api.prove(pub, x, "test", execution=execute(pub, x, memory=False))
    prog = with_visibility(pub, weights="hashed", salt=[1, 2, 3, 4])
    pw = prog.private_weights()
    pw.salt = [v + 1 for v in pw.salt]
    other = prog.bind_weights(pw, check=False)
    assert other.digest == prog.digest
    with pytest.raises(api.ExecutionMismatch, match="another salt"):
        api.prove(prog, x, "test", execution=execute(other, x))
