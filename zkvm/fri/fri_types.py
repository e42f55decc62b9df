"""FRI proof format, typed errors and the shape rule shared by prover and verifier.

No numba here: the verifier imports this module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np

from zkvm.fri.errors import InsufficientSecurity, VerificationError
from zkvm.fri.merkle_verify import MerkleProof, MerklePathInvalid, as_bytes
from zkvm.fri.security import SecurityConfig

FRI_PROOF_VERSION = 1


__all__ = [
    "FRI_PROOF_VERSION", "FriError", "FriFinalPolyMismatch", "FriFoldMismatch", "FriInputMismatch",
    "FriMerkleError", "FriPowInvalid", "FriProof", "FriShape", "FriShapeError",
    "InsufficientSecurity", "fri_shape",
]


class FriError(VerificationError):
    """Base class: a FRI proof was rejected. The subclass names the failed check.

    (:class:`~zkvm.fri.errors.InsufficientSecurity`, which FRI's verifier raises
    first, is the STARK verifier's class too.)
    """


class FriShapeError(FriError):
    """A count or length in the proof differs from what the parameters and sizes fix."""


class FriMerkleError(FriError):
    """A layer opening does not authenticate against its committed root."""

    def __init__(self, message: str, layer: int | None = None) -> None:
        super().__init__(message)
        self.layer = layer


class FriFoldMismatch(FriError):
    """An opened layer value differs from the fold of the previous layer at a query."""

    def __init__(self, message: str, layer: int, query: int) -> None:
        super().__init__(f"{message} (layer={layer}, query={query})")
        self.layer = layer
        self.query = query


class FriInputMismatch(FriError):
    """Layer 0's opened value differs from the caller's input value (DEEP consistency)."""

    def __init__(self, message: str, query: int) -> None:
        super().__init__(f"{message} (query={query})")
        self.query = query


class FriFinalPolyMismatch(FriError):
    """The last folded value differs from the final polynomial's evaluation."""

    def __init__(self, message: str, query: int) -> None:
        super().__init__(f"{message} (query={query})")
        self.query = query


class FriPowInvalid(FriError):
    """The proof-of-work nonce does not meet the required grinding bits."""


@dataclass(frozen=True)
class FriShape:
    """What the parameters and input sizes fix (never read from a proof).

    Attributes:
        log_n: log2 of the largest input (layer 0) size.
        n_layers: number of committed layers (layer k has size ``2^(log_n - k)``).
        log_final: log2 of the final codeword's size (``log_n - n_layers``).
        final_poly_len: number of final-polynomial coefficients.
        input_logs: the inputs' log sizes, descending.
    """

    log_n: int
    n_layers: int
    log_final: int
    final_poly_len: int
    input_logs: tuple[int, ...]


def fri_shape(cfg: SecurityConfig, log_sizes: Iterable[int]) -> FriShape:
    """The FRI shape for the given parameters and input log sizes.

    Raises:
        FriShapeError: no inputs, duplicate sizes, an input smaller than the
            final codeword, or a largest input smaller than the blowup.
    """
    given = [int(x) for x in log_sizes]
    logs = sorted(set(given), reverse=True)
    if not logs:
        raise FriShapeError("FRI needs at least one input")
    if len(logs) != len(given):
        raise FriShapeError(f"duplicate input sizes in {given}")
    log_n = logs[0]
    if log_n < cfg.log_blowup or log_n > 40:
        raise FriShapeError(f"largest input 2^{log_n} must be in [2^log_blowup, 2^40]")
    log_final = min(log_n, cfg.log_final_poly_len + cfg.log_blowup)
    if logs[-1] < log_final:
        raise FriShapeError(
            f"input of size 2^{logs[-1]} is smaller than the final codeword 2^{log_final}; "
            "lower log_final_poly_len or pad the input"
        )
    return FriShape(
        log_n=log_n,
        n_layers=log_n - log_final,
        log_final=log_final,
        final_poly_len=1 << (log_final - cfg.log_blowup),
        input_logs=tuple(logs),
    )


@dataclass
class FriProof:
    """A FRI proof.

    Attributes:
        layer_roots: Merkle root of each committed layer (layer 0 first).
        final_poly: ``uint64 (final_poly_len, D)`` coefficients (ext of degree D), low first.
        pow_nonce: the grinding nonce.
        openings: per committed layer, the batch opening of the query leaves
            (each leaf = ``[f(x), f(-x)]`` as 2D ``uint64``).
    """

    layer_roots: list[bytes]
    final_poly: np.ndarray
    pow_nonce: int
    openings: list[MerkleProof] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Msgpack-friendly dict."""
        fp = np.ascontiguousarray(self.final_poly, dtype="<u8")
        return {
            "version": FRI_PROOF_VERSION,
            "layer_roots": [bytes(r) for r in self.layer_roots],
            "final_poly": fp.tobytes(),
            "pow_nonce": int(self.pow_nonce),
            "openings": [o.to_dict() for o in self.openings],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any], ext_degree: int = 2) -> "FriProof":
        """Inverse of :meth:`to_dict` for extension degree ``ext_degree`` (the parameters').

        Raises:
            FriShapeError: on malformed input.
        """
        try:
            if not isinstance(d, dict) or set(d) != _FRI_FIELDS:
                raise ValueError(f"a FRI proof has exactly the fields {sorted(_FRI_FIELDS)}")
            if type(d["pow_nonce"]) is not int:
                raise ValueError("the grinding nonce must be an integer")
            if d["version"] != FRI_PROOF_VERSION:
                raise FriShapeError(f"FRI proof version {d['version']} != {FRI_PROOF_VERSION}")
            fp = np.frombuffer(d["final_poly"], dtype="<u8").astype(np.uint64).reshape(-1, ext_degree)
            return cls(
                layer_roots=[as_bytes(r, "layer root", 32) for r in d["layer_roots"]],
                final_poly=fp,
                pow_nonce=int(d["pow_nonce"]),
                openings=[MerkleProof.from_dict(o) for o in d["openings"]],
            )
        except (KeyError, TypeError, ValueError, MerklePathInvalid) as e:
            raise FriShapeError(f"malformed FRI proof: {e}") from e


#: every field of a FRI proof is absorbed or checked: no other is accepted
_FRI_FIELDS = {"version", "layer_roots", "final_poly", "pow_nonce", "openings"}
