"""The hashed-weights workflow through the ``zkvm`` command: assemble/compile with visibility
flags, inspect, commit, run --weights --prove, verify against the public program only."""

from __future__ import annotations

import json
import os

import pytest
from typer.testing import CliRunner

from tests.test_hashed_program import src
from zkvm.cli import app

runner = CliRunner()


def zkvm(*args: str, code: int = 0) -> str:
    r = runner.invoke(app, list(args))
    assert r.exit_code == code, r.output
    return r.output


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("hashed")
    (d / "m.zasm").write_text(src(wv="public"))
    (d / "x.json").write_text(json.dumps({"x": [[0.25, -1.0, 2.0, 7.5]]}))
    return d


@pytest.fixture(scope="module")
def built(files):
    out = zkvm("assemble", str(files / "m.zasm"), "-o", str(files / "m.zkvm"),
               "--weights", "hashed", "--input", "hashed")
    return files, out


def test_assemble_writes_public_program_and_private_weights(built):
    d, out = built
    assert os.path.exists(d / "m.zkvm") and os.path.exists(d / "m.zkw")
    commitment = out.split("model commitment ")[1].split()[0]
    text = zkvm("inspect", str(d / "m.zkvm"))
    assert "weight/hashed" in text and "input/hashed" in text and "y (public)" in text
    assert commitment in text
    for args in ([str(d / "m.zkw")], [str(d / "m.zkvm")], [str(d / "m.zkvm"), str(d / "m.zkw")]):
        assert commitment in zkvm("commit", *args)


def test_run_without_weights_says_what_to_do(built):
    d, _ = built
    out = zkvm("run", str(d / "m.zkvm"), "--input", str(d / "x.json"), code=2)
    assert "--weights" in out


def test_prove_then_verify_with_the_public_program_only(built):
    d, out = built
    commitment = out.split("model commitment ")[1].split()[0]
    zkvm("run", str(d / "m.zkvm"), "--input", str(d / "x.json"), "--weights", str(d / "m.zkw"),
         "--prove", "--proof", str(d / "m.proof"), "--security", "test")
    opening = json.loads((d / "m.proof.open.json").read_text())
    assert set(opening["salts"]) == {"x"}
    v = zkvm("verify", str(d / "m.proof"), "--program", str(d / "m.zkvm"), "--security", "test")
    assert f"model commitment (weights) {commitment}" in v
    assert f"hashed input x: digest {opening['digests']['x']}" in v and "proof valid" in v
    # the same architecture published with another commitment does not accept the proof
    zkvm("assemble", str(d / "m.zasm"), "-o", str(d / "b.zkvm"), "--weights", "hashed",
         "--input", "hashed")
    bad = zkvm("verify", str(d / "m.proof"), "--program", str(d / "b.zkvm"), "--security", "test",
               code=1)
    assert "INVALID" in bad
    # wrong weights file for the program
    zkvm("commit", str(d / "b.zkvm"), str(d / "m.zkw"), code=2)


def test_private_weights_have_no_commitment(files):
    zkvm("assemble", str(files / "m.zasm"), "-o", str(files / "p.zkvm"), "--weights", "private")
    out = zkvm("commit", str(files / "p.zkw"), code=2)
    assert "private (not hashed)" in out


@pytest.mark.slow
def test_tiny_model_with_hashed_weights_at_standard(tmp_path):
    """End to end on the tiny model at `standard`: build, prove, verify, reject another model."""
    from zkvm.examples.trained import write

    prog_path = str(tmp_path / "tiny.zkvm")
    _, inp = write("tiny", prog_path, visibility={"weights": "hashed", "inputs": "hashed"})
    zkvm("run", prog_path, "--input", inp, "--weights", str(tmp_path / "tiny.zkw"), "--prove",
         "--proof", str(tmp_path / "tiny.proof"))
    v = zkvm("verify", str(tmp_path / "tiny.proof"), "--program", prog_path)
    assert "model commitment (weights)" in v and "proof valid (standard" in v
    other = str(tmp_path / "other.zkvm")
    write("tiny", other, visibility={"weights": "hashed", "inputs": "hashed"})
    zkvm("verify", str(tmp_path / "tiny.proof"), "--program", other, code=1)
