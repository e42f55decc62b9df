"""Cubic extension F_p[X]/(X^3 - 7): Ext3 scalars and (..., 3) arrays against galois polynomials."""

from __future__ import annotations

import galois
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zkvm.field.extension import (
    Ext3, batch_inv_ext, degree_of, ext_class, ext_gen, ext_one, ext_zero, from_coeffs,
)
from zkvm.field.scalar import P, W, Ext

EDGES = [0, 1, 2, P - 1, 2**32, 2**63, 2**64 - 2**32, P // 2]
elem = st.one_of(st.sampled_from(EDGES), st.integers(0, P - 1))
ext3 = st.builds(Ext3, elem, elem, elem)
ext3_vec = st.lists(ext3, min_size=1, max_size=8)
FAST = settings(max_examples=30, deadline=None, derandomize=True)


@pytest.fixture(scope="module")
def oracle(gf_p):
    """Cubic extension arithmetic as galois polynomials reduced mod X^3 - 7."""
    modulus = galois.Poly([1, 0, 0, P - W], field=gf_p)

    def to_poly(e: Ext3):
        return galois.Poly([e.c2, e.c1, e.c0], field=gf_p)

    def from_poly(p) -> Ext3:
        c = [int(v) for v in (p % modulus).coeffs[::-1]] + [0, 0, 0]
        return Ext3(c[0], c[1], c[2])

    def pw(a: Ext3, e: int) -> Ext3:
        acc, base = galois.Poly([1], field=gf_p), to_poly(a)
        while e:
            if e & 1:
                acc = (acc * base) % modulus
            base = (base * base) % modulus
            e >>= 1
        return from_poly(acc)

    class O:
        pass

    o = O()
    o.modulus, o.to_poly, o.from_poly = modulus, to_poly, from_poly
    o.mul = lambda a, b: from_poly(to_poly(a) * to_poly(b))
    o.inv = lambda a: pw(a, P**3 - 2)
    return o


def arr(es) -> np.ndarray:
    return np.array([e.to_list() for e in es], dtype=np.uint64).reshape(-1, 3)


def exts(a) -> list[Ext3]:
    return [Ext3.from_list(r) for r in np.asarray(a).reshape(-1, 3).tolist()]


def test_x3_minus_7_is_irreducible(oracle):
    assert pow(W, (P - 1) // 3, P) != 1  # 7 is not a cube (3 | p - 1)
    assert oracle.modulus.is_irreducible()


@FAST
@given(ext3, ext3)
def test_ext3_ops_match_galois(oracle, a, b):
    assert a * b == oracle.mul(a, b)
    assert a + b == oracle.from_poly(oracle.to_poly(a) + oracle.to_poly(b))
    assert a - b == oracle.from_poly(oracle.to_poly(a) - oracle.to_poly(b))
    assert -a == Ext3(0) - a
    if b != 0:
        assert b.inv() == oracle.inv(b)
        assert (a / b) * b == a
        assert b ** -2 == (b * b).inv()


@FAST
@given(ext3, ext3, ext3, elem)
def test_ext3_field_laws_and_base_mixing(a, b, c, x):
    assert (a + b) + c == a + (b + c) and (a * b) * c == a * (b * c)
    assert a * (b + c) == a * b + a * c and a * b == b * a
    assert a**5 == a * a * a * a * a and a**0 == 1
    assert a + x == a + Ext3(x) == x + a and a * x == x * a == a * Ext3.from_base(x)
    assert x - a == Ext3(x) - a
    if x:
        assert a / x == a * Ext3(x).inv()


def test_ext3_conversions_degree_helpers_and_type_safety():
    e = Ext3(5, P + 3, 9)
    assert e.to_list() == [5, 3, 9] and e == Ext3.from_list([5, 3, 9]) == from_coeffs([5, 3, 9])
    assert e.to_bytes() == b"".join(v.to_bytes(8, "little") for v in (5, 3, 9))
    assert Ext3(7) == 7 and Ext3(7).is_base() and not e.is_base()
    with pytest.raises(AttributeError):
        e.c2 = 1
    with pytest.raises(ZeroDivisionError):
        Ext3(0).inv()
    assert Ext3(2, 3, 4) ** (P**3 - 1) == 1
    assert ext_gen(3) ** 3 == 7 and ext_gen(2) ** 2 == 7
    assert ext_class(2) is Ext and ext_class(3) is Ext3
    assert ext_zero(3) == Ext3(0) and ext_one(2) == Ext(1) and from_coeffs([1, 2]) == Ext(1, 2)
    assert degree_of(e) == 3 and degree_of(Ext(1)) == 2 and degree_of(np.zeros((4, 3), np.uint64)) == 3
    with pytest.raises(ValueError):
        ext_class(4)
    with pytest.raises(TypeError):
        _ = Ext3(1, 2, 3) + Ext(1, 2)
    with pytest.raises(TypeError):
        _ = Ext(1, 2) * Ext3(1, 2, 3)
    assert Ext3(1) != Ext(1)


@FAST
@given(ext3_vec)
def test_ext3_batch_inv(xs):
    nz = [x if x != 0 else Ext3(1) for x in xs]
    assert batch_inv_ext(nz) == [x.inv() for x in nz]


@FAST
@given(ext3_vec, ext3_vec, st.lists(elem, min_size=8, max_size=8))
def test_ext3_array_ops_match_scalars(field_impl, xs, ys, bs):
    n = min(len(xs), len(ys))
    xs, ys, bs = xs[:n], ys[:n], bs[:n]
    a, b = arr(xs), arr(ys)
    F = field_impl
    assert exts(F.ext_mul(a, b)) == [x * y for x, y in zip(xs, ys)]
    assert exts(F.ext_add(a, b)) == [x + y for x, y in zip(xs, ys)]
    assert exts(F.ext_sub(a, b)) == [x - y for x, y in zip(xs, ys)]
    assert exts(F.ext_neg(a)) == [-x for x in xs]
    assert exts(F.ext_pow(a, 11)) == [x**11 for x in xs]
    nz = [y if y != 0 else Ext3(1) for y in ys]
    assert exts(F.ext_inv(arr(nz))) == [y.inv() for y in nz]
    assert exts(F.ext_batch_inv(arr(nz))) == [y.inv() for y in nz]
    assert exts(F.ext_pow(arr(nz), -3)) == [y**-3 for y in nz]
    bb = np.array(bs, dtype=np.uint64)
    assert exts(F.ext_mul_base(a, bb)) == [x * y for x, y in zip(xs, bs)]
    assert exts(F.ext_from_base(bb, 3)) == [Ext3(y) for y in bs]


def test_ext3_broadcasting_powers_and_sum(field_impl):
    rng = np.random.default_rng(3)
    a = rng.integers(0, P, size=(3, 4, 3), dtype=np.uint64)
    z = Ext3(11, 13, 17)
    F = field_impl
    out = F.ext_mul(a, z)
    assert out.shape == (3, 4, 3) and exts(out) == [x * z for x in exts(a)]
    row = rng.integers(0, P, size=(4, 3), dtype=np.uint64)
    assert exts(F.ext_mul(a, row)[1]) == [x * y for x, y in zip(exts(a[1]), exts(row))]
    col = rng.integers(0, P, size=(3, 1), dtype=np.uint64)
    assert exts(F.ext_mul_base(a, col)[2]) == [x * int(col[2, 0]) for x in exts(a[2])]
    assert exts(F.ext_sum(a, axis=0)) == [sum(exts(a[:, j]), Ext3(0)) for j in range(4)]
    assert exts(F.ext_powers(z, 6)) == [z**i for i in range(6)]
    with pytest.raises(ZeroDivisionError):
        F.ext_batch_inv(arr([Ext3(1, 2, 3), Ext3(0)]))


def test_ext_kernels_refuse_mixed_degrees():
    from zkvm.field import kernels as K

    with pytest.raises(ValueError):
        K.ext_mul(np.zeros((2, 2), np.uint64), np.zeros((2, 3), np.uint64))
    with pytest.raises(ValueError):
        K.ext_add(np.zeros((2, 2), np.uint64), Ext3(1))


def test_large_ext3_arrays_kernels_match_reference():
    from zkvm.field import kernels as K
    from zkvm.field import reference as R

    rng = np.random.default_rng(5)
    a = rng.integers(0, P, size=(300, 3), dtype=np.uint64)
    b = rng.integers(0, P, size=(300, 3), dtype=np.uint64)
    assert (K.ext_mul(a, b) == R.ext_mul(a, b)).all()
    assert (K.ext_batch_inv(a) == R.ext_batch_inv(a)).all()
    e = P**3 - 5
    assert (K.ext_pow(a[:20], e) == R.ext_pow(a[:20], e)).all()
    assert (K.ext_pow(a[:20], 2**64 + 12345) == R.ext_pow(a[:20], 2**64 + 12345)).all()
