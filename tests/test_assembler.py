"""Assembler: errors with file:line:col, static checks, and disasm round trips."""

from __future__ import annotations

import glob
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zkvm.assembler import AssemblyError, assemble, assemble_file, disassemble

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROGRAMS = sorted(glob.glob(os.path.join(ROOT, "programs", "*.zasm")))

HEAD = "input x : i16[2,3] scale 8 range [-256, 256]\nweight w : i8[3,4] scale 4 = " \
       "[[1,2,3,4],[5,6,7,8],[-1,-2,-3,-4]]\n"


def err(src: str) -> str:
    with pytest.raises(AssemblyError) as e:
        assemble(src, "t.zasm")
    return str(e.value)


@pytest.mark.parametrize("path", PROGRAMS, ids=os.path.basename)
def test_examples_round_trip_through_disasm(path):
    p = assemble_file(path)
    text = disassemble(p)
    q = assemble(text, "disasm.zasm")
    assert q.digest == p.digest
    assert disassemble(q) == text


def test_malformed_assembly_points_at_line_and_column():
    assert err(HEAD + "y = matmul x w\noutput y\n").startswith("t.zasm:3:14: error: expected end of line")
    assert "t.zasm:1:11: error: expected a width such as i8" in err("input x : f32[1] scale 0\n")
    assert "t.zasm:1:18: error: expected 'scale'" in err("input x : i16[1] sc 0\n")
    assert "t.zasm:1:1: error: unexpected character '@'" in err("@\n")
    assert "expected ']'" in err("input x : i16[1, 2 scale 0\n")


def test_unknown_opcode_lists_the_known_ones():
    m = err(HEAD + "y = matmull x, w\noutput y\n")
    assert m.startswith("t.zasm:3:5: error: unknown opcode 'matmull'") and "matmul" in m


def test_shape_mismatch_names_instruction_and_shapes():
    m = err(HEAD + "y = matmul w, x\noutput y\n")
    assert m.startswith("t.zasm:3:1: error:") and "'y = matmul w, x'" in m
    assert "[3,4] and [2,3] do not agree" in m


def test_undefined_and_redefined_names():
    assert "'z' is not defined" in err(HEAD + "y = relu z\noutput y\n")
    assert "already defined" in err(HEAD + "x = relu x\noutput x\n")
    assert "no output" in err(HEAD + "y = relu x\n")


def test_scale_mismatch_is_explained():
    m = err(HEAD + "h = matmul x, w\ny = add h, x\noutput y\n")
    assert "equal scale" in m and "rescale" in m


def test_overflowing_program_is_refused_with_bound_and_suggestion():
    m = err(HEAD + "h : i8 = matmul x, w\noutput h\n")
    assert "t.zasm:3:1" in m and "[-4096, 4096]" in m and "does not fit i8" in m
    assert "declare it i14 or wider" in m
    src = ("input x : i63[1,2] scale 0\nweight w : i8[2,1] scale 0 = [[100],[100]]\n"
           "y = matmul x, w\noutput y\n")
    assert "2^62" in err(src)


def test_width_is_inferred_from_the_bound():
    p = assemble(HEAD + "h = matmul x, w\ny = rescale h, 12\noutput y\n")
    assert p.tensors["h"].bits == 16  # |h| <= 256*16 = 4096
    assert p.tensors["y"].bits == 8
    assert p.intervals["h"] == (-4096, 4096)  # per-column |w| sums: 7,10,13,16


def test_missing_weights_file(tmp_path):
    src = tmp_path / "m.zasm"
    src.write_text('weight w : i8[2] scale 0 = file("nope.npz:w")\n')
    with pytest.raises(AssemblyError, match=r"m.zasm:1:\d+: error: weights file 'nope.npz' not found"):
        assemble_file(str(src))
    np.savez(tmp_path / "w.npz", w=np.array([1, 2]))
    src.write_text('weight w : i8[2] scale 0 = file("w.npz:v")\n')
    with pytest.raises(AssemblyError, match="has no array 'v'"):
        assemble_file(str(src))


def test_weight_values_are_checked():
    assert "holds floats" in err("weight w : i8[2] scale 0 = [1.5, 2]\n")
    assert "declared [3]" in err("weight w : i8[3] scale 0 = [1, 2]\n")
    assert "do not fit i8" in err("weight w : i8[2] scale 0 = [1, 200]\n")
    p = assemble("input x : i8[2] scale 0\nweight w : i8[2] scale 2 = quantize([0.3, -0.625])\n"
                 "y = add x, x\noutput y\n")
    assert p.weights["w"].tolist() == [1, -2]  # round half up: 1.2 -> 1, -2.5 -> -2


def test_macro_errors_are_located():
    m = err("input x : i16[1,1,4,4] scale 0\ny = maxpool x, kernel=[2,2], padding=[1,1]\n"
            "output y\n")
    assert m.startswith("t.zasm:2:1: error:") and "padding" in m


OPS = ["matmul", "relu", "rescale", "add", "mul", "transpose", "sum", "max", "sigmoid",
       "softmax", "slice", "concat"]


