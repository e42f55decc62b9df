"""Model benchmarks (issue 7): prove, verify, proof size, peak memory, trace shape per model.

    zkvm bench [--models tiny,mlp,...] [--runs 3] [--security standard] [--scaling] [--ezkl]
    python bench/bench_models.py [same options] [--profile MODEL] [--threads N] [--out JSON]
    python bench/bench_models.py --markdown bench/results/models.json

The suite ships with the package (``zkvm bench`` needs no checkout); the
script ``bench/bench_models.py`` is its front in the repository. Results go
to ``bench/results/`` under the current directory unless ``--out`` says
otherwise.

Each model runs in its own subprocess (``--worker``), so that its peak
memory is its own: ``peak MiB`` is the child's maximum resident set size as
``os.wait4`` reports it (``ru_maxrss``: the whole process, interpreter,
numpy, numba and the loaded kernels included); ``base MiB`` is the same
figure after the imports and building the program, before the first proof.
In the worker, one warm-up proof (loading the cached numba kernels) is
followed by ``--runs`` timed ones; every timed proof derives the proving key
from the program first (``api.prove`` with no key), so ``prove s`` includes
key derivation, and its split comes from ``api.ProveReport``: setup (key
derivation) / trace (execution + trace generation) / commit (main trace:
LDE + Merkle) / logup / quotient / open (out-of-domain values, DEEP, FRI,
openings). ``cpu s`` is the process CPU time of the same proofs (all
threads), next to the wall time, because the machine is shared.
``verify ms`` times ``api.verify`` alone on a proof and key already
deserialised (median of at least 9). All figures are medians over the runs.

``--scaling`` runs the ``784 → k → 10`` family instead (linear-scaling curve,
``bench/results/scaling.json``); ``--profile MODEL`` runs cProfile on one
proof and writes ``bench/results/profile_MODEL.txt``; ``--ezkl`` also runs
EZKL (halo2/KZG) on the same model as ONNX when the ``ezkl`` package is
importable, and says so and skips it when it is not.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

from zkvm.platform_info import cpu_model

#: default directory of the JSON results (``bench/results`` under the current directory)
RESULTS = os.path.join("bench", "results")
#: ProveReport steps summed into each printed column
SPLIT = {"setup": ["setup"], "trace": ["execute", "trace"], "commit": ["commit main"],
         "logup": ["logup"], "quotient": ["quotient"],
         "open": ["out-of-domain values", "DEEP", "FRI", "openings"]}
DEFAULT_MODELS = ("tiny", "mlp", "cnn", "attention", "lenet", "transformer", "mlp1m")
MIB = 1024 * 1024


def machine() -> dict[str, Any]:
    """nproc, CPU model, Python, and the load average now."""
    cpu = cpu_model()
    return {"nproc": os.cpu_count(), "cpu": cpu,
            "python": f"{platform.python_implementation()} {platform.python_version()}",
            "numba_threads": os.environ.get("NUMBA_NUM_THREADS", "default"),
            "env": {k: os.environ[k] for k in ("NUMBA_THREADING_LAYER", "OMP_WAIT_POLICY",
                                              "GOMP_SPINCOUNT", "OMP_NUM_THREADS")
                    if k in os.environ},
            "loadavg": list(os.getloadavg())}


def _maxrss_mib(ru_maxrss: int) -> float:
    return ru_maxrss / (MIB if sys.platform == "darwin" else 1024)


# ------------------------------------------------------------------ in-process
def measure(name: str, runs: int, security: str) -> dict[str, Any]:
    """Prove and verify model ``name`` ``runs`` times in this process (after one warm-up)."""
    import resource

    import zkvm.api as api
    from zkvm.examples.models import build
    from zkvm.stark.keys import VerifyingKey
    from zkvm.stark.proof import StarkProof

    t0 = time.perf_counter()
    model = build(name)
    t_build = time.perf_counter() - t0
    base = _maxrss_mib(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    t0 = time.perf_counter()
    api.prove(model.program, model.inputs, security)  # warm-up: loads the cached kernels
    first = time.perf_counter() - t0
    walls, cpus, reps, proof = [], [], [], None
    for _ in range(runs):
        rep = api.ProveReport()
        c0, t0 = time.process_time(), time.perf_counter()
        proof = api.prove(model.program, model.inputs, security, report=rep)
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
        reps.append(rep.timings)
    key = api.setup(model.program, security, zk=proof.zk)
    data = proof.to_bytes()
    vk = VerifyingKey.from_bytes(key.vk.to_bytes())
    vts = []
    for _ in range(max(runs, 9)):  # cheap: a steadier median on a shared machine
        p = StarkProof.from_bytes(data)
        t0 = time.perf_counter()
        api.verify(p, vk, security=security)
        vts.append(time.perf_counter() - t0)
    steps = sorted({k for r in reps for k in r if k != "done"})
    timings = {k: statistics.median(r.get(k, 0.0) for r in reps) for k in steps}
    split = {col: statistics.median(sum(r.get(k, 0.0) for k in ks) for r in reps)
             for col, ks in SPLIT.items()}
    tables = [{"name": t.air.name, "log_n": t.log_n, "rows": t.n, "main": t.air.main_width,
               "pre": t.air.pre_width, "logup_ext": t.info.plan.n_columns}
              for t in key.pk.layout.tables]
    return {"model": name, "description": model.description, "security": security,
            "params": model.n_params, "macs": model.macs, "runs": runs,
            "prove_s": statistics.median(walls), "prove_cpu_s": statistics.median(cpus),
            "prove_s_all": walls, "first_prove_s": first, "build_s": t_build,
            "split_s": split, "timings_s": timings,
            "verify_ms": statistics.median(vts) * 1e3, "proof_bytes": len(data),
            "proof_kib": len(data) / 1024, "zk": proof.zk, "base_mib": base,
            "tables": tables, "trace_rows": sum(t["rows"] for t in tables)}


def profile(name: str, security: str, top: int = 40) -> str:
    """cProfile one proof (key derivation included) of ``name`` after a warm-up; the report text."""
    import cProfile
    import io
    import pstats

    import zkvm.api as api
    from zkvm.examples.models import build

    model = build(name)
    api.prove(model.program, model.inputs, security)
    rep = api.ProveReport()
    pr = cProfile.Profile()
    t0 = time.perf_counter()
    pr.enable()
    proof = api.prove(model.program, model.inputs, security, report=rep)
    pr.disable()
    wall = time.perf_counter() - t0
    out = io.StringIO()
    out.write(f"# cProfile of one {name} proof at {security} (key derivation included), "
              f"{wall:.2f} s under the profiler\n# phases (s): "
              + ", ".join(f"{k} {v:.3f}" for k, v in rep.timings.items() if k != "done") + "\n")
    for key in ("tottime", "cumulative"):
        out.write(f"\n## prove: top {top} by {key}\n")
        pstats.Stats(pr, stream=out).strip_dirs().sort_stats(key).print_stats(top)
    from zkvm.stark.keys import VerifyingKey
    from zkvm.stark.proof import StarkProof

    key = api.setup(model.program, security, zk=proof.zk)
    out.write("\n" + proof_breakdown(proof, key.pk.layout) + "\n")
    vk = VerifyingKey.from_bytes(key.vk.to_bytes())
    data = proof.to_bytes()
    api.verify(StarkProof.from_bytes(data), vk, security=security)
    p = StarkProof.from_bytes(data)
    pv = cProfile.Profile()
    t0 = time.perf_counter()
    pv.enable()
    api.verify(p, vk, security=security)
    pv.disable()
    ms = (time.perf_counter() - t0) * 1e3
    for key in ("tottime", "cumulative"):
        out.write(f"\n## verify ({ms:.1f} ms under the profiler): top {top // 2} by {key}\n")
        pstats.Stats(pv, stream=out).strip_dirs().sort_stats(key).print_stats(top // 2)
    return out.getvalue()


def proof_breakdown(proof: Any, layout: Any) -> str:
    """Where a proof's bytes go: opened rows and Merkle siblings per phase, FRI, the rest."""
    import msgpack

    rows: dict[str, int] = {}
    sib: dict[str, int] = {}
    for (phase, _gs), op in zip(layout.trees, proof.openings):
        rows[phase] = (rows.get(phase, 0) + sum(r.nbytes for r in op.rows)
                       + sum(len(s) for group in (op.salts or []) for s in group))
        sib[phase] = sib.get(phase, 0) + sum(map(len, op.siblings))
    total = len(proof.to_bytes())
    fri = len(msgpack.packb(proof.fri, use_bin_type=True))
    lines = [f"## proof size: {total / 1024:.1f} KiB, {len(layout.trees)} Merkle trees "
             f"(one per phase, over {len(layout.group_logs)} heights)"]
    for ph in rows:
        lines.append(f"  {ph:<5} opened rows {rows[ph] / 1024:7.1f} KiB   siblings "
                     f"{sib[ph] / 1024:7.1f} KiB")
    rest = total - fri - sum(rows.values()) - sum(sib.values())
    lines.append(f"  FRI (layers, final polynomial, nonce) {fri / 1024:.1f} KiB; everything else "
                 f"(out-of-domain values, roots, public values, encoding) {rest / 1024:.1f} KiB")
    return "\n".join(lines)


