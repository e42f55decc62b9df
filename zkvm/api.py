"""Prove and verify programs: the Python API behind ``zkvm run --prove`` and ``zkvm verify``.

    import zkvm
    program = zkvm.load_program("model.zkvm")        # or assemble a .zasm
    proof = zkvm.prove(program, {"x": [[0.5, -1.0]]}, security="standard")
    key = zkvm.setup(program, "standard").vk
    outputs = zkvm.verify(proof, key)                  # raises VerificationError

``verify`` uses only the verifying key and the proof: it never runs the
program and imports nothing from the runtime or the assembler.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from zkvm.air.chips import io as io_terms
from zkvm.fri.security import SecurityConfig
from zkvm.stark.errors import VerificationError
from zkvm.stark.keys import VerifyingKey
from zkvm.stark.proof import PublicValues, StarkProof


class PublicIoMismatch(VerificationError):
    """The proof's public inputs/outputs are not bound as the verifying key says."""


def _security(security: str | SecurityConfig) -> SecurityConfig:
    return security if isinstance(security, SecurityConfig) else SecurityConfig.preset(security)


@dataclass
class ProvingKeyVm:
    """A program's proving key: the STARK key plus the statement (chips) it was made from."""

    pk: Any
    statement: Any

    @property
    def vk(self) -> VerifyingKey:
        return self.pk.vk


def setup(program, security: str | SecurityConfig = "standard", zk: bool | None = None) -> ProvingKeyVm:
    """Derive the proving and verifying keys of ``program`` (deterministic)."""
    from zkvm.air.chips.statement import build_statement
    from zkvm.stark.setup import setup as stark_setup

    st = build_statement(program, zk)
    meta = {"io": st.io, "program_digest": program.digest}
    pk = stark_setup(st.chips, _security(security), st.zk, program.digest, meta)
    return ProvingKeyVm(pk, st)


@dataclass
class ProveReport:
    """Timings of each phase (seconds) and the outputs."""

    timings: dict[str, float] = field(default_factory=dict)
    outputs: dict[str, np.ndarray] = field(default_factory=dict)


def prove(program, inputs: dict[str, Any], security: str | SecurityConfig = "standard", *,
          key: ProvingKeyVm | None = None, zk: bool | None = None, debug: bool = False,
          seed: bytes | None = None, report: ProveReport | None = None,
          progress: Callable[[str], None] | None = None,
          _tamper: Callable[[list], list] | None = None) -> StarkProof:
    """Run ``program`` on integer ``inputs`` and prove the run.

    Args:
        program: a ``zkvm.isa.Program``.
        inputs: integer inputs at their scales (use ``zkvm.io`` to quantize floats).
        security: preset name or a ``SecurityConfig``.
        key: a key from ``setup`` (derived here when omitted).
        debug: check every constraint and the bus before proving.
        seed: tests only: deterministic zk randomness.
        report: filled with per-phase timings and the outputs.
        _tamper: tests only: edits the traces before proving (the proof is then
            built even though the constraints fail, so the verifier can be tested).
    """
    from zkvm.runtime import execute
    from zkvm.stark.prover import prove as stark_prove

    rep = report if report is not None else ProveReport()
    t0 = time.perf_counter()
    key = key or setup(program, security, zk)
    rep.timings["setup"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    ex = execute(program, inputs)
    rep.timings["execute"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    traces = key.statement.traces(ex)
    if _tamper is not None:
        traces = _tamper(traces)
    rep.timings["trace"] = time.perf_counter() - t0
    pub_in = {t.name: [int(v) for v in ex.values[t.name].ravel()]
              for t in program.inputs if t.visibility == "public"}
    outs = {o: [int(v) for v in ex.values[o].ravel()] for o in program.outputs}
    public = PublicValues([[] for _ in key.statement.chips],
                          io_terms.bus_terms(key.statement.io, pub_in, outs),
                          {"inputs": pub_in, "outputs": outs})
    last = [time.perf_counter(), None]

    def note(step: str) -> None:
        now = time.perf_counter()
        if last[1] is not None:
            rep.timings[last[1]] = now - last[0]
        last[0], last[1] = now, step
        if progress:
            progress(step)

    proof = stark_prove(key.pk, traces, public, seed=seed, debug=debug, progress=note,
                        _allow_invalid=_tamper is not None)
    note("done")
    rep.outputs = ex.outputs
    return proof


def verify(proof: StarkProof, key: VerifyingKey, *, min_bits: float | None = None
           ) -> dict[str, np.ndarray]:
    """Check ``proof`` against ``key``; return the proven outputs (integers at their scales).

    Raises:
        VerificationError: a subclass naming the failed check.
    """
    import zkvm.air.chips  # noqa: F401  (registers the chips the key names)
    from zkvm.stark.verifier import verify as stark_verify

    io = key.meta.get("io")
    if io is None:
        raise PublicIoMismatch("this verifying key is not a program's key")
    meta = proof.public.meta
    try:
        expected = io_terms.bus_terms(io, meta.get("inputs", {}), meta.get("outputs", {}))
    except (ValueError, TypeError, AttributeError) as e:
        raise PublicIoMismatch(f"public inputs/outputs do not fit the program: {e}") from None
    if [(b, tuple(v), m) for b, v, m in expected] != [(b, tuple(v), m) for b, v, m in
                                                     proof.public.bus_terms]:
        raise PublicIoMismatch("the proof's public input/output terms differ from the key's")
    if len(proof.public.table_publics) != len(key.tables):
        raise PublicIoMismatch("wrong number of table public blocks")
    stark_verify(key, proof, min_bits=min_bits)
    out = {}
    for t in io["outputs"]:
        out[t["name"]] = np.array(meta["outputs"][t["name"]], dtype=np.int64).reshape(t["shape"])
    return out
