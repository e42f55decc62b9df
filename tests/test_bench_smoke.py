"""Smoke tests of the benchmark harnesses: the model suite (zkvm.examples.suite, behind
bench/bench_models.py) and bench/bench_segments.py.

No timing is asserted: only that the harness runs and writes well-formed rows.
"""

from __future__ import annotations

import json
import math
import os
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import zkvm.examples.suite as bm  # noqa: E402
from zkvm.examples.models import MODELS, build  # noqa: E402

SPLIT_KEYS = set(bm.SPLIT)


def _check_row(row: dict) -> None:
    assert "error" not in row, row.get("error")
    for k in ("prove_s", "prove_cpu_s", "verify_ms", "proof_kib", "peak_mib", "base_mib",
              "first_prove_s"):
        assert isinstance(row[k], float) and math.isfinite(row[k]) and row[k] > 0, k
    assert set(row["split_s"]) == SPLIT_KEYS
    assert sum(row["split_s"].values()) <= row["prove_s"] * 1.05
    assert row["proof_bytes"] > 0 and row["macs"] > 0 and row["params"] > 0
    assert row["runs"] == len(row["prove_s_all"])
    assert row["tables"] and all(t["rows"] == 1 << t["log_n"] for t in row["tables"])
    assert row["trace_rows"] == sum(t["rows"] for t in row["tables"])
    assert row["peak_mib"] >= row["base_mib"]


def test_tiny_at_test_preset_writes_a_well_formed_row(tmp_path, capsys):
    out = tmp_path / "models.json"
    doc = bm.run_suite(["tiny"], runs=1, security="test", out=str(out))
    on_disk = json.loads(out.read_text())
    assert on_disk == json.loads(json.dumps(doc))
    m = on_disk["machine"]
    assert m["nproc"] >= 1 and len(m["loadavg_start"]) == 3 and len(m["loadavg_end"]) == 3
    assert "loadavg" not in m and m["cpu"]
    (row,) = on_disk["results"]
    assert row["model"] == "tiny" and row["security"] == "test"
    _check_row(row)
    text = capsys.readouterr().out
    assert "tiny" in text and "range16" in text


def test_a_failing_model_is_a_row_not_a_crash(tmp_path, capsys):
    doc = bm.run_suite(["no-such-model"], runs=1, security="test", out=str(tmp_path / "m.json"))
    (row,) = doc["results"]
    assert "error" in row and "no-such-model" in row["error"]
    assert "FAILED" in capsys.readouterr().out


def test_ezkl_mode_skips_with_a_message_when_absent(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(bm, "ezkl_available", lambda: False)
    monkeypatch.setattr(bm, "run_worker", lambda name, runs, sec, mode="--worker", **kw: {
        "model": name, "error": "not run"})
    bm.run_suite(["tiny"], runs=1, security="test", ezkl=True, out=str(tmp_path / "m.json"))
    assert "ezkl is not installed" in capsys.readouterr().out


def test_benchmark_models_have_the_issue_shapes():
    want = {"mlp": 101_770, "cnn": 5_874, "tiny": 844, "lenet": 61_706, "mlp1m": 1_068_810}
    for name, n in want.items():
        assert build(name).n_params == n, name
    att = build("attention")
    assert att.program.tensors["x"].shape == (8, 16) and att.macs == 3 * 8 * 16 * 16 + 2 * 8 * 8 * 16
    tr = build("transformer")
    assert tr.program.tensors["x"].shape == (16, 32)
    assert build("mlp-w64").macs == 784 * 64 + 64 * 10


@pytest.mark.parametrize("name", ["attention", "lenet", "transformer"])
def test_program_matches_its_onnx_float_model(name):
    """The program (VM, integers) computes the same model as the ONNX graph EZKL would prove."""
    pytest.importorskip("onnx")
    from onnx.reference import ReferenceEvaluator

    from zkvm.runtime import execute

    m = build(name)
    out = m.program.outputs[0]
    got = execute(m.program, m.inputs).values[out] / 2.0 ** m.program.tensors[out].scale
    feeds = {k: v.astype(np.float32) for k, v in m.real_inputs.items()}
    ref = ReferenceEvaluator(m.onnx()).run(None, feeds)[0].reshape(got.shape)
    assert np.abs(got - ref).max() <= 0.05 * max(1.0, float(np.abs(ref).max()))


def test_every_model_is_listed():
    assert list(MODELS) == list(bm.DEFAULT_MODELS)


def test_ezkl_pipeline_runs_every_step_on_the_model_onnx(monkeypatch):
    """The EZKL side-by-side against a stand-in module (the real ezkl is not a dependency)."""
    pytest.importorskip("onnx")
    import types

    calls = []

    def step(name, writes=None, content="{}"):
        def fn(**kw):
            calls.append(name)
            if writes:
                with open(kw[writes], "w") as f:
                    f.write(content)
            return True
        return fn

    fake = types.SimpleNamespace(
        __version__="stub", PyRunArgs=lambda: types.SimpleNamespace(),
        gen_settings=step("settings", "output", json.dumps({"run_args": {"logrows": 12}})),
        compile_circuit=step("compile", "compiled_circuit"), gen_srs=step("srs", "srs_path"),
        setup=step("setup", "pk_path"), gen_witness=step("witness", "output"),
        prove=step("prove", "proof_path", "{\"proof\": 1}"), verify=step("verify"))
    monkeypatch.setitem(sys.modules, "ezkl", fake)
    r = bm.measure_ezkl("tiny", "standard")
    assert calls == ["settings", "compile", "srs", "setup", "witness", "prove", "verify"]
    assert r["verified"] and r["logrows"] == 12 and set(r["timings_s"]) == set(calls)


def test_bench_segments_runs_at_a_toy_size(tmp_path):
    """bench/bench_segments.py (docs/segments.md figures) at width 64, test preset, 3 segments."""
    import subprocess

    out = tmp_path / "segments.json"
    r = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "bench_segments.py"),
                        "--widths", "64", "--security", "test", "--rows", "512", "--out",
                        str(out)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    row, = json.loads(out.read_text())["rows"]
    assert row["segments"] > 1 and row["width"] == 64
    for k in ("plain_s", "seg_s", "plain_cpu_s", "seg_cpu_s", "plain_process_cpu_s",
              "plain_peak_mib", "seg_peak_mib", "seg_verify_key_s"):
        assert isinstance(row[k], float) and row[k] > 0, k
    assert row["seg_tables"] > row["plain_tables"] and row["seg_cells"] > 0


