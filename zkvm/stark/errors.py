"""The STARK's typed failures: each names the check that failed (STYLE.md).

Verification failures derive from :class:`VerificationError` (defined with
:class:`InsufficientSecurity` in :mod:`zkvm.fri.errors`, below FRI, so that
both verifiers share them). :class:`ProverError` is the prover's one failure:
the witness does not satisfy the statement. It lives here, not in the prover,
so that the prover's helpers (``zkvm.stark.debug``) raise it without importing
the prover.
"""

from __future__ import annotations

from zkvm.fri.errors import InsufficientSecurity, VerificationError

__all__ = [
    "InsufficientSecurity", "KeyMismatch", "LogupSumMismatch", "OodConstraintMismatch",
    "OpeningInvalid", "ParameterMismatch", "ProofFormatError", "ProofShapeError", "ProverError",
    "VerificationError",
]


class ProverError(Exception):
    """The witness does not satisfy the statement (nothing was proved)."""


class ParameterMismatch(VerificationError):
    """The proof was made with other parameters than the verifying key's."""


class ProofShapeError(VerificationError):
    """A count or length in the proof disagrees with the verifying key."""


class ProofFormatError(VerificationError):
    """The proof file is not a well-formed zkvm proof (magic, version, encoding)."""


class KeyMismatch(VerificationError):
    """The proof was made for another verifying key / program."""


class OodConstraintMismatch(VerificationError):
    """A table's constraints at the out-of-domain point do not match its quotient."""

    def __init__(self, table: str):
        super().__init__(f"constraints of table {table!r} do not match its quotient at z")
        self.table = table


class LogupSumMismatch(VerificationError):
    """The bus does not balance: claimed sums plus public terms are not zero."""


class OpeningInvalid(VerificationError):
    """A Merkle opening of a committed table does not match its root."""
