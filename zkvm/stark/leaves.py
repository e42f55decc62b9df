"""Merkle leaf rows made block by block from column-major LDEs, never as one matrix.

A phase's tree hashes rows (one LDE point of every column of a group, side by
side; packed groups put several points per leaf, :func:`zkvm.stark.setup.leaf_rows`),
but the prover keeps its extensions column-major ``(w, N)`` for the quotient
and the DEEP batch. Writing the whole row-major copy doubled the phase's
memory (2.5 GB for ResNet-20's preprocessed columns) and most of its transpose
time went on first-touch page faults of that fresh buffer. :class:`LeafRows`
stands for that matrix: ``MerkleTree`` hashes it a block of rows at a time
(``block``: a few MiB, reused in cache) and an opening gathers only the queried
rows (``rows[idx]``). The leaves, and so the roots, are byte-for-byte those of
the materialised matrix (tests/test_leaves.py).
"""

from __future__ import annotations

import numpy as np

from zkvm.stark.kernels import transpose_into

#: words per hashing block (``block_rows`` rows of the full width, at least 256 rows)
BLOCK_WORDS = 1 << 21


class LeafRows:
    """The ``(2^leaf_log, width)`` leaf matrix of groups' column blocks, made on demand.

    Args:
        parts_by_group: per group (largest first), its ``(w_i, 2^log)`` column blocks.
        logs: log2 of each group's height, all ``>= leaf_log``.
        leaf_log: log2 of the number of leaves; leaf ``j`` holds each group's rows
            ``j, j + 2^leaf_log, ..`` side by side (as ``leaf_rows``).
    """

    ndim = 2
    dtype = np.dtype(np.uint64)

    def __init__(self, parts_by_group: list[list[np.ndarray]], logs: list[int], leaf_log: int):
        if any(lg < leaf_log for lg in logs):
            raise ValueError(f"group heights 2^{logs} below the leaf level 2^{leaf_log}")
        self.n = 1 << leaf_log
        # (column block, row offset of its slice): leaf j takes block[:, off + j]
        self.pieces: list[tuple[np.ndarray, int]] = []
        for parts, lg in zip(parts_by_group, logs):
            for t in range(1 << (lg - leaf_log)):
                for p in parts:
                    if p.shape[1] != 1 << lg:
                        raise ValueError(f"a column block of {p.shape[1]} points in a group "
                                         f"of 2^{lg}")
                    if p.shape[0]:
                        self.pieces.append((p, t * self.n))
        self.width = sum(p.shape[0] for p, _ in self.pieces)
        self.shape = (self.n, self.width)
        rows = max(256, BLOCK_WORDS // max(1, self.width))
        self.block_rows = min(self.n, 1 << (rows.bit_length() - 1))

    def __len__(self) -> int:
        return self.n

    def block(self, lo: int, hi: int, lead: int = 0) -> np.ndarray:
        """Rows ``lo .. hi - 1`` as a ``(hi - lo, width)`` matrix; with ``lead > 0`` a view
        of a buffer with ``lead`` free words in front of each row (room for the salts)."""
        buf = np.empty((hi - lo, lead + self.width), dtype=np.uint64)
        col = lead
        for p, off in self.pieces:
            transpose_into(p[:, off + lo:off + hi], buf, col)
            col += p.shape[0]
        return buf[:, lead:] if lead else buf

    def __getitem__(self, idx) -> np.ndarray:
        """The rows at integer indices ``idx`` (an opening's rows), ``(len(idx), width)``."""
        idx = np.asarray(idx, dtype=np.int64).ravel()
        out = np.empty((idx.size, self.width), dtype=np.uint64)
        col = 0
        for p, off in self.pieces:
            w = p.shape[0]
            out[:, col:col + w] = p[:, off + idx].T
            col += w
        return out
