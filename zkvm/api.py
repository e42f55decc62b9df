"""Prove and verify programs: the Python API behind ``zkvm run --prove`` and ``zkvm verify``.

    import zkvm
    program = zkvm.load_program("model.zkvm")        # or assemble a .zasm
    proof = zkvm.prove(program, {"x": [[0.5, -1.0]]}, security="standard")
    key = zkvm.setup(program, "standard").vk
    outputs = zkvm.verify(proof, key)                  # raises VerificationError

``verify`` uses only the verifying key and the proof: it never runs the
program and imports nothing from the runtime or the assembler.

Hidden values (docs/visibility.md): a program with private or hashed weights
is proved with its private weights file, ``prove(program, inputs,
weights="model.zkw")``; the verifier needs only the public program (or its
key), which holds the model commitment. Hashed inputs and outputs get a
fresh random salt per proof unless ``salts={name: [...]}`` is given; the
digests are public values of the proof (``public_digests``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from zkvm.air.chips import io as io_terms
from zkvm.errors import ZkvmUserError
from zkvm.fri.security import SecurityConfig
from zkvm.stark.errors import VerificationError
from zkvm.stark.keys import VerifyingKey
from zkvm.stark.proof import PublicValues, StarkProof


class PublicIoMismatch(VerificationError):
    """The proof's public inputs/outputs are not bound as the verifying key says."""


class ExecutionMismatch(ZkvmUserError, ValueError):
    """An execution handed to ``prove`` is not a run of that program on those inputs."""


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

    cfg = _security(security)
    st = build_statement(program, zk, onchain=cfg.hash == "keccak")
    meta = {"io": st.io, "program_digest": program.digest}
    pk = stark_setup(st.chips, cfg, st.zk, program.digest, meta)
    return ProvingKeyVm(pk, st)


@dataclass
class ProveReport:
    """Timings of each phase (seconds), the outputs, and the salts and digests of hashed tensors.

    ``salts`` are private (keep them to open a digest later); ``digests`` are
    public values of the proof, by tensor name (``model``: the weights).
    """

    timings: dict[str, float] = field(default_factory=dict)
    outputs: dict[str, np.ndarray] = field(default_factory=dict)
    salts: dict[str, list[int]] = field(default_factory=dict)
    digests: dict[str, list[int]] = field(default_factory=dict)


def bind(program, weights: Any = None):
    """``program`` bound to its hidden weights (a ``PrivateWeights``, a path or bytes).

    Raises:
        WeightsError: hidden weights and no (or wrong) weights given.
    """
    from zkvm.isa.weights_file import as_private_weights

    if weights is not None:
        return program.bind_weights(as_private_weights(weights))
    program.require_weights()
    return program


