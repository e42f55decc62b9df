"""Helpers for chip tests: assemble, prove at the `test` preset, verify, tamper."""

from __future__ import annotations

import numpy as np
import pytest

import zkvm.api as api
from zkvm.assembler import assemble
from zkvm.field.scalar import P
from zkvm.stark.errors import VerificationError


def prove_verify(src: str, inputs: dict, *, zk: bool | None = None, security: str = "test",
                 seed: bytes = b"test"):
    """Assemble, prove with the debug checks on, verify; return (outputs, proof, key)."""
    prog = assemble(src)
    key = api.setup(prog, security, zk=zk)
    proof = api.prove(prog, inputs, security, key=key, debug=True, seed=seed)
    out = api.verify(proof, key.vk, min_bits=0)
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
        api.verify(proof, key.vk, min_bits=0)


def field_add(trace: np.ndarray, col: int, row: int, delta: int = 1) -> None:
    """Add ``delta`` to one cell, modulo p."""
    from zkvm.field.scalar import P

    trace[col, row] = np.uint64((int(trace[col, row]) + delta) % P)


def recount_range_table(chips, traces):
    """Recount the range table's multiplicities from (tampered) traces, as an attacker would.

    Lookups of values outside the table cannot be paid for and are left out.
    """
    from zkvm.air.chips.memory import RangeTable

    lookups = [np.asarray(x, dtype=np.int64).ravel() for c, t in zip(chips, traces)
               if not isinstance(c, RangeTable) for x in c.range_values(t)]
    vals = np.concatenate(lookups) if lookups else np.zeros(0, np.int64)
    vals = vals[(vals >= 0) & (vals < 1 << 16)]
    for i, c in enumerate(chips):
        if isinstance(c, RangeTable):
            traces[i] = c.trace_from_counts([vals])


def prove_claiming(src, inputs, kind, edit, claim):
    """Prove a run whose trace (``edit``) and claimed outputs (``claim``) are both changed.

    The attack only a chip's own constraints can stop: the tampered trace keeps
    the memory bus balanced (the public output is claimed to match it) and the
    range table's counts are redone for the new lookups. The proof must not
    verify. ``edit(trace)`` or ``edit(trace, chip)`` changes the chip's trace.
    """
    from zkvm.air.chips import io as io_terms
    from zkvm.runtime import execute
    from zkvm.stark.proof import PublicValues
    from zkvm.stark.prover import prove as stark_prove

    prog = assemble(src)
    key = api.setup(prog, "test")
    ex = execute(prog, inputs)
    traces = [t.copy() for t in key.statement.traces(ex)]
    i = chip_index(key, kind)
    if edit.__code__.co_argcount >= 2:
        edit(traces[i], key.statement.chips[i])
    else:
        edit(traces[i])
    recount_range_table(key.statement.chips, traces)
    pub_in = {t.name: [int(x) for x in ex.values[t.name].ravel()]
              for t in prog.inputs if t.visibility == "public"}
    outs = {o: [int(x) for x in ex.values[o].ravel()] for o in prog.outputs}
    terms = io_terms.bus_terms(key.statement.io, pub_in, outs)
    claim(outs)
    # the malicious prover's own bus terms: the claimed outputs, even outside their interval
    # (the verifier then refuses the claim itself; in range, the STARK must refuse it)
    claimed = {}
    for t in key.statement.io["outputs"]:
        addrs = np.frombuffer(t["addrs"], dtype="<i8").tolist()
        claimed.update({a: v % P for a, v in zip(addrs, outs[t["name"]])})
    terms = [(b, (a, claimed.get(a, v)) if m < 0 else (a, v), m) for b, (a, v), m in terms]
    public = PublicValues([[] for _ in key.statement.chips], terms,
                          {"inputs": pub_in, "outputs": outs})
    proof = stark_prove(key.pk, traces, public, seed=b"test", _allow_invalid=True)
    with pytest.raises(VerificationError):
        api.verify(proof, key.vk, min_bits=0)
