"""Benchmark the Goldilocks field kernels and the NTT / LDE layer.

Run:  .venv/bin/python bench/bench_field_poly.py [--runs 5] [--quick]

Every figure is the median of ``--runs`` timed runs after one untimed warm-up
(which also absorbs the numba JIT / cache load): wall-clock and process CPU time
(summed over threads). Prints a table and writes bench/results/field_poly.json
(git-ignored), with the machine and the load average noted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import numba
import numpy as np

from zkvm.field import kernels as K
from zkvm.field.scalar import GENERATOR, P, Ext
from zkvm.poly.transforms import barycentric_eval, intt, lde, ntt
from zkvm.platform_info import cpu_model




def timed(fn, runs: int) -> tuple[float, float]:
    """Median wall-clock and median process CPU seconds (all threads) of ``runs`` calls."""
    fn()  # warm-up: JIT compile / cache load, twiddle tables
    walls, cpus = [], []
    for _ in range(runs):
        c, t = time.process_time(), time.perf_counter()
        fn()
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="smaller sizes (smoke test)")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    rows: list[dict] = []

    def rec(name: str, size: str, t: tuple[float, float], per: int | None = None) -> None:
        seconds, cpu = t
        row = {"bench": name, "size": size, "median_s": seconds, "median_cpu_s": cpu}
        if per:
            row["ns_per_elem"] = seconds / per * 1e9
        rows.append(row)
        extra = f"  ({row['ns_per_elem']:.2f} ns/elem)" if per else ""
        print(f"{name:<26}{size:<24}{seconds * 1e3:>10.2f} ms{cpu * 1e3:>10.2f} ms{extra}",
              flush=True)

    print(f"{'bench':<26}{'size':<24}{'wall':>13}{'cpu':>13}")
    n = 1 << (16 if args.quick else 22)
    a = rng.integers(0, P, size=n, dtype=np.uint64)
    b = rng.integers(0, P, size=n, dtype=np.uint64)
    rec("field mul", f"2^{n.bit_length() - 1}", timed(lambda: K.mul(a, b), args.runs), n)
    rec("field add", f"2^{n.bit_length() - 1}", timed(lambda: K.add(a, b), args.runs), n)
    ea = rng.integers(0, P, size=(n // 2, 2), dtype=np.uint64)
    eb = rng.integers(0, P, size=(n // 2, 2), dtype=np.uint64)
    rec("ext mul", f"2^{n.bit_length() - 2}", timed(lambda: K.ext_mul(ea, eb), args.runs), n // 2)
    m = 1 << 16
    rec("batch_inv", "2^16", timed(lambda: K.batch_inv(a[:m] | np.uint64(1)), args.runs), m)

    for log_n in (range(12, 17) if args.quick else range(16, 23)):
        c = rng.integers(0, P, size=1 << log_n, dtype=np.uint64)
        rec("ntt", f"2^{log_n}", timed(lambda: ntt(c), args.runs))
        if log_n == 20:
            rec("intt", f"2^{log_n}", timed(lambda: intt(c), args.runs))
    for log_n in (range(12, 15) if args.quick else range(16, 21)):
        e = rng.integers(0, P, size=1 << log_n, dtype=np.uint64)
        rec("lde x8", f"2^{log_n} -> 2^{log_n + 3}", timed(lambda: lde(e, 3, GENERATOR), args.runs))
    for log_n in ((12, 14) if args.quick else (16, 18)):
        e = rng.integers(0, P, size=(8, 1 << log_n), dtype=np.uint64)
        rec("lde x8, 8 cols", f"8 x 2^{log_n} -> 2^{log_n + 3}",
            timed(lambda: lde(e, 3, GENERATOR), args.runs))
    log_n = 14 if args.quick else 20
    e = rng.integers(0, P, size=(8, 1 << log_n), dtype=np.uint64)
    z = Ext(1234567, 7654321)
    rec("barycentric_eval", f"8 x 2^{log_n}", timed(lambda: barycentric_eval(e, GENERATOR, z), args.runs))

    out = {
        "machine": {"nproc": os.cpu_count(), "cpu": cpu_model(), "numba_threads": numba.get_num_threads(),
                    "python": platform.python_version(), "numpy": np.__version__,
                    "numba": numba.__version__},
        "runs": args.runs,
        "loadavg_1m_at_end": os.getloadavg()[0],
        "results": rows,
    }
    path = Path(__file__).resolve().parent / "results" / "field_poly.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2))
    print(f"machine: {out['machine']['cpu']}, nproc={out['machine']['nproc']}, "
          f"load avg {out['loadavg_1m_at_end']:.1f} (wall times are only meaningful when idle; "
          f"cpu = process CPU time over all threads); wrote {path}")


if __name__ == "__main__":
    main()
