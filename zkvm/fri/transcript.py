"""Fiat-Shamir transcript over BLAKE3, one class for prover and verifier.

Construction (a hash chain, in the spirit of the "duplex" transcripts of
Winterfell/Plonky3 but over a 32-byte BLAKE3 state):

* ``state_0 = H(frame("protocol", protocol_id))`` with ``H`` = keyed BLAKE3
  under ``TRANSCRIPT_KEY`` (derive_key of a fixed context string).
* every absorb: ``state = H(state || frame(kind, payload))`` where
  ``frame(kind, payload) = 0x01 || kind_tag (1 byte) || len(payload) (u64 LE)
  || payload``. A sequence of absorbs is thus encoded injectively (each step
  hashes a fixed-length state and a self-delimiting, typed record), so two
  different sequences reach the same state only through a BLAKE3 collision.
* every squeeze: ``state = H(state || 0x02)``; output ``H(state || 0x03)``
  (32 bytes); the output is never equal to a state.

Samples: base-field elements by rejection of 64-bit words >= p (uniform);
extension elements of degree D as D base samples; query indices as the low
``log_domain`` bits of 64-bit words (unbiased since ``2^log_domain`` divides
``2^64``). Proof of work: ``grind(bits)`` finds a nonce such that the
keyed BLAKE3 (under ``POW_KEY``) of ``state || bits (u64) || nonce (u64)``
starts with ``bits`` zero bits (first 8 bytes read little-endian, top bits);
the prover may search with the numba kernel, ``check_pow`` uses the ``blake3``
package only, and both then absorb the nonce.

Set ``log=True`` to keep a readable record (``transcript.log``) of every
absorb and draw, which makes prover/verifier divergences easy to locate.
"""

from __future__ import annotations

import functools
from typing import Iterable

import blake3
import numpy as np

from zkvm.field.extension import Ext3, ext_class
from zkvm.field.scalar import P, Ext

TRANSCRIPT_CONTEXT = "zkvm 2026-11 transcript v1"
POW_CONTEXT = "zkvm 2026-11 proof-of-work v1"
#: ``blake3(b"", derive_key_context=TRANSCRIPT_CONTEXT)``; checked in tests.
TRANSCRIPT_KEY = bytes.fromhex("3cc4ca829c4c46a3261d97f008b838bbb3382d9ec9b8acb712d3158155ffbec9")
#: ``blake3(b"", derive_key_context=POW_CONTEXT)``; checked in tests.
POW_KEY = bytes.fromhex("7da648a2895a59392ff2ad9270428475c4bc09f11cf95d1d02a1fb2045bb2ef1")

_TAG_PROTOCOL = 0
_TAG_BYTES = 1
_TAG_FIELD = 2
_TAG_EXT = 3
_TAG_DIGEST = 4
_TAG_NONCE = 5
_TAG_NAMES = {0: "protocol", 1: "bytes", 2: "field", 3: "ext", 4: "digest", 5: "nonce"}
_U64 = 1 << 64


def _h(data: bytes) -> bytes:
    return blake3.blake3(data, key=TRANSCRIPT_KEY).digest()


def pow_digest_prefix(state: bytes, bits: int) -> bytes:
    """The first 40 bytes of a PoW message: ``state || bits (u64 LE)``; the nonce follows."""
    return state + int(bits).to_bytes(8, "little")


def pow_ok(digest: bytes, bits: int) -> bool:
    """Whether a PoW digest starts with ``bits`` zero bits (top bits of its first LE u64)."""
    if bits == 0:
        return True
    return int.from_bytes(digest[:8], "little") >> (64 - bits) == 0


