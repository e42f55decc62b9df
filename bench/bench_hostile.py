"""Benchmark: what hostile proof and key files cost the verifier (issue 12, point 5).

Usage::

    .venv/bin/python bench/bench_hostile.py [--runs 3]

Runs every hostile file of ``tests/test_hostile_files.py`` (``HOSTILE``:
huge declared heights, widths, counts and lengths, each built from a real
proof and key of ``programs/xor.zasm``) through ``VerifyingKey.from_bytes``,
``StarkProof.from_bytes`` and ``zkvm.api.verify`` and reports, per file, its
size, the median time until it is refused and the peak of Python
allocations (tracemalloc) relative to its size. Writes
``bench/results/hostile.json``; exits 1 when a file was accepted, took more
than a second, or made the verifier allocate more than 100 times its size
(plus 4 MiB).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from tests import test_hostile_files as th  # noqa: E402
from zkvm.stark.errors import VerificationError  # noqa: E402
from zkvm.stark.keys import KeyFileError  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--out", default="bench/results/hostile.json")
    a = ap.parse_args(argv)
    import zkvm.api as api

    prog, ints = th.load("xor")
    key = api.setup(prog, "test")
    proof = api.prove(prog, ints, "test", key=key)
    api.verify(proof, key.vk, security="test")
    rows, bad = [], []
    print(f"{'hostile file':<34} {'KiB':>8} {'ms (median)':>12} {'peak / size':>12}  refused by")
    for name, make in th.HOSTILE.items():
        pb, kb = make(key.vk, proof)
        size = len(pb) + len(kb)
        times, err = [], None
        for _ in range(a.runs):
            t0 = time.perf_counter()
            try:
                th._verify_bytes(pb, kb)
            except (VerificationError, KeyFileError) as e:
                err = type(e).__name__
            times.append(time.perf_counter() - t0)
        tracemalloc.start()
        try:
            th._verify_bytes(pb, kb)
        except (VerificationError, KeyFileError):
            pass
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        ms = statistics.median(times) * 1e3
        row = {"file": name, "bytes": size, "ms": round(ms, 2), "peak_bytes": peak,
               "peak_over_size": round(peak / size, 2), "refused_by": err}
        rows.append(row)
        print(f"{name:<34} {size / 1024:>8.1f} {ms:>12.1f} {peak / size:>12.2f}  {err}", flush=True)
        if err is None or ms > 1000 or peak > 100 * size + th.SLACK:
            bad.append(name)
    os.makedirs(os.path.dirname(a.out) or ".", exist_ok=True)
    with open(a.out, "w") as f:
        json.dump({"machine": {"nproc": os.cpu_count(), "loadavg": list(os.getloadavg())},
                   "results": rows}, f, indent=1)
    for name in bad:
        print(f"{name}: accepted, too slow or too much memory", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
