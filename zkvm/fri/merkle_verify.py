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



def as_bytes(x: Any, what: str, size: int | None = None) -> bytes:
    """``x`` if it is a byte string (of ``size`` bytes when given), else ``ValueError``.

    Decoders must not call ``bytes(x)`` on untrusted values: on an integer it
    allocates that many zero bytes.
    """
    if not isinstance(x, (bytes, bytearray)) or (size is not None and len(x) != size):
        raise ValueError(f"each {what} must be {size or 'a string of'} bytes")
    return bytes(x)

def _exact_fields(d: Any, fields: set[str]) -> None:
    """Every field of an opening is used: a map with exactly ``fields`` (no free field)."""
    if not isinstance(d, dict) or set(d) != fields:
        raise ValueError(f"a Merkle opening has exactly the fields {sorted(fields)}")


def _shape(v: Any) -> tuple[int, ...]:
    if not isinstance(v, list) or not all(type(x) is int and x >= 0 for x in v):
        raise ValueError("a shape is a list of non-negative integers")
    return tuple(v)


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
            _exact_fields(d, {"rows", "shape", "salts", "siblings"})
            shape = _shape(d["shape"])
            if len(shape) != 2:
                raise ValueError("shape must have two entries")
            rows = np.frombuffer(d["rows"], dtype="<u8").astype(np.uint64).reshape(shape)
            salts = None if d["salts"] is None else [as_bytes(s, "salt") for s in d["salts"]]
            siblings = [as_bytes(s, "sibling", 32) for s in d["siblings"]]
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


def _blake3_node(data: bytes) -> bytes:
    c = _NODE_T.copy()
    c.update(data)
    return c.digest()


def _blake3_inject(data: bytes) -> bytes:
    c = _INJECT_T.copy()
    c.update(data)
    return c.digest()


