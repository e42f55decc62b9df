"""The CLI's error boundary: user errors are one line (exit 2), anything else is a bug (exit 3).

Both entry points: the typer app (``zkvm.cli``) and the light argparse
``zkvm verify`` (``zkvm.cli_verify``). An internal error prints ``internal
error, please report: <type>: <message>`` and a hint; the traceback appears
only with ``--debug`` or ``ZKVM_DEBUG=1``.
"""

from __future__ import annotations

import os
import shutil

import pytest
from typer.testing import CliRunner

import zkvm.assembler
from zkvm import cli_verify
from zkvm.air.chips.statement import StatementError
from zkvm.cli import app
from zkvm.errors import EXIT_INTERNAL, EXIT_USER, ZkvmUserError
from zkvm.isa.errors import InputError, ProgramFileError, ZkvmError
from zkvm.stark.proof import StarkProof

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
runner = CliRunner()


@pytest.fixture()
def xor(tmp_path):
    for f in ("xor.zasm", "xor.npz", "xor.input.json"):
        shutil.copy(os.path.join(ROOT, "programs", f), tmp_path / f)
    return tmp_path


def _boom(*args, **kwargs):
    raise ValueError("an internal bug, not the user's input")


def _one_line(r, prefix: str) -> str:
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith(prefix), lines[0]
    assert "Traceback" not in r.stdout + r.stderr
    return lines[0]


def test_user_errors_are_one_family():
    from zkvm.assembler.onnx.errors import OnnxCompileError
    from zkvm.assembler.parser import AssemblyError
    from zkvm.isa.weights_file import WeightsFileError

    for cls in (ZkvmError, AssemblyError, InputError, ProgramFileError, WeightsFileError,
                OnnxCompileError, StatementError):
        assert issubclass(cls, ZkvmUserError), cls
    assert issubclass(StatementError, ValueError)   # callers catching ValueError still do


def test_user_error_in_the_app_is_one_line_exit_2(tmp_path, monkeypatch):
    monkeypatch.delenv("ZKVM_DEBUG", raising=False)
    bad = tmp_path / "bad.zkvm"
    bad.write_bytes(b"not a program at all")
    r = runner.invoke(app, ["inspect", str(bad)])
    assert r.exit_code == EXIT_USER, (r.stdout, r.stderr)
    assert "not a zkvm program file" in _one_line(r, "error: ")


def test_internal_error_in_the_app_is_reported_as_a_bug(xor, monkeypatch):
    """A bare ValueError from inside zkvm is a bug, not a user error."""
    monkeypatch.delenv("ZKVM_DEBUG", raising=False)
    monkeypatch.setattr(zkvm.assembler, "disassemble", _boom)
    r = runner.invoke(app, ["disasm", str(xor / "xor.zasm")])
    assert r.exit_code == EXIT_INTERNAL, (r.stdout, r.stderr)
    line = _one_line(r, "internal error, please report: ValueError: an internal bug")
    assert "--debug" in line and "ZKVM_DEBUG=1" in line


@pytest.mark.parametrize("how", ["--debug", "ZKVM_DEBUG"])
def test_debug_shows_the_traceback_of_an_internal_error(xor, monkeypatch, how):
    monkeypatch.setattr(zkvm.assembler, "disassemble", _boom)
    args = ["disasm", str(xor / "xor.zasm")]
    if how == "--debug":
        r = runner.invoke(app, ["--debug", *args])
    else:
        r = runner.invoke(app, args, env={"ZKVM_DEBUG": "1"})
    assert r.exit_code == EXIT_INTERNAL, (r.stdout, r.stderr)
    assert "Traceback" in r.stderr and "_boom" in r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith("internal error, please report: ")


def test_debug_off_again_after_a_debug_run(xor, monkeypatch):
    monkeypatch.setattr(zkvm.assembler, "disassemble", _boom)
    runner.invoke(app, ["--debug", "disasm", str(xor / "xor.zasm")])
    r = runner.invoke(app, ["disasm", str(xor / "xor.zasm")], env={"ZKVM_DEBUG": ""})
    _one_line(r, "internal error, please report: ")


def test_verify_user_error_is_one_line_exit_2(tmp_path, capsys):
    (tmp_path / "p.proof").write_bytes(b"garbage")
    (tmp_path / "k.vk").write_bytes(b"garbage")
    code = cli_verify.main([str(tmp_path / "p.proof"), "--key", str(tmp_path / "k.vk")])
    err = capsys.readouterr().err
    assert code == EXIT_USER, err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1, err


def _proof_reader_bug(data):
    raise ZeroDivisionError("a bug while reading the proof")


def test_verify_internal_error_is_reported_as_a_bug(tmp_path, capsys, monkeypatch):
    (tmp_path / "p.proof").write_bytes(b"x")
    monkeypatch.setattr(StarkProof, "from_bytes", staticmethod(_proof_reader_bug))
    monkeypatch.delenv("ZKVM_DEBUG", raising=False)
    code = cli_verify.main([str(tmp_path / "p.proof"), "--key", str(tmp_path / "k.vk")])
    err = capsys.readouterr().err
    assert code == EXIT_INTERNAL, err
    assert err.strip() == err.strip().splitlines()[0], err
    assert err.startswith("internal error, please report: ZeroDivisionError: a bug while "
                          "reading the proof"), err
    assert "Traceback" not in err

    code = cli_verify.main([str(tmp_path / "p.proof"), "--key", str(tmp_path / "k.vk"),
                            "--debug"])
    err = capsys.readouterr().err
    assert code == EXIT_INTERNAL and "Traceback" in err and "_proof_reader_bug" in err


def test_app_passes_debug_through_to_verify(tmp_path, monkeypatch):
    (tmp_path / "p.proof").write_bytes(b"x")
    monkeypatch.setattr(StarkProof, "from_bytes", staticmethod(_proof_reader_bug))
    monkeypatch.delenv("ZKVM_DEBUG", raising=False)
    args = ["verify", str(tmp_path / "p.proof"), "--key", str(tmp_path / "k.vk")]
    r = runner.invoke(app, args)
    assert r.exit_code == EXIT_INTERNAL and "Traceback" not in r.stderr, r.stderr
    r = runner.invoke(app, ["--debug", *args])
    assert r.exit_code == EXIT_INTERNAL and "Traceback" in r.stderr, r.stderr
