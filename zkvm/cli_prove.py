"""``zkvm setup``, ``verify``, ``commit``, ``demo`` and the proving half of ``zkvm run --prove``.

``verify`` is a pass-through to :mod:`zkvm.cli_verify`, its one definition
(light: no typer, runtime, assembler or prover with ``--key``; with
``--program`` it first derives the key from the program, as ``zkvm setup``).
"""

from __future__ import annotations

import os
import sys
import time

import typer

from zkvm.cli_common import fail, user_errors
from zkvm.fri.security import SecurityConfig
from zkvm.stark.proof import StarkProof

STEPS = ["setup", "execute", "trace", "commit main", "logup", "quotient", "out-of-domain values",
         "DEEP", "FRI", "openings"]


def _read(path: str, what: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        fail(f"cannot read {what} {path}: {e.strerror}")
    raise AssertionError


def _write(path: str, data: bytes, what: str) -> None:
    try:
        with open(path, "wb") as f:
            f.write(data)
    except OSError as e:
        fail(f"cannot write {what} {path}: {e.strerror}")


def _security(name: str) -> SecurityConfig:
    try:
        return SecurityConfig.preset(name)
    except ValueError as e:
        fail(str(e))
    raise AssertionError


def read_salts(path: str) -> dict[str, list[int]]:
    """Salts of hashed inputs/outputs from JSON ``{name: [ints]}`` or an opening file."""
    import json

    try:
        doc = json.loads(_read(path, "salts file"))
    except ValueError as e:
        fail(f"salts file {path} is not JSON: {e}")
    doc = doc.get("salts", doc) if isinstance(doc, dict) else doc
    if not isinstance(doc, dict) or not all(
            isinstance(v, list) and all(isinstance(x, int) and 0 <= x for x in v)
            for v in doc.values()):
        fail(f"salts file {path}: expected {{NAME: [non-negative integers], ...}}")
    return {str(k): [int(x) for x in v] for k, v in doc.items()}


def write_opening(path: str, prog, rep) -> None:
    """Write the private opening of hashed inputs/outputs: their salts and digests."""
    import json

    from zkvm.isa.hidden import digest_hex

    doc = {"program": prog.digest_hex, "salts": rep.salts,
           "digests": {k: digest_hex(v) for k, v in rep.digests.items() if k in rep.salts}}
    _write(path, (json.dumps(doc, indent=1) + "\n").encode(), "opening")


def prove_and_write(prog, ints: dict, security: str, proof_path: str | None,
                    key_path: str | None = None, zk: bool | None = None,
                    salts_path: str | None = None, execution=None) -> StarkProof:
    """Prove one run with a progress bar and phase timings; write the proof file.

    ``execution``: the run of ``prog`` on ``ints`` that ``zkvm run`` made to print
    the outputs, proved instead of running the program again.

    With hashed inputs/outputs, also writes ``PROOF.open.json`` (their salts and
    digests: private, it opens the digests later).
    """
    import zkvm.api as api

    cfg = _security(security)
    salts = read_salts(salts_path) if salts_path else None
    key = None
    if key_path:
        typer.echo("note: --key is the verifying key; the proving key is derived from the program",
                   err=True)
    from zkvm.platform_info import kernels_compiled

    if not kernels_compiled():
        typer.echo("first run: compiling the prover's numba kernels (a few minutes on 2 cores, "
                   "once: they are cached on disk for every later run)", err=True)
    rep = api.ProveReport()
    t0 = time.perf_counter()
    with typer.progressbar(length=len(STEPS), label="proving", file=sys.stderr,
                           show_eta=False) as bar:
        seen = set()

        def progress(step: str) -> None:
            if step in STEPS and step not in seen:
                seen.add(step)
                bar.update(1)
        proof = api.prove(prog, ints, cfg, key=key, zk=zk, report=rep, progress=progress,
                          salts=salts, execution=execution)
        bar.update(len(STEPS))
    total = time.perf_counter() - t0
    typer.echo(f"proved in {total:.2f} s ({cfg.name} security, zk={'on' if proof.zk else 'off'})")
    for k, v in rep.timings.items():
        if k != "done":
            typer.echo(f"  {k:<22} {v * 1e3:9.1f} ms")
    data = proof.to_bytes()
    path = proof_path or "out.proof"
    _write(path, data, "proof")
    typer.echo(f"wrote {path} ({len(data) / 1024:.1f} KiB)")
    if prog.commitment is not None:
        typer.echo(f"model commitment {prog.commitment.hex}")
    if rep.salts:
        from zkvm.isa.hidden import digest_hex

        for k in rep.salts:
            typer.echo(f"digest of hashed {k}: {digest_hex(rep.digests[k])}")
        write_opening(path + ".open.json", prog, rep)
        typer.echo(f"wrote {path}.open.json (salts of hashed inputs/outputs: private; reuse "
                   "with --salts)")
    return proof


@user_errors
def setup(
    program: str = typer.Argument(..., help="program file (.zkvm) or .zasm"),
    out: str = typer.Option(..., "-o", "--output", help="verifying key file to write"),
    security: str = typer.Option("standard", help="test | standard | high | proven | onchain"),
    zk: bool = typer.Option(None, "--zk/--no-zk", help="default: on when an input is private"),
    segment_rows: int = typer.Option(None, "--segment-rows", help="the bundle key of proofs made "
                                     "with zkvm run --prove --segment-rows N (docs/segments.md)"),
    boundary: str = typer.Option("auto", "--boundary", help="with --segment-rows: hashed | "
                                 "public | auto, as given to zkvm run"),
) -> None:
    """Derive the verifying key of a program (anyone can recompute it)."""
    import zkvm.api as api
    import zkvm.segments.api as segapi
    from zkvm.assembler import load_program

    prog = load_program(program)
    t0 = time.perf_counter()
    if segment_rows is not None:
        if zk is not None:
            fail("--zk/--no-zk does not apply to a bundle key (each segment's key is derived)")
        n = segapi.setup_segmented(prog, out, segment_rows=segment_rows, boundary=boundary,
                                security=_security(security).name)
        typer.echo(f"wrote bundle key {out} ({n} segment keys) for program "
                   f"{prog.digest_hex[:16]}… in {time.perf_counter() - t0:.2f} s")
        return
    key = api.setup(prog, _security(security), zk=zk)
    data = key.vk.to_bytes()
    _write(out, data, "verifying key")
    typer.echo(f"wrote {out} ({len(data) / 1024:.1f} KiB) for program {prog.digest_hex[:16]}… "
               f"in {time.perf_counter() - t0:.2f} s")


def verify(ctx: typer.Context) -> None:
    """Check a proof; print the proven outputs. Exit 0 only when the proof is valid.

    zkvm verify PROOF (--key K | --program P) [--security standard] [--min-security N]
    [--zk/--no-zk]; see zkvm verify --help (zkvm.cli_verify, the one definition).
    """
    from zkvm import cli_verify
    from zkvm.cli_common import debug_enabled

    raise typer.Exit(cli_verify.main(list(ctx.args) + (["--debug"] if debug_enabled() else [])))


@user_errors
def demo(
    model: str = typer.Option("mlp", help="mlp (784-128-10) | cnn | tiny | xor"),
    security: str = typer.Option("standard", help="test | standard | high | proven | onchain"),
    workdir: str = typer.Option(".", help="where to write the program, input, proof and key"),
) -> None:
    """Build an example model, prove one inference, and verify the proof.

    The same as: python -m models.build mlp -o mlp.zkvm; zkvm run mlp.zkvm --input
    mlp.input.json --prove --proof mlp.proof; zkvm verify mlp.proof --key mlp.vk. The
    models and their weights ship with zkvm (zkvm.examples); xor needs a checkout.
    """
    import zkvm.api as api
    from zkvm.assembler import load_program
    from zkvm.io import quantize_inputs, read_real_inputs

    os.makedirs(workdir, exist_ok=True)
    if model == "xor":   # the hand-written program of the repository's README, from a checkout
        src, inp = os.path.join("programs", "xor.zasm"), os.path.join("programs", "xor.input.json")
        if not os.path.exists(src):
            fail("--model xor assembles programs/xor.zasm of the repository: run it from a "
                 "checkout, or use --model mlp|cnn|tiny (shipped with zkvm)")
        prog = load_program(src)
    else:
        from zkvm.examples.nets import MODELS
        from zkvm.examples.trained import write

        if model not in MODELS:
            fail(f"unknown demo model {model!r} (expected one of: {', '.join(MODELS)}, xor)")
        prog_path = os.path.join(workdir, f"{model}.zkvm")
        prog, inp = write(model, prog_path)
        typer.echo(f"built {prog_path} and {inp}")
    typer.echo(f"program {prog.digest_hex[:16]}…: {len(prog.instructions)} instructions, "
               f"{prog.n_params} parameters")
    ints = quantize_inputs(read_real_inputs(inp, prog), prog)
    proof_path = os.path.join(workdir, f"{model}.proof")
    proof = prove_and_write(prog, ints, security, proof_path)
    cfg = _security(security)
    vk = api.setup(prog, cfg, zk=proof.zk).vk
    key_path = os.path.join(workdir, f"{model}.vk")
    _write(key_path, vk.to_bytes(), "verifying key")
    t0 = time.perf_counter()
    outs = api.verify(StarkProof.from_bytes(_read(proof_path, "proof")), vk, security=security)
    ms = (time.perf_counter() - t0) * 1e3
    for t in vk.meta["io"]["outputs"]:
        v = outs[t["name"]].ravel() / 2.0 ** t["scale"]
        typer.echo(f"{t['name']} = {[round(float(x), 4) for x in v]}")
        if v.size > 1:
            typer.echo(f"  argmax = {int(v.argmax())}")
    typer.echo(f"verified {proof_path} against {key_path} in {ms:.1f} ms")


@user_errors
def commit(
    files: list[str] = typer.Argument(..., help="WEIGHTS.zkw, PROGRAM.zkvm, or PROGRAM WEIGHTS"),
) -> None:
    """Print a model's commitment (from its weights file, its program, or check both agree)."""
    from zkvm.assembler import load_program
    from zkvm.isa.hidden import digest_hex
    from zkvm.isa.weights_file import WEIGHTS_MAGIC, PrivateWeights

    if not 1 <= len(files) <= 2:
        fail("give a weights file, a program, or a program and its weights file")
    progs, weights = [], []
    for f in files:
        data = _read(f, "file")
        if WEIGHTS_MAGIC in data[:32]:
            weights.append(PrivateWeights.from_bytes(data))
        else:
            progs.append(load_program(f))
    if len(progs) > 1 or len(weights) > 1:
        fail("give at most one program and one weights file")
    prog = progs[0] if progs else None
    w = weights[0] if weights else None
    if prog is not None and prog.commitment is None:
        fail(f"program {files[0]} has no hashed weights (no model commitment); assemble or "
             "compile it with --weights hashed")
    if w is not None:
        got = w.recompute()
        if got is None:
            fail("this weights file holds private (not hashed) weights: there is no commitment")
        if w.commitment is not None and list(got) != list(w.commitment):
            fail("the weights file is inconsistent: its values and salt do not hash to the "
                 "commitment it records")
        if prog is not None:
            prog.bind_weights(w)   # raises WeightsError when they do not match
            typer.echo("weights match the program's model commitment")
        typer.echo(f"model commitment {digest_hex(got)}")
        typer.echo(f"  over {', '.join(w.hashed)} ({w.n_values} values, salt of {len(w.salt)} "
                   "field elements; Poseidon2-Goldilocks)")
    else:
        typer.echo(f"model commitment {prog.commitment.hex}")
        typer.echo(f"  over {', '.join(prog.commitment.tensors)} (published in program "
                   f"{prog.digest_hex[:16]}…)")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``zkvm`` app (called once by :mod:`zkvm.cli`)."""
    app.command()(setup)
    app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
             add_help_option=False)(verify)
    app.command()(demo)
    app.command()(commit)
