"""Visibility in programs (no proving): syntax, files, commitment, binding, transform."""

from __future__ import annotations

import numpy as np
import pytest

from zkvm.assembler import Builder, assemble, disassemble
from zkvm.isa import Program, ProgramFileError
from zkvm.isa.errors import IsaError, ProgramOverflowError, ZkvmError
from zkvm.isa.hidden import (
    SCHEME, SCHEME_PER_TENSOR, ModelCommitment, digest_hex, hash_elements, hash_tensors,
    expand_salt, make_commitment, parse_digest,
)
from zkvm.isa.program import WeightsError
from zkvm.isa.visibility import with_visibility
from zkvm.runtime import execute
from zkvm.isa.weights_file import PrivateWeights, WeightsFileError

SALT = [11, 22, 33, 44]
# a weight pattern no encoding of anything else is likely to contain
W = np.array([[12345, -23456, 7891], [-31234, 21987, -17], [30001, -29999, 4242],
              [-12121, 16161, -25252]], dtype=np.int64)
B = np.array([1234567, -7654321, 99], dtype=np.int64)
SRC = f"""
input x : i8[1,4] scale 4 {{xv}}
weight w : i16[4,3] scale 8 {{wv}} = {W.tolist()}
weight b : i32[3] scale 12 {{wv}} = {B.tolist()}
h0 = matmul x, w, b
h : i16 = rescale h0, 12
y = relu h
output y {{ov}}
"""


def src(xv: str = "public", wv: str = "hashed", ov: str = "") -> str:
    return SRC.format(xv=xv, wv=wv, ov=ov)


def encodings(values: np.ndarray) -> list[bytes]:
    """Every encoding a weight run could take in a file: LE ints of 2/4/8 bytes, field elements."""
    v = np.asarray(values, dtype=np.int64).ravel()
    out = [v.astype(dt).tobytes() for dt in ("<i2", "<i4", "<i8")]
    p = 2**64 - 2**32 + 1
    out.append(b"".join((int(x) % p).to_bytes(8, "little") for x in v))
    out.append(b"".join((int(x) % p).to_bytes(8, "big") for x in v))
    return out


def contains_run(data: bytes, values: np.ndarray, run: int = 3) -> bool:
    """True when ``data`` holds ``run`` consecutive values in any encoding."""
    v = np.asarray(values, dtype=np.int64).ravel()
    for i in range(v.size - run + 1):
        if any(e in data for e in encodings(v[i:i + run])):
            return True
    return False


def test_syntax_round_trip_and_visibilities():
    p = assemble(src("hashed", "hashed", "hashed"), salt=SALT)
    assert [p.tensors[n].visibility for n in ("x", "w", "b", "y")] == ["hashed"] * 4
    assert p.hidden_weights == ["w", "b"]
    assert p.commitment.tensors == ("w", "b")
    text = disassemble(p)
    assert "output y hashed" in text and "weight w : i16[4,3] scale 8 hashed" in text
    back = Program.from_bytes(p.to_bytes())
    assert "= hidden" in disassemble(back)
    assert f"model commitment {p.commitment.hex}" in disassemble(back)


def test_unknown_visibility_is_refused():
    b = Builder()
    with pytest.raises(IsaError, match="visibility"):
        b.input("x", (2,), 8, 0, "secret")


def _packed():
    """i16 weights three to a field element, i32 one: offsets u = w + 2^(N-1), sum u_j 2^(N j)."""
    uw = (W.ravel() + 2**15).tolist()
    pw = [sum(u << (16 * j) for j, u in enumerate(uw[i:i + 3])) for i in range(0, 12, 3)]
    return pw, [int(b) + 2**31 for b in B]


