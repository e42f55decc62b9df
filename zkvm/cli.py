"""The ``zkvm`` command (typer): the app and its ``--debug``; assemble, disasm, run, inspect.

The other commands live in their own modules (``cli_prove``: setup, verify,
demo, commit; ``cli_compile``; ``cli_bench``; ``cli_onchain``), each with a
``register(app)`` that this module calls once: nothing registers by import
side effect and the command modules never import this one. Every command
body is wrapped in :func:`zkvm.cli_common.user_errors`, the error boundary:
user errors print one line and exit 2, anything else prints ``internal
error, please report: ...`` and exits 3 (traceback with ``--debug`` or
``ZKVM_DEBUG=1``).
"""

from __future__ import annotations

import os
import time

import numpy as np
import typer

from zkvm import cli_bench, cli_compile, cli_onchain, cli_prove
from zkvm.cli_common import (  # noqa: F401  (fail, user_errors: the commands' vocabulary)
    fail, names_list, save_program, set_debug, user_errors,
)

app = typer.Typer(
    name="zkvm",
    help="Prove neural-network inference with a transparent STARK.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def main(debug: bool = typer.Option(False, "--debug", help="print the traceback of internal "
                                    "errors (same as ZKVM_DEBUG=1)")) -> None:
    """Prove neural-network inference with a transparent STARK."""
    set_debug(debug)


def _load(path: str):  # noqa: ANN202 - Program
    from .assembler import load_program

    return load_program(path)


VIS_HELP = "public | private | hashed (default: as declared in the source)"


@app.command()
@user_errors
def assemble(
    src: str = typer.Argument(..., help="assembly source (.zasm)"),
    out: str = typer.Option(None, "-o", "--output", help="program file to write (.zkvm)"),
    input_vis: str = typer.Option(None, "--input", help="visibility of every input: " + VIS_HELP),
    weights_vis: str = typer.Option(None, "--weights", help="visibility of every weight: "
                                    + VIS_HELP),
    outputs_vis: str = typer.Option(None, "--outputs", help="visibility of every output: "
                                    + VIS_HELP),
    weights_out: str = typer.Option(None, "--weights-file", help="private weights file to write "
                                    "(default OUT.zkw) when weights are private or hashed"),
) -> None:
    """Assemble a .zasm source into a program file (and a private weights file)."""
    from .assembler import assemble_file

    prog = assemble_file(src)
    out = out or os.path.splitext(src)[0] + ".zkvm"
    save_program(prog, out, input_vis, weights_vis, outputs_vis, weights_out)


