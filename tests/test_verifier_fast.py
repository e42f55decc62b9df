"""The verifier's fast paths against plain-int references (seeded hypothesis)."""

import numpy as np
from hypothesis import given, settings, strategies as st

from zkvm.field.scalar import P
from zkvm.field import ext_ints as E
from zkvm.stark import deep_verify as V

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


# --- zkvm.field.ext_ints: the degree kernels against Ext scalars and the any-degree references


def _elem(draw, d):
    return tuple(draw(st.lists(FE, min_size=d, max_size=d)))


def _ext(c):
    from zkvm.field.extension import from_coeffs

    return from_coeffs(list(c))


@settings(max_examples=40, deadline=None, derandomize=True)
@given(st.data(), st.sampled_from([2, 3]))
def test_ext_int_kernels_equal_ext_scalars(data, d):
    ops = E.ext_ops(d)
    a, b = _elem(data.draw, d), _elem(data.draw, d)
    assert tuple(ops.mul(a, b)) == _ext(a).__mul__(_ext(b)).coeffs
    assert ops.powers(a, 5) == [(_ext(a) ** k).coeffs for k in range(5)]
    xs = [_elem(data.draw, d) for _ in range(4)]
    if all(any(x) for x in xs):
        inv = list(zip(*E.inverse_columns([list(c) for c in zip(*xs)], d)))
        assert [tuple(v) for v in inv] == [_ext(x).inv().coeffs for x in xs]
    r = list(_elem(data.draw, d) + _elem(data.draw, d))
    t = data.draw(FE)
    fold = (_ext(r[:d]) + _ext(r[d:])) * ((P + 1) // 2) + _ext(b) * (_ext(r[:d]) - _ext(r[d:])) * t
    assert tuple(v % P for v in ops.fold(r, t, b)) == fold.coeffs


@settings(max_examples=40, deadline=None, derandomize=True)
@given(st.data(), st.sampled_from([2, 3]), st.integers(0, 12))
def test_ext_int_batch_kernels_equal_their_any_degree_references(data, d, n):
    ops = E.ext_ops(d)
    x = _elem(data.draw, d)
    values = [_elem(data.draw, d) for _ in range(n)]
    points = [data.draw(st.integers(0, 1)) for _ in range(n)]
    assert ops.powers_dot(x, values, points) == E.powers_dot_any(x, values, points, d)
    dens = [_elem(data.draw, d) for _ in range(n)]
    ms = [data.draw(st.integers(-P + 1, P - 1)) for _ in range(n)]
    if n and all(any(v) for v in dens):
        cols = [list(c) for c in zip(*dens)]
        assert tuple(ops.inverse_sum(cols, ms)) == E.inverse_sum_any(cols, ms, d)
    xs = [data.draw(FE) for _ in range(n)]
    zs = [_elem(data.draw, d) for _ in range(2)]
    if all(z[1:] != (0,) * (d - 1) for z in zs):  # z outside F_p: x - z is never 0
        dots = [list(_elem(data.draw, d) + _elem(data.draw, d)) for _ in range(n)]
        masks = [list(_elem(data.draw, d)) for _ in range(n)]
        vs = [_elem(data.draw, d) for _ in range(2)]
        got = ops.quotient_sum(xs, zs, dots, vs, masks)
        assert got == E.quotient_sum_any(xs, zs, dots, vs, masks, d)
        for q in range(n):  # and against Ext scalars
            want = _ext(masks[q])
            for p in range(2):
                want = want + (_ext(dots[q][p * d:(p + 1) * d]) - _ext(vs[p])) * (xs[q] - _ext(zs[p])).inv()
            assert tuple(got[q]) == want.coeffs
