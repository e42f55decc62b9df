"""Mixed-height Merkle trees: one commitment over row groups of several heights.

Honest batch openings verify (against a hashlib-free reference root built with
the ``blake3`` package), and each attack below is rejected.
"""

from __future__ import annotations

import copy

import blake3
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zkvm.fri.merkle import (
    INJECT_KEY,
    LEAF_KEY,
    NODE_KEY,
    MerklePathInvalid,
    MixedMerkleTree,
    MixedProof,
    verify_mixed,
)
from zkvm.fri.merkle_verify import INJECT_CONTEXT


def _groups(rng, logs, widths, salted):
    out = []
    for lg, w in zip(logs, widths):
        rows = rng.integers(0, 2**63, size=(1 << lg, w), dtype=np.uint64)
        salts = rng.integers(0, 256, size=(1 << lg, 16), dtype=np.uint8) if salted else None
        out.append((rows, salts))
    return out


def _reference_root(groups) -> bytes:
    """The tree of ``verify_mixed``'s docstring, node by node with the blake3 package."""
    def leaf(rows, salts, j):
        return blake3.blake3((b"" if salts is None else salts[j].tobytes())
                             + rows[j].astype("<u8").tobytes(), key=LEAF_KEY).digest()
    rows0, salts0 = groups[0]
    level = [leaf(rows0, salts0, j) for j in range(rows0.shape[0])]
    by_height = {r.shape[0]: (r, s) for r, s in groups[1:]}
    while len(level) > 1:
        h = len(level) // 2
        level = [blake3.blake3(level[j] + level[j + h], key=NODE_KEY).digest() for j in range(h)]
        if h in by_height:
            r, s = by_height[h]
            level = [blake3.blake3(level[j] + leaf(r, s, j), key=INJECT_KEY).digest()
                     for j in range(h)]
    return level[0]


SHAPES = [([5], [3]), ([6, 4, 3], [2, 7, 1]), ([5, 4, 0], [4, 1, 2]), ([4, 2], [20, 3])]


def test_inject_key_is_derived_from_its_context():
    assert INJECT_KEY == blake3.blake3(b"", derive_key_context=INJECT_CONTEXT).digest()
    assert len({INJECT_KEY, LEAF_KEY, NODE_KEY}) == 3


@pytest.mark.parametrize("salted", [False, True])
@pytest.mark.parametrize("logs,widths", SHAPES)
def test_root_matches_the_reference_and_openings_verify(logs, widths, salted):
    rng = np.random.default_rng(sum(logs) + salted)
    groups = _groups(rng, logs, widths, salted)
    tree = MixedMerkleTree(groups)
    assert tree.root == _reference_root(groups)
    idx = rng.integers(0, 1 << logs[0], size=9)
    proof = tree.open(idx)
    where = verify_mixed(tree.root, logs, widths, idx, proof, salted)
    for (rows, _), w, lg, got in zip(groups, where, logs, proof.rows):
        for i in idx:
            p = int(i) & ((1 << lg) - 1)
            assert np.array_equal(got[w[p]], rows[p])


@settings(max_examples=30, deadline=None, derandomize=True)
@given(st.data())
def test_random_shapes_and_query_sets_verify(data):
    top = data.draw(st.integers(1, 7))
    logs = sorted(data.draw(st.sets(st.integers(0, top - 1), max_size=3)) | {top}, reverse=True)
    widths = [data.draw(st.integers(1, 5)) for _ in logs]
    salted = data.draw(st.booleans())
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    groups = _groups(rng, logs, widths, salted)
    tree = MixedMerkleTree(groups)
    idx = data.draw(st.lists(st.integers(0, (1 << top) - 1), min_size=1, max_size=12))
    proof = tree.open(idx)
    verify_mixed(tree.root, logs, widths, idx, proof, salted)
    again = MixedProof.from_dict(copy.deepcopy(proof.to_dict()))
    verify_mixed(tree.root, logs, widths, idx, again, salted)


@pytest.fixture
def opened():
    logs, widths = [6, 4, 3], [2, 3, 1]
    rng = np.random.default_rng(7)
    groups = _groups(rng, logs, widths, True)
    tree = MixedMerkleTree(groups)
    idx = [1, 17, 40, 63]
    return tree, logs, widths, idx, tree.open(idx)


def _rejects(tree, logs, widths, idx, proof, salted=True):
    with pytest.raises(MerklePathInvalid):
        verify_mixed(tree.root, logs, widths, idx, proof, salted)


@pytest.mark.parametrize("g", [0, 1, 2])
def test_flipped_row_of_any_group_is_rejected(opened, g):
    tree, logs, widths, idx, proof = opened
    bad = copy.deepcopy(proof)
    bad.rows[g][0, 0] ^= np.uint64(1)
    _rejects(tree, logs, widths, idx, bad)


def test_flipped_sibling_is_rejected(opened):
    tree, logs, widths, idx, proof = opened
    for k in range(len(proof.siblings)):
        bad = copy.deepcopy(proof)
        s = bytearray(bad.siblings[k])
        s[0] ^= 1
        bad.siblings[k] = bytes(s)
        _rejects(tree, logs, widths, idx, bad)


@pytest.mark.parametrize("g", [0, 1, 2])
def test_flipped_salt_is_rejected(opened, g):
    tree, logs, widths, idx, proof = opened
    bad = copy.deepcopy(proof)
    s = bytearray(bad.salts[g][0])
    s[0] ^= 1
    bad.salts[g][0] = bytes(s)
    _rejects(tree, logs, widths, idx, bad)