# ---------------------------------------------------------------- subprocesses
def run_worker(name: str, runs: int, security: str, mode: str = "--worker",
               threads: int | None = None) -> dict[str, Any]:
    """Measure ``name`` in a fresh subprocess; add its peak RSS (``os.wait4``); errors become rows.

    ``threads``: ``NUMBA_NUM_THREADS`` of the subprocess (default: numba's, one per core).
    """
    cmd = [sys.executable, "-m", "zkvm.examples.suite", mode, name, "--runs", str(runs),
           "--security", security]
    env = dict(os.environ)
    if threads:
        env["NUMBA_NUM_THREADS"] = str(threads)
    t0 = time.perf_counter()
    with tempfile.TemporaryFile() as errf:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=errf, env=env)
        out = proc.stdout.read()
        _, status, ru = os.wait4(proc.pid, 0)   # this child's own rusage (peak RSS)
        errf.seek(0)
        err = errf.read()
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    row: dict[str, Any] = {"model": name, "worker_wall_s": wall,
                           "peak_mib": _maxrss_mib(ru.ru_maxrss),
                           "worker_cpu_s": ru.ru_utime + ru.ru_stime}
    lines = out.decode(errors="replace").strip().splitlines()
    if proc.returncode == 0 and lines:
        row.update(json.loads(lines[-1]))
    else:
        tail = err.decode(errors="replace").strip().splitlines()[-3:]
        row["error"] = (f"exit {proc.returncode}: " + " | ".join(tail))[:400]
    return row