def test_commitment_is_the_hash_of_salted_per_tensor_parts():
    p = assemble(src(), salt=SALT)
    assert p.commitment.scheme == SCHEME_PER_TENSOR
    header = [2, 2, 4, 3, 16, 8, 1, 3, 32, 12]     # tensors; (ndim, shape, bits, scale) each
    assert p.commitment_header == header
    pw, pb = _packed()
    # one salt per tensor (given one test salt: hash_elements([i], SALT)), one part per tensor
    sw, sb = hash_elements([0], SALT), hash_elements([1], SALT)
    assert list(p.weight_salt) == sw + sb
    cw = hash_elements([1, 2, 4, 3, 16, 8] + pw, sw)
    cb = hash_elements([1, 1, 3, 32, 12] + pb, sb)
    assert [list(c) for c in p.commitment.parts] == [cw, cb]
    assert list(p.commitment.digest) == hash_elements(cw + cb)
    assert parse_digest(p.commitment.hex) == list(p.commitment.digest)


def test_one_sponge_commitment_is_the_salted_hash_of_header_and_weights():
    p = assemble(src(), salt=SALT)
    c, salt = make_commitment([p.tensors["w"], p.tensors["b"]], [W, B], SALT, SCHEME)
    pw, pb = _packed()
    assert list(c.digest) == hash_elements(p.commitment_header + pw + pb, SALT)
    assert c.groups() == [(("w", "b"), c.digest)] and list(salt) == SALT


def test_per_tensor_parts_that_do_not_hash_to_the_digest_are_refused():
    p = assemble(src(), salt=SALT)
    c = p.commitment
    with pytest.raises(IsaError, match="do not hash to its digest"):
        ModelCommitment(c.tensors, c.digest, c.salt_len, c.scheme, c.parts[::-1]).validate()
    doc = p.to_bytes()
    forged = doc.replace(bytes.fromhex(digest_hex(c.parts[0])), bytes(32))
    with pytest.raises(ProgramFileError, match="parts"):
        Program.from_bytes(forged)


def test_subset_commits_to_the_named_parts():
    p = assemble(src(), salt=SALT)
    sub = p.commitment.subset(["b"])
    assert sub.tensors == ("b",) and sub.parts == (p.commitment.parts[1],)
    assert list(sub.digest) == hash_elements(list(p.commitment.parts[1]))
    assert list(p.commitment.subset_salt(p.weight_salt, ["b"])) == hash_elements([1], SALT)


def test_same_integers_with_another_scale_commit_differently():
    a = assemble(src(), salt=SALT)
    b = assemble(src().replace("scale 8 hashed", "scale 7 hashed").replace(
        "scale 12 hashed", "scale 11 hashed"), salt=SALT)
    assert a.commitment.digest != b.commitment.digest


def test_fast_hash_matches_reference():
    v = np.arange(-2500, 2600) * 7919
    assert hash_tensors([v[:3000], v[3000:]], SALT) == hash_elements([int(x) for x in v], SALT)


def test_two_salts_give_different_commitments():
    a = assemble(src())
    b = assemble(src())
    assert a.commitment.digest != b.commitment.digest
    assert a.digest != b.digest
    c = assemble(src(), salt=SALT)
    d = assemble(src(), salt=SALT)
    assert c.commitment == d.commitment and c.digest == d.digest


def test_public_program_file_holds_no_weight_value(tmp_path):
    public = assemble(src(wv="public"))
    assert contains_run(public.to_bytes(), W) and contains_run(public.to_bytes(), B, 2)
    p = assemble(src(), salt=SALT)
    path = tmp_path / "m.zkvm"
    p.save(str(path))
    data = path.read_bytes()
    assert not contains_run(data, W) and not contains_run(data, B, 2)
    wpath = tmp_path / "m.zkw"
    p.private_weights().save(str(wpath))
    assert contains_run(wpath.read_bytes(), W)   # the private file does


