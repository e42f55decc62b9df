"""Hash profiles: the hash behind every Merkle tree, the transcript and the grinding.

A :class:`~zkvm.fri.security.SecurityConfig` names one (``hash``):

* ``blake3`` (default): keyed BLAKE3, leaves are the little-endian bytes of a
  row; specified in :mod:`zkvm.fri.merkle_verify` and :mod:`zkvm.fri.transcript`.
* ``keccak``: Keccak-256 (the Ethereum variant), for proofs a Solidity
  verifier checks: the EVM has it as an opcode (30 gas + 6 per word) and has
  nothing for BLAKE3. Everything is laid out for the EVM, which is big-endian
  and word-addressed: a row is hashed as its values' **big-endian** 8-byte
  encodings, so a contract hashes the calldata slice it received as it is,
  and reads a value with one ``shr(192, calldataload(..))``. Domain
  separation by a leading tag byte (as RFC 6962 does for Certificate
  Transparency): leaf ``H(0x00 || salt || row)``, node ``H(0x01 || l || r)``,
  injected row ``H(0x02 || node || leaf)``.

Verifier-side functions use :func:`zkvm.hash.keccak.keccak256` (pycryptodome's C
code when installed, pure Python otherwise): no numba. The prover's batch
hashing goes through :mod:`zkvm.hash.keccak_kernel`, imported on first use.
"""

from __future__ import annotations

import numpy as np

LEAF_TAG, NODE_TAG, INJECT_TAG = 0, 1, 2


class KeccakMerkle:
    """Keccak-256 leaf / node / inject digests, one at a time (verifier side)."""

    def __init__(self) -> None:
        from zkvm.hash.keccak import keccak256

        self._h = keccak256

    def leaf(self, data: bytes) -> bytes:
        """``H(0x00 || data)``, ``data`` = salt || big-endian row bytes."""
        return self._h(b"\x00" + data)

    def node(self, pair: bytes) -> bytes:
        """``H(0x01 || left || right)``."""
        return self._h(b"\x01" + pair)

    def inject(self, pair: bytes) -> bytes:
        """``H(0x02 || node || leaf)``."""
        return self._h(b"\x02" + pair)


def keccak_leaves(rows: np.ndarray, salts: np.ndarray | None) -> np.ndarray:
    """Prover: ``uint32 (n, 8)`` leaf digests of ``rows`` (``uint64 (n, w)``), salted or not."""
    from zkvm.hash import keccak_kernel as kk

    return kk.leaves(np.ascontiguousarray(rows, dtype=np.uint64), salts, LEAF_TAG)


def keccak_concat(a: np.ndarray, b: np.ndarray, tag: int) -> np.ndarray:
    """Prover: ``uint32 (n, 8)`` digests ``H(tag || a_i || b_i)`` (nodes and injections)."""
    from zkvm.hash import keccak_kernel as kk

    return kk.concat(a, b, tag)  # strided rows (level[0::2]) are read in place
