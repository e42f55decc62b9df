"""Elementwise chip: proves add/sub/mul (broadcast by address), rejects tampering."""

import numpy as np
import pytest

from vmtest import assert_tamper_rejected, field_add, prove_verify

SRC = """
input x : i16[2,3] scale 4 public
input z : i8[2,3] scale 4 private
weight w : i16[3] scale 4 = [1, -2, 3]
a = add x, w
s = sub a, x
b = mul s, z
output b
"""
INPUTS = {"x": np.arange(6).reshape(2, 3) - 3, "z": -np.arange(6).reshape(2, 3)}


def expected():
    a = INPUTS["x"] + np.array([1, -2, 3])
    return (a - INPUTS["x"]) * INPUTS["z"]


def test_elementwise_proves_and_matches_numpy():
    out, _, _ = prove_verify(SRC, INPUTS)
    np.testing.assert_array_equal(out["b"], expected())


@pytest.mark.parametrize("col", [0, 1, 2])
def test_flipped_elementwise_cell_is_rejected(col):
    assert_tamper_rejected(SRC, INPUTS, "elementwise", lambda t: field_add(t, col, 1), nth=2)


def test_wrong_product_consistent_with_row_is_rejected():
    # change a and y together so the row constraint holds: the bus must catch it
    def edit(t):
        field_add(t, 0, 0, 1)       # a
        field_add(t, 2, 0, int(t[1, 0]))  # y += b
    assert_tamper_rejected(SRC, INPUTS, "elementwise", edit, nth=2)
