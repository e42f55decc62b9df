"""Segments of programs with hidden weights (zkvm.segments.plan, per-tensor commitments).

Hashed weights are split per segment through the per-tensor model commitment
(``zkvm.isa.hidden.ModelCommitment.subset``): every segment proves the parts of
the weights it reads, and the verifier takes the parts from the public
program. A malicious prover (the real prover, one segment's weights changed)
is refused through ``segapi.verify_segmented`` with the program and with a
bundle key, and through ``zkvm verify --program`` and ``--key``.
"""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest

import zkvm.api as api
import zkvm.segments.api as segapi
from zkvm import cli_verify
from zkvm.isa import Program
from zkvm.isa.hidden import SCHEME, make_commitment
from zkvm.isa.program import ProgramBuilder
from zkvm.isa.visibility import with_visibility
from zkvm.runtime import execute
from zkvm.segments.bundle import KEY_MAGIC, BundleReader, BundleWriter
from zkvm.segments.plan import SegmentError, SegmentParams, plan
from zkvm.segments.prove import SegmentResult, prove_bundle, prove_segment
from zkvm.segments.verify import BoundaryMismatch
from zkvm.stark.errors import KeyMismatch, VerificationError

from test_segments import ROWS, residual_mlp

SALT = [5, 6, 7, 8]


def hashed_mlp(weights="hashed", seed: int = 3):
    prog, x = residual_mlp(seed)
    return with_visibility(prog, weights=weights, salt=SALT), x


