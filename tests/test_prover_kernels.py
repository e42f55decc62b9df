"""Prover fast paths against their plain twins: coset extension, DEEP batching, OOD values."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zkvm.field import kernels as K
from zkvm.field.scalar import GENERATOR, P, Ext
from zkvm.poly.transforms import coset_extend, coset_ntt
from zkvm.stark.kernels import horner_ext, lincomb

FAST = settings(max_examples=20, deadline=None, derandomize=True)
rng = np.random.default_rng(77)


def rand(*shape) -> np.ndarray:
    return rng.integers(0, P, size=shape, dtype=np.uint64)


@FAST
@given(w=st.integers(0, 5), log_m=st.integers(0, 10), extra=st.integers(0, 4),
       short=st.booleans(), shift=st.sampled_from([1, GENERATOR, 12345]))
def test_coset_extend_equals_padded_coset_ntt(w, log_m, extra, short, shift):
    m = (1 << log_m) - (3 if short and log_m >= 3 else 0)  # also a non-power-of-two length
    c = rand(w, m)
    log_size = log_m + extra
    padded = np.zeros((w, 1 << log_size), dtype=np.uint64)
    padded[:, :m] = c
    assert np.array_equal(coset_extend(c, log_size, shift), coset_ntt(padded, shift))


def test_coset_extend_large_batch_uses_the_parallel_path():
    c = rand(7, 1 << 11)
    padded = np.zeros((7, 1 << 14), dtype=np.uint64)
    padded[:, : 1 << 11] = c
    assert np.array_equal(coset_extend(c, 14, GENERATOR), coset_ntt(padded, GENERATOR))


def test_coset_extend_rejects_too_many_coefficients():
    with pytest.raises(ValueError):
        coset_extend(rand(2, 32), 4, GENERATOR)


def _lincomb_ref(cols, coeffs, n):
    out = np.zeros((n, 2), dtype=np.uint64)
    for k in range(cols.shape[0]):
        term = K.ext_mul_base(np.broadcast_to(coeffs[k], (cols.shape[1], 2)), cols[k])
        out[: cols.shape[1]] = K.ext_add(out[: cols.shape[1]], term)
    return out


@pytest.mark.parametrize("w,m,n", [(1, 5, 5), (9, 3000, 3000), (4, 1024, 4096), (0, 8, 8)])
def test_lincomb_matches_reference(w, m, n):
    cols, coeffs = rand(w, m), rand(w, 2)
    start = rand(n, 2)
    out = start.copy()
    lincomb(cols, coeffs, out)
    assert np.array_equal(out, K.ext_add(start, _lincomb_ref(cols, coeffs, n)))


@pytest.mark.parametrize("w,m", [(1, 1), (3, 17), (20, 256)])
def test_horner_ext_matches_scalar_evaluation(w, m):
    c = rand(w, m)
    z = Ext(int(rand(1)[0]), int(rand(1)[0]))
    got = horner_ext(c, z)
    for k in range(w):
        acc = Ext(0)
        for i in range(m - 1, -1, -1):
            acc = acc * z + int(c[k, i])
        assert [int(got[k, 0]), int(got[k, 1])] == acc.to_list()


@pytest.mark.parametrize("widths,log_n,pack", [([3], 4, 1), ([248, 2, 5], 10, 1), ([1, 1], 6, 4),
                                               ([70, 65], 7, 2)])
def test_group_rows_equals_concatenated_transpose(widths, log_n, pack):
    from zkvm.stark.setup import group_rows

    parts = [rand(w, 1 << log_n) for w in widths]
    want = np.concatenate(parts).T.reshape((1 << log_n) // pack, sum(widths) * pack)
    assert np.array_equal(group_rows(parts, pack), want)


@pytest.mark.parametrize("w,m,big", [(1, 1, 1), (3, 17, 32), (20, 256, 256), (0, 4, 4)])
def test_eval_with_powers_matches_horner(w, m, big):
    from zkvm.stark.kernels import eval_with_powers

    c = rand(w, m)
    zs = [Ext(int(rand(1)[0]), int(rand(1)[0])) for _ in range(2)]
    pows = np.concatenate([K.ext_powers(z, big).T for z in zs])
    got = eval_with_powers(c, pows)
    for j, z in enumerate(zs):
        assert np.array_equal(got[:, 2 * j:2 * j + 2], horner_ext(c, z))


def test_eval_with_powers_refuses_too_few_powers():
    from zkvm.stark.kernels import eval_with_powers

    with pytest.raises(ValueError):
        eval_with_powers(rand(2, 8), K.ext_powers(Ext(3, 1), 4).T)


@pytest.mark.parametrize("lead,pack", [(2, 1), (2, 4), (0, 1)])
def test_merkle_tree_on_rows_with_salt_room_equals_plain_tree(lead, pack):
    from zkvm.fri.merkle import MerkleTree
    from zkvm.stark.setup import group_rows

    parts = [rand(5, 64), rand(3, 64)]
    salts = rng.integers(0, 256, (64 // pack, 16), dtype=np.uint8)
    plain = np.ascontiguousarray(group_rows(parts, pack))
    rows = group_rows(parts, pack, lead)
    fast = MerkleTree(rows, salts)
    ref = MerkleTree(plain, salts.copy())
    assert fast.root == ref.root
    proof = fast.open([3, 9, 9, 0])
    assert np.array_equal(proof.rows, plain[[0, 3, 9]])
    if lead and pack == 1:  # the salts went into the room left for them: no copy
        assert fast.rows.base is rows.base


@pytest.mark.parametrize("d", [1, 3])
def test_lincomb_any_number_of_components_matches_base_products(d):
    cols, coeffs = rand(6, 3000), rand(6, d)
    out = lincomb(cols, coeffs, rand(4096, d))
    start = out.copy()
    out = lincomb(cols, coeffs, out)
    for j in range(d):
        want = start[:3000, j]
        for k in range(6):
            want = K.add(want, K.mul(cols[k], coeffs[k, j]))
        assert np.array_equal(out[:3000, j], want)
    assert np.array_equal(out[3000:], start[3000:])
