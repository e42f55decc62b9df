"""The verifier takes nothing from the prover on faith (issue 12, points 1-3).

Parameters come from the verifier's key or preset, never from the proof; a
key is bound to its program only by deriving the program's key; public values
have one encoding. Each test is named after the attack it stops, and the
attacks go through every entry point: ``api.verify``, ``zkvm verify
--program`` and ``zkvm verify --key``.
"""

from __future__ import annotations

import copy
import dataclasses
import os

import numpy as np
import pytest
from typer.testing import CliRunner

import zkvm.api as api
from test_e2e import load
from zkvm import envelope
from zkvm.cli import app
from zkvm.field.scalar import P
from zkvm.fri.security import SecurityConfig
from zkvm.stark.errors import (
    InsufficientSecurity, KeyMismatch, ParameterMismatch, ProofFormatError, ProofShapeError,
)
from zkvm.stark.keys import KEY_FORMAT, KEY_MAGIC, KeyFileError, VerifyingKey
from zkvm.stark.proof import PROOF_FORMAT, PROOF_MAGIC, StarkProof

runner = CliRunner()
XOR = os.path.join(os.path.dirname(__file__), "..", "programs", "xor.zasm")
#: 1 query, blowup 2, no grinding -- but named "standard"
WEAK_NAMED_STANDARD = SecurityConfig(log_blowup=1, n_queries=1, pow_bits=0, log_final_poly_len=1,
                                     name="standard")


def zkvm(*args) -> tuple[int, str]:
    r = runner.invoke(app, [str(a) for a in args])
    return r.exit_code, r.output


@pytest.fixture(scope="module")
def xor():
    prog, ints = load("xor")
    return prog, ints


@pytest.fixture(scope="module")
def weak(xor, tmp_path_factory):
    """A proof made at 1 query / blowup 2 / no grinding whose parameters are named "standard".

    It is honest: the verifier must refuse it for its parameters alone (with
    them, a false output is cheap to forge).
    """
    prog, ints = xor
    d = tmp_path_factory.mktemp("weak")
    key = api.setup(prog, WEAK_NAMED_STANDARD)
    proof = api.prove(prog, ints, WEAK_NAMED_STANDARD, key=key)
    (d / "weak.proof").write_bytes(proof.to_bytes())
    (d / "weak.vk").write_bytes(key.vk.to_bytes())
    assert proof.security == "standard"
    return d, key, proof


def test_weak_proof_labelled_standard_is_refused_by_verify_program(weak):
    """The reported break: `zkvm verify --program` derived the key from the proof's parameters."""
    d, _, _ = weak
    code, out = zkvm("verify", d / "weak.proof", "--program", XOR)
    assert code == 1 and "INVALID" in out and "proof valid" not in out


def test_weak_key_labelled_standard_is_refused_by_verify_key(weak):
    d, _, _ = weak
    code, out = zkvm("verify", d / "weak.proof", "--key", d / "weak.vk")
    assert code == 1 and "ParameterMismatch" in out
    # naming no preset in Python still requires the standard level
    with pytest.raises(InsufficientSecurity):
        api.verify(StarkProof.from_bytes((d / "weak.proof").read_bytes()),
                   VerifyingKey.from_bytes((d / "weak.vk").read_bytes()))


def test_weak_key_is_refused_when_the_caller_names_standard(weak):
    _, key, proof = weak
    with pytest.raises(ParameterMismatch):
        api.verify(proof, key.vk, security="standard")


def test_min_security_defaults_to_the_presets_level(tmp_path, xor):
    """A `test` proof passes only when the verifier itself asks for `test`."""
    prog, ints = xor
    key = api.setup(prog, "test")
    (tmp_path / "t.proof").write_bytes(api.prove(prog, ints, "test", key=key).to_bytes())
    (tmp_path / "t.vk").write_bytes(key.vk.to_bytes())
    for where in (("--program", XOR), ("--key", tmp_path / "t.vk")):
        code, out = zkvm("verify", tmp_path / "t.proof", *where)
        assert code == 1, out
        code, out = zkvm("verify", tmp_path / "t.proof", *where, "--security", "test")
        assert code == 0 and "proof valid (test security" in out, out
        code, out = zkvm("verify", tmp_path / "t.proof", *where, "--security", "test",
                         "--min-security", 100)
        assert code == 1 and "InsufficientSecurity" in out


