"""The bundle prover: execute once, then prove and write one segment at a time.

``prove_bundle`` runs each segment program once in the VM to get the
crossing tensors later segments read, draws one salt per hashed name (a
boundary gets the same salt in the segment that writes it and in every
segment that reads it, so their digests are equal), then proves the segments
in order and streams each proof into the bundle file before the next starts.
In this process a segment is proved from that same execution
(``api.prove(..., execution=)``), not run a second time. Only one segment's
execution, traces and low-degree extensions are alive at a time, so the peak
memory follows the largest segment (docs/segments.md). An executor
(``zkvm.segments.cluster``) may prove several segments in parallel instead;
its workers run their segment again (``cluster`` says why) and the bundle is
byte-for-byte the same format.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import numpy as np

from zkvm.segments.bundle import PROOF_MAGIC, BundleWriter
from zkvm.segments.plan import Plan, SegmentParams, plan


@dataclass
class SegmentJob:
    """What proving one segment needs (all of it plain data, so it can travel to a worker)."""

    index: int
    program: Any                         # the segment Program (or its file bytes, for a worker)
    inputs: dict[str, np.ndarray]
    salts: dict[str, list[int]]
    security: str
    seed: bytes | None = None
    #: a worker's segment hidden weights (``PrivateWeights``; a program sent as bytes has none)
    weights: Any = None
    #: the driver's run of ``program`` on ``inputs`` and the proving key it derived first
    #: (in this process only; a worker derives and runs them itself)
    execution: Any = None
    key: Any = None


@dataclass
class SegmentResult:
    """What proving one segment gives back: its proof file bytes and the digests of its hashed
    inputs/outputs by name (the proof's public values, so the driver need not hash again)."""

    data: bytes
    digests: dict[str, list[int]] = field(default_factory=dict)


@dataclass
class BundleReport:
    """Per-segment timings and sizes, the outputs, and the salts of hashed inputs/outputs."""

    n_segments: int = 0
    costs: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)
    outputs: dict[str, np.ndarray] = field(default_factory=dict)
    salts: dict[str, list[int]] = field(default_factory=dict)
    #: digests of the hashed program inputs/outputs (as the segment proofs bind them)
    digests: dict[str, list[int]] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


def prove_segment(job: SegmentJob) -> SegmentResult:
    """Prove one segment (used in-process and by Ray workers).

    With ``job.execution`` (the driver's run, in-process) the segment is proved
    from it, which ``api.prove`` first checks is a run of this program on these
    inputs; the job lets go of it, so it dies with the proof.
    """
    import zkvm.api as api
    from zkvm.isa.program import Program

    prog = Program.from_bytes(job.program) if isinstance(job.program, bytes) else job.program
    ex, key, job.execution, job.key = job.execution, job.key, None, None
    rep = api.ProveReport()
    proof = api.prove(prog, job.inputs, job.security, weights=job.weights, salts=job.salts,
                      seed=job.seed, execution=ex, key=key, report=rep)
    del ex, key
    return SegmentResult(proof.to_bytes(), {k: [int(x) for x in v] for k, v in rep.digests.items()
                                            if k in job.salts})


def chain_spec(pl: Plan) -> list[dict]:
    """Per segment, the role of each input and output name (``input``/``output``/``boundary``)."""
    out = []
    for seg in pl.segments:
        ins = [[name, "input" if role == "input" else
                ("output" if pl.fine.tensors[name].kind == "output" else "boundary")]
               for role, name in seg.reads if role != "weight"]
        outs = [[name, role] for role, name in seg.writes]
        out.append({"in": ins, "out": outs})
    return out


def jobs(pl: Plan, inputs: dict[str, Any], security: str, salts: dict[str, list[int]] | None,
         seed: bytes | None, report: BundleReport, _segment: Callable | None = None,
         keep_execution: bool = True) -> Iterator[SegmentJob]:
    """Each segment's job, in order, built lazily.

    Segment ``i`` is executed here (the VM: cheap next to proving) on the
    program inputs and the crossing tensors earlier segments produced; a
    crossing tensor is dropped after its last reader, so the driver holds one
    segment program and the live boundary tensors, never the whole model's
    activations or traces. With ``keep_execution`` the job carries that
    execution, so the prover does not run the segment again, and the segment's
    proving key, derived before the run so that the key derivation's transient
    peak (whole preprocessed extensions) does not meet a live run.
    """
    import zkvm.api as api
    from zkvm.hash.poseidon2 import random_salt
    from zkvm.isa.errors import ExecutionError
    from zkvm.runtime import execute

    salts = dict(salts or {})
    last_use: dict[str, int] = {}
    for seg in pl.segments:
        for role, name in seg.reads:
            if role != "weight":
                last_use[name] = seg.index
    live: dict[str, np.ndarray] = {}
    report.outputs = {}
    for i in range(pl.n_segments):
        sp = pl.segment_program(i)
        key = api.setup(sp, security) if keep_execution else None
        t0 = time.perf_counter()
        seg_in = {}
        for t in sp.inputs:
            if t.name in live:
                seg_in[t.name] = live[t.name]
            else:
                seg_in[t.name] = np.asarray(inputs[t.name], dtype=np.int64)
        try:
            ex = execute(sp, seg_in)
        except ExecutionError as e:   # name the segment: the instruction index is its own
            raise type(e)(f"segment {i + 1} of {pl.n_segments}: {e}") from None
        for name in sp.outputs:
            if name in last_use:
                live[name] = ex.values[name]
            if name in pl.program.outputs:
                report.outputs[name] = ex.values[name]
        seg_salts = {}
        hashed = [t.name for t in sp.inputs if t.visibility == "hashed"] + [
            o for o in sp.outputs if sp.tensors[o].visibility == "hashed"]
        for name in hashed:
            if name not in salts:
                salts[name] = random_salt()
            seg_salts[name] = salts[name]
        if _segment is not None:   # tests: a malicious prover edits one segment's job
            seg_in, seg_salts = _segment(i, dict(seg_in), seg_salts)
            keep_execution = False   # the edited inputs are not what ran: prove a fresh run
        report.timings["execute"] = report.timings.get("execute", 0.0) + time.perf_counter() - t0
        job = SegmentJob(i, sp, seg_in, seg_salts, security,
                         None if seed is None else seed + i.to_bytes(4, "little"),
                         execution=ex if keep_execution else None, key=key)
        del sp, seg_in, ex, key
        for name in [n for n, last in last_use.items() if last == i and n in live]:
            del live[name]
        yield job
        del job   # before the next segment's key and run: its program goes with it
    user = {t.name for t in pl.program.inputs} | set(pl.program.outputs)
    report.salts = {k: v for k, v in salts.items() if k in user}


