"""Typed verification failures: each names the check that failed (STYLE.md)."""

from __future__ import annotations


class VerificationError(Exception):
    """Base class: the proof does not establish the statement."""


class InsufficientSecurity(VerificationError):
    """The proof's parameters reach fewer bits than the caller asked for."""


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
