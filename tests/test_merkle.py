"""Batched BLAKE3 kernel vs the blake3 package; Merkle commitments and batch openings."""

from __future__ import annotations

import subprocess
import sys

import blake3
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zkvm.fri import blake3_kernel as bk
from zkvm.fri.merkle import (
    LEAF_KEY,
    NODE_KEY,
    MerklePathInvalid,
    MerkleProof,
    MerkleTree,
    hash_leaf,
    hash_node,
    verify,
)
from zkvm.fri.merkle_verify import LEAF_CONTEXT, NODE_CONTEXT

KEY = bytes(range(7, 39))


def test_domain_keys_are_derived_from_their_contexts():
    assert LEAF_KEY == blake3.blake3(b"", derive_key_context=LEAF_CONTEXT).digest()
    assert NODE_KEY == blake3.blake3(b"", derive_key_context=NODE_CONTEXT).digest()
    assert LEAF_KEY != NODE_KEY


def test_kernel_matches_blake3_package_for_lengths_0_to_3000():
    rng = np.random.default_rng(1)
    for n_bytes in range(0, 3001):
        msgs = rng.integers(0, 256, size=(2, n_bytes), dtype=np.uint8)
        got = bk.hash_many(msgs, KEY)
        for r in range(2):
            want = blake3.blake3(msgs[r].tobytes(), key=KEY).digest()
            assert got[r].tobytes() == want, f"length {n_bytes}"


@pytest.mark.parametrize("n_bytes", [64, 128, 1024, 2048, 3072, 4096, 5 * 1024, 7 * 1024 + 1, 9 * 1024])
def test_kernel_matches_blake3_package_multi_chunk(n_bytes):
    rng = np.random.default_rng(n_bytes)
    msgs = rng.integers(0, 256, size=(5, n_bytes), dtype=np.uint8)
    got = bk.hash_many(msgs, KEY)
    for r in range(5):
        assert got[r].tobytes() == blake3.blake3(msgs[r].tobytes(), key=KEY).digest()


def test_hash_pairs_matches_package():
    rng = np.random.default_rng(2)
    c = rng.integers(0, 2**32, size=(16, 8), dtype=np.uint32)
    out = bk.hash_pairs(c, NODE_KEY)
    for i in range(8):
        assert out[i].tobytes() == hash_node(c[2 * i].tobytes(), c[2 * i + 1].tobytes())


