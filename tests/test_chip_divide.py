"""Divide chip: proves rescale/div (round half up) and rejects other quotients/remainders."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import zkvm.api as api
from vmtest import assert_tamper_rejected, field_add, prove_claiming, prove_verify
from zkvm.air.chips.statement import StatementError, build_statement
from zkvm.assembler import assemble
from zkvm.field.scalar import P


def round_half_up(x, d):
    """docs/isa.md: floor((x + floor(d/2)) / d), in Python ints."""
    return np.vectorize(lambda v: (int(v) + d // 2) // d)(x).astype(np.int64)




@settings(max_examples=2, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(shape=st.lists(st.integers(1, 3), min_size=1, max_size=3),
       k=st.integers(1, 12), d=st.integers(1, 300), data=st.data())
def test_rescale_and_div_match_numpy(shape, k, d, data):
    n = int(np.prod(shape))
    vals = data.draw(st.lists(st.integers(-2**15, 2**15 - 1), min_size=n, max_size=n))
    x = np.array(vals, dtype=np.int64).reshape(shape)
    dims = ",".join(map(str, shape))
    src = f"""
input x : i16[{dims}] scale 8 public
a = rescale x, {k}
b = div x, {d}
output a
output b
"""
    prog = assemble(src)
    key = api.setup(prog, "test")
    out = api.verify(api.prove(prog, {"x": x}, "test", key=key, seed=b"test"), key.vk, min_bits=0)
    np.testing.assert_array_equal(out["a"], round_half_up(x, 1 << k))
    np.testing.assert_array_equal(out["b"], round_half_up(x, d))


# private input (zk); r of rescale 18 needs two limbs, q declared i32 needs two limbs
ZK_SRC = """
input x : i16[2,3] scale 8 private
weight w : i16[3] scale 8 = [30000, -29999, 7]
p = mul x, w
a = rescale p, 18
c : i32 = rescale p, 2
e = div p, 65536
output a
output c
output e
"""
ZK_X = np.array([[32767, -32768, 5], [-1, 0, 1]])


def test_private_input_with_limbs_proves_in_zk():
    out, proof, key = prove_verify(ZK_SRC, {"x": ZK_X})
    p = ZK_X * np.array([30000, -29999, 7])
    np.testing.assert_array_equal(out["a"], round_half_up(p, 1 << 18))
    np.testing.assert_array_equal(out["c"], round_half_up(p, 4))
    np.testing.assert_array_equal(out["e"], round_half_up(p, 65536))
    assert key.statement.zk
    chips = [c for c in key.statement.chips if c.name == "divide"]
    assert [len(c.r.widths or [1]) for c in chips] == [2, 1, 1]
    assert [len(c.q.widths or [1]) for c in chips] == [1, 2, 1]


SRC = """
input x : i16[2,4] scale 8 public
q = rescale x, 4
output q
"""
X = np.array([[-100, -9, -8, -1], [0, 7, 8, 1000]])  # x + 8 = 16 q + r


def _row_with_small_r(x, D):
    r = (x.ravel() + D // 2) % D
    return int(np.flatnonzero(r < D - 1)[0])


def test_field_solution_with_other_remainder_is_rejected():
    # r' = r + 1 and q' = (x + c - r') / D mod p satisfy x + c = q'D + r' over F_p and
    # r' is in range: only the range check on q stops this q' (a huge field element).
    D, c = 16, 8
    i = _row_with_small_r(X, D)
    x = int(X.ravel()[i])
    r2 = (x + c) % D + 1
    q2 = (x + c - r2) * pow(D, P - 2, P) % P

    def edit(t):  # columns x, q, r
        t[1, i], t[2, i] = np.uint64(q2), np.uint64(r2)

    def claim(outs):
        outs["q"][i] = q2 - P if q2 > P // 2 else q2  # as a signed integer

    prove_claiming(SRC, {"x": X}, "divide", edit, claim)


@pytest.mark.parametrize("src,x,col,D", [
    (SRC, X, 2, 16),
    (ZK_SRC, ZK_X, 2, 1 << 18),  # r limbs: r' = r + 2^18 puts the top limb out of [0, 4)
], ids=["one_column", "limbs"])
def test_quotient_minus_one_with_remainder_plus_d_is_rejected(src, x, col, D):
    # integer solution (q - 1, r + D) of the row equation: only r's exact bound stops it
    def edit(t):
        field_add(t, 1, 0, -1)
        if D <= 1 << 16:
            field_add(t, col, 0, D)
        else:
            field_add(t, col + 1, 0, D >> 16)  # top limb of r

    def claim(outs):
        name = next(iter(outs))
        outs[name][0] -= 1

    prove_claiming(src, {"x": x}, "divide", edit, claim)


def test_flipped_remainder_cell_is_rejected():
    assert_tamper_rejected(SRC, {"x": X}, "divide", lambda t: field_add(t, 2, 3))


def test_div_by_more_than_2_16_is_refused():
    prog = assemble("input x : i32[2] scale 0 public\ny = div x, 65537\noutput y\n")
    with pytest.raises(StatementError, match="65537"):
        build_statement(prog)
