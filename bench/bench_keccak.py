"""Benchmark: Keccak-256 vs BLAKE3 batch kernels for Merkle leaves and inner nodes.

Usage::

    .venv/bin/python bench/bench_keccak.py [--log-n 20] [--width 8] [--runs 5]

What it answers: how much prover time the on-chain profile's Keccak Merkle
trees cost over the default BLAKE3 ones. ``leaves`` hashes 2^log_n rows of
``width`` uint64 (Keccak: ``keccak_kernel.leaves``, tag byte and big-endian
words; BLAKE3: ``blake3_kernel.hash_many_words`` on the rows' uint32 view
under ``LEAF_KEY``); ``nodes`` hashes 2^log_n pairs of digests
(``keccak_kernel.concat`` vs ``blake3_kernel.hash_pairs``). Each figure is the
median of ``--runs`` timed runs after one warm-up run (which also loads the
numba caches).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without install

from zkvm.fri import blake3_kernel as bk  # noqa: E402
from zkvm.fri.merkle_verify import LEAF_KEY, NODE_KEY  # noqa: E402
from zkvm.hash import keccak_kernel as kk  # noqa: E402


def median_time(fn, runs: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--log-n", type=int, default=20)
    ap.add_argument("--width", type=int, default=8)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    n = 1 << args.log_n
    rng = np.random.default_rng(0)
    rows = rng.integers(0, 2**64, size=(n, args.width), dtype=np.uint64, endpoint=False)
    words = rows.view(np.uint32).reshape(n, 2 * args.width)
    n_bytes = 8 * args.width
    if words.shape[1] == 0:
        words = np.zeros((n, 1), dtype=np.uint32)
    kids = rng.integers(0, 2**32, size=(2 * n, 8), dtype=np.uint32, endpoint=False)
    left, right = np.ascontiguousarray(kids[0::2]), np.ascontiguousarray(kids[1::2])

    results = {
        "keccak leaves": median_time(lambda: kk.leaves(rows, None, 0), args.runs),
        "blake3 leaves": median_time(lambda: bk.hash_many_words(words, n_bytes, LEAF_KEY), args.runs),
        "keccak nodes": median_time(lambda: kk.concat(left, right, 1), args.runs),
        "blake3 nodes": median_time(lambda: bk.hash_pairs(kids, NODE_KEY), args.runs),
    }
    print(f"2^{args.log_n} rows x {args.width} uint64 / 2^{args.log_n} pairs, median of {args.runs} runs")
    for name, t in results.items():
        print(f"  {name:14s} {t * 1e3:9.1f} ms  ({n / t / 1e6:6.2f} M hashes/s)")
    print(f"  keccak/blake3: leaves {results['keccak leaves'] / results['blake3 leaves']:.2f}x, "
          f"nodes {results['keccak nodes'] / results['blake3 nodes']:.2f}x")


if __name__ == "__main__":
    main()
