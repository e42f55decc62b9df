"""VM benchmark: an MNIST-shaped MLP 784 -> 128 -> 10 with ReLU (random int8 weights).

Prints a table (median of runs) and writes bench/results/bench_vm.json.
Usage: .venv/bin/python bench/bench_vm.py [--runs N]

BLAS runs single-threaded unless OPENBLAS_NUM_THREADS is set: on this shared
2-core machine a multi-threaded OpenBLAS under load is 100x slower and noisy.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from zkvm.assembler import Builder  # noqa: E402
from zkvm.runtime import execute, execute_float  # noqa: E402
from zkvm.platform_info import cpu_model  # noqa: E402




def build_mlp(batch: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    b = Builder()
    b.input("x", (batch, 784), 16, 8, value_range=(0, 256))
    b.weight("w1", rng.integers(-24, 25, (784, 128)), 8, 7)
    b.weight("b1", rng.integers(-4096, 4096, (128,)), 32, 15)
    b.weight("w2", rng.integers(-64, 65, (128, 10)), 8, 7)
    b.weight("b2", rng.integers(-4096, 4096, (10,)), 32, 15)
    b.emit("matmul", ["x", "w1", "b1"], "h0")
    b.emit("rescale", ["h0"], "h1", {"k": 7})
    b.emit("relu", ["h1"], "h2")
    b.emit("matmul", ["h2", "w2", "b2"], "z0")
    b.emit("rescale", ["z0"], "z", {"k": 7})
    b.emit("argmax", ["z"], "cls", {"axis": -1})
    b.output("z")
    b.output("cls")
    return b.build(), rng.integers(0, 257, (batch, 784))


def timed(fn, runs: int) -> float:
    fn()  # warm-up
    ts = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts) * 1e3


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=21)
    args = ap.parse_args()
    rows = []
    for batch in (1, 16):
        prog, x = build_mlp(batch)
        ms = timed(lambda: execute(prog, {"x": x}), args.runs)
        ms_f = timed(lambda: execute_float(prog, {"x": x / 256.0}), args.runs)
        t0 = time.perf_counter()
        build_mlp(batch)
        ms_asm = (time.perf_counter() - t0) * 1e3
        rows.append({"model": "mlp 784-128-10", "batch": batch, "vm_ms": ms, "float_ref_ms": ms_f,
                     "assemble_ms": ms_asm, "params": prog.n_params,
                     "instructions": len(prog.instructions)})
    threads = os.environ["OPENBLAS_NUM_THREADS"]
    print(f"machine: {os.cpu_count()} cpus, {cpu_model()}; OPENBLAS_NUM_THREADS={threads}; "
          f"median of {args.runs} runs")
    print(f"{'model':<16} {'batch':>5} {'vm ms':>8} {'float ms':>9} {'assemble ms':>12} {'params':>8}")
    for r in rows:
        print(f"{r['model']:<16} {r['batch']:>5} {r['vm_ms']:>8.3f} {r['float_ref_ms']:>9.3f} "
              f"{r['assemble_ms']:>12.1f} {r['params']:>8}")
    out_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "bench_vm.json"), "w") as f:
        json.dump({"machine": {"nproc": os.cpu_count(), "cpu": cpu_model(),
                               "openblas_threads": threads}, "runs": args.runs,
                   "results": rows}, f, indent=1)


if __name__ == "__main__":
    main()
