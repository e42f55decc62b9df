"""Sum chip: proves sums over axes (groups chained over rows of lanes), rejects wrong totals."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import zkvm.api as api
from vmtest import prove_claiming, prove_verify
from zkvm.air.chips.reduce_sum import group_layout
from zkvm.assembler import assemble



def test_group_layout_fills_rows_evenly():
    assert group_layout(1) == (1, 1)
    assert group_layout(8) == (1, 8)
    assert group_layout(9) == (2, 5)
    assert group_layout(20) == (3, 7)


@settings(max_examples=4, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(shape=st.lists(st.integers(1, 5), min_size=1, max_size=3), keepdims=st.booleans(),
       data=st.data())
def test_sum_matches_numpy(shape, keepdims, data):
    rank = len(shape)
    axes = sorted(data.draw(st.sets(st.integers(0, rank - 1), min_size=1)))
    n = int(np.prod(shape))
    vals = data.draw(st.lists(st.integers(-2**15, 2**15 - 1), min_size=n, max_size=n))
    x = np.array(vals, dtype=np.int64).reshape(shape)
    src = f"""
input x : i16[{','.join(map(str, shape))}] scale 4 public
y = sum x, axes={axes}, keepdims={'true' if keepdims else 'false'}
output y
"""
    prog = assemble(src)
    key = api.setup(prog, "test")
    out = api.verify(api.prove(prog, {"x": x}, "test", key=key, seed=b"test"), key.vk, min_bits=0)
    np.testing.assert_array_equal(out["y"], x.sum(axis=tuple(axes), keepdims=keepdims))


def test_private_sum_and_mean_prove_in_zk():
    # groups of 20 inputs: 3 rows of 7 lanes (one spare slot reads address 0)
    src = """
input x : i16[2,4,5] scale 4 private
s = sum x, axes=[1,2]
m = mean x, axes=[2], keepdims=true
output s
output m
"""
    x = (np.arange(40).reshape(2, 4, 5) * 1637) % 65536 - 32768
    out, _, key = prove_verify(src, {"x": x})
    np.testing.assert_array_equal(out["s"], x.sum(axis=(1, 2)))
    np.testing.assert_array_equal(out["m"], (x.sum(axis=2, keepdims=True) + 2) // 5)
    assert key.statement.zk
    assert [c.params["lanes"] for c in key.statement.chips if c.name == "sum"] == [7, 5]


# two groups of 9 inputs: each takes 2 rows of 5 lanes (rows 0-1 and 2-3); acc is column 5
SRC = """
input x : i16[2,9] scale 0 public
y = sum x, axes=[1]
output y
"""
X = np.arange(18).reshape(2, 9) - 3
ACC = 5


def _add(t, col, row, delta):
    from zkvm.field.scalar import P

    t[col, row] = np.uint64((int(t[col, row]) + delta) % P)


def test_wrong_total_is_rejected():
    def edit(t, chip):
        _add(t, ACC, 1, 1)            # group 0's last row: total + 1

    def claim(outs):
        outs["y"][0] += 1

    prove_claiming(SRC, {"x": X}, "sum", edit, claim)


def test_total_carried_across_groups_is_rejected():
    # ignore the start selector: group 1 keeps adding onto group 0's total
    carry = int(X[0].sum())
    assert carry != 0

    def edit(t, chip):
        _add(t, ACC, 2, carry)
        _add(t, ACC, 3, carry)

    def claim(outs):
        outs["y"][1] += carry

    prove_claiming(SRC, {"x": X}, "sum", edit, claim)


def test_changed_input_lane_is_rejected():
    # a different x in lane 2 with the running totals kept consistent: the bus rejects it
    def edit(t, chip):
        _add(t, 2, 0, 5)
        _add(t, ACC, 0, 5)
        _add(t, ACC, 1, 5)

    def claim(outs):
        outs["y"][0] += 5

    prove_claiming(SRC, {"x": X}, "sum", edit, claim)


def test_spare_slot_with_nonzero_value_is_rejected():
    # the spare slot (row 1, lane 4) reads address 0: it must hold 0
    def edit(t, chip):
        assert int(chip.preprocessed_trace()[4, 1]) == 0
        _add(t, 4, 1, 7)
        _add(t, ACC, 1, 7)

    def claim(outs):
        outs["y"][0] += 7

    prove_claiming(SRC, {"x": X}, "sum", edit, claim)
