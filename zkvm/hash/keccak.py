"""Keccak-256 as Ethereum uses it (verifier side: no numba).

Why Keccak: the on-chain proof profile commits its Merkle trees and its
Fiat-Shamir transcript with Keccak-256 so that a Solidity verifier can
recompute every hash with the EVM's ``KECCAK256`` opcode (30 gas + 6 per word)
instead of emulating BLAKE3 or Poseidon2 in EVM bytecode.

Which Keccak: the permutation is Keccak-f[1600] of FIPS 202 (NIST, "SHA-3
Standard: Permutation-Based Hash and Extendable-Output Functions", 2015),
sections 3.2-3.4 (theta, rho, pi, chi, iota; 24 rounds), used as a sponge with
rate 1088 bits (136 bytes) and capacity 512 bits, 32-byte output. The padding
is the *original* Keccak submission's pad10*1 (Bertoni, Daemen, Peeters,
Van Assche, "The Keccak reference", version 3.0, 2011, section 1.1): the byte
``0x01`` after the message and ``0x80`` in the last byte of the block (``0x81``
when they coincide). FIPS 202's SHA3-256 appends the domain bits ``01`` first
(byte ``0x06``), so ``hashlib.sha3_256`` gives different digests: it is *not*
this function.

:func:`keccak256` uses pycryptodome's ``Crypto.Hash.keccak`` when it is
installed (``pip install zkvm[onchain]``) and otherwise the pure-Python
:func:`keccak256_py` below (lanes as Python ints; a few hundred microseconds
per block, enough for a verifier that hashes only openings). The batched
prover kernels are in :mod:`zkvm.hash.keccak_kernel`.
"""

from __future__ import annotations

RATE = 136
"""Sponge rate in bytes (1088 bits): 17 lanes of 8 bytes."""
ROUNDS = 24
MASK64 = (1 << 64) - 1


def _round_constants() -> tuple[int, ...]:
    """iota's constants RC[i] (FIPS 202 algorithm 5, rc(t) from an LFSR over x^8+x^6+x^5+x^4+1)."""
    out = []
    r = 1
    bits = []
    for _ in range(7 * ROUNDS):
        bits.append(r & 1)
        r <<= 1
        if r & 0x100:
            r ^= 0x171
    for i in range(ROUNDS):
        rc = 0
        for j in range(7):
            if bits[7 * i + j]:
                rc |= 1 << ((1 << j) - 1)
        out.append(rc)
    return tuple(out)


def _rho_pi() -> tuple[tuple[int, int, int], ...]:
    """(source lane, destination lane, rotation) for rho followed by pi (FIPS 202 3.2.2-3.2.3).

    Lane (x, y) sits at index ``x + 5 y``; rho rotates it left by
    ``(t+1)(t+2)/2 mod 64`` along the walk (1, 0) -> (y, 2x + 3y); pi moves
    (x, y) to (y, 2x + 3y).
    """
    rot = [0] * 25
    x, y = 1, 0
    for t in range(24):
        rot[x + 5 * y] = ((t + 1) * (t + 2) // 2) % 64
        x, y = y, (2 * x + 3 * y) % 5
    table = []
    for x in range(5):
        for y in range(5):
            table.append((x + 5 * y, y + 5 * ((2 * x + 3 * y) % 5), rot[x + 5 * y]))
    return tuple(table)


RC = _round_constants()
RHO_PI = _rho_pi()
#: rotation offsets indexed by lane ``x + 5 y``
ROT = tuple(r for _, r in sorted((src, r) for src, _, r in RHO_PI))


def keccak_f(a: list[int]) -> list[int]:
    """Keccak-f[1600] on 25 lanes (Python ints < 2^64, index ``x + 5 y``); returns the new state."""
    rho_pi = RHO_PI
    m = MASK64
    for rc in RC:
        c0 = a[0] ^ a[5] ^ a[10] ^ a[15] ^ a[20]
        c1 = a[1] ^ a[6] ^ a[11] ^ a[16] ^ a[21]
        c2 = a[2] ^ a[7] ^ a[12] ^ a[17] ^ a[22]
        c3 = a[3] ^ a[8] ^ a[13] ^ a[18] ^ a[23]
        c4 = a[4] ^ a[9] ^ a[14] ^ a[19] ^ a[24]
        d = (
            c4 ^ (((c1 << 1) | (c1 >> 63)) & m),
            c0 ^ (((c2 << 1) | (c2 >> 63)) & m),
            c1 ^ (((c3 << 1) | (c3 >> 63)) & m),
            c2 ^ (((c4 << 1) | (c4 >> 63)) & m),
            c3 ^ (((c0 << 1) | (c0 >> 63)) & m),
        )
        b = [0] * 25
        for src, dst, r in rho_pi:
            v = a[src] ^ d[src % 5]
            b[dst] = ((v << r) | (v >> (64 - r))) & m if r else v
        a = [0] * 25
        for y in range(0, 25, 5):
            b0, b1, b2, b3, b4 = b[y], b[y + 1], b[y + 2], b[y + 3], b[y + 4]
            a[y] = b0 ^ (~b1 & b2)
            a[y + 1] = b1 ^ (~b2 & b3)
            a[y + 2] = b2 ^ (~b3 & b4)
            a[y + 3] = b3 ^ (~b4 & b0)
            a[y + 4] = b4 ^ (~b0 & b1)
        a[0] ^= rc
    return a


def pad(data: bytes) -> bytes:
    """``data`` padded with Keccak's pad10*1 (0x01 ... 0x80) to a whole number of 136-byte blocks."""
    p = bytearray(data)
    n_pad = RATE - len(p) % RATE
    p += bytes(n_pad)
    p[len(data)] ^= 0x01
    p[-1] ^= 0x80
    return bytes(p)


def keccak256_py(data: bytes) -> bytes:
    """Keccak-256 (Ethereum's) of ``data`` in pure Python."""
    p = pad(bytes(data))
    a = [0] * 25
    for off in range(0, len(p), RATE):
        for k in range(RATE // 8):
            a[k] ^= int.from_bytes(p[off + 8 * k: off + 8 * k + 8], "little")
        a = keccak_f(a)
    return b"".join(a[k].to_bytes(8, "little") for k in range(4))


try:
    from Crypto.Hash import keccak as _ck
except ImportError:  # pragma: no cover - exercised only without pycryptodome
    _ck = None


def keccak256(data: bytes) -> bytes:
    """Keccak-256 (Ethereum's ``keccak256``) of ``data``: pycryptodome if installed, else pure Python."""
    if _ck is not None:
        return _ck.new(digest_bits=256, data=bytes(data)).digest()
    return keccak256_py(data)


HAVE_PYCRYPTODOME = _ck is not None
