"""STARK benchmarks (issue 3): Fibonacci + range check at 2^16 rows, Fibonacci at 2^20.

    python bench/bench_stark.py [--runs 3] [--big/--no-big]

Prints a table and writes bench/results/stark.json. Times are medians of
``--runs`` runs after one warm-up (which pays the numba compile); they
exclude key derivation (setup), which is reported separately.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))

from airs import Fibonacci, RangeChecked, RangeTable  # noqa: E402

from zkvm.field.scalar import P  # noqa: E402
from zkvm.fri.security import SecurityConfig  # noqa: E402
from zkvm.stark.proof import PublicValues, StarkProof  # noqa: E402
from zkvm.stark.prover import prove  # noqa: E402
from zkvm.stark.setup import setup  # noqa: E402
from zkvm.stark.verifier import verify  # noqa: E402
from zkvm.platform_info import cpu_model  # noqa: E402


def fib_trace(log_n: int):
    n = 1 << log_n
    a = np.empty(n, dtype=np.uint64)
    b = np.empty(n, dtype=np.uint64)
    x, y = 1, 1
    for i in range(n):  # benchmark input generation, not timed
        a[i], b[i] = x, y
        x, y = y, (x + y) % P
    return np.stack([a, b]), int(b[-1])


def machine() -> str:
    cpu = cpu_model()
    return f"{os.cpu_count()} cores, {cpu}, {platform.python_implementation()} {platform.python_version()}"


def case_fib_range(log_n: int):
    trace, res = fib_trace(log_n)
    rng = np.random.default_rng(0)
    x = rng.integers(0, 1 << 16, 1 << log_n).astype(np.uint64)
    on = np.ones(1 << log_n, np.uint64)
    counts = np.bincount(x.astype(np.int64), minlength=1 << 16).astype(np.uint64)
    airs = [Fibonacci(log_n), RangeChecked(log_n), RangeTable(16)]
    traces = [trace, np.stack([x, on]), counts[None, :]]
    pub = PublicValues([[1, 1, res], [], []])
    return airs, traces, pub


def case_fib(log_n: int):
    trace, res = fib_trace(log_n)
    return [Fibonacci(log_n)], [trace], PublicValues([[1, 1, res]])


def run(name, make, runs: int, security: str):
    cfg = SecurityConfig.preset(security)
    airs, traces, pub = make()
    t0 = time.perf_counter()
    pk = setup(airs, cfg, False, b"\0" * 32)
    t_setup = time.perf_counter() - t0
    prove(pk, traces, pub)  # warm-up (numba compile)
    pt, vt = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        proof = prove(pk, traces, pub)
        pt.append(time.perf_counter() - t0)
        data = proof.to_bytes()
        p2 = StarkProof.from_bytes(data)
        t0 = time.perf_counter()
        verify(pk.vk, p2, min_bits=0)  # the preset's level is not the point here
        vt.append(time.perf_counter() - t0)
    rows = sum(a.n_rows for a in airs)
    return {"case": name, "security": security, "rows": rows, "setup_s": t_setup,
            "prove_s": statistics.median(pt), "verify_ms": statistics.median(vt) * 1e3,
            "proof_kib": len(data) / 1024, "runs": runs}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--security", default="standard")
    ap.add_argument("--big", action=argparse.BooleanOptionalAction, default=True)
    args = ap.parse_args()
    results = [run("fib+range 2^16", lambda: case_fib_range(16), args.runs, args.security)]
    if args.big:
        results.append(run("fib 2^20", lambda: case_fib(20), max(1, args.runs // 2), args.security))
    print(f"machine: {machine()}")
    print(f"{'case':<16} {'rows':>9} {'setup s':>8} {'prove s':>8} {'verify ms':>10} {'proof KiB':>10}")
    for r in results:
        print(f"{r['case']:<16} {r['rows']:>9} {r['setup_s']:>8.2f} {r['prove_s']:>8.2f} "
              f"{r['verify_ms']:>10.1f} {r['proof_kib']:>10.1f}")
    os.makedirs(os.path.join(os.path.dirname(__file__), "results"), exist_ok=True)
    with open(os.path.join(os.path.dirname(__file__), "results", "stark.json"), "w") as f:
        json.dump({"machine": machine(), "results": results}, f, indent=2)


if __name__ == "__main__":
    main()
