"""Segments proved as Ray tasks (zkvm.segments.cluster; the optional ``zkvm[cluster]`` extra).

A local Ray cluster with 2 worker CPUs (``ray.init(num_cpus=2)``) proves the
segments of the residual MLP of tests/test_segments.py; the bundle must be
the same format the single-process prover writes (it verifies with the
program and with a bundle key), and the single-machine path must not import
Ray. Skipped, with the reason, when Ray is not installed.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


import zkvm.segments.api as segapi
from zkvm.segments.bundle import PROOF_MAGIC, BundleReader

sys.path.insert(0, os.path.dirname(__file__))
from test_segments import ROWS, residual_mlp  # noqa: E402


@pytest.fixture(scope="module")
def local_ray():
    ray = pytest.importorskip("ray", reason="Ray is an optional extra: pip install "
                              "'zkvm[cluster]'")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.mark.slow
def test_ray_bundle_is_the_same_format_and_verifies(local_ray, tmp_path):
    prog, x = residual_mlp(7)
    path, local = str(tmp_path / "ray.proof"), str(tmp_path / "local.proof")
    rep = segapi.prove_segmented(prog, x, path, segment_rows=ROWS, security="test", cluster="auto",
                              seed=b"ray")
    assert local_ray.is_initialized()   # the executor joined the test's cluster and left it running
    segapi.prove_segmented(prog, x, local, segment_rows=ROWS, security="test", seed=b"ray")
    assert rep.n_segments >= 3
    with BundleReader(path, PROOF_MAGIC, "bundle", "b") as a, \
            BundleReader(local, PROOF_MAGIC, "bundle", "b") as b:
        assert a.header == b.header
        # same seed, same segment programs and inputs: the same proofs, in the same order
        assert list(a.segments()) == list(b.segments())
        assert a.trailer == b.trailer
    key = str(tmp_path / "k.vk")
    segapi.setup_segmented(prog, key, segment_rows=ROWS, security="test")
    for res in (segapi.verify_segmented(path, program=prog, security="test"),
                segapi.verify_segmented(path, key=key, security="test")):
        assert res["outputs"]["y"].tolist() == rep.outputs["y"].tolist()


@pytest.mark.slow
def test_ray_hidden_boundaries(local_ray, tmp_path):
    prog, x = residual_mlp(8, x_vis="private", out_vis="hashed")
    path = str(tmp_path / "h.proof")
    rep = segapi.prove_segmented(prog, x, path, segment_rows=2 * ROWS, security="test",
                              cluster="auto")
    res = segapi.verify_segmented(path, program=prog, security="test")
    assert set(res["digests"]) == {"y"} and rep.salts.keys() >= {"y"}


@pytest.mark.slow
def test_ray_hashed_weights_travel_to_the_workers(local_ray, tmp_path):
    """A program sent to a worker as bytes has no hidden values: the job carries the
    segment's private weights (values and salts)."""
    from zkvm.isa import Program
    from zkvm.isa.visibility import with_visibility

    prog, x = residual_mlp(9)
    prog = with_visibility(prog, weights={"w1": "private", "w2": "hashed", "b2": "hashed"},
                           salt=[1, 2, 3, 4])
    path = str(tmp_path / "ray.proof")
    rep = segapi.prove_segmented(prog, x, path, segment_rows=ROWS, security="test",
                                 cluster="auto")
    assert rep.n_segments >= 3
    res = segapi.verify_segmented(path, program=Program.from_bytes(prog.to_bytes()),
                                  security="test")
    assert res["model"] == prog.commitment.hex
    assert res["outputs"]["y"].tolist() == rep.outputs["y"].tolist()


def test_single_machine_path_never_imports_ray(tmp_path):
    code = (
        "import sys; sys.path.insert(0, 'tests')\n"
        "from test_segments import residual_mlp\n"
        "import zkvm.segments.api as segapi\n"
        "p, x = residual_mlp(2)\n"
        f"segapi.prove_segmented(p, x, {str(tmp_path / 'a.proof')!r}, segment_rows=32, "
        "security='test')\n"
        f"segapi.verify_segmented({str(tmp_path / 'a.proof')!r}, program=p, security='test')\n"
        "assert 'ray' not in sys.modules, 'ray was imported'\n")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    r = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