class Transcript:
    """Fiat-Shamir transcript (see the module docstring for the construction).

    Args:
        protocol_id: bytes naming the protocol and its version; absorbed first.
        log: keep a human-readable record of absorbs and draws in ``self.log``.
    """

    def __init__(self, protocol_id: bytes, log: bool = False) -> None:
        self.log: list[str] | None = [] if log else None
        self._state = _h(self._frame(_TAG_PROTOCOL, bytes(protocol_id)))
        self._note(f"protocol {bytes(protocol_id)!r}")

    #: the byte order of every u64 absorbed or squeezed (``>u8`` for the Keccak transcript)
    _ORDER = "<u8"
    #: ``grind`` searches with the numba kernel above this many bits (a Python loop below)
    _SEARCH_ABOVE_BITS = 12

    # -- internals ----------------------------------------------------------
    @staticmethod
    def _h(data: bytes) -> bytes:
        return _h(data)

    @staticmethod
    def _frame(tag: int, payload: bytes) -> bytes:
        return b"\x01" + bytes([tag]) + len(payload).to_bytes(8, "little") + payload

    def _note(self, line: str) -> None:
        if self.log is not None:
            self.log.append(line)

    def _absorb(self, tag: int, payload: bytes, what: str) -> None:
        self._state = self._h(self._state + self._frame(tag, payload))
        self._note(f"absorb {_TAG_NAMES[tag]} {what}")

    def _squeeze(self) -> bytes:
        self._state = self._h(self._state + b"\x02")
        return self._h(self._state + b"\x03")

    def _u64s(self) -> Iterable[int]:
        order = "little" if self._ORDER == "<u8" else "big"
        while True:
            out = self._squeeze()
            for k in range(4):
                yield int.from_bytes(out[8 * k : 8 * k + 8], order)

    @property
    def state(self) -> bytes:
        """The current 32-byte state (for tests and debugging)."""
        return self._state

    def fork(self) -> "Transcript":
        """An independent copy with the same state (log not copied)."""
        t = type(self).__new__(type(self))
        t.log = None
        t._state = self._state
        return t

    # -- absorbing ----------------------------------------------------------
    def observe_bytes(self, data: bytes) -> None:
        """Absorb raw bytes (framed with their length)."""
        data = bytes(data)
        self._absorb(_TAG_BYTES, data, f"{len(data)}B {data[:16].hex()}")

    def observe_field(self, values: int | Iterable[int] | np.ndarray) -> None:
        """Absorb one base-field element or a sequence/array of them (canonical, < p)."""
        arr = self._canonical(values)
        self._absorb(_TAG_FIELD, arr.astype(self._ORDER).tobytes(),
                     f"{arr.size} elts {arr[:4].tolist()}")

    def observe_ext(self, values: Ext | Ext3 | Iterable[Ext | Ext3] | np.ndarray) -> None:
        """Absorb one extension element, a sequence of them, or an ext array ``(..., D)``.

        The degree D (2 or 3) is not framed: it is fixed by the parameters,
        which the protocols absorb first.
        """
        if isinstance(values, (Ext, Ext3)):
            arr = np.array([values.to_list()], dtype=np.uint64)
        elif isinstance(values, np.ndarray):
            arr = self._canonical(values)
            if arr.shape[-1:] not in ((2,), (3,)):
                raise ValueError(f"ext array must have a trailing axis of 2 or 3, got {arr.shape}")
        else:
            rows = [e.to_list() for e in values]
            arr = np.array(rows, dtype=np.uint64).reshape(-1, len(rows[0]) if rows else 2)
        arr = arr.reshape(-1, arr.shape[-1])
        self._absorb(_TAG_EXT, arr.astype(self._ORDER).tobytes(),
                     f"{arr.shape[0]} elts {arr[:2].tolist()}")

    def observe_digest(self, digest: bytes) -> None:
        """Absorb a 32-byte commitment."""
        digest = bytes(digest)
        if len(digest) != 32:
            raise ValueError(f"a digest is 32 bytes, got {len(digest)}")
        self._absorb(_TAG_DIGEST, digest, digest.hex())

    @staticmethod
    def _canonical(values: int | Iterable[int] | np.ndarray) -> np.ndarray:
        if isinstance(values, (int, np.integer)):
            values = [int(values)]
        if isinstance(values, np.ndarray):
            arr = values
            if arr.dtype != np.uint64:
                if arr.size and (arr.min() < 0):
                    raise ValueError("field elements must be canonical (in [0, p))")
                arr = arr.astype(np.uint64)
        else:
            vals = [int(v) for v in values]
            if any(v < 0 or v >= P for v in vals):
                raise ValueError("field elements must be canonical (in [0, p))")
            arr = np.array(vals, dtype=np.uint64)
        if arr.size and int(arr.max()) >= P:
            raise ValueError("field elements must be canonical (in [0, p))")
        return arr

    # -- drawing ------------------------------------------------------------
    def sample_field(self) -> int:
        """A uniform base-field element (rejection sampling of 64-bit words)."""
        for v in self._u64s():
            if v < P:
                self._note(f"sample field {v}")
                return v
        raise AssertionError("unreachable")

    def sample_ext(self, d: int = 2) -> Ext | Ext3:
        """A uniform element of the degree-``d`` extension (``d`` independent base samples)."""
        g = self._u64s()
        c = []
        for v in g:
            if v < P:
                c.append(v)
                if len(c) == d:
                    break
        e = ext_class(d).from_list(c)
        self._note(f"sample ext {tuple(e.to_list())}")
        return e

    def sample_indices(self, n: int, log_domain: int) -> np.ndarray:
        """``n`` independent uniform indices in ``[0, 2^log_domain)`` (``int64`` array)."""
        if not 0 <= log_domain <= 62:
            raise ValueError(f"log_domain must be in [0, 62], got {log_domain}")
        mask = (1 << log_domain) - 1
        out = []
        g = self._u64s()
        for _ in range(n):
            out.append(next(g) & mask)
        self._note(f"sample {n} indices < 2^{log_domain}: {out[:8]}")
        return np.array(out, dtype=np.int64)

    # -- proof of work ------------------------------------------------------
    def grind(self, bits: int) -> int:
        """Find a proof-of-work nonce for the current state and absorb it (prover).

        Searches with the hash's numba kernel in batches (above
        ``_SEARCH_ABOVE_BITS``; a Python loop below); the result is re-checked
        with the verifier's function (``blake3`` package, or Keccak-256) before
        it is absorbed.
        """
        if not 0 <= bits <= 40:
            raise ValueError(f"pow bits must be in [0, 40], got {bits}")
        nonce = 0
        if bits > self._SEARCH_ABOVE_BITS:
            nonce = self._search(bits)
        else:  # cheap: a few thousand hashes, no need to load the kernel
            while not self._pow_valid(bits, nonce):
                nonce += 1
        if not self._pow_valid(bits, nonce):
            raise AssertionError("grinding kernel returned an invalid nonce")
        self._absorb_nonce(nonce, bits)
        return nonce

    def _absorb_nonce(self, nonce: int, bits: int) -> None:
        order = "little" if self._ORDER == "<u8" else "big"
        self._absorb(_TAG_NONCE, nonce.to_bytes(8, order), f"pow nonce {nonce} ({bits} bits)")

    def _search(self, bits: int) -> int:
        return _search_nonce(pow_digest_prefix(self._state, bits), bits)

    def _pow_valid(self, bits: int, nonce: int) -> bool:
        if not 0 <= nonce < _U64:
            return False
        msg = pow_digest_prefix(self._state, bits) + nonce.to_bytes(8, "little")
        return pow_ok(blake3.blake3(msg, key=POW_KEY).digest(), bits)

    def check_pow(self, bits: int, nonce: int) -> bool:
        """Verifier: check a nonce with the ``blake3`` package, then absorb it.

        Returns:
            Whether the nonce meets ``bits`` of proof of work (for ``bits = 0``:
            whether it is 0, what :meth:`grind` returns). The nonce is
            absorbed only when it does (a failing transcript is dead anyway).
        """
        nonce = int(nonce)
        # with no work asked, the only nonce is 0: a free nonce would be a free re-draw
        ok = nonce == 0 if bits == 0 else self._pow_valid(bits, nonce)
        if ok:
            self._absorb_nonce(nonce, bits)
        return ok


