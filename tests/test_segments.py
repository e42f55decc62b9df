"""Segmented proofs (zkvm.segments): the plan, the bundle, and a malicious prover.

A small residual MLP (two tensors cross one boundary) is proved in segments
at the ``test`` preset; every attack is checked through ``segapi.verify_segmented``
with the program and with a bundle key, and through ``zkvm verify --program``
and ``zkvm verify --key``.
"""

from __future__ import annotations

import contextlib
import io
import os

import msgpack
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import zkvm.api as api

import zkvm.segments.api as segapi
from zkvm import cli_verify
from zkvm.assembler import Builder
from zkvm.runtime import execute
from zkvm.segments.bundle import PROOF_MAGIC, BundleFormatError, BundleReader, BundleWriter
from zkvm.segments.plan import SegmentError, SegmentParams, plan
from zkvm.segments.prove import prove_bundle
from zkvm.segments.verify import BoundaryMismatch
from zkvm.stark.errors import VerificationError

ROWS = 32


def residual_mlp(seed: int = 3, x_vis: str = "public", out_vis: str = "public", width: int = 32):
    """x[1,16] -> dense(width) -> relu -> dense(width) -> relu (+ skip) -> dense(10)."""
    rng = np.random.default_rng(seed)
    b = Builder()
    b.input("x", (1, 16), 16, 8, x_vis, (0, 256))
    b.weight("w1", rng.integers(-300, 300, (16, width)), 16, 10)
    b.weight("b1", rng.integers(-5000, 5000, (width,)), 32, 18)
    b.weight("w2", rng.integers(-300, 300, (width, width)), 16, 10)
    b.weight("b2", rng.integers(-5000, 5000, (width,)), 32, 18)
    b.weight("w3", rng.integers(-300, 300, (width, 10)), 16, 10)
    b.emit("matmul", ["x", "w1", "b1"], "h1.acc")
    b.emit("rescale", ["h1.acc"], "h1", {"k": 10})
    b.emit("relu", ["h1"], "a1")
    b.emit("matmul", ["a1", "w2", "b2"], "h2.acc")
    b.emit("rescale", ["h2.acc"], "h2", {"k": 10})
    b.emit("relu", ["h2"], "a2")
    b.emit("add", ["a2", "a1"], "r")          # the skip: a1 crosses two boundaries
    b.emit("matmul", ["r", "w3"], "y.acc")
    b.emit("rescale", ["y.acc"], "y", {"k": 10})
    b.output("y", visibility=out_vis)
    x = rng.integers(0, 256, (1, 16))
    return b.build(), {"x": x}


@pytest.fixture(scope="module")
def model():
    return residual_mlp()


@pytest.fixture(scope="module")
def bundle(model, tmp_path_factory):
    """An honest bundle (public boundaries), its bundle key and the program file."""
    prog, x = model
    d = tmp_path_factory.mktemp("seg")
    paths = {k: str(d / f"m.{k}") for k in ("proof", "vk", "zkvm")}
    prog.save(paths["zkvm"])
    rep = segapi.prove_segmented(prog, x, paths["proof"], segment_rows=ROWS, security="test",
                              seed=b"honest")
    segapi.setup_segmented(prog, paths["vk"], segment_rows=ROWS, security="test")
    return prog, x, paths, rep


def _cli(*args: str) -> int:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return cli_verify.main(list(args))


def assert_refused_everywhere(path: str, paths: dict, prog) -> None:
    """api (program and key) raise VerificationError; the CLI exits non-zero both ways."""
    with pytest.raises(VerificationError):
        segapi.verify_segmented(path, program=prog, security="test")
    with pytest.raises(VerificationError):
        segapi.verify_segmented(path, key=paths["vk"], security="test")
    assert _cli(path, "--program", paths["zkvm"], "--security", "test") != 0
    assert _cli(path, "--key", paths["vk"], "--security", "test") != 0


def rewrite(src: str, dst: str, edit) -> None:
    """A malicious prover reassembling a bundle: ``edit(header, [segment bytes], trailer)``."""
    with BundleReader(src, PROOF_MAGIC, "bundle", "bundle") as r:
        header = dict(r.header)
        segs = list(r.segments())
        trailer = dict(r.trailer)
    header, segs, trailer = edit(header, segs, trailer)
    with open(dst, "wb") as f:
        f.write(msgpack.packb({"magic": PROOF_MAGIC, "format": 1, "zkvm": "x", "bundle": header},
                              use_bin_type=True))
        for s in segs:
            f.write(msgpack.packb(s, use_bin_type=True))
        if trailer is not None:
            f.write(msgpack.packb(trailer, use_bin_type=True))