@st.composite
def programs(draw):
    """Random straight-line programs over 2-D tensors, as assembly text."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    m, n = draw(st.integers(1, 3)), draw(st.integers(1, 4))
    lines = [f"input x : i16[{m},{n}] scale 6 range [-128, 128]"]
    cur, shape, i = "x", (m, n), 0
    for op in draw(st.lists(st.sampled_from(OPS), min_size=1, max_size=6)):
        i += 1
        name = f"t{i}"
        if op == "matmul":
            k = int(rng.integers(1, 4))
            w = rng.integers(-8, 9, (shape[1], k)).tolist()
            lines.append(f"weight w{i} : i8[{shape[1]},{k}] scale 3 = {w}")
            lines.append(f"h{i} = matmul {cur}, w{i}")
            lines.append(f"{name} = rescale h{i}, 3")
            shape = (shape[0], k)
        elif op in ("relu",):
            lines.append(f"{name} = relu {cur}")
        elif op == "rescale":
            lines.append(f"{name}a = rescale {cur}, 1")  # scale 5
            lines.append(f"weight k{i} : i8[] scale 1 = {int(rng.integers(-3, 4))}")
            lines.append(f"{name} = mul {name}a, k{i}")  # scale 6
        elif op in ("add", "mul"):
            lines.append(f"{name} = {op} {cur}, {cur}")
            if op == "mul":
                lines.append(f"{name}r = rescale {name}, 6")
                name += "r"
        elif op == "transpose":
            lines.append(f"{name} = transpose {cur}")
            shape = shape[::-1]
        elif op in ("sum", "max"):
            lines.append(f"{name} = {op} {cur}, axes=[1], keepdims=true")
            shape = (shape[0], 1)
        elif op == "sigmoid":
            lines.append(f"{name} = lut {cur}, fn=sigmoid, scale=6")
        elif op == "softmax":
            lines.append(f"{name} = softmax {cur}, axis=-1, scale=6")
        elif op == "slice":
            lines.append(f"{name} = slice {cur}, starts=[0], ends=[1], axes=[0]")
            shape = (1, shape[1])
        elif op == "concat":
            lines.append(f"{name} = concat {cur}, {cur}, axis=1")
            shape = (shape[0], 2 * shape[1])
        cur = name
    lines.append(f"output {cur}")
    return "\n".join(lines) + "\n", (m, n)


@settings(max_examples=30, deadline=None, derandomize=True)
@given(programs())
def test_random_programs_round_trip(prog_and_shape):
    src, _ = prog_and_shape
    try:
        p = assemble(src)
    except AssemblyError as e:  # a random chain may legitimately overflow
        assert "fit" in str(e) or "2^62" in str(e) or "entries" in str(e)
        return
    q = assemble(disassemble(p))
    assert q.digest == p.digest


MUTATIONS = ["[", "]", ",", "=", ":", "-1", "0", "99999999999", "x", "i8", "scale", "\n", "(",
             '"', "1.5", "true", "perm=[5]", "axes=[9]", "1e999", "0x7fffffffffffffffffff",
             "padding=[99999999,1]", "fn=rsqrt", "table=[1]", "pads=[[1]]", "d=0", "02"]


@settings(max_examples=150, deadline=None, derandomize=True)
@given(st.sampled_from(PROGRAMS), st.lists(st.tuples(st.floats(0, 1), st.sampled_from(MUTATIONS),
                                                     st.booleans()), min_size=1, max_size=3))
def test_mutated_sources_only_raise_assembly_errors(path, edits):
    text = open(path).read()
    for where, token, delete in edits:
        i = int(where * len(text))
        text = text[:i] + text[i + 1:] if delete else text[:i] + token + text[i:]
    try:
        assemble(text, "m.zasm", os.path.dirname(path))
    except AssemblyError as e:
        assert str(e).startswith("m.zasm")


def test_custom_lut_table_survives_disasm():
    src = ("input x : i8[4] scale 0 range [-2, 2]\n"
           "y = lut x, fn=tanh, range=[-2, 2], scale=0, table=[7, -3, 0, 5, 9]\noutput y\n")
    p = assemble(src)
    assert p.instructions[0].attrs["table"].tolist() == [7, -3, 0, 5, 9]
    text = disassemble(p)
    assert "table=[7, -3, 0, 5, 9]" in text
    assert assemble(text).digest == p.digest


def _static_by_memory_image(b, name):
    """The reference for ``ProgramBuilder._static`` of a view: a whole memory image."""
    mem = np.zeros(b.next_addr, dtype=np.int64)
    known = np.zeros(b.next_addr, dtype=bool)
    known[0] = True
    for w, vals in b.weights.items():
        if w not in b.hidden:
            mem[b.base[w]: b.base[w] + vals.size] = vals.ravel()
            known[b.base[w]: b.base[w] + vals.size] = True
    addr = b.addr[name]
    return mem[addr] if known[addr].all() else None


def test_static_values_of_views_gather_only_their_weights():
    from zkvm.isa.program import ProgramBuilder

    rng = np.random.default_rng(3)
    b = ProgramBuilder()
    b.input("x", (2, 3), 16, 4)
    b.weight("w", rng.integers(-99, 99, (3, 4)), 16, 4)
    b.weight("v", rng.integers(-99, 99, (3, 4)), 16, 4)
    b.weight("h", None, 16, 4, shape=(3, 4), visibility="private")
    views = {"wt": ("transpose", ["w"], {"perm": [1, 0]}),
             "ws": ("slice", ["v"], {"starts": [1], "ends": [3], "axes": [0]}),
             "wp": ("pad", ["w"], {"pads": [[1, 0], [0, 2]]}),
             "wv": ("concat", ["w", "v"], {"axis": 0}),
             "wh": ("concat", ["w", "h"], {"axis": 0}),
             "xp": ("pad", ["x"], {"pads": [[1, 0], [0, 0]]}),
             "wr": ("reshape", ["wv"], {"shape": [4, 6]})}
    for out, (op, ins, attrs) in views.items():
        b.instruction(op, ins, out, attrs)
    for out in views:
        got, ref = b._static(out), _static_by_memory_image(b, out)
        assert (got is None) == (ref is None), out
        if ref is not None:
            assert np.array_equal(got, ref) and got.shape == ref.shape, out
    assert b._static("wh") is None and b._static("xp") is None
    assert np.array_equal(b._static("wt"), b.weights["w"].T)
