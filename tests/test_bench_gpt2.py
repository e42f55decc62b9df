"""Smoke test of bench/bench_gpt2.py at a toy size (2 blocks, d=64, seq 4, ``test`` preset).

No timing is asserted: only that every step of the benchmark runs (compile, segmented
prove, bundle key, both verifications) and writes a well-formed row, so the script
cannot rot. The full-size figures are in docs/segments.md.
"""

from __future__ import annotations

import json
import os
import sys

import pytest

pytest.importorskip("onnx")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
sys.path.insert(0, ROOT)

import bench_gpt2
import exporter_models as em


def test_block_parameters_follow_gpt2s_formula():
    # per block: c_attn d*3d+3d, c_proj d*d+d, c_fc d*4d+4d, c_proj 4d*d+d, 2 LayerNorms 4d
    d, layers = 48, 3
    m = em.gpt2(seq=4, d=d, heads=4, n_ctx=4, ids=False, lm_head=False, n_layer=layers,
                init="gpt2")
    assert em.block_params(m) == layers * (12 * d * d + 13 * d)
    assert sum(n.op_type == "LayerNormalization" for n in m.graph.node) == 2 * layers + 1


def test_greedy_makespan_is_the_last_worker_to_finish():
    assert bench_gpt2.greedy_makespan([3.0, 1.0, 1.0, 1.0], 2) == 3.0
    assert bench_gpt2.greedy_makespan([1.0] * 5, 2, overhead=0.5) == 4.5
    assert bench_gpt2.greedy_makespan([2.0, 2.0], 16) == 2.0


def test_toy_decoder_compiles_proves_in_segments_and_verifies(tmp_path, capsys):
    out = tmp_path / "gpt2.json"
    rc = bench_gpt2.main(["--layers", "2", "--d", "64", "--heads", "4", "--seq", "4",
                          "--calib", "4", "--held-out", "2", "--security", "test",
                          "--max-memory", "400MiB", "--dir", str(tmp_path / "w"),
                          "--out", str(out)])
    row = json.loads(out.read_text())
    assert rc == 0, row
    c, p = row["compile"], row["prove"]
    assert c["block_params"] == 2 * (12 * 64 * 64 + 13 * 64)
    assert 0 < c["heldout_err_over_range"] < 0.05
    assert p["n_segments"] >= 2 and len(p["seconds"]) == p["n_segments"] == len(p["sizes"])
    assert p["bundle_bytes"] > sum(p["sizes"])
    for step in ("compile", "prove", "setup", "verify_key", "verify_program"):
        assert row[step]["rc"] == 0 and row[step]["peak_mib"] > 0, step
    pr = row["projection"]
    assert 0 < pr["critical_path_s"] <= p["prove_s"] + 1e-9
    assert "segments" in capsys.readouterr().out
