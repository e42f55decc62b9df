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

Keccak-f[1600] is written out with the 25 lanes in local ``uint64`` variables
(rotations as a pair of shifts), which LLVM keeps in registers. Messages are
never copied as a whole: each tile of rows owns one padded message buffer
(a few blocks of 136 bytes, padding bytes written once), and each row's bytes
are written into it and absorbed from it as little-endian lanes. Inner nodes
(65-byte messages, one block) skip the buffer and build their 17 lanes with
shifts. Every function is checked byte for byte against pycryptodome in
``tests/test_keccak.py``.

The verifier never imports this module.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from zkvm.hash.keccak import RATE, RC as _RC_TUPLE

RC = np.array(_RC_TUPLE, dtype=np.uint64)
_U1 = np.uint64(1)
_U63 = np.uint64(63)
_LANES_PER_BLOCK = RATE // 8

#: below this many messages the thread pool costs more than it saves
PARALLEL_MIN = 1 << 13
#: rows per tile of the parallel kernels (one message buffer per tile)
TILE = 512


@nb.njit(cache=True)
def _permute(s):
    """Keccak-f[1600] in place on ``s`` (25 ``uint64`` lanes, index x + 5 y), lanes held in locals."""
    a00 = s[0]
    a01 = s[1]
    a02 = s[2]
    a03 = s[3]
    a04 = s[4]
    a05 = s[5]
    a06 = s[6]
    a07 = s[7]
    a08 = s[8]
    a09 = s[9]
    a10 = s[10]
    a11 = s[11]
    a12 = s[12]
    a13 = s[13]
    a14 = s[14]
    a15 = s[15]
    a16 = s[16]
    a17 = s[17]
    a18 = s[18]
    a19 = s[19]
    a20 = s[20]
    a21 = s[21]
    a22 = s[22]
    a23 = s[23]
    a24 = s[24]
    for r in range(24):
        c0 = a00 ^ a05 ^ a10 ^ a15 ^ a20
        c1 = a01 ^ a06 ^ a11 ^ a16 ^ a21
        c2 = a02 ^ a07 ^ a12 ^ a17 ^ a22
        c3 = a03 ^ a08 ^ a13 ^ a18 ^ a23
        c4 = a04 ^ a09 ^ a14 ^ a19 ^ a24
        d0 = c4 ^ ((c1 << _U1) | (c1 >> _U63))
        d1 = c0 ^ ((c2 << _U1) | (c2 >> _U63))
        d2 = c1 ^ ((c3 << _U1) | (c3 >> _U63))
        d3 = c2 ^ ((c4 << _U1) | (c4 >> _U63))
        d4 = c3 ^ ((c0 << _U1) | (c0 >> _U63))
        b00 = a00 ^ d0
        t = a06 ^ d1
        b01 = (t << np.uint64(44)) | (t >> np.uint64(20))
        t = a12 ^ d2
        b02 = (t << np.uint64(43)) | (t >> np.uint64(21))
        t = a18 ^ d3
        b03 = (t << np.uint64(21)) | (t >> np.uint64(43))
        t = a24 ^ d4
        b04 = (t << np.uint64(14)) | (t >> np.uint64(50))
        t = a03 ^ d3
        b05 = (t << np.uint64(28)) | (t >> np.uint64(36))
        t = a09 ^ d4
        b06 = (t << np.uint64(20)) | (t >> np.uint64(44))
        t = a10 ^ d0
        b07 = (t << np.uint64(3)) | (t >> np.uint64(61))
        t = a16 ^ d1
        b08 = (t << np.uint64(45)) | (t >> np.uint64(19))
        t = a22 ^ d2
        b09 = (t << np.uint64(61)) | (t >> np.uint64(3))
        t = a01 ^ d1
        b10 = (t << np.uint64(1)) | (t >> np.uint64(63))
        t = a07 ^ d2
        b11 = (t << np.uint64(6)) | (t >> np.uint64(58))
        t = a13 ^ d3
        b12 = (t << np.uint64(25)) | (t >> np.uint64(39))
        t = a19 ^ d4
        b13 = (t << np.uint64(8)) | (t >> np.uint64(56))
        t = a20 ^ d0
        b14 = (t << np.uint64(18)) | (t >> np.uint64(46))
        t = a04 ^ d4
        b15 = (t << np.uint64(27)) | (t >> np.uint64(37))
        t = a05 ^ d0
        b16 = (t << np.uint64(36)) | (t >> np.uint64(28))
        t = a11 ^ d1
        b17 = (t << np.uint64(10)) | (t >> np.uint64(54))
        t = a17 ^ d2
        b18 = (t << np.uint64(15)) | (t >> np.uint64(49))
        t = a23 ^ d3
        b19 = (t << np.uint64(56)) | (t >> np.uint64(8))
        t = a02 ^ d2
        b20 = (t << np.uint64(62)) | (t >> np.uint64(2))
        t = a08 ^ d3
        b21 = (t << np.uint64(55)) | (t >> np.uint64(9))
        t = a14 ^ d4
        b22 = (t << np.uint64(39)) | (t >> np.uint64(25))
        t = a15 ^ d0
        b23 = (t << np.uint64(41)) | (t >> np.uint64(23))
        t = a21 ^ d1
        b24 = (t << np.uint64(2)) | (t >> np.uint64(62))
        a00 = b00 ^ (~b01 & b02)
        a01 = b01 ^ (~b02 & b03)
        a02 = b02 ^ (~b03 & b04)
        a03 = b03 ^ (~b04 & b00)
        a04 = b04 ^ (~b00 & b01)
        a05 = b05 ^ (~b06 & b07)
        a06 = b06 ^ (~b07 & b08)
        a07 = b07 ^ (~b08 & b09)
        a08 = b08 ^ (~b09 & b05)
        a09 = b09 ^ (~b05 & b06)
        a10 = b10 ^ (~b11 & b12)
        a11 = b11 ^ (~b12 & b13)
        a12 = b12 ^ (~b13 & b14)
        a13 = b13 ^ (~b14 & b10)
        a14 = b14 ^ (~b10 & b11)
        a15 = b15 ^ (~b16 & b17)
        a16 = b16 ^ (~b17 & b18)
        a17 = b17 ^ (~b18 & b19)
        a18 = b18 ^ (~b19 & b15)
        a19 = b19 ^ (~b15 & b16)
        a20 = b20 ^ (~b21 & b22)
        a21 = b21 ^ (~b22 & b23)
        a22 = b22 ^ (~b23 & b24)
        a23 = b23 ^ (~b24 & b20)
        a24 = b24 ^ (~b20 & b21)
        a00 ^= RC[r]
    s[0] = a00
    s[1] = a01
    s[2] = a02
    s[3] = a03
    s[4] = a04
    s[5] = a05
    s[6] = a06
    s[7] = a07
    s[8] = a08
    s[9] = a09
    s[10] = a10
    s[11] = a11
    s[12] = a12
    s[13] = a13
    s[14] = a14
    s[15] = a15
    s[16] = a16
    s[17] = a17
    s[18] = a18
    s[19] = a19
    s[20] = a20
    s[21] = a21
    s[22] = a22
    s[23] = a23
    s[24] = a24