# --- a key is bound to its program ------------------------------------------------
def test_key_of_another_program_labelled_with_its_digest_is_refused(tmp_path, xor):
    prog, ints = xor
    other, _ = load("linreg")
    # a prover makes xor's key, relabels it as linreg's and proves against it
    forged = api.setup(prog, "test")
    forged.pk.vk.statement_id = other.digest
    proof = api.prove(prog, ints, "test", key=forged)
    (tmp_path / "p.proof").write_bytes(proof.to_bytes())
    (tmp_path / "k.vk").write_bytes(forged.vk.to_bytes())
    other_path = tmp_path / "linreg.zkvm"
    other_path.write_bytes(other.to_bytes())
    code, out = zkvm("verify", tmp_path / "p.proof", "--key", tmp_path / "k.vk",
                     "--program", other_path, "--security", "test")
    assert code == 1 and "KeyMismatch" in out and "tables differ" in out
    # ... and alone it prints the digest it recomputed, never the label
    code, out = zkvm("verify", tmp_path / "p.proof", "--key", tmp_path / "k.vk",
                     "--security", "test")
    forged = VerifyingKey.from_bytes((tmp_path / "k.vk").read_bytes())
    assert code == 0, out
    assert forged.tables_digest().hex()[:16] in out and other.digest.hex()[:16] not in out
    assert "not checked against a program" in out
    # with the right program and its own key both agree
    key = api.setup(prog, "test")
    (tmp_path / "h.proof").write_bytes(api.prove(prog, ints, "test", key=key).to_bytes())
    (tmp_path / "h.vk").write_bytes(key.vk.to_bytes())
    code, out = zkvm("verify", tmp_path / "h.proof", "--key", tmp_path / "h.vk",
                     "--program", XOR, "--security", "test")
    assert code == 0 and f"program {prog.digest.hex()[:16]}" in out, out


def test_key_file_with_edited_tables_is_refused():
    prog, _ = load("xor")
    vk = api.setup(prog, "test").vk
    d = vk.to_file_dict()
    d["tables"] = d["tables"][:-1]
    with pytest.raises(KeyFileError, match="edited"):
        VerifyingKey.from_bytes(envelope.pack(KEY_MAGIC, KEY_FORMAT, "key", d))


@pytest.mark.parametrize("field,value", [("zk", 1), ("statement_id", 7), ("tables", {}),
                                         ("meta", []), ("extra", 0)])
def test_key_file_with_a_mistyped_field_is_refused(field, value):
    prog, _ = load("xor")
    d = api.setup(prog, "test").vk.to_file_dict()
    d[field] = value
    with pytest.raises(KeyFileError):
        VerifyingKey.from_bytes(envelope.pack(KEY_MAGIC, KEY_FORMAT, "key", d))


# --- public values have one encoding ----------------------------------------------
@pytest.fixture(scope="module")
def xor_test(xor):
    prog, ints = xor
    key = api.setup(prog, "test")
    return key, api.prove(prog, ints, "test", key=key)


def _with_output(proof, value):
    bad = copy.deepcopy(proof)
    name = next(iter(bad.public.meta["outputs"]))
    bad.public.meta["outputs"][name] = [value] + list(bad.public.meta["outputs"][name][1:])
    return bad, name


@pytest.mark.parametrize("how", ["plus_p", "minus_p", "float", "string", "bool", "nested"])
def test_output_with_a_second_encoding_is_refused(xor_test, how):
    """`y + p` carries the same bus term as `y`, but would print another number."""
    key, proof = xor_test
    name = next(iter(proof.public.meta["outputs"]))
    y = proof.public.meta["outputs"][name][0]
    value = {"plus_p": y + P, "minus_p": y - P, "float": float(y), "string": str(y),
             "bool": bool(y), "nested": [y]}[how]
    bad, _ = _with_output(proof, value)
    with pytest.raises(api.PublicIoMismatch):
        api.verify(bad, key.vk, min_bits=0)
    if -2**63 <= y - P:  # msgpack cannot even write y - p
        with pytest.raises((api.PublicIoMismatch, ProofFormatError)):
            api.verify(StarkProof.from_bytes(bad.to_bytes()), key.vk, min_bits=0)


def test_output_beyond_the_programs_interval_is_refused(xor_test):
    key, proof = xor_test
    out = key.vk.meta["io"]["outputs"][0]
    bad, _ = _with_output(proof, out["hi"] + 1)
    with pytest.raises(api.PublicIoMismatch, match="interval"):
        api.verify(bad, key.vk, min_bits=0)


def test_extra_or_missing_public_tensor_is_refused(xor_test):
    key, proof = xor_test
    bad = copy.deepcopy(proof)
    bad.public.meta["outputs"]["ghost"] = [1]
    with pytest.raises(api.PublicIoMismatch, match="ghost"):
        api.verify(bad, key.vk, min_bits=0)
    bad = copy.deepcopy(proof)
    bad.public.meta["note"] = {"x": [1]}
    with pytest.raises(api.PublicIoMismatch):
        api.verify(bad, key.vk, min_bits=0)


@pytest.mark.parametrize("where", ["bus_value", "bus_id", "multiplicity", "claimed_sum", "ood"])
def test_value_at_or_above_p_in_the_proof_file_is_refused(xor_test, where):
    key, proof = xor_test
    d = copy.deepcopy(proof).to_dict()
    term = d["public"]["bus_terms"][0]
    if where == "bus_value":
        term[1][1] += P
    elif where == "bus_id":
        term[0] += P
    elif where == "multiplicity":
        term[2] = P
    elif where == "claimed_sum":
        d["claimed_sums"][0][0] = P
    else:
        d["ood"][0][0] = P
    data = envelope.pack(PROOF_MAGIC, PROOF_FORMAT, "proof", d)
    try:
        bad = StarkProof.from_bytes(data)
    except ProofFormatError:
        return
    with pytest.raises((ProofShapeError, api.PublicIoMismatch)):
        api.verify(bad, key.vk, min_bits=0)


