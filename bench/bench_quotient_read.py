"""How the quotient reads the main and LogUp columns: gathered at the stride, or strided in place.

    python bench/bench_quotient_read.py [--models transformer,mlp1m] [--proofs 12]

The quotient evaluates every constraint on ``m`` points of the LDE coset,
entry ``i * stride`` of each main and LogUp LDE (``zkvm.stark.composition``).
``constraint_sum`` can read them there (its per-phase strides), or be given
a contiguous copy made by one strided gather (what the prover does). This
proves each model repeatedly in one process, alternating the two ways (same
compiled kernel, same key), and prints the medians per proof of the wall and
CPU seconds (all threads) of the gathers plus the constraint evaluation; the
proof bytes must be the same either way (checked). Writes
bench/results/quotient_read.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default="transformer,mlp1m")
    ap.add_argument("--proofs", type=int, default=12)
    ap.add_argument("--security", default="standard")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results",
                                                  "quotient_read.json"))
    a = ap.parse_args()

    import zkvm.api as api
    import zkvm.stark.composition as C
    from zkvm.examples.models import build

    gather, kernel = C.gather, C.constraint_sum
    state = {"in_place": False, "stride": 1, "spent": [0.0, 0.0]}

    def timed(f, *args, **kw):
        t0, c0 = time.perf_counter(), time.process_time()
        out = f(*args, **kw)
        state["spent"][0] += time.perf_counter() - t0
        state["spent"][1] += time.process_time() - c0
        return out

    def patched_gather(cols, stride):
        state["stride"] = stride
        return cols if state["in_place"] else timed(gather, cols, stride)

    def patched_sum(*args, stride=1, **kw):
        if state["in_place"]:   # the LDEs as they are, read at their stride by the kernel
            stride = (state["stride"], 1, state["stride"])
        return timed(kernel, *args, stride=stride, **kw)

    rows = []
    C.gather, C.constraint_sum = patched_gather, patched_sum
    try:
        for name in a.models.split(","):
            m = build(name)
            key = api.setup(m.program, a.security)
            ref = api.prove(m.program, m.inputs, a.security, key=key).to_bytes()
            got: dict = {"gathered": [], "in place": []}
            for i in range(a.proofs):
                for way in (("gathered", "in place") if i % 2 else ("in place", "gathered")):
                    state["in_place"], state["spent"] = way == "in place", [0.0, 0.0]
                    if api.prove(m.program, m.inputs, a.security, key=key).to_bytes() != ref:
                        raise SystemExit(f"{name}: the proof changed ({way})")
                    got[way].append(tuple(state["spent"]))
            row = {"model": name, "proofs": a.proofs, "runs": got}
            for way, v in got.items():
                row[way] = {"wall_s": statistics.median(x for x, _ in v),
                            "cpu_s": statistics.median(c for _, c in v),
                            "min_cpu_s": min(c for _, c in v)}
            rows.append(row)
            g, p = row["gathered"], row["in place"]
            print(f"{name}: gathers + constraint evaluation per proof (medians of {a.proofs}): "
                  f"gathered {g['wall_s'] * 1e3:.1f} ms wall, {g['cpu_s'] * 1e3:.1f} ms CPU; "
                  f"in place {p['wall_s'] * 1e3:.1f} ms wall, {p['cpu_s'] * 1e3:.1f} ms CPU; "
                  f"in place / gathered CPU {p['cpu_s'] / g['cpu_s']:.3f} (min "
                  f"{p['min_cpu_s'] / g['min_cpu_s']:.3f})", flush=True)
    finally:
        C.gather, C.constraint_sum = gather, kernel
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, "w") as fh:
        json.dump({"rows": rows, "security": a.security, "load_avg": os.getloadavg()}, fh,
                  indent=1)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
