"""Reproducible Poseidon2 parameters: round numbers, Grain LFSR round constants, internal matrix.

This re-implements, from their description, the parameter procedure of the
Poseidon paper (Grassi, Khovratovich, Rechberger, Roy, Schofnegger,
"Poseidon: A New Hash Function for Zero-Knowledge Proof Systems", USENIX
Security 2021, eprint 2019/458, appendix F "Generating the round
constants") as the Poseidon2 paper (Grassi, Khovratovich, Schofnegger,
eprint 2023/323, section 5 and its reference parameter script) applies it:

* **Grain LFSR** (80-bit state). The state is seeded with the bit string
  ``field (2 bits: 1 = prime field) | S-box (4 bits: 0 = x^alpha) | n (12) |
  t (12) | R_F (10) | R_P (10) | 30 ones``, most significant bit first, then
  clocked 160 times with ``b_{i+80} = b_{i+62} ^ b_{i+51} ^ b_{i+38} ^ b_{i+23}
  ^ b_{i+13} ^ b_i`` and its output discarded. Output bits are then
  *self-shrunk*: clock twice, and if the first bit is 1 output the second,
  else discard both.
* **Round constants**: draw ``n``-bit integers (first bit most significant),
  rejecting those ``>= p``. Poseidon2 draws ``R_F * t + R_P`` of them, in round
  order: ``t`` per full round and *one* per partial round (the partial-round
  constant is added to state element 0 only).
* **Internal matrix** ``M_I = 1 * 1^T + diag(d - 1)`` (ones everywhere, ``d``
  on the diagonal): the diagonal ``d`` continues the same stream with ``t``
  unrejected ``n``-bit draws reduced mod p, redrawn until the minimal
  polynomial of ``M_I^k`` has degree ``t`` and is irreducible for ``k = 1 ..
  2t`` (Poseidon2 paper section 5.3, the sufficient condition against
  infinitely long invariant subspace trails).
* **Round numbers**: the smallest ``(R_F, R_P)`` (by S-box count
  ``t * R_F + R_P``) meeting the statistical, interpolation and Gröbner-basis
  bounds of the Poseidon/Poseidon2 papers plus the bound of eprint 2023/537,
  then the security margin ``R_F + 2`` and ``ceil(1.075 * R_P)``.

These choices match, bit for bit, the constants published with the
paper's reference implementation (HorizenLabs/poseidon2,
``poseidon2_instance_goldilocks.rs``) and reused by Plonky3; the tests check
them and the permutation's known-answer vectors. Plain Python ints only:
it runs once, offline (``python -m zkvm.hash.grain`` prints the constants
module ``zkvm/hash/poseidon2_constants.py``).
"""

from __future__ import annotations

import math
from typing import Iterator

from zkvm.field.scalar import P

#: x^alpha S-box, the smallest alpha >= 3 coprime to p - 1 (p - 1 = 2^32 * 3 * 5 * 17 * 257 * 65537).
ALPHA = 7
#: bit length of p (the ``n`` of the papers)
FIELD_BITS = P.bit_length()


class Grain:
    """The Grain LFSR in self-shrinking mode, seeded from the permutation's parameters."""

    def __init__(self, t: int, rf: int, rp: int, n: int = FIELD_BITS, field: int = 1,
                 sbox: int = 0):
        bits = (f"{field:02b}{sbox:04b}{n:012b}{t:012b}{rf:010b}{rp:010b}" + "1" * 30)
        assert len(bits) == 80
        self._s = [int(c) for c in bits]
        self._i = 0  # index of b_i in the circular buffer
        for _ in range(160):
            self._clock()

    def _clock(self) -> int:
        s, i = self._s, self._i
        new = (s[(i + 62) % 80] ^ s[(i + 51) % 80] ^ s[(i + 38) % 80] ^ s[(i + 23) % 80]
               ^ s[(i + 13) % 80] ^ s[i])
        s[i] = new          # b_i leaves, b_{i+80} takes its slot
        self._i = (i + 1) % 80
        return new

    def bits(self) -> Iterator[int]:
        """Output bits after self-shrinking."""
        while True:
            first = self._clock()
            second = self._clock()
            if first:
                yield second

    def integer(self, n_bits: int = FIELD_BITS) -> int:
        """The next ``n_bits``-bit integer, first output bit most significant."""
        gen = self.bits()
        v = 0
        for _ in range(n_bits):
            v = (v << 1) | next(gen)
        return v

    def field_element(self) -> int:
        """The next integer below ``P`` (rejection sampling)."""
        while True:
            v = self.integer()
            if v < P:
                return v


def round_constants(g: Grain, t: int, rf: int, rp: int) -> tuple[list[list[int]], list[int]]:
    """Draw Poseidon2's round constants: ``(external rounds (rf lists of t), internal (rp))``."""
    half = rf // 2
    ext_first = [[g.field_element() for _ in range(t)] for _ in range(half)]
    internal = [g.field_element() for _ in range(rp)]
    ext_last = [[g.field_element() for _ in range(t)] for _ in range(half)]
    return ext_first + ext_last, internal