def test_opened_row_value_at_or_above_p_is_refused(xor_test):
    """Opened rows are authenticated as sent; a non-canonical one (v + p) is refused first."""
    key, proof = xor_test
    bad = copy.deepcopy(proof)
    rows = next(r for op in bad.openings for r in op.rows if (r < np.uint64(2**32 - 1)).any())
    i, j = np.argwhere(rows < np.uint64(2**32 - 1))[0]
    rows[i, j] += np.uint64(P)
    with pytest.raises(ProofShapeError, match=">= p"):
        api.verify(bad, key.vk, min_bits=0)


def test_printed_output_is_the_transcripts(tmp_path, xor):
    """What `zkvm verify` prints is the canonical value the transcript absorbed."""
    prog, ints = xor
    key = api.setup(prog, "test")
    proof = api.prove(prog, ints, "test", key=key)
    (tmp_path / "p.proof").write_bytes(proof.to_bytes())
    code, out = zkvm("verify", tmp_path / "p.proof", "--program", XOR, "--security", "test")
    assert code == 0, out
    t = key.vk.meta["io"]["outputs"][0]
    want = np.array(proof.public.meta["outputs"][t["name"]], dtype=np.float64) / 2.0 ** t["scale"]
    assert f"{t['name']} = {np.array2string(want.reshape(t['shape']), precision=6, separator=', ')}" \
        in out


def test_zk_flag_comes_from_the_program_not_the_proof(tmp_path, xor):
    """A public program's key is derived without zk unless the verifier asks for it."""
    prog, ints = xor
    key = api.setup(prog, "test", zk=True)
    (tmp_path / "z.proof").write_bytes(api.prove(prog, ints, "test", key=key).to_bytes())
    code, out = zkvm("verify", tmp_path / "z.proof", "--program", XOR, "--security", "test")
    assert code == 1 and "ParameterMismatch" in out
    code, out = zkvm("verify", tmp_path / "z.proof", "--program", XOR, "--security", "test", "--zk")
    assert code == 0, out


def test_weak_parameters_never_pass_as_a_preset(xor):
    """Two configurations with one name are two keys: the label cannot launder parameters."""
    prog, ints = xor
    std = api.setup(prog, "standard").vk
    weak = api.setup(prog, WEAK_NAMED_STANDARD).vk
    assert std.digest() != weak.digest()
    proof = api.prove(prog, ints, WEAK_NAMED_STANDARD)
    with pytest.raises(KeyMismatch):
        api.verify(proof, std)
    assert dataclasses.replace(WEAK_NAMED_STANDARD) != SecurityConfig.preset("standard")


@pytest.mark.parametrize("where", ["fri", "fri_opening", "tree_opening", "float_shape"])
def test_proof_with_an_unbound_field_anywhere_is_refused(xor_test, where):
    """Every field is absorbed or checked: an extra one (or a second encoding) is malformed."""
    key, proof = xor_test
    d = copy.deepcopy(proof).to_dict()
    if where == "fri":
        d["fri"]["note"] = 1
    elif where == "fri_opening":
        d["fri"]["openings"][0]["note"] = 1
    elif where == "tree_opening":
        d["openings"][0]["note"] = 1
    else:
        d["openings"][0]["shapes"][0] = [float(x) for x in d["openings"][0]["shapes"][0]]
    data = envelope.pack(PROOF_MAGIC, PROOF_FORMAT, "proof", d)
    try:
        bad = StarkProof.from_bytes(data)
    except ProofFormatError:
        return
    with pytest.raises(ProofShapeError):
        api.verify(bad, key.vk, min_bits=0)


def test_proven_preset_end_to_end(tmp_path, xor):
    """`proven`: >= 100 proven bits, asked for by name; a standard key never passes for it."""
    prog, ints = xor
    key = api.setup(prog, "proven")
    proof = api.prove(prog, ints, "proven", key=key)
    api.verify(StarkProof.from_bytes(proof.to_bytes()), key.vk, security="proven")
    (tmp_path / "p.proof").write_bytes(proof.to_bytes())
    (tmp_path / "p.vk").write_bytes(key.vk.to_bytes())
    code, out = zkvm("verify", tmp_path / "p.proof", "--key", tmp_path / "p.vk",
                     "--security", "proven")
    assert code == 0 and "proof valid (proven security" in out, out
    code, out = zkvm("verify", tmp_path / "p.proof", "--program", XOR, "--security", "proven")
    assert code == 0, out
    std = api.setup(prog, "standard")
    with pytest.raises(InsufficientSecurity):  # standard reaches ~58 proven bits, not 100
        api.verify(api.prove(prog, ints, "standard", key=std), std.vk, min_proven_bits=100)
