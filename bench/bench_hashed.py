"""The cost of hashed weights (issue 8): the commitment machinery per 1K weights, and models.

    python bench/bench_hashed.py [--sizes 1000,10000,101770] [--models mlp] [--runs 3]
        [--security standard] [--out bench/results/hashed.json]

Two tables, every figure a median over ``--runs`` proofs after one warm-up,
each measurement in its own subprocess so that ``peak MiB`` (``os.wait4``'s
``ru_maxrss`` of that child: interpreter, numpy, numba, kernels included) is
its own:

1. **Hashing alone** (``hash:N``): a program whose only large part is N
   hashed i16 weights (read by nothing but the hash), proved with
   ``api.prove`` from the public program and its weights file (key
   derivation excluded: once per model): the weights producer
   (``private_weights``: range checks, bus sends, three weights packed per
   field element), the commitment header, the salt, one ``poseidon2`` table
   (one row per 8 absorbed elements: 24 i16 weights) and the range table, the
   digest read by the verifier from the key. Reported: the rows used by the
   producer and the hash, prove seconds, CPU seconds, and per 1K weights.
2. **Models** (``MODEL:public`` / ``MODEL:hashed``): the trained example model
   (``models/``) with public weights and with hashed weights (public input),
   proved with ``api.prove`` from the public program and the private weights
   file, key derivation included (as ``bench_models``). The difference is the
   end-to-end cost of hiding the model, also given per 1K weights.

The machine is shared: the load average is recorded at the start and end,
and CPU time next to wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any
from zkvm.platform_info import cpu_model

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

RESULTS = os.path.join(HERE, "results")
MIB = 1024 * 1024
SALT = [0x5EED, 1, 2, 3]


def machine() -> dict[str, Any]:
    """nproc, CPU model and the load average now."""
    cpu = cpu_model()
    return {"nproc": os.cpu_count(), "cpu": cpu, "loadavg": list(os.getloadavg())}


# ------------------------------------------------------------------ in-process
def hash_program(n: int):
    """(public program, private weights): n hashed i16 weights that nothing reads but the hash.

    The rest of the program (a 4-element relu of a public input) costs a few
    tiny tables: the proof is the commitment machinery of a real statement.
    """
    import numpy as np

    from zkvm.assembler import Builder
    from zkvm.isa import Program

    b = Builder()
    b.input("x", (1, 4), 16, 0)
    b.weight("w", np.random.default_rng(n).integers(-2**15, 2**15, size=n), 16, 0,
             visibility="hashed")
    b.emit("relu", ["x"], "y")
    b.output("y")
    owner = b.build(salt=SALT)
    return Program.from_bytes(owner.to_bytes()), owner.private_weights()


def measure_hash(n: int, runs: int, security: str) -> dict[str, Any]:
    import numpy as np

    import zkvm.api as api

    public, weights = hash_program(n)
    x = {"x": np.array([[1, -2, 3, -4]])}
    t0 = time.perf_counter()
    key = api.setup(public, security)                     # key derivation: once per model
    t_setup = time.perf_counter() - t0
    api.verify(api.prove(public, x, security, key=key, weights=weights), key.vk,
               security=security)   # warm-up
    walls, cpus, reps, proof = [], [], [], None
    for _ in range(runs):
        rep = api.ProveReport()
        c0, t0 = time.process_time(), time.perf_counter()
        proof = api.prove(public, x, security, key=key, weights=weights, report=rep)
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
        reps.append(rep.timings)
    t0 = time.perf_counter()
    api.verify(proof, key.vk, security=security)
    v_ms = (time.perf_counter() - t0) * 1e3
    chips = key.statement.chips
    used = {"private_weights": sum(c.n_used for c in chips if c.name == "private_weights"),
            "poseidon2": sum(int(c.data["n_rows_used"]) for c in chips if c.name == "poseidon2")}
    tables = [{"name": c.name, "log_n": c.log_height} for c in chips]
    steps = [k for k in reps[0] if k != "done"]
    return {"case": f"hash:{n}", "weights": n, "used_rows": used, "tables": tables,
            "setup_s": t_setup, "prove_s": statistics.median(walls),
            "prove_cpu_s": statistics.median(cpus),
            "timings_s": {k: statistics.median(r[k] for r in reps) for k in steps},
            "verify_ms": v_ms, "proof_kib": len(proof.to_bytes()) / 1024, "runs": runs}


def measure_model(name: str, vis: str, runs: int, security: str) -> dict[str, Any]:
    import resource

    import zkvm.api as api
    from zkvm.examples.program import build_program
    from zkvm.examples.trained import load_weights, sample_input
    from zkvm.io import quantize_inputs
    from zkvm.isa import Program
    from zkvm.isa.visibility import with_visibility

    t0 = time.perf_counter()
    owner = build_program(name, load_weights(name))
    if vis != "public":
        owner = with_visibility(owner, weights=vis, salt=SALT)
    public = Program.from_bytes(owner.to_bytes())        # what the verifier sees
    weights = owner.private_weights() if owner.hidden_weights else None
    doc, _ = sample_input(name)
    import numpy as np

    ints = quantize_inputs({"x": np.asarray(doc["input_data"][0]).reshape(
        public.inputs[0].shape)}, public)
    t_build = time.perf_counter() - t0
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    api.prove(public, ints, security, weights=weights)   # warm-up (cached kernels)
    walls, cpus, reps, proof = [], [], [], None
    for _ in range(runs):
        rep = api.ProveReport()
        c0, t0 = time.process_time(), time.perf_counter()
        proof = api.prove(public, ints, security, weights=weights, report=rep)
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
        reps.append(rep.timings)
    key = api.setup(public, security)
    t0 = time.perf_counter()
    api.verify(proof, key.vk, security=security)
    v_ms = (time.perf_counter() - t0) * 1e3
    steps = [k for k in reps[0] if k != "done"]
    tables = [{"name": t.air.name, "log_n": t.log_n, "main": t.air.main_width,
               "pre": t.air.pre_width} for t in key.pk.layout.tables]
    return {"case": f"{name}:{vis}", "params": public.n_params, "build_s": t_build,
            "prove_s": statistics.median(walls), "prove_cpu_s": statistics.median(cpus),
            "prove_s_all": walls, "timings_s": {k: statistics.median(r[k] for r in reps)
                                                for k in steps},
            "verify_ms": v_ms, "proof_kib": len(proof.to_bytes()) / 1024, "zk": proof.zk,
            "base_mib": base, "tables": tables,
            "trace_rows": sum(1 << t["log_n"] for t in tables), "runs": runs,
            "commitment": public.commitment.hex if public.commitment else None}


# ---------------------------------------------------------------- subprocesses
def run_worker(case: str, runs: int, security: str) -> dict[str, Any]:
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", case, "--runs", str(runs),
           "--security", security]
    t0 = time.perf_counter()
    with tempfile.TemporaryFile() as errf:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=errf, cwd=ROOT)
        out = proc.stdout.read()
        _, status, ru = os.wait4(proc.pid, 0)
        errf.seek(0)
        err = errf.read()
    row: dict[str, Any] = {"case": case, "worker_wall_s": time.perf_counter() - t0,
                           "peak_mib": ru.ru_maxrss / 1024,
                           "worker_cpu_s": ru.ru_utime + ru.ru_stime}
    lines = out.decode(errors="replace").strip().splitlines()
    if os.waitstatus_to_exitcode(status) == 0 and lines:
        row.update(json.loads(lines[-1]))
    else:
        row["error"] = " | ".join(err.decode(errors="replace").strip().splitlines()[-3:])[:400]
    return row


def print_tables(hashes: list[dict], models: list[dict]) -> None:
    print("\nhashing alone (hidden i16 weights -> Poseidon2 commitment):")
    head = (f"{'weights':>8} {'weights rows':>13} {'p2 rows':>8} {'prove s':>8} {'cpu s':>7} "
            f"{'rows/1K':>8} {'s/1K':>7} {'cpu s/1K':>8} {'ver ms':>7} {'KiB':>6} {'peak':>6}")
    print(head + "\n" + "-" * len(head))
    for r in hashes:
        if "error" in r:
            print(f"{r['case']:>8} FAILED: {r['error']}")
            continue
        k = r["weights"] / 1000
        used = r["used_rows"]
        print(f"{r['weights']:>8} {used['private_weights']:>13} {used['poseidon2']:>8} "
              f"{r['prove_s']:>8.2f} {r['prove_cpu_s']:>7.2f} "
              f"{(used['private_weights'] + used['poseidon2']) / k:>8.1f} "
              f"{r['prove_s'] / k:>7.3f} {r['prove_cpu_s'] / k:>8.3f} {r['verify_ms']:>7.1f} "
              f"{r['proof_kib']:>6.1f} {r['peak_mib']:>6.0f}")
    if not models:
        return
    print("\nmodels (public input; key derivation included):")
    head = (f"{'case':<14} {'params':>7} {'prove s':>8} {'cpu s':>7} {'ver ms':>7} {'KiB':>6} "
            f"{'rows':>8} {'peak MiB':>8}")
    print(head + "\n" + "-" * len(head))
    by = {}
    for r in models:
        if "error" in r:
            print(f"{r['case']:<14} FAILED: {r['error']}")
            continue
        by[r["case"]] = r
        print(f"{r['case']:<14} {r['params']:>7} {r['prove_s']:>8.2f} {r['prove_cpu_s']:>7.2f} "
              f"{r['verify_ms']:>7.1f} {r['proof_kib']:>6.1f} {r['trace_rows']:>8} "
              f"{r['peak_mib']:>8.0f}")
    for case, r in by.items():
        name, vis = case.split(":")
        pub = by.get(f"{name}:public")
        if vis != "public" and pub:
            k = r["params"] / 1000
            print(f"  {name}: hiding the weights costs {r['prove_s'] - pub['prove_s']:+.2f} s "
                  f"({(r['prove_s'] - pub['prove_s']) / k:+.3f} s per 1K weights), "
                  f"{r['peak_mib'] - pub['peak_mib']:+.0f} MiB peak")
    for r in models:
        if "tables" in r:
            print(f"  {r['case']}: " + ", ".join(f"{t['name']} 2^{t['log_n']}"
                                                  for t in r["tables"]))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="1000,10000,101770", help="weights counts (hash alone)")
    ap.add_argument("--models", default="mlp", help="models/ models ('' for none)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--security", default="standard")
    ap.add_argument("--out", default=os.path.join(RESULTS, "hashed.json"))
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        kind, arg = args.worker.split(":")
        if kind == "hash":
            res = measure_hash(int(arg), args.runs, args.security)
        else:
            res = measure_model(kind, arg, args.runs, args.security)
        print(json.dumps(res))
        return
    start = machine()
    print(f"machine: {start['nproc']} cores, {start['cpu']}; load average "
          f"{' '.join(f'{v:.2f}' for v in start['loadavg'])}; {args.security}, "
          f"median of {args.runs}")
    hashes = [run_worker(f"hash:{n}", args.runs, args.security)
              for n in (int(s) for s in args.sizes.split(",") if s)]
    models = []
    for m in (s for s in args.models.split(",") if s):
        for vis in ("public", "hashed"):
            models.append(run_worker(f"{m}:{vis}", args.runs, args.security))
    end = machine()
    print_tables(hashes, models)
    print(f"\nload average at the end: {' '.join(f'{v:.2f}' for v in end['loadavg'])}")
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    doc = {"command": " ".join(["bench/bench_hashed.py"] + (argv or sys.argv[1:])),
           "machine": {**{k: v for k, v in start.items() if k != "loadavg"},
                       "loadavg_start": start["loadavg"], "loadavg_end": end["loadavg"]},
           "security": args.security, "runs": args.runs,
           "peak_memory": "peak RSS of each case's subprocess (os.wait4 ru_maxrss)",
           "hash": hashes, "models": models}
    with open(args.out, "w") as f:
        json.dump(doc, f, indent=1)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
