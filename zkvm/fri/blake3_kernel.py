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

All messages of a batch have the same length, hence the same chunk/tree
shape, so the kernel works on ``LANES`` messages at once: the state and the
message block are ``(16, LANES)`` arrays and each G step is a loop over the
lanes, which LLVM vectorises (several times the speed of a scalar
compression). The G function is compiled once (its state/message indices are
runtime values read from small tables), which keeps the first, uncached
compile to some ten seconds of CPU (cached afterwards).

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
#: state indices (a, b, c, d) of the 4 column and 4 diagonal G steps of a round
G_STATE = np.array(
    [[0, 4, 8, 12], [1, 5, 9, 13], [2, 6, 10, 14], [3, 7, 11, 15],
     [0, 5, 10, 15], [1, 6, 11, 12], [2, 7, 8, 13], [3, 4, 9, 14]],
    dtype=np.int64,
)
LANES = 64


@nb.njit(cache=True)
def _gv(s, m, a, b, c, d, x, y, t):
    """The G mixing function on lanes ``0..t`` of state ``s`` (16, LANES) with words m[x], m[y]."""
    for j in range(t):
        va = np.uint32(s[a, j] + s[b, j] + m[x, j])
        vd = s[d, j] ^ va
        vd = np.uint32((vd >> np.uint32(16)) | (vd << np.uint32(16)))
        vc = np.uint32(s[c, j] + vd)
        vb = s[b, j] ^ vc
        vb = np.uint32((vb >> np.uint32(12)) | (vb << np.uint32(20)))
        va = np.uint32(va + vb + m[y, j])
        vd = vd ^ va
        vd = np.uint32((vd >> np.uint32(8)) | (vd << np.uint32(24)))
        vc = np.uint32(vc + vd)
        vb = vb ^ vc
        vb = np.uint32((vb >> np.uint32(7)) | (vb << np.uint32(25)))
        s[a, j] = va
        s[b, j] = vb
        s[c, j] = vc
        s[d, j] = vd


@nb.njit(cache=True)
def _compress_v(cv, m, counter, block_len, flags, s, t):
    """BLAKE3 compression (spec 2.2) on ``t`` lanes; the new chaining values replace ``cv``.

    Args:
        cv: (8, LANES) chaining values, updated in place.
        m: (16, LANES) message blocks.
        counter: the 64-bit counter (chunk index; 0 for parents), same for all lanes.
        block_len: bytes in the block (same for all lanes).
        flags: domain flags (same for all lanes).
        s: (16, LANES) scratch state.
        t: number of active lanes.
    """
    c_lo = np.uint32(counter & 0xFFFFFFFF)
    c_hi = np.uint32((counter >> 32) & 0xFFFFFFFF)
    for i in range(8):
        for j in range(t):
            s[i, j] = cv[i, j]
    for i in range(4):
        for j in range(t):
            s[8 + i, j] = IV[i]
    for j in range(t):
        s[12, j] = c_lo
        s[13, j] = c_hi
        s[14, j] = block_len
        s[15, j] = flags
    for r in range(7):
        for k in range(8):
            _gv(s, m, G_STATE[k, 0], G_STATE[k, 1], G_STATE[k, 2], G_STATE[k, 3],
                SCHEDULE[r, 2 * k], SCHEDULE[r, 2 * k + 1], t)
    for i in range(8):
        for j in range(t):
            cv[i, j] = s[i, j] ^ s[8 + i, j]


@nb.njit(cache=True)
def _parent_v(stack_cv, cv, key, flags, m, s, t):
    """cv <- parent(stack_cv, cv) on all lanes (keyed, PARENT | flags)."""
    for i in range(8):
        for j in range(t):
            m[i, j] = stack_cv[i, j]
            m[8 + i, j] = cv[i, j]
            cv[i, j] = key[i]
    _compress_v(cv, m, 0, BLOCK_LEN, flags | PARENT, s, t)


