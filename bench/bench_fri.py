"""Benchmark: Merkle commit, FRI prove and FRI verify at the ``standard`` (and ``high``) preset.

Usage::

    .venv/bin/python bench/bench_fri.py [--max-log-degree 20] [--runs 3] [--security standard,high]

Prints a table and writes ``bench/results/fri.json``. Each figure is the
median of ``--runs`` timed runs after one warm-up run (which also loads the
numba caches). FRI inputs are one ext codeword of a random polynomial of
degree < 2^d on a coset of size 2^(d + log_blowup), over the preset's
extension (quadratic for ``standard``, cubic for ``high``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import sys

import msgpack
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without install

from zkvm.field import GENERATOR, P
from zkvm.fri import fri
from zkvm.fri.merkle import MerkleTree
from zkvm.fri.security import SecurityConfig, security_bits
from zkvm.fri.transcript import Transcript
from zkvm.poly import coset_ntt
from zkvm.platform_info import cpu_model as _cpu




def _median(fn, runs: int) -> tuple[float, float]:
    """Median wall-clock and median process-CPU seconds over ``runs`` runs after a warm-up.

    CPU time is reported too because the machine is shared: for single-threaded
    code (the verifier) it is what the wall time would be on an idle machine.
    """
    fn()  # warm-up
    wall, cpu = [], []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return statistics.median(wall), statistics.median(cpu)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--max-log-degree", type=int, default=20)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--merkle-logs", type=str, default="16,17,18,19,20")
    ap.add_argument("--security", type=str, default="standard",
                    help="comma-separated presets to run FRI at (e.g. standard,high)")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    results: dict = {
        "machine": {"nproc": os.cpu_count(), "cpu": _cpu(), "loadavg_start": os.getloadavg()},
        "runs": args.runs,
        "merkle": [],
        "fri": [],
    }
    print(f"machine: {os.cpu_count()} cores, {_cpu()}, load average {os.getloadavg()[0]:.1f} "
          "(other jobs on a shared machine slow every figure)")
    print("\nMerkle commit (rows x 8 uint64, no salt)")
    print(f"{'rows':>10} {'wall s':>10} {'cpu s':>10}")
    for log_n in [int(x) for x in args.merkle_logs.split(",")]:
        rows = rng.integers(0, P, size=(1 << log_n, 8), dtype=np.uint64)
        t, c = _median(lambda: MerkleTree(rows), args.runs)
        results["merkle"].append({"log_rows": log_n, "width": 8, "seconds": t, "cpu_seconds": c})
        print(f"{'2^%d' % log_n:>10} {t:>10.3f} {c:>10.3f}")

    for name in args.security.split(","):
        cfg = SecurityConfig.preset(name.strip())
        d = cfg.ext_degree
        print(f"\nFRI at preset {cfg.name!r} (F_p^{d}, blowup 2^{cfg.log_blowup}, {cfg.n_queries} queries, "
              f"{cfg.pow_bits} pow bits, final poly 2^{cfg.log_final_poly_len})")
        print(f"{'degree':>8} {'codeword':>9} {'prove s':>9} {'verify ms':>10} {'(cpu ms)':>9} "
              f"{'proof KiB':>10} {'conj bits':>9}")
        for log_d in sorted({16, args.max_log_degree}):
            log_n = log_d + cfg.log_blowup
            coeffs = np.zeros((d, 1 << log_n), dtype=np.uint64)
            coeffs[:, : 1 << log_d] = rng.integers(0, P, size=(d, 1 << log_d), dtype=np.uint64)
            cw = np.ascontiguousarray(coset_ntt(coeffs, GENERATOR).T)
            del coeffs
            inputs = {log_n: cw}
            box = {}

            def do_prove():
                box["proof"], box["idx"] = fri.prove(inputs, cfg, Transcript(b"bench"))

            t_prove, c_prove = _median(do_prove, args.runs)
            proof, idx = box["proof"], box["idx"]
            opened = {log_n: cw[idx]}

            def do_verify():
                fri.verify(proof, cfg, Transcript(b"bench"), [log_n], lambda l, ii: opened[l])

            t_verify, c_verify = _median(do_verify, max(args.runs, 5))
            size = len(msgpack.packb(proof.to_dict()))
            bits = security_bits(cfg, trace_log_height=log_d, max_constraint_degree=1).conjectured
            results["fri"].append({
                "preset": cfg.name, "ext_degree": d, "log_degree": log_d, "log_codeword": log_n, "prove_s": t_prove, "prove_cpu_s": c_prove,
                "verify_ms": t_verify * 1e3, "verify_cpu_ms": c_verify * 1e3, "proof_bytes": size,
                "conjectured_bits": bits,
            })
            print(f"{'2^%d' % log_d:>8} {'2^%d' % log_n:>9} {t_prove:>9.2f} {t_verify * 1e3:>10.2f} "
                  f"{c_verify * 1e3:>9.2f} {size / 1024:>10.1f} {bits:>9.1f}")
    results["machine"]["loadavg_end"] = os.getloadavg()
    out = Path(__file__).parent / "results" / "fri.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
