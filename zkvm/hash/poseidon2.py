"""Poseidon2 over Goldilocks: the reference permutation and the sponge hash of field elements.

Poseidon2 (Grassi, Khovratovich, Schofnegger, "Poseidon2: A Faster Version
of the Poseidon Hash Function", eprint 2023/323), instantiated as in the
paper's reference implementation (HorizenLabs/poseidon2) for Goldilocks:

* width ``t = 12``, S-box ``x^7`` (7 is the smallest exponent coprime to
  ``p - 1``), ``R_F = 8`` external rounds (4 + 4) and ``R_P = 22`` internal
  rounds for 128-bit security (recomputed by ``zkvm.hash.grain.round_numbers``);
* external matrix ``M_E = circ-block(2*M4, M4, M4)`` with the paper's
  ``M4 = [[5,7,1,3],[4,6,1,1],[1,3,5,7],[1,1,4,6]]`` (section 5.1), also
  applied once before the first round;
* internal matrix ``M_I = 1*1^T + diag(d - 1)`` (section 5.2);
* round constants and ``d`` from the Grain LFSR (``zkvm.hash.grain``).

Width 12 rather than 8: the hash absorbs long tensors, and with capacity 4
(256 bits, 128-bit generic security) width 12 absorbs 8 elements per
permutation where width 8 absorbs 4, for 118 S-boxes instead of 86: about
1.45x fewer S-boxes (and AIR cells) per hashed element. It is also the
width the reference script names for sponges ("t = 12 for sponge, t = 8 for
compression") and the one its Goldilocks known-answer test covers.

Sponge (``hash_elements``): overwrite-mode sponge, rate 8 (state elements
0..7), capacity 4 (8..11), digest = state elements 0..3 after the last
permutation. The capacity starts as ``IV = (len(values), len(salt),
DOMAIN_TAG, 0)``; the message ``salt || values`` is cut into blocks of 8, the
last block filled with zeros. Encoding the two lengths in the IV makes the
map from ``(salt, values)`` to the absorbed sequence injective without a
padding marker (equal lengths give equal-length block sequences; different
lengths give different IVs). The salt comes first, so a random salt of at
least 2 field elements (128 bits; ``SALT_LEN = 4`` by default) makes the
digest a hiding commitment to the values.

Plain Python ints: the verifier may import this module. Batch kernels
(numba) are in ``zkvm.hash.poseidon2_kernels``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Sequence

from zkvm.field.scalar import P
from zkvm.hash import poseidon2_constants as _C

WIDTH = 12
RATE = 8
CAPACITY = 4
DIGEST_LEN = 4
#: domain separator in the IV (little-endian bytes of b"zkvm-p2h")
DOMAIN_TAG = int.from_bytes(b"zkvm-p2h", "little")
#: default salt length for hiding commitments (256 bits)
SALT_LEN = 4

#: the paper's 4x4 block of M_E (Poseidon2, section 5.1)
M4 = ((5, 7, 1, 3), (4, 6, 1, 1), (1, 3, 5, 7), (1, 1, 4, 6))


@dataclass(frozen=True)
class Poseidon2Params:
    """One Poseidon2 instance over Goldilocks (``t`` a multiple of 4)."""

    t: int
    rf: int
    rp: int
    external_rc: tuple[tuple[int, ...], ...]   # rf rounds of t constants
    internal_rc: tuple[int, ...]               # rp constants (added to element 0)
    internal_diag: tuple[int, ...]             # d: M_I = ones + diag(d - 1)

    @classmethod
    def from_dict(cls, d: dict) -> "Poseidon2Params":
        return cls(d["t"], d["rf"], d["rp"], tuple(tuple(r) for r in d["external_rc"]),
                   tuple(d["internal_rc"]), tuple(d["internal_diag"]))

    @classmethod
    def generate(cls, t: int) -> "Poseidon2Params":
        """Recompute every parameter from the Grain procedure (slow: seconds)."""
        from zkvm.hash.grain import generate

        return cls.from_dict(generate(t))

    @property
    def diag_m1(self) -> tuple[int, ...]:
        return tuple((d - 1) % P for d in self.internal_diag)


GOLDILOCKS_12 = Poseidon2Params(
    _C.T, _C.R_F, _C.R_P, tuple(tuple(r) for r in _C.EXTERNAL_RC), tuple(_C.INTERNAL_RC),
    tuple(_C.INTERNAL_DIAG))


# --- linear layers ------------------------------------------------------------
def external_matrix(t: int) -> list[list[int]]:
    """``M_E`` as a matrix: ``2*M4`` blocks on the diagonal, ``M4`` elsewhere."""
    return [[M4[i % 4][j % 4] * (2 if i // 4 == j // 4 else 1) for j in range(t)]
            for i in range(t)]


def apply_external(x: Sequence) -> list:
    """``M_E * x``; works on ints, ``Ext`` or builder values (no reduction).

    ``M4`` is applied with additions only (the reference implementation's
    chain: 8 doublings/additions give the rows [5,7,1,3], [4,6,1,1],
    [1,3,5,7], [1,1,4,6]), then each element gets the sum over chunks of its
    lane, which turns ``diag(M4)`` blocks into ``2*M4`` and adds ``M4`` elsewhere.
    """
    t = len(x)
    chunks = []
    for c in range(0, t, 4):
        a0, a1, a2, a3 = x[c:c + 4]
        t0 = a0 + a1
        t1 = a2 + a3
        t2 = a1 + a1 + t1            # [0, 2, 1, 1]
        t3 = a3 + a3 + t0            # [1, 1, 0, 2]
        t1x2, t0x2 = t1 + t1, t0 + t0
        t4 = t1x2 + t1x2 + t3        # [1, 1, 4, 6]
        t5 = t0x2 + t0x2 + t2        # [4, 6, 1, 1]
        chunks.append([t3 + t5, t5, t2 + t4, t4])
    sums = []
    for i in range(4):
        acc = chunks[0][i]
        for ch in chunks[1:]:
            acc = acc + ch[i]
        sums.append(acc)
    return [chunks[k // 4][k % 4] + sums[k % 4] for k in range(t)]


def apply_internal(x: Sequence, diag_m1: Sequence[int]) -> list:
    """``M_I * x = (d_i - 1) x_i + sum(x)``; works on ints or builder values."""
    total = x[0]
    for v in x[1:]:
        total = total + v
    return [v * dm + total for v, dm in zip(x, diag_m1)]


# --- the permutation ----------------------------------------------------------
def round_values(state: Sequence[int], params: Poseidon2Params = GOLDILOCKS_12) -> dict:
    """Run the permutation and keep every S-box's ``x^3`` and output (the AIR's witness).

    Returns:
        ``{"inp", "fx3", "fpost", "px3", "py", "out"}``: the input; per external
        round (``rf`` of them) the cubes of the S-box inputs and the round's
        S-box outputs (before ``M_E``); per internal round the cube and output
        of element 0's S-box; the permutation's output.
    """
    t, half = params.t, params.rf // 2
    s = [int(v) % P for v in state]
    if len(s) != t:
        raise ValueError(f"Poseidon2 state must have {t} elements, got {len(s)}")
    out = {"inp": list(s), "fx3": [], "fpost": [], "px3": [], "py": []}
    s = [v % P for v in apply_external(s)]

    def full(r):
        nonlocal s
        u = [(v + c) % P for v, c in zip(s, params.external_rc[r])]
        x3 = [pow(v, 3, P) for v in u]
        post = [a * a % P * v % P for a, v in zip(x3, u)]
        out["fx3"].append(x3)
        out["fpost"].append(post)
        s = [v % P for v in apply_external(post)]

    for r in range(half):
        full(r)
    dm = params.diag_m1
    for k in range(params.rp):
        u = (s[0] + params.internal_rc[k]) % P
        x3 = pow(u, 3, P)
        y = x3 * x3 % P * u % P
        out["px3"].append(x3)
        out["py"].append(y)
        s = [v % P for v in apply_internal([y] + s[1:], dm)]
    for r in range(half, params.rf):
        full(r)
    out["out"] = s
    return out


def permute(state: Sequence[int], params: Poseidon2Params = GOLDILOCKS_12) -> list[int]:
    """The Poseidon2 permutation of ``state`` (``t`` field elements)."""
    return round_values(state, params)["out"]


# --- the sponge ---------------------------------------------------------------
def sponge_iv(n_values: int, n_salt: int) -> list[int]:
    """The capacity's initial value: ``(len(values), len(salt), DOMAIN_TAG, 0)``."""
    return [int(n_values) % P, int(n_salt) % P, DOMAIN_TAG, 0]