def _digests(hash: str):
    """``(leaf, node, inject, row byte order)`` of a hash profile (``zkvm.fri.hashes``)."""
    if hash == "blake3":
        return _leaf_digest, _blake3_node, _blake3_inject, "<u8"
    if hash == "keccak":
        from zkvm.fri.hashes import KeccakMerkle

        k = KeccakMerkle()
        return k.leaf, k.node, k.inject, ">u8"
    raise MerklePathInvalid(f"unknown hash {hash!r}")


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
    hash: str = "blake3",
    record: list | None = None,
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
        hash: the hash profile (``blake3`` or ``keccak``, from the verifier's parameters).
        record: if given, receives ``{position: digest}`` of every level walked, leaves
            first (siblings included): what ``zkvm.onchain.calldata`` re-cuts into
            one full path per query.

    Raises:
        MerklePathInvalid: wrong index range, inconsistent duplicate rows,
            wrong number of salts/siblings, or a root mismatch.
    """
    idx = [int(i) for i in (indices.tolist() if isinstance(indices, np.ndarray) else indices)]
    n = 1 << log_n_rows
    leaf, node, _, order = _digests(hash)
    rows_arr = np.ascontiguousarray(np.asarray(rows, dtype=np.uint64), dtype=order)
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
        level = [leaf(by_index[i]) for i in uniq]
    else:
        level = [leaf(bytes(s) + by_index[i]) for s, i in zip(salts, uniq)]
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
            if record is not None:
                record.append(dict(zip(pos, level)))
            while k < m:
                i = pos[k]
                if i & 1:  # right child whose left sibling was not opened
                    if record is not None:
                        record[-1][i ^ 1] = sib[s_ptr]
                    pair = sib[s_ptr] + level[k]
                    s_ptr += 1
                    k += 1
                elif k + 1 < m and pos[k + 1] == i + 1:  # both children opened
                    pair = level[k] + level[k + 1]
                    k += 2
                else:
                    if record is not None:
                        record[-1][i ^ 1] = sib[s_ptr]
                    pair = level[k] + sib[s_ptr]
                    s_ptr += 1
                    k += 1
                put_pos(i >> 1)
                put_node(node(pair))
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


# --- mixed-height trees: one tree over matrices of several heights -----------------------
#
# One commitment per STARK phase over groups of rows of distinct heights 2^L > 2^k1 > ...
# (the standard "mixed matrix commitment", as in Plonky3's MMCS). The largest
# group's rows are the leaves (LEAF_KEY). Level k of the tree has 2^k nodes and
# node j there is NODE_KEY(c[j] || c[j + 2^k]) over the 2^(k+1) nodes c below:
# a node joins the children whose indices agree modulo 2^k, which is exactly how
# FRI folds (x and -x sit at i and i + N/2 of a natural-order coset), so a query
# index i of the largest domain meets every level at i mod 2^k. A group of 2^k
# rows is injected there: node j becomes INJECT_KEY(node || LEAF_KEY(salt || row_j)).
# Three keys from distinct derive_key contexts keep leaves, nodes and injected
# rows apart, and the verifier fixes the heights from the verifying key.

INJECT_CONTEXT = "zkvm 2026-11 merkle inject v1"
#: ``blake3(b"", derive_key_context=INJECT_CONTEXT)``; checked in tests/test_merkle_mixed.py.
INJECT_KEY = bytes.fromhex("675d599a5d4bb83cf321d2ed6a9f9d447b5e1c185a6c6bd096ee29023e84105b")
_INJECT_T = blake3.blake3(key=INJECT_KEY)


@dataclass
class MixedProof:
    """A batch opening of a mixed-height tree.

    Attributes:
        rows: per group (largest first), ``uint64 (k_g, width_g)`` rows at the
            sorted distinct positions ``{i mod 2^log_g}`` of the opened indices.
        salts: per group, one salt (bytes) per opened row; ``None`` without salts.
        siblings: deduplicated 32-byte sibling hashes in walk order.
    """

    rows: list[np.ndarray]
    salts: list[list[bytes]] | None = None
    siblings: list[bytes] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Msgpack-friendly dict (rows as little-endian bytes plus shape per group)."""
        rows = [np.ascontiguousarray(r, dtype="<u8") for r in self.rows]
        return {
            "rows": [r.tobytes() for r in rows],
            "shapes": [list(r.shape) for r in rows],
            "salts": None if self.salts is None else [list(s) for s in self.salts],
            "siblings": list(self.siblings),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "MixedProof":
        """Inverse of :meth:`to_dict`; raises ``MerklePathInvalid`` on malformed input."""
        try:
            _exact_fields(d, {"rows", "shapes", "salts", "siblings"})
            if len(d["rows"]) != len(d["shapes"]):
                raise ValueError("one shape per group of rows")
            rows = []
            for data, shape in zip(d["rows"], d["shapes"]):
                shape = _shape(shape)
                if len(shape) != 2:
                    raise ValueError("shape must have two entries")
                rows.append(np.frombuffer(data, dtype="<u8").astype(np.uint64).reshape(shape))
            salts = (None if d["salts"] is None
                     else [[as_bytes(s, "salt") for s in group] for group in d["salts"]])
            siblings = [as_bytes(s, "sibling", 32) for s in d["siblings"]]
        except (KeyError, TypeError, ValueError) as e:
            raise MerklePathInvalid(f"malformed Merkle proof: {e}") from e
        return cls(rows=rows, salts=salts, siblings=siblings)


def mixed_positions(log_top: int, indices: Sequence[int]) -> list[int]:
    """The sorted distinct leaf positions ``i mod 2^log_top`` of ``indices``."""
    mask = (1 << log_top) - 1
    return sorted({int(i) & mask for i in indices})


def verify_mixed(
    root: bytes,
    log_heights: Sequence[int],
    widths: Sequence[int],
    indices: Sequence[int] | np.ndarray,
    proof: MixedProof,
    salted: bool,
    tree: str = "",
    hash: str = "blake3",
    record: list | None = None,
) -> list[dict[int, int]]:
    """Check a batch opening of a mixed-height tree against ``root``.

    Args:
        root: the committed 32-byte root.
        log_heights: log2 of each group's height, strictly decreasing (from the key).
        widths: each group's row width in ``uint64`` words (from the key).
        indices: opened indices over the largest group, each in ``[0, 2^log_heights[0])``.
        proof: the opening; its rows are what gets authenticated.
        salted: whether rows carry salts (zk mode).
        tree: a name for error messages.
        hash: the hash profile (``blake3`` or ``keccak``, from the verifier's parameters).
        record: if given, receives ``{position: digest}`` of every level walked, from
            the leaves up (siblings included; each level after its injection).

    Returns:
        Per group, ``position -> row number in proof.rows[g]`` for the opened
        positions ``i mod 2^log_g``.

    Raises:
        MerklePathInvalid: a wrong shape, count, index range, or a root mismatch.
    """
    logs = [int(x) for x in log_heights]
    if not logs or any(a <= b for a, b in zip(logs, logs[1:])) or logs[-1] < 0:
        raise MerklePathInvalid(f"group heights must be strictly decreasing, got {logs}", tree)
    top = logs[0]
    idx = [int(i) for i in (indices.tolist() if isinstance(indices, np.ndarray) else indices)]
    if not idx:
        raise MerklePathInvalid("no indices to open", tree)
    for i in idx:
        if not 0 <= i < (1 << top):
            raise MerklePathInvalid(f"index {i} out of range [0, {1 << top})", tree, i)
    rows, salts = proof.rows, proof.salts
    if not isinstance(rows, list) or len(rows) != len(logs):
        raise MerklePathInvalid(f"expected rows of {len(logs)} groups", tree)
    if salted != (salts is not None):
        raise MerklePathInvalid("salts " + ("missing" if salted else "not expected"), tree)
    if salts is not None and len(salts) != len(logs):
        raise MerklePathInvalid(f"expected salts of {len(logs)} groups", tree)
    leaf, node, inject, order = _digests(hash)
    # per group: the opened positions and each one's leaf digest
    digests: list[dict[int, bytes]] = []
    where: list[dict[int, int]] = []
    for gi, (lg, w) in enumerate(zip(logs, widths)):
        pos = mixed_positions(lg, idx)
        r = rows[gi]
        if not isinstance(r, np.ndarray) or r.ndim != 2 or r.shape != (len(pos), int(w)):
            shape = getattr(r, "shape", None)
            raise MerklePathInvalid(
                f"group 2^{lg}: expected rows of shape {(len(pos), int(w))}, got {shape}", tree)
        if salts is not None and len(salts[gi]) != len(pos):
            raise MerklePathInvalid(f"group 2^{lg}: expected {len(pos)} salts", tree)
        flat = np.ascontiguousarray(r, dtype=order).tobytes()
        wb = int(w) * 8
        d: dict[int, bytes] = {}
        for k, p in enumerate(pos):
            row = flat[k * wb:(k + 1) * wb]
            d[p] = leaf(row if salts is None else bytes(salts[gi][k]) + row)
        digests.append(d)
        where.append({p: k for k, p in enumerate(pos)})
    level = digests[0]
    sib = proof.siblings
    s_ptr = 0
    gi = 1
    try:
        for k in range(top - 1, -1, -1):
            half = 1 << k
            parents = sorted({p & (half - 1) for p in level})
            new: dict[int, bytes] = {}
            if record is not None:
                record.append(dict(level))
            for p in parents:
                left, right = level.get(p), level.get(p + half)
                if left is None:
                    left = sib[s_ptr]
                    s_ptr += 1
                    if record is not None:
                        record[-1][p] = left
                elif right is None:
                    right = sib[s_ptr]
                    s_ptr += 1
                    if record is not None:
                        record[-1][p + half] = right
                new[p] = node(left + right)
            if gi < len(logs) and logs[gi] == k:
                rowd = digests[gi]
                for p in parents:
                    new[p] = inject(new[p] + rowd[p])
                gi += 1
            level = new
    except IndexError:
        raise MerklePathInvalid("too few sibling hashes in proof", tree) from None
    except TypeError as e:
        raise MerklePathInvalid(f"malformed sibling hash: {e}", tree) from None
    if s_ptr != len(sib):
        raise MerklePathInvalid(f"{len(sib) - s_ptr} unused sibling hashes in proof", tree)
    if level[0] != root:
        raise MerklePathInvalid("opening does not match the root", tree)
    return where
