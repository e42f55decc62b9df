"""Benchmark: where ``zkvm compile``'s memory goes, phase by phase (issue 14, compile side).

Usage::

    .venv/bin/python bench/bench_compile_memory.py [--layers 2 --d 768 --heads 12 --seq 16]
        [--calib 8] [--trace] [--top 12] [--out bench/results/compile_memory.json]

Compiles the GPT-2-shaped decoder of ``bench/bench_gpt2.py`` (the same model,
samples and seeds) in this process and records, at every phase boundary of
:func:`zkvm.assembler.onnx.compile_onnx` (graph loaded, calibration run,
rewrites, lowering with the shadow run, ``build``, the accuracy run, the
per-layer errors): the process's resident memory now (``VmRSS``) and its peak
so far (``VmHWM``), in MiB and in bytes per model parameter. With ``--trace``
also tracemalloc's figures (numpy registers its buffers with it): memory
held and the peak inside each phase, and the allocation sites holding the
most memory when lowering ends and when the compile ends. tracemalloc slows
the compile down several times: its wall times are not compile times.

Writes ``bench/results/compile_memory.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for p in (str(ROOT), str(ROOT / "tests"), str(ROOT / "bench")):
    if p not in sys.path:
        sys.path.insert(0, p)

MIB = 2**20


def _status() -> tuple[float, float]:
    """``(VmRSS, VmHWM)`` of this process in MiB (Linux)."""
    vals = {}
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                k, v = line.split(":")
                vals[k] = int(v.split()[0]) / 1024
    return vals.get("VmRSS", 0.0), vals.get("VmHWM", 0.0)


class Phases:
    """Records memory at phase boundaries (RSS always, tracemalloc when on)."""

    def __init__(self, params: int, trace: bool, top: int) -> None:
        self.params, self.trace, self.top = params, trace, top
        self.rows: list[dict] = []
        self.sites: dict[str, list[dict]] = {}
        self.t0 = time.perf_counter()

    def mark(self, phase: str, sites: bool = False) -> None:
        rss, hwm = _status()
        row = {"phase": phase, "t_s": round(time.perf_counter() - self.t0, 2),
               "rss_mib": round(rss, 1), "hwm_mib": round(hwm, 1),
               "hwm_b_per_param": round(hwm * MIB / self.params, 1)}
        if self.trace:
            cur, peak = tracemalloc.get_traced_memory()
            row.update(traced_mib=round(cur / MIB, 1), traced_peak_mib=round(peak / MIB, 1))
            tracemalloc.reset_peak()
            if sites:
                stats = tracemalloc.take_snapshot().statistics("lineno")[: self.top]
                self.sites[phase] = [{"site": f"{s.traceback[0].filename.split('/zkvm/')[-1]}:"
                                              f"{s.traceback[0].lineno}",
                                      "mib": round(s.size / MIB, 1),
                                      "b_per_param": round(s.size / self.params, 1)}
                                     for s in stats]
        self.rows.append(row)
        self.t0 = time.perf_counter()


def instrument(ph: Phases) -> None:
    """Wrap the compiler's phase functions so that each end is recorded."""
    from zkvm.assembler.onnx import compiler
    from zkvm.assembler.onnx.lower import FitBuilder

    def wrap(obj, name: str, phase: str, sites: bool = False, before: str | None = None):
        fn = getattr(obj, name)

        def inner(*args, **kwargs):
            if before:
                ph.mark(before, sites)
            out = fn(*args, **kwargs)
            ph.mark(phase, sites and not before)
            return out
        setattr(obj, name, inner)

    wrap(compiler, "load_graph", "graph loaded")
    wrap(compiler, "Calibration", "calibration (reference runs)")
    wrap(compiler.Rewriter, "run", "rewrites")
    wrap(FitBuilder, "build", "build", before="lowering + shadow run", sites=True)
    wrap(compiler, "accuracy", "accuracy run")
    wrap(compiler, "tensor_errors", "per-layer errors")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--d", type=int, default=768)
    ap.add_argument("--heads", type=int, default=12)
    ap.add_argument("--seq", type=int, default=16)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--calib", type=int, default=8)
    ap.add_argument("--trace", action="store_true", help="tracemalloc (slow)")
    ap.add_argument("--top", type=int, default=12)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "compile_memory.json"))
    a = ap.parse_args()

    import exporter_models as em
    import numpy as np
    from bench_gpt2 import hidden_states

    from zkvm.assembler.onnx import compile_onnx

    model = em.gpt2(seq=a.seq, d=a.d, heads=a.heads, n_ctx=a.seq, ids=False, lm_head=False,
                    n_layer=a.layers, init="gpt2", seed=a.seed)
    params = int(sum(int(np.prod(i.dims)) for i in model.graph.initializer))
    xs = hidden_states(a.calib, a.seq, a.d, a.seed + 1)
    ph = Phases(params, a.trace, a.top)
    instrument(ph)
    if a.trace:
        tracemalloc.start()
    ph.mark("model built")
    t0 = time.perf_counter()
    res = compile_onnx(model, samples={"inputs_embeds": xs})
    wall = time.perf_counter() - t0
    ph.mark("end", sites=True)
    out = {"layers": a.layers, "d": a.d, "seq": a.seq, "calib": a.calib, "params": params,
           "instructions": len(res.program.instructions), "digest": res.program.digest_hex,
           "compile_s": round(wall, 2), "trace": a.trace, "phases": ph.rows, "sites": ph.sites}
    print(f"GPT-2-shaped decoder, {a.layers} blocks, d={a.d}: {params:,} parameters, "
          f"{out['instructions']} instructions, compile {wall:.1f} s"
          f"{' (under tracemalloc)' if a.trace else ''}")
    hdr = f"{'phase':<30} {'s':>7} {'RSS MiB':>9} {'peak MiB':>9} {'peak B/param':>12}"
    if a.trace:
        hdr += f" {'traced MiB':>10} {'traced peak':>11}"
    print(hdr)
    for r in ph.rows:
        line = (f"{r['phase']:<30} {r['t_s']:>7.1f} {r['rss_mib']:>9.0f} {r['hwm_mib']:>9.0f} "
                f"{r['hwm_b_per_param']:>12.1f}")
        if a.trace:
            line += f" {r['traced_mib']:>10.0f} {r['traced_peak_mib']:>11.0f}"
        print(line)
    for phase, sites in ph.sites.items():
        print(f"\nheld at '{phase}' (tracemalloc, by allocation site):")
        for s in sites:
            print(f"  {s['mib']:>8.1f} MiB {s['b_per_param']:>6.1f} B/param  {s['site']}")
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
