"""Benchmark: a GPT-2-small-shaped decoder compiled from ONNX and proved in segments (issue 14).

Usage::

    .venv/bin/python bench/bench_gpt2.py [--layers 12 --d 768 --heads 12 --seq 16]
        [--calib 8 --held-out 4] [--security standard] [--max-memory 6GiB] [--max-gib 9]
        [--ray-layers 1] [--ray-only RESULTS] [--workers 16] [--skip-prove] [--skip-verify]
        [--dir /tmp/zkvm-gpt2-bench] [--out bench/results/gpt2.json]

The model (``tests/exporter_models.py``, :func:`gpt2` with ``init="gpt2"``): the
graph ``torch.onnx.export(..., opset_version=17, dynamo=False)`` writes for
HuggingFace's ``GPT2Model`` fed ``inputs_embeds`` -- ``LayerNormalization``,
``Conv1D`` as ``Reshape/Gemm/Reshape``, heads by ``Reshape/Transpose``, the
``bias``-buffer causal mask (``Where(mask, s, finfo.min)``), ``gelu_new``,
final LayerNorm; GPT-2's init scale (std 0.02, residual projections
``0.02/sqrt(2 n_layer)``), seeded. The input is the hidden states
``[1, seq, d]`` (token embeddings are not in the "block parameters" count and
not in the graph; the position embeddings ``wpe`` are, ``n_ctx = seq``).

Steps, each a child process (wall time, peak RSS = its own ``ru_maxrss`` via
``os.wait4``; a watchdog kills a child above ``--max-gib``):

1. ``compile``: build the ONNX model, compile it with ``--calib`` seeded
   calibration samples, then run the program on ``--held-out`` other samples
   next to onnx's ``ReferenceEvaluator``: largest error relative to the output
   range; instructions, parameters (all, and of the blocks);
2. ``prove``: ``zkvm.segments.api.prove_segmented(..., max_memory=--max-memory)``
   on a held-out sample (the report gives each segment's cost, seconds, size);
3. ``zkvm setup PROG -o KEY --segment-rows N --boundary B`` (the bundle key);
4. ``zkvm verify PROOF --key KEY`` and ``zkvm verify PROOF --program PROG``;
5. ``--ray-layers L`` (0: skipped): the same decoder with L blocks proved by
   ``zkvm run --prove --max-memory`` in one process and with ``--cluster auto``
   (a local Ray with this machine's 2 CPUs), one after the other (cold: Ray's
   start-up inside); then warm: ``prove_segmented`` on a running 2-CPU Ray
   whose workers have proved once, against the one-process run. A full-size
   Ray run would take as long as the one-process proof again, so the speed-up
   is measured on L blocks and reported as such. From it: Ray's start-up
   (cold gap minus warm gap) and a per-task overhead
   ``(2 T_warm - sum of one-process segment times) / segments``;
6. projection for ``--workers`` workers: a greedy schedule (each segment, in
   order, to the worker free first) of the measured full-size per-segment
   prove times plus that overhead, plus the driver's time outside the segment
   loop and Ray's start-up; the critical path is the last worker's finish.

``--ray-only RESULTS`` runs only step 5 and re-projects from RESULTS' full-size
rows (written into ``--out``).

Writes ``bench/results/gpt2.json``.
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for p in (str(ROOT), str(ROOT / "tests"), str(ROOT / "bench")):
    if p not in sys.path:
        sys.path.insert(0, p)

from bench_resnet import run_child  # wall time, peak RSS via os.wait4, a watchdog


def decoder(a: argparse.Namespace, layers: int | None = None):
    """The GPT-2-shaped decoder (ONNX ModelProto) for the sizes in ``a``."""
    import exporter_models as em

    return em.gpt2(seq=a.seq, d=a.d, heads=a.heads, n_ctx=a.seq, ids=False, lm_head=False,
                   n_layer=a.layers if layers is None else layers, init="gpt2", seed=a.seed)


def hidden_states(n: int, seq: int, d: int, seed: int):
    """``n`` seeded input hidden states ``[1, seq, d]``: token + position embeddings of a
    GPT-2 are O(0.1) per coordinate (wte std ~0.1 after training), with a few large ones."""
    import numpy as np

    rng = np.random.default_rng(seed)
    x = 0.1 * rng.standard_normal((n, 1, seq, d))
    x[..., rng.integers(0, d, 4)] *= 5.0  # GPT-2's residual stream has outlier dimensions
    return x


# ---------------------------------------------------------------- children
def child_compile(a: argparse.Namespace) -> dict:
    import exporter_models as em
    import numpy as np
    from onnx.reference import ReferenceEvaluator

    from zkvm.assembler.onnx import compile_onnx
    from zkvm.assembler.onnx.report import accuracy

    t0 = time.perf_counter()
    model = decoder(a, a.child_layers)
    out = {"build_s": time.perf_counter() - t0, "block_params": em.block_params(model),
           "params": int(sum(int(np.prod(i.dims)) for i in model.graph.initializer))}
    xs = hidden_states(a.calib + a.held_out + 1, a.seq, a.d, a.seed + 1)
    t0 = time.perf_counter()
    res = compile_onnx(model, samples={"inputs_embeds": xs[:a.calib]})
    out["compile_s"] = time.perf_counter() - t0
    prog = res.program
    out.update({"instructions": len(prog.instructions), "program_params": prog.n_params,
                "warnings": res.warnings, "calib_err_over_range": res.report.outputs[0].rel_range})
    t0 = time.perf_counter()
    ev = ReferenceEvaluator(model)
    held = xs[a.calib:a.calib + a.held_out]
    refs = [[np.asarray(r, np.float64) for r in ev.run(None, {"inputs_embeds":
                                                               x.astype(np.float32)})]
            for x in held]
    rep = accuracy(prog, [{prog.inputs[0].name: x} for x in held], refs, "held-out samples")
    o = rep.outputs[0]
    out.update({"heldout_max_abs_err": o.max_abs, "heldout_err_over_range": o.rel_range,
                "heldout_max_ref": o.max_ref, "output_scale": o.scale,
                "accuracy_s": time.perf_counter() - t0})
    t0 = time.perf_counter()
    prog.save(a.child_program)
    np.save(a.child_input, xs[-1])  # the proved sample: held out from calibration
    out["save_s"] = time.perf_counter() - t0
    out["program_mib"] = os.path.getsize(a.child_program) / 2**20
    return out


def child_prove(a: argparse.Namespace) -> dict:
    import numpy as np

    import zkvm.segments.api as segapi
    from zkvm.io import quantize_inputs
    from zkvm.isa.program import Program

    t0 = time.perf_counter()
    prog = Program.load(a.child_program)
    ints = quantize_inputs({prog.inputs[0].name: np.load(a.child_input)}, prog)
    load_s = time.perf_counter() - t0
    params = segapi.segment_params(prog, max_memory=a.max_memory)
    cluster, extra = None, {}
    if a.child_warm_ray:  # a running 2-CPU Ray whose workers have proved once (untimed)
        import ray

        t0 = time.perf_counter()
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        extra["ray_init_s"] = time.perf_counter() - t0
        cluster = "auto"
        t0 = time.perf_counter()
        segapi.prove_segmented(prog, ints, a.child_proof, max_memory=a.max_memory,
                               security=a.security, cluster=cluster)
        extra["warmup_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    rep = segapi.prove_segmented(prog, ints, a.child_proof, max_memory=a.max_memory,
                                 security=a.security, cluster=cluster)
    return extra | {"load_s": load_s, "prove_s": time.perf_counter() - t0,
            "segment_rows": params.segment_rows, "boundary": params.boundary,
            "n_segments": rep.n_segments, "costs": rep.costs, "seconds": rep.seconds,
            "sizes": rep.sizes, "timings": rep.timings,
            "bundle_bytes": os.path.getsize(a.child_proof)}


def run_py_child(a: argparse.Namespace, what: str, paths: dict, layers: int,
                 warm_ray: bool = False) -> dict:
    """Run this script as ``--child what`` and read its JSON result."""
    res_path = paths["dir"] / f"{what}{'_ray' if warm_ray else ''}.json"
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", what,
           "--child-layers", str(layers), "--child-program", str(paths["program"]),
           "--child-input", str(paths["input"]), "--child-proof", str(paths["proof"]),
           "--child-result", str(res_path)] + shared_args(a) + (
               ["--child-warm-ray"] if warm_ray else [])
    r = run_child(cmd, a.compile_max_gib if what == "compile" else a.max_gib)
    if r["rc"] == 0:
        r.update(json.loads(res_path.read_text()))
    return r


def shared_args(a: argparse.Namespace) -> list[str]:
    return ["--d", str(a.d), "--heads", str(a.heads), "--seq", str(a.seq), "--seed", str(a.seed),
            "--calib", str(a.calib), "--held-out", str(a.held_out),
            "--security", a.security, "--max-memory", a.max_memory]


# ----------------------------------------------------------------- helpers
def greedy_makespan(times: list[float], workers: int, overhead: float = 0.0) -> float:
    """Finish time of the last worker when each task, in order, goes to the worker free first."""
    free = [0.0] * workers
    for t in times:
        heapq.heappush(free, heapq.heappop(free) + t + overhead)
    return max(free)


def failed(r: dict) -> str | None:
    if r["rc"] == 0:
        return None
    if r.get("killed_over_gib"):
        return f"KILLED above {r['killed_over_gib']} GiB"
    return f"failed (exit {r['rc']}): {r['stderr'].strip()[-400:]}"


def slim(r: dict) -> dict:
    """A child's row without its (long) output, unless it failed."""
    return {k: v for k, v in r.items() if k not in ("stdout", "stderr") or r["rc"] != 0}