def _search_nonce(prefix: bytes, bits: int, batch: int = 1 << 16) -> int:
    """Search nonces ``0, 1, ...`` in batches with the numba kernel (prover side)."""
    from zkvm.fri import blake3_kernel as bk

    pre = np.frombuffer(prefix, dtype="<u4")
    words = np.zeros((batch, 12), dtype=np.uint32)
    words[:, :10] = pre
    limit = 1 << (64 - bits)
    start = 0
    while True:
        nonces = np.arange(start, start + batch, dtype=np.uint64)
        words[:, 10] = (nonces & np.uint64(0xFFFFFFFF)).astype(np.uint32)
        words[:, 11] = (nonces >> np.uint64(32)).astype(np.uint32)
        d = bk.hash_many_words(words, 48, POW_KEY)
        first = d[:, 0].astype(np.uint64) | (d[:, 1].astype(np.uint64) << np.uint64(32))
        hits = np.nonzero(first < np.uint64(limit))[0]
        if hits.size:
            return start + int(hits[0])
        start += batch


KECCAK_TRANSCRIPT_CONTEXT = b"zkvm 2026-12 keccak transcript v1"
KECCAK_POW_CONTEXT = b"zkvm 2026-12 keccak proof-of-work v1"


class KeccakTranscript(Transcript):
    """The same transcript over Keccak-256, laid out for the EVM (the ``keccak`` hash profile).

    Differences from the BLAKE3 construction, each so that a Solidity verifier
    replays it with word-aligned memory and no byte reversal:

    * ``state_0 = K(K(KECCAK_TRANSCRIPT_CONTEXT) || frame("protocol", id))``, then
      ``state = K(state || frame)`` and squeezes as above, with ``K`` = Keccak-256;
    * ``frame(kind, payload)`` = one 32-byte big-endian header word
      ``0x01 << 248 | tag << 240 | len(payload)``, then the payload;
    * every u64 (field elements absorbed, words squeezed, the nonce) is
      big-endian: squeeze output word ``k`` is bytes ``[8k, 8k + 8)`` read big-endian;
    * proof of work: ``K(K(KECCAK_POW_CONTEXT) || state || bits (u64 BE) || nonce (u64 BE))``
      read as a 256-bit big-endian integer must be below ``2^(256 - bits)``.
    """

    _ORDER = ">u8"
    # the prover's Keccak kernel is loaded for the Merkle trees anyway, and a Python loop of
    # ~2^12 pycryptodome calls (the DEEP grinding) was a large share of a small proof
    _SEARCH_ABOVE_BITS = 0

    def __init__(self, protocol_id: bytes, log: bool = False) -> None:
        self.log = [] if log else None
        self._state = self._h(_keccak_domain(KECCAK_TRANSCRIPT_CONTEXT)
                              + self._frame(_TAG_PROTOCOL, bytes(protocol_id)))
        self._note(f"protocol {bytes(protocol_id)!r}")

    @staticmethod
    def _h(data: bytes) -> bytes:
        from zkvm.hash.keccak import keccak256

        return keccak256(data)

    @staticmethod
    def _frame(tag: int, payload: bytes) -> bytes:
        return ((1 << 248) | (tag << 240) | len(payload)).to_bytes(32, "big") + payload

    def _pow_prefix(self, bits: int) -> bytes:
        return _keccak_domain(KECCAK_POW_CONTEXT) + self._state + int(bits).to_bytes(8, "big")

    def _search(self, bits: int) -> int:
        from zkvm.hash import keccak_kernel as kk

        return kk.pow_search(self._pow_prefix(bits), bits)

    def _pow_valid(self, bits: int, nonce: int) -> bool:
        if not 0 <= nonce < _U64:
            return False
        d = self._h(self._pow_prefix(bits) + nonce.to_bytes(8, "big"))
        return bits == 0 or int.from_bytes(d, "big") >> (256 - bits) == 0


@functools.lru_cache(maxsize=4)
def _keccak_domain(context: bytes) -> bytes:
    from zkvm.hash.keccak import keccak256

    return keccak256(context)


def transcript_for(hash_name: str, protocol_id: bytes, log: bool = False) -> Transcript:
    """A transcript of the named hash profile (``blake3`` or ``keccak``)."""
    cls = KeccakTranscript if hash_name == "keccak" else Transcript
    return cls(protocol_id, log=log)
