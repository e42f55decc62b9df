"""A malicious prover, refused through every entry point (issue 12, point 6).

Each attack (``tests/malicious.py``) is the real prover with one step
corrupted, at the weak ``test`` preset (8 queries, blowup 4, 4 grinding bits):
the verifier must refuse it by the check that guards that step, through
``api.verify``, ``zkvm verify --program`` and ``zkvm verify --key``. Every
attack has an honest twin made by the same code path, which verifies.
"""

from __future__ import annotations


import pytest
from typer.testing import CliRunner

import malicious
import zkvm.api as api
from test_e2e import load
from zkvm.cli import app
from zkvm.stark.errors import LogupSumMismatch, OodConstraintMismatch
from zkvm.stark.verifier import FriRejected

runner = CliRunner()


@pytest.fixture(scope="module", params=["public", "zk"])
def case(request, tmp_path_factory):
    """(program, inputs, key, dir with prog.zkvm and prog.vk): xor, public or with private input."""
    d = tmp_path_factory.mktemp(f"mal-{request.param}")
    prog, ints = load("xor", private=request.param == "zk")
    key = api.setup(prog, "test")
    assert key.vk.zk == (request.param == "zk")
    (d / "prog.zkvm").write_bytes(prog.to_bytes())
    (d / "prog.vk").write_bytes(key.vk.to_bytes())
    return prog, ints, key, d


def refused_everywhere(proof, key, d, error: type[Exception]) -> None:
    """The proof is refused by api.verify (with ``error``) and by both CLI entry points."""
    with pytest.raises(error):
        api.verify(proof, key.vk, min_bits=0)
    path = d / "attack.proof"
    path.write_bytes(proof.to_bytes())
    for where in (("--program", d / "prog.zkvm"), ("--key", d / "prog.vk")):
        r = runner.invoke(app, ["verify", str(path), *map(str, where), "--security", "test"])
        assert r.exit_code == 1, r.output
        assert "INVALID proof" in r.output and error.__name__ in r.output, r.output
        assert "proof valid" not in r.output


def accepted_everywhere(proof, key, d) -> None:
    api.verify(proof, key.vk, min_bits=0)
    path = d / "honest.proof"
    path.write_bytes(proof.to_bytes())
    for where in (("--program", d / "prog.zkvm"), ("--key", d / "prog.vk")):
        r = runner.invoke(app, ["verify", str(path), *map(str, where), "--security", "test"])
        assert r.exit_code == 0 and "proof valid" in r.output, r.output


def _cell(case):
    prog, ints, key, _ = case
    return malicious.constraint_breaking_cell(key, prog, ints)


def test_honest_twin_is_accepted_everywhere(case):
    prog, ints, key, d = case
    accepted_everywhere(api.prove(prog, ints, "test", key=key, seed=b"m"), key, d)


def test_wrong_chip_row_is_refused(case):
    prog, ints, key, d = case
    with malicious.wrong_chip_row(_cell(case)) as tamper:
        proof = api.prove(prog, ints, "test", key=key, seed=b"m", _tamper=tamper)
    refused_everywhere(proof, key, d, OodConstraintMismatch)


def test_changed_output_after_trace_is_refused(case):
    prog, ints, key, d = case
    honest = api.prove(prog, ints, "test", key=key, seed=b"m")
    name = next(iter(honest.public.meta["outputs"]))
    with malicious.changed_output_after_trace(name):
        proof = api.prove(prog, ints, "test", key=key, seed=b"m")
    assert proof.public.meta["outputs"][name] != honest.public.meta["outputs"][name]
    refused_everywhere(proof, key, d, LogupSumMismatch)


def test_ood_lie_on_quotient_chunk_is_refused(case):
    """The identity at z holds (the lie), so only the DEEP/FRI checks can refuse it."""
    prog, ints, key, d = case
    with malicious.wrong_chip_row(_cell(case)) as tamper, \
            malicious.ood_lie_on_quotient_chunk():
        proof = api.prove(prog, ints, "test", key=key, seed=b"m", _tamper=tamper)
    refused_everywhere(proof, key, d, FriRejected)


def test_ood_lie_cannot_hide_a_changed_output(case):
    """Lying at z makes every table's identity hold, but the bus total is still the truth."""
    prog, ints, key, d = case
    honest = api.prove(prog, ints, "test", key=key, seed=b"m")
    name = next(iter(honest.public.meta["outputs"]))
    with malicious.changed_output_after_trace(name), malicious.wrong_chip_row(_cell(case)) as t, \
            malicious.ood_lie_on_quotient_chunk():
        proof = api.prove(prog, ints, "test", key=key, seed=b"m", _tamper=t)
    refused_everywhere(proof, key, d, LogupSumMismatch)


def test_final_poly_interpolated_on_part_of_domain_is_refused(case):
    prog, ints, key, d = case
    seen: dict = {}
    with malicious.wrong_chip_row(_cell(case)) as tamper, \
            malicious.final_poly_interpolated_on_part_of_domain(seen):
        proof = api.prove(prog, ints, "test", key=key, seed=b"m", _tamper=tamper)
    # the lie is real: the sent polynomial matches part of the last codeword, not all of it
    assert 0 < seen["agree"] < seen["points"], seen
    refused_everywhere(proof, key, d, FriRejected)
