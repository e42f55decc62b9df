"""``zkvm export-verifier`` and ``zkvm calldata``: the on-chain path (docs/onchain.md)."""

from __future__ import annotations

import json
import time

import typer

from zkvm.cli_common import fail, user_errors


def _key_of(program: str | None, key: str | None, zk: bool | None):
    """The verifying key: read from ``key``, derived from ``program`` at the onchain preset,
    or both (then they must agree)."""
    import zkvm.api as api
    from zkvm.cli_prove import _read
    from zkvm.stark.keys import VerifyingKey

    vk = None
    if key is not None:
        try:
            vk = VerifyingKey.from_bytes(_read(key, "verifying key"))
        except ValueError as e:
            fail(f"{key}: not a valid verifying key: {e}")
    if program is not None:
        from zkvm.assembler import load_program

        derived = api.setup(load_program(program), "onchain", zk=zk if vk is None else vk.zk).vk
        if vk is not None and derived.digest() != vk.digest():
            fail(f"{key} is not the key of {program} at --security onchain: derive it with "
                 f"`zkvm setup {program} --security onchain -o KEY`")
        vk = derived
    if vk is None:
        fail("give the program (PROGRAM) or its key (--key)")
    return vk


@user_errors
def export_verifier_cmd(
    program: str = typer.Argument(None, help="program file (.zkvm or .zasm); or use --key"),
    out: str = typer.Option(..., "-o", "--output", help="Solidity file to write"),
    key: str = typer.Option(None, "--key", help="a verifying key made at --security onchain"),
    zk: bool = typer.Option(None, "--zk/--no-zk", help="default: on when an input is private"),
) -> None:
    """Write a Solidity verifier specialised to the program's on-chain verifying key."""
    from zkvm.cli_prove import _write
    from zkvm.onchain.solidity import ExportError, export_verifier

    t0 = time.perf_counter()
    vk = _key_of(program, key, zk)
    try:
        ex = export_verifier(vk)
    except ExportError as e:
        fail(str(e))
    _write(out, ex.source.encode(), "Solidity verifier")
    typer.echo(f"wrote {out}: ZkvmVerifier and {len(ex.plan_chunks)} ZkvmPlanData contract(s) "
               f"(deploy the data contracts, then ZkvmVerifier with their addresses); proofs "
               f"are {ex.constants['PROOF_LEN']} bytes of calldata; "
               f"{time.perf_counter() - t0:.2f} s")


@user_errors
def calldata_cmd(
    proof: str = typer.Argument(..., help="proof file made with --security onchain"),
    key: str = typer.Option(None, "--key", help="the program's onchain verifying key"),
    program: str = typer.Option(None, "--program", help="or the program (key derived here)"),
    out: str = typer.Option(None, "-o", "--output", help="file to write (default: stdout)"),
    as_json: bool = typer.Option(False, "--json", help="the arguments as JSON, not calldata"),
) -> None:
    """The proof as `verify(bytes,int256[],int256[])` calldata (hex), for any Ethereum tool."""
    from zkvm.onchain.calldata import (
        VERIFY_SIGNATURE, CalldataError, abi_encode_verify, encode_proof, public_arrays)
    from zkvm.cli_prove import _read, _write
    from zkvm.stark.proof import StarkProof

    vk = _key_of(program, key, None)
    try:
        pf = StarkProof.from_bytes(_read(proof, "proof"))
    except ValueError as e:
        fail(f"{proof}: not a valid proof file: {e}")
    try:
        body = encode_proof(vk, pf)
        ins, outs = public_arrays(vk, pf)
    except CalldataError as e:
        fail(f"{proof}: {e}")
    if as_json:
        text = json.dumps({"function": VERIFY_SIGNATURE, "proof": "0x" + body.hex(),
                           "publicInputs": ins, "publicOutputs": outs}) + "\n"
    else:
        text = "0x" + abi_encode_verify(body, ins, outs).hex() + "\n"
    if out is None:
        typer.echo(text, nl=False)
    else:
        _write(out, text.encode(), "calldata")
        typer.echo(f"wrote {out} ({len(body)} proof bytes)", err=True)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``zkvm`` app (called once by :mod:`zkvm.cli`)."""
    app.command("export-verifier")(export_verifier_cmd)
    app.command("calldata")(calldata_cmd)