def test_digest_binds_commitment_not_values():
    p = assemble(src(), salt=SALT)
    back = Program.from_bytes(p.to_bytes())
    assert back.digest == p.digest and not back.weights_bound
    assert back.commitment == p.commitment
    other = with_visibility(p, salt=[1, 2, 3, 4])        # same values, other salt
    assert other.digest != p.digest


def test_bound_program_executes_like_public_twin():
    pub = assemble(src(wv="public"))
    hid = Program.from_bytes(assemble(src(), salt=SALT).to_bytes())
    with pytest.raises(WeightsError, match="weights file"):
        hid.require_weights()
    bound = hid.bind_weights(assemble(src(), salt=SALT).private_weights())
    x = {"x": np.array([[3, -4, 5, 127]])}
    assert (execute(bound, x).outputs["y"] == execute(pub, x).outputs["y"]).all()
    assert bound.digest == hid.digest


def test_other_weights_do_not_bind():
    p = assemble(src(), salt=SALT)
    public = Program.from_bytes(p.to_bytes())
    pw = p.private_weights()
    bad = PrivateWeights({**pw.values, "w": pw.values["w"].copy()}, pw.salt, pw.commitment,
                         pw.program_digest, pw.hashed)
    bad.values["w"][1, 2] += 1
    with pytest.raises(WeightsError, match="commitment"):
        public.bind_weights(bad)
    with pytest.raises(WeightsError, match="commitment"):
        public.bind_weights(PrivateWeights(pw.values, [1, 2, 3, 4], None, b"", pw.hashed))
    wide = PrivateWeights({**pw.values, "w": pw.values["w"] * 4}, pw.salt)
    with pytest.raises(WeightsError, match="outside its declared"):
        public.bind_weights(wide)
    with pytest.raises(WeightsError, match="no values"):
        public.bind_weights(PrivateWeights({"w": pw.values["w"]}, pw.salt))