# --- internal matrix ---------------------------------------------------------
def _matmul(a: list[list[int]], b: list[list[int]]) -> list[list[int]]:
    n = len(a)
    return [[sum(a[i][k] * b[k][j] for k in range(n)) % P for j in range(n)] for i in range(n)]


def charpoly(m: list[list[int]]) -> list[int]:
    """Characteristic polynomial of ``m`` over F_p (Faddeev–LeVerrier), low degree first."""
    n = len(m)
    c = [0] * (n + 1)
    c[n] = 1
    mk = [[0] * n for _ in range(n)]
    for k in range(1, n + 1):
        # M_k = A M_{k-1} + c_{n-k+1} I ;  c_{n-k} = -tr(A M_k) / k
        mk = _matmul(m, mk)
        for i in range(n):
            mk[i][i] = (mk[i][i] + c[n - k + 1]) % P
        am = _matmul(m, mk)
        tr = sum(am[i][i] for i in range(n)) % P
        c[n - k] = (-tr * pow(k, P - 2, P)) % P
    return c


def _pmod(a: list[int], f: list[int]) -> list[int]:
    """``a mod f`` for monic ``f`` (coefficient lists, low degree first)."""
    a = list(a)
    d = len(f) - 1
    for i in range(len(a) - 1, d - 1, -1):
        q = a[i]
        if q:
            for j in range(d + 1):
                a[i - d + j] = (a[i - d + j] - q * f[j]) % P
    return (a[:d] + [0] * d)[:d]


def _pmulmod(a: list[int], b: list[int], f: list[int]) -> list[int]:
    prod = [0] * (len(a) + len(b) - 1)
    for i, x in enumerate(a):
        if x:
            for j, y in enumerate(b):
                prod[i + j] += x * y
    return _pmod([v % P for v in prod], f)


def _ppowmod(a: list[int], e: int, f: list[int]) -> list[int]:
    d = len(f) - 1
    acc = [1] + [0] * (d - 1)
    base = _pmod(a, f)
    while e:
        if e & 1:
            acc = _pmulmod(acc, base, f)
        base = _pmulmod(base, base, f)
        e >>= 1
    return acc


def _compose(g: list[int], h: list[int], f: list[int]) -> list[int]:
    """``g(h(x)) mod f`` (Horner)."""
    d = len(f) - 1
    acc = [0] * d
    for coef in reversed(g):
        acc = _pmulmod(acc, h, f)
        acc[0] = (acc[0] + coef) % P
    return acc


def _pgcd_is_one(a: list[int], b: list[int]) -> bool:
    def trim(x):
        while x and x[-1] == 0:
            x = x[:-1]
        return x
    a, b = trim(list(a)), trim(list(b))
    while b:
        inv = pow(b[-1], P - 2, P)
        b = [v * inv % P for v in b]
        a = trim(_pmod(a, b)) if len(a) >= len(b) else a
        a, b = b, a
    return len(a) == 1