def ray_compare(a: argparse.Namespace, zkvm: list[str]) -> dict:
    """L-block decoder: one process vs ``--cluster auto`` (2 CPUs), alternating, each once."""
    d = Path(a.dir) / f"ray{a.ray_layers}"
    d.mkdir(parents=True, exist_ok=True)
    paths = {"dir": d, "program": d / "gpt2.zkvm", "input": d / "x.npy", "proof": d / "p.proof"}
    comp = run_py_child(a, "compile", paths, a.ray_layers)
    if failed(comp):
        return {"layers": a.ray_layers, "compile": slim(comp)}
    one = run_py_child(a, "prove", paths, a.ray_layers)  # per-segment times of one process
    base = zkvm + ["run", str(paths["program"]), "--input", str(paths["input"]), "--prove",
                   "--security", a.security, "--max-memory", a.max_memory,
                   "-o", str(d / "out.json")]
    cli_one = run_child(base + ["--proof", str(d / "one.proof")], a.max_gib)
    cli_ray = run_child(base + ["--proof", str(d / "ray.proof"), "--cluster", "auto"], a.max_gib)
    row = {"layers": a.ray_layers, "block_params": comp.get("block_params"),
           "n_segments": one.get("n_segments"), "one_process_api": slim(one),
           "one_process_cli": slim(cli_one), "ray_cli": slim(cli_ray)}
    warm = run_py_child(a, "prove", paths, a.ray_layers, warm_ray=True)
    row["ray_warm_api"] = slim(warm)
    if not (failed(one) or failed(cli_one) or failed(cli_ray) or failed(warm)):
        row["speedup"] = cli_one["wall_s"] / cli_ray["wall_s"]
        row["speedup_warm"] = one["prove_s"] / warm["prove_s"]
        n, total = one["n_segments"], sum(one["seconds"])
        # what two workers lose against a perfect split of the one-process segment work
        row["overhead_per_task_s"] = max(0.0, (2 * warm["prove_s"] - total) / n)
        row["startup_s"] = max(0.0, cli_ray["wall_s"] - cli_one["wall_s"]
                               - (warm["prove_s"] - one["prove_s"]))
        row["same_size"] = (d / "one.proof").stat().st_size == (d / "ray.proof").stat().st_size
    return row


