"""``python -m zkvm``: the same command line as the ``zkvm`` console script."""

from zkvm.cli import app

if __name__ == "__main__":
    app(prog_name="zkvm")
