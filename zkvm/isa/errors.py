"""Typed errors for everything a user touches before proving.

Every error that can reach a user derives from :class:`ZkvmError`, which is
:class:`zkvm.errors.ZkvmUserError` (the one family of user errors); its
message says what was wrong, where (file, instruction, tensor) and what to
do. The CLI prints ``str(error)`` on one line and exits with status 2.
"""

from __future__ import annotations

from zkvm.errors import ZkvmUserError

#: the ISA's name for :class:`zkvm.errors.ZkvmUserError` (same class)
ZkvmError = ZkvmUserError


class IsaError(ZkvmError):
    """A program is malformed: unknown name or opcode, bad attribute, redefinition."""


class ShapeError(IsaError):
    """Operand shapes or scales do not agree with an opcode's rules."""


class ProgramOverflowError(IsaError):
    """A worst-case bound does not fit the declared width or the field's safe range."""


class ProgramFileError(ZkvmError):
    """A program file is corrupt, truncated, of another kind or of another version."""


class ExecutionError(ZkvmError):
    """The VM met a value outside its declared range, or bad inputs."""


class InputError(ExecutionError):
    """Inputs are missing, of the wrong shape, or outside the declared range."""