# ---------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--layers", type=int, default=12)
    ap.add_argument("--d", type=int, default=768)
    ap.add_argument("--heads", type=int, default=12)
    ap.add_argument("--seq", type=int, default=16)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--calib", type=int, default=8)
    ap.add_argument("--held-out", type=int, default=4)
    ap.add_argument("--security", default="standard")
    ap.add_argument("--max-memory", default="6GiB", help="the prover's budget (--max-memory)")
    ap.add_argument("--max-gib", type=float, default=9.0, help="watchdog: kill a child above")
    ap.add_argument("--compile-max-gib", type=float, default=11.5,
                    help="the compile child's watchdog (compile holds ~120 B per parameter)")
    ap.add_argument("--ray-layers", type=int, default=0, help="Ray comparison on L blocks")
    ap.add_argument("--workers", type=int, default=16)
    ap.add_argument("--skip-prove", action="store_true")
    ap.add_argument("--skip-verify", action="store_true")
    ap.add_argument("--dir", default="/tmp/zkvm-gpt2-bench")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "gpt2.json"))
    ap.add_argument("--child", choices=("compile", "prove"), help=argparse.SUPPRESS)
    ap.add_argument("--child-layers", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--child-program", help=argparse.SUPPRESS)
    ap.add_argument("--child-input", help=argparse.SUPPRESS)
    ap.add_argument("--child-proof", help=argparse.SUPPRESS)
    ap.add_argument("--child-result", help=argparse.SUPPRESS)
    ap.add_argument("--child-warm-ray", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--ray-only", metavar="RESULTS",
                    help="only the Ray comparison; project from RESULTS' full-size segment times")
    a = ap.parse_args(argv)
    if a.child:
        out = (child_compile if a.child == "compile" else child_prove)(a)
        Path(a.child_result).write_text(json.dumps(out, default=float))
        return 0

    d = Path(a.dir)
    d.mkdir(parents=True, exist_ok=True)
    paths = {"dir": d, "program": d / "gpt2.zkvm", "input": d / "x.npy", "proof": d / "gpt2.proof"}
    zkvm = [sys.executable, "-m", "zkvm"]
    row: dict = {"model": f"GPT-2-shaped decoder: {a.layers} blocks, d={a.d}, {a.heads} heads, "
                          f"MLP {4 * a.d}, seq {a.seq}, inputs_embeds [1,{a.seq},{a.d}]",
                 "security": a.security, "max_memory": a.max_memory, "nproc": os.cpu_count(),
                 "loadavg_start": list(os.getloadavg())}

    def save() -> None:  # after every step: a long run stopped half-way keeps what it measured
        os.makedirs(os.path.dirname(a.out) or ".", exist_ok=True)
        with open(a.out, "w") as f:
            json.dump(row, f, indent=1, default=float)

    if a.ray_only:
        row = json.loads(Path(a.ray_only).read_text())
        row["loadavg_start"] = list(os.getloadavg())
        comp = row["compile"]
    else:
        comp = run_py_child(a, "compile", paths, a.layers)
        row["compile"] = slim(comp)
        save()
    if failed(comp) or a.ray_only:
        print(f"compile {failed(comp)}" if failed(comp) else "(the full-size rows are read from "
              f"{a.ray_only})")
    elif not a.skip_prove:
        prove = run_py_child(a, "prove", paths, a.layers)
        row["prove"] = slim(prove)
        save()
        if not failed(prove) and not a.skip_verify:
            key = d / "gpt2.bvk"
            row["setup"] = slim(run_child(zkvm + [
                "setup", str(paths["program"]), "-o", str(key), "--security", a.security,
                "--segment-rows", str(prove["segment_rows"]), "--boundary", prove["boundary"]],
                a.max_gib))
            save()
            if not failed(row["setup"]):
                row["verify_key"] = slim(run_child(zkvm + [
                    "verify", str(paths["proof"]), "--key", str(key), "--security", a.security],
                    a.max_gib))
                save()
            row["verify_program"] = slim(run_child(zkvm + [
                "verify", str(paths["proof"]), "--program", str(paths["program"]),
                "--security", a.security], a.max_gib))
    if a.ray_layers:
        row["ray"] = ray_compare(a, zkvm)
    project(row, a.workers)
    row["loadavg_end"] = list(os.getloadavg())
    print_table(row, a)
    save()
    return 0 if all(not failed(row[k]) for k in ("compile", "prove", "setup", "verify_key",
                                                  "verify_program") if k in row) else 1


def project(row: dict, workers: int) -> None:
    """Critical path on ``workers`` workers from the one-process per-segment times."""
    p = row.get("prove")
    if not p or failed(p):
        return
    over = row.get("ray", {}).get("overhead_per_task_s", 0.0)
    start = row.get("ray", {}).get("startup_s", 0.0)
    drive = p["prove_s"] - sum(p["seconds"])  # split + what is outside the segment loop
    row["projection"] = {
        "workers": workers, "overhead_per_task_s": over, "driver_s": drive, "startup_s": start,
        "makespan_no_overhead_s": greedy_makespan(p["seconds"], workers),
        "critical_path_s": start + drive + greedy_makespan(p["seconds"], workers, over),
        "one_process_s": p["prove_s"],
        "note": "per-segment times of one process on this 2-core machine (numba on 2 threads); "
                "overhead per task from the warm Ray run, start-up from the cold one (0 when "
                "none was run); the driver still executes "
                "the segments in order (included in the per-segment times)"}
    pr = row["projection"]
    pr["speedup"] = pr["one_process_s"] / pr["critical_path_s"]


def print_table(row: dict, a: argparse.Namespace) -> None:
    c = row["compile"]
    la = row["loadavg_start"][0]
    print(f"\n{row['model']} (security {a.security}; load average {la:.1f} at start, "
          f"{row['loadavg_end'][0]:.1f} at end)")
    if not failed(c):
        print(f"  block parameters {c['block_params']:,} (all {c['params']:,}); "
              f"{c['instructions']} instructions; program {c['program_mib']:.0f} MiB")
        print(f"  held-out error {c['heldout_max_abs_err']:.3e} = {c['heldout_err_over_range']:.2e}"
              f" of the output range ({a.held_out} samples; calibration {a.calib})")
    print(f"  {'step':<16} {'wall s':>9} {'peak MiB':>9}  note")
    for step in ("compile", "prove", "setup", "verify_key", "verify_program"):
        r = row.get(step)
        if r is None:
            continue
        note = failed(r) or "ok"
        if step == "compile" and not failed(r):
            note = f"compile {r['compile_s']:.1f} s, build {r['build_s']:.1f} s"
        if step == "prove" and not failed(r):
            note = (f"{r['n_segments']} segments of <= {r['segment_rows']} rows "
                    f"(--max-memory {a.max_memory}), bundle {r['bundle_bytes'] / 2**20:.1f} MiB, "
                    f"slowest segment {max(r['seconds']):.1f} s")
        if step.startswith("verify") and not failed(r):
            m = re.search(r"(valid|VALID|verified)[^\n]*", r.get("stdout", ""))
            note = m.group(0)[:80] if m else "ok"
        print(f"  {step:<16} {r['wall_s']:>9.1f} {r['peak_mib']:>9.0f}  {note}")
    if "projection" in row:
        pr = row["projection"]
        print(f"  projection, {pr['workers']} workers: critical path {pr['critical_path_s']:.1f} s"
              f" (one process {pr['one_process_s']:.1f} s: {pr['speedup']:.1f}x; per-task "
              f"overhead {pr['overhead_per_task_s']:.2f} s)")
    r = row.get("ray")
    if r and "speedup" in r:
        print(f"  Ray, {r['layers']} block(s), {r['n_segments']} segments: one process "
              f"{r['one_process_cli']['wall_s']:.1f} s, --cluster auto (2 CPUs) "
              f"{r['ray_cli']['wall_s']:.1f} s: {r['speedup']:.2f}x (cold); warm (Ray running, "
              f"workers proved once): {r['one_process_api']['prove_s']:.1f} s vs "
              f"{r['ray_warm_api']['prove_s']:.1f} s: {r['speedup_warm']:.2f}x; start-up "
              f"{r['startup_s']:.1f} s, overhead {r['overhead_per_task_s']:.2f} s per task")
    elif r:
        print(f"  Ray: failed: {[failed(v) for v in r.values() if isinstance(v, dict)]}")


if __name__ == "__main__":
    raise SystemExit(main())
