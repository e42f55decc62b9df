"""Matmul chip benchmark: the first layer of the 784 -> 128 -> 10 MLP, proved alone.

``h = matmul x, w1, b1`` with x a public i16[1,784] input (range 0..256), w1 a
public i8 weight [784,128] and b1 an i32 bias [128] (as in bench_vm.py).
Prints a table (median of runs) and writes bench/results/bench_matmul.json:
the tile the planner picks, trace rows and columns, trace-build time, prove
and verify time and proof size; ``--sweep`` also proves other tiles
(lanes over K, lanes over N, other 2-D tiles) for comparison.

Usage: .venv/bin/python bench/bench_matmul.py [--runs N] [--security standard] [--sweep]

Wall-clock times on a shared machine are noisy; the CPU time of the prover
(all threads) is reported too, and ``NUMBA_NUM_THREADS=1`` makes it the
single-core work (what the planner's cost model was fitted on).
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import zkvm.air.chips.matmul as mm  # noqa: E402
import zkvm.api as api  # noqa: E402
from zkvm.assembler import Builder  # noqa: E402
from zkvm.runtime import execute  # noqa: E402
from zkvm.platform_info import cpu_model  # noqa: E402




def build_layer(bias: bool = True, seed: int = 0):
    rng = np.random.default_rng(seed)
    b = Builder()
    b.input("x", (1, 784), 16, 8, value_range=(0, 256))
    b.weight("w1", rng.integers(-24, 25, (784, 128)), 8, 7)
    ins = ["x", "w1"]
    if bias:
        b.weight("b1", rng.integers(-4096, 4096, (128,)), 32, 15)
        ins.append("b1")
    b.emit("matmul", ins, "h")
    b.output("h")
    return b.build(), {"x": rng.integers(0, 257, (1, 784))}


def run(tile, security: str, runs: int, bias: bool) -> dict:
    orig = mm.choose_tiles
    if tile is not None:
        mm.choose_tiles = lambda *a, **k: tuple(tile)
    try:
        prog, inputs = build_layer(bias)
        t0 = time.perf_counter()
        key = api.setup(prog, security)
        setup_s = time.perf_counter() - t0
    finally:
        mm.choose_tiles = orig
    chip = next(c for c in key.statement.chips if c.name == "matmul")
    ex = execute(prog, inputs)
    event = next(e for e in ex.events if e.op == "matmul")
    tb = []
    for _ in range(max(runs, 3)):
        t0 = time.perf_counter()
        chip.trace(ex, event)
        tb.append(time.perf_counter() - t0)
    tp, tc, tv, phases = [], [], [], []
    proof = None
    for i in range(runs + 1):
        rep = api.ProveReport()
        t0, c0 = time.perf_counter(), time.process_time()
        proof = api.prove(prog, inputs, security, key=key, report=rep)
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        t0 = time.perf_counter()
        out = api.verify(proof, key.vk, security=security)
        dv = time.perf_counter() - t0
        if i:  # first run warms numba caches
            tp.append(dt)
            tc.append(dc)
            tv.append(dv)
            phases.append(rep.timings)
        assert np.array_equal(out["h"], ex.values["h"])
    R = chip._rows()[0]
    return {
        "tile": list(chip.tile), "params": chip.params, "real_rows": R + 1, "rows": chip.n_rows,
        "main_cols": chip.main_width, "pre_cols": chip.pre_width,
        "logup_ext_cols": key.pk.layout.tables[key.statement.chips.index(chip)].n_perm,
        "tables": [(c.name, c.n_rows, c.main_width, c.pre_width) for c in key.statement.chips],
        "setup_s": setup_s, "trace_build_ms": statistics.median(tb) * 1e3,
        "prove_s": statistics.median(tp), "prove_cpu_s": statistics.median(tc), "verify_s": statistics.median(tv),
        "proof_kb": len(proof.to_bytes()) / 1024,
        "phases_s": {k: statistics.median(p[k] for p in phases) for k in phases[0]},
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--security", default="standard")
    ap.add_argument("--sweep", action="store_true")
    ap.add_argument("--no-bias", action="store_true")
    args = ap.parse_args()
    tiles = [None]
    if args.sweep:
        tiles += [(1, 16, 1), (1, 8, 1), (1, 1, 16), (1, 16, 4), (1, 16, 8), (1, 13, 8),
                  (1, 25, 16), (1, 49, 8)]
    rows = []
    for tile in tiles:
        r = run(tile, args.security, args.runs, not args.no_bias)
        r["chosen"] = tile is None
        rows.append(r)
        print(f"tile {'x'.join(map(str, r['tile'])):>8}{' (planner)' if tile is None else '':10} "
              f"rows {r['real_rows']:6}->{r['rows']:6}  main {r['main_cols']:4} pre "
              f"{r['pre_cols']:4} logup {r['logup_ext_cols']:3}x2  trace {r['trace_build_ms']:7.2f}"
              f" ms  prove {r['prove_s']:6.3f} s (cpu {r['prove_cpu_s']:6.3f} s)  verify {r['verify_s']:6.3f} s  proof "
              f"{r['proof_kb']:6.0f} KiB", flush=True)
    res = {"bench": "matmul 784x128 (x public i16[1,784], w1 i8 weight, b1 i32 weight)",
           "security": args.security, "runs": args.runs, "nproc": os.cpu_count(),
           "cpu": cpu_model(), "results": rows}
    os.makedirs(os.path.join(os.path.dirname(__file__), "results"), exist_ok=True)
    path = os.path.join(os.path.dirname(__file__), "results", "bench_matmul.json")
    with open(path, "w") as f:
        json.dump(res, f, indent=1, default=str)
    print(f"nproc {os.cpu_count()}, {cpu_model()}; wrote {path}")


if __name__ == "__main__":
    main()