def ezkl_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("ezkl") is not None


def measure_ezkl(name: str, security: str) -> dict[str, Any]:
    """EZKL (halo2 + KZG, SRS made locally) on the same model as ONNX: setup, prove, verify times.

    Public input, fixed parameters, public output, EZKL's default scales; the
    settings are not calibrated (EZKL's defaults), the SRS is generated with
    ``ezkl.gen_srs`` at the circuit's ``logrows``. ``security`` is not used
    (KZG over BN254 has its own fixed security level).
    """
    import asyncio
    import inspect

    import ezkl  # only called when ezkl_available()

    from zkvm.examples.models import build

    def call(fn: Any, **kw: Any) -> Any:  # keyword arguments: stable across ezkl versions
        r = fn(**kw)
        return asyncio.run(r) if inspect.isawaitable(r) else r

    model = build(name)
    with tempfile.TemporaryDirectory(prefix=f"ezkl_{name}_") as d:
        return _ezkl_pipeline(ezkl, call, model, d)


def _ezkl_pipeline(ezkl: Any, call: Any, model: Any, d: str) -> dict[str, Any]:
    import numpy as np

    name = model.name
    f = {k: os.path.join(d, k) for k in ("model.onnx", "input.json", "settings.json",
                                         "model.compiled", "kzg.srs", "vk.key", "pk.key",
                                         "witness.json", "proof.json")}
    with open(f["model.onnx"], "wb") as fh:
        fh.write(model.onnx().SerializeToString())
    with open(f["input.json"], "w") as fh:
        json.dump({"input_data": [np.asarray(v, dtype=np.float64).ravel().tolist()
                                  for v in model.real_inputs.values()]}, fh)
    args = ezkl.PyRunArgs()
    args.input_visibility, args.param_visibility, args.output_visibility = "public", "fixed", "public"
    t: dict[str, float] = {}

    def timed(step: str, fn: Any, **kw: Any) -> Any:
        t0 = time.perf_counter()
        r = call(fn, **kw)
        t[step] = time.perf_counter() - t0
        return r

    timed("settings", ezkl.gen_settings, model=f["model.onnx"], output=f["settings.json"],
          py_run_args=args)
    timed("compile", ezkl.compile_circuit, model=f["model.onnx"],
          compiled_circuit=f["model.compiled"], settings_path=f["settings.json"])
    with open(f["settings.json"]) as fh:
        logrows = int(json.load(fh)["run_args"]["logrows"])
    timed("srs", ezkl.gen_srs, srs_path=f["kzg.srs"], logrows=logrows)
    timed("setup", ezkl.setup, model=f["model.compiled"], vk_path=f["vk.key"],
          pk_path=f["pk.key"], srs_path=f["kzg.srs"])
    timed("witness", ezkl.gen_witness, data=f["input.json"], model=f["model.compiled"],
          output=f["witness.json"])
    timed("prove", ezkl.prove, witness=f["witness.json"], model=f["model.compiled"],
          pk_path=f["pk.key"], proof_path=f["proof.json"], srs_path=f["kzg.srs"])
    ok = timed("verify", ezkl.verify, proof_path=f["proof.json"], settings_path=f["settings.json"],
               vk_path=f["vk.key"], srs_path=f["kzg.srs"])
    return {"model": name, "ezkl": getattr(ezkl, "__version__", "?"), "logrows": logrows,
            "timings_s": t, "verified": bool(ok),
            "proof_kib": os.path.getsize(f["proof.json"]) / 1024}


