"""The verifier's fast paths against plain-int references (seeded hypothesis)."""

import numpy as np
from hypothesis import given, settings, strategies as st

from zkvm.field.scalar import P
from zkvm.stark import verifier as V

U64 = st.integers(0, 2**64 - 1)
FE = st.integers(0, P - 1)


def _reference_dots(rows, vectors):
    return [[sum(int(r) * c for r, c in zip(row, vec)) for vec in vectors] for row in rows]


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.data(), st.integers(1, 6), st.integers(0, 40), st.integers(1, 4))
def test_row_dots_equal_plain_int_inner_products(data, n_rows, width, n_vec):
    rows = [data.draw(st.lists(U64, min_size=width, max_size=width)) for _ in range(n_rows)]
    vectors = [data.draw(st.lists(FE, min_size=width, max_size=width)) for _ in range(n_vec)]
    arr = np.array(rows, dtype=np.uint64).reshape(n_rows, width)
    got = V._row_dots(arr, V._limbs16(vectors))
    assert got == _reference_dots(rows, vectors)


def test_row_dots_split_into_blocks_is_exact(monkeypatch):
    """Extreme values over many column blocks: no uint64 wrap anywhere."""
    monkeypatch.setattr(V, "_DOT_BLOCK", 4)
    rows = [[2**64 - 1] * 13, [P - 1] * 13, list(range(13))]
    vectors = [[P - 1] * 13, [2**63 + k for k in range(13)]]
    got = V._row_dots(np.array(rows, dtype=np.uint64), V._limbs16(vectors))
    assert got == _reference_dots(rows, vectors)
