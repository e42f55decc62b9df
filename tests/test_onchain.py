"""The Solidity verifier on a real EVM (issue 13): compiled with the npm-pinned solc, run
on py-evm, checked against the Python verifier.

An honest on-chain-profile proof verifies in the contract and in Python; a flipped byte in
every section of the calldata, a wrong output or input, a proof of another run and a proof
of another program revert with the contract's reason; a malicious prover (the real prover
with one step corrupted, ``tests/malicious.py``) under weak parameters is refused on chain
as in Python. The plan reads each out-of-domain value where the layout's ``ood_blocks`` put it,
and a layout whose order the template does not read is refused at export. Gas is the EVM's,
for the whole transaction.
"""

from __future__ import annotations

import dataclasses

import pytest
from typer.testing import CliRunner

import malicious
import zkvm.api as api
from test_e2e import load
from zkvm.fri.security import SecurityConfig
from zkvm.onchain import evm
from zkvm.onchain.calldata import abi_encode_verify, encode_proof, public_arrays
from zkvm.onchain.solidity import ExportError, export_verifier

runner = CliRunner()

try:
    evm.solc_version()
    import eth  # noqa: F401
except Exception as e:  # pragma: no cover - the README's test command installs both
    pytest.skip(f"EVM toolchain missing ({e}): pip install -e '.[test]' && npm ci",
                allow_module_level=True)

#: weak Keccak parameters for the malicious-prover tests (never for real proofs)
WEAK = SecurityConfig(log_blowup=2, n_queries=8, pow_bits=4, log_final_poly_len=2,
                      name="test-keccak", hash="keccak")


def deploy(vk, min_bits=None):
    """Export, compile and deploy ``vk``'s verifier: ``(chain, address, export)``."""
    ex = export_verifier(vk, min_bits=min_bits)
    cs = evm.compile_solidity({"Verifier.sol": ex.source}, via_ir=True)
    assert cs["ZkvmVerifier"].runtime_size <= 24576  # EIP-170
    chain = evm.Chain()
    plan = [chain.deploy(cs[f"ZkvmPlanData{i}"]) for i in range(len(ex.plan_chunks))]
    return chain, chain.deploy(cs["ZkvmVerifier"], plan), ex


def call(chain, addr, vk, proof, ins=None, outs=None, body=None, check=True):
    body = encode_proof(vk, proof, check=check) if body is None else body
    i, o = public_arrays(vk, proof)
    return chain.call(addr, "verify", body, i if ins is None else ins, o if outs is None else outs)


def reverts(chain, addr, *args, **kw) -> str:
    with pytest.raises(evm.EvmRevert) as e:
        call(chain, addr, *args, **kw)
    assert e.value.reason and e.value.reason.startswith("zkvm: "), e.value
    return e.value.reason


@pytest.fixture(scope="module")
def xor():
    prog, ints = load("xor")
    key = api.setup(prog, "onchain")
    proof = api.prove(prog, ints, "onchain", key=key, seed=b"x")
    chain, addr, ex = deploy(key.vk)
    return prog, ints, key, proof, chain, addr, ex


def test_honest_proof_verifies_on_chain_and_in_python(xor):
    prog, ints, key, proof, chain, addr, ex = xor
    assert api.verify(proof, key.vk, security="onchain")["y"].tolist() == [[256]]
    ok, gas = call(chain, addr, key.vk, proof)
    assert ok is True
    body = encode_proof(key.vk, proof)
    assert len(body) == ex.constants["PROOF_LEN"]
    print(f"xor: verify transaction {gas} gas, of which calldata {evm.calldata_gas(body)}")
    assert gas < 10_000_000


@pytest.mark.parametrize("section", [
    "OFF_MAIN_ROOT", "OFF_QUOT_ROOT", "OFF_CLAIMED", "ood", "OFF_DEEP_NONCE", "OFF_FRI_ROOTS",
    "OFF_FINAL", "OFF_FRI_NONCE", "query_trace_row", "query_sibling", "query_fri_leaf",
    "last_byte"])
def test_flipped_byte_in_each_section_reverts(xor, section):
    _, _, key, proof, chain, addr, ex = xor
    C = ex.constants
    body = bytearray(encode_proof(key.vk, proof))
    where = {"ood": C["OFF_CLAIMED"] + 16 * C["N_INTERACTING"] + 5,
             "query_trace_row": C["OFF_QUERIES"] + 7,
             "query_sibling": C["OFF_QUERIES"] + C["FRI_QOFF"] - 3,
             "query_fri_leaf": C["OFF_QUERIES"] + C["FRI_QOFF"] + 7,
             "last_byte": len(body) - 1}.get(section)
    if where is None:
        where = C[section] + (7 if "NONCE" in section else 3)
    body[where] ^= 0x01
    reverts(chain, addr, key.vk, proof, body=bytes(body))