# ------------------------------------------------------------------------- the plan

def test_refined_program_computes_the_same_outputs(model):
    prog, x = model
    pl = plan(prog, SegmentParams(ROWS))
    assert len(pl.fine.instructions) > len(prog.instructions)   # a matmul was cut in blocks
    assert execute(pl.fine, x).outputs["y"].tolist() == execute(prog, x).outputs["y"].tolist()


@settings(max_examples=15, deadline=None, derandomize=True)
@given(rows=st.integers(16, 400), seed=st.integers(0, 50))
def test_plan_covers_every_instruction_once_and_chains_segments(rows, seed):
    prog, x = residual_mlp(seed)
    pl = plan(prog, SegmentParams(rows))
    done = sorted(k for s in pl.segments for k in s.instructions)
    compute = [k for k, ins in enumerate(pl.fine.instructions) if ins.op != "concat"]
    assert done == compute
    ex = execute(pl.fine, x)
    for s in pl.segments:   # each segment program, run on its inputs, gives its outputs
        sp = pl.segment_program(s.index)
        got = execute(sp, {t.name: ex.values[t.name] for t in sp.inputs}).outputs
        for name, v in got.items():
            assert v.tolist() == ex.values[name].tolist()


def test_skip_connection_crosses_with_the_other_boundary(model):
    prog, _ = model
    pl = plan(prog, SegmentParams(ROWS))
    reads = [[n for role, n in s.reads if role == "boundary"] for s in pl.segments]
    assert any(len(r) >= 2 and "a1" in r for r in reads)


def test_bad_parameters_are_refused():
    with pytest.raises(SegmentError):
        SegmentParams(10)
    with pytest.raises(SegmentError):
        SegmentParams(1000, "secret")
    prog, _ = residual_mlp(x_vis="private")
    with pytest.raises(SegmentError, match="public boundaries"):
        plan(prog, SegmentParams(ROWS, "public"))


def test_memory_budget_gives_more_rows_for_more_memory():
    from zkvm.segments.budget import parse_size, rows_for_memory

    assert parse_size("2GiB") == 2 * 2**30 and parse_size("512MiB") == 2**29
    assert rows_for_memory("4GiB") > rows_for_memory("2GiB") > 0
    with pytest.raises(SegmentError, match="below"):
        rows_for_memory("100MiB")
    with pytest.raises(SegmentError, match="not understood"):
        rows_for_memory("lots")


# ---------------------------------------------------------------- honest bundles

def test_segmented_proof_verifies_with_program_key_and_cli(bundle):
    prog, x, paths, rep = bundle
    assert rep.n_segments >= 3
    want = execute(prog, x).outputs["y"].tolist()
    for res in (segapi.verify_segmented(paths["proof"], program=prog, security="test"),
                segapi.verify_segmented(paths["proof"], key=paths["vk"], security="test")):
        assert res["outputs"]["y"].tolist() == want
    assert _cli(paths["proof"], "--program", paths["zkvm"], "--security", "test") == 0
    assert _cli(paths["proof"], "--key", paths["vk"], "--security", "test") == 0
    assert _cli(paths["proof"], "--key", paths["vk"], "--program", paths["zkvm"],
                "--security", "test") == 0


def test_bundle_needs_the_callers_security_level(bundle):
    _, _, paths, _ = bundle
    with pytest.raises(VerificationError):
        segapi.verify_segmented(paths["proof"], key=paths["vk"])          # standard asked
    assert _cli(paths["proof"], "--key", paths["vk"]) == 1


def test_hidden_boundaries_private_input_and_hashed_output(tmp_path):
    from zkvm.isa.hidden import digest_hex, hash_tensors

    prog, x = residual_mlp(5, x_vis="private", out_vis="hashed")
    path = str(tmp_path / "h.proof")
    rep = segapi.prove_segmented(prog, x, path, segment_rows=ROWS, security="test", seed=b"zk")
    assert rep.n_segments >= 3
    res = segapi.verify_segmented(path, program=prog, security="test")
    assert res["outputs"] == {}
    y = execute(prog, x).outputs["y"]
    assert res["digests"]["y"] == digest_hex(hash_tensors([y], rep.salts["y"]))
    with BundleReader(path, PROOF_MAGIC, "bundle", "bundle") as r:   # nothing private inside
        assert r.header["inputs"] == {}
        list(r.segments())
        assert r.trailer == {"outputs": {}}


# ------------------------------------------------------------- a malicious prover