def _bench(name: str):
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, "bench",
                                                                     f"{name}.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_cost_fit_recovers_known_coefficients_and_flags_the_worst_point():
    """bench/segments_cost.py: exact data is fitted exactly; one perturbed point is the
    largest relative residual; cost_fits fits every model on wall and CPU, both kinds."""
    bs = _bench("segments_cost")
    rng = np.random.default_rng(3)
    macs = [0.3e6, 0.7e6, 1.3e6, 1.9e6, 3.1e6, 5.8e6, 12e6]
    cl = [m * 2.0 * math.log2(m) for m in macs]
    ys = [0.5 + 2e-6 * m + 1e-9 * c for m, c in zip(macs, cl)]
    f = bs.fit_model([[m, c] for m, c in zip(macs, cl)], ys)
    assert f["coef"] == pytest.approx([0.5, 2e-6, 1e-9], rel=1e-6, abs=1e-9)
    assert f["r2"] == pytest.approx(1.0) and f["max_rel_resid"] < 1e-9
    lin = bs.fit_model([[m] for m in macs], [1 + 1e-6 * m for m in macs])
    noisy = [1 + 1e-6 * m for m in macs]
    noisy[2] *= 1.5
    g = bs.fit_model([[m] for m in macs], noisy)
    assert lin["r2"] == pytest.approx(1.0) and g["r2"] < 0.99
    assert int(np.argmax(np.abs(g["rel_resid"]))) == 2
    rows = [{"macs": m, **{f"{k}_{q}": float(rng.uniform(1, 2)) + m * 1e-6
                           for k in ("plain", "seg") for q in ("s", "cpu_s")},
             "segments": i // 2 + 1, "plain_cells_log": c, "seg_cells_log": 1.2 * c}
            for i, (m, c) in enumerate(zip(macs, cl))]
    fits = bs.cost_fits(rows)
    assert {(x["kind"], x["measure"], x["model"]) for x in fits} == {
        (k, q, m) for q in ("wall", "cpu") for k, ms in (
            ("plain", ("linear", "nlogn")), ("seg", ("linear", "linear+segments",
                                                     "nlogn+segments"))) for m in ms}
    with pytest.raises(ValueError, match="cannot fit"):
        bs.fit_model([[1.0, 2.0]], [1.0])


def test_cap_runs_is_parsed_and_bad_values_are_refused():
    bs = _bench("bench_segments")
    assert bs._caps("4096:3,3072:2", 5) == {4096: 3, 3072: 2}
    assert bs._caps("4096:9", 5) == {4096: 5} and bs._caps("", 5) == {}
    for bad in ("4096", "4096:0", "x:2"):
        with pytest.raises(SystemExit, match="--cap-runs"):
            bs._caps(bad, 5)


def test_pooled_runs_give_medians_of_every_run_and_other_commands_are_refused(tmp_path):
    """segments_cost.refit_cost --merge: the runs of several result files are pooled per
    width (medians over all of them); a file with another segmentation is refused."""
    sc = _bench("segments_cost")

    def run(t):
        return {"seconds": t, "cpu_s": t / 2, "process_cpu_s": t / 2 + 1, "peak_mib": 100.0}

    def doc(times, segments=1):
        rows = [sc.summarize({"width": w, "params": w, "macs": w * 1000, "segments": segments,
                              "max_cost": 1, "plain_kib": 1.0, "seg_kib": 1.0,
                              "plain_cells_log": w * 9000, "seg_cells_log": w * 9000},
                             [run(t * w) for t in times], [run(1.1 * t * w) for t in times])
                for w in (1, 2, 3, 4)]
        return {"rows": rows, "load_avg_start": [1, 1, 1], "load_avg_end": [2, 2, 2]}

    paths = []
    for i, (times, segs) in enumerate((([1.0, 2.0], 1), ([3.0], 1), ([1.0], 2))):
        paths.append(str(tmp_path / f"r{i}.json"))
        with open(paths[-1], "w") as fh:
            json.dump(doc(times, segs), fh)
    out = str(tmp_path / "pooled.json")
    sc.refit_cost(out, ",".join(paths[:2]))
    with open(out) as fh:
        pooled = json.load(fh)
    assert [r["runs"] for r in pooled["rows"]] == [3, 3, 3, 3]
    assert [r["plain_s"] for r in pooled["rows"]] == [2.0, 4.0, 6.0, 8.0]
    assert pooled["rows"][0]["ratio_s"] == pytest.approx(1.1) and pooled["fits"]
    with pytest.raises(SystemExit, match="same MACs and segments"):
        sc.refit_cost(out, ",".join([paths[0], paths[2]]))