# ----------------------------------------------------------------------- table
def _fmt_row(r: dict[str, Any]) -> str:
    if "error" in r:
        return f"{r['model']:<12} FAILED: {r['error']}"
    s = r["split_s"]
    return (f"{r['model']:<12} {r['macs']:>9} {r['prove_s']:>7.2f} "
            + " ".join(f"{s[c]:>6.2f}" for c in SPLIT)
            + f" {r['prove_cpu_s']:>6.2f} {r['verify_ms']:>7.1f} {r['proof_kib']:>7.1f}"
              f" {r['peak_mib']:>6.0f} {r['base_mib']:>5.0f}")


def print_table(rows: list[dict[str, Any]], out: Any = sys.stdout) -> None:
    """The results table, then the trace rows per table of each model."""
    head = (f"{'model':<12} {'MACs':>9} {'prove s':>7} " + " ".join(f"{c:>6}" for c in SPLIT)
            + f" {'cpu s':>6} {'ver ms':>7} {'KiB':>7} {'peak':>6} {'base':>5}")
    print(head, file=out)
    print("-" * len(head), file=out)
    for r in rows:
        print(_fmt_row(r), file=out)
    print("\ntrace rows per table (name 2^log_n [main/pre/logup-ext columns]):", file=out)
    for r in rows:
        if "tables" in r:
            tabs = ", ".join(f"{t['name']} 2^{t['log_n']} [{t['main']}/{t['pre']}/{t['logup_ext']}]"
                             for t in r["tables"])
            print(f"  {r['model']:<12} {tabs}", file=out)
    for r in rows:
        if "ezkl" in r:
            e = r["ezkl"]
            if "error" in e or "skipped" in e:
                print(f"  EZKL {r['model']}: {e.get('error') or e.get('skipped')}", file=out)
            else:
                print(f"  EZKL {r['model']}: " + ", ".join(f"{k} {v:.2f} s" for k, v in
                                                         e["timings_s"].items())
                      + f", peak {e.get('peak_mib', 0):.0f} MiB, proof {e['proof_kib']:.1f} KiB",
                      file=out)


def run_suite(models: list[str], runs: int = 3, security: str = "standard", ezkl: bool = False,
              out: str | None = None, echo: Any = print, threads: int | None = None
              ) -> dict[str, Any]:
    """Benchmark ``models`` (one subprocess each), print the table, write the JSON; return it."""
    if threads:
        os.environ["NUMBA_NUM_THREADS"] = str(threads)  # recorded by machine(), inherited
    start = machine()
    echo(f"machine: {start['nproc']} cores, {start['cpu']}, {start['python']}; load average "
         f"{' '.join(f'{v:.2f}' for v in start['loadavg'])}")
    if ezkl and not ezkl_available():
        echo("ezkl is not installed: skipping the EZKL side-by-side (pip install ezkl to enable)")
        ezkl = False
    rows = []
    for name in models:
        t0 = time.perf_counter()
        row = run_worker(name, runs, security, threads=threads)
        if ezkl and "error" not in row:
            e = run_worker(name, 1, security, "--worker-ezkl")
            row["ezkl"] = {k: v for k, v in e.items() if k != "model"}
        rows.append(row)
        echo(f"  {name}: {'FAILED' if 'error' in row else 'done'} in "
             f"{time.perf_counter() - t0:.1f} s")
    end = machine()
    load_start = start.pop("loadavg")
    doc = {"command": " ".join([os.path.relpath(sys.argv[0])] + sys.argv[1:]),
           "machine": {**start, "loadavg_start": load_start, "loadavg_end": end["loadavg"]},
           "security": security, "runs": runs,
           "peak_memory": "peak RSS of the model's subprocess (os.wait4 ru_maxrss)",
           "results": rows}
    import io

    buf = io.StringIO()
    print_table(rows, buf)
    echo(buf.getvalue().rstrip())
    echo(f"load average at the end: {' '.join(f'{v:.2f}' for v in end['loadavg'])}")
    path = out or os.path.join(RESULTS, "models.json")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)
    echo(f"wrote {path}")
    return doc