def _cli(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        rc = cli_verify.main(list(args))
    return rc, out.getvalue()


@pytest.fixture(scope="module")
def hidden_bundle(tmp_path_factory):
    """An honest bundle of the hashed-weights MLP, its bundle key and the *public* program."""
    prog, x = hashed_mlp()
    d = tmp_path_factory.mktemp("segh")
    paths = {k: str(d / f"m.{k}") for k in ("proof", "vk", "zkvm")}
    prog.save(paths["zkvm"])                      # the public program: no weight values
    public = Program.load(paths["zkvm"])
    rep = segapi.prove_segmented(prog, x, paths["proof"], segment_rows=ROWS, security="test",
                                 seed=b"hidden")
    segapi.setup_segmented(public, paths["vk"], segment_rows=ROWS, security="test")
    return prog, public, x, paths, rep


def rewrite_key(src: str, dst: str, edit) -> str:
    """A bundle key rewritten by ``edit(header, [segment key bytes]) -> (header, keys)``."""
    with BundleReader(src, KEY_MAGIC, "key", "key") as r:
        header, segs = edit(dict(r.header), list(r.segments()))
    with BundleWriter(dst, KEY_MAGIC, "key", header) as w:
        for kb in segs:
            w.add(kb)
    return dst


def assert_refused_everywhere(path: str, paths: dict, public) -> None:
    with pytest.raises(VerificationError):
        segapi.verify_segmented(path, program=public, security="test")
    with pytest.raises(VerificationError):
        segapi.verify_segmented(path, key=paths["vk"], security="test")
    assert _cli(path, "--program", paths["zkvm"], "--security", "test")[0] != 0
    assert _cli(path, "--key", paths["vk"], "--security", "test")[0] != 0


# ------------------------------------------------------------------------- the plan

def test_segments_carry_the_parts_of_the_weights_they_read():
    prog, _ = hashed_mlp()
    public = Program.from_bytes(prog.to_bytes())
    pl, pub = plan(prog, SegmentParams(ROWS)), plan(public, SegmentParams(ROWS))
    assert pl.n_segments >= 3
    parts = dict(zip(prog.commitment.tensors, prog.commitment.parts))
    for i in range(pl.n_segments):
        sp, spub = pl.segment_program(i), pub.segment_program(i)
        # the verifier derives the same segment program from the public program
        assert sp.digest == spub.digest
        names = [t for t in sp.tensors.values() if t.kind == "weight"]
        if names:
            assert not spub.weights_bound
            c = sp.commitment
            assert c.per_tensor and c.parts == tuple(parts[n] for n in c.tensors)
            assert sorted(c.tensors) == sorted(t.name for t in names)
            sp.bind_weights(sp.private_weights())   # values and salts open the parts


def test_one_sponge_commitment_is_refused_with_what_to_do():
    prog, _ = residual_mlp()
    b = ProgramBuilder()
    for t in prog.tensors.values():
        if t.kind == "input":
            b.input(t.name, t.shape, t.bits, t.scale, t.visibility, t.value_range)
        elif t.kind == "weight":
            b.weight(t.name, prog.weights[t.name], t.bits, t.scale, t.shape, "hashed")
        else:
            ins = prog.instructions[prog.producer(t.name)]
            b.instruction(ins.op, list(ins.inputs), ins.output, dict(ins.attrs), t.bits,
                          widen=True)
    b.output("y")
    names = [n for n, t in b.tensors.items() if t.kind == "weight"]
    b.commitment, b.weight_salt = make_commitment([b.tensors[n] for n in names],
                                                  [b.weights[n] for n in names], SALT, SCHEME)
    old = b.build()
    with pytest.raises(SegmentError, match="one hash over all its hashed weights.*build the "
                                           "program again"):
        plan(old, SegmentParams(ROWS))
    plan(old, SegmentParams(10**6))   # one segment: the program itself, still fine


def test_private_weight_read_by_two_segments_is_refused():
    prog, _ = residual_mlp()
    b = ProgramBuilder()
    b.input("x", (1, 16), 16, 8, "public", (0, 256))
    b.weight("w", prog.weights["w2"][:16, :16], 16, 10, visibility="private")
    b.instruction("matmul", ["x", "w"], "h.acc")
    b.instruction("rescale", ["h.acc"], "h", {"k": 10})
    b.instruction("relu", ["h"], "a")
    b.instruction("matmul", ["a", "w"], "g.acc")   # the same private weight, a layer later
    b.instruction("rescale", ["g.acc"], "g", {"k": 10})
    b.output("g")
    p = b.build()
    with pytest.raises(SegmentError, match="private weight 'w' is read by segments"):
        plan(p, SegmentParams(16))


# ---------------------------------------------------------------- honest bundles

def test_hashed_weights_bundle_verifies_everywhere_and_names_the_commitment(hidden_bundle):
    prog, public, x, paths, rep = hidden_bundle
    assert rep.n_segments >= 3
    want = execute(prog, x).outputs["y"].tolist()
    for res in (segapi.verify_segmented(paths["proof"], program=public, security="test"),
                segapi.verify_segmented(paths["proof"], key=paths["vk"], security="test")):
        assert res["outputs"]["y"].tolist() == want
        assert res["model"] == prog.commitment.hex
    for args in (("--program", paths["zkvm"]), ("--key", paths["vk"]),
                 ("--key", paths["vk"], "--program", paths["zkvm"])):
        rc, out = _cli(paths["proof"], *args, "--security", "test")
        assert rc == 0 and f"model commitment (weights) {prog.commitment.hex}" in out


def test_private_and_hashed_weights_mixed(tmp_path):
    prog, x = hashed_mlp({"w1": "private", "b1": "private", "w2": "hashed", "b2": "hashed",
                          "w3": "public"}, seed=7)
    path = str(tmp_path / "m.proof")
    segapi.prove_segmented(prog, x, path, segment_rows=ROWS, security="test", seed=b"mix")
    public = Program.from_bytes(prog.to_bytes())
    res = segapi.verify_segmented(path, program=public, security="test")
    assert res["outputs"]["y"].tolist() == execute(prog, x).outputs["y"].tolist()


# ------------------------------------------------------------- a malicious prover

class _ForgingExecutor:
    """Proves every job honestly except ``target``, whose weight ``name`` it changes (and
    proves anyway: ``_tamper`` skips the prover's own commitment check)."""

    def __init__(self, target: int, name: str, recommit: bool = False):
        self.target, self.name, self.recommit = target, name, recommit

    def run(self, jobs):
        for job in jobs:
            if job.index != self.target:
                yield prove_segment(job)
                continue
            sp = job.program
            pw = sp.private_weights()
            w = pw.values[self.name].copy()
            t = sp.tensors[self.name]
            w.flat[0] = w.flat[0] + 1 if w.flat[0] < t.hi else w.flat[0] - 1
            pw.values = {**pw.values, self.name: w}
            forged = sp.bind_weights(pw, check=False)
            if self.recommit:   # a fresh, valid commitment to the forged values
                forged = with_visibility(forged)
            yield SegmentResult(api.prove(
                forged, job.inputs, job.security, salts=job.salts, seed=job.seed,
                _tamper=None if self.recommit else (lambda tr: tr)).to_bytes())


@pytest.mark.parametrize("recommit", [False, True], ids=["same-part", "recommitted"])
def test_segment_proved_with_other_weights_is_rejected(hidden_bundle, tmp_path, recommit):
    """One segment runs on a changed hashed weight: against the published part (its Poseidon2
    digest disagrees), or under a fresh commitment of its own (another segment program)."""
    prog, public, x, paths, _ = hidden_bundle
    pl = plan(prog, SegmentParams(ROWS))
    target = next(s.index for s in pl.segments if any(r == "weight" for r, _ in s.reads))
    name = next(n for r, n in pl.segments[target].reads if r == "weight")
    bad = str(tmp_path / "forged.proof")
    prove_bundle(prog, x, bad, SegmentParams(ROWS, "hashed"), "test", seed=b"hidden",
                 executor=_ForgingExecutor(target, name, recommit))
    with pytest.raises(VerificationError) as e:
        segapi.verify_segmented(bad, program=public, security="test")
    assert not isinstance(e.value, BoundaryMismatch)   # the segment's own proof fails first
    assert_refused_everywhere(bad, paths, public)


def test_bundle_key_with_a_segment_of_other_weights_is_refused(hidden_bundle, tmp_path):
    """A key whose one segment key commits to other weights (a recommitted part): --key alone
    checks every segment key's parts against the key's model commitment."""
    prog, public, x, paths, _ = hidden_bundle
    pl = plan(prog, SegmentParams(ROWS))
    target = next(s.index for s in pl.segments if any(r == "weight" for r, _ in s.reads))
    sp = with_visibility(pl.segment_program(target))   # same weights, a fresh salt: new parts

    def swap(header, segs):
        segs[target] = api.setup(sp, "test").vk.to_bytes()
        return header, segs
    bad = rewrite_key(paths["vk"], str(tmp_path / "other.bvk"), swap)
    with pytest.raises(KeyMismatch, match="not the program's model commitment"):
        segapi.verify_segmented(paths["proof"], key=bad, security="test")
    assert _cli(paths["proof"], "--key", bad, "--security", "test")[0] != 0


def test_cli_hashed_weights_in_segments(tmp_path, monkeypatch):
    """zkvm run PUBLIC.zkvm --weights W.zkw --prove --segment-rows N; setup; verify both ways."""
    from typer.testing import CliRunner

    from zkvm.cli import app

    prog, x = hashed_mlp(seed=11)
    prog.save(str(tmp_path / "m.zkvm"))
    prog.private_weights().save(str(tmp_path / "m.zkw"))
    np.save(tmp_path / "x.npy", x["x"] / 2.0**8)
    monkeypatch.chdir(tmp_path)
    run = CliRunner()
    r = run.invoke(app, ["run", "m.zkvm", "--weights", "m.zkw", "-i", "x.npy", "--prove",
                         "--segment-rows", str(ROWS), "--security", "test", "--proof", "b.proof"])
    assert r.exit_code == 0, r.output
    assert "a bundle of" in r.output and f"model commitment {prog.commitment.hex}" in r.output
    r = run.invoke(app, ["run", "m.zkvm", "-i", "x.npy", "--prove", "--segment-rows", str(ROWS),
                         "--security", "test", "--proof", "n.proof"])
    assert r.exit_code == 2 and "weights" in r.output        # no weights file: a clear error
    r = run.invoke(app, ["setup", "m.zkvm", "-o", "b.bvk", "--segment-rows", str(ROWS),
                         "--security", "test"])
    assert r.exit_code == 0, r.output
    for args in (("--key", "b.bvk"), ("--program", "m.zkvm")):
        rc, out = _cli("b.proof", *args, "--security", "test")
        assert rc == 0 and prog.commitment.hex in out


def test_large_hidden_layers_are_committed_in_column_blocks_that_segments_split(
        tmp_path, monkeypatch):
    """with_visibility cuts a matmul whose weight turns hidden and is large into column
    blocks, each its own hashed tensor (its own part): the same integers, and a split that
    puts the blocks of one layer in different segments proves and verifies."""
    import zkvm.isa.blocks as blocks

    monkeypatch.setattr(blocks, "BLOCK_ELEMS", 200)
    pub, x = residual_mlp(12, width=48)
    prog = with_visibility(pub, weights={"w1": "private", "b1": "private", "w2": "hashed",
                                         "b2": "hashed", "w3": "hashed"}, salt=SALT)
    # w1 (16x48 = 768 values) -> 4 blocks, w2 (48x48) -> 16, w3 (48x10 = 480) -> 4 (10 columns)
    names = [t.name for t in prog.tensors.values() if t.kind == "weight"]
    assert [n for n in names if n.startswith("w2")] == [f"w2.blk{j}" for j in range(16)]
    assert "w1" not in names and "w1.blk3" in names and "b1.blk3" in names
    assert prog.tensors["w1.blk0"].visibility == "private"
    assert prog.commitment.tensors[:2] == ("w2.blk0", "b2.blk0")
    assert execute(prog, x).outputs["y"].tolist() == execute(pub, x).outputs["y"].tolist()
    pl = plan(prog, SegmentParams(ROWS))
    layer2 = [s.index for s in pl.segments if any(n.startswith("w2.blk") for r, n in s.reads)]
    assert len(layer2) > 1   # the hidden layer spans segments
    path = str(tmp_path / "b.proof")
    segapi.prove_segmented(prog, x, path, segment_rows=ROWS, security="test", seed=b"blk")
    public = Program.from_bytes(prog.to_bytes())
    res = segapi.verify_segmented(path, program=public, security="test")
    assert res["outputs"]["y"].tolist() == execute(pub, x).outputs["y"].tolist()
    assert res["model"] == prog.commitment.hex


def test_hidden_blocks_fit_the_block_size_so_hiding_again_changes_nothing(monkeypatch):
    """Uneven column edges: the widest block still fits BLOCK_ELEMS, so a second
    with_visibility cuts nothing more."""
    import zkvm.isa.blocks as blocks

    monkeypatch.setattr(blocks, "BLOCK_ELEMS", 100)
    pub, x = residual_mlp(14, width=40)          # w2: 40 x 40; 40 values a column
    once = with_visibility(pub, weights="hashed", salt=SALT)
    widths = [once.tensors[n].shape[1] for n in once.tensors if n.startswith("w2.blk")]
    assert sum(widths) == 40 and max(widths) * 40 <= 100
    twice = with_visibility(once, weights="hashed", salt=SALT)
    assert [n for n in twice.tensors if ".blk" in n] == [n for n in once.tensors if ".blk" in n]
    assert execute(twice, x).outputs["y"].tolist() == execute(pub, x).outputs["y"].tolist()


def test_bundle_key_whose_commitment_does_not_match_its_parts_is_refused(hidden_bundle,
                                                                        tmp_path):
    """--key alone: the commitment zkvm verify prints must be the hash of the parts every
    segment key is checked against (a key header edited to show another one is refused)."""
    prog, public, x, paths, _ = hidden_bundle

    def show_another(header, segs):
        header["io"] = {**header["io"], "commitment": {**header["io"]["commitment"],
                                                        "digest": "ab" * 32}}
        return header, segs
    bad = rewrite_key(paths["vk"], str(tmp_path / "shown.bvk"), show_another)
    with pytest.raises(KeyMismatch, match="does not match its per-tensor parts"):
        segapi.verify_segmented(paths["proof"], key=bad, security="test")
    assert _cli(paths["proof"], "--key", bad, "--security", "test")[0] != 0