@nb.njit(cache=True)
def _hash_tile(words, n_bytes, key, out, r0, t, s, m, cv, stack):
    """Keyed BLAKE3 of messages ``r0 .. r0+t`` of ``n_bytes`` each (spec 2.3-2.6, 5.1.2)."""
    n_chunks = max(1, (n_bytes + CHUNK_LEN - 1) // CHUNK_LEN)
    depth = 0
    for ci in range(n_chunks):
        c_start = ci * CHUNK_LEN
        c_len = min(CHUNK_LEN, n_bytes - c_start)
        n_blocks = max(1, (c_len + BLOCK_LEN - 1) // BLOCK_LEN)
        for i in range(8):
            for j in range(t):
                cv[i, j] = key[i]
        for bi in range(n_blocks):
            b_start = c_start + bi * BLOCK_LEN
            b_len = min(BLOCK_LEN, c_start + c_len - b_start)
            w0 = b_start // 4
            for i in range(16):
                if i * 4 < b_len:
                    rem = b_len - i * 4
                    mask = np.uint32(0xFFFFFFFF) if rem >= 4 else np.uint32((1 << (8 * rem)) - 1)
                    for j in range(t):
                        m[i, j] = words[r0 + j, w0 + i] & mask
                else:
                    for j in range(t):
                        m[i, j] = 0
            flags = KEYED_HASH
            if bi == 0:
                flags |= CHUNK_START
            if bi == n_blocks - 1:
                flags |= CHUNK_END
                if n_chunks == 1:
                    flags |= ROOT
            _compress_v(cv, m, ci, b_len, flags, s, t)
        if ci < n_chunks - 1:
            # lazy merge of completed subtrees: the left subtree of any parent
            # holds the largest power of two of chunks below the total
            total = ci + 1
            while total & 1 == 0:
                depth -= 1
                _parent_v(stack[depth], cv, key, KEYED_HASH, m, s, t)
                total >>= 1
            for i in range(8):
                for j in range(t):
                    stack[depth, i, j] = cv[i, j]
            depth += 1
    while depth > 0:
        depth -= 1
        _parent_v(stack[depth], cv, key, KEYED_HASH | (ROOT if depth == 0 else 0), m, s, t)
    for j in range(t):
        for i in range(8):
            out[r0 + j, i] = cv[i, j]


@nb.njit(parallel=True, cache=True)
def _hash_many(words, n_bytes, key, out):
    n = words.shape[0]
    n_tiles = (n + LANES - 1) // LANES
    for ti in nb.prange(n_tiles):
        s = np.empty((16, LANES), dtype=np.uint32)
        m = np.empty((16, LANES), dtype=np.uint32)
        cv = np.empty((8, LANES), dtype=np.uint32)
        stack = np.empty((54, 8, LANES), dtype=np.uint32)
        r0 = ti * LANES
        _hash_tile(words, n_bytes, key, out, r0, min(LANES, n - r0), s, m, cv, stack)


@nb.njit(cache=True)
def _hash_many_serial(words, n_bytes, key, out):
    n = words.shape[0]
    s = np.empty((16, LANES), dtype=np.uint32)
    m = np.empty((16, LANES), dtype=np.uint32)
    cv = np.empty((8, LANES), dtype=np.uint32)
    stack = np.empty((54, 8, LANES), dtype=np.uint32)
    for r0 in range(0, n, LANES):
        _hash_tile(words, n_bytes, key, out, r0, min(LANES, n - r0), s, m, cv, stack)


#: below this many messages the thread pool costs more than it saves
PARALLEL_MIN = 1 << 13


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
    kernel = _hash_many if words.shape[0] >= PARALLEL_MIN else _hash_many_serial
    kernel(words, int(n_bytes), key_words(key), out)
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
    # parent i's message is children[2i] || children[2i+1]: 16 consecutive words
    return hash_many_words(children.reshape(-1, 16), 64, key)
