"""The family of errors a user can cause, and can fix.

Every exception that reaches a user because of *their* input — a malformed
program or assembly source, bad inputs, an unreadable or foreign file, a
program no chip can prove, an invalid proof — derives from
:class:`ZkvmUserError`. Its message says what was wrong, where (file,
instruction, tensor) and what to do. The command line prints such an error
on one line (exit status 2; 1 for an invalid proof) and treats *anything
else* as a bug in zkvm: ``internal error, please report: <type>: <message>``,
with the traceback behind ``--debug`` or ``ZKVM_DEBUG=1``
(docs/architecture.md "Errors").

This module imports nothing (at import time), so every layer (the light verifier included)
can derive its errors from it. Subclasses that used to be ``ValueError``s
keep that base too, so ``except ValueError`` in callers still works.
"""

from __future__ import annotations


class ZkvmUserError(Exception):
    """Base class of every error caused by the user's input (see the module docstring)."""


#: exit statuses of the command line
EXIT_INVALID = 1    # zkvm verify: the proof is invalid
EXIT_USER = 2       # a user error: bad input, unreadable file, bad option
EXIT_INTERNAL = 3   # a bug in zkvm

DEBUG_HINT = "run again with --debug (or ZKVM_DEBUG=1) to see the traceback"


def debug_env() -> bool:
    """``ZKVM_DEBUG`` is set to something other than empty or ``0``."""
    import os

    return os.environ.get("ZKVM_DEBUG", "") not in ("", "0")


def internal_error_line(e: BaseException, doing: str | None = None) -> str:
    """``internal error, please report: <type>: <message> (<hint>)``: how a bug is reported.

    Args:
        e: the unexpected exception.
        doing: what the command was doing (``"compiling m.onnx"``), if known.
    """
    msg = " ".join(str(e).split())
    msg = msg if len(msg) <= 300 else msg[:297] + "..."
    where = f" while {doing}" if doing else ""
    return f"internal error{where}, please report: {type(e).__name__}: {msg} ({DEBUG_HINT})"
