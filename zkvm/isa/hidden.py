"""Hidden tensors: the model commitment and the digests of hashed tensors (docs/visibility.md).

A *hashed* tensor is private but bound to a public digest: the Poseidon2
sponge (``zkvm.hash.poseidon2.hash_elements``; Poseidon2-Goldilocks, width 12,
eprint 2023/323) of ``salt || values``, where ``values`` are the tensor's
integers taken mod p in row-major order and ``salt`` is ``SALT_LEN`` random
field elements absorbed first (hiding). The AIR proves the same hash of the
same memory addresses (``zkvm.air.chips.poseidon2``).

The *model commitment* is built from such digests of a header and hashed
weight tensors, *packed*. New programs commit *per tensor*: each hashed
weight ``w_i`` gets its own part ``c_i = hash_elements(header([w_i]) ||
pack(w_i), salt_i)``, and the published digest is ``hash_elements(c_1 || ...
|| c_n)``, so a proof that reads some of the weights (a segment) proves just
their parts (``ModelCommitment``). Older programs hold one sponge over every
hashed weight, concatenated in declaration order, under one salt:
``hash_elements(header || pack(w_1) || pack(w_2) || ..., salt)``. In both,

* ``header = [number of tensors] + for each: [ndim, *shape, bits, scale]``
  (signed ints mod p). The header makes the commitment name the parameters as
  numbers (values, shapes, widths, scales), not merely a sequence of
  integers: the same integers read with another shape or scale commit
  differently;
* ``pack(w)`` for an ``iN`` tensor: the row-major values as offsets
  ``u = w + 2^(N-1)`` in ``[0, 2^N)``, ``k = max(1, 63 // N)`` at a time
  (the last group may be shorter), each group one field element
  ``sum_j u_j * 2^(N*j)`` (below ``2^63 < p``, so packing is injective). Three
  i16 or seven i8 weights per element: the sponge absorbs 3x/7x fewer
  elements, and the AIR's producer of the weights (which range-checks each
  ``w`` to ``iN``) computes the packed element as a linear combination.

The commitment is public: the program file stores it (and the program digest
covers it); the weights file stores the values and the salt.

Digests are shown as 64 hex characters: the four field elements, each as 8
little-endian bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from zkvm.field.scalar import P
from zkvm.hash.poseidon2 import (  # noqa: F401  (digest_hex, top_digest: re-exported)
    DIGEST_LEN, SALT_LEN, digest_hex, hash_elements, random_salt, top_digest,
)

from .errors import IsaError

#: the hash behind every commitment (the AIR chip is ``poseidon2-goldilocks-w12-rf8-rp22``)
SCHEME = "poseidon2-goldilocks-w12-sponge"
#: per-tensor parts under one top digest (``ModelCommitment``; the default for new programs)
SCHEME_PER_TENSOR = "poseidon2-goldilocks-w12-per-tensor"
SCHEMES = (SCHEME, SCHEME_PER_TENSOR)
#: below this many values the plain-int reference hash is fast enough (no JIT)
_FAST_FROM = 2048


def parse_digest(text: str) -> list[int]:
    """Inverse of :func:`digest_hex`.

    Raises:
        IsaError: not 64 hex characters, or an element not below p.
    """
    try:
        raw = bytes.fromhex(text.strip())
    except ValueError:
        raw = b""
    if len(raw) != 8 * DIGEST_LEN:
        raise IsaError(f"a digest is {16 * DIGEST_LEN} hex characters, got {text!r}")
    out = [int.from_bytes(raw[8 * i:8 * i + 8], "little") for i in range(DIGEST_LEN)]
    if any(v >= P for v in out):
        raise IsaError(f"digest {text!r} holds a value that is not a field element")
    return out


def commitment_header(infos: Sequence[Any]) -> list[int]:
    """``[n] + [ndim, *shape, bits, scale]`` per tensor (``TensorInfo``-like objects).

    Signed integers, hashed mod p like the values (a negative scale is ``p - |s|``).
    """
    out = [len(infos)]
    for t in infos:
        out += [len(t.shape), *[int(d) for d in t.shape], int(t.bits), int(t.scale)]
    return out


def pack_factor(bits: int) -> int:
    """Values of an ``i<bits>`` tensor packed into one field element (``63 // bits``, >= 1)."""
    return max(1, 63 // int(bits))


def pack_tensor(values: np.ndarray, bits: int) -> np.ndarray:
    """``iN`` values -> packed field elements (int64, non-negative; see module docstring)."""
    k = pack_factor(bits)
    u = np.asarray(values, dtype=np.int64).ravel() + (1 << (bits - 1))
    if u.size and (int(u.min()) < 0 or int(u.max()) >= 1 << bits):
        raise IsaError(f"a value does not fit i{bits}: cannot pack it")
    n = -(-u.size // k)
    pad = np.zeros(n * k, dtype=np.uint64)
    pad[:u.size] = u.astype(np.uint64)
    shifts = (np.arange(k, dtype=np.uint64) * np.uint64(bits))
    return (pad.reshape(n, k) << shifts).sum(axis=1, dtype=np.uint64).astype(np.int64)


def commitment_message(infos: Sequence[Any], values: Sequence[np.ndarray]) -> np.ndarray:
    """``header || pack(values[0]) || ...``: what the model commitment hashes (after the salt)."""
    parts = [np.asarray(commitment_header(infos), dtype=np.int64)]
    parts += [pack_tensor(v, t.bits) for t, v in zip(infos, values)]
    return np.concatenate(parts)


def header_infos(header: Sequence[int]) -> list[Any]:
    """Parse a commitment header back into ``(shape, bits, scale)`` records."""
    from types import SimpleNamespace

    h, out, i = [int(v) for v in header], [], 1
    try:
        for _ in range(h[0]):
            nd = h[i]
            shape = tuple(h[i + 1:i + 1 + nd])
            out.append(SimpleNamespace(shape=shape, bits=h[i + 1 + nd], scale=h[i + 2 + nd]))
            i += nd + 3
    except IndexError:
        raise IsaError("malformed commitment header") from None
    if i != len(h):
        raise IsaError("malformed commitment header")
    return out


def hash_tensors(values: Sequence[np.ndarray], salt: Sequence[int]) -> list[int]:
    """Digest of ``salt || concat(values)`` (each array row-major, signed ints mod p).

    Long messages use the numba sponge kernel (prover side); short ones the
    plain-int reference. Both compute ``hash_elements``.
    """
    flat = [np.asarray(v, dtype=np.int64).ravel() for v in values]
    msg = np.concatenate(flat) if flat else np.zeros(0, np.int64)
    if msg.size < _FAST_FROM:
        return hash_elements([int(v) for v in msg], [int(s) for s in salt])
    return _hash_fast(msg, [int(s) % P for s in salt])


def _hash_fast(msg: np.ndarray, salt: list[int]) -> list[int]:
    from zkvm.hash.poseidon2 import RATE, sponge_iv
    from zkvm.hash.poseidon2_kernels import sponge_rows

    field = np.where(msg < 0, np.uint64(P) - (-msg).astype(np.uint64), msg.astype(np.uint64))
    full = np.concatenate([np.array(salt, dtype=np.uint64), field.astype(np.uint64)])
    n = max(1, -(-full.size // RATE))
    rate = np.zeros(n * RATE, np.uint64)
    rate[:full.size] = full
    cap = np.zeros((n, 4), np.uint64)
    cap[0] = sponge_iv(msg.size, len(salt))
    chain = np.ones(n, np.uint8)
    chain[0] = 0
    _, outs = sponge_rows(rate.reshape(n, RATE), cap, chain)
    return [int(v) for v in outs[-1, :DIGEST_LEN]]


@dataclass(frozen=True)
class ModelCommitment:
    """The public commitment to a program's hashed weights.

    Two schemes (``scheme``):

    * ``SCHEME`` (one sponge): ``digest = hash_elements(header || pack(w_1) ||
      ... || pack(w_n), salt)`` over every hashed weight at once (programs
      made before per-tensor commitments; still read, proved and verified);
    * ``SCHEME_PER_TENSOR`` (the default for new programs): every hashed
      weight ``w_i`` has its own *part* ``c_i = hash_elements(header([w_i]) ||
      pack(w_i), salt_i)`` under its own salt, and ``digest =
      hash_elements(c_1 || ... || c_n)`` (no salt: each part is already
      hiding). A proof that reads only some of the weights (one segment of a
      segmented proof, docs/segments.md) proves the parts of those it reads;
      the verifier takes the parts from the public program, which checks on
      load that they hash to ``digest``.

    Attributes:
        tensors: the hashed weight tensors, in the order their values are absorbed.
        digest: the published 4-element digest (the model commitment).
        salt_len: salt elements per group (absorbed first); the weights file's
            salt is the groups' salts concatenated.
        scheme: ``SCHEME`` or ``SCHEME_PER_TENSOR``.
        parts: per-tensor scheme: each tensor's digest (empty otherwise).

    In the program file: ``{"scheme", "tensors", "salt_len", "digest"}`` with
    the digest as its 32 bytes (``digest_hex``'s bytes), plus ``"parts"`` (a
    list of 32-byte digests) for the per-tensor scheme.
    """

    tensors: tuple[str, ...]
    digest: tuple[int, ...]
    salt_len: int = SALT_LEN
    scheme: str = SCHEME
    parts: tuple[tuple[int, ...], ...] = ()

    @property
    def hex(self) -> str:
        return digest_hex(self.digest)

    @property
    def per_tensor(self) -> bool:
        return self.scheme == SCHEME_PER_TENSOR

    def groups(self) -> list[tuple[tuple[str, ...], tuple[int, ...]]]:
        """``(tensors, digest)`` of each sponge a proof computes, in salt order."""
        if self.per_tensor:
            return [((n,), d) for n, d in zip(self.tensors, self.parts)]
        return [(self.tensors, self.digest)]

    def group_salts(self, salt: Sequence[int]) -> list[tuple[int, ...]]:
        """The weights file's ``salt`` cut into each group's salt (``groups()`` order)."""
        k = self.salt_len
        return [tuple(int(v) for v in salt[i * k:(i + 1) * k]) for i in range(len(self.groups()))]

    @property
    def total_salt_len(self) -> int:
        return self.salt_len * len(self.groups())

    def subset(self, names: Sequence[str]) -> "ModelCommitment":
        """The per-tensor commitment to ``names`` only (their parts; a new top digest).

        What a segment reading some of the weights proves (docs/segments.md).

        Raises:
            IsaError: a one-sponge commitment (it cannot be split), or an unknown name.
        """
        if not self.per_tensor:
            raise IsaError("a one-sponge model commitment covers all hashed weights at once "
                           "and cannot be split")
        idx = {n: i for i, n in enumerate(self.tensors)}
        missing = [n for n in names if n not in idx]
        if missing:
            raise IsaError(f"the model commitment does not cover {missing}")
        parts = tuple(self.parts[idx[n]] for n in names)
        return ModelCommitment(tuple(names), tuple(top_digest(parts)), self.salt_len,
                               SCHEME_PER_TENSOR, parts)

    def subset_salt(self, salt: Sequence[int], names: Sequence[str]) -> tuple[int, ...]:
        """The salts of ``names`` (``subset``'s groups), cut from the whole salt.

        Raises:
            IsaError: a one-sponge commitment (one salt for all: it cannot be split).
        """
        if not self.per_tensor:
            raise IsaError("a one-sponge model commitment has one salt for all its weights")
        per = dict(zip(self.tensors, self.group_salts(salt)))
        return tuple(v for n in names for v in per[n])

    def to_body(self) -> dict[str, Any]:
        d = {"scheme": self.scheme, "tensors": list(self.tensors),
             "salt_len": int(self.salt_len), "digest": bytes.fromhex(self.hex)}
        if self.per_tensor:
            d["parts"] = [bytes.fromhex(digest_hex(p)) for p in self.parts]
        return d

    @classmethod
    def from_body(cls, d: Any) -> "ModelCommitment":
        """Parse the program file's ``commitment`` record (raises IsaError)."""
        try:
            raw = [d["digest"]] + list(d.get("parts", []))
            if not all(isinstance(v, bytes) for v in raw):
                raise TypeError("a digest must be bytes")
            parts = tuple(tuple(parse_digest(v.hex())) for v in raw[1:])
            c = cls(tuple(str(n) for n in d["tensors"]), tuple(parse_digest(raw[0].hex())),
                    int(d["salt_len"]), str(d["scheme"]), parts)
        except (KeyError, TypeError, ValueError, AttributeError, IsaError) as e:
            raise IsaError(f"malformed model commitment ({type(e).__name__}: {e})") from None
        c.validate()
        return c

    def validate(self) -> None:
        """Raise IsaError unless well formed (a per-tensor one: its parts hash to the digest)."""
        if self.scheme not in SCHEMES:
            raise IsaError(f"model commitment uses hash {self.scheme!r}; this zkvm proves "
                           f"{' or '.join(repr(s) for s in SCHEMES)}")
        if len(self.digest) != DIGEST_LEN or not all(0 <= v < P for v in self.digest):
            raise IsaError(f"model commitment digest must be {DIGEST_LEN} field elements")
        if not self.tensors:
            raise IsaError("a model commitment must cover at least one hashed weight")
        if not 2 <= self.salt_len <= 64:
            raise IsaError(f"model commitment salt length {self.salt_len} must be in 2..64 "
                           "(at least 128 bits of blinding)")
        if not self.per_tensor:
            if self.parts:
                raise IsaError("a one-sponge model commitment has no per-tensor parts")
            return
        if len(self.parts) != len(self.tensors) or any(
                len(p) != DIGEST_LEN or not all(0 <= v < P for v in p) for p in self.parts):
            raise IsaError(f"a per-tensor model commitment needs one {DIGEST_LEN}-element part "
                           f"per tensor ({len(self.tensors)}), got {len(self.parts)}")
        if tuple(top_digest(self.parts)) != tuple(self.digest):
            raise IsaError("the model commitment's per-tensor parts do not hash to its digest")


def expand_salt(salt: Sequence[int], n: int) -> tuple[int, ...]:
    """``n`` group salts of ``SALT_LEN`` elements from one given salt (tests and reproducible
    builds only; production salts are fresh from the OS CSPRNG).

    A salt of ``SALT_LEN * n`` elements is used as is (so one tensor takes a
    ``SALT_LEN``-element salt unchanged); any other salt of 2..64 elements gives
    group ``i`` the salt ``hash_elements([i], salt)`` (a digest: ``SALT_LEN``
    elements, since ``DIGEST_LEN == SALT_LEN``).
    """
    salt = [int(s) % P for s in salt]
    if len(salt) == SALT_LEN * n:
        return tuple(salt)
    if not 2 <= len(salt) <= 64:
        raise IsaError(f"a model commitment salt needs 2..64 elements, got {len(salt)}")
    return tuple(v for i in range(n) for v in hash_elements([i], salt))


assert DIGEST_LEN == SALT_LEN   # expand_salt's derived salts are digests


def make_commitment(infos: Sequence[Any], values: Sequence[np.ndarray],
                    salt: Sequence[int] | None = None, scheme: str | None = None
                    ) -> tuple[ModelCommitment, tuple[int, ...]]:
    """Commit to ``values`` (one array per ``TensorInfo`` in ``infos``) under ``salt``.

    ``scheme`` defaults to ``SCHEME_PER_TENSOR``. ``salt`` is random (OS
    CSPRNG, one per group) when None; a given one goes through ``expand_salt``.

    Returns:
        ``(commitment, salt)``: the salt as the weights file stores it (every
        group's, concatenated).
    """
    scheme = scheme or SCHEME_PER_TENSOR
    names = tuple(t.name for t in infos)
    if scheme == SCHEME:
        salt = tuple(int(s) % P for s in (random_salt() if salt is None else salt))
        digest = hash_tensors([commitment_message(infos, values)], salt)
        c = ModelCommitment(names, tuple(digest), len(salt))
    else:
        n = len(infos)
        salt = (tuple(int(v) for _ in range(n) for v in random_salt()) if salt is None
                else expand_salt(salt, n))
        parts = tuple(tuple(hash_tensors([commitment_message([t], [v])],
                                         salt[i * SALT_LEN:(i + 1) * SALT_LEN]))
                      for i, (t, v) in enumerate(zip(infos, values)))
        c = ModelCommitment(names, tuple(top_digest(parts)), SALT_LEN, SCHEME_PER_TENSOR, parts)
    c.validate()
    return c, salt


def group_digests(c: ModelCommitment, infos: dict[str, Any], values: dict[str, np.ndarray],
                  salt: Sequence[int]) -> list[list[int]]:
    """What each of ``c``'s groups hashes to with these values and salt (the prover's check)."""
    out = []
    for (names, _), s in zip(c.groups(), c.group_salts(salt)):
        msg = commitment_message([infos[n] for n in names], [values[n] for n in names])
        out.append(hash_tensors([msg], s))
    return out


def check_private_weights(program: Any, private: Any, check: bool, error: type
                          ) -> tuple[dict[str, np.ndarray], tuple[int, ...] | None]:
    """Validate ``private`` (a ``PrivateWeights``) for ``program``: ``(values, salt)``.

    See ``Program.bind_weights``; raises ``error`` (``WeightsError``) naming the problem.
    """
    values = dict(private.values)
    for n in program.hidden_weights:
        t = program.tensors[n]
        if n not in values:
            raise error(f"the weights file has no values for weight '{n}'")
        v = np.asarray(values[n])
        if v.dtype.kind not in "iu" or tuple(v.shape) != tuple(t.shape):
            raise error(f"weight '{n}': expected integers of shape {list(t.shape)}, "
                        f"got {v.dtype} {list(v.shape)}")
        v = v.astype(np.int64)
        if check and v.size and (int(v.min()) < t.lo or int(v.max()) > t.hi):
            raise error(f"weight '{n}' has values outside its declared {t.type_str} "
                        f"range [{t.lo}, {t.hi}]")
        v.flags.writeable = False
        values[n] = v
    extra = sorted(set(values) - set(program.hidden_weights))
    if extra:
        raise error(f"the weights file has values for '{extra[0]}', which is not a private "
                    "weight of this program")
    salt = None
    c = program.commitment
    if c is not None:
        salt = tuple(int(s) for s in (private.salt or ()))
        if len(salt) != c.total_salt_len:
            raise error(f"the weights file's salt has {len(salt)} elements, the commitment "
                        f"expects {c.total_salt_len}")
        if check:
            got = group_digests(c, program.tensors, values, salt)
            if [tuple(g) for g in got] != [tuple(d) for _, d in c.groups()]:
                raise error(
                    f"these weights do not match the program's model commitment "
                    f"{c.hex[:16]}…: use the weights file written with this program")
    return values, salt
