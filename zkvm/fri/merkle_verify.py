"""Merkle batch openings and their verification (verifier side: ``blake3`` package only).

A leaf is the keyed BLAKE3 hash, under ``LEAF_KEY``, of ``salt || row`` where
``row`` is the little-endian bytes of one ``uint64`` row; an inner node is the
keyed BLAKE3 hash, under ``NODE_KEY``, of ``left || right``. The two keys come
from BLAKE3's derive_key mode with distinct context strings (BLAKE3 spec
section 2.4), so a leaf can never be read as a node (DESIGN soundness item 10).
An opening is bound to its index: the verifier recomputes the path from the
index's own bits, so the same row at another position does not verify.

Batch opening (one proof for many indices): walking up level by level over
the sorted distinct indices, a sibling is sent only when it cannot be
computed from another opened path; the prover (``merkle.MerkleTree.open``) and
:func:`verify` walk in the same order.

This module imports neither numba nor the numba kernel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import blake3
import numpy as np

LEAF_CONTEXT = "zkvm 2026-11 merkle leaf v1"
NODE_CONTEXT = "zkvm 2026-11 merkle node v1"
#: ``blake3(b"", derive_key_context=LEAF_CONTEXT)``; checked in tests/test_merkle.py.
LEAF_KEY = bytes.fromhex("01e534d8bbf4802d3b2519d3876bbd31fd1949d7f276be4f334f36565bdfca06")
#: ``blake3(b"", derive_key_context=NODE_CONTEXT)``; checked in tests/test_merkle.py.
NODE_KEY = bytes.fromhex("03c82dbf16f15e36d934e5fe339afa558ce3e45e1d96e62cd444d5b9013ea469")


class MerklePathInvalid(Exception):
    """A Merkle opening does not hash to the committed root (or is malformed).

    Attributes:
        tree: name of the tree being checked (``""`` if unknown).
        query: the query / row index concerned, or ``None`` if the failure
            concerns the batch as a whole.
    """

    def __init__(self, message: str, tree: str = "", query: int | None = None) -> None:
        where = f" (tree={tree!r}" + (f", query={query}" if query is not None else "") + ")"
        super().__init__(message + (where if tree or query is not None else ""))
        self.tree = tree
        self.query = query


@dataclass
class MerkleProof:
    """A batch opening: rows and salts at the distinct sorted indices, plus sibling hashes.

    Attributes:
        rows: ``uint64 (k, width)`` rows at the sorted distinct opened indices.
        salts: one salt (bytes) per opened row, or ``None`` without salts.
        siblings: deduplicated 32-byte sibling hashes in walk order.
    """

    rows: np.ndarray
    salts: list[bytes] | None = None
    siblings: list[bytes] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Msgpack-friendly dict (rows as little-endian bytes plus shape)."""
        rows = np.ascontiguousarray(self.rows, dtype="<u8")
        return {
            "rows": rows.tobytes(),
            "shape": list(rows.shape),
            "salts": None if self.salts is None else list(self.salts),
            "siblings": list(self.siblings),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "MerkleProof":
        """Inverse of :meth:`to_dict`; raises ``MerklePathInvalid`` on malformed input."""
        try:
            shape = tuple(int(x) for x in d["shape"])
            if len(shape) != 2:
                raise ValueError("shape must have two entries")
            rows = np.frombuffer(d["rows"], dtype="<u8").astype(np.uint64).reshape(shape)
            salts = None if d["salts"] is None else [bytes(s) for s in d["salts"]]
            siblings = [bytes(s) for s in d["siblings"]]
        except (KeyError, TypeError, ValueError) as e:
            raise MerklePathInvalid(f"malformed Merkle proof: {e}") from e
        return cls(rows=rows, salts=salts, siblings=siblings)


# keyed hasher templates: copying one is about twice as fast as keying a new hasher
_LEAF_T = blake3.blake3(key=LEAF_KEY)
_NODE_T = blake3.blake3(key=NODE_KEY)


def _leaf_digest(data: bytes) -> bytes:
    c = _LEAF_T.copy()
    c.update(data)
    return c.digest()


def hash_leaf(row_bytes: bytes, salt: bytes = b"") -> bytes:
    """Leaf digest: keyed BLAKE3 under LEAF_KEY of ``salt || row_bytes``."""
    return blake3.blake3(salt + row_bytes, key=LEAF_KEY).digest()


def hash_node(left: bytes, right: bytes) -> bytes:
    """Inner-node digest: keyed BLAKE3 under NODE_KEY of ``left || right``."""
    return blake3.blake3(left + right, key=NODE_KEY).digest()


def verify(
    root: bytes,
    log_n_rows: int,
    indices: Sequence[int] | np.ndarray,
    rows: Any,
    proof: MerkleProof,
    tree: str = "",
) -> None:
    """Check a batch opening against ``root``.

    Args:
        root: the committed 32-byte root.
        log_n_rows: log2 of the number of leaves (fixed by the verifier).
        indices: opened row indices (any order, duplicates allowed).
        rows: the row values the caller will use, aligned with ``indices``
            (``uint64`` array ``(k, width)`` or nested lists of ints).
        proof: the batch proof (its salts and siblings are used; the caller's
            ``rows`` are what gets authenticated).
        tree: a name for error messages.

    Raises:
        MerklePathInvalid: wrong index range, inconsistent duplicate rows,
            wrong number of salts/siblings, or a root mismatch.
    """
    idx = [int(i) for i in (indices.tolist() if isinstance(indices, np.ndarray) else indices)]
    n = 1 << log_n_rows
    rows_arr = np.ascontiguousarray(np.asarray(rows, dtype=np.uint64), dtype="<u8")
    if rows_arr.ndim != 2 or rows_arr.shape[0] != len(idx):
        raise MerklePathInvalid(f"expected {len(idx)} rows, got shape {rows_arr.shape}", tree)
    width_bytes = rows_arr.shape[1] * 8
    flat = rows_arr.tobytes()
    by_index: dict[int, bytes] = {}
    for k, i in enumerate(idx):
        if not 0 <= i < n:
            raise MerklePathInvalid(f"index {i} out of range [0, {n})", tree, i)
        b = flat[k * width_bytes : (k + 1) * width_bytes]
        prev = by_index.setdefault(i, b)
        if prev != b:
            raise MerklePathInvalid("two different rows claimed at one index", tree, i)
    uniq = sorted(by_index)
    if not uniq:
        raise MerklePathInvalid("no indices to open", tree)
    salts = proof.salts
    if salts is not None and len(salts) != len(uniq):
        raise MerklePathInvalid(f"expected {len(uniq)} salts, got {len(salts)}", tree)
    if salts is None:
        level = [_leaf_digest(by_index[i]) for i in uniq]
    else:
        level = [_leaf_digest(bytes(s) + by_index[i]) for s, i in zip(salts, uniq)]
    node_copy = _NODE_T.copy
    pos = uniq
    sib = proof.siblings
    s_ptr = 0
    n_sib = len(sib)
    try:
        for _ in range(log_n_rows):
            new_pos: list[int] = []
            new_level: list[bytes] = []
            put_pos, put_node = new_pos.append, new_level.append
            k = 0
            m = len(pos)
            while k < m:
                i = pos[k]
                c = node_copy()
                if i & 1:  # right child whose left sibling was not opened
                    c.update(sib[s_ptr] + level[k])
                    s_ptr += 1
                    k += 1
                elif k + 1 < m and pos[k + 1] == i + 1:  # both children opened
                    c.update(level[k] + level[k + 1])
                    k += 2
                else:
                    c.update(level[k] + sib[s_ptr])
                    s_ptr += 1
                    k += 1
                put_pos(i >> 1)
                put_node(c.digest())
            pos, level = new_pos, new_level
    except IndexError:
        raise MerklePathInvalid("too few sibling hashes in proof", tree) from None
    except TypeError as e:
        raise MerklePathInvalid(f"malformed sibling hash: {e}", tree) from None
    if s_ptr != n_sib:
        raise MerklePathInvalid(f"{n_sib - s_ptr} unused sibling hashes in proof", tree)
    if level[0] != root:
        q = uniq[0] if len(uniq) == 1 else None
        raise MerklePathInvalid(
            f"opening of rows {uniq[:8]}{'...' if len(uniq) > 8 else ''} does not match the root",
            tree,
            q,
        )
