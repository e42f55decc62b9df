"""``zkvm compile MODEL.onnx -o PROGRAM`` and the ``--compare`` report of ``zkvm run``.

The ONNX compiler lives in :mod:`zkvm.assembler.onnx` and needs the optional
``onnx`` package (``pip install zkvm[onnx]``); it is imported only when one of
these commands runs. User errors are one line on stderr with exit status 2; an
unexpected failure inside the compiler is an internal error that names what
was being done (``--debug`` or ``ZKVM_DEBUG=1`` shows the traceback).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import typer

from zkvm.cli_common import internal_error, user_errors
from zkvm.errors import ZkvmUserError


def _guard(what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Run ``fn``; user errors pass through, anything else is an internal error naming ``what``."""
    try:
        return fn(*args, **kwargs)
    except (ZkvmUserError, typer.Exit):
        raise
    except Exception as e:  # noqa: BLE001 - the boundary: a bug, reported as such
        internal_error(e, doing=what)


@user_errors
def compile_cmd(
    model: str = typer.Argument(..., help="ONNX model (.onnx)"),
    out: str = typer.Option(None, "-o", "--output",
                            help="program file to write (default MODEL.zkvm)"),
    calibrate: str = typer.Option(
        None, "--calibrate", "-c",
        help="calibration samples: JSON ({\"input_data\": ...} as EZKL, or by input name), "
             ".npy or .npz; several samples may be stacked on a first axis"),
    scale: int = typer.Option(
        None, "--scale", help="fixed scale S (values v·2^S) for every input and activation "
                              "(default: chosen per tensor from the samples)"),
    bits: int = typer.Option(16, "--bits", help="activation bits the calibrated ranges fill"),
    weight_bits: int = typer.Option(16, "--weight-bits", help="weight bits"),
    input_visibility: str = typer.Option("public", "--input-visibility", "--input",
                                         help="public | private | hashed (zero knowledge unless "
                                              "public)"),
    weights_vis: str = typer.Option(None, "--weights", help="public | private | hashed: hidden "
                                    "weights go to a private weights file (docs/visibility.md)"),
    outputs_vis: str = typer.Option(None, "--outputs", help="public | private | hashed"),
    weights_out: str = typer.Option(None, "--weights-file", help="private weights file to write "
                                    "(default OUT.zkw)"),
    batch: int = typer.Option(1, "--batch", help="size given to a dynamic first dimension"),
    verbose: bool = typer.Option(False, "--verbose", "-v",
                                 help="also list the graph rewrites and every tensor's error"),
) -> None:
    """Compile an ONNX model to a quantized program and print its accuracy on the samples."""
    from zkvm.assembler.onnx import CompileOptions, compile_onnx

    from zkvm.cli_common import save_program

    hashed_in = input_visibility == "hashed"   # compiled as private, then hashed
    opts = CompileOptions(scale=scale, bits=bits, weight_bits=weight_bits,
                          input_visibility="private" if hashed_in else input_visibility,
                          batch=batch)
    res = _guard(f"compiling {model}", compile_onnx, model, calibrate, opts)
    prog = res.program
    out = out or os.path.splitext(model)[0] + ".zkvm"
    prog = save_program(prog, out, "hashed" if hashed_in else None, weights_vis, outputs_vis,
                        weights_out, quiet=True)
    echo = typer.echo
    for note in res.notes:
        echo(f"note: {note}")
    if verbose:
        for r in res.rewrites:
            echo(f"rewrite: {r}")
    for name, (s, lo, hi) in res.inputs.items():
        t = prog.tensors[name]
        echo(f"input {name}: {t.type_str} scale {s}, range [{lo:g}, {hi:g}] "
             f"(values outside are refused), {t.visibility}")
    echo(res.report.format())
    if verbose:
        from zkvm.assembler.onnx.report import format_tensor_errors

        echo("error of every tensor (calibration samples):")
        echo(format_tensor_errors(res.layers))
    echo(f"wrote {out}: {len(prog.instructions)} instructions, {prog.n_params} parameters, "
         f"digest {prog.digest_hex}")


def print_comparison(program: Any, real: dict[str, np.ndarray], outputs: dict[str, np.ndarray],
                     model: str) -> None:
    """``zkvm run --compare MODEL.onnx``: the accuracy report of this one run."""
    from zkvm.assembler.onnx import compare_with_onnx

    rep = _guard(f"comparing with {model}", compare_with_onnx, program, model, real, outputs)
    typer.echo(rep.format())


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``zkvm`` app (called once by :mod:`zkvm.cli`)."""
    app.command("compile")(compile_cmd)