def n_blocks(n_values: int, n_salt: int) -> int:
    """Permutations a hash of this shape takes (at least one)."""
    return max(1, -(-(n_values + n_salt) // RATE))


def sponge_blocks(values: Sequence[int], salt: Sequence[int] = ()) -> list[list[int]]:
    """``salt || values`` (mod p) cut into blocks of ``RATE``, the last one zero-filled."""
    msg = [int(v) % P for v in salt] + [int(v) % P for v in values]
    k = n_blocks(len(values), len(salt))
    msg += [0] * (k * RATE - len(msg))
    return [msg[i * RATE:(i + 1) * RATE] for i in range(k)]


def hash_elements(values: Sequence[int], salt: Sequence[int] = (),
                  params: Poseidon2Params = GOLDILOCKS_12) -> list[int]:
    """Poseidon2 sponge digest (``DIGEST_LEN`` field elements) of ``values`` under ``salt``.

    Args:
        values: integers, taken mod p (a signed ``-x`` is ``p - x``, as on the bus).
        salt: blinding elements absorbed first; use ``random_salt()`` for hiding.
    """
    if params.t != WIDTH:
        raise ValueError(f"the sponge is defined for width {WIDTH}")
    cap = sponge_iv(len(values), len(salt))
    state: list[int] = []
    for block in sponge_blocks(values, salt):
        state = permute(block + cap, params)
        cap = state[RATE:]
    return state[:DIGEST_LEN]


def top_digest(parts: Sequence[Sequence[int]]) -> list[int]:
    """``hash_elements(c_1 || ... || c_n)`` (no salt): a per-tensor model commitment's
    published digest over its parts (``zkvm.isa.hidden.ModelCommitment``)."""
    return hash_elements([int(v) for p in parts for v in p])


def random_salt(n: int = SALT_LEN) -> list[int]:
    """``n`` uniform field elements from the operating system's CSPRNG."""
    return [secrets.randbelow(P) for _ in range(n)]


def digest_hex(digest: Sequence[int]) -> str:
    """The 64-hex-character form of a digest (4 field elements, 8 LE bytes each)."""
    return b"".join(int(v).to_bytes(8, "little") for v in digest).hex()
