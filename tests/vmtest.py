"""Helpers for chip tests: assemble, prove at the `test` preset, verify, tamper."""

from __future__ import annotations

import numpy as np
import pytest

import zkvm.api as api
from zkvm.assembler import assemble
from zkvm.stark.errors import VerificationError
from zkvm.stark.prover import ProverError


def prove_verify(src: str, inputs: dict, *, zk: bool | None = None, security: str = "test",
                 seed: bytes = b"test"):
    """Assemble, prove with the debug checks on, verify; return (outputs, proof, key)."""
    prog = assemble(src)
    key = api.setup(prog, security, zk=zk)
    proof = api.prove(prog, inputs, security, key=key, debug=True, seed=seed)
    out = api.verify(proof, key.vk)
    return out, proof, key


def chip_index(key, kind: str, nth: int = 0) -> int:
    """Index of the ``nth`` table of chip ``kind`` in the statement."""
    idx = [i for i, c in enumerate(key.statement.chips) if c.name == kind]
    assert len(idx) > nth, f"no table of kind {kind!r}"
    return idx[nth]


def assert_tamper_rejected(src: str, inputs: dict, kind: str, edit, *, zk: bool | None = None,
                           nth: int = 0, seed: bytes = b"test"):
    """Edit the main trace of one chip (``edit(trace) -> None`` in place) and expect rejection.

    The debug check must catch it, and a proof built anyway must not verify.
    """
    prog = assemble(src)
    key = api.setup(prog, "test", zk=zk)
    i = chip_index(key, kind, nth)

    def tamper(traces):
        traces = [t.copy() for t in traces]
        edit(traces[i])
        return traces

    with pytest.raises(VerificationError):
        proof = api.prove(prog, inputs, "test", key=key, seed=seed, _tamper=tamper)
        api.verify(proof, key.vk)


def field_add(trace: np.ndarray, col: int, row: int, delta: int = 1) -> None:
    """Add ``delta`` to one cell, modulo p."""
    from zkvm.field.scalar import P

    trace[col, row] = np.uint64((int(trace[col, row]) + delta) % P)
