"""Goldilocks base field: kernels and reference twin against galois.GF(p)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zkvm.field import scalar as S
from zkvm.field.scalar import GENERATOR, P, TWO_ADICITY

EDGES = [0, 1, 2, P - 1, P - 2, 2**32, 2**32 - 1, 2**32 + 1, 2**63, 2**63 - 1, 2**64 - 2**32, P // 2,
         P // 2 + 1]
elem = st.one_of(st.sampled_from(EDGES), st.integers(0, P - 1))
vec = st.lists(elem, min_size=1, max_size=16)
FAST = settings(max_examples=40, deadline=None, derandomize=True)


def u64(xs) -> np.ndarray:
    return np.array(xs, dtype=np.uint64)


def as_ints(a) -> list[int]:
    return [int(v) for v in np.asarray(a).reshape(-1)]


# -- constants ----------------------------------------------------------------
def test_p_and_two_adicity():
    assert P == 2**64 - 2**32 + 1
    assert (P - 1) % (1 << TWO_ADICITY) == 0 and ((P - 1) >> TWO_ADICITY) % 2 == 1


def test_generator_generates_the_multiplicative_group():
    odd = [3, 5, 17, 257, 65537]
    assert 2**32 * np.prod(odd, dtype=object) == P - 1
    for q in [2] + odd:
        assert pow(GENERATOR, (P - 1) // q, P) != 1, q


@pytest.mark.parametrize("log_n", [0, 1, 2, 5, 17, 32])
def test_root_of_unity_is_primitive(log_n):
    w = S.root_of_unity(log_n)
    assert w == pow(GENERATOR, (P - 1) >> log_n, P)
    assert pow(w, 1 << log_n, P) == 1
    if log_n:
        assert pow(w, 1 << (log_n - 1), P) == P - 1


def test_root_of_unity_out_of_range_raises():
    with pytest.raises(ValueError):
        S.root_of_unity(33)


def test_scalar_module_imports_without_numba():
    code = "import sys, zkvm.field.scalar, zkvm.poly.dense, zkvm.field, zkvm.poly; " \
           "assert 'numba' not in sys.modules, 'numba imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


# -- scalar helpers -------------------------------------------------------------
@FAST
@given(elem, elem)
def test_scalar_helpers_match_galois(gf_p, a, b):
    A, B = gf_p(a), gf_p(b)
    assert S.s_add(a, b) == int(A + B)
    assert S.s_sub(a, b) == int(A - B)
    assert S.s_mul(a, b) == int(A * B)
    assert S.s_neg(a) == int(-A)
    assert S.s_pow(a, 12345) == int(A**12345)
    if b:
        assert S.s_inv(b) == int(B**-1)
        assert S.s_div(a, b) == int(A / B)
        assert S.s_pow(b, -3) == int(B**-3)
    assert S.s_from_int(S.s_to_signed(a)) == a


def test_scalar_inverse_of_zero_raises():
    with pytest.raises(ZeroDivisionError):
        S.s_inv(0)


# -- array ops against galois ----------------------------------------------------
@FAST
@given(vec, vec)
def test_binary_ops_match_galois(field_impl, gf_p, xs, ys):
    n = min(len(xs), len(ys))
    a, b = u64(xs[:n]), u64(ys[:n])
    A, B = gf_p(xs[:n]), gf_p(ys[:n])
    assert as_ints(field_impl.add(a, b)) == as_ints(A + B)
    assert as_ints(field_impl.sub(a, b)) == as_ints(A - B)
    assert as_ints(field_impl.mul(a, b)) == as_ints(A * B)
    assert as_ints(field_impl.neg(a)) == as_ints(-A)
    assert field_impl.sum_(a) == int(np.sum(A))
    assert field_impl.dot(a, b) == int(np.dot(A, B))


@FAST
@given(vec, st.integers(-(2**70), 2**70))
def test_pow_matches_galois(field_impl, gf_p, xs, e):
    a = u64(xs)
    if e < 0:
        a = u64([x if x else 1 for x in xs])
    A = gf_p(as_ints(a))
    assert as_ints(field_impl.pow_(a, e)) == as_ints(A ** e)


@FAST
@given(vec)
def test_inverses(field_impl, gf_p, xs):
    a = u64([x if x else 1 for x in xs])
    A = gf_p(as_ints(a))
    assert as_ints(field_impl.inv(a)) == as_ints(A**-1)
    assert as_ints(field_impl.batch_inv(a)) == as_ints(A**-1)
    assert set(as_ints(field_impl.mul(a, field_impl.batch_inv(a)))) == {1}


@pytest.mark.parametrize("fn", ["inv", "batch_inv"])
def test_inverse_of_zero_raises(field_impl, fn):
    with pytest.raises(ZeroDivisionError):
        getattr(field_impl, fn)(u64([3, 0, 5]))


# -- field laws -------------------------------------------------------------------
@FAST
@given(vec, vec, vec)
def test_field_laws(field_impl, xs, ys, zs):
    n = min(len(xs), len(ys), len(zs))
    a, b, c = u64(xs[:n]), u64(ys[:n]), u64(zs[:n])
    F = field_impl
    assert (F.add(F.add(a, b), c) == F.add(a, F.add(b, c))).all()
    assert (F.mul(F.mul(a, b), c) == F.mul(a, F.mul(b, c))).all()
    assert (F.add(a, b) == F.add(b, a)).all() and (F.mul(a, b) == F.mul(b, a)).all()
    assert (F.mul(a, F.add(b, c)) == F.add(F.mul(a, b), F.mul(a, c))).all()
    assert (F.add(a, F.neg(a)) == 0).all() and (F.sub(a, b) == F.add(a, F.neg(b))).all()
    assert (F.mul(a, u64([1] * n)) == a).all()


def test_edge_products_exhaustive(field_impl, gf_p):
    a = u64([x for x in EDGES for _ in EDGES])
    b = u64(EDGES * len(EDGES))
    A, B = gf_p(as_ints(a)), gf_p(as_ints(b))
    assert as_ints(field_impl.mul(a, b)) == as_ints(A * B)
    assert as_ints(field_impl.add(a, b)) == as_ints(A + B)
    assert as_ints(field_impl.sub(a, b)) == as_ints(A - B)


def test_large_random_arrays_kernels_match_reference():
    from zkvm.field import kernels as K
    from zkvm.field import reference as R

    rng = np.random.default_rng(7)
    a = rng.integers(0, P, size=3000, dtype=np.uint64)
    b = rng.integers(0, P, size=3000, dtype=np.uint64)
    for f in ("add", "sub", "mul"):
        assert (getattr(K, f)(a, b) == getattr(R, f)(a, b)).all(), f
    assert K.dot(a, b) == R.dot(a, b) and K.sum_(a) == R.sum_(a)
    assert (K.batch_inv(a) == R.batch_inv(a)).all()


# -- shapes, broadcasting, conversions ------------------------------------------------
def test_broadcasting_and_axes(field_impl):
    rng = np.random.default_rng(1)
    m = rng.integers(0, P, size=(3, 4), dtype=np.uint64)
    row = rng.integers(0, P, size=4, dtype=np.uint64)
    F = field_impl
    assert F.mul(m, row).shape == (3, 4)
    assert (F.mul(m, row)[2] == F.mul(m[2], row)).all()
    assert (F.mul(m, np.uint64(5)) == F.mul(m, u64([5] * 4))).all()
    assert [int(v) for v in F.sum_(m, axis=0)] == [sum(int(x) for x in m[:, j]) % P for j in range(4)]
    assert [int(v) for v in F.sum_(m, axis=1)] == [sum(int(x) for x in m[i]) % P for i in range(3)]
    assert [int(v) for v in F.dot(m, row)] == [F.dot(m[i], row) for i in range(3)]
    inv = F.batch_inv(m | np.uint64(1))
    assert inv.shape == (3, 4)


def test_inputs_are_not_mutated(field_impl):
    a = u64([5, 7, P - 1])
    b = u64([3, 0, 2])
    a0, b0 = a.copy(), b.copy()
    for f in ("add", "sub", "mul"):
        getattr(field_impl, f)(a, b)
    field_impl.neg(a), field_impl.inv(a), field_impl.pow_(a, 5), field_impl.sum_(a)
    assert (a == a0).all() and (b == b0).all()


@FAST
@given(st.lists(st.integers(-(P // 2), P // 2), min_size=1, max_size=16))
def test_from_int_to_signed_roundtrip(field_impl, xs):
    small = [x for x in xs if -(2**63) <= x < 2**63]
    if not small:
        return
    a = field_impl.from_int(np.array(small, dtype=np.int64))
    assert as_ints(a) == [x % P for x in small]
    assert a.dtype == np.uint64
    s = field_impl.to_signed(a)
    assert s.dtype == np.int64 and [int(v) for v in s] == small
    assert field_impl.from_int(small[0]) == small[0] % P


def test_from_int_edges(field_impl):
    x = np.array([0, -1, 1, -(2**62), 2**62, 2**63 - 1, -(2**63) + 1], dtype=np.int64)
    assert as_ints(field_impl.from_int(x)) == [int(v) % P for v in x]
    assert as_ints(field_impl.from_int(u64([P, P + 5, 2**64 - 1]))) == [0, 5, (2**64 - 1) % P]


def test_powers(field_impl):
    g = S.root_of_unity(4)
    assert as_ints(field_impl.powers(g, 17)) == [pow(g, i, P) for i in range(17)]
    assert field_impl.powers(3, 0).shape == (0,)


def test_parallel_paths_match_python_ints():
    """Sizes above PAR_MIN take the multi-threaded kernels; spot-check them."""
    from zkvm.field import kernels as K

    rng = np.random.default_rng(11)
    n = K.PAR_MIN + 3
    a = rng.integers(1, P, size=n, dtype=np.uint64)
    b = rng.integers(0, P, size=n, dtype=np.uint64)
    idx = rng.choice(n, 100, replace=False)
    prod, diff, inv = K.mul(a, b), K.sub(a, b), K.batch_inv(a)
    scaled = K.mul(a, np.uint64(12345))
    for i in idx:
        x, y = int(a[i]), int(b[i])
        assert int(prod[i]) == x * y % P and int(diff[i]) == (x - y) % P
        assert int(inv[i]) * x % P == 1 and int(scaled[i]) == x * 12345 % P
    assert K.sum_(a) == sum(int(v) for v in a) % P