def _in_process(jobs_: Iterator[SegmentJob]) -> Iterator[SegmentResult]:
    """Prove each job here, letting go of it before the next is made."""
    for job in jobs_:
        res = prove_segment(job)
        del job
        yield res


def prove_bundle(program, inputs: dict[str, Any], path: str, params: SegmentParams,
                 security: str = "standard", *, salts: dict[str, list[int]] | None = None,
                 seed: bytes | None = None, executor: Any = None,
                 progress: Callable[[int, int], None] | None = None,
                 report: BundleReport | None = None,
                 _segment: Callable | None = None) -> BundleReport:
    """Prove ``program`` on ``inputs`` in segments and write the bundle proof to ``path``.

    Args:
        program: the program, bound to its hidden weights if it has any
            (``zkvm.segments.plan`` says which hidden weights can be split).
        inputs: integer inputs at their scales.
        params: the segmentation (``SegmentParams``; see ``zkvm.segments.budget``
            to derive it from a memory budget).
        security: preset name (each segment is proved at it).
        salts: salts of hashed inputs/outputs by name (random when absent).
        seed: tests only: deterministic zk randomness.
        executor: ``None`` (prove here, one segment at a time, each from the run that
            gave its boundaries) or an object with ``run(jobs) -> iterator of
            SegmentResult in order`` (``cluster.RayExecutor``).
        progress: called with ``(segments done, total)``.
        _segment: tests only: ``(i, inputs, salts) -> (inputs, salts)`` for segment ``i``.

    Returns:
        The report (per-segment cost, seconds and proof size; outputs; salts and digests of
        hashed inputs/outputs).
    """
    from zkvm.fri.security import SecurityConfig

    from zkvm.segments.plan import SegmentError

    rep = report if report is not None else BundleReport()
    sec_name = security if isinstance(security, str) else security.name
    SecurityConfig.preset(sec_name)
    missing = [t.name for t in program.inputs if t.name not in inputs]
    if missing:
        raise SegmentError(f"inputs {missing} are missing (the program reads "
                           f"{[t.name for t in program.inputs]})")
    t0 = time.perf_counter()
    pl = plan(program, params)
    rep.timings["split"] = time.perf_counter() - t0
    rep.n_segments = pl.n_segments
    rep.costs = [s.cost for s in pl.segments]
    header = {"program": program.digest, "params": params.to_dict(), "n_segments": pl.n_segments,
              "security": sec_name,
              "inputs": {t.name: [int(v) for v in np.asarray(inputs[t.name]).ravel()]
                         for t in program.inputs if t.visibility == "public"}}
    t_start = time.perf_counter()
    with BundleWriter(path, PROOF_MAGIC, "bundle", header) as w:
        it = jobs(pl, inputs, sec_name, salts, seed, rep, _segment,
                  keep_execution=executor is None)
        results = executor.run(it) if executor is not None else _in_process(it)
        last = time.perf_counter()
        rep.digests = {}
        for i, res in enumerate(results):
            data = res.data
            for k, d in res.digests.items():
                rep.digests.setdefault(k, d)
            w.add(data)
            now = time.perf_counter()
            rep.seconds.append(now - last)
            rep.sizes.append(len(data))
            last = now
            if progress:
                progress(i + 1, pl.n_segments)
            del res, data
        w.close({"outputs": {o: [int(v) for v in np.asarray(rep.outputs[o]).ravel()]
                             for o in program.outputs
                             if program.tensors[o].visibility == "public"}})
    rep.digests = {k: d for k, d in rep.digests.items() if k in rep.salts}   # not the boundaries'
    rep.timings["prove"] = time.perf_counter() - t_start
    return rep