def test_swapped_segment_order_is_rejected(bundle, tmp_path):
    prog, _, paths, _ = bundle
    bad = str(tmp_path / "swap.proof")
    rewrite(paths["proof"], bad, lambda h, s, t: (h, [s[1], s[0]] + s[2:], t))
    assert_refused_everywhere(bad, paths, prog)


def test_segment_proof_from_another_program_is_rejected(bundle, tmp_path):
    prog, x, paths, _ = bundle
    other, _ = residual_mlp(seed=9)          # same shapes, other weights
    theirs = str(tmp_path / "other.proof")
    segapi.prove_segmented(other, x, theirs, segment_rows=ROWS, security="test", seed=b"o")
    with BundleReader(theirs, PROOF_MAGIC, "bundle", "bundle") as r:
        foreign = list(r.segments())
    bad = str(tmp_path / "mixed.proof")
    rewrite(paths["proof"], bad, lambda h, s, t: (h, s[:1] + [foreign[1]] + s[2:], t))
    assert_refused_everywhere(bad, paths, prog)


def test_dropped_segment_is_rejected(bundle, tmp_path):
    prog, _, paths, _ = bundle
    bad = str(tmp_path / "drop.proof")
    rewrite(paths["proof"], bad,
            lambda h, s, t: ({**h, "n_segments": len(s) - 1}, s[:1] + s[2:], t))
    assert_refused_everywhere(bad, paths, prog)
    short = str(tmp_path / "short.proof")    # header still announces every segment
    rewrite(paths["proof"], short, lambda h, s, t: (h, s[:-1], None))
    with pytest.raises(BundleFormatError, match="missing"):
        segapi.verify_segmented(short, program=prog, security="test")
    assert _cli(short, "--key", paths["vk"], "--security", "test") == 2


def test_missing_trailer_is_rejected(bundle, tmp_path):
    prog, _, paths, _ = bundle
    bad = str(tmp_path / "notrailer.proof")
    rewrite(paths["proof"], bad, lambda h, s, t: (h, s, None))
    assert_refused_everywhere(bad, paths, prog)


def test_changed_output_is_rejected(bundle, tmp_path):
    prog, _, paths, _ = bundle
    bad = str(tmp_path / "out.proof")

    def edit(h, s, t):
        y = list(t["outputs"]["y"])
        y[0] += 1
        return h, s, {"outputs": {"y": y}}
    rewrite(paths["proof"], bad, edit)
    assert_refused_everywhere(bad, paths, prog)


def test_changed_public_input_is_rejected(bundle, tmp_path):
    prog, _, paths, _ = bundle
    bad = str(tmp_path / "in.proof")

    def edit(h, s, t):
        x = list(h["inputs"]["x"])
        x[3] = (x[3] + 1) % 256
        return {**h, "inputs": {"x": x}}, s, t
    rewrite(paths["proof"], bad, edit)
    assert_refused_everywhere(bad, paths, prog)


@pytest.mark.parametrize("boundary", ["public", "hashed"])
def test_altered_boundary_tensor_in_one_segment_is_rejected(tmp_path, boundary):
    """Segment 2 is proved honestly, but on a boundary value segment 1 did not produce."""
    prog, x = residual_mlp(4)
    paths = {"zkvm": str(tmp_path / "m.zkvm"), "vk": str(tmp_path / "m.vk")}
    prog.save(paths["zkvm"])
    segapi.setup_segmented(prog, paths["vk"], segment_rows=ROWS, boundary=boundary,
                        security="test")
    pl = plan(prog, SegmentParams(ROWS, boundary))
    target = next(s.index for s in pl.segments if any(r == "boundary" for r, _ in s.reads))

    def tamper(i, inputs, salts):
        if i == target:
            name = next(n for r, n in pl.segments[i].reads if r == "boundary")
            v = inputs[name].copy()
            v.flat[0] = v.flat[0] + 1 if v.flat[0] < pl.fine.intervals[name][1] else v.flat[0] - 1
            inputs = {**inputs, name: v}
        return inputs, salts
    bad = str(tmp_path / "b.proof")
    prove_bundle(prog, x, bad, SegmentParams(ROWS, boundary), "test", seed=b"t", _segment=tamper)
    with pytest.raises(BoundaryMismatch):
        segapi.verify_segmented(bad, program=prog, security="test")
    assert_refused_everywhere(bad, paths, prog)


