"""ONNX as exporters write it: accuracy and cost of GPT-2 / ResNet export patterns.

    python bench/bench_onnx_exporters.py [--calib 16] [--held-out 32] [--runs 3]
        [--out bench/results/onnx_exporters.json] [--real-size]

For every pattern of ``tests/exporter_models.py`` (GPT-2 with one block,
d=32, 2 heads, seq 8, vocab 64; a small ResNet on 3x16x16): compile with
``--calib`` seeded calibration samples, then run the program on ``--held-out``
other samples next to onnx's reference evaluator and print the largest
absolute error, the reference's largest magnitude, their ratio, the number
of instructions and the estimated trace rows (``zkvm.isa.cost``). Then, for
the default GPT-2 (token ids), the rows of the embedding lookup against what
a one-hot matmul would cost, and the median prove / verify time at the
``test`` preset with public and with private ids (``--runs`` proofs each after
a warm-up; wall time on a shared machine, interleaved runs). ``--real-size``
compiles one GPT-2-small block instead (d=768, 12 heads, vocab 50257) and
prints its error on held-out ids, its lut tables and estimated rows.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, ROOT)

import exporter_models as em
import numpy as np

from zkvm import api
from zkvm.assembler.onnx import CompileOptions, compile_onnx
from zkvm.assembler.onnx.report import accuracy
from zkvm.io import quantize_inputs
from zkvm.isa.cost import estimated_rows

GPT2 = {
    "gpt2 torchscript HF (bias Where, Conv1D, gelu_new)": {},
    "gpt2 nanoGPT (Trilu/Equal masked_fill, Linear, erf)": {"mask": "trilu", "qkv": "linear",
                                                            "gelu_kind": "erf"},
    "gpt2 Range/Less/Where additive mask": {"mask": "range"},
    "gpt2 SDPA is_causal": {"mask": "sdpa", "qkv": "linear"},
    "gpt2 opset16 LayerNorm expansion": {"ln": "expanded"},
    "gpt2 opset20 Gelu op": {"gelu_kind": "op"},
    "gpt2 dynamo opset18": {"dynamo": True, "mask": "sdpa", "qkv": "linear"},
    "gpt2 float embeddings": {"ids": False, "lm_head": False},
}
RESNET = {"resnet fused BN, GlobalAveragePool": {"fused": True, "pool": "global"},
          "resnet BatchNormalization, ReduceMean": {"fused": False, "pool": "mean"}}


def gpt2_samples(kw: dict, n: int, seed: int) -> tuple[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    if kw.get("ids", True):
        return "input_ids", rng.integers(0, 64, (n, 1, 8)).astype(np.float64)
    return "inputs_embeds", rng.standard_normal((n, 1, 8, 32))


def measure(model, name: str, calib: np.ndarray, held: np.ndarray) -> dict:
    from onnx.reference import ReferenceEvaluator

    res = compile_onnx(model, samples={name: calib})
    ev = ReferenceEvaluator(model)
    dtype = np.int64 if name == "input_ids" else np.float32
    refs = [[np.asarray(r, dtype=np.float64) for r in ev.run(None, {name: x.astype(dtype)})]
            for x in held]
    pin = res.program.inputs[0].name
    rep = accuracy(res.program, [{pin: x} for x in held], refs, "held-out inputs")
    out = rep.outputs[0]
    return {"max_abs_err": out.max_abs, "max_ref": out.max_ref,
            "rel_err": out.max_abs / out.max_ref if out.max_ref else 0.0,
            "instructions": len(res.program.instructions),
            "est_rows": int(sum(estimated_rows(res.program))), "program": res.program}


def prove_times(program, x: np.ndarray, runs: int) -> tuple[float, float]:
    ints = quantize_inputs({program.inputs[0].name: x}, program)
    key = api.setup(program, "test")
    api.prove(program, ints, "test", key=key, seed=b"warm")
    pt, vt = [], []
    for r in range(runs):
        t = time.perf_counter()
        proof = api.prove(program, ints, "test", key=key, seed=bytes([r]))
        pt.append(time.perf_counter() - t)
        t = time.perf_counter()
        api.verify(proof, key.vk, min_bits=0)
        vt.append(time.perf_counter() - t)
    return statistics.median(pt), statistics.median(vt)


def real_size(a: argparse.Namespace) -> None:
    """One GPT-2-small block with token ids (no lm_head): compile time, error, tables, rows."""
    kw = {"vocab": 50257, "seq": 8, "d": 768, "heads": 12, "n_ctx": 1024, "lm_head": False}
    rng = np.random.default_rng(1)
    xs = rng.integers(0, 50257, (a.calib + a.held_out, 1, 8)).astype(np.float64)
    model = em.gpt2(**kw)
    t = time.perf_counter()
    m = measure(model, "input_ids", xs[:a.calib], xs[a.calib:])
    dt = time.perf_counter() - t
    p = m.pop("program")
    tabs = [i for i in p.instructions if i.op == "lut" and i.attrs["fn"] == "table"]
    m.update({"compile_and_measure_s": dt, "tables": len(tabs),
              "table_entries": int(sum(i.attrs["table"].size for i in tabs))})
    print(json.dumps(m, indent=1))
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out.replace(".json", "_real_size.json"), "w", encoding="utf-8") as f:
        json.dump(m, f, indent=1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calib", type=int, default=16)
    ap.add_argument("--held-out", type=int, default=32)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--out", default=os.path.join(HERE, "results", "onnx_exporters.json"))
    ap.add_argument("--real-size", action="store_true",
                    help="only compile one GPT-2-small block (d=768, 12 heads, vocab 50257, "
                         "seq 8; ~2.2 GB) and print its error and size")
    a = ap.parse_args()
    if a.real_size:
        real_size(a)
        return
    rows = []
    print(f"{'pattern':54} {'max abs err':>11} {'max|ref|':>9} {'rel err':>9} {'instr':>6} "
          f"{'est rows':>9}")
    for label, kw in GPT2.items():
        name, xs = gpt2_samples(kw, a.calib + a.held_out, 1)
        m = measure(em.gpt2(**kw), name, xs[:a.calib], xs[a.calib:])
        rows.append({"pattern": label, **{k: v for k, v in m.items() if k != "program"}})
    for label, kw in RESNET.items():
        xs = np.random.default_rng(2).uniform(0, 1, (a.calib + a.held_out, 1, 3, 16, 16))
        m = measure(em.resnet(**kw), "input", xs[:a.calib], xs[a.calib:])
        rows.append({"pattern": label, **{k: v for k, v in m.items() if k != "program"}})
    for r in rows:
        print(f"{r['pattern']:54} {r['max_abs_err']:11.3e} {r['max_ref']:9.3g} "
              f"{r['rel_err']:9.2e} {r['instructions']:6d} {r['est_rows']:9d}")
    # embedding cost (default GPT-2: T=8 tokens, V=64, d=32)
    name, xs = gpt2_samples({}, a.calib + 1, 1)
    t, v, d = 8, 64, 32
    emb = {"lut_rows": t * d, "add_rows": t * d, "mul_rows": t, "table_rows": v * d,
           "one_hot_matmul_macs": t * v * d, "one_hot_eq_rows_min": 5 * t * v}
    print(f"\nembedding [V={v}, d={d}] for T={t} tokens: {emb['lut_rows']} lut + "
          f"{emb['add_rows']} add + {emb['mul_rows']} mul rows, {emb['table_rows']} table rows "
          f"(one-hot: {emb['one_hot_matmul_macs']} matmul rows + >= {emb['one_hot_eq_rows_min']} "
          "rows of equality tests)")
    timings = {}
    progs = {vis: compile_onnx(em.gpt2(), samples={name: xs[:a.calib]},
                               options=CompileOptions(input_visibility=vis)).program
             for vis in ("public", "private")}
    for vis, p in progs.items():
        timings[vis] = prove_times(p, xs[a.calib], a.runs)
        print(f"gpt2 (ids {vis:7}) test preset: prove {timings[vis][0]:.2f} s, verify "
              f"{timings[vis][1] * 1000:.0f} ms (median of {a.runs})")
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, "w", encoding="utf-8") as f:
        json.dump({"patterns": rows, "embedding": emb,
                   "prove_test_preset": {k: {"prove_s": p, "verify_s": v}
                                         for k, (p, v) in timings.items()},
                   "calib": a.calib, "held_out": a.held_out, "runs": a.runs}, f, indent=1)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
