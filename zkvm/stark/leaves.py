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

Once a tree is built its extensions may go: :meth:`LeafRows.from_coefficients`
makes the openings evaluate the columns' polynomials at the queried points
instead (a few dozen points, one pass over the coefficients), which is how the
proving key keeps only the points the quotient reads of its preprocessed
columns (``zkvm.stark.setup``).
"""

from __future__ import annotations

import numpy as np

from zkvm.field import kernels as K
from zkvm.field.scalar import P, root_of_unity
from zkvm.stark.kernels import eval_with_powers, transpose_into

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
        #: per piece, ``(log2 of its group's height, index of the block in the group's list)``
        self.sources: list[tuple[int, int]] = []
        for parts, lg in zip(parts_by_group, logs):
            for t in range(1 << (lg - leaf_log)):
                for j, p in enumerate(parts):
                    if p.shape[1] != 1 << lg:
                        raise ValueError(f"a column block of {p.shape[1]} points in a group "
                                         f"of 2^{lg}")
                    if p.shape[0]:
                        self.pieces.append((p, t * self.n))
                        self.sources.append((lg, j))
        self.width = sum(p.shape[0] for p, _ in self.pieces)
        #: per piece, ``(coefficients, log2 LDE size, coset shift)`` once the LDE is dropped
        self.polys: list[tuple[np.ndarray, int, int] | None] = [None] * len(self.pieces)
        self.shape = (self.n, self.width)
        rows = max(256, BLOCK_WORDS // max(1, self.width))
        self.block_rows = min(self.n, 1 << (rows.bit_length() - 1))

    def __len__(self) -> int:
        return self.n

    def block(self, lo: int, hi: int, lead: int = 0) -> np.ndarray:
        """Rows ``lo .. hi - 1`` as a ``(hi - lo, width)`` matrix; with ``lead > 0`` a view
        of a buffer with ``lead`` free words in front of each row (room for the salts)."""
        if any(poly is not None for poly in self.polys):
            raise ValueError("these leaf rows serve openings from coefficients: hash them "
                             "before from_coefficients")
        buf = np.empty((hi - lo, lead + self.width), dtype=np.uint64)
        col = lead
        for p, off in self.pieces:
            transpose_into(p[:, off + lo:off + hi], buf, col)
            col += p.shape[0]
        return buf[:, lead:] if lead else buf

    def from_coefficients(self, poly_of) -> None:
        """Serve openings from polynomials: ``poly_of(log, j)`` gives ``(coeffs, log_size,
        shift)`` of the ``j``-th column block of the group of ``2^log`` rows, as passed to
        the constructor (its LDE is ``coset_extend(coeffs, log_size, shift)``), or ``None``
        to keep reading the block. Drops the references to the replaced blocks; ``block``
        (hashing) needs them and is refused afterwards."""
        for i, (p, off) in enumerate(self.pieces):
            got = poly_of(*self.sources[i])
            if got is not None:
                self.polys[i] = got
                self.pieces[i] = (np.empty((p.shape[0], 0), dtype=np.uint64), off)

    def __getitem__(self, idx) -> np.ndarray:
        """The rows at integer indices ``idx`` (an opening's rows), ``(len(idx), width)``."""
        idx = np.asarray(idx, dtype=np.int64).ravel()
        out = np.empty((idx.size, self.width), dtype=np.uint64)
        col, powers = 0, {}  # the tables of a group share their points' powers
        for (p, off), poly in zip(self.pieces, self.polys):
            w = p.shape[0]
            if poly is None:
                out[:, col:col + w] = p[:, off + idx].T
            else:
                coeffs, log_size, shift = poly
                key = (log_size, shift, coeffs.shape[1], off)
                if key not in powers:
                    powers[key] = _point_powers(log_size, shift, coeffs.shape[1], off + idx)
                out[:, col:col + w] = eval_with_powers(coeffs, powers[key]).T
            col += w
        return out


def _point_powers(log_size: int, shift: int, m: int, rows: np.ndarray) -> np.ndarray:
    """``(len(rows), m)``: ``[1, x, .., x^(m-1)]`` of each LDE point ``x = shift * omega^r``."""
    om = root_of_unity(log_size)
    pows = np.empty((rows.size, m), dtype=np.uint64)
    for j, r in enumerate(rows.tolist()):  # one power vector per opened point (a few dozen)
        pows[j] = K.powers(shift * pow(om, int(r), P) % P, m)
    return pows
