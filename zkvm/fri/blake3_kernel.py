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


def _schedule() -> np.ndarray:
    """Message word order for each of the 7 rounds (the permutation applied r times)."""
    sched = np.empty((7, 16), dtype=np.int64)
    order = np.arange(16)
    for r in range(7):
        sched[r] = order
        order = order[MSG_PERMUTATION]
    return sched


SCHEDULE = _schedule()


@nb.njit(inline="always", cache=True)
def _g(a, b, c, d, mx, my):
    a = (a + b + mx) & 0xFFFFFFFF
    d = d ^ a
    d = ((d >> 16) | (d << 16)) & 0xFFFFFFFF
    c = (c + d) & 0xFFFFFFFF
    b = b ^ c
    b = ((b >> 12) | (b << 20)) & 0xFFFFFFFF
    a = (a + b + my) & 0xFFFFFFFF
    d = d ^ a
    d = ((d >> 8) | (d << 24)) & 0xFFFFFFFF
    c = (c + d) & 0xFFFFFFFF
    b = b ^ c
    b = ((b >> 7) | (b << 25)) & 0xFFFFFFFF
    return a, b, c, d


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
    # state in int64 locals holding 32-bit values (no heap allocation)
    s0 = np.int64(cv[0])
    s1 = np.int64(cv[1])
    s2 = np.int64(cv[2])
    s3 = np.int64(cv[3])
    s4 = np.int64(cv[4])
    s5 = np.int64(cv[5])
    s6 = np.int64(cv[6])
    s7 = np.int64(cv[7])
    s8 = np.int64(0x6A09E667)
    s9 = np.int64(0xBB67AE85)
    s10 = np.int64(0x3C6EF372)
    s11 = np.int64(0xA54FF53A)
    s12 = np.int64(counter) & 0xFFFFFFFF
    s13 = (np.int64(counter) >> 32) & 0xFFFFFFFF
    s14 = np.int64(block_len)
    s15 = np.int64(flags)
    # message words; the per-round permutation is unrolled below (generated from SCHEDULE)
    m0 = np.int64(block[0])
    m1 = np.int64(block[1])
    m2 = np.int64(block[2])
    m3 = np.int64(block[3])
    m4 = np.int64(block[4])
    m5 = np.int64(block[5])
    m6 = np.int64(block[6])
    m7 = np.int64(block[7])
    m8 = np.int64(block[8])
    m9 = np.int64(block[9])
    m10 = np.int64(block[10])
    m11 = np.int64(block[11])
    m12 = np.int64(block[12])
    m13 = np.int64(block[13])
    m14 = np.int64(block[14])
    m15 = np.int64(block[15])
    # round 0
    s0, s4, s8, s12 = _g(s0, s4, s8, s12, m0, m1)
    s1, s5, s9, s13 = _g(s1, s5, s9, s13, m2, m3)
    s2, s6, s10, s14 = _g(s2, s6, s10, s14, m4, m5)
    s3, s7, s11, s15 = _g(s3, s7, s11, s15, m6, m7)
    s0, s5, s10, s15 = _g(s0, s5, s10, s15, m8, m9)
    s1, s6, s11, s12 = _g(s1, s6, s11, s12, m10, m11)
    s2, s7, s8, s13 = _g(s2, s7, s8, s13, m12, m13)
    s3, s4, s9, s14 = _g(s3, s4, s9, s14, m14, m15)
    # round 1
    s0, s4, s8, s12 = _g(s0, s4, s8, s12, m2, m6)
    s1, s5, s9, s13 = _g(s1, s5, s9, s13, m3, m10)
    s2, s6, s10, s14 = _g(s2, s6, s10, s14, m7, m0)
    s3, s7, s11, s15 = _g(s3, s7, s11, s15, m4, m13)
    s0, s5, s10, s15 = _g(s0, s5, s10, s15, m1, m11)
    s1, s6, s11, s12 = _g(s1, s6, s11, s12, m12, m5)
    s2, s7, s8, s13 = _g(s2, s7, s8, s13, m9, m14)
    s3, s4, s9, s14 = _g(s3, s4, s9, s14, m15, m8)
    # round 2
    s0, s4, s8, s12 = _g(s0, s4, s8, s12, m3, m4)
    s1, s5, s9, s13 = _g(s1, s5, s9, s13, m10, m12)
    s2, s6, s10, s14 = _g(s2, s6, s10, s14, m13, m2)
    s3, s7, s11, s15 = _g(s3, s7, s11, s15, m7, m14)
    s0, s5, s10, s15 = _g(s0, s5, s10, s15, m6, m5)
    s1, s6, s11, s12 = _g(s1, s6, s11, s12, m9, m0)
    s2, s7, s8, s13 = _g(s2, s7, s8, s13, m11, m15)
    s3, s4, s9, s14 = _g(s3, s4, s9, s14, m8, m1)
    # round 3
    s0, s4, s8, s12 = _g(s0, s4, s8, s12, m10, m7)
    s1, s5, s9, s13 = _g(s1, s5, s9, s13, m12, m9)
    s2, s6, s10, s14 = _g(s2, s6, s10, s14, m14, m3)
    s3, s7, s11, s15 = _g(s3, s7, s11, s15, m13, m15)
    s0, s5, s10, s15 = _g(s0, s5, s10, s15, m4, m0)
    s1, s6, s11, s12 = _g(s1, s6, s11, s12, m11, m2)
    s2, s7, s8, s13 = _g(s2, s7, s8, s13, m5, m8)
    s3, s4, s9, s14 = _g(s3, s4, s9, s14, m1, m6)
    # round 4
    s0, s4, s8, s12 = _g(s0, s4, s8, s12, m12, m13)
    s1, s5, s9, s13 = _g(s1, s5, s9, s13, m9, m11)
    s2, s6, s10, s14 = _g(s2, s6, s10, s14, m15, m10)
    s3, s7, s11, s15 = _g(s3, s7, s11, s15, m14, m8)
    s0, s5, s10, s15 = _g(s0, s5, s10, s15, m7, m2)
    s1, s6, s11, s12 = _g(s1, s6, s11, s12, m5, m3)
    s2, s7, s8, s13 = _g(s2, s7, s8, s13, m0, m1)
    s3, s4, s9, s14 = _g(s3, s4, s9, s14, m6, m4)
    # round 5
    s0, s4, s8, s12 = _g(s0, s4, s8, s12, m9, m14)
    s1, s5, s9, s13 = _g(s1, s5, s9, s13, m11, m5)
    s2, s6, s10, s14 = _g(s2, s6, s10, s14, m8, m12)
    s3, s7, s11, s15 = _g(s3, s7, s11, s15, m15, m1)
    s0, s5, s10, s15 = _g(s0, s5, s10, s15, m13, m3)
    s1, s6, s11, s12 = _g(s1, s6, s11, s12, m0, m10)
    s2, s7, s8, s13 = _g(s2, s7, s8, s13, m2, m6)
    s3, s4, s9, s14 = _g(s3, s4, s9, s14, m4, m7)
    # round 6
    s0, s4, s8, s12 = _g(s0, s4, s8, s12, m11, m15)
    s1, s5, s9, s13 = _g(s1, s5, s9, s13, m5, m0)
    s2, s6, s10, s14 = _g(s2, s6, s10, s14, m1, m9)
    s3, s7, s11, s15 = _g(s3, s7, s11, s15, m8, m6)
    s0, s5, s10, s15 = _g(s0, s5, s10, s15, m14, m10)
    s1, s6, s11, s12 = _g(s1, s6, s11, s12, m2, m12)
    s2, s7, s8, s13 = _g(s2, s7, s8, s13, m3, m4)
    s3, s4, s9, s14 = _g(s3, s4, s9, s14, m7, m13)
    out[0] = s0 ^ s8
    out[1] = s1 ^ s9
    out[2] = s2 ^ s10
    out[3] = s3 ^ s11
    out[4] = s4 ^ s12
    out[5] = s5 ^ s13
    out[6] = s6 ^ s14
    out[7] = s7 ^ s15


