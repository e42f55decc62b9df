"""Benchmark: a model with hashed (private, committed) weights proved in segments (issue 14).

Usage::

    .venv/bin/python bench/bench_private.py [--layers 1] [--runs 3] [--max-memory 6GiB]
        [--security standard] [--dir /tmp/zkvm-private-bench] [--out bench/results/private.json]

The model is bench/bench_gpt2.py's GPT-2-shaped decoder with ``--layers``
blocks (d=768, 12 heads, MLP 3072, seq 16; 7,087,872 parameters a block),
compiled once from its ONNX graph. Its weights are then made ``hashed``
(``zkvm.isa.visibility.with_visibility``: a per-tensor model commitment,
docs/visibility.md), which writes the public program and the private weights
file, exactly as ``zkvm compile --weights hashed`` would. Then, each a child
process (wall time, CPU time and peak RSS from ``os.wait4``):

1. ``zkvm run PROGRAM --input X --prove --max-memory M`` for the public-weights
   program and ``zkvm run HASHED --weights W --input X --prove --max-memory M``
   for the hashed one, alternating, ``--runs`` times (medians);
2. ``zkvm setup ... --segment-rows N`` (the bundle keys) and ``zkvm verify
   --key`` of each bundle (memory independent of the model's size).

What the hashed weights cost: each segment proves the Poseidon2 parts of the
weights it reads (the sponge over the packed values, a private-weights table
instead of preprocessed columns) and is zero-knowledge.

Writes ``bench/results/private.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for p in (str(ROOT), str(ROOT / "tests"), str(ROOT / "bench")):
    if p not in sys.path:
        sys.path.insert(0, p)

from bench_gpt2 import failed, run_py_child, slim  # noqa: E402
from bench_resnet import run_child  # noqa: E402


def child_hide(a: argparse.Namespace) -> dict:
    """The compiled program with every weight hashed: the public program and weights file."""
    from zkvm.isa.program import Program
    from zkvm.isa.visibility import with_visibility

    prog = Program.load(a.child_program)
    t0 = time.perf_counter()
    hidden = with_visibility(prog, weights="hashed")
    commit_s = time.perf_counter() - t0
    hidden.save(a.child_hidden)
    hidden.private_weights().save(a.child_weights)
    return {"commit_s": commit_s, "hashed_tensors": len(hidden.commitment.tensors),
            "commitment": hidden.commitment.hex, "params": hidden.n_params}


def segment_rows(program: str, max_memory: str) -> tuple[int, str]:
    import zkvm.segments.api as segapi
    from zkvm.isa.program import Program

    p = segapi.segment_params(Program.load(program), max_memory=max_memory)
    return p.segment_rows, p.boundary


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--layers", type=int, default=1)
    ap.add_argument("--d", type=int, default=768)
    ap.add_argument("--heads", type=int, default=12)
    ap.add_argument("--seq", type=int, default=16)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--calib", type=int, default=8)
    ap.add_argument("--held-out", type=int, default=2)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--security", default="standard")
    ap.add_argument("--max-memory", default="6GiB")
    ap.add_argument("--max-gib", type=float, default=9.0)
    ap.add_argument("--compile-max-gib", type=float, default=11.5)
    ap.add_argument("--dir", default="/tmp/zkvm-private-bench")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "private.json"))
    ap.add_argument("--child", choices=("hide",), help=argparse.SUPPRESS)
    for k in ("program", "result", "hidden", "weights"):
        ap.add_argument(f"--child-{k}", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child == "hide":
        Path(a.child_result).write_text(json.dumps(child_hide(a)))
        return 0

    d = Path(a.dir)
    d.mkdir(parents=True, exist_ok=True)
    paths = {"dir": d, "program": d / "model.zkvm", "input": d / "x.npy", "proof": d / "p.proof"}
    load = os.getloadavg()
    comp = run_py_child(a, "compile", paths, a.layers)   # bench_gpt2.py's compile child
    if failed(comp):
        print(f"compile {failed(comp)}")
        return 1
    hidden, weights = d / "hashed.zkvm", d / "hashed.zkw"
    hide = run_child([sys.executable, str(Path(__file__).resolve()), "--child", "hide",
                      "--child-program", str(paths["program"]), "--child-hidden", str(hidden),
                      "--child-weights", str(weights), "--child-result", str(d / "hide.json")],
                     a.max_gib)
    if failed(hide):
        print(f"hide {failed(hide)}")
        return 1
    hide.update(json.loads((d / "hide.json").read_text()))
    zkvm = [sys.executable, "-m", "zkvm"]
    common = ["--input", str(paths["input"]), "--prove", "--security", a.security,
              "--max-memory", a.max_memory]
    cmds = {"public": zkvm + ["run", str(paths["program"])] + common +
            ["--proof", str(d / "public.proof"), "-o", str(d / "public.json")],
            "hashed": zkvm + ["run", str(hidden), "--weights", str(weights)] + common +
            ["--proof", str(d / "hashed.proof"), "-o", str(d / "hashed.json")]}
    runs: dict[str, list[dict]] = {"public": [], "hashed": []}
    for i in range(a.runs):
        for kind in (("public", "hashed") if i % 2 == 0 else ("hashed", "public")):
            r = run_child(cmds[kind], a.max_gib)
            if failed(r):
                print(f"prove {kind}: {failed(r)}")
                return 1
            runs[kind].append(r)
            print(f"run {i + 1} {kind}: {r['wall_s']:.1f} s wall, {r['cpu_s']:.1f} s CPU, "
                  f"{r['peak_mib']:.0f} MiB", flush=True)
    rows = {}
    for kind, prog in (("public", paths["program"]), ("hashed", hidden)):
        n, boundary = segment_rows(str(prog), a.max_memory)
        key = d / f"{kind}.bvk"
        setup = run_child(zkvm + ["setup", str(prog), "-o", str(key), "--segment-rows", str(n),
                                  "--boundary", boundary, "--security", a.security], a.max_gib)
        ver = run_child(zkvm + ["verify", str(d / f"{kind}.proof"), "--key", str(key),
                                "--security", a.security], a.max_gib)
        if failed(setup) or failed(ver):
            print(f"{kind}: setup {failed(setup)} / verify {failed(ver)}")
            return 1
        rs = runs[kind]
        rows[kind] = {
            "prove_wall_s": statistics.median(r["wall_s"] for r in rs),
            "prove_cpu_s": statistics.median(r["cpu_s"] for r in rs),
            "prove_peak_mib": statistics.median(r["peak_mib"] for r in rs),
            "bundle_mib": (d / f"{kind}.proof").stat().st_size / 2**20,
            "segment_rows": n, "boundary": boundary,
            "n_segments": int(ver["stdout"].split(" segments")[0].rsplit(" ", 1)[-1])
            if " segments" in ver["stdout"] else None,
            "verify_key_wall_s": ver["wall_s"], "verify_key_peak_mib": ver["peak_mib"],
            "setup_wall_s": setup["wall_s"], "runs": [slim(r) for r in rs]}
    out = {"layers": a.layers, "security": a.security, "max_memory": a.max_memory,
           "runs": a.runs, "load_start": load, "load_end": os.getloadavg(),
           "compile": slim(comp), "hide": slim(hide), **rows}
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(out, indent=1))
    print(f"\n{a.layers}-block GPT-2-shaped decoder ({comp.get('block_params'):,} block "
          f"parameters), {a.security}, --max-memory {a.max_memory}, medians of {a.runs} "
          f"alternating runs; load {load[0]:.1f} -> {os.getloadavg()[0]:.1f}")
    print(f"hashed weights: {hide['hashed_tensors']} tensors, committed in "
          f"{hide['commit_s']:.1f} s (commitment {hide['commitment'][:16]}…)")
    print(f"{'weights':<8} {'segments':>8} {'prove s':>8} {'CPU s':>7} {'peak MiB':>9} "
          f"{'bundle MiB':>10} {'verify --key s':>14} {'verify MiB':>10}")
    for kind, r in rows.items():
        print(f"{kind:<8} {r['n_segments'] or '?':>8} {r['prove_wall_s']:>8.1f} "
              f"{r['prove_cpu_s']:>7.1f} {r['prove_peak_mib']:>9.0f} {r['bundle_mib']:>10.1f} "
              f"{r['verify_key_wall_s']:>14.2f} {r['verify_key_peak_mib']:>10.0f}")
    print(f"hashed / public prove time: {rows['hashed']['prove_wall_s'] / rows['public']['prove_wall_s']:.2f}x"
          f" wall, {rows['hashed']['prove_cpu_s'] / rows['public']['prove_cpu_s']:.2f}x CPU")
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
