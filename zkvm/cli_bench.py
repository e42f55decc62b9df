"""``zkvm bench``: the model benchmark suite (issue 7), :mod:`zkvm.examples.suite`.

The suite and its models ship with the package (``zkvm.examples``), so the
command runs from an installed zkvm; ``bench/bench_models.py`` in the
repository is the same suite with more options (profile, threads).
"""

from __future__ import annotations

import os

import typer

from zkvm.cli_common import fail, user_errors


@user_errors
def bench(
    models: str = typer.Option(None, "--models", "-m",
                               help="comma-separated: tiny, mlp, cnn, attention, lenet, "
                                    "transformer, mlp1m, mlp-w<K> (default: all seven)"),
    runs: int = typer.Option(3, "--runs", "-n", help="timed proofs per model (median)"),
    security: str = typer.Option("standard", help="test | standard | high | proven | onchain"),
    scaling: bool = typer.Option(False, "--scaling", help="the 784-k-10 MLP family instead"),
    ezkl: bool = typer.Option(False, "--ezkl", help="also run EZKL on the same ONNX model "
                                                    "(when the ezkl package is installed)"),
    out: str = typer.Option(None, "--out", "-o",
                            help="JSON file (default: bench/results/ under the current directory)"),
) -> None:
    """Prove a fixed set of models; print prove/verify times, proof size, memory, trace rows."""
    from zkvm.fri.security import SecurityConfig

    if runs < 1:
        fail("--runs must be at least 1")
    try:
        SecurityConfig.preset(security)
    except ValueError as e:
        fail(str(e))
    import zkvm.examples.suite as bm
    from zkvm.examples.models import MODELS, SCALING_WIDTHS

    if scaling:
        names = [f"mlp-w{k}" for k in SCALING_WIDTHS]
        doc = bm.run_suite(names, runs, security, False,
                           out or os.path.join(bm.RESULTS, "scaling.json"), echo=typer.echo)
        typer.echo("\n" + bm.scaling_rows(doc["results"]))
        return
    names = [m.strip() for m in (models or ",".join(bm.DEFAULT_MODELS)).split(",") if m.strip()]
    bad = [m for m in names if m not in MODELS and not (m.startswith("mlp-w") and m[5:].isdigit())]
    if bad:
        fail(f"unknown model(s) {', '.join(bad)}; known: {', '.join(MODELS)}, mlp-w<K>")
    bm.run_suite(names, runs, security, ezkl, out, echo=typer.echo)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``zkvm`` app (called once by :mod:`zkvm.cli`)."""
    app.command()(bench)
