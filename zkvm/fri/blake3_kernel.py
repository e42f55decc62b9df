"""Batched BLAKE3 in numba: hash many equal-length messages at once (prover only).

Follows the BLAKE3 specification (O'Connor, Aumasson, Neves, Wilcox-O'Hearn,
"BLAKE3: one function, fast everywhere", 2020), sections 2.1-2.6: the
compression function (7 rounds of the ChaCha-style G function, message
permutation between rounds), chunks of 1024 bytes made of 64-byte blocks with
the CHUNK_START / CHUNK_END flags and the chunk counter, the binary tree of
PARENT nodes whose left subtree holds the largest power of two of chunks
strictly below the total, and the ROOT flag on the final compression. Only the
keyed-hash mode (32-byte output) is implemented; every result is checked
byte-for-byte against the ``blake3`` package in ``tests/test_merkle.py``.

Messages are given as little-endian ``uint32`` words, zero-padded to whole
words, with the true byte length passed separately; this lets callers hash
``uint64`` rows without copying them into byte arrays.

The verifier never imports this module: it uses the ``blake3`` package.
"""

from __future__ import annotations

import numba as nb
import numpy as np

IV = np.array(
    [0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A, 0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19],
    dtype=np.uint32,
)
MSG_PERMUTATION = np.array([2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8], dtype=np.int64)

CHUNK_START = 1
CHUNK_END = 2
PARENT = 4
ROOT = 8
KEYED_HASH = 16

BLOCK_LEN = 64
CHUNK_LEN = 1024


@nb.njit(inline="always", cache=True)
def _rotr(x, n):
    return ((x >> np.uint32(n)) | (x << np.uint32(32 - n))) & np.uint32(0xFFFFFFFF)


@nb.njit(inline="always", cache=True)
def _g(s, a, b, c, d, mx, my):
    s[a] = s[a] + s[b] + mx
    s[d] = _rotr(s[d] ^ s[a], 16)
    s[c] = s[c] + s[d]
    s[b] = _rotr(s[b] ^ s[c], 12)
    s[a] = s[a] + s[b] + my
    s[d] = _rotr(s[d] ^ s[a], 8)
    s[c] = s[c] + s[d]
    s[b] = _rotr(s[b] ^ s[c], 7)


@nb.njit(cache=True)
def compress(cv, block, counter, block_len, flags, out):
    """BLAKE3 compression (spec section 2.2), first 8 output words into ``out``.

    Args:
        cv: chaining value, 8 uint32 words.
        block: message block, 16 uint32 words (read only).
        counter: 64-bit counter t (chunk index; 0 for parents).
        block_len: number of message bytes in the block (0..64).
        flags: domain flags.
        out: 8 uint32 words receiving the new chaining value (may alias ``cv``).
    """
    s = np.empty(16, dtype=np.uint32)
    m = np.empty(16, dtype=np.uint32)
    t = np.empty(16, dtype=np.uint32)
    for i in range(8):
        s[i] = cv[i]
    s[8] = IV[0]
    s[9] = IV[1]
    s[10] = IV[2]
    s[11] = IV[3]
    s[12] = np.uint32(counter & 0xFFFFFFFF)
    s[13] = np.uint32((counter >> 32) & 0xFFFFFFFF)
    s[14] = np.uint32(block_len)
    s[15] = np.uint32(flags)
    for i in range(16):
        m[i] = block[i]
    for r in range(7):
        _g(s, 0, 4, 8, 12, m[0], m[1])
        _g(s, 1, 5, 9, 13, m[2], m[3])
        _g(s, 2, 6, 10, 14, m[4], m[5])
        _g(s, 3, 7, 11, 15, m[6], m[7])
        _g(s, 0, 5, 10, 15, m[8], m[9])
        _g(s, 1, 6, 11, 12, m[10], m[11])
        _g(s, 2, 7, 8, 13, m[12], m[13])
        _g(s, 3, 4, 9, 14, m[14], m[15])
        if r < 6:
            for i in range(16):
                t[i] = m[MSG_PERMUTATION[i]]
            for i in range(16):
                m[i] = t[i]
    for i in range(8):
        out[i] = s[i] ^ s[i + 8]


