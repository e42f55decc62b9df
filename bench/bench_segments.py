"""Segmented proving: time, peak memory, proof size and verification, per model size.

    python bench/bench_segments.py                       # MLP 784->N->N->10, N = 512..2048
    python bench/bench_segments.py --widths 512,1024,2048,4096 --max-memory 2GiB
    python bench/bench_segments.py --fit                 # refit zkvm/segments/budget.py
    python bench/bench_segments.py --ray 1024            # 2-worker local Ray vs one process
    python bench/bench_segments.py --against /tmp/base --widths 1024,2048 --max-memory 768MiB
                                  # this tree against another checkout, interleaved: the API
                                  # and ``zkvm run --prove`` in segments, wall and CPU seconds
    python bench/bench_segments.py --ship 2048 --max-memory 2GiB   # run vs ship an execution

Every run is a fresh child process (``--child``), so its peak RSS
(``ru_maxrss``: interpreter, numba, the program and the prover) is the run's
own. For each width the unsegmented and segmented runs alternate
(``--runs`` times; medians), which keeps ratios fair on a shared, noisy
machine. Verification is measured the way ``zkvm verify`` does it: with
``--program`` (the key derived from the program file) and with ``--key``
(a key file; streamed per segment for a bundle). The cost-linearity fit is
least squares of time on MACs across the widths. Writes
bench/results/segments.json (and segments_fit.json / segments_ray.json).
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: the checkout whose zkvm a child imports (``--against`` runs children of another one)
ROOT = os.environ.get("ZKVM_BENCH_ROOT") or HERE
sys.path.insert(0, ROOT)


def model(n: int):
    from zkvm.examples.models import mlp_net

    return mlp_net(f"mlp{n}", [n, n], 14, f"MLP 784->{n}->{n}->10")


def child(task: dict) -> dict:
    """One measured run (in its own process)."""
    import zkvm.api as api
    import zkvm.segments.api as segapi
    from zkvm.isa.program import Program

    out: dict = {}
    t0 = time.perf_counter()
    if task["do"] == "build":
        m = model(task["n"])
        m.program.save(task["program"])
        import numpy as np

        np.save(task["input"], m.inputs["x"])
        out["macs"] = m.macs
        out["params"] = m.n_params
    elif task["do"] == "prove":
        import numpy as np

        prog = Program.load(task["program"])
        x = {"x": np.load(task["input"])}
        if task.get("warm"):   # a running cluster and one untimed run (workers import, load JIT)
            if task.get("cluster"):
                import ray

                ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
            segapi.prove_segmented(prog, x, task["proof"], segment_rows=task.get("rows"),
                                max_memory=task.get("max_memory"), boundary=task["boundary"],
                                security=task["security"], cluster=task.get("cluster"))
        t0, c0 = time.perf_counter(), time.process_time()
        if task.get("cli"):   # zkvm run --prove in segments, as a user runs it (outputs included)
            _cli_prove(prog, x, task)
        elif task.get("rows") or task.get("max_memory"):
            rep = segapi.prove_segmented(prog, x, task["proof"], segment_rows=task.get("rows"),
                                      max_memory=task.get("max_memory"),
                                      boundary=task["boundary"], security=task["security"],
                                      cluster=task.get("cluster"))
            out["segments"] = rep.n_segments
            out["max_cost"] = max(rep.costs)
        else:
            proof = api.prove(prog, x, task["security"], zk=task.get("zk"))
            with open(task["proof"], "wb") as f:
                f.write(proof.to_bytes())
        out["seconds"] = time.perf_counter() - t0
        out["cpu_seconds"] = time.process_time() - c0   # every thread of this process
        out["bytes"] = os.path.getsize(task["proof"])
    elif task["do"] == "setup":
        prog = Program.load(task["program"])
        if task.get("rows"):
            segapi.setup_segmented(prog, task["key"], segment_rows=task["rows"],
                                boundary=task["boundary"], security=task["security"])
        else:
            with open(task["key"], "wb") as f:
                f.write(api.setup(prog, task["security"]).vk.to_bytes())
    elif task["do"] == "verify":
        from zkvm import cli_verify

        args = [task["proof"], "--security", task["security"]]
        args += ["--program", task["program"]] if task["mode"] == "program" else \
            ["--key", task["key"]]
        t0 = time.perf_counter()
        import contextlib
        import io

        with contextlib.redirect_stdout(io.StringIO()):
            rc = cli_verify.main(args)
        if rc != 0:
            raise SystemExit(f"verification failed ({rc})")
        out["seconds"] = time.perf_counter() - t0
    out["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def _cli_prove(prog, x: dict, task: dict) -> None:
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


def run_child(task: dict, root: str | None = None) -> dict:
    """``task`` in a fresh process importing the zkvm of ``root`` (default: this checkout)."""
    env = dict(os.environ, ZKVM_BENCH_ROOT=root or HERE)
    r = subprocess.run([sys.executable, __file__, "--child", json.dumps(task)],
                       capture_output=True, text=True, cwd=root or HERE, env=env)
    if r.returncode != 0:
        raise RuntimeError(f"child {task['do']} failed:\n{r.stderr[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def fit(xs: list[float], ys: list[float]) -> tuple[float, float, float]:
    """Least squares ``y = a + b x``; returns (a, b, R^2)."""
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx if sxx else 0.0
    a = my - b * mx
    ss = sum((y - my) ** 2 for y in ys)
    res = sum((y - a - b * x) ** 2 for x, y in zip(xs, ys))
    return a, b, (1 - res / ss) if ss else 1.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--widths", default="512,1024,2048")
    ap.add_argument("--rows", type=int, default=None, help="segment rows (else --max-memory)")
    ap.add_argument("--max-memory", default="2GiB")
    ap.add_argument("--boundary", default="auto", help="hashed | public | auto")
    ap.add_argument("--security", default="standard")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--no-verify", action="store_true")
    ap.add_argument("--plain-zk", action="store_true",
                    help="prove the unsegmented runs zero-knowledge (to compare with hashed "
                         "boundaries, whose segments are); skips verification")
    ap.add_argument("--fit", action="store_true", help="fit the budget model instead")
    ap.add_argument("--refit", action="store_true", help="with --fit: reuse the last points")
    ap.add_argument("--ray", type=int, default=None, help="width: Ray speed-up run instead")
    ap.add_argument("--against", default=None,
                    help="another checkout: segmented proving here and there, interleaved")
    ap.add_argument("--ship", type=int, default=None,
                    help="width: per segment, running it against shipping its execution")
    ap.add_argument("--out", default=os.path.join(HERE, "bench", "results", "segments.json"))
    a = ap.parse_args()
    if a.child:
        print(json.dumps(child(json.loads(a.child))))
        return
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="bench_segments_")
    atexit.register(shutil.rmtree, tmp, True)   # proofs and keys of every run
    if a.fit:
        return run_fit(a, tmp)
    if a.ray:
        return run_ray(a, tmp)
    if a.against:
        return run_against(a, tmp)
    if a.ship:
        return run_ship(a)
    rows_out = []
    seg = {"rows": a.rows} if a.rows else {"max_memory": a.max_memory}
    for n in [int(w) for w in a.widths.split(",")]:
        f = {k: os.path.join(tmp, f"{n}.{k}") for k in ("zkvm", "npy", "proof", "bundle", "vk",
                                                         "bvk")}
        b = run_child({"do": "build", "n": n, "program": f["zkvm"], "input": f["npy"]})
        base = {"program": f["zkvm"], "input": f["npy"], "security": a.security,
                "boundary": a.boundary}
        plain, segd = [], []
        for _ in range(a.runs):
            plain.append(run_child({**base, "do": "prove", "proof": f["proof"],
                                    "zk": True if a.plain_zk else None}))
            segd.append(run_child({**base, "do": "prove", "proof": f["bundle"], **seg}))
        row = {"width": n, "params": b["params"], "macs": b["macs"],
               "plain_s": statistics.median(r["seconds"] for r in plain),
               "plain_peak_mib": statistics.median(r["peak_mib"] for r in plain),
               "plain_kib": plain[0]["bytes"] / 1024,
               "seg_s": statistics.median(r["seconds"] for r in segd),
               "seg_peak_mib": statistics.median(r["peak_mib"] for r in segd),
               "seg_kib": segd[0]["bytes"] / 1024, "segments": segd[0]["segments"],
               "max_cost": segd[0]["max_cost"], "runs": a.runs}
        if not a.no_verify and not a.plain_zk:
            run_child({**base, "do": "setup", "key": f["vk"]})
            from zkvm.segments.budget import rows_for_memory

            seg_rows = a.rows or rows_for_memory(a.max_memory, b["params"],
                                                 a.boundary == "hashed")
            run_child({**base, "do": "setup", "key": f["bvk"], "rows": seg_rows})
            for kind, proof, key in (("plain", f["proof"], f["vk"]), ("seg", f["bundle"],
                                                                      f["bvk"])):
                for mode in ("program", "key"):
                    r = run_child({**base, "do": "verify", "mode": mode, "proof": proof,
                                   "key": key})
                    row[f"{kind}_verify_{mode}_s"] = r["seconds"]
                    row[f"{kind}_verify_{mode}_mib"] = r["peak_mib"]
        rows_out.append(row)
        print_table(rows_out)
    fits = []
    if len(rows_out) >= 2:
        for kind in ("plain", "seg"):
            a0, b0, r2 = fit([r["macs"] for r in rows_out], [r[f"{kind}_s"] for r in rows_out])
            print(f"{kind}: time = {a0:.2f} s + {b0 * 1e6:.3f} s per million MACs (R^2 = {r2:.4f})")
            fits.append({"fit": kind, "intercept_s": a0, "s_per_mmac": b0 * 1e6, "r2": r2})
    doc = {"security": a.security, "boundary": a.boundary, "plain_zk": a.plain_zk, **seg,
           "rows": rows_out,
           "fits": fits, "load_avg": os.getloadavg()}
    with open(a.out, "w") as fh:
        json.dump(doc, fh, indent=1)
    print(f"wrote {a.out}")


def print_table(rows: list[dict]) -> None:
    print("| width | params | MACs | plain s | seg s | ratio | plain peak MiB | seg peak MiB | "
          "segs | plain KiB | bundle KiB | verify --program plain/seg s (MiB) | "
          "verify --key plain/seg s (MiB) |")
    print("|" + " --- |" * 13)
    for r in rows:
        v = ""
        for mode in ("program", "key"):
            if f"plain_verify_{mode}_s" in r:
                pv, sv = f"plain_verify_{mode}", f"seg_verify_{mode}"
                v += (f" {r[pv + '_s']:.2f} / {r[sv + '_s']:.2f} "
                      f"({r[pv + '_mib']:.0f} / {r[sv + '_mib']:.0f}) |")
            else:
                v += " - |"
        print(f"| {r['width']} | {r['params']:,} | {r['macs']:,} | {r['plain_s']:.2f} | "
              f"{r['seg_s']:.2f} | {r['seg_s'] / r['plain_s']:.2f} | {r['plain_peak_mib']:.0f} | "
              f"{r['seg_peak_mib']:.0f} | {r['segments']} | {r['plain_kib']:.0f} | "
              f"{r['seg_kib']:.0f} |{v}", flush=True)


def run_fit(a, tmp: str) -> None:
    """Peak RSS against the largest segment's cost rows (the budget model).

    Public boundaries: least squares of peak on (1, parameters, rows). Hashed
    boundaries: the zero-knowledge per-row constant alone, with the public
    fit's base and per-parameter terms (``zkvm.segments.budget``), on the runs
    with more than one segment (a single segment has no boundary and is not
    zero-knowledge). ``--refit`` reuses the points of the last run's JSON.
    """
    out = a.out.replace("segments.json", "segments_fit.json")
    if a.refit:
        with open(out) as fh:
            pts = json.load(fh)["points"]
        return _fit_points(a, pts, out)
    pts, params = [], {}
    for n, rows in ((1024, 4096), (1024, 16384), (2048, 16384), (2048, 65536), (2048, 131072)):
        f = {k: os.path.join(tmp, f"{n}.{k}") for k in ("zkvm", "npy", "bundle")}
        if n not in params:
            params[n] = run_child({"do": "build", "n": n, "program": f["zkvm"],
                                   "input": f["npy"]})["params"]
        r = run_child({"do": "prove", "program": f["zkvm"], "input": f["npy"],
                       "proof": f["bundle"], "rows": rows, "boundary": a.boundary,
                       "security": a.security})
        pts.append({"width": n, "rows": rows, "params": params[n], **r})
        print(f"width {n} rows {rows}: largest segment {r['max_cost']} cost rows, "
              f"{r['segments']} segments, peak {r['peak_mib']:.0f} MiB, {r['seconds']:.1f} s",
              flush=True)
    _fit_points(a, pts, out)


def _fit_points(a, pts: list[dict], out: str) -> None:
    import numpy as np

    from zkvm.segments import budget

    y = np.array([p["peak_mib"] * 2**20 for p in pts])
    if a.boundary == "hashed":
        keep = [i for i, p in enumerate(pts) if p["segments"] > 1]
        r = np.array([pts[i]["max_cost"] for i in keep], dtype=float)
        rest = y[keep] - budget.BASE_BYTES - budget.BYTES_PER_PARAM * np.array(
            [pts[i]["params"] for i in keep], dtype=float)
        per_row = float((r * rest).sum() / (r * r).sum())
        pred = per_row * r
        r2 = 1 - float(((rest - pred) ** 2).sum() / ((rest - rest.mean()) ** 2).sum())
        c = [budget.BASE_BYTES, budget.BYTES_PER_PARAM, per_row]
        print(f"zero-knowledge segments: {per_row:.0f} bytes per cost row over the public base "
              f"and per-parameter terms ({len(keep)} multi-segment runs, R^2 = {r2:.4f})")
    else:
        m = np.array([[1.0, p["params"], p["max_cost"]] for p in pts])
        c = np.linalg.lstsq(m, y, rcond=None)[0]
        r2 = 1 - float(((y - m @ c) ** 2).sum() / ((y - y.mean()) ** 2).sum())
        print(f"peak = {c[0] / 2**20:.0f} MiB + {c[1]:.1f} bytes per parameter + {c[2]:.0f} "
              f"bytes per cost row of the largest segment (R^2 = {r2:.4f})")
    with open(out, "w") as fh:
        json.dump({"points": pts, "base_bytes": float(c[0]), "bytes_per_param": float(c[1]),
                   "bytes_per_row": float(c[2]), "r2": r2, "security": a.security,
                   "boundary": a.boundary}, fh, indent=1)


def run_ray(a, tmp: str) -> None:
    """One process against a local 2-CPU Ray cluster, same segmentation, alternating."""
    n = a.ray
    f = {k: os.path.join(tmp, f"{n}.{k}") for k in ("zkvm", "npy", "bundle")}
    run_child({"do": "build", "n": n, "program": f["zkvm"], "input": f["npy"]})
    base = {"do": "prove", "program": f["zkvm"], "input": f["npy"], "proof": f["bundle"],
            "boundary": a.boundary, "security": a.security,
            **({"rows": a.rows} if a.rows else {"max_memory": a.max_memory})}
    res: dict = {"width": n, "load_avg_start": os.getloadavg()}
    for warm in (False, True):
        one, ray = [], []
        for _ in range(a.runs):
            one.append(run_child({**base, "warm": warm}))
            ray.append(run_child({**base, "cluster": "auto", "warm": warm}))
        t1 = statistics.median(r["seconds"] for r in one)
        t2 = statistics.median(r["seconds"] for r in ray)
        what = "warm (cluster running, second run)" if warm else "cold (Ray start-up included)"
        print(f"width {n}, {what}: {one[0]['segments']} segments; one process {t1:.2f} s, "
              f"local Ray (2 CPUs) {t2:.2f} s, speed-up {t1 / t2:.2f}x (medians of {a.runs})",
              flush=True)
        res["warm" if warm else "cold"] = {"one": one, "ray": ray, "speedup": t1 / t2}
    res["load_avg_end"] = os.getloadavg()
    with open(a.out.replace("segments.json", "segments_ray.json"), "w") as fh:
        json.dump(res, fh, indent=1)


def run_against(a, tmp: str) -> None:
    """Segmented proving with this checkout and with ``--against`` (e.g. the commit before a
    change), alternating run by run, through the API and through ``zkvm run --prove``; each
    checkout's first run of a kind is an untimed warm-up (its numba cache is its own)."""
    seg = {"rows": a.rows} if a.rows else {"max_memory": a.max_memory}
    trees = {"new": HERE, "base": os.path.abspath(a.against)}
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
                         for k in ("seconds", "cpu_seconds", "peak_mib")} for who in got}
            row[path] = {"runs": got, "median": med, "segments": got["new"][0].get("segments")}
            b, w = med["base"], med["new"]
            print(f"| {n} | {row[path]['segments'] or '-'} | {path} | {b['seconds']:.2f} | "
                  f"{w['seconds']:.2f} | {w['seconds'] / b['seconds']:.3f} | "
                  f"{b['cpu_seconds']:.2f} | {w['cpu_seconds']:.2f} | "
                  f"{w['cpu_seconds'] / b['cpu_seconds']:.3f} | {b['peak_mib']:.0f} / "
                  f"{w['peak_mib']:.0f} |", flush=True)
        res["widths"].append(row)
    res["load_avg_end"] = os.getloadavg()
    res.update(runs=a.runs, security=a.security, boundary=a.boundary, **seg)
    out = a.out.replace("segments.json", "segments_against.json")
    with open(out, "w") as fh:
        json.dump(res, fh, indent=1)
    print(f"medians of {a.runs} interleaved runs per checkout; wrote {out}")


def run_ship(a) -> None:
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


if __name__ == "__main__":
    main()