@app.command()
@user_errors
def disasm(
    program: str = typer.Argument(..., help="program file (.zkvm) or .zasm"),
    out: str = typer.Option(None, "-o", "--output", help="write the text here instead of stdout"),
) -> None:
    """Print a program as assembly text (re-assembles to the same digest)."""
    from .assembler import disassemble

    text = disassemble(_load(program))
    if out:
        with open(out, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        typer.echo(text, nl=False)


#: options shared by ``run --prove`` and ``prove``
_INPUT = typer.Option(..., "--input", "-i", help="inputs: JSON (floats), .npy or .npz")
_SECURITY = typer.Option("standard", "--security", help="test | standard | high | proven | onchain")
_WEIGHTS = typer.Option(None, "--weights", "-w", help="private weights file (.zkw) of a program "
                        "with private or hashed weights")
_SEGMENT_ROWS = typer.Option(None, "--segment-rows", help="prove in segments of at most this many "
                             "cost rows; one bundle proof (docs/segments.md)")
_MAX_MEMORY = typer.Option(None, "--max-memory", help="prove in segments sized for this prover "
                           "memory, e.g. 2GiB (docs/segments.md)")
_BOUNDARY = typer.Option("auto", "--boundary", help="segment boundaries: hashed | public | auto "
                         "(public only when nothing is private or hashed)")
_CLUSTER = typer.Option(None, "--cluster", help="prove segments on Ray: auto (a local Ray) or "
                        "ray://host:port (needs zkvm\\[cluster])")


@app.command()
@user_errors
def run(
    program: str = typer.Argument(..., help="program file (.zkvm) or .zasm"),
    input: str = _INPUT,
    output: str = typer.Option(None, "--output", "-o", help="write outputs as JSON here"),
    prove: bool = typer.Option(False, "--prove", help="also prove the run (zkvm verify checks it)"),
    proof: str = typer.Option(None, "--proof", help="proof file to write (default out.proof)"),
    security: str = _SECURITY,
    compare: str = typer.Option(None, "--compare", help="ONNX model: print the error vs its "
                                "reference evaluator on this input (zkvm compile)"),
    weights: str = _WEIGHTS,
    salts: str = typer.Option(None, "--salts", help="JSON salts of hashed inputs/outputs (e.g. "
                              "an earlier PROOF.open.json); default: fresh random salts"),
    segment_rows: int = _SEGMENT_ROWS,
    max_memory: str = _MAX_MEMORY,
    boundary: str = _BOUNDARY,
    cluster: str = _CLUSTER,
) -> None:
    """Execute a program on inputs and print the outputs as floats (and prove it with --prove)."""
    from .io import quantize_inputs, read_real_inputs, write_outputs
    from .runtime import execute, execute_float

    segmented = bool(segment_rows or max_memory or cluster)
    if segmented and not prove:
        fail("--segment-rows, --max-memory and --cluster apply to proving: add --prove")
    prog = _load(program)
    if weights:
        from .isa.weights_file import PrivateWeights

        prog = prog.bind_weights(PrivateWeights.load(weights))
    prog.require_weights()
    real = read_real_inputs(input, prog)
    ints = quantize_inputs(real, prog)
    ex = None
    if segmented:   # the segment provers run the program: their outputs are the run's
        from .cli_segments import prove_segmented_and_write

        outs = prove_segmented_and_write(prog, ints, security, proof, segment_rows, max_memory,
                                         boundary, cluster, salts_path=salts).outputs
    else:
        t0 = time.perf_counter()
        ex = execute(prog, ints)
        ms = (time.perf_counter() - t0) * 1e3
        outs = ex.outputs
    # the float reference runs the whole model at once: not for a model proved in segments
    ref = None if segmented else execute_float(prog, real)
    floats = {n: outs[n].astype(np.float64) / 2.0 ** prog.tensors[n].scale for n in prog.outputs}
    for name, v in floats.items():
        shown = np.array2string(v, precision=6, separator=", ", threshold=64)
        typer.echo(f"{name} = {shown}")
        if ref is None:
            typer.echo(f"  (scale {prog.tensors[name].scale})")
            continue
        err = float(np.max(np.abs(v - ref[name]))) if v.size else 0.0
        typer.echo(f"  (scale {prog.tensors[name].scale}; max |int - float reference| = {err:.3g})")
    del ref
    if not segmented:
        typer.echo(f"executed {len(prog.instructions)} instructions in {ms:.2f} ms")
    if compare:
        cli_compile.print_comparison(prog, real, floats, compare)
    if output:
        write_outputs(output, prog, outs)
        typer.echo(f"wrote {output}")
    if prove and not segmented:   # proved from this run (api.prove checks it is this one)
        cli_prove.prove_and_write(prog, ints, security, proof, salts_path=salts, execution=ex)


@app.command("prove")
@user_errors
def prove_cmd(
    program: str = typer.Argument(..., help="program file (.zkvm) or .zasm"),
    input: str = _INPUT,
    proof: str = typer.Option(None, "--proof", help="proof file to write (default out.proof)"),
    security: str = _SECURITY,
    weights: str = _WEIGHTS,
    salts: str = typer.Option(None, "--salts", help="JSON salts of hashed inputs/outputs"),
    segment_rows: int = _SEGMENT_ROWS,
    max_memory: str = _MAX_MEMORY,
    boundary: str = _BOUNDARY,
    cluster: str = _CLUSTER,
) -> None:
    """Prove a program on inputs (the same as zkvm run --prove; --cluster proves on Ray)."""
    run(program=program, input=input, output=None, prove=True, proof=proof, security=security,
        compare=None, weights=weights, salts=salts, segment_rows=segment_rows,
        max_memory=max_memory, boundary=boundary, cluster=cluster)


@app.command()
@user_errors
def inspect(program: str = typer.Argument(..., help="program file (.zkvm) or .zasm")) -> None:
    """Show a program's tensors, instructions, parameter count and estimated trace size."""
    from .isa.cost import estimated_rows
    from .isa.fileformat import file_version

    prog = _load(program)
    echo = typer.echo
    echo(f"program  {prog.digest_hex}  (format {file_version(prog)})")
    for k, v in prog.metadata.items():
        echo(f"  {k}: {v}")

    def vis(names: list[str]) -> str:
        return ", ".join(f"{n} ({prog.tensors[n].visibility})" for n in names)
    weights = [t.name for t in prog.tensors.values() if t.kind == "weight"]
    echo(f"inputs   {vis([t.name for t in prog.inputs])}   outputs  {vis(prog.outputs)}")
    if prog.hidden_weights:
        echo(f"hidden weights {names_list(prog.hidden_weights)} (values in the private weights "
             f"file; {len(weights) - len(prog.hidden_weights)} public weight tensors)")
    if prog.commitment is not None:
        how = ("one salted part per tensor" if prog.commitment.per_tensor else
               "one salted hash of all; cannot be split into segments")
        echo(f"model commitment {prog.commitment.hex} (Poseidon2, {how}; over "
             f"{names_list(list(prog.commitment.tensors))})")
    echo(f"parameters {prog.n_params}   addresses {prog.n_addresses}")
    echo("\ntensors:")
    echo(f"  {'name':<16} {'kind':<14} {'type':<20} {'scale':>5}  {'bound':<28} addresses")
    for t in prog.tensors.values():
        lo, hi = prog.intervals[t.name]
        where = "view" if t.view else f"{prog.base(t.name)}..{prog.base(t.name) + t.size - 1}"
        kind = t.kind + (f"/{t.visibility}" if t.kind in ("input", "weight", "output") else "")
        bound = f"[{lo}, {hi}]"
        echo(f"  {t.name:<16} {kind:<14} {t.type_str:<20} {t.scale:>5}  {bound:<28} {where}")
    echo("\ninstructions:")
    rows = estimated_rows(prog)
    for i, (ins, r) in enumerate(zip(prog.instructions, rows)):
        echo(f"  {i:>3}  {ins.output:<16} = {ins.op:<10} {', '.join(ins.inputs):<28} rows~{r}")
    echo(f"\nestimated trace rows: {sum(rows)} (rough: MACs, elements, tables; no range checks)")


for _module in (cli_prove, cli_compile, cli_bench, cli_onchain):
    _module.register(app)

if __name__ == "__main__":  # ``python -m zkvm.cli``
    app()
