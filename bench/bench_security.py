"""Benchmark: the soundness of every benchmark model at every preset, by the code's own estimator.

Usage::

    .venv/bin/python bench/bench_security.py [--models tiny,mlp,...] [--presets standard,high,proven]

For each model of ``zkvm/examples/models.py`` and each preset it derives the key (no
proving), reads the counts the estimator needs off the layout
(``zkvm.stark.soundness``: trace height, constraint degree, the largest DEEP
batch, constraints, bus fractions, tuple length) and prints the conjectured
and proven bits and the round that binds. Writes ``bench/results/security.json``;
exits 1 when a preset misses the level it promises
(``SecurityConfig.preset_level``: standard 100 conjectured, high 128,
proven 100 proven).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without install

from zkvm.examples import models as bm  # noqa: E402
from zkvm.fri.security import SecurityConfig  # noqa: E402
from zkvm.stark.soundness import layout_counts, layout_security  # noqa: E402


def measure(name: str, preset: str) -> dict:
    import zkvm.api as api

    model = bm.build(name)
    key = api.setup(model.program, preset)
    lay = key.pk.layout
    c = layout_counts(lay)
    r = layout_security(lay, key.vk.security)
    want = SecurityConfig.preset_level(preset)
    return {"model": name, "preset": preset, "counts": c.__dict__,
            "conjectured": round(r.conjectured, 2), "proven": round(r.proven, 2),
            "bound_by": r.bound_by, "level": list(want),
            "meets": r.conjectured >= want[0] and r.proven >= want[1]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default=",".join(bm.MODELS))
    ap.add_argument("--presets", default="standard,high,proven")
    ap.add_argument("--out", default="bench/results/security.json")
    a = ap.parse_args(argv)
    rows = []
    print(f"{'model':<12} {'preset':<9} {'log_n':>5} {'batch':>6} {'constr':>6} {'bus terms':>10} "
          f"{'conj':>7} {'proven':>7}  bound by")
    for name in a.models.split(","):
        for preset in a.presets.split(","):
            row = measure(name, preset)
            rows.append(row)
            c = row["counts"]
            print(f"{name:<12} {preset:<9} {c['trace_log_height']:>5} {c['n_batched']:>6} "
                  f"{c['n_constraints']:>6} {c['n_logup_terms']:>10} {row['conjectured']:>7.1f} "
                  f"{row['proven']:>7.1f}  {row['bound_by']}{'' if row['meets'] else '  MISSES'}",
                  flush=True)
    os.makedirs(os.path.dirname(a.out) or ".", exist_ok=True)
    with open(a.out, "w") as f:
        json.dump({"results": rows}, f, indent=1)
    missed = [r for r in rows if not r["meets"]]
    for r in missed:
        print(f"{r['model']} at {r['preset']} misses its level {r['level']}", file=sys.stderr)
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