def scaling_rows(rows: list[dict[str, Any]]) -> str:
    """The linear-scaling table: MACs, trace cells, prove time, time per MAC."""
    lines = [f"{'model':<12} {'MACs':>9} {'rows':>8} {'prove s':>8} {'cpu s':>7} {'us/MAC':>7}"]
    for r in rows:
        if "error" in r:
            lines.append(f"{r['model']:<12} FAILED: {r['error']}")
            continue
        lines.append(f"{r['model']:<12} {r['macs']:>9} {r['trace_rows']:>8} {r['prove_s']:>8.2f}"
                     f" {r['prove_cpu_s']:>7.2f} {r['prove_s'] / r['macs'] * 1e6:>7.2f}")
    return "\n".join(lines)


def markdown(doc: dict[str, Any]) -> str:
    """The results of a JSON file written by :func:`run_suite` as a Markdown table."""
    cols = ["model", "params", "MACs", "prove s", "cpu s"] + list(SPLIT) + [
        "verify ms", "proof KiB", "peak MiB", "tables", "trace rows"]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in doc["results"]:
        if "error" in r:
            lines.append(f"| {r['model']} | FAILED: {r['error']} |" + " |" * (len(cols) - 2))
            continue
        cells = [r["model"], f"{r['params']:,}", f"{r['macs']:,}", f"{r['prove_s']:.2f}",
                 f"{r['prove_cpu_s']:.2f}"] + [f"{r['split_s'][c]:.2f}" for c in SPLIT] + [
                 f"{r['verify_ms']:.0f}", f"{r['proof_kib']:.0f}", f"{r['peak_mib']:.0f}",
                 str(len(r["tables"])), f"{r['trace_rows']:,}"]
        lines.append("| " + " | ".join(cells) + " |")
    m = doc["machine"]
    lines.append("")
    lines.append(f"Machine: {m['nproc']} cores, {m['cpu']}, {m['python']}, numba threads "
                 f"{m['numba_threads']}; load average (1/5/15 min) "
                 f"{'/'.join(f'{v:.1f}' for v in m['loadavg_start'])} at the start, "
                 f"{'/'.join(f'{v:.1f}' for v in m['loadavg_end'])} at the end; "
                 f"`{doc['command']}`, {doc['runs']} runs, {doc['security']} security.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="bench_models.py", description=__doc__.split("\n")[0])
    ap.add_argument("--models", default=",".join(DEFAULT_MODELS),
                    help=f"comma-separated (default: {','.join(DEFAULT_MODELS)}; also mlp-w<K>)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--security", default="standard")
    ap.add_argument("--scaling", action="store_true", help="the 784-k-10 family instead")
    ap.add_argument("--ezkl", action="store_true", help="also run EZKL when it is installed")
    ap.add_argument("--profile", metavar="MODEL", help="cProfile one proof of MODEL")
    ap.add_argument("--threads", type=int, help="NUMBA_NUM_THREADS of the workers")
    ap.add_argument("--out", help="JSON path (default bench/results/models.json or scaling.json)")
    ap.add_argument("--worker", metavar="MODEL", help=argparse.SUPPRESS)
    ap.add_argument("--worker-ezkl", metavar="MODEL", help=argparse.SUPPRESS)
    ap.add_argument("--markdown", metavar="JSON", help="print a results file as a Markdown table")
    args = ap.parse_args(argv)
    if args.markdown:
        with open(args.markdown) as f:
            print(markdown(json.load(f)))
        return
    if args.worker:
        print(json.dumps(measure(args.worker, args.runs, args.security)))
        return
    if args.worker_ezkl:
        print(json.dumps(measure_ezkl(args.worker_ezkl, args.security)))
        return
    if args.profile:
        text = profile(args.profile, args.security)
        print(text)
        os.makedirs(RESULTS, exist_ok=True)
        with open(os.path.join(RESULTS, f"profile_{args.profile}.txt"), "w") as f:
            f.write(text)
        return
    if args.scaling:
        from zkvm.examples.models import SCALING_WIDTHS

        models = [f"mlp-w{k}" for k in SCALING_WIDTHS]
        doc = run_suite(models, args.runs, args.security, False,
                        args.out or os.path.join(RESULTS, "scaling.json"), threads=args.threads)
        print("\n" + scaling_rows(doc["results"]))
        return
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    run_suite(models, args.runs, args.security, args.ezkl, args.out, threads=args.threads)


if __name__ == "__main__":
    main()