def test_wrong_output_and_wrong_input_revert(xor):
    _, _, key, proof, chain, addr, _ = xor
    ins, outs = public_arrays(key.vk, proof)
    # the outputs seed the transcript: another output changes every challenge
    reverts(chain, addr, key.vk, proof, outs=[outs[0] + 1] + outs[1:])
    assert "range" in reverts(chain, addr, key.vk, proof, outs=[10**30] + outs[1:])
    other = [1 - ins[0] if ins[0] in (0, 1) else 0] + ins[1:]
    reverts(chain, addr, key.vk, proof, ins=other)
    assert "number" in reverts(chain, addr, key.vk, proof, ins=ins + [0])


def test_proof_of_another_run_or_program_reverts(xor):
    prog, ints, key, proof, chain, addr, _ = xor
    other_in = {"x": 256 - ints["x"]}  # the other corner of xor's square
    run2 = api.prove(prog, other_in, "onchain", key=key, seed=b"y")
    ins, outs = public_arrays(key.vk, proof)
    # the other run's proof, claimed with this run's values
    reverts(chain, addr, key.vk, run2, ins=ins, outs=outs)
    lin, lints = load("linreg")
    lkey = api.setup(lin, "onchain")
    lproof = api.prove(lin, lints, "onchain", key=lkey, seed=b"z")
    assert reverts(chain, addr, lkey.vk, lproof, ins=ins, outs=outs) == "zkvm: proof length"