def _padded_len(n_bytes: int) -> int:
    return (n_bytes // RATE + 1) * RATE


@nb.njit(cache=True)
def _new_buffer(n_bytes, tag):
    """Zeroed buffer of whole blocks for an ``n_bytes`` message, padding in place, byte 0 = tag.

    ``tag`` < 0 leaves byte 0 alone (plain messages). Rows later overwrite only
    bytes ``0 .. n_bytes``, so the padding is written once per buffer.
    """
    size = (n_bytes // 136 + 1) * 136
    buf = np.zeros(size, dtype=np.uint8)
    buf[n_bytes] ^= np.uint8(0x01)
    buf[size - 1] ^= np.uint8(0x80)
    if tag >= 0:
        buf[0] = np.uint8(tag)
    return buf


@nb.njit(cache=True)
def _absorb(s, buf):
    """State ``s`` <- Keccak sponge absorb of the padded buffer ``buf`` from the zero state."""
    lanes = buf.view(np.uint64)
    for k in range(25):
        s[k] = 0
    for b in range(buf.shape[0] // 136):
        for k in range(17):
            s[k] ^= lanes[17 * b + k]
        _permute(s)


@nb.njit(cache=True)
def _store(s, out, i):
    """Row ``i`` of ``out`` (uint32, 8 columns) <- the 32-byte digest in lanes 0..3."""
    for k in range(4):
        out[i, 2 * k] = np.uint32(s[k] & np.uint64(0xFFFFFFFF))
        out[i, 2 * k + 1] = np.uint32(s[k] >> np.uint64(32))


# ---------------------------------------------------------------- leaves


@nb.njit(cache=True)
def _leaves_tile(rows, salts, tag, out, r0, r1):
    w = rows.shape[1]
    sl = salts.shape[1]
    off = 1 + sl
    buf = _new_buffer(off + 8 * w, tag)
    s = np.empty(25, dtype=np.uint64)
    for i in range(r0, r1):
        for j in range(sl):
            buf[1 + j] = salts[i, j]
        for j in range(w):
            x = rows[i, j]
            o = off + 8 * j
            buf[o] = np.uint8(x >> np.uint64(56))
            buf[o + 1] = np.uint8((x >> np.uint64(48)) & np.uint64(0xFF))
            buf[o + 2] = np.uint8((x >> np.uint64(40)) & np.uint64(0xFF))
            buf[o + 3] = np.uint8((x >> np.uint64(32)) & np.uint64(0xFF))
            buf[o + 4] = np.uint8((x >> np.uint64(24)) & np.uint64(0xFF))
            buf[o + 5] = np.uint8((x >> np.uint64(16)) & np.uint64(0xFF))
            buf[o + 6] = np.uint8((x >> np.uint64(8)) & np.uint64(0xFF))
            buf[o + 7] = np.uint8(x & np.uint64(0xFF))
        _absorb(s, buf)
        _store(s, out, i)


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
    out = np.empty((n, 8), dtype=np.uint32)
    kernel = _leaves_parallel if n >= PARALLEL_MIN else _leaves_serial
    kernel(rows, salts, _tag(tag), out)
    return out


def _tag(tag: int) -> int:
    tag = int(tag)
    if not 0 <= tag <= 255:
        raise ValueError(f"tag must be one byte, got {tag}")
    return tag


# ---------------------------------------------------------------- inner nodes


@nb.njit(cache=True)
def _word(d, i, k):
    """Digest row ``i`` of ``d`` (uint32, 8 columns), bytes 8k..8k+8 as a little-endian lane."""
    return np.uint64(d[i, 2 * k]) | (np.uint64(d[i, 2 * k + 1]) << np.uint64(32))


@nb.njit(cache=True)
def _concat_tile(a, b, tag, out, r0, r1):
    s = np.empty(25, dtype=np.uint64)
    u8 = np.uint64(8)
    u56 = np.uint64(56)
    for i in range(r0, r1):
        # message tag || a || b (65 bytes) + pad: 0x01 at byte 65, 0x80 at byte 135
        for k in range(25):
            s[k] = 0
        prev = np.uint64(tag)
        for k in range(4):
            x = _word(a, i, k)
            s[k] = prev | (x << u8)
            prev = x >> u56
        for k in range(4):
            x = _word(b, i, k)
            s[4 + k] = prev | (x << u8)
            prev = x >> u56
        s[8] = prev | np.uint64(0x0100)
        s[16] = np.uint64(0x80) << u56
        _permute(s)
        _store(s, out, i)


@nb.njit(cache=True)
def _concat_serial(a, b, tag, out):
    _concat_tile(a, b, tag, out, 0, a.shape[0])


@nb.njit(parallel=True, cache=True)
def _concat_parallel(a, b, tag, out):
    n = a.shape[0]
    for t in nb.prange((n + TILE - 1) // TILE):
        _concat_tile(a, b, tag, out, t * TILE, min(n, (t + 1) * TILE))


def concat(a: np.ndarray, b: np.ndarray, tag: int) -> np.ndarray:
    """Merkle inner nodes: row i -> keccak256(tag || a[i] bytes || b[i] bytes).

    ``a`` and ``b`` are ``uint32 (n, 8)`` digests as the kernels return them
    (``a[i].tobytes()`` is the digest); the result has the same form.
    """
    a = np.ascontiguousarray(a, dtype=np.uint32)
    b = np.ascontiguousarray(b, dtype=np.uint32)
    if a.ndim != 2 or a.shape[1] != 8 or a.shape != b.shape:
        raise ValueError("a and b must both be uint32 (n, 8)")
    out = np.empty((a.shape[0], 8), dtype=np.uint32)
    kernel = _concat_parallel if a.shape[0] >= PARALLEL_MIN else _concat_serial
    kernel(a, b, _tag(tag), out)
    return out


# ---------------------------------------------------------------- plain messages


@nb.njit(cache=True)
def _many_tile(msgs, out, r0, r1):
    n_bytes = msgs.shape[1]
    buf = _new_buffer(n_bytes, -1)
    s = np.empty(25, dtype=np.uint64)
    for i in range(r0, r1):
        for j in range(n_bytes):
            buf[j] = msgs[i, j]
        _absorb(s, buf)
        _store(s, out, i)


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
    out = np.empty((n, 8), dtype=np.uint32)
    kernel = _many_parallel if n >= PARALLEL_MIN else _many_serial
    kernel(msgs, out)
    return out.view(np.uint8).reshape(n, 32)


# ---------------------------------------------------------------- proof of work


@nb.njit(cache=True)
def _pow_range(mid, tail, nonce_off, bits, start, count):
    """First nonce in ``start .. start+count`` whose hash has ``bits`` leading zero bits, or -1.

    ``mid`` is the state after the prefix's whole blocks; ``tail`` the padded
    buffer of the rest of the prefix, the nonce at ``nonce_off`` and padding.
    """
    buf = tail.copy()
    lanes = buf.view(np.uint64)
    s = np.empty(25, dtype=np.uint64)
    shift = np.uint64(64 - bits)
    for q in range(count):
        nonce = np.uint64(start + q)
        for j in range(8):
            buf[nonce_off + j] = np.uint8((nonce >> np.uint64(56 - 8 * j)) & np.uint64(0xFF))
        for k in range(25):
            s[k] = mid[k]
        for blk in range(buf.shape[0] // 136):
            for k in range(17):
                s[k] ^= lanes[17 * blk + k]
            _permute(s)
        # the digest's first 8 bytes as a big-endian integer
        x = s[0]
        top = np.uint64(0)
        for j in range(8):
            top = (top << np.uint64(8)) | ((x >> np.uint64(8 * j)) & np.uint64(0xFF))
        if (top >> shift) == 0:
            return start + q
    return -1


@nb.njit(parallel=True, cache=True)
def _pow_range_parallel(mid, tail, nonce_off, bits, start, count):
    n_chunks = 64
    size = (count + n_chunks - 1) // n_chunks
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
    """State after absorbing ``blocks`` (whole 136-byte blocks, no padding)."""
    s = np.zeros(25, dtype=np.uint64)
    lanes = blocks.view(np.uint64)
    for b in range(blocks.shape[0] // 136):
        for k in range(17):
            s[k] ^= lanes[17 * b + k]
        _permute(s)
    return s


def pow_search(prefix: bytes, bits: int, batch: int = 1 << 16) -> int:
    """Smallest nonce >= 0 with keccak256(prefix || nonce as 8-byte big-endian) < 2^(256 - bits).

    Grinding: the digest read as a big-endian 256-bit integer must have its
    top ``bits`` bits zero (1 <= bits <= 40). Nonces are tried in batches of
    ``batch``; batches of at least :data:`PARALLEL_MIN` are split over threads.
    """
    bits = int(bits)
    if not 1 <= bits <= 40:
        raise ValueError(f"bits must be in [1, 40], got {bits}")
    if batch < 1:
        raise ValueError("batch must be positive")
    prefix = bytes(prefix)
    n_full = len(prefix) // RATE
    mid = _midstate(np.frombuffer(prefix[: n_full * RATE], dtype=np.uint8).copy())
    rest = prefix[n_full * RATE:]
    tail = _new_buffer(len(rest) + 8, -1)
    tail[: len(rest)] = np.frombuffer(rest, dtype=np.uint8)
    kernel = _pow_range_parallel if batch >= PARALLEL_MIN else _pow_range
    start = 0
    while True:
        hit = kernel(mid, tail, len(rest), bits, start, batch)
        if hit >= 0:
            return int(hit)
        start += batch