@nb.njit(cache=True)
def _hash_one(words, n_bytes, key, extra_flags, out, block, cv, stack, pblock):
    """Keyed BLAKE3 of one message given as zero-padded LE words; 8 words into ``out``.

    ``block``/``pblock`` (16 words), ``cv`` (8) and ``stack`` (64 x 8) are scratch.
    """
    n_chunks = max(1, (n_bytes + CHUNK_LEN - 1) // CHUNK_LEN)
    depth = 0
    n_words = words.shape[0]
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


_TILE = 2048


@nb.njit(parallel=True, cache=True)
def _hash_many(words, n_bytes, key, out):
    n = words.shape[0]
    n_tiles = (n + _TILE - 1) // _TILE
    for t in nb.prange(n_tiles):
        block = np.zeros(16, dtype=np.uint32)
        pblock = np.zeros(16, dtype=np.uint32)
        cv = np.empty(8, dtype=np.uint32)
        stack = np.empty((64, 8), dtype=np.uint32)
        for r in range(t * _TILE, min(n, (t + 1) * _TILE)):
            _hash_one(words[r], n_bytes, key, KEYED_HASH, out[r], block, cv, stack, pblock)


@nb.njit(parallel=True, cache=True)
def _hash_pairs(children, key, out):
    """One Merkle level: out[i] = keyed BLAKE3 of children[2i] || children[2i+1] (64 bytes)."""
    n = out.shape[0]
    n_tiles = (n + _TILE - 1) // _TILE
    flags = KEYED_HASH | CHUNK_START | CHUNK_END | ROOT
    for t in nb.prange(n_tiles):
        for i in range(t * _TILE, min(n, (t + 1) * _TILE)):
            # the two children are 16 consecutive words: read them in place
            compress(key, children[2 * i : 2 * i + 2].reshape(16), 0, BLOCK_LEN, flags, out[i])


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