def test_missing_or_unexpected_salts_are_rejected(opened):
    tree, logs, widths, idx, proof = opened
    bad = copy.deepcopy(proof)
    bad.salts = None
    _rejects(tree, logs, widths, idx, bad)
    _rejects(tree, logs, widths, idx, proof, salted=False)


def test_row_of_the_wrong_group_is_rejected():
    """Two groups of equal width: a row moved into the other group does not verify."""
    logs, widths = [5, 3], [2, 2]
    rng = np.random.default_rng(3)
    groups = _groups(rng, logs, widths, False)
    tree = MixedMerkleTree(groups)
    idx = [9]
    proof = tree.open(idx)
    bad = copy.deepcopy(proof)
    bad.rows[1] = proof.rows[0].copy()
    _rejects(tree, logs, widths, idx, bad, salted=False)
    bad = copy.deepcopy(proof)
    bad.rows[0], bad.rows[1] = proof.rows[1], proof.rows[0]
    _rejects(tree, logs, widths, idx, bad, salted=False)


def test_swapped_group_order_is_rejected(opened):
    tree, logs, widths, idx, proof = opened
    bad = copy.deepcopy(proof)
    bad.rows[1], bad.rows[2] = bad.rows[2], bad.rows[1]
    bad.salts[1], bad.salts[2] = bad.salts[2], bad.salts[1]
    _rejects(tree, logs, [widths[0], widths[2], widths[1]], idx, bad)
    with pytest.raises(MerklePathInvalid):  # heights in another order: refused outright
        verify_mixed(tree.root, [logs[0], logs[2], logs[1]], widths, idx, proof, True)


def test_heights_other_than_committed_are_rejected(opened):
    tree, logs, widths, idx, proof = opened
    _rejects(tree, [6, 4, 2], widths, idx, proof)
    _rejects(tree, [6, 4], widths[:2], idx, proof)


def test_truncated_path_is_rejected(opened):
    tree, logs, widths, idx, proof = opened
    bad = copy.deepcopy(proof)
    bad.siblings = bad.siblings[:-1]
    _rejects(tree, logs, widths, idx, bad)
    bad = copy.deepcopy(proof)
    bad.siblings = bad.siblings + [bytes(32)]
    _rejects(tree, logs, widths, idx, bad)


def test_row_claimed_at_another_index_is_rejected(opened):
    tree, logs, widths, idx, proof = opened
    _rejects(tree, logs, widths, [2, 17, 40, 63], proof)


def test_missing_or_extra_rows_are_rejected(opened):
    tree, logs, widths, idx, proof = opened
    bad = copy.deepcopy(proof)
    bad.rows[1] = bad.rows[1][:-1]
    _rejects(tree, logs, widths, idx, bad)
    bad = copy.deepcopy(proof)
    bad.rows[2] = np.concatenate([bad.rows[2], bad.rows[2][:1]])
    _rejects(tree, logs, widths, idx, bad)
    bad = copy.deepcopy(proof)
    del bad.rows[2]
    _rejects(tree, logs, widths, idx, bad)


def test_out_of_range_index_is_rejected(opened):
    tree, logs, widths, idx, proof = opened
    _rejects(tree, logs, widths, [1, 17, 40, 64], proof)


def test_malformed_dict_is_rejected():
    with pytest.raises(MerklePathInvalid):
        MixedProof.from_dict({"rows": [b"\\x00" * 8], "shapes": [], "salts": None, "siblings": []})
    with pytest.raises(MerklePathInvalid):
        MixedProof.from_dict({"rows": [b"\\x00" * 7], "shapes": [[1, 1]], "salts": None,
                              "siblings": []})


@settings(max_examples=25, deadline=None, derandomize=True)
@given(st.data())
def test_packed_leaves_hold_the_rows_fri_folds_together(data):
    """``leaf_rows``: leaf j holds rows j, j + 2^L, .. of each packed group, largest first."""
    from zkvm.stark.setup import leaf_rows

    leaf_log = data.draw(st.integers(0, 4))
    logs = sorted(data.draw(st.sets(st.integers(leaf_log, leaf_log + 3), min_size=1, max_size=3)),
                  reverse=True)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    parts = [[rng.integers(0, 2**63, size=(data.draw(st.integers(1, 3)), 1 << lg), dtype=np.uint64)
              for _ in range(data.draw(st.integers(1, 2)))] for lg in logs]
    got = leaf_rows(parts, logs, leaf_log)
    n = 1 << leaf_log
    for j in range(n):
        want = []
        for ps, lg in zip(parts, logs):
            cols = np.concatenate(ps)
            for s in range(1 << (lg - leaf_log)):
                want += cols[:, j + s * n].tolist()
        assert got[j].tolist() == want


@pytest.mark.parametrize("field", ["siblings", "salts"])
def test_integer_in_place_of_bytes_is_rejected_without_allocating(field):
    """``bytes(10**11)`` would allocate 100 GB: decoders require real byte strings."""
    from zkvm.fri.merkle_verify import MerklePathInvalid, MerkleProof

    d = {"shapes": [[1, 1]], "rows": [b"\0" * 8], "salts": None, "siblings": [b"\0" * 32]}
    d[field] = [10**11] if field == "siblings" else [[10**11]]
    with pytest.raises(MerklePathInvalid, match="bytes"):
        MixedProof.from_dict(d)
    flat = {"shape": [1, 1], "rows": b"\0" * 8, "salts": None, "siblings": [b"\0" * 32]}
    flat[field] = [10**11]
    with pytest.raises(MerklePathInvalid, match="bytes"):
        MerkleProof.from_dict(flat)