def test_weights_file_round_trip_and_bad_files(tmp_path):
    pw = assemble(src(), salt=SALT).private_weights()
    back = PrivateWeights.from_bytes(pw.to_bytes())
    assert back.salt == list(expand_salt(SALT, 2)) and back.hashed == ["w", "b"]
    assert back.scheme == SCHEME_PER_TENSOR
    assert (back.values["b"] == B).all() and back.recompute() == back.commitment
    data = pw.to_bytes()
    with pytest.raises(WeightsFileError, match="truncated|corrupt"):
        PrivateWeights.from_bytes(data[: len(data) // 2])
    with pytest.raises(WeightsFileError, match="magic"):
        PrivateWeights.from_bytes(assemble(src(), salt=SALT).to_bytes())
    with pytest.raises(WeightsFileError, match="cannot read"):
        PrivateWeights.load(str(tmp_path / "missing.zkw"))
    import msgpack

    doc = msgpack.unpackb(data, raw=False)
    doc["format"] = 7
    with pytest.raises(WeightsFileError, match="format 7"):
        PrivateWeights.from_bytes(msgpack.packb(doc, use_bin_type=True))


def test_public_programs_keep_format_1_and_their_digest():
    p = assemble(src(xv="private", wv="public"))
    assert p.to_bytes()[11] == 1          # [MAGIC, 1, ...]: msgpack fixint right after MAGIC
    q = assemble(src(), salt=SALT)
    assert q.to_bytes()[11] == 2


def test_version_1_file_cannot_hide_weights():
    import msgpack

    q = assemble(src(), salt=SALT)
    doc = msgpack.unpackb(q.to_bytes(), raw=False, strict_map_key=False,
                          ext_hook=lambda c, d: msgpack.ExtType(c, d))
    doc[1] = 1
    doc[3]["format"] = 1
    with pytest.raises(ProgramFileError, match="version 1"):
        Program.from_bytes(msgpack.packb(doc, use_bin_type=True))


def test_commitment_over_the_wrong_tensors_is_refused():
    import msgpack

    q = assemble(src(), salt=SALT)
    doc = msgpack.unpackb(q.to_bytes(), raw=False, strict_map_key=False,
                          ext_hook=lambda c, d: msgpack.ExtType(c, d))
    sub = q.commitment.subset(["w"])   # a well-formed commitment, to the wrong tensors
    doc[3]["commitment"] = {**doc[3]["commitment"], **sub.to_body()}
    with pytest.raises(ProgramFileError, match="commitment covers"):
        Program.from_bytes(msgpack.packb(doc, use_bin_type=True))


def test_bounds_through_hidden_weights_use_the_declared_width():
    pub = assemble(src(wv="public"))
    hid = assemble(src(), salt=SALT)
    assert hid.intervals["w"] == (-32768, 32767)
    lo, hi = hid.intervals["h0"]
    assert lo < pub.intervals["h0"][0] and hi > pub.intervals["h0"][1]
    # rescale keeps its declared (range-checked) width even though the worst case is wider
    assert hid.tensors["h"].bits == 16 and hid.intervals["h"] == (-32768, 32767)
    # an unchecked op does not get that leniency
    bad = src().replace("h0 = matmul x, w, b", "h0 : i16 = matmul x, w, b")
    with pytest.raises(ZkvmError, match="does not fit"):
        assemble(bad, salt=SALT)
    assert isinstance(ProgramOverflowError("x"), IsaError)


@pytest.mark.parametrize("kind", ["weights", "inputs", "outputs"])
def test_visibility_transform_keeps_the_computation(kind):
    pub = assemble(src(wv="public"))
    h = with_visibility(pub, salt=SALT, **{kind: "hashed"})
    x = {"x": np.array([[-128, 127, 0, 9]])}
    assert (execute(h, x).outputs["y"] == execute(pub, x).outputs["y"]).all()
    tensors = {"weights": ["w", "b"], "inputs": ["x"], "outputs": ["y"]}[kind]
    assert all(h.tensors[n].visibility == "hashed" for n in tensors)
    back = with_visibility(h, weights="public", inputs="public", outputs="public")
    if kind != "weights":     # hiding weights widens unchecked results for good
        assert back.digest == pub.digest
    assert (execute(back, x).outputs["y"] == execute(pub, x).outputs["y"]).all()


def test_digest_hex_round_trip():
    d = [0, 1, 2**64 - 2**32, 12345]
    assert parse_digest(digest_hex(d)) == d
    with pytest.raises(IsaError):
        parse_digest("00" * 31)
    with pytest.raises(IsaError, match="field element"):
        parse_digest("ff" * 32)


def test_commitment_over_no_tensor_is_refused():
    with pytest.raises(IsaError, match="at least one hashed weight"):
        ModelCommitment((), tuple(hash_elements([])), 4, SCHEME_PER_TENSOR, ()).validate()


def test_hashed_input_or_output_named_model_is_refused():
    """``model`` names the model commitment in what the verifier reports."""
    with pytest.raises(ZkvmError, match="cannot be named 'model'"):
        assemble(src("hashed").replace("input x ", "input model ")
                 .replace("matmul x,", "matmul model,"), salt=SALT)
    b = Builder()
    b.input("model", (1, 4), 8, 4)                # public: nothing is reported under its name
    with pytest.raises(IsaError, match="cannot be named 'model:x'"):
        b.input("model:x", (1, 4), 8, 4, "hashed")


def test_per_tensor_weights_file_is_format_2_and_one_sponge_stays_format_1():
    import msgpack

    new = assemble(src(), salt=SALT).private_weights()
    assert msgpack.unpackb(new.to_bytes(), raw=False)["format"] == 2
    old = PrivateWeights(new.values, SALT, None, b"", ["w", "b"], new.header, SCHEME)
    doc = msgpack.unpackb(old.to_bytes(), raw=False)
    assert doc["format"] == 1 and "scheme" not in doc
    assert PrivateWeights.from_bytes(old.to_bytes()).scheme == SCHEME
