"""VM: events and memory, run-time checks, and the float reference's error bound."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from zkvm.assembler import assemble
from zkvm.isa import ExecutionError, InputError
from zkvm.runtime import execute, execute_float

MLP = """
input  x  : i16[2,6] scale 8 range [-512, 512]
weight w1 : i16[6,5] scale 8 = {w1}
weight b1 : i32[5]   scale 16 = {b1}
weight w2 : i16[5,3] scale 8 = {w2}
h0 = matmul x, w1, b1
h1 : i16 = rescale h0, 8
h2 = relu h1
y0 = matmul h2, w2
y  = rescale y0, 8
output y
"""


def mlp(seed: int = 0):
    rng = np.random.default_rng(seed)
    w1, w2 = rng.integers(-300, 300, (6, 5)), rng.integers(-300, 300, (5, 3))
    b1 = rng.integers(-20000, 20000, (5,))
    return assemble(MLP.format(w1=w1.tolist(), b1=b1.tolist(), w2=w2.tolist())), w2


def test_memory_and_values_agree_on_every_tensor():
    prog, _ = mlp()
    ex = execute(prog, {"x": np.arange(12).reshape(2, 6) * 20 - 100})
    assert ex.memory[0] == 0
    for name in prog.tensors:
        assert ex.memory[prog.addresses(name)].tolist() == ex.values[name].tolist()
    assert [e.op for e in ex.events] == ["matmul", "rescale", "relu", "matmul", "rescale"]
    assert [e.index for e in ex.events] == [0, 1, 2, 3, 4]
    assert ex.events[1].aux["r"].shape == (2, 5)


@settings(max_examples=25, deadline=None, derandomize=True)
@given(hnp.arrays(np.int64, (2, 6), elements=st.integers(-512, 512)), st.integers(0, 3))
def test_float_reference_within_documented_error(x, seed):
    prog, w2 = mlp(seed)
    ex = execute(prog, {"x": x})
    ref = execute_float(prog, {"x": x / 256.0})
    # docs/isa.md "Accuracy": each rescale adds <= 2^-(s+1) (s = 8 here), relu is
    # 1-Lipschitz, the matmul propagates by the column L1 norm of w2 (real units).
    col_l1 = np.abs(w2).sum(axis=0) / 256.0
    bound = 2.0**-9 * col_l1 + 2.0**-9
    err = np.abs(ex.values["y"] / 256.0 - ref["y"])
    assert (err <= bound[None, :] + 1e-12).all()


def test_input_out_of_declared_range_names_input():
    prog, _ = mlp()
    x = np.zeros((2, 6), dtype=np.int64)
    x[1, 2] = 513
    with pytest.raises(InputError, match=r"input 'x': value 513 leaves the declared range \[-512, 512\]"):
        execute(prog, {"x": x})


def test_wrong_shape_missing_and_unknown_inputs():
    prog, _ = mlp()
    with pytest.raises(InputError, match=r"shape \[3, 6\] but the program expects \[2, 6\]"):
        execute(prog, {"x": np.zeros((3, 6))})
    with pytest.raises(InputError, match="missing input 'x'"):
        execute(prog, {})
    with pytest.raises(InputError, match="unknown input"):
        execute(prog, {"x": np.zeros((2, 6)), "z": 1})
    with pytest.raises(InputError, match="integers"):
        execute(prog, {"x": np.full((2, 6), 0.5)})


def test_value_leaving_declared_width_names_instruction_and_tensor():
    prog, _ = mlp()
    prog.tensors["h1"] = dataclasses.replace(prog.tensors["h1"], bits=4)  # simulate a bad program
    with pytest.raises(ExecutionError, match=r"instruction 1 'h1 = rescale h0, k=8'.*tensor 'h1'"):
        execute(prog, {"x": np.full((2, 6), 512)})


def test_blas_and_exact_int_matmul_agree():
    src = ("input x : i32[1,4] scale 0\nweight w : i32[4,2] scale 0 = "
           "[[33554431, -5], [33554431, 7], [-33554432, 1], [12345, 3]]\n"
           "y = matmul x, w\noutput y\n")
    prog = assemble(src)
    assert prog.acc_bounds["y"] >= 2**53  # takes the exact int64 path
    x = np.array([[2**31 - 1, 2**31 - 1, -(2**31), 17]])
    y = execute(prog, {"x": x}).values["y"]
    w = prog.weights["w"]
    ref = [sum(int(x[0, k]) * int(w[k, n]) for k in range(4)) for n in range(2)]
    assert y[0].tolist() == ref