def prove(program, inputs: dict[str, Any], security: str | SecurityConfig = "standard", *,
          weights: Any = None, salts: dict[str, list[int]] | None = None,
          key: ProvingKeyVm | None = None, zk: bool | None = None, debug: bool = False,
          seed: bytes | None = None, report: ProveReport | None = None,
          progress: Callable[[str], None] | None = None, execution: Any = None,
          _tamper: Callable[[list], list] | None = None) -> StarkProof:
    """Run ``program`` on integer ``inputs`` and prove the run.

    Args:
        program: a ``zkvm.isa.Program`` (public, or bound to its hidden weights).
        inputs: integer inputs at their scales (use ``zkvm.io`` to quantize floats).
        weights: the private weights (``PrivateWeights``, a ``.zkw`` path or
            bytes) of a program with private/hashed weights; checked against
            the program's model commitment.
        salts: salts of hashed inputs/outputs by name (random when absent).
        security: preset name or a ``SecurityConfig``.
        key: a key from ``setup`` (derived here when omitted).
        debug: check every constraint and the bus before proving.
        seed: tests only: deterministic zk randomness.
        report: filled with per-phase timings and the outputs.
        execution: a ``zkvm.runtime.Execution`` of ``program`` on ``inputs`` the
            caller already has (``zkvm run``, the segment prover): proved
            instead of running the program again, after checking it is a run
            of this program (digest and hidden weights) on these inputs.
        _tamper: tests only: edits the traces before proving (the proof is then
            built even though the constraints fail, so the verifier can be tested).

    Raises:
        WeightsError: hidden weights missing or not matching the commitment.
        ExecutionMismatch: ``execution`` is a run of another program or on other inputs.
    """
    from zkvm.hash.poseidon2 import random_salt
    from zkvm.isa.program import WeightsError
    from zkvm.runtime import execute
    from zkvm.stark.prover import prove as stark_prove

    rep = report if report is not None else ProveReport()
    program = bind(program, weights)
    t0 = time.perf_counter()
    key = key or setup(program, security, zk)
    rep.timings["setup"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    if execution is not None:
        check_execution(program, inputs, execution)
        ex = execution
    else:
        ex = execute(program, inputs)
    rep.timings["execute"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    salts = dict(salts or {})
    for h in key.statement.hashed:
        if h.kind != "weights" and h.name not in salts:
            salts[h.name] = random_salt(h.salt_addrs.size)
    traces, digests = key.statement.witness(ex, salts)
    rep.digests = {h.name: d for h, d in zip(key.statement.hashed, digests)}
    rep.salts = {k: v for k, v in salts.items()}
    if _tamper is None and any(h.kind == "weights" and tuple(d) != tuple(h.digest)
                               for h, d in zip(key.statement.hashed, digests)):
        raise WeightsError("the weights hash to a different digest than the program's model "
                           "commitment: use the weights file written with this program")
    if _tamper is not None:
        traces = _tamper(traces)
    rep.timings["trace"] = time.perf_counter() - t0
    pub_in = {t.name: [int(v) for v in ex.values[t.name].ravel()]
              for t in program.inputs if t.visibility == "public"}
    outs = {o: [int(v) for v in ex.values[o].ravel()] for o in program.outputs
            if program.tensors[o].visibility == "public"}
    pub_digests = {h.name: [int(v) for v in d] for h, d in zip(key.statement.hashed, digests)
                   if h.kind != "weights"}
    meta = {"inputs": pub_in, "outputs": outs}
    if pub_digests:
        meta["digests"] = pub_digests
    public = PublicValues([[] for _ in key.statement.chips],
                          io_terms.bus_terms(key.statement.io, pub_in, outs, pub_digests), meta)
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


def check_execution(program, inputs: dict[str, Any], ex) -> None:
    """Refuse ``ex`` unless it is a run of ``program`` (bound to its weights) on ``inputs``.

    The same program object, or one with the same digest and the same hidden
    weights' values (the digest does not cover them), and every input equal
    to what the VM would take from ``inputs`` (``check_inputs``). The rest of
    the run is a function of these, so nothing else needs comparing; a run
    edited by hand is caught by the prover's constraint check, not here.

    Raises:
        ExecutionMismatch: naming what differs.
        InputError: ``inputs`` themselves are invalid for ``program``.
    """
    from zkvm.runtime import check_inputs

    if getattr(ex, "memory", None) is None:
        raise ExecutionMismatch("the execution given to prove ran without its memory image "
                                "(execute(..., memory=False)); run execute(program, inputs), "
                                "or pass no execution")
    other = getattr(ex, "program", None)
    if other is not program:
        if other is None or other.digest != program.digest:
            raise ExecutionMismatch("the execution given to prove is a run of another program "
                                    "(its digest differs): pass the program it ran, or no "
                                    "execution")
        for name in program.hidden_weights:
            if not np.array_equal(ex.values.get(name), program.weights.get(name)):
                raise ExecutionMismatch(f"the execution given to prove ran with other values "
                                        f"of the hidden weight {name!r}")
        if other.weight_salt != program.weight_salt:
            raise ExecutionMismatch("the execution given to prove ran with another salt of the "
                                    "model commitment (another weights file)")
    for name, v in check_inputs(program, inputs).items():
        got = ex.values.get(name)
        if got is None or got.shape != v.shape or not np.array_equal(got, v):
            raise ExecutionMismatch(f"the execution given to prove ran on another value of "
                                    f"input {name!r}: pass the inputs it ran on, or no execution")


def verify(proof: StarkProof, key: VerifyingKey, *, security: str | None = None,
           min_bits: float | None = None, min_proven_bits: float | None = None
           ) -> dict[str, np.ndarray]:
    """Check ``proof`` against ``key``; return the proven outputs (integers at their scales).

    The parameters are the key's, never the proof's. ``security`` names the
    preset the caller expects the key to be made at (refused otherwise) and
    sets the level required of it; when nobody names one the ``standard``
    level is required, so a key made at ``test`` is refused unless the caller
    asks for ``security="test"`` (or ``min_bits=0``).

    Args:
        proof: the proof.
        key: the verifying key (the program's: ``setup(program, preset).vk``).
        security: the preset the key must be made at.
        min_bits: override the required conjectured bits.
        min_proven_bits: override the required proven bits.

    Raises:
        VerificationError: a subclass naming the failed check.
    """
    import zkvm.air.chips  # noqa: F401  (registers the chips the key names)
    from zkvm.stark.errors import ParameterMismatch
    from zkvm.stark.verifier import verify as stark_verify

    level = SecurityConfig.preset_level(security or "standard")
    if security is not None and key.security != SecurityConfig.preset(security):
        raise ParameterMismatch(f"the verifying key is made at {key.security.name!r}, not at the "
                                f"{security!r} preset asked for")
    io = key.meta.get("io")
    if io is None:
        raise PublicIoMismatch("this verifying key is not a program's key")
    meta = proof.public.meta
    try:
        expected = _claimed_terms(io, meta)
    except (ValueError, TypeError, AttributeError, KeyError) as e:
        raise PublicIoMismatch(f"public inputs/outputs do not fit the program: {e}") from None
    if len(expected) != len(proof.public.bus_terms) or expected != [
            (b, tuple(v), m) for b, v, m in proof.public.bus_terms]:
        raise PublicIoMismatch("the proof's public input/output terms differ from the key's")
    if len(proof.public.table_publics) != len(key.tables):
        raise PublicIoMismatch("wrong number of table public blocks")
    stark_verify(key, proof, min_bits=level[0] if min_bits is None else min_bits,
                 min_proven_bits=level[1] if min_proven_bits is None else min_proven_bits)
    out = {}
    for t in io["outputs"]:
        out[t["name"]] = np.array(meta["outputs"][t["name"]], dtype=np.int64).reshape(t["shape"])
    return out


def _claimed_terms(io: dict, meta) -> list:
    """The bus terms of the claimed public values, which must have exactly the key's names
    and one encoding each (``io_terms.bus_terms``)."""
    if not isinstance(meta, dict):
        raise ValueError("the public values are not a map")
    hashed_io = [d["name"] for d in io.get("digests", []) if "value" not in d]
    allowed = {"inputs", "outputs"} | ({"digests"} if hashed_io else set())
    if set(meta) != allowed:
        raise ValueError(f"the public values must hold exactly {sorted(allowed)}")
    return [(b, tuple(v), m) for b, v, m in
            io_terms.bus_terms(io, meta["inputs"], meta["outputs"], meta.get("digests"))]


def public_digests(proof: StarkProof, key: VerifyingKey) -> dict[str, dict]:
    """The digests a (verified) proof binds: ``{name: {"kind", "hex", "value"}}``.

    ``model`` (kind ``weights``) is the model commitment from the key (the
    program's; a per-tensor one is rebuilt from the parts the key holds);
    hashed inputs/outputs come from the proof's public values.
    Call after ``verify``: the values are only meaningful for a valid proof.
    """
    from zkvm.hash.poseidon2 import digest_hex, top_digest

    out = {}
    claimed = proof.public.meta.get("digests", {})
    parts = []
    for d in key.meta.get("io", {}).get("digests", []):
        v = d["value"] if "value" in d else claimed.get(d["name"])
        if d["kind"] == "weights" and str(d["name"]).startswith("model:"):
            parts.append(v)   # a per-tensor commitment's part: shown as the one digest below
        elif v is not None:
            out[d["name"]] = {"kind": d["kind"], "value": list(v), "hex": digest_hex(v)}
    if parts:
        top = top_digest(parts)
        out = {"model": {"kind": "weights", "value": top, "hex": digest_hex(top)}, **out}
    return out
