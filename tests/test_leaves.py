"""``LeafRows``: the trees hashed block by block equal the trees of the materialised rows."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zkvm.fri.merkle import MixedMerkleTree, verify_mixed
from zkvm.stark import leaves
from zkvm.stark.leaves import LeafRows
from zkvm.stark.setup import group_rows, leaf_rows, mixed_groups


def _parts(rng, logs, widths):
    return {lg: [rng.integers(0, 2**63, size=(w, 1 << lg), dtype=np.uint64) for w in ws]
            for lg, ws in zip(logs, widths)}


def _materialised(parts, logs, leaf_log, salts):
    """The old construction: whole row-major matrices (``leaf_rows`` / ``group_rows``)."""
    packed = [g for g in logs if g >= leaf_log]
    rows = leaf_rows([parts[g] for g in packed], packed, leaf_log)
    out = [(rows, salts(rows.shape[0]) if salts else None)]
    for g in logs:
        if g < leaf_log:
            r = group_rows(parts[g])
            out.append((r, salts(r.shape[0]) if salts else None))
    return out


def _salts(seed):
    rng = np.random.default_rng(seed)
    return lambda n: rng.integers(0, 256, size=(n, 16), dtype=np.uint8)


@settings(max_examples=20, deadline=None, derandomize=True)
@given(st.data())
def test_block_hashed_tree_equals_the_materialised_tree(data):
    logs = sorted(data.draw(st.sets(st.integers(2, 10), min_size=1, max_size=3)), reverse=True)
    widths = [data.draw(st.lists(st.integers(1, 5), min_size=1, max_size=2)) for _ in logs]
    leaf_log = data.draw(st.integers(min(logs), max(logs)))
    salted = data.draw(st.booleans())
    hash_ = data.draw(st.sampled_from(["blake3", "keccak"]))
    seed = data.draw(st.integers(0, 2**32 - 1))
    parts = _parts(np.random.default_rng(seed), logs, widths)
    saved, leaves.BLOCK_WORDS = leaves.BLOCK_WORDS, 64  # many blocks (256-row floor aside)
    try:
        lazy = MixedMerkleTree(mixed_groups(parts, logs, leaf_log,
                                            _salts(seed) if salted else None), hash=hash_)
    finally:
        leaves.BLOCK_WORDS = saved
    whole = MixedMerkleTree(_materialised(parts, logs, leaf_log, _salts(seed) if salted else None),
                            hash=hash_)
    assert lazy.root == whole.root
    idx = np.random.default_rng(seed).integers(0, 1 << leaf_log, size=5)
    op = lazy.open(idx)
    ref = whole.open(idx)
    assert all(np.array_equal(a, b) for a, b in zip(op.rows, ref.rows))
    assert op.siblings == ref.siblings and op.salts == ref.salts


def test_opening_of_block_hashed_tree_verifies_and_tampered_row_is_rejected():
    from zkvm.fri.merkle import MerklePathInvalid

    logs, widths, leaf_log = [9, 7], [[3, 2], [4]], 8
    parts = _parts(np.random.default_rng(5), logs, widths)
    tree = MixedMerkleTree(mixed_groups(parts, logs, leaf_log))
    idx = [3, 100, 255]
    op = tree.open(idx)
    shape_logs = [leaf_log, 7]
    shape_widths = [5 * 2, 4]
    verify_mixed(tree.root, shape_logs, shape_widths, idx, op, False)
    op.rows[0][1, 2] ^= np.uint64(1)
    with pytest.raises(MerklePathInvalid):
        verify_mixed(tree.root, shape_logs, shape_widths, idx, op, False)


def test_leaf_rows_block_and_gather_match_leaf_rows():
    logs, leaf_log = [6, 5, 4], 4
    parts = _parts(np.random.default_rng(1), logs, [[2], [1, 3], [2]])
    want = leaf_rows([parts[g] for g in logs], logs, leaf_log)
    lazy = LeafRows([parts[g] for g in logs], logs, leaf_log)
    assert lazy.shape == want.shape
    assert np.array_equal(lazy.block(0, 16), want)
    assert np.array_equal(lazy.block(4, 12, lead=2), want[4:12])
    assert np.array_equal(lazy[[15, 0, 7]], want[[15, 0, 7]])


def test_group_below_the_leaf_level_is_refused():
    with pytest.raises(ValueError, match="below the leaf level"):
        LeafRows([[np.zeros((1, 8), np.uint64)]], [3], 4)


@pytest.mark.parametrize("log_n, log_blowup", [(3, 3), (5, 1)])
def test_openings_from_coefficients_equal_the_extension(log_n, log_blowup):
    """After ``from_coefficients`` the opened rows are the LDE's rows, evaluated afresh."""
    from zkvm.field.scalar import GENERATOR
    from zkvm.poly.transforms import coset_extend

    rng = np.random.default_rng(3)
    log_lde, shift = log_n + log_blowup, GENERATOR
    coeffs = [rng.integers(0, 2**63, size=(w, 1 << log_n), dtype=np.uint64) for w in (2, 3)]
    ldes = [coset_extend(c, log_lde, shift) for c in coeffs]
    rows = LeafRows([ldes], [log_lde], log_lde)
    tree = MixedMerkleTree([(rows, None)])
    want = rows[[0, 5, (1 << log_lde) - 1]]
    rows.from_coefficients(lambda log, j: (coeffs[j], log, shift))   # block j of the group
    assert np.array_equal(rows[[0, 5, (1 << log_lde) - 1]], want)
    op = tree.open([5, 2])
    verify_mixed(tree.root, [log_lde], [5], [5, 2], op, False)
    with pytest.raises(ValueError, match="hash them before"):
        rows.block(0, 4)
