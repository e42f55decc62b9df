"""Program files: round trip, digest canonicality, and every kind of bad file."""

from __future__ import annotations

import msgpack
import numpy as np
import pytest

from zkvm.assembler import assemble
from zkvm.isa import MAGIC, Program, ProgramBuilder, ProgramFileError, canonical

SRC = """
meta name = "t"
input x : i16[1,3] scale 8 range [-512, 512]
weight w : i8[3,2] scale 4 = [[1, -2], [3, 4], [-5, 6]]
weight b : i32[2] scale 12 = [100, -100]
h = matmul x, w, b
s = lut h, fn=sigmoid, range=[-20000, 20000], scale=8
y = rescale h, 4
output y, s
"""


@pytest.fixture(scope="module")
def prog() -> Program:
    return assemble(SRC)


def test_round_trip_keeps_digest_and_everything(prog, tmp_path):
    path = tmp_path / "p.zkvm"
    prog.save(str(path))
    back = Program.load(str(path))
    assert back.digest == prog.digest
    assert list(back.tensors.values()) == list(prog.tensors.values())
    assert back.instructions == prog.instructions  # lut tables included
    assert back.metadata == {"name": "t"}
    for n in prog.tensors:
        assert back.addresses(n).tolist() == prog.addresses(n).tolist()


def test_weights_are_stored_compactly(prog):
    data = prog.to_bytes()
    assert data.startswith(b"\x95\xc4\x08" + MAGIC)
    w_raw = np.array([[1, -2], [3, 4], [-5, 6]], dtype="<i1").tobytes()
    assert w_raw in data


def test_digest_ignores_metadata_and_key_order(prog):
    other = assemble(SRC.replace('meta name = "t"', 'meta name = "other"'))
    assert other.digest == prog.digest
    assert canonical({"a": 1, "b": [2]}) == canonical({"b": [2], "a": 1})
    assert canonical(np.array([1, 2], dtype=np.int8)) == canonical(np.array([1, 2], dtype=np.int64))


def test_digest_changes_with_any_weight(prog):
    other = assemble(SRC.replace("[100, -100]", "[100, -99]"))
    assert other.digest != prog.digest


def test_truncated_file_is_rejected(prog):
    data = prog.to_bytes()
    for cut in (0, 5, 20, len(data) // 2, len(data) - 1):
        with pytest.raises(ProgramFileError):
            Program.from_bytes(data[:cut])


def test_corrupt_file_is_rejected(prog):
    data = bytearray(prog.to_bytes())
    rng = np.random.default_rng(0)
    for _ in range(40):
        bad = bytearray(data)
        i = int(rng.integers(11, len(bad)))
        bad[i] ^= int(rng.integers(1, 256))
        try:
            Program.from_bytes(bytes(bad))
        except ProgramFileError:
            pass  # the only exception a corrupt file may raise


def test_wrong_kind_is_rejected():
    with pytest.raises(ProgramFileError, match="not a zkvm program"):
        Program.from_bytes(msgpack.packb([b"ZKVMPROF", 1, "0.1.0", {}, {}]))
    with pytest.raises(ProgramFileError, match="not a zkvm program"):
        Program.from_bytes(SRC.encode())


def test_wrong_version_is_rejected(prog):
    doc = msgpack.unpackb(prog.to_bytes(), raw=False, ext_hook=lambda c, d: msgpack.ExtType(c, d))
    doc[1] = 99
    with pytest.raises(ProgramFileError, match="version 99"):
        Program.from_bytes(msgpack.packb(doc, use_bin_type=True))


def test_inconsistent_program_is_rejected(prog):
    doc = msgpack.unpackb(prog.to_bytes(), raw=False, ext_hook=lambda c, d: msgpack.ExtType(c, d))
    doc[3]["instructions"][0]["inputs"] = ["x", "nope"]
    with pytest.raises(ProgramFileError, match="invalid program"):
        Program.from_bytes(msgpack.packb(doc, use_bin_type=True))
    doc = msgpack.unpackb(prog.to_bytes(), raw=False, ext_hook=lambda c, d: msgpack.ExtType(c, d))
    for t in doc[3]["tensors"]:
        if t["name"] == "h":
            t["bits"] = 4  # narrower than the bound of a matmul (not range-checked)
    with pytest.raises(ProgramFileError, match="does not fit"):
        Program.from_bytes(msgpack.packb(doc, use_bin_type=True))


def test_narrowed_rescale_in_a_file_keeps_its_range_checked_width(prog):
    """A rescale's chip range-checks its result, so a file may declare it narrower than
    its worst case (the compiler's calibrated widths); the width becomes its bound."""
    doc = msgpack.unpackb(prog.to_bytes(), raw=False, ext_hook=lambda c, d: msgpack.ExtType(c, d))
    for t in doc[3]["tensors"]:
        if t["name"] == "y":
            t["bits"] = 4
    back = Program.from_bytes(msgpack.packb(doc, use_bin_type=True))
    assert back.tensors["y"].bits == 4 and back.intervals["y"] == (-8, 7)


def test_missing_file_is_a_program_file_error(tmp_path):
    with pytest.raises(ProgramFileError, match="cannot read"):
        Program.load(str(tmp_path / "nope.zkvm"))


def test_builder_program_addresses_are_contiguous():
    b = ProgramBuilder()
    b.input("x", (2, 2), 8, 0)
    b.weight("w", [[1, 2], [3, 4]], 8, 0)
    b.instruction("matmul", ["x", "w"], "y")
    b.instruction("pad", ["y"], "z", {"pads": [[1, 0], [0, 1]]})
    b.output("z")
    p = b.build()
    assert p.addresses("x").tolist() == [[1, 2], [3, 4]]
    assert p.addresses("w").tolist() == [[5, 6], [7, 8]]
    assert p.addresses("y").tolist() == [[9, 10], [11, 12]]
    assert p.addresses("z").tolist() == [[0, 0, 0], [9, 10, 0], [11, 12, 0]]
    assert p.n_addresses == 13