def _reference_root(rows: np.ndarray, salts=None) -> bytes:
    level = [
        hash_leaf(rows[i].astype("<u8").tobytes(), b"" if salts is None else bytes(salts[i]))
        for i in range(rows.shape[0])
    ]
    while len(level) > 1:
        level = [hash_node(level[i], level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


@pytest.mark.parametrize("log_n", [0, 1, 2, 5, 9])
@pytest.mark.parametrize("width", [1, 4, 8, 13])
def test_root_matches_plain_python_reference(log_n, width):
    rng = np.random.default_rng(log_n * 100 + width)
    rows = rng.integers(0, 2**64, size=(1 << log_n, width), dtype=np.uint64)
    assert MerkleTree(rows).root == _reference_root(rows)
    salts = rng.integers(0, 256, size=(1 << log_n, 16), dtype=np.uint8)
    assert MerkleTree(rows, salts).root == _reference_root(rows, salts)


@settings(max_examples=30, deadline=None, derandomize=True)
@given(
    log_n=st.integers(0, 8),
    raw=st.lists(st.integers(0, 2**16), min_size=1, max_size=20),
    salted=st.booleans(),
)
def test_batch_opening_verifies(log_n, raw, salted):
    rng = np.random.default_rng(log_n)
    n = 1 << log_n
    rows = rng.integers(0, 2**64, size=(n, 3), dtype=np.uint64)
    salts = [bytes(rng.integers(0, 256, 8, dtype=np.uint8)) for _ in range(n)] if salted else None
    tree = MerkleTree(rows, salts)
    idx = [r % n for r in raw]  # duplicates and any order allowed
    proof = tree.open(idx)
    verify(tree.root, log_n, idx, rows[idx], proof)


def test_batch_opening_deduplicates_siblings():
    rows = np.arange(64 * 2, dtype=np.uint64).reshape(64, 2)
    tree = MerkleTree(rows)
    assert len(tree.open([0, 1]).siblings) == 5  # siblings of the pair's parent upward
    assert len(tree.open([5]).siblings) == 6
    assert len(tree.open(list(range(64))).siblings) == 0


@pytest.fixture
def opened():
    rng = np.random.default_rng(7)
    rows = rng.integers(0, 2**64, size=(32, 4), dtype=np.uint64)
    tree = MerkleTree(rows)
    idx = [3, 17, 18, 30]
    return rows, tree, idx, tree.open(idx)


def test_flipped_row_value_is_rejected(opened):
    rows, tree, idx, proof = opened
    bad = rows[idx].copy()
    bad[1, 2] ^= np.uint64(1)
    with pytest.raises(MerklePathInvalid):
        verify(tree.root, 5, idx, bad, proof, tree="main")


def test_forged_sibling_is_rejected(opened):
    rows, tree, idx, proof = opened
    sib = list(proof.siblings)
    sib[2] = bytes(32)
    with pytest.raises(MerklePathInvalid):
        verify(tree.root, 5, idx, rows[idx], MerkleProof(proof.rows, None, sib))


def test_opening_at_another_index_is_rejected(opened):
    rows, tree, _, _ = opened
    proof = tree.open([4])
    with pytest.raises(MerklePathInvalid):
        verify(tree.root, 5, [5], rows[[4]], proof)


def test_missing_or_extra_sibling_is_rejected(opened):
    rows, tree, idx, proof = opened
    with pytest.raises(MerklePathInvalid, match="too few"):
        verify(tree.root, 5, idx, rows[idx], MerkleProof(proof.rows, None, proof.siblings[:-1]))
    with pytest.raises(MerklePathInvalid, match="unused"):
        verify(tree.root, 5, idx, rows[idx], MerkleProof(proof.rows, None, proof.siblings + [bytes(32)]))


def test_index_out_of_range_and_conflicting_duplicates_are_rejected(opened):
    rows, tree, idx, proof = opened
    with pytest.raises(MerklePathInvalid, match="out of range"):
        verify(tree.root, 5, [32], rows[[0]], proof)
    two = np.stack([rows[3], rows[4]])
    with pytest.raises(MerklePathInvalid, match="two different rows"):
        verify(tree.root, 5, [3, 3], two, tree.open([3]))


def test_node_cannot_pass_as_leaf():
    """Leaves and nodes use different keys: a 2-leaf root is not the leaf hash of the pair."""
    rows = np.arange(8, dtype=np.uint64).reshape(2, 4)
    tree = MerkleTree(rows)
    l0, l1 = tree.levels[0][0].tobytes(), tree.levels[0][1].tobytes()
    assert tree.root == hash_node(l0, l1)
    assert tree.root != blake3.blake3(l0 + l1, key=LEAF_KEY).digest()


def test_merkle_proof_dict_round_trip(opened):
    import msgpack

    rows, tree, idx, proof = opened
    back = MerkleProof.from_dict(msgpack.unpackb(msgpack.packb(proof.to_dict())))
    assert np.array_equal(back.rows, proof.rows) and back.siblings == proof.siblings
    verify(tree.root, 5, idx, rows[idx], back)


def test_verifier_modules_do_not_import_numba():
    code = (
        "import sys, zkvm.fri.merkle_verify, zkvm.fri.fri_verify, zkvm.fri.transcript;"
        "assert 'numba' not in sys.modules, 'numba imported on the verifier path'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("n_msgs, n_bytes", [(1, 32), (63, 40), (65, 64), (200, 1500), (bk.PARALLEL_MIN + 5, 37)])
def test_kernel_lanes_tiles_and_parallel_path(n_msgs, n_bytes):
    """Partial tiles, several tiles, and the parallel path all match the package."""
    rng = np.random.default_rng(n_msgs)
    msgs = rng.integers(0, 256, size=(n_msgs, n_bytes), dtype=np.uint8)
    got = bk.hash_many(msgs, KEY)
    for r in sorted({0, n_msgs // 2, n_msgs - 1} | set(range(0, n_msgs, 997))):
        assert got[r].tobytes() == blake3.blake3(msgs[r].tobytes(), key=KEY).digest()


def test_odd_salt_length_matches_reference():
    rng = np.random.default_rng(3)
    rows = rng.integers(0, 2**64, size=(16, 3), dtype=np.uint64)
    salts = [bytes(rng.integers(0, 256, 7, dtype=np.uint8)) for _ in range(16)]
    tree = MerkleTree(rows, salts)
    assert tree.root == _reference_root(rows, salts)
    verify(tree.root, 4, [2, 9], rows[[2, 9]], tree.open([2, 9]))
