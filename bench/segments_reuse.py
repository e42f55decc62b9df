"""``bench_segments.py --against`` and ``--ship``: what proving each segment from one run saves.

``--against CHECKOUT`` proves the same segmented MLPs with this checkout and
another (e.g. the commit before a change), alternating run by run, through
the API and through ``zkvm run --prove``; ``--ship WIDTH`` compares running
each segment in the VM with pickling its run (what a Ray task would ship
instead; ``zkvm.segments.cluster``). Split from bench_segments.py (module size).
"""

from __future__ import annotations

import json
import os
import statistics
import time


def cli_prove(prog, x: dict, task: dict) -> None:
    """``zkvm run PROGRAM -i X --prove --max-memory M`` in this process (output discarded)."""
    import contextlib
    import io

    import numpy as np
    from typer.testing import CliRunner

    from zkvm.cli import app

    real = task["proof"] + ".x.npy"
    np.save(real, x["x"] / 2.0 ** prog.tensors["x"].scale)
    seg = ["--segment-rows", str(task["rows"])] if task.get("rows") else \
        ["--max-memory", task["max_memory"]]
    with contextlib.redirect_stderr(io.StringIO()):
        r = CliRunner().invoke(app, ["run", task["program"], "-i", real, "--prove", *seg,
                                     "--boundary", task["boundary"], "--security",
                                     task["security"], "--proof", task["proof"]])
    if r.exit_code != 0:
        raise SystemExit(f"zkvm run --prove failed: {r.output[-2000:]}")



def run_against(a, tmp: str, run_child, here: str) -> None:
    """Segmented proving with this checkout and with ``--against`` (e.g. the commit before a
    change), alternating run by run, through the API and through ``zkvm run --prove``; each
    checkout's first run of a kind is an untimed warm-up (its numba cache is its own)."""
    seg = {"rows": a.rows} if a.rows else {"max_memory": a.max_memory}
    trees = {"new": here, "base": os.path.abspath(a.against)}
    res: dict = {"against": trees["base"], "load_avg_start": os.getloadavg(), "widths": []}
    print("| width | segs | path | base wall s | new wall s | new/base | base CPU s | new CPU s | "
          "new/base | peak MiB base / new |")
    print("|" + " --- |" * 10)
    for n in [int(w) for w in a.widths.split(",")]:
        f = {k: os.path.join(tmp, f"{n}.{k}") for k in ("zkvm", "npy", "bundle")}
        run_child({"do": "build", "n": n, "program": f["zkvm"], "input": f["npy"]})
        base = {"do": "prove", "program": f["zkvm"], "input": f["npy"], "proof": f["bundle"],
                "boundary": a.boundary, "security": a.security, **seg}
        row: dict = {"width": n}
        for path in ("api", "cli"):
            task = {**base, "cli": path == "cli"}
            got: dict = {"base": [], "new": []}
            for i in range(a.runs + 1):
                for who in (("base", "new") if i % 2 else ("new", "base")):
                    r = run_child(task, trees[who])
                    if i:
                        got[who].append(r)
            med = {who: {k: statistics.median(r[k] for r in got[who])
                         for k in ("seconds", "cpu_s", "peak_mib")} for who in got}
            row[path] = {"runs": got, "median": med, "segments": got["new"][0].get("segments")}
            b, w = med["base"], med["new"]
            print(f"| {n} | {row[path]['segments'] or '-'} | {path} | {b['seconds']:.2f} | "
                  f"{w['seconds']:.2f} | {w['seconds'] / b['seconds']:.3f} | "
                  f"{b['cpu_s']:.2f} | {w['cpu_s']:.2f} | "
                  f"{w['cpu_s'] / b['cpu_s']:.3f} | {b['peak_mib']:.0f} / "
                  f"{w['peak_mib']:.0f} |", flush=True)
        res["widths"].append(row)
    res["load_avg_end"] = os.getloadavg()
    res.update(runs=a.runs, security=a.security, boundary=a.boundary, **seg)
    out = a.out.replace("segments.json", "segments_against.json")
    with open(out, "w") as fh:
        json.dump(res, fh, indent=1)
    print(f"medians of {a.runs} interleaved runs per checkout; wrote {out}")


def run_ship(a, model) -> None:
    """Per segment of the MLP of width ``--ship``: the VM run, against pickling its execution
    (what a Ray task would ship instead of running it; ``zkvm.segments.cluster``)."""
    import pickle

    import numpy as np

    import zkvm.segments.api as segapi
    from zkvm.runtime import execute
    from zkvm.segments.plan import plan

    m = model(a.ship)
    params = segapi.segment_params(m.program, a.rows, None if a.rows else a.max_memory,
                                   a.boundary)
    pl = plan(m.program, params)
    live: dict = {}
    print("| segment | cost rows | execute s | pickle s | execution MiB | program file MiB |")
    print("|" + " --- |" * 6)
    for i in range(pl.n_segments):
        sp = pl.segment_program(i)
        seg_in = {t.name: live[t.name] if t.name in live else np.asarray(m.inputs[t.name])
                  for t in sp.inputs}
        t0 = time.perf_counter()
        ex = execute(sp, seg_in)
        te = time.perf_counter() - t0
        live.update({o: ex.values[o] for o in sp.outputs})
        t0 = time.perf_counter()
        size = len(pickle.dumps((ex.values, ex.events, ex.memory), protocol=5))
        tp = time.perf_counter() - t0
        print(f"| {i} | {pl.segments[i].cost} | {te:.3f} | {tp:.3f} | {size / 2**20:.1f} | "
              f"{len(sp.to_bytes()) / 2**20:.1f} |", flush=True)
    del ex, live
    import tempfile

    with tempfile.TemporaryDirectory() as d:   # the runs' share of proving the whole bundle
        rep = segapi.prove_segmented(m.program, m.inputs, os.path.join(d, "b.proof"),
                                     segment_rows=params.segment_rows,
                                     boundary=params.boundary, security=a.security)
    print(f"proving the bundle ({a.security}): {rep.timings['prove']:.2f} s, of which the "
          f"segments' VM runs {rep.timings['execute']:.2f} s "
          f"({100 * rep.timings['execute'] / rep.timings['prove']:.1f}%)")
