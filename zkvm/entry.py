"""The ``zkvm`` console script: ``verify`` starts light, everything else is the typer app.

``zkvm verify`` goes straight to :mod:`zkvm.cli_verify` (no typer, no
numba, no assembler unless ``--program``), so checking a proof is a short
process; every other command loads :data:`zkvm.cli.app`, which registers the
same ``verify`` as a pass-through to that module.
"""

from __future__ import annotations

import sys


def main() -> None:
    if sys.argv[1:2] == ["verify"]:
        from zkvm.cli_verify import main as verify

        sys.exit(verify(sys.argv[2:]))
    from zkvm.cli import app

    app(prog_name="zkvm")


if __name__ == "__main__":
    main()