def is_irreducible(f: list[int]) -> bool:
    """Rabin's test for a monic ``f`` of degree ``d`` over F_p.

    ``f`` is irreducible iff ``x^(p^d) = x mod f`` and ``gcd(x^(p^(d/q)) - x, f) = 1``
    for every prime ``q | d``. Frobenius powers are taken by modular composition.
    """
    d = len(f) - 1
    x = [0, 1] + [0] * (d - 2)
    h = _ppowmod(x, P, f)            # x^p
    frob = {1: h}
    cur = h
    for i in range(2, d + 1):
        cur = _compose(cur, h, f)    # x^(p^i) = (x^(p^(i-1)))(x^p)
        frob[i] = cur
    if frob[d] != x:
        return False
    for q in (q for q in range(2, d + 1) if d % q == 0 and all(q % r for r in range(2, q))):
        diff = list(frob[d // q])
        diff[1] = (diff[1] - 1) % P
        if not _pgcd_is_one(f, diff):
            return False
    return True


def minpoly_condition(m: list[list[int]]) -> bool:
    """Poseidon2 paper, section 5.3: ``M^k`` has an irreducible minimal polynomial of degree t.

    Checked for ``k = 1 .. 2t``. (A minimal polynomial of degree ``t`` equals the
    characteristic polynomial, so this is: each ``charpoly(M^k)`` is irreducible.)
    """
    t = len(m)
    mk = m
    for _ in range(2 * t):
        if not is_irreducible(charpoly(mk)):
            return False
        mk = _matmul(m, mk)
    return True


def internal_diagonal(g: Grain, t: int) -> list[int]:
    """The diagonal ``d`` of ``M_I`` (continuing the round constants' stream)."""
    while True:
        d = [g.integer() % P for _ in range(t)]
        m = [[d[i] if i == j else 1 for j in range(t)] for i in range(t)]
        if minpoly_condition(m):
            return d


# --- round numbers -------------------------------------------------------------
def _secure(t: int, rf: int, rp: int, alpha: int = ALPHA, m: int = 128) -> bool:
    """The round-number bounds of the Poseidon2 reference parameter script (prime field)."""
    n = FIELD_BITS
    log2p = math.log2(P)
    la2 = math.log(2, alpha)          # log_alpha(2)
    rf1 = 6 if m <= math.floor(log2p - (alpha - 1) / 2.0) * (t + 1) else 10   # statistical
    rf2 = 1 + math.ceil(la2 * min(m, n)) + math.ceil(math.log(t, alpha)) - rp  # interpolation
    rf3 = la2 * min(m, log2p) - rp                                            # Groebner 1
    rf4 = t - 1 + la2 * min(m / float(t + 1), log2p / 2.0) - rp                # Groebner 2
    rf5 = (t - 2 + m / float(2 * math.log2(alpha)) - rp) / float(t - 1)        # Groebner 3
    rf_max = max(math.ceil(rf1), math.ceil(rf2), math.ceil(rf3), math.ceil(rf4), math.ceil(rf5))
    # eprint 2023/537 (Groebner attack on the first and last rounds)
    r = t // 3
    over = (rf - 1) * t + rp + r + r * (rf // 2) + rp + alpha
    under = r * (rf // 2) + rp + alpha
    cost_gb4 = math.ceil(2 * math.log2(math.comb(over, under)))
    return rf >= rf_max and cost_gb4 >= m


def round_numbers(t: int, alpha: int = ALPHA, m: int = 128) -> tuple[int, int]:
    """``(R_F, R_P)`` minimising ``t * R_F + R_P`` for ``m``-bit security, with the margin."""
    best, best_rf, out = math.inf, 0, (0, 0)
    for rp in range(1, 500):
        for rf in range(4, 100, 2):
            if _secure(t, rf, rp, alpha, m):
                rf_m, rp_m = rf + 2, math.ceil(rp * 1.075)
                cost = t * rf_m + rp_m
                if cost < best or (cost == best and rf_m < best_rf):
                    best, best_rf, out = cost, rf_m, (rf_m, rp_m)
                break  # larger R_F for this R_P only costs more
    return out


def generate(t: int, rf: int | None = None, rp: int | None = None) -> dict:
    """All Poseidon2-Goldilocks parameters of width ``t``, from the procedure alone."""
    if rf is None or rp is None:
        rf, rp = round_numbers(t)
    g = Grain(t, rf, rp)
    ext, internal = round_constants(g, t, rf, rp)
    diag = internal_diagonal(g, t)
    return {"t": t, "rf": rf, "rp": rp, "alpha": ALPHA, "external_rc": ext,
            "internal_rc": internal, "internal_diag": diag}


def _module_text(params: dict) -> str:
    t = params["t"]
    h = lambda v: f"0x{v:016x}"  # noqa: E731
    lines = [
        f'"""Poseidon2-Goldilocks width {t} constants: GENERATED by ``python -m zkvm.hash.grain``.',
        "",
        "Do not edit: ``zkvm.hash.grain.generate`` recomputes every value from the",
        "Grain LFSR procedure and tests/test_poseidon2.py checks they agree.",
        '"""',
        "",
        f"T = {t}",
        f"R_F = {params['rf']}",
        f"R_P = {params['rp']}",
        f"ALPHA = {params['alpha']}",
        "",
        "#: round constants of the external (full) rounds, in order (R_F lists of T)",
        "EXTERNAL_RC = [",
    ]
    for row in params["external_rc"]:
        for k in range(0, t, 4):
            lead = "    [" if k == 0 else "     "
            tail = "]," if k + 4 >= t else ""
            lines.append(lead + ", ".join(h(v) for v in row[k:k + 4]) + ("," if not tail else "")
                         + tail)
    lines += ["]", "", "#: round constants of the internal (partial) rounds (added to element 0)",
              "INTERNAL_RC = ["]
    ic = params["internal_rc"]
    for k in range(0, len(ic), 4):
        lines.append("    " + ", ".join(h(v) for v in ic[k:k + 4]) + ",")
    lines += ["]", "", "#: diagonal d of the internal matrix M_I = ones + diag(d - 1)",
              "INTERNAL_DIAG = ["]
    dg = params["internal_diag"]
    for k in range(0, len(dg), 4):
        lines.append("    " + ", ".join(h(v) for v in dg[k:k + 4]) + ",")
    lines += ["]", ""]
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover - offline generator
    import sys

    width = int(sys.argv[1]) if len(sys.argv) > 1 else 12
    print(_module_text(generate(width)), end="")