@nb.njit(cache=True)
def _hash_one(words, n_bytes, key, extra_flags, out):
    """Keyed BLAKE3 of one message given as zero-padded LE words; 8 words into ``out``."""
    n_chunks = max(1, (n_bytes + CHUNK_LEN - 1) // CHUNK_LEN)
    block = np.zeros(16, dtype=np.uint32)
    cv = np.empty(8, dtype=np.uint32)
    # stack of chaining values (depth <= 64)
    stack = np.empty((64, 8), dtype=np.uint32)
    depth = 0
    n_words = words.shape[0]
    pblock = np.empty(16, dtype=np.uint32)
    for ci in range(n_chunks):
        c_start = ci * CHUNK_LEN
        c_len = min(CHUNK_LEN, n_bytes - c_start)
        n_blocks = max(1, (c_len + BLOCK_LEN - 1) // BLOCK_LEN)
        for i in range(8):
            cv[i] = key[i]
        for bi in range(n_blocks):
            b_start = c_start + bi * BLOCK_LEN
            b_len = min(BLOCK_LEN, c_start + c_len - b_start)
            w0 = b_start // 4
            for i in range(16):
                wi = w0 + i
                if i * 4 < b_len and wi < n_words:
                    block[i] = words[wi]
                else:
                    block[i] = 0
            # zero any bytes past b_len inside the last partial word
            if b_len % 4 != 0 and b_len > 0:
                last = b_len // 4
                keep = b_len % 4
                block[last] = block[last] & np.uint32((1 << (8 * keep)) - 1)
            flags = extra_flags
            if bi == 0:
                flags |= CHUNK_START
            if bi == n_blocks - 1:
                flags |= CHUNK_END
                if n_chunks == 1:
                    flags |= ROOT
            compress(cv, block, ci, b_len, flags, cv)
        if ci < n_chunks - 1:
            # push, merging completed subtrees (spec 5.1.2: lazy merge)
            total = ci + 1
            while total & 1 == 0:
                depth -= 1
                for i in range(8):
                    pblock[i] = stack[depth, i]
                    pblock[8 + i] = cv[i]
                for i in range(8):
                    cv[i] = key[i]
                compress(cv, pblock, 0, BLOCK_LEN, extra_flags | PARENT, cv)
                total >>= 1
            for i in range(8):
                stack[depth, i] = cv[i]
            depth += 1
    # finalize: merge the last chunk's CV up the stack; the last merge is ROOT
    while depth > 0:
        depth -= 1
        for i in range(8):
            pblock[i] = stack[depth, i]
            pblock[8 + i] = cv[i]
        for i in range(8):
            cv[i] = key[i]
        flags = extra_flags | PARENT
        if depth == 0:
            flags |= ROOT
        compress(cv, pblock, 0, BLOCK_LEN, flags, cv)
    for i in range(8):
        out[i] = cv[i]


@nb.njit(parallel=True, cache=True)
def _hash_many(words, n_bytes, key, out):
    for r in nb.prange(words.shape[0]):
        _hash_one(words[r], n_bytes, key, KEYED_HASH, out[r])


@nb.njit(parallel=True, cache=True)
def _hash_pairs(children, key, out):
    """One Merkle level: out[i] = keyed BLAKE3 of children[2i] || children[2i+1] (64 bytes)."""
    for i in nb.prange(out.shape[0]):
        block = np.empty(16, dtype=np.uint32)
        cv = np.empty(8, dtype=np.uint32)
        for j in range(8):
            block[j] = children[2 * i, j]
            block[8 + j] = children[2 * i + 1, j]
            cv[j] = key[j]
        compress(cv, block, 0, BLOCK_LEN, KEYED_HASH | CHUNK_START | CHUNK_END | ROOT, cv)
        for j in range(8):
            out[i, j] = cv[j]


def key_words(key: bytes) -> np.ndarray:
    """The 32-byte key as 8 little-endian ``uint32`` words."""
    if len(key) != 32:
        raise ValueError(f"BLAKE3 key must be 32 bytes, got {len(key)}")
    return np.frombuffer(key, dtype="<u4").astype(np.uint32)


def hash_many_words(words: np.ndarray, n_bytes: int, key: bytes) -> np.ndarray:
    """Keyed BLAKE3 of many messages of equal length.

    Args:
        words: ``uint32`` array ``(n_msgs, ceil(n_bytes / 4))``, each row one
            message as little-endian words, zero-padded.
        n_bytes: the byte length of every message.
        key: the 32-byte BLAKE3 key.

    Returns:
        ``uint32`` array ``(n_msgs, 8)``: the digests as little-endian words
        (``out[i].tobytes()`` is the 32-byte digest).
    """
    words = np.ascontiguousarray(words, dtype=np.uint32)
    if words.ndim != 2 or words.shape[1] * 4 < n_bytes:
        raise ValueError("words must be (n_msgs, >= ceil(n_bytes/4)) uint32")
    out = np.empty((words.shape[0], 8), dtype=np.uint32)
    _hash_many(words, int(n_bytes), key_words(key), out)
    return out


def hash_many(messages: np.ndarray, key: bytes) -> np.ndarray:
    """Keyed BLAKE3 of each row of a ``uint8`` matrix; returns ``uint8 (n, 32)`` digests."""
    messages = np.ascontiguousarray(messages, dtype=np.uint8)
    n, n_bytes = messages.shape
    padded = np.zeros((n, (n_bytes + 3) // 4 * 4), dtype=np.uint8)
    padded[:, :n_bytes] = messages
    words = padded.view("<u4").reshape(n, -1)
    if words.shape[1] == 0:
        words = np.zeros((n, 1), dtype=np.uint32)
    return hash_many_words(words, n_bytes, key).view(np.uint8).reshape(n, 32)


def hash_pairs(children: np.ndarray, key: bytes) -> np.ndarray:
    """Hash one Merkle level: ``(2m, 8) uint32`` child digests -> ``(m, 8)`` parents."""
    children = np.ascontiguousarray(children, dtype=np.uint32)
    out = np.empty((children.shape[0] // 2, 8), dtype=np.uint32)
    _hash_pairs(children, key_words(key), out)
    return out
