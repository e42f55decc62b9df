"""Relu chip: proves max(x, 0) by an honest sign bit, rejects dishonest signs and outputs."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import zkvm.api as api
from vmtest import prove_claiming, prove_verify
from zkvm.assembler import assemble
from zkvm.field.scalar import P

X, S, Y, U = 0, 1, 2, 3  # main columns (u is one column for inputs up to i17)




@settings(max_examples=2, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(shape=st.lists(st.integers(1, 3), min_size=1, max_size=3),
       bits=st.sampled_from([2, 8, 16, 17]), data=st.data())
def test_relu_matches_numpy(shape, bits, data):
    n = int(np.prod(shape))
    lim = 1 << (bits - 1)
    vals = data.draw(st.lists(st.integers(-lim, lim - 1), min_size=n, max_size=n))
    x = np.array(vals, dtype=np.int64).reshape(shape)
    src = f"input x : i{bits}[{','.join(map(str, shape))}] scale 4 public\ny = relu x\noutput y\n"
    prog = assemble(src)
    key = api.setup(prog, "test")
    out = api.verify(api.prove(prog, {"x": x}, "test", key=key, seed=b"test"), key.vk, min_bits=0)
    np.testing.assert_array_equal(out["y"], np.maximum(x, 0))


def test_private_input_and_wide_relu_prove_in_zk():
    # relu of a private i16 input, and of an i32 product (u needs limbs: 16 + 15 bits)
    src = """
input x : i16[2,3] scale 8 private
weight w : i16[3] scale 8 = [30000, -29999, 7]
a = relu x
p = mul x, w
b = relu p
output a
output b
"""
    x = np.array([[32767, -32768, 0], [-1, 1, -5]])
    out, _, key = prove_verify(src, {"x": x})
    np.testing.assert_array_equal(out["a"], np.maximum(x, 0))
    np.testing.assert_array_equal(out["b"], np.maximum(x * np.array([30000, -29999, 7]), 0))
    assert key.statement.zk
    assert [c.u.widths for c in key.statement.chips if c.name == "relu"] == [None, [16, 15]]


SRC = "input x : i16[1,4] scale 4 public\ny = relu x\noutput y\n"
XV = np.array([[5, -1, 0, -300]])


def test_flipped_sign_bit_is_rejected():
    # x = 5 claimed negative: s = 1, y = 0 (row-consistent), u = -x - 1 leaves the range
    def edit(t):
        t[S, 0], t[Y, 0], t[U, 0] = np.uint64(1), np.uint64(0), np.uint64(P - 6)

    def claim(outs):
        outs["y"][0] = 0

    prove_claiming(SRC, {"x": XV}, "relu", edit, claim)


def test_non_boolean_sign_is_rejected():
    # x = -1 with s = 2: y = (1 - s) x = 1 and u = (1 - 2s) x - s = 1 is in range;
    # only the booleanity of s stops relu(-1) = 1
    def edit(t):
        t[S, 1], t[Y, 1], t[U, 1] = np.uint64(2), np.uint64(1), np.uint64(1)

    def claim(outs):
        outs["y"][1] = 1

    prove_claiming(SRC, {"x": XV}, "relu", edit, claim)


def test_wrong_output_is_rejected():
    # y = x + 1 for x = 0 (claimed as the output, so the bus balances): the row rejects it
    def edit(t):
        t[Y, 2] = np.uint64(1)

    def claim(outs):
        outs["y"][2] = 1

    prove_claiming(SRC, {"x": XV}, "relu", edit, claim)
