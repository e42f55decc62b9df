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

This module imports nothing, so every layer (the light verifier included)
can derive its errors from it. Subclasses that used to be ``ValueError``s
keep that base too, so ``except ValueError`` in callers still works.
"""

from __future__ import annotations


class ZkvmUserError(Exception):
    """Base class of every error caused by the user's input (see the module docstring)."""