def test_boundary_with_another_salt_is_rejected(tmp_path):
    prog, x = residual_mlp(6)
    paths = {"zkvm": str(tmp_path / "m.zkvm"), "vk": str(tmp_path / "m.vk")}
    prog.save(paths["zkvm"])
    params = SegmentParams(ROWS, "hashed")
    segapi.setup_segmented(prog, paths["vk"], segment_rows=ROWS, boundary="hashed",
                        security="test")
    pl = plan(prog, params)
    target = next(s.index for s in pl.segments if any(r == "boundary" for r, _ in s.reads))

    def tamper(i, inputs, salts):
        if i == target:
            name = next(n for r, n in pl.segments[i].reads if r == "boundary")
            salts = {**salts, name: [v + 1 for v in salts[name]]}
        return inputs, salts
    bad = str(tmp_path / "s.proof")
    prove_bundle(prog, x, bad, params, "test", seed=b"u", _segment=tamper)
    assert_refused_everywhere(bad, paths, prog)


def test_bundle_of_another_split_is_rejected_by_the_key(bundle, tmp_path):
    prog, x, paths, _ = bundle
    other = str(tmp_path / "split.proof")
    segapi.prove_segmented(prog, x, other, segment_rows=2 * ROWS, security="test", seed=b"v")
    segapi.verify_segmented(other, program=prog, security="test")   # a valid split of P
    with pytest.raises(VerificationError):
        segapi.verify_segmented(other, key=paths["vk"], security="test")


@pytest.mark.parametrize("edit", ["chain", "io"])
def test_key_with_edited_chain_or_io_is_not_the_programs(bundle, tmp_path, edit):
    """--key with --program: the key's header (the chain and the public interface the
    key-based check reads, which no segment key covers) must be the program's too."""
    from zkvm.segments.bundle import KEY_MAGIC, BundleWriter
    from zkvm.segments.verify import check_key_matches
    from zkvm.stark.errors import KeyMismatch

    prog, _, paths, _ = bundle
    with BundleReader(paths["vk"], KEY_MAGIC, "key", "key") as r:
        header, segs = dict(r.header), list(r.segments())
    if edit == "chain":   # no boundary checked: segments on different values would chain
        header["chain"] = [{"in": [], "out": c["out"]} for c in header["chain"]]
    else:
        header["io"] = {**header["io"], "inputs": []}
    bad = str(tmp_path / f"{edit}.bvk")
    with BundleWriter(bad, KEY_MAGIC, "key", header) as w:
        for kb in segs:
            w.add(kb)
    with pytest.raises(KeyMismatch, match="chain of segments"):
        check_key_matches(bad, prog, "test")
    assert _cli(paths["proof"], "--key", bad, "--program", paths["zkvm"], "--security",
                "test") != 0
    assert _cli(paths["proof"], "--key", paths["vk"], "--program", paths["zkvm"],
                "--security", "test") == 0


# ------------------------------------------------------------------------ files

