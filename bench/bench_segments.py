"""Segmented proving: time, peak memory, proof size and verification, per model size.

    python bench/bench_segments.py                       # MLP 784->N->N->10, N = 512..2048
    python bench/bench_segments.py --widths 512,1024,2048,4096 --max-memory 2GiB
    python bench/bench_segments.py --widths 256,512,768,1024,1536,2048,3072,4096 \
        --runs 5 --cap-runs 4096:3 --no-verify           # the cost fit (docs/segments.md)
    python bench/bench_segments.py --refit --merge A.json,B.json --out P.json  # pool runs
    python bench/bench_segments.py --fit                 # refit zkvm/segments/budget.py
    python bench/bench_segments.py --ray 1024            # 2-worker local Ray vs one process
    python bench/bench_segments.py --against /tmp/base --widths 1024,2048 --max-memory 768MiB
                                  # this tree against another checkout, interleaved: the API
                                  # and ``zkvm run --prove`` in segments, wall and CPU seconds
    python bench/bench_segments.py --ship 2048 --max-memory 2GiB   # run vs ship an execution

Every run is a fresh child process (``--child``), so its peak RSS
(``ru_maxrss``: interpreter, numba, the program and the prover) is the run's
own, and its CPU seconds (user + sys of every thread, around the proving call;
``process_cpu_s``: the whole child) are its own: on a shared machine CPU time
moves far less with other load than wall time. ``--runs`` rounds each prove
every width unsegmented and segmented back to back (the pair's order and the
widths' order alternate between rounds); medians per width, ratios per pair.
Verification is measured the way ``zkvm verify`` does it: with ``--program``
(the key derived from the program file) and with ``--key`` (a key file;
streamed per segment for a bundle). Both keys are derived once per width
(untimed) for the trace shapes the cost models use (``bench/segments_cost.py``:
least squares of wall and CPU seconds on MACs, and on committed cells
``n log n`` plus segments). Writes bench/results/segments.json (and
segments_fit.json / segments_ray.json).
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
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from segments_cost import (
    cost_fits,
    print_fits,
    print_largest,
    print_table,
    refit_cost,
    summarize,
)


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
        t0, c0 = time.perf_counter(), _cpu_self()
        if task.get("cli"):   # zkvm run --prove in segments, as a user runs it (outputs included)
            from segments_reuse import cli_prove

            cli_prove(prog, x, task)
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
        out["cpu_s"] = _cpu_self() - c0
        out["bytes"] = os.path.getsize(task["proof"])
    elif task["do"] == "setup":
        prog = Program.load(task["program"])
        if task.get("rows"):
            segapi.setup_segmented(prog, task["key"], segment_rows=task["rows"],
                                boundary=task["boundary"], security=task["security"])
        else:
            with open(task["key"], "wb") as f:
                f.write(api.setup(prog, task["security"]).vk.to_bytes())
    elif task["do"] == "shape":
        out.update(key_shape(task["key"]))
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


def _cpu_self() -> float:
    """User + system seconds of this process so far (every thread: numba's too)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def key_shape(path: str) -> dict:
    """Trace sizes a (plain or bundle) verifying key fixes: what the prover commits.

    ``cells``: main and preprocessed cells of every table at its padded
    (power-of-two) height, summed over segments; ``cells_log``: the same
    weighted by ``log_height`` (the ``n log n`` of the NTTs and Merkle trees);
    ``rows``: padded rows. LogUp and quotient columns are left out (a few per
    table).
    """
    from zkvm.air.registry import build
    from zkvm.segments.bundle import KEY_MAGIC, BundleReader, is_bundle
    from zkvm.stark.keys import VerifyingKey

    if is_bundle(path, KEY_MAGIC):
        with BundleReader(path, KEY_MAGIC, "key", "bundle verifying key") as k:
            keys = [VerifyingKey.from_bytes(kb) for kb in k.segments()]
    else:
        with open(path, "rb") as f:
            keys = [VerifyingKey.from_bytes(f.read())]
    out = {"rows": 0, "cells": 0, "cells_log": 0, "tables": 0}
    for vk in keys:
        for spec in vk.tables:
            air = build(spec)
            n = 1 << spec["log_height"]
            cells = n * (air.main_layout.width + air.pre_layout.width)
            out["rows"] += n
            out["cells"] += cells
            out["cells_log"] += cells * spec["log_height"]
            out["tables"] += 1
    return out


def run_child(task: dict, root: str | None = None) -> dict:
    """Run ``task`` in a fresh process importing the zkvm of ``root`` (default: this
    checkout); adds ``process_cpu_s`` (its whole user + sys time)."""
    env = dict(os.environ, ZKVM_BENCH_ROOT=root or HERE)
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    r = subprocess.run([sys.executable, __file__, "--child", json.dumps(task)],
                       capture_output=True, text=True, cwd=root or HERE, env=env)
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        raise RuntimeError(f"child {task['do']} failed:\n{r.stderr[-3000:]}")
    out = json.loads(r.stdout.strip().splitlines()[-1])
    out["process_cpu_s"] = (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--widths", default="512,1024,2048")
    ap.add_argument("--rows", type=int, default=None, help="segment rows (else --max-memory)")
    ap.add_argument("--max-memory", default="2GiB")
    ap.add_argument("--boundary", default="auto", help="hashed | public | auto")
    ap.add_argument("--security", default="standard")
    ap.add_argument("--runs", type=int, default=1,
                    help="rounds; each proves every width plain and segmented (medians)")
    ap.add_argument("--cap-runs", default="",
                    help="W:N,...: width W only in the first N rounds (e.g. 4096:3)")
    ap.add_argument("--no-verify", action="store_true")
    ap.add_argument("--plain-zk", action="store_true",
                    help="prove the unsegmented runs zero-knowledge (to compare with hashed "
                         "boundaries, whose segments are); skips verification")
    ap.add_argument("--fit", action="store_true", help="fit the budget model instead")
    ap.add_argument("--refit", action="store_true",
                    help="reuse the last run's points (--out): refit the cost models, or with "
                         "--fit the budget model")
    ap.add_argument("--merge", default="",
                    help="with --refit: pool the runs of these result files (A.json,B.json: "
                         "the same command run again) into --out")
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
    if a.refit:
        return refit_cost(a.out, a.merge)
    if a.ray:
        return run_ray(a, tmp)
    if a.against:
        from segments_reuse import run_against

        return run_against(a, tmp, run_child, HERE)
    if a.ship:
        from segments_reuse import run_ship

        return run_ship(a, model)
    run_cost(a, tmp)


def _caps(spec: str, runs: int) -> dict[int, int]:
    caps = {}
    for item in filter(None, spec.split(",")):
        w, _, n = item.partition(":")
        if not (w.strip().isdigit() and n.strip().isdigit() and int(n) >= 1):
            raise SystemExit(f"--cap-runs: expected W:N (e.g. 4096:3), got {item!r}")
        caps[int(w)] = min(int(n), runs)
    return caps


def run_cost(a, tmp: str) -> None:
    """Plain against segmented proving per width, in interleaved rounds; medians; fits.

    Each round proves every width, plain and segmented; the order of the two
    alternates between rounds and the widths run forwards then backwards, so
    a drift in the machine's load does not land on one side. One untimed
    warm-up pair at the smallest width fills numba's caches first.
    """
    load_start = os.getloadavg()
    widths = [int(w) for w in a.widths.split(",")]
    caps = _caps(a.cap_runs, a.runs)
    seg = {"rows": a.rows} if a.rows else {"max_memory": a.max_memory}
    files, base, built = {}, {}, {}
    for n in widths:
        files[n] = {k: os.path.join(tmp, f"{n}.{k}") for k in ("zkvm", "npy", "proof", "bundle",
                                                                "vk", "bvk")}
        built[n] = run_child({"do": "build", "n": n, "program": files[n]["zkvm"],
                              "input": files[n]["npy"]})
        base[n] = {"program": files[n]["zkvm"], "input": files[n]["npy"],
                   "security": a.security, "boundary": a.boundary}
    plain_task = {"do": "prove", "zk": True if a.plain_zk else None}
    w0 = min(widths)
    run_child({**base[w0], **plain_task, "proof": files[w0]["proof"]})      # warm-up
    run_child({**base[w0], "do": "prove", "proof": files[w0]["bundle"], **seg})
    runs: dict[int, dict[str, list]] = {n: {"plain": [], "seg": []} for n in widths}
    for rnd in range(a.runs):
        order = widths if rnd % 2 == 0 else widths[::-1]
        for n in order:
            if rnd >= caps.get(n, a.runs):
                continue
            pair = [("plain", {**base[n], **plain_task, "proof": files[n]["proof"]}),
                    ("seg", {**base[n], "do": "prove", "proof": files[n]["bundle"], **seg})]
            for kind, task in (pair if rnd % 2 == 0 else pair[::-1]):
                runs[n][kind].append(run_child(task))
            print(f"round {rnd + 1}/{a.runs} width {n}: plain {runs[n]['plain'][-1]['seconds']:.2f}"
                  f" s, segmented {runs[n]['seg'][-1]['seconds']:.2f} s (load "
                  f"{os.getloadavg()[0]:.1f})", flush=True)
    rows_out = []
    for n in widths:
        plain, segd = runs[n]["plain"], runs[n]["seg"]
        row = summarize({"width": n, "params": built[n]["params"], "macs": built[n]["macs"],
                         "plain_kib": plain[0]["bytes"] / 1024,
                         "seg_kib": segd[0]["bytes"] / 1024, "segments": segd[0]["segments"],
                         "max_cost": segd[0]["max_cost"]}, plain, segd)
        if not a.plain_zk:
            shape_keys(a, n, built[n], base[n], files[n], row)
        rows_out.append(row)
    print_table(rows_out)
    fits = cost_fits(rows_out) if len(rows_out) >= 3 else []
    if fits:
        print_fits(fits)
    print_largest(rows_out)
    load_end = os.getloadavg()
    print(f"load average (1, 5, 15 min): start {', '.join(f'{v:.1f}' for v in load_start)}; "
          f"end {', '.join(f'{v:.1f}' for v in load_end)}")
    doc = {"security": a.security, "boundary": a.boundary, "plain_zk": a.plain_zk, **seg,
           "runs": a.runs, "cap_runs": caps, "rows": rows_out, "fits": fits,
           "load_avg_start": load_start, "load_avg_end": load_end}
    with open(a.out, "w") as fh:
        json.dump(doc, fh, indent=1)
    print(f"wrote {a.out}")


def shape_keys(a, n: int, built: dict, base: dict, f: dict, row: dict) -> None:
    """Derive both keys (untimed); record their trace shapes and, unless
    ``--no-verify``, time ``zkvm verify`` with ``--program`` and ``--key``."""
    from zkvm.segments.budget import rows_for_memory

    run_child({**base, "do": "setup", "key": f["vk"]})
    seg_rows = a.rows or rows_for_memory(a.max_memory, built["params"], a.boundary == "hashed")
    run_child({**base, "do": "setup", "key": f["bvk"], "rows": seg_rows})
    for kind, key in (("plain", f["vk"]), ("seg", f["bvk"])):
        sh = run_child({"do": "shape", "key": key})
        for k in ("rows", "cells", "cells_log", "tables"):
            row[f"{kind}_{k}"] = sh[k]
    if a.no_verify:
        return
    for kind, proof, key in (("plain", f["proof"], f["vk"]), ("seg", f["bundle"], f["bvk"])):
        for mode in ("program", "key"):
            r = run_child({**base, "do": "verify", "mode": mode, "proof": proof, "key": key})
            row[f"{kind}_verify_{mode}_s"] = r["seconds"]
            row[f"{kind}_verify_{mode}_mib"] = r["peak_mib"]


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


if __name__ == "__main__":
    main()
