"""Batched Keccak-256 in numba: many messages at once (prover side only).

The on-chain proof profile hashes Merkle leaves, Merkle inner nodes, the
transcript and the grinding nonce with Ethereum's Keccak-256 (see
:mod:`zkvm.hash.keccak` for the specification, FIPS 202 Keccak-f[1600] with the
original Keccak 0x01 ... 0x80 padding, rate 136 bytes) so that a Solidity
verifier can recompute them with the ``KECCAK256`` opcode. This module is the
prover's side: the same function over whole matrices.

Conventions follow :mod:`zkvm.fri.blake3_kernel`: digests come back as
``uint32 (n, 8)`` arrays whose row ``.tobytes()`` is the 32-byte digest (so a
Merkle level is stored the same way whichever hash built it), every kernel is
``@nb.njit(cache=True)``, and a ``parallel=True`` / ``nb.prange`` variant over
tiles of rows is used from :data:`PARALLEL_MIN` messages on.

**W states at once.** As in the BLAKE3 kernel, the permutation runs on
:data:`W` independent states side by side: lane ``k`` of state ``j`` is
``s[k * W + j]`` and each round is one loop over ``j`` whose body is the whole
round (theta, rho, pi, chi, iota written out). With ``W`` a compile-time
constant LLVM turns that loop into vector code: one 512-bit register per lane
with AVX-512 (``vprolq`` for the rotations, ``vpternlogq`` for chi and the
parities), two 256-bit ones with AVX2. ``bench/bench_keccak.py`` on this
machine (AMD EPYC, AVX-512, 2 cores): 2^20 one-block leaves in 77 ms and as
many inner nodes in 73 ms, where the scalar kernel it replaced (one state, the
25 lanes in locals) took 662 and 596 ms: 1.5x BLAKE3's time instead of 6x. A
batch whose size is not a multiple of ``W`` repeats its last message in the
spare states and drops their digests.

**Messages as lanes.** A message is never written byte by byte: its 64-bit
words are byte-swapped (the rows are hashed as big-endian words, laid out for
the EVM) and shifted into little-endian sponge lanes across the tag/salt
prefix with a funnel shift; the padding lanes are written once per buffer.
Every function is checked byte for byte against pycryptodome in
``tests/test_keccak.py``.

The verifier never imports this module.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from zkvm.hash.keccak import RATE, RC as _RC_TUPLE

RC = np.array(_RC_TUPLE, dtype=np.uint64)
_U1 = np.uint64(1)
_U8 = np.uint64(8)
_U56 = np.uint64(56)
_U63 = np.uint64(63)
_PAD_END = np.uint64(0x80) << np.uint64(56)  # the 0x80 in the last byte of a block
_LANES_PER_BLOCK = RATE // 8  # 17

#: states permuted side by side (one AVX-512 register per lane)
W = 8
#: below this many messages the thread pool costs more than it saves
PARALLEL_MIN = 1 << 13
#: rows per tile of the parallel kernels (a multiple of W; one message buffer per tile)
TILE = 512


@nb.njit(inline="always")
def _rol(x, n):
    return (x << np.uint64(n)) | (x >> np.uint64(64 - n))


@nb.njit(inline="always")
def _bswap(x):
    """The 8 bytes of ``x`` reversed (a big-endian word read as a little-endian lane)."""
    x = ((x & np.uint64(0x00FF00FF00FF00FF)) << _U8) | ((x >> _U8) & np.uint64(0x00FF00FF00FF00FF))
    x = ((x & np.uint64(0x0000FFFF0000FFFF)) << np.uint64(16)) | (
        (x >> np.uint64(16)) & np.uint64(0x0000FFFF0000FFFF))
    return (x << np.uint64(32)) | (x >> np.uint64(32))


@nb.njit(cache=True)
def _permute(s):
    """Keccak-f[1600] in place on W states: ``s`` is ``uint64 (25 * W,)``, lane k of state j at
    ``k * W + j`` (lane (x, y) is k = x + 5 y; FIPS 202 section 3.2)."""
    for r in range(24):
        rc = RC[r]
        for j in range(W):
            c0 = s[0 * W + j] ^ s[5 * W + j] ^ s[10 * W + j] ^ s[15 * W + j] ^ s[20 * W + j]
            c1 = s[1 * W + j] ^ s[6 * W + j] ^ s[11 * W + j] ^ s[16 * W + j] ^ s[21 * W + j]
            c2 = s[2 * W + j] ^ s[7 * W + j] ^ s[12 * W + j] ^ s[17 * W + j] ^ s[22 * W + j]
            c3 = s[3 * W + j] ^ s[8 * W + j] ^ s[13 * W + j] ^ s[18 * W + j] ^ s[23 * W + j]
            c4 = s[4 * W + j] ^ s[9 * W + j] ^ s[14 * W + j] ^ s[19 * W + j] ^ s[24 * W + j]
            d0 = c4 ^ _rol(c1, 1)
            d1 = c0 ^ _rol(c2, 1)
            d2 = c1 ^ _rol(c3, 1)
            d3 = c2 ^ _rol(c4, 1)
            d4 = c3 ^ _rol(c0, 1)
            b00 = s[0 * W + j] ^ d0
            b01 = _rol(s[6 * W + j] ^ d1, 44)
            b02 = _rol(s[12 * W + j] ^ d2, 43)
            b03 = _rol(s[18 * W + j] ^ d3, 21)
            b04 = _rol(s[24 * W + j] ^ d4, 14)
            b05 = _rol(s[3 * W + j] ^ d3, 28)
            b06 = _rol(s[9 * W + j] ^ d4, 20)
            b07 = _rol(s[10 * W + j] ^ d0, 3)
            b08 = _rol(s[16 * W + j] ^ d1, 45)
            b09 = _rol(s[22 * W + j] ^ d2, 61)
            b10 = _rol(s[1 * W + j] ^ d1, 1)
            b11 = _rol(s[7 * W + j] ^ d2, 6)
            b12 = _rol(s[13 * W + j] ^ d3, 25)
            b13 = _rol(s[19 * W + j] ^ d4, 8)
            b14 = _rol(s[20 * W + j] ^ d0, 18)
            b15 = _rol(s[4 * W + j] ^ d4, 27)
            b16 = _rol(s[5 * W + j] ^ d0, 36)
            b17 = _rol(s[11 * W + j] ^ d1, 10)
            b18 = _rol(s[17 * W + j] ^ d2, 15)
            b19 = _rol(s[23 * W + j] ^ d3, 56)
            b20 = _rol(s[2 * W + j] ^ d2, 62)
            b21 = _rol(s[8 * W + j] ^ d3, 55)
            b22 = _rol(s[14 * W + j] ^ d4, 39)
            b23 = _rol(s[15 * W + j] ^ d0, 41)
            b24 = _rol(s[21 * W + j] ^ d1, 2)
            s[0 * W + j] = b00 ^ (~b01 & b02) ^ rc
            s[1 * W + j] = b01 ^ (~b02 & b03)
            s[2 * W + j] = b02 ^ (~b03 & b04)
            s[3 * W + j] = b03 ^ (~b04 & b00)
            s[4 * W + j] = b04 ^ (~b00 & b01)
            s[5 * W + j] = b05 ^ (~b06 & b07)
            s[6 * W + j] = b06 ^ (~b07 & b08)
            s[7 * W + j] = b07 ^ (~b08 & b09)
            s[8 * W + j] = b08 ^ (~b09 & b05)
            s[9 * W + j] = b09 ^ (~b05 & b06)
            s[10 * W + j] = b10 ^ (~b11 & b12)
            s[11 * W + j] = b11 ^ (~b12 & b13)
            s[12 * W + j] = b12 ^ (~b13 & b14)
            s[13 * W + j] = b13 ^ (~b14 & b10)
            s[14 * W + j] = b14 ^ (~b10 & b11)
            s[15 * W + j] = b15 ^ (~b16 & b17)
            s[16 * W + j] = b16 ^ (~b17 & b18)
            s[17 * W + j] = b17 ^ (~b18 & b19)
            s[18 * W + j] = b18 ^ (~b19 & b15)
            s[19 * W + j] = b19 ^ (~b15 & b16)
            s[20 * W + j] = b20 ^ (~b21 & b22)
            s[21 * W + j] = b21 ^ (~b22 & b23)
            s[22 * W + j] = b22 ^ (~b23 & b24)
            s[23 * W + j] = b23 ^ (~b24 & b20)
            s[24 * W + j] = b24 ^ (~b20 & b21)


@nb.njit(cache=True)
def _absorb(s, m, n_blocks):
    """``s`` <- the sponge absorb, from the zero state, of W padded messages ``m``
    (``uint64 (17 * n_blocks * W,)``, lane k of message j at ``k * W + j``)."""
    for k in range(25 * W):
        s[k] = 0
    for b in range(n_blocks):
        o = _LANES_PER_BLOCK * b * W
        for k in range(_LANES_PER_BLOCK * W):
            s[k] ^= m[o + k]
        _permute(s)


@nb.njit(cache=True)
def _store(s, out, i0, count):
    """Rows ``i0 .. i0+count`` of ``out`` (``uint64 (n, 4)``) <- the digests (lanes 0..3) of states
    ``0 .. count``."""
    for j in range(count):
        for k in range(4):
            out[i0 + j, k] = s[k * W + j]


def _u64_digests(n: int) -> tuple[np.ndarray, np.ndarray]:
    """An ``uint32 (n, 8)`` digest array and its ``uint64 (n, 4)`` view (the same bytes)."""
    out = np.empty((n, 8), dtype=np.uint32)
    return out, out.view(np.uint64)


# ---------------------------------------------------------------- leaves


@nb.njit(cache=True)
def _leaves_tile(rows, salts, tag, out, r0, r1):
    w = rows.shape[1]
    sl = salts.shape[1]
    off = 1 + sl  # tag || salt, then the row's big-endian words
    length = off + 8 * w
    n_blocks = length // RATE + 1
    last = _LANES_PER_BLOCK * n_blocks - 1
    q0 = off // 8
    sh = np.uint64(8 * (off % 8))  # = 8 * (length % 8)
    sh2 = np.uint64(63) - sh  # (y >> 1) >> (63 - sh) == y >> (64 - sh), and 0 for sh = 0
    pad = length // 8  # the lane holding byte ``length`` (the 0x01)
    m = np.zeros((last + 1) * W, dtype=np.uint64)
    if last != pad:
        for j in range(W):
            m[last * W + j] = _PAD_END
    pre = np.zeros(8 * (q0 + 1), dtype=np.uint8)
    pre[0] = np.uint8(tag)
    prel = pre.view(np.uint64)
    s = np.empty(25 * W, dtype=np.uint64)
    for i0 in range(r0, r1, W):
        for j in range(W):
            i = min(i0 + j, r1 - 1)
            for t in range(sl):
                pre[1 + t] = salts[i, t]
            for t in range(q0):
                m[t * W + j] = prel[t]
            acc = prel[q0]
            for c in range(w):
                y = _bswap(rows[i, c])
                m[(q0 + c) * W + j] = acc | (y << sh)
                acc = (y >> _U1) >> sh2
            v = acc | (_U1 << sh)
            if last == pad:
                v |= _PAD_END
            m[pad * W + j] = v
        _absorb(s, m, n_blocks)
        _store(s, out, i0, min(W, r1 - i0))


@nb.njit(cache=True)
def _leaves_serial(rows, salts, tag, out):
    _leaves_tile(rows, salts, tag, out, 0, rows.shape[0])


@nb.njit(parallel=True, cache=True)
def _leaves_parallel(rows, salts, tag, out):
    n = rows.shape[0]
    for t in nb.prange((n + TILE - 1) // TILE):
        _leaves_tile(rows, salts, tag, out, t * TILE, min(n, (t + 1) * TILE))


def leaves(rows: np.ndarray, salts: np.ndarray | None, tag: int) -> np.ndarray:
    """Merkle leaf digests: row i -> keccak256(tag || salts[i] || rows[i] as big-endian u64 words).

    Args:
        rows: ``uint64 (n, w)``; ``w`` may be 0.
        salts: ``uint8 (n, s)`` per-row salts, or ``None`` for none.
        tag: the domain-separation byte (0..255) in front of every leaf.

    Returns:
        ``uint32 (n, 8)``; ``out[i].tobytes()`` is leaf i's 32-byte digest.
    """
    rows = np.ascontiguousarray(rows, dtype=np.uint64)
    if rows.ndim != 2:
        raise ValueError("rows must be a 2-D uint64 array")
    n = rows.shape[0]
    if salts is None:
        salts = np.zeros((n, 0), dtype=np.uint8)
    salts = np.ascontiguousarray(salts, dtype=np.uint8)
    if salts.ndim != 2 or salts.shape[0] != n:
        raise ValueError("salts must be uint8 (n_rows, salt_len)")
    out, out64 = _u64_digests(n)
    kernel = _leaves_parallel if n >= PARALLEL_MIN else _leaves_serial
    kernel(rows, salts, _tag(tag), out64)
    return out


def _tag(tag: int) -> int:
    tag = int(tag)
    if not 0 <= tag <= 255:
        raise ValueError(f"tag must be one byte, got {tag}")
    return tag


# ---------------------------------------------------------------- inner nodes


@nb.njit(cache=True)
def _concat_tile(a, b, tag, out, r0, r1):
    """Rows ``r0 .. r1``: ``H(tag || a_i || b_i)``, 65 bytes: one block, lanes built in place."""
    s = np.empty(25 * W, dtype=np.uint64)
    x = np.empty(8 * W, dtype=np.uint64)  # the 8 words of a_i || b_i, word k of row j at k * W + j
    t0 = np.uint64(tag)
    for i0 in range(r0, r1, W):
        for j in range(W):
            i = min(i0 + j, r1 - 1)
            for k in range(4):
                x[k * W + j] = a[i, k]
                x[(4 + k) * W + j] = b[i, k]
        for j in range(W):  # tag || words, shifted one byte; the 0x01 at byte 65
            s[j] = t0 | (x[j] << _U8)
            for k in range(1, 8):
                s[k * W + j] = (x[(k - 1) * W + j] >> _U56) | (x[k * W + j] << _U8)
            s[8 * W + j] = (x[7 * W + j] >> _U56) | np.uint64(0x0100)
            for k in range(9, 25):
                s[k * W + j] = 0
            s[16 * W + j] = _PAD_END
        _permute(s)
        _store(s, out, i0, min(W, r1 - i0))


@nb.njit(cache=True)
def _concat_serial(a, b, tag, out):
    _concat_tile(a, b, tag, out, 0, a.shape[0])


@nb.njit(parallel=True, cache=True)
def _concat_parallel(a, b, tag, out):
    n = a.shape[0]
    for t in nb.prange((n + TILE - 1) // TILE):
        _concat_tile(a, b, tag, out, t * TILE, min(n, (t + 1) * TILE))


def _as_u64_digests(d: np.ndarray, what: str) -> np.ndarray:
    """A ``uint32 (n, 8)`` digest array (rows may be strided) as ``uint64 (n, 4)``, no copy."""
    if d.ndim != 2 or d.shape[1] != 8 or d.dtype != np.uint32:
        raise ValueError(f"{what} must be uint32 (n, 8) digests")
    if d.strides[1] != 4:
        d = np.ascontiguousarray(d)
    return d.view(np.uint64)


def concat(a: np.ndarray, b: np.ndarray, tag: int) -> np.ndarray:
    """Merkle inner nodes: row i -> keccak256(tag || a[i] bytes || b[i] bytes).

    ``a`` and ``b`` are ``uint32 (n, 8)`` digests as the kernels return them
    (``a[i].tobytes()`` is the digest; rows may be strided, e.g. ``level[0::2]``,
    and are not copied); the result has the same form.
    """
    a = np.asarray(a)
    b = np.asarray(b)
    if a.shape != b.shape:
        raise ValueError("a and b must both be uint32 (n, 8)")
    a64, b64 = _as_u64_digests(a, "a"), _as_u64_digests(b, "b")
    out, out64 = _u64_digests(a.shape[0])
    kernel = _concat_parallel if a.shape[0] >= PARALLEL_MIN else _concat_serial
    kernel(a64, b64, _tag(tag), out64)
    return out


# ---------------------------------------------------------------- plain messages


@nb.njit(cache=True)
def _many_tile(msgs, out, r0, r1):
    n_bytes = msgs.shape[1]
    n_blocks = n_bytes // RATE + 1
    buf = np.zeros(n_blocks * RATE, dtype=np.uint8)
    buf[n_bytes] ^= np.uint8(0x01)
    buf[buf.shape[0] - 1] ^= np.uint8(0x80)
    lanes = buf.view(np.uint64)
    m = np.empty(lanes.shape[0] * W, dtype=np.uint64)
    s = np.empty(25 * W, dtype=np.uint64)
    for i0 in range(r0, r1, W):
        for j in range(W):
            i = min(i0 + j, r1 - 1)
            for t in range(n_bytes):
                buf[t] = msgs[i, t]
            for k in range(lanes.shape[0]):
                m[k * W + j] = lanes[k]
        _absorb(s, m, n_blocks)
        _store(s, out, i0, min(W, r1 - i0))


@nb.njit(cache=True)
def _many_serial(msgs, out):
    _many_tile(msgs, out, 0, msgs.shape[0])


@nb.njit(parallel=True, cache=True)
def _many_parallel(msgs, out):
    n = msgs.shape[0]
    for t in nb.prange((n + TILE - 1) // TILE):
        _many_tile(msgs, out, t * TILE, min(n, (t + 1) * TILE))


def many(msgs: np.ndarray) -> np.ndarray:
    """keccak256 of each row of a ``uint8 (n, L)`` matrix (any L >= 0); returns ``uint8 (n, 32)``."""
    msgs = np.ascontiguousarray(msgs, dtype=np.uint8)
    if msgs.ndim != 2:
        raise ValueError("msgs must be a 2-D uint8 array")
    n = msgs.shape[0]
    out, out64 = _u64_digests(n)
    kernel = _many_parallel if n >= PARALLEL_MIN else _many_serial
    kernel(msgs, out64)
    return out.view(np.uint8).reshape(n, 32)


# ---------------------------------------------------------------- proof of work


@nb.njit(cache=True)
def _pow_range(mid, tail, nonce_off, bits, start, count):
    """First nonce in ``start .. start+count`` whose hash has ``bits`` leading zero bits, or -1.

    ``mid`` is the state (25 lanes) after the prefix's whole blocks; ``tail``
    the padded buffer of the rest of the prefix, a zero nonce at ``nonce_off``
    and padding. W nonces are tried per permutation.
    """
    tl = tail.view(np.uint64)
    n_blocks = tail.shape[0] // RATE
    m = np.empty(tl.shape[0] * W, dtype=np.uint64)
    for k in range(tl.shape[0]):
        for j in range(W):
            m[k * W + j] = tl[k]
    q = nonce_off // 8
    sh = np.uint64(8 * (nonce_off % 8))
    sh2 = np.uint64(63) - sh
    spill = q + 1 < tl.shape[0]
    shift = np.uint64(64 - bits)
    s = np.empty(25 * W, dtype=np.uint64)
    for g in range(0, count, W):
        for j in range(W):
            y = _bswap(np.uint64(start + g + j))  # the nonce's 8 big-endian bytes as a lane
            m[q * W + j] = tl[q] | (y << sh)
            if spill:
                m[(q + 1) * W + j] = tl[q + 1] | ((y >> _U1) >> sh2)
        for k in range(25):
            for j in range(W):
                s[k * W + j] = mid[k]
        for b in range(n_blocks):
            o = _LANES_PER_BLOCK * b * W
            for k in range(_LANES_PER_BLOCK * W):
                s[k] ^= m[o + k]
            _permute(s)
        for j in range(min(W, count - g)):
            # the digest's first 8 bytes as a big-endian integer
            if (_bswap(s[j]) >> shift) == 0:
                return start + g + j
    return -1


@nb.njit(parallel=True, cache=True)
def _pow_range_parallel(mid, tail, nonce_off, bits, start, count):
    n_chunks = 16
    size = ((count + n_chunks - 1) // n_chunks + W - 1) // W * W
    hits = np.full(n_chunks, -1, dtype=np.int64)
    for c in nb.prange(n_chunks):
        lo = c * size
        if lo < count:
            hits[c] = _pow_range(mid, tail, nonce_off, bits, start + lo, min(size, count - lo))
    best = -1
    for c in range(n_chunks):
        if hits[c] >= 0 and (best < 0 or hits[c] < best):
            best = hits[c]
    return best


@nb.njit(cache=True)
def _midstate(blocks):
    """State (25 lanes) after absorbing ``blocks`` (whole 136-byte blocks, no padding)."""
    s = np.zeros(25 * W, dtype=np.uint64)
    lanes = blocks.view(np.uint64)
    for b in range(blocks.shape[0] // RATE):
        for k in range(_LANES_PER_BLOCK):
            s[k * W] ^= lanes[_LANES_PER_BLOCK * b + k]
        _permute(s)
    out = np.empty(25, dtype=np.uint64)
    for k in range(25):
        out[k] = s[k * W]
    return out


def pow_search(prefix: bytes, bits: int, batch: int | None = None) -> int:
    """Smallest nonce >= 0 with keccak256(prefix || nonce as 8-byte big-endian) < 2^(256 - bits).

    Grinding: the digest read as a big-endian 256-bit integer must have its
    top ``bits`` bits zero (1 <= bits <= 40). Nonces are tried in batches of
    ``batch`` (by default a sixteenth of the expected ``2^bits`` tries, between
    2^8 and 2^16, so that the nonces tried past the first hit stay a few per
    cent); batches of at least :data:`PARALLEL_MIN` are split over threads.
    """
    bits = int(bits)
    if not 1 <= bits <= 40:
        raise ValueError(f"bits must be in [1, 40], got {bits}")
    if batch is None:
        batch = 1 << min(16, max(8, bits - 4))
    if batch < 1:
        raise ValueError("batch must be positive")
    prefix = bytes(prefix)
    n_full = len(prefix) // RATE
    mid = _midstate(np.frombuffer(prefix[: n_full * RATE], dtype=np.uint8).copy())
    rest = prefix[n_full * RATE:]
    n = len(rest) + 8
    tail = np.zeros((n // RATE + 1) * RATE, dtype=np.uint8)
    tail[: len(rest)] = np.frombuffer(rest, dtype=np.uint8)
    tail[n] ^= 0x01
    tail[-1] ^= 0x80
    kernel = _pow_range_parallel if batch >= PARALLEL_MIN else _pow_range
    start = 0
    while True:
        hit = kernel(mid, tail, len(rest), bits, start, batch)
        if hit >= 0:
            return int(hit)
        start += batch
