"""Quadratic extension F_p[X]/(X^2 - 7): Ext scalars and ext arrays against galois polynomials."""

from __future__ import annotations

import galois
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zkvm.field.scalar import P, W, Ext

EDGES = [0, 1, 2, P - 1, 2**32, 2**63, 2**64 - 2**32, P // 2]
elem = st.one_of(st.sampled_from(EDGES), st.integers(0, P - 1))
ext = st.builds(Ext, elem, elem)
ext_vec = st.lists(ext, min_size=1, max_size=8)
FAST = settings(max_examples=30, deadline=None, derandomize=True)


@pytest.fixture(scope="module")
def oracle(gf_p):
    """Extension arithmetic as galois polynomials reduced mod X^2 - 7."""
    modulus = galois.Poly([1, 0, P - W], field=gf_p)

    def to_poly(e: Ext):
        return galois.Poly([e.c1, e.c0], field=gf_p)

    def from_poly(p) -> Ext:
        c = [int(v) for v in (p % modulus).coeffs[::-1]] + [0, 0]
        return Ext(c[0], c[1])

    def mul(a: Ext, b: Ext) -> Ext:
        return from_poly(to_poly(a) * to_poly(b))

    def inv(a: Ext) -> Ext:
        # a^(p^2 - 2) by square-and-multiply on galois polynomials
        acc, base, e = galois.Poly([1], field=gf_p), to_poly(a), P**2 - 2
        while e:
            if e & 1:
                acc = (acc * base) % modulus
            base = (base * base) % modulus
            e >>= 1
        return from_poly(acc)

    class O:
        pass

    o = O()
    o.modulus, o.mul, o.inv, o.to_poly, o.from_poly = modulus, mul, inv, to_poly, from_poly
    return o


def arr(es) -> np.ndarray:
    return np.array([[e.c0, e.c1] for e in es], dtype=np.uint64)


def exts(a) -> list[Ext]:
    return [Ext(int(r[0]), int(r[1])) for r in np.asarray(a).reshape(-1, 2)]


def test_x2_minus_7_is_irreducible(oracle, gf_p):
    assert pow(W, (P - 1) // 2, P) == P - 1  # Euler: 7 is a non-residue
    assert oracle.modulus.is_irreducible()


# -- Ext scalar class --------------------------------------------------------------
@FAST
@given(ext, ext)
def test_ext_ops_match_galois(oracle, a, b):
    assert a * b == oracle.mul(a, b)
    assert a + b == oracle.from_poly(oracle.to_poly(a) + oracle.to_poly(b))
    assert a - b == oracle.from_poly(oracle.to_poly(a) - oracle.to_poly(b))
    assert -a == Ext(0) - a
    if b != 0:
        assert b.inv() == oracle.inv(b)
        assert (a / b) * b == a
        assert b ** -2 == (b * b).inv()


@FAST
@given(ext, ext, ext)
def test_ext_field_laws(a, b, c):
    assert (a + b) + c == a + (b + c) and (a * b) * c == a * (b * c)
    assert a * (b + c) == a * b + a * c
    assert a * b == b * a and a + b == b + a
    assert a**5 == a * a * a * a * a and a**0 == 1


@FAST
@given(ext, elem)
def test_ext_mixes_with_base_ints(a, x):
    assert a + x == a + Ext(x) == x + a
    assert a * x == a * Ext.from_base(x) == x * a
    assert x - a == Ext(x) - a and a - x == a - Ext(x)
    if x:
        assert a / x == a * Ext(x).inv()
        assert (x / Ext(3, 4)) * Ext(3, 4) == x


def test_ext_conversions_and_immutability():
    e = Ext(5, P + 3)
    assert e.to_list() == [5, 3] and e == Ext.from_list([5, 3])
    assert e.to_bytes() == (5).to_bytes(8, "little") + (3).to_bytes(8, "little")
    assert Ext(7) == 7 and Ext(7).is_base() and hash(Ext(1, 2)) == hash(Ext(1, 2))
    with pytest.raises(AttributeError):
        e.c0 = 1
    with pytest.raises(ZeroDivisionError):
        Ext(0).inv()
    assert Ext(2, 3) ** (P**2 - 1) == 1  # Lagrange: the group has order p^2 - 1


# -- extension arrays: kernels and reference twin ----------------------------------
@FAST
@given(ext_vec, ext_vec)
def test_ext_array_ops_match_scalars(field_impl, xs, ys):
    n = min(len(xs), len(ys))
    xs, ys = xs[:n], ys[:n]
    a, b = arr(xs), arr(ys)
    F = field_impl
    assert exts(F.ext_mul(a, b)) == [x * y for x, y in zip(xs, ys)]
    assert exts(F.ext_add(a, b)) == [x + y for x, y in zip(xs, ys)]
    assert exts(F.ext_sub(a, b)) == [x - y for x, y in zip(xs, ys)]
    assert exts(F.ext_neg(a)) == [-x for x in xs]
    assert exts(F.ext_pow(a, 11)) == [x**11 for x in xs]
    nz = [y if y != 0 else Ext(1) for y in ys]
    assert exts(F.ext_inv(arr(nz))) == [y.inv() for y in nz]
    assert exts(F.ext_batch_inv(arr(nz))) == [y.inv() for y in nz]
    assert exts(F.ext_pow(arr(nz), -3)) == [y**-3 for y in nz]


@FAST
@given(ext_vec, st.lists(elem, min_size=8, max_size=8))
def test_ext_mul_base_and_from_base(field_impl, xs, bs):
    bs = bs[: len(xs)]
    F = field_impl
    b = np.array(bs, dtype=np.uint64)
    assert exts(F.ext_mul_base(arr(xs), b)) == [x * y for x, y in zip(xs, bs)]
    assert exts(F.ext_from_base(b)) == [Ext(y) for y in bs]


def test_ext_broadcasting(field_impl):
    rng = np.random.default_rng(3)
    a = rng.integers(0, P, size=(3, 4, 2), dtype=np.uint64)
    z = Ext(11, 13)
    F = field_impl
    out = F.ext_mul(a, z)
    assert out.shape == (3, 4, 2)
    assert exts(out) == [x * z for x in exts(a)]
    row = rng.integers(0, P, size=(4, 2), dtype=np.uint64)
    assert exts(F.ext_mul(a, row)[1]) == [x * y for x, y in zip(exts(a[1]), exts(row))]
    col = rng.integers(0, P, size=(3, 1), dtype=np.uint64)
    got = F.ext_mul_base(a, col)
    assert exts(got[2]) == [x * int(col[2, 0]) for x in exts(a[2])]
    s = F.ext_sum(a, axis=0)
    assert exts(s) == [sum((exts(a[:, j])), Ext(0)) for j in range(4)]


def test_ext_powers(field_impl):
    g = Ext(3, 9)
    got = exts(field_impl.ext_powers(g, 6))
    assert got == [g**i for i in range(6)]


def test_ext_inverse_of_zero_raises(field_impl):
    with pytest.raises(ZeroDivisionError):
        field_impl.ext_batch_inv(arr([Ext(1, 2), Ext(0, 0)]))


def test_large_ext_arrays_kernels_match_reference():
    from zkvm.field import kernels as K
    from zkvm.field import reference as R

    rng = np.random.default_rng(5)
    a = rng.integers(0, P, size=(500, 2), dtype=np.uint64)
    b = rng.integers(0, P, size=(500, 2), dtype=np.uint64)
    assert (K.ext_mul(a, b) == R.ext_mul(a, b)).all()
    assert (K.ext_batch_inv(a) == R.ext_batch_inv(a)).all()
    assert (K.ext_pow(a, 2**64 + 12345) == R.ext_pow(a, 2**64 + 12345)).all()
