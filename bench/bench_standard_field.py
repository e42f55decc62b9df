"""Benchmark: why ``standard`` grinds before the DEEP challenge instead of moving to the cubic field.

Usage::

    .venv/bin/python bench/bench_standard_field.py [--models mlp,transformer] [--runs 3]

Proves each model with the ``standard`` preset (quadratic field, 12 bits of
grinding before lambda) and with the same parameters over the cubic field
(no DEEP grinding needed there), key derivation excluded (one key per
configuration, one warm-up proof), and prints the median prove times and
their ratio. Writes ``bench/results/standard_field.json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without install

from zkvm.examples import models as bm  # noqa: E402
from zkvm.fri.security import SecurityConfig  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default="mlp,transformer")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--out", default="bench/results/standard_field.json")
    a = ap.parse_args(argv)
    import zkvm.api as api

    std = SecurityConfig.preset("standard")
    cubic = dataclasses.replace(std, ext_degree=3, deep_pow_bits=0, name="standard-cubic")
    rows = []
    print(f"{'model':<12} {'quadratic s':>12} {'cubic s':>9} {'ratio':>6}   (load {os.getloadavg()[0]:.2f})")
    for name in a.models.split(","):
        m = bm.build(name)
        t = {}
        for cfg in (std, cubic):
            key = api.setup(m.program, cfg)
            api.prove(m.program, m.inputs, cfg, key=key)  # warm-up
            ts = []
            for _ in range(a.runs):
                t0 = time.perf_counter()
                api.prove(m.program, m.inputs, cfg, key=key)
                ts.append(time.perf_counter() - t0)
            t[cfg.name] = statistics.median(ts)
        ratio = t["standard-cubic"] / t["standard"]
        rows.append({"model": name, "quadratic_s": t["standard"], "cubic_s": t["standard-cubic"],
                     "ratio": ratio})
        print(f"{name:<12} {t['standard']:>12.2f} {t['standard-cubic']:>9.2f} {ratio:>6.2f}", flush=True)
    os.makedirs(os.path.dirname(a.out) or ".", exist_ok=True)
    with open(a.out, "w") as f:
        json.dump({"loadavg": list(os.getloadavg()), "results": rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