def test_cli_export_and_calldata_drive_the_contract(xor, tmp_path):
    from zkvm.cli import app

    prog, _, key, proof, chain, addr, ex = xor
    (tmp_path / "p.zkvm").write_bytes(prog.to_bytes())
    (tmp_path / "p.vk").write_bytes(key.vk.to_bytes())
    (tmp_path / "p.proof").write_bytes(proof.to_bytes())
    r = runner.invoke(app, ["export-verifier", str(tmp_path / "p.zkvm"), "-o",
                            str(tmp_path / "V.sol")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "V.sol").read_text() == ex.source
    r = runner.invoke(app, ["calldata", str(tmp_path / "p.proof"), "--key", str(tmp_path / "p.vk"),
                            "-o", str(tmp_path / "cd.hex")])
    assert r.exit_code == 0, r.output
    data = bytes.fromhex((tmp_path / "cd.hex").read_text().strip()[2:])
    assert data == abi_encode_verify(encode_proof(key.vk, proof), *public_arrays(key.vk, proof))
    gas, comp = chain._send(addr, data, None)  # raw calldata, as any Ethereum tool sends it
    assert not comp.is_error and int.from_bytes(comp.output, "big") == 1
    # a standard-preset key is refused with what to do
    std = api.setup(prog, "standard")
    (tmp_path / "s.vk").write_bytes(std.vk.to_bytes())
    r = runner.invoke(app, ["export-verifier", "--key", str(tmp_path / "s.vk"), "-o",
                            str(tmp_path / "S.sol")])
    assert r.exit_code == 2 and "--security onchain" in r.output, r.output


def test_export_refuses_weak_keys_unless_asked():
    prog, _ = load("xor")
    with pytest.raises(ExportError, match="conjectured bits"):
        export_verifier(api.setup(prog, WEAK).vk)


@pytest.fixture(scope="module")
def weak():
    """xor with a private input (zk) at weak Keccak parameters, and its deployed verifier."""
    prog, ints = load("xor", private=True)
    key = api.setup(prog, WEAK)
    chain, addr, _ = deploy(key.vk, min_bits=0)
    return prog, ints, key, chain, addr


def test_malicious_prover_is_refused_on_chain(weak):
    prog, ints, key, chain, addr = weak
    honest = api.prove(prog, ints, WEAK, key=key, seed=b"m")
    assert call(chain, addr, key.vk, honest)[0] is True
    cell = malicious.constraint_breaking_cell(key, prog, ints)
    with malicious.wrong_chip_row(cell) as tamper:
        bad = api.prove(prog, ints, WEAK, key=key, seed=b"m", _tamper=tamper)
    assert reverts(chain, addr, key.vk, bad, check=False) == "zkvm: constraints do not hold at z"
    with malicious.wrong_chip_row(cell) as tamper, malicious.ood_lie_on_quotient_chunk():
        bad = api.prove(prog, ints, WEAK, key=key, seed=b"m", _tamper=tamper)
    assert "FRI" in reverts(chain, addr, key.vk, bad, check=False)
    name = next(iter(honest.public.meta["outputs"]))
    with malicious.changed_output_after_trace(name):
        bad = api.prove(prog, ints, WEAK, key=key, seed=b"m")
    assert reverts(chain, addr, key.vk, bad, check=False) == "zkvm: the bus does not balance"
    with malicious.wrong_chip_row(cell) as tamper, \
            malicious.final_poly_interpolated_on_part_of_domain({}):
        bad = api.prove(prog, ints, WEAK, key=key, seed=b"m", _tamper=tamper)
    assert "FRI" in reverts(chain, addr, key.vk, bad, check=False)


def test_security_config_names_the_hash():
    cfg = SecurityConfig.preset("onchain")
    assert cfg.hash == "keccak" and SecurityConfig.from_dict(cfg.to_dict()) == cfg
    assert "hash" not in SecurityConfig.preset("standard").to_dict()
    with pytest.raises(ValueError):
        SecurityConfig.from_dict({**SecurityConfig.preset("standard").to_dict(), "hash": "blake3"})
    with pytest.raises(ValueError):
        dataclasses.replace(cfg, hash="sha256")


def _plan_words(ex) -> list[int]:
    raw = b"".join(ch[1:] for ch in ex.plan_chunks)
    return [int.from_bytes(raw[i:i + 32], "big") for i in range(0, len(raw), 32)]


@pytest.mark.parametrize("which", ["xor", "xor-zk", "tiny"])
def test_plan_reads_ood_values_where_the_layout_puts_them(which):
    """The table records and DEEP coefficients of the plan, against the OOD order the template
    hard-codes (_runTape adds the widths up pre, main, perm, quot at z, then pre, main, perm at
    z*w) and the formulas the export used before it derived them from ``ood_blocks``."""
    from zkvm.examples.models import build
    from zkvm.onchain.solidity import NONE, _layout
    from zkvm.stark.layout import PHASES

    if which == "tiny":
        vk = api.setup(build("tiny").program, "onchain").vk
    else:
        prog, _ = load("xor", private=which == "xor-zk")
        vk = api.setup(prog, WEAK).vk
    ex, lay = export_verifier(vk, min_bits=0), _layout(vk)
    plan, C = _plan_words(ex), ex.constants
    for t in lay.tables:
        rec = plan[C["TABLES"] + C["TABLE_STRIDE"] * t.index:][:6]
        pw, mw, npm, nch = rec[2] >> 32, rec[2] >> 16 & 0xFFFF, rec[2] & 0xFFFF, rec[4]
        at, k = {}, 0  # where the layout puts each block
        for b in t.ood_blocks:
            at[b.phase, b.point], k = k, k + b.count
        template = {("pre", 0): 0, ("main", 0): pw, ("perm", 0): pw + mw, ("quot", 0): rec[5],
                    ("pre", 1): pw + mw + npm + nch, ("main", 1): 2 * pw + mw + npm + nch,
                    ("perm", 1): 2 * pw + 2 * mw + npm + nch}
        assert template == at
        assert (rec[1], rec[3]) == (t.n_ood, sum(b.count for b in t.ood_blocks if b.point == 0))
        assert (pw, mw, npm, nch) == (t.air.pre_width, t.air.main_width, t.n_perm, t.n_chunks)
    old = []  # the DEEP element coefficients as the export computed them by hand
    for g in lay.group_logs:
        k0 = {}
        for t in lay.groups[g]:
            k0[t.index] = sum(u.n_ood for u in lay.groups[g][:lay.groups[g].index(t)])
        for phase in PHASES:
            if g not in lay.trees_of(phase):
                continue
            for t in lay.groups[g]:
                a, k, nz = t.air, k0[t.index], sum(b.count for b in t.ood_blocks if b.point == 0)
                b0 = {"pre": 0, "main": a.pre_width, "perm": a.pre_width + a.main_width,
                      "quot": a.pre_width + a.main_width + t.n_perm}[phase]
                n = {"pre": a.pre_width, "main": a.main_width, "perm": t.n_perm,
                     "quot": t.n_chunks}[phase]
                js = (0, 1) if phase in ("perm", "quot") else (0,)
                old += [(k + b0 + c) | (NONE if phase == "quot" else k + nz + b0 + c) << 16
                        | j << 32 for c in range(n) for j in js]
            if phase == "quot" and lay.zk:
                old += [NONE | NONE << 16] * 2
    assert plan[C["DEEP_ELEMS"]:C["DEEP_ELEMS"] + C["N_DEEP_ELEMS"]] == old


@pytest.mark.parametrize("perm", [(0, 1, 2, 4, 5, 6, 3), (1, 0, 2, 3, 4, 5, 6)],
                         ids=["quotient_after_next_row", "main_before_pre"])
def test_export_refuses_an_ood_order_the_contract_does_not_read(xor, monkeypatch, perm):
    """A layout whose OOD order changed without the template: refused at export time (and by
    the calldata encoder), never a verifier that reads the wrong values."""
    from zkvm.onchain.calldata import CalldataError
    from zkvm.stark import layout

    _, _, key, proof, _, _, _ = xor
    orig = layout._ood_blocks
    monkeypatch.setattr(layout, "_ood_blocks", lambda *a: tuple(orig(*a)[i] for i in perm))
    with pytest.raises(ExportError, match=r"OOD order .*ZkvmVerifier\.sol\.tmpl"):
        export_verifier(key.vk)
    with pytest.raises(CalldataError, match="OOD order"):
        encode_proof(key.vk, proof, check=False)


def test_calldata_refuses_a_proof_with_missing_ood_values(xor):
    """A proof one OOD value short would shift every later section of the calldata: refused
    with the table and counts rather than encoded."""
    from zkvm.onchain.calldata import CalldataError

    _, _, key, proof, _, _, _ = xor
    short = dataclasses.replace(proof, ood=[proof.ood[0][:-2]] + proof.ood[1:])
    with pytest.raises(CalldataError, match="OOD field elements"):
        encode_proof(key.vk, short, check=False)
