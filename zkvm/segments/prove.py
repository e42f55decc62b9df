"""The bundle prover: execute once, then prove and write one segment at a time.

``prove_bundle`` runs the refined program once in the VM (cheap next to
proving) to get every crossing tensor, draws one salt per hashed name (a
boundary gets the same salt in the segment that writes it and in every
segment that reads it, so their digests are equal), then proves the segments
in order and streams each proof into the bundle file before the next starts.
Only one segment's traces and low-degree extensions are alive at a time, so
the peak memory follows the largest segment (docs/segments.md). An executor
(``zkvm.segments.cluster``) may prove several segments in parallel instead;
the bundle is byte-for-byte the same format.
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


@dataclass
class BundleReport:
    """Per-segment timings and sizes, the outputs, and the salts of hashed inputs/outputs."""

    n_segments: int = 0
    costs: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)
    outputs: dict[str, np.ndarray] = field(default_factory=dict)
    inputs: dict[str, np.ndarray] = field(default_factory=dict)
    salts: dict[str, list[int]] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


def prove_segment(job: SegmentJob) -> bytes:
    """Prove one segment; return its proof file bytes (used in-process and by Ray workers)."""
    import zkvm.api as api
    from zkvm.isa.program import Program

    prog = Program.from_bytes(job.program) if isinstance(job.program, bytes) else job.program
    proof = api.prove(prog, job.inputs, job.security, weights=job.weights, salts=job.salts,
                      seed=job.seed)
    return proof.to_bytes()


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
         seed: bytes | None, report: BundleReport,
         _segment: Callable | None = None) -> Iterator[SegmentJob]:
    """Each segment's job, in order, built lazily.

    Segment ``i`` is executed here (the VM: cheap next to proving) on the
    program inputs and the crossing tensors earlier segments produced; a
    crossing tensor is dropped after its last reader, so the driver holds one
    segment program and the live boundary tensors, never the whole model's
    activations or traces.
    """
    from zkvm.hash.poseidon2 import random_salt
    from zkvm.runtime import execute

    salts = dict(salts or {})
    last_use: dict[str, int] = {}
    for seg in pl.segments:
        for role, name in seg.reads:
            if role != "weight":
                last_use[name] = seg.index
    live: dict[str, np.ndarray] = {}
    report.outputs = {}
    report.inputs = {}
    for i in range(pl.n_segments):
        t0 = time.perf_counter()
        sp = pl.segment_program(i)
        seg_in = {}
        for t in sp.inputs:
            if t.name in live:
                seg_in[t.name] = live[t.name]
            else:
                seg_in[t.name] = np.asarray(inputs[t.name], dtype=np.int64)
        ex = execute(sp, seg_in)
        for t in sp.inputs:
            if t.name in pl.program.tensors and pl.program.tensors[t.name].kind == "input":
                report.inputs.setdefault(t.name, ex.values[t.name])
        for name in sp.outputs:
            if name in last_use:
                live[name] = ex.values[name]
            if name in pl.program.outputs:
                report.outputs[name] = ex.values[name]
        del ex
        seg_salts = {}
        hashed = [t.name for t in sp.inputs if t.visibility == "hashed"] + [
            o for o in sp.outputs if sp.tensors[o].visibility == "hashed"]
        for name in hashed:
            if name not in salts:
                salts[name] = random_salt()
            seg_salts[name] = salts[name]
        if _segment is not None:   # tests: a malicious prover edits one segment's job
            seg_in, seg_salts = _segment(i, dict(seg_in), seg_salts)
        report.timings["execute"] = report.timings.get("execute", 0.0) + time.perf_counter() - t0
        job = SegmentJob(i, sp, seg_in, seg_salts, security,
                         None if seed is None else seed + i.to_bytes(4, "little"))
        del sp, seg_in
        for name in [n for n, last in last_use.items() if last == i and n in live]:
            del live[name]
        yield job
    user = {t.name for t in pl.program.inputs} | set(pl.program.outputs)
    report.salts = {k: v for k, v in salts.items() if k in user}


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
        executor: ``None`` (prove here, one segment at a time) or an object with
            ``run(jobs) -> iterator of proof bytes in order`` (``cluster.RayExecutor``).
        progress: called with ``(segments done, total)``.
        _segment: tests only: ``(i, inputs, salts) -> (inputs, salts)`` for segment ``i``.

    Returns:
        The report (per-segment cost, seconds and proof size; outputs; salts).
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
        it = jobs(pl, inputs, sec_name, salts, seed, rep, _segment)
        results = executor.run(it) if executor is not None else (prove_segment(j) for j in it)
        last = time.perf_counter()
        for i, data in enumerate(results):
            w.add(data)
            now = time.perf_counter()
            rep.seconds.append(now - last)
            rep.sizes.append(len(data))
            last = now
            if progress:
                progress(i + 1, pl.n_segments)
        w.close({"outputs": {o: [int(v) for v in np.asarray(rep.outputs[o]).ravel()]
                             for o in program.outputs
                             if program.tensors[o].visibility == "public"}})
    rep.timings["prove"] = time.perf_counter() - t_start
    return rep