def test_truncated_and_foreign_files_are_clear_errors(bundle, tmp_path):
    prog, _, paths, _ = bundle
    data = open(paths["proof"], "rb").read()
    cut = str(tmp_path / "cut.proof")
    with open(cut, "wb") as f:
        f.write(data[: len(data) // 2])
    with pytest.raises(BundleFormatError):
        segapi.verify_segmented(cut, program=prog, security="test")
    assert _cli(cut, "--program", paths["zkvm"], "--security", "test") == 2
    # a bundle proof with a plain key file, and a bundle key given as a proof
    plain_vk = str(tmp_path / "plain.vk")
    with open(plain_vk, "wb") as f:
        f.write(api.setup(prog, "test").vk.to_bytes())
    assert _cli(paths["proof"], "--key", plain_vk, "--security", "test") == 2
    assert _cli(paths["vk"], "--program", paths["zkvm"], "--security", "test") == 2


def test_writer_refuses_a_short_bundle(tmp_path):
    p = str(tmp_path / "w.proof")
    with pytest.raises(ValueError, match="1 of 2"):
        with BundleWriter(p, PROOF_MAGIC, "bundle", {"n_segments": 2}) as w:
            w.add(b"x")
    assert not os.path.exists(p)


CLI_CHECK = r"""
import sys
sys.argv = ["zkvm", "verify", sys.argv[1], "--key", sys.argv[2], "--security", "test"]
code = None
try:
    from zkvm.entry import main
    main()
except SystemExit as e:
    code = e.code
bad = sorted(m for m in sys.modules if m.split(".")[0] in ("numba", "galois", "llvmlite", "typer",
             "ray") or m.startswith(("zkvm.runtime", "zkvm.assembler", "zkvm.isa",
             "zkvm.stark.prover", "zkvm.stark.setup", "zkvm.cli_prove", "zkvm.segments.plan",
             "zkvm.segments.prove")))
print("EXIT", code)
print("IMPORTED", bad)
"""


def test_zkvm_verify_key_of_a_bundle_imports_no_prover_isa_or_jit(bundle):
    import subprocess
    import sys

    _, _, paths, _ = bundle
    r = subprocess.run([sys.executable, "-c", CLI_CHECK, paths["proof"], paths["vk"]],
                       capture_output=True, text=True, timeout=120)
    assert "EXIT 0" in r.stdout, r.stdout + r.stderr
    assert "IMPORTED []" in r.stdout, r.stdout


def test_cli_run_prove_in_segments_then_setup_and_verify(tmp_path):
    from typer.testing import CliRunner

    from zkvm.cli import app

    prog, x = residual_mlp(11)
    prog.save(str(tmp_path / "m.zkvm"))
    np.save(tmp_path / "x.npy", x["x"] / 2.0**8)
    run = CliRunner()
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        r = run.invoke(app, ["run", "m.zkvm", "-i", "x.npy", "--prove", "--segment-rows", "32",
                             "--boundary", "hashed", "--security", "test", "--proof", "b.proof"])
        assert r.exit_code == 0, r.output
        assert "a bundle of" in r.output and "hashed boundaries" in r.output
        r = run.invoke(app, ["setup", "m.zkvm", "-o", "b.bvk", "--segment-rows", "32",
                             "--boundary", "hashed", "--security", "test"])
        assert r.exit_code == 0, r.output
        assert _cli("b.proof", "--key", "b.bvk", "--security", "test") == 0
        assert _cli("b.proof", "--program", "m.zkvm", "--security", "test") == 0
        # a key of another split (public boundaries) is not this bundle's
        r = run.invoke(app, ["setup", "m.zkvm", "-o", "p.bvk", "--segment-rows", "32",
                             "--security", "test"])
        assert _cli("b.proof", "--key", "p.bvk", "--security", "test") == 1
        r = run.invoke(app, ["run", "m.zkvm", "-i", "x.npy", "--prove", "--max-memory", "10MiB",
                             "--security", "test"])
        assert r.exit_code == 2 and "below" in r.output
        r = run.invoke(app, ["run", "m.zkvm", "-i", "x.npy", "--segment-rows", "32"])
        assert r.exit_code == 2 and "add --prove" in r.output
        # zkvm prove: the same as run --prove (the command issue 14 names)
        r = run.invoke(app, ["prove", "m.zkvm", "-i", "x.npy", "--segment-rows", "32",
                             "--security", "test", "--proof", "c.proof"])
        assert r.exit_code == 0, r.output
        assert "a bundle of" in r.output
        assert _cli("c.proof", "--program", "m.zkvm", "--security", "test") == 0
    finally:
        os.chdir(cwd)


def test_failed_prover_leaves_no_partial_bundle(tmp_path):
    prog, x = residual_mlp(12)
    path = str(tmp_path / "f.proof")

    def boom(i, inputs, salts):
        if i == 2:
            raise RuntimeError("worker lost")
        return inputs, salts
    with pytest.raises(RuntimeError):
        prove_bundle(prog, x, path, SegmentParams(ROWS), "test", _segment=boom)
    assert not os.path.exists(path)
    with pytest.raises(SegmentError, match="missing"):
        segapi.prove_segmented(prog, {}, path, segment_rows=ROWS, security="test")


def test_output_that_is_a_view_is_made_in_its_last_segment(tmp_path):
    """A program ending with a reshape (a view): its sources cross to the segment making it."""
    prog0, x = residual_mlp(13)
    b = Builder()
    for t in prog0.tensors.values():
        if t.kind == "input":
            b.input(t.name, t.shape, t.bits, t.scale, t.visibility, t.value_range)
        elif t.kind == "weight":
            b.weight(t.name, prog0.weights[t.name], t.bits, t.scale)
    for ins in prog0.instructions:
        b.instruction(ins.op, ins.inputs, ins.output, ins.attrs,
                      bits=prog0.tensors[ins.output].bits)
    b.emit("reshape", ["y"], "y10", {"shape": [10]})
    b.output("y10")
    prog = b.build()
    path = str(tmp_path / "v.proof")
    rep = segapi.prove_segmented(prog, x, path, segment_rows=ROWS, security="test", seed=b"v")
    assert rep.n_segments >= 3
    res = segapi.verify_segmented(path, program=prog, security="test")
    assert res["outputs"]["y10"].tolist() == execute(prog, x).outputs["y10"].tolist()
