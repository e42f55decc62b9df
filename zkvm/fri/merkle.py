"""Merkle commitments over rows of ``uint64`` matrices, hashed with keyed BLAKE3.

Leaf/node hashing and the batch-opening format are specified in
:mod:`zkvm.fri.merkle_verify` (which holds :func:`verify` and imports no
numba). :class:`MerkleTree` builds the tree with the numba BLAKE3 kernel
(imported lazily, on first construction, so that importing this module for
``verify`` costs no JIT).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from zkvm.fri.hashes import INJECT_TAG, NODE_TAG, keccak_concat, keccak_leaves
from zkvm.fri.merkle_verify import (
    INJECT_KEY,
    LEAF_KEY,
    NODE_KEY,
    MerklePathInvalid,
    MerkleProof,
    MixedProof,
    hash_leaf,
    hash_node,
    mixed_positions,
    verify,
    verify_mixed,
)

__all__ = [
    "INJECT_KEY",
    "LEAF_KEY",
    "NODE_KEY",
    "MerklePathInvalid",
    "MerkleProof",
    "MerkleTree",
    "MixedMerkleTree",
    "MixedProof",
    "hash_leaf",
    "hash_node",
    "verify",
    "verify_mixed",
]


class MerkleTree:
    """A Merkle tree whose leaves are the rows of a ``uint64`` matrix.

    Args:
        rows: ``uint64`` array ``(n_rows, width)``, ``n_rows`` a power of two.
        salts: optional per-row salts (zk mode): ``uint8`` array
            ``(n_rows, salt_len)`` or a list of equal-length ``bytes``.

    Attributes:
        root: the 32-byte root.
        log_n_rows: log2 of the number of rows.
    """

    def __init__(self, rows: np.ndarray, salts: np.ndarray | Sequence[bytes] | None = None,
                 hash: str = "blake3") -> None:
        from zkvm.fri import blake3_kernel as bk

        self.hash = hash
        self.log_n_rows, self.rows, self.salts, level = self._leaves(rows, salts, hash)
        self.levels: list[np.ndarray] = [level]
        while level.shape[0] > 1:
            if hash == "keccak":
                level = keccak_concat(level[0::2], level[1::2], NODE_TAG)
            else:
                level = bk.hash_pairs(level, NODE_KEY)
            self.levels.append(level)
        self.root: bytes = level[0].tobytes()

    @staticmethod
    def _leaves(rows: np.ndarray, salts: np.ndarray | Sequence[bytes] | None,
                hash: str = "blake3"):
        """``(log_n, rows, salts, leaf digests)``: hashes ``salt || row`` as leaves of ``hash``."""
        from zkvm.fri import blake3_kernel as bk

        if hasattr(rows, "block"):  # rows made on demand (zkvm.stark.leaves.LeafRows)
            return MerkleTree._leaves_by_block(rows, salts, hash)
        rows = np.asarray(rows)
        if rows.ndim != 2:
            raise ValueError(f"rows must be a 2-D uint64 matrix, got shape {rows.shape}")
        n = rows.shape[0]
        if n == 0 or n & (n - 1):
            raise ValueError(f"number of rows must be a power of two, got {n}")
        n_bytes = rows.shape[1] * 8
        out_salts: np.ndarray | None = None
        if hash == "keccak":
            s = None if salts is None else _salt_matrix(salts, n)
            rows = np.ascontiguousarray(rows, dtype=np.uint64)
            return n.bit_length() - 1, rows, s, keccak_leaves(rows, s)
        if salts is None:
            rows = np.ascontiguousarray(rows, dtype=np.uint64)
            words = rows.view(np.uint32).reshape(n, -1) if rows.shape[1] else np.zeros((n, 1), np.uint32)
        else:
            s = _salt_matrix(salts, n)
            out_salts = s
            salt_len = s.shape[1]
            buf = _salt_room(rows, salt_len)
            if buf is not None:  # salt || row side by side in 8-byte words: no byte shuffling
                sw = salt_len // 8
                if buf is not rows.base:
                    buf[:, sw:] = rows
                buf[:, :sw] = s.view("<u8")
                rows = buf[:, sw:]
                words = buf.view("<u4").reshape(n, -1)
            else:
                rows = np.ascontiguousarray(rows, dtype=np.uint64)
                buf = np.zeros((n, (salt_len + n_bytes + 3) // 4 * 4), dtype=np.uint8)
                buf[:, :salt_len] = s
                buf[:, salt_len : salt_len + n_bytes] = rows.view(np.uint8).reshape(n, -1)
                words = buf.view("<u4").reshape(n, -1)
            n_bytes += salt_len
        return n.bit_length() - 1, rows, out_salts, bk.hash_many_words(words, n_bytes, LEAF_KEY)

    @staticmethod
    def _leaves_by_block(rows, salts, hash: str = "blake3"):
        """``_leaves`` of a matrix that is never whole: ``rows.block(lo, hi, lead)`` gives
        rows ``lo .. hi - 1`` (``lead`` free words in front for the salts),
        ``rows.block_rows`` at a time; ``rows[idx]`` later serves the openings."""
        n = rows.shape[0]
        if n == 0 or n & (n - 1):
            raise ValueError(f"number of rows must be a power of two, got {n}")
        s = None if salts is None else _salt_matrix(salts, n)
        lead = 0 if s is None or s.shape[1] % 8 else s.shape[1] // 8
        step = min(n, rows.block_rows)
        digests = [MerkleTree._leaves(rows.block(lo, lo + step, lead),
                                      None if s is None else s[lo:lo + step], hash)[3]
                   for lo in range(0, n, step)]
        return n.bit_length() - 1, rows, s, np.concatenate(digests)

    def open(self, indices: Sequence[int] | np.ndarray) -> MerkleProof:
        """Batch opening of the given row indices (duplicates allowed).

        Returns:
            A :class:`MerkleProof` with the rows/salts at the sorted distinct
            indices and the deduplicated siblings in the verifier's walk order.
        """
        uniq = sorted({int(i) for i in np.asarray(indices).ravel().tolist()})
        n = 1 << self.log_n_rows
        for i in uniq:
            if not 0 <= i < n:
                raise IndexError(f"row index {i} out of range [0, {n})")
        siblings: list[bytes] = []
        pos = uniq
        for depth in range(self.log_n_rows):
            lvl = self.levels[depth]
            new_pos = []
            k = 0
            while k < len(pos):
                i = pos[k]
                if i & 1 == 0 and k + 1 < len(pos) and pos[k + 1] == i + 1:
                    k += 2
                else:
                    siblings.append(lvl[i ^ 1].tobytes())
                    k += 1
                new_pos.append(i >> 1)
            pos = new_pos
        salts = None if self.salts is None else [self.salts[i].tobytes() for i in uniq]
        return MerkleProof(rows=self.rows[uniq].copy(), salts=salts, siblings=siblings)


def _salt_matrix(salts: np.ndarray | Sequence[bytes], n: int) -> np.ndarray:
    """Salts as a ``uint8 (n, salt_len)`` matrix (one per row)."""
    s = (np.frombuffer(b"".join(salts), dtype=np.uint8).reshape(n, -1)
         if not isinstance(salts, np.ndarray) else np.ascontiguousarray(salts, dtype=np.uint8))
    if s.shape[0] != n:
        raise ValueError(f"need one salt per row ({n}), got {s.shape[0]}")
    return s


def _salt_room(rows: np.ndarray, salt_len: int) -> np.ndarray | None:
    """A ``uint64`` buffer ``(n, salt_len / 8 + width)`` whose last columns are ``rows``.

    When ``rows`` already is ``buf[:, salt_len // 8:]`` of such a buffer (the prover
    leaves room for the salt in front of each row, see ``group_rows``) that buffer
    is returned and nothing is copied; otherwise a new one (``None`` when salts are
    not whole words).
    """
    if salt_len % 8:
        return None
    sw = salt_len // 8
    n, w = rows.shape
    base = rows.base
    if (isinstance(base, np.ndarray) and base.dtype == np.uint64 and rows.dtype == np.uint64
            and base.ndim == 2 and base.flags.c_contiguous and base.shape == (n, sw + w)
            and rows.strides == base.strides
            and rows.ctypes.data == base.ctypes.data + 8 * sw):
        return base
    return np.empty((n, sw + w), dtype=np.uint64)


class MixedMerkleTree:
    """One Merkle tree over row groups of distinct heights (``merkle_verify.verify_mixed``).

    Level ``k`` (``2^k`` nodes) joins children ``j`` and ``j + 2^k`` and absorbs
    the group of height ``2^k``, if any, so a query index ``i`` of the largest
    group passes through row ``i mod 2^log_g`` of every group.

    Args:
        groups: ``(rows, salts)`` per group, heights strictly decreasing powers
            of two; ``rows`` and ``salts`` as for :class:`MerkleTree`.

    Attributes:
        root: the 32-byte root.
        log_heights: log2 of each group's height.
    """

    def __init__(self, groups: Sequence[tuple[np.ndarray, np.ndarray | Sequence[bytes] | None]],
                 hash: str = "blake3") -> None:
        from zkvm.fri import blake3_kernel as bk

        if not groups:
            raise ValueError("a mixed tree needs at least one group")
        self.hash = hash
        self.groups = [MerkleTree._leaves(rows, salts, hash) for rows, salts in groups]
        self.log_heights = [lg for lg, _, _, _ in self.groups]
        if any(a <= b for a, b in zip(self.log_heights, self.log_heights[1:])):
            raise ValueError(f"group heights must be strictly decreasing, got {self.log_heights}")
        level = self.groups[0][3]
        self.levels: list[np.ndarray] = [level]  # levels[d]: 2^(top - d) nodes
        gi = 1
        for k in range(self.log_heights[0] - 1, -1, -1):
            h = 1 << k
            inject = gi < len(self.groups) and self.log_heights[gi] == k
            if hash == "keccak":
                level = keccak_concat(level[:h], level[h:], NODE_TAG)
                if inject:
                    level = keccak_concat(level, self.groups[gi][3], INJECT_TAG)
            else:
                level = bk.hash_many_words(np.concatenate([level[:h], level[h:]], axis=1), 64,
                                           NODE_KEY)
                if inject:
                    level = bk.hash_many_words(
                        np.concatenate([level, self.groups[gi][3]], axis=1), 64, INJECT_KEY)
            if inject:
                gi += 1
            self.levels.append(level)
        self.root: bytes = level[0].tobytes()

    def open(self, indices: Sequence[int] | np.ndarray) -> MixedProof:
        """Batch opening at query indices over the largest group (duplicates allowed)."""
        top = self.log_heights[0]
        idx = [int(i) for i in np.asarray(indices).ravel().tolist()]
        for i in idx:
            if not 0 <= i < (1 << top):
                raise IndexError(f"index {i} out of range [0, {1 << top})")
        siblings: list[bytes] = []
        pos = set(mixed_positions(top, idx))
        for depth, k in enumerate(range(top - 1, -1, -1)):
            half = 1 << k
            lvl = self.levels[depth]
            parents = sorted({p & (half - 1) for p in pos})
            for p in parents:
                left, right = p in pos, (p + half) in pos
                if not left:
                    siblings.append(lvl[p].tobytes())
                elif not right:
                    siblings.append(lvl[p + half].tobytes())
            pos = set(parents)
        rows, salts = [], []
        for lg, r, s, _ in self.groups:
            at = mixed_positions(lg, idx)
            rows.append(r[at].copy())
            salts.append(None if s is None else [s[i].tobytes() for i in at])
        return MixedProof(rows=rows, salts=None if salts[0] is None else salts,
                          siblings=siblings)
