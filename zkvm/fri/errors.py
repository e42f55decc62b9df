"""The root of every verification failure, shared by the FRI and STARK verifiers.

It lives at the bottom of the dependency chain (field -> polynomials -> hash /
Merkle -> transcript -> FRI -> STARK) so that both verifiers raise the same
classes: a FRI rejection (:class:`zkvm.fri.fri_types.FriError`) and a STARK
rejection (:mod:`zkvm.stark.errors`) are both a :class:`VerificationError`, and
a verifier that refuses weak parameters raises the one
:class:`InsufficientSecurity`, whichever layer checked. An invalid proof is
an error the user can act on, so :class:`VerificationError` belongs to the
user-error family (:class:`zkvm.errors.ZkvmUserError`). No numba, no numpy.
"""

from __future__ import annotations

from zkvm.errors import ZkvmUserError


class VerificationError(ZkvmUserError):
    """Base class: the proof does not establish the statement."""


class InsufficientSecurity(VerificationError):
    """The parameters reach fewer bits than the caller asked for (checked before anything else)."""
