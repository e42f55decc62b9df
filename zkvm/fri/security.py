"""Security parameters (``SecurityConfig``) and the soundness estimator ``security_bits``.

Two figures are reported, both in bits (``-log2`` of the soundness error of
the non-interactive STARK+FRI, capped by the hash):

**Conjectured.** The classic estimate ``n_queries * log2(1/rho) + pow_bits``
(ethSTARK documentation, StarkWare 2021, Conjecture 2.3 / section 5.10.1)
assumes the Reed-Solomon proximity gaps and list-decoding hold *up to
capacity*, i.e. for every proximity ``delta < 1 - rho``. That conjecture
(BCIKS20 / J.ACM 2023, DEEP-FRI, WHIR) was disproved in November 2025:
Diamond & Gruen, "On the distribution of the distances of random words"
(eprint 2025/2010), and Crites & Stewart, "On Reed-Solomon proximity gaps
conjectures" (eprint 2025/2046), show that correlated agreement and
list-decodability fail beyond the *list-decoding capacity* radius
``delta* = H_q^{-1}(1 - rho)`` (the q-ary entropy / Elias bound), and the
corrected conjecture used since is the same statement capped at that radius.
A query then catches a word that is ``delta*``-far with probability
``delta*``, so the corrected per-query figure is ``-log2(1 - delta*)``
instead of ``log2(1/rho)``. Over a 128-bit alphabet (F_p^2) the gap
``1 - rho - delta* ~= h2(delta*) / log2 q`` is small (about 0.05 bits per
query at rate 1/8: 2.95 instead of 3), which is why the presets use 29 and
37 queries rather than the 28 and 36 of the old conjecture. (Later work on
smooth domains over prime fields, e.g. failures at ``eta = Theta(1/log n)``
below capacity, would cost more; this estimator does not model it, and the
proven figure below is the one to rely on.) The query bound is combined with
the field-size terms of the conjectured regime: the commit phase,
``n_lde / |F|`` (mutual correlated agreement with linear error, as in
Winterfell's estimator), and DEEP-ALI, ``d * n_trace / |F|``, and capped at
``hash_bits`` (collision resistance of the 256-bit BLAKE3: 128 bits).

**The field.** ``|F|`` is the extension challenges live in,
``p^D`` with ``D = cfg.ext_degree``: over F_p^2 the commit-phase and DEEP
terms cap the conjectured bits at about ``128 - log2(n_lde)`` (104.5 bits at
2^20 rows), whatever the query count, which is why ``high`` uses the cubic
extension (``|F| ~ 2^192``; Winterfell's estimator and its 128-bit Goldilocks
configurations do the same). ``high`` then reaches the hash cap, 128
conjectured bits, at every trace height up to 2^30, with about 75 proven bits
(the query phase bounds the proven figure).

**Proven.** The Johnson-bound analysis of the ethSTARK documentation
(section 5.10.2) built on Ben-Sasson, Carmon, Ishai, Kopparty, Saraf,
"Proximity gaps for Reed-Solomon codes" (FOCS 2020, Theorem 1.5/8.3): for a
multiplicity parameter ``m >= 3``, ``alpha = sqrt(rho) * (1 + 1/(2m))``,

* query phase: ``alpha ** n_queries * 2**-pow_bits``;
* commit phase: ``(m + 1/2)^7 / (3 rho^{3/2}) * n^2 / |F|`` for the batching
  plus ``(2m + 1)(n + 1) / (sqrt(rho) |F|)`` per folding round;
* DEEP-ALI: with list size ``L = (m + 1/2) / sqrt(rho)``,
  ``L^2 / (2 |F|) + L * d * (n_trace + 2) / |F|``;

summed, with ``m`` chosen to maximise the result.

**Batching.** Wherever one challenge's powers combine many items (the DEEP
batch of every column at z and z*w with powers of lambda, the composition of
all constraints with powers of alpha, the bus's fractions and its tuples in
powers of beta), the error of that round grows with their number: a curve of
degree ``k - 1`` instead of a line (BCIKS20, Theorem 1.5; the ethSTARK
documentation, eprint 2021/582, on batching with powers of one element
versus independent coefficients; LogUp's bound, eprint 2022/1530). Over the
quadratic field a transformer-sized DEEP batch (2,500 columns, 2^19-point
domain) leaves ``128 - 11.3 - 19 = 97.7`` bits, so ``standard`` grinds 12
bits before lambda is drawn (``deep_pow_bits``; proof of work before a
challenge adds to its round as the query grinding adds to the queries', cf.
Plonky3's commit-phase proof of work). :func:`security_bits` reports every
round and which one binds; ``zkvm.stark.soundness.layout_security`` reads
the counts off a verifying key's layout.

Only the ``standard``, ``high`` and ``proven`` presets are meant for real
proofs (``proven``: at least 100 bits by the Johnson-bound analysis, cubic
field, rate 1/16); ``test`` is fast and insecure (a few bits), for unit
tests only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: the hashes a configuration may name (``zkvm.fri.hashes`` implements them)
HASHES = ("blake3", "keccak")

__all__ = ["HASHES", "SecurityConfig", "SecurityReport", "security_bits", "list_decoding_radius"]

_LOG2_P = math.log2(2**64 - 2**32 + 1)
"""log2 of the Goldilocks prime (the extension of degree D has D * this many bits)."""


@dataclass(frozen=True)
class SecurityConfig:
    """FRI / STARK security parameters.

    Attributes:
        log_blowup: log2 of the LDE blowup (rate ``rho = 2^-log_blowup``).
        n_queries: number of FRI query repetitions.
        pow_bits: proof-of-work grinding bits before the queries.
        log_final_poly_len: log2 of the number of coefficients of FRI's final
            polynomial.
        folding_arity_log: log2 of the FRI folding arity (only 1 is supported).
        name: preset name, or ``"custom"``.
        deep_pow_bits: proof-of-work grinding bits before the DEEP batching
            challenge lambda is drawn: they add to that round's bits, whose
            error grows with the number of columns batched (see
            :func:`security_bits`), as the query grinding adds to the queries'.
        ext_degree: degree D of the extension every challenge, LogUp column,
            quotient and FRI value lives in: 2 (F_p[X]/(X^2 - 7), ~128-bit
            field, fast) or 3 (F_p[X]/(X^3 - 7), ~192-bit field, needed for
            >= 128 bits); see :mod:`zkvm.field.extension`.
        hash: the hash of every Merkle tree, the transcript and the grinding:
            ``"blake3"`` (fast in software) or ``"keccak"`` (Keccak-256, the
            EVM's cheap opcode: proofs meant for a Solidity verifier, the
            ``onchain`` preset); see :mod:`zkvm.fri.hashes`.
    """

    log_blowup: int
    n_queries: int
    pow_bits: int
    log_final_poly_len: int
    folding_arity_log: int = 1
    name: str = "custom"
    ext_degree: int = 2
    deep_pow_bits: int = 0
    hash: str = "blake3"

    def __post_init__(self) -> None:
        if not 1 <= self.log_blowup <= 8:
            raise ValueError(f"log_blowup must be in [1, 8], got {self.log_blowup}")
        if not 1 <= self.n_queries <= 1024:
            raise ValueError(f"n_queries must be in [1, 1024], got {self.n_queries}")
        if not 0 <= self.pow_bits <= 40:
            raise ValueError(f"pow_bits must be in [0, 40], got {self.pow_bits}")
        if not 0 <= self.log_final_poly_len <= 16:
            raise ValueError(f"log_final_poly_len must be in [0, 16], got {self.log_final_poly_len}")
        if self.folding_arity_log != 1:
            raise ValueError("only folding arity 2 (folding_arity_log=1) is supported")
        if self.ext_degree not in (2, 3):
            raise ValueError(f"ext_degree must be 2 or 3, got {self.ext_degree}")
        if not 0 <= self.deep_pow_bits <= 30:
            raise ValueError(f"deep_pow_bits must be in [0, 30], got {self.deep_pow_bits}")
        if self.hash not in HASHES:
            raise ValueError(f"hash must be one of {list(HASHES)}, got {self.hash!r}")

    @property
    def insecure(self) -> bool:
        """True for the ``test`` preset (never use it for real proofs)."""
        return self.name == "test"

    @staticmethod
    def preset(name: str) -> "SecurityConfig":
        """A named preset: ``"test"`` (INSECURE, unit tests only), ``"standard"``, ``"high"``,
        ``"proven"``, ``"onchain"`` (Keccak-256, for the Solidity verifier).

        ``standard`` (quadratic extension) reaches >= 100 conjectured bits and
        ``high`` (cubic extension) >= 128 under the corrected (list-decoding
        capacity) conjecture; see :func:`security_bits` for the field-size terms.
        """
        try:
            return _PRESETS[name]
        except KeyError:
            raise ValueError(f"unknown security preset {name!r}; use one of {sorted(_PRESETS)}") from None

    @staticmethod
    def preset_level(name: str) -> tuple[float, float]:
        """``(min conjectured bits, min proven bits)`` a verifier requires when its caller
        names preset ``name`` (``standard`` when nobody names one; ``test``: none).

        Raises:
            ValueError: ``name`` is not a preset.
        """
        SecurityConfig.preset(name)  # the same error for an unknown name
        return _LEVELS[name]

    def to_dict(self) -> dict:
        """Plain dict (for keys; the transcript is seeded with it).

        ``ext_degree`` is written only when it is not the default 2, so that
        quadratic keys and proofs (and their digests) are unchanged; it is
        part of the dict the transcript is seeded with, so the degree is bound.
        """
        d = {
            "log_blowup": self.log_blowup,
            "n_queries": self.n_queries,
            "pow_bits": self.pow_bits,
            "log_final_poly_len": self.log_final_poly_len,
            "folding_arity_log": self.folding_arity_log,
            "name": self.name,
        }
        if self.ext_degree != 2:
            d["ext_degree"] = self.ext_degree
        if self.deep_pow_bits:
            d["deep_pow_bits"] = self.deep_pow_bits
        if self.hash != "blake3":  # BLAKE3 keys and proofs keep their encoding (and digests)
            d["hash"] = self.hash
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "SecurityConfig":
        """Inverse of :meth:`to_dict` (validates the values).

        Strict, so that one configuration has one encoding: unknown keys and
        values of the wrong type (``8.0``, ``"8"``) are refused, not coerced.
        """
        ints = ("log_blowup", "n_queries", "pow_bits", "log_final_poly_len",
                "folding_arity_log", "ext_degree", "deep_pow_bits")
        if not isinstance(d, dict):
            raise ValueError("malformed security parameters: not a map")
        unknown = set(d) - set(ints) - {"name", "hash"}
        if unknown:
            raise ValueError(f"malformed security parameters: unknown keys {sorted(unknown)}")
        for k in ints:
            if k in d and (type(d[k]) is not int):
                raise ValueError(f"malformed security parameters: {k} must be an integer")
        if "name" in d and not isinstance(d["name"], str):
            raise ValueError("malformed security parameters: name must be a string")
        if "hash" in d and (not isinstance(d["hash"], str) or d["hash"] == "blake3"):
            # blake3 is written by omission: one configuration, one encoding
            raise ValueError("malformed security parameters: hash must be a non-default name")
        try:
            return cls(
                log_blowup=d["log_blowup"],
                n_queries=d["n_queries"],
                pow_bits=d["pow_bits"],
                log_final_poly_len=d["log_final_poly_len"],
                folding_arity_log=d.get("folding_arity_log", 1),
                name=d.get("name", "custom"),
                ext_degree=d.get("ext_degree", 2),
                deep_pow_bits=d.get("deep_pow_bits", 0),
                hash=d.get("hash", "blake3"),
            )
        except KeyError as e:
            raise ValueError(f"malformed security parameters: missing {e}") from e


_PRESETS = {
    # INSECURE: a handful of bits, for fast unit tests only.
    "test": SecurityConfig(log_blowup=2, n_queries=8, pow_bits=4, log_final_poly_len=2, name="test"),
    # 12 bits of grinding before the DEEP challenge: a batch of thousands of columns
    # (transformer-sized layouts) would otherwise bring the quadratic field below 100 bits
    "standard": SecurityConfig(log_blowup=3, n_queries=29, pow_bits=16, log_final_poly_len=5,
                               name="standard", deep_pow_bits=12),
    # cubic extension: the field-size terms need |F| >> 2^128 (see security_bits)
    "high": SecurityConfig(log_blowup=3, n_queries=37, pow_bits=20, log_final_poly_len=5, name="high",
                           ext_degree=3),
    # >= 100 *proven* bits (Johnson regime, cubic field): rate 1/16, 44 queries, 20 + 8 grinding
    "proven": SecurityConfig(log_blowup=4, n_queries=44, pow_bits=20, log_final_poly_len=5,
                             name="proven", ext_degree=3, deep_pow_bits=8),
    # for a Solidity verifier (docs/onchain.md): Keccak-256, and gas follows the opened
    # Merkle paths (calldata, 16 gas a byte), so rate 1/16 buys 8 fewer queries than
    # standard for one more level per path (21 x 3.94 + 18 = 100.7 bits); 18 bits of
    # grinding cost the prover ~2^18 Keccaks (22 bits, to drop one more query, would cost
    # 16 times that) and the contract one
    "onchain": SecurityConfig(log_blowup=4, n_queries=21, pow_bits=18, log_final_poly_len=5,
                              name="onchain", deep_pow_bits=12, hash="keccak"),
}


#: what each preset promises, checked by the verifier against the estimator (issue 12)
_LEVELS = {"test": (0.0, 0.0), "standard": (100.0, 0.0), "high": (128.0, 0.0),
           "proven": (100.0, 100.0), "onchain": (100.0, 0.0)}


@dataclass(frozen=True)
class SecurityReport:
    """Soundness estimate in bits.

    Attributes:
        conjectured: overall conjectured bits (corrected conjecture, see module doc).
        proven: overall proven bits (Johnson-bound analysis).
        conjectured_query: the query-phase part of ``conjectured``
            (``n_queries * per_query + pow_bits``), before the field/hash caps.
        proven_query: the query-phase part of ``proven``.
        per_query_bits: conjectured bits per query, ``-log2(1 - delta*)``.
        bound_by: the round that bounds ``conjectured`` (see :func:`security_bits`).
    """

    conjectured: float
    proven: float
    conjectured_query: float
    proven_query: float
    per_query_bits: float
    bound_by: str = "query"


def _hq(x: float, log2q: float) -> float:
    """q-ary entropy ``H_q(x)`` for ``q = 2^log2q`` (x in (0, 1))."""
    # log_q(q - 1) = 1 + log2(1 - 2^-log2q) / log2q, numerically 1 for large q
    lq1 = 1.0 + math.log2(-math.expm1(-log2q * math.log(2))) / log2q if log2q < 60 else 1.0
    return (x * lq1 - x * math.log2(x) / log2q - (1 - x) * math.log2(1 - x) / log2q)


def list_decoding_radius(rho: float, log2q: float) -> float:
    """``delta* = H_q^{-1}(1 - rho)``: list-decoding capacity of a rate-rho code over F_q."""
    lo, hi = 1e-12, 1.0 - 2.0 ** (-log2q) - 1e-15
    target = 1.0 - rho
    for _ in range(200):
        mid = (lo + hi) / 2
        if _hq(mid, log2q) < target:
            lo = mid
        else:
            hi = mid
    return lo


def security_bits(
    cfg: SecurityConfig,
    trace_log_height: int = 20,
    max_constraint_degree: int = 3,
    ext_field_bits: float | None = None,
    hash_bits: int = 128,
    *,
    n_batched: int = 1,
    n_constraints: int = 1,
    n_logup_terms: int = 0,
    max_tuple: int = 0,
) -> SecurityReport:
    """Estimate conjectured and proven soundness in bits (sources in the module docstring).

    One challenge's powers batching ``k`` items costs ``log2(k)`` bits of the
    round it belongs to (a curve of degree ``k - 1`` instead of a line:
    BCIKS20, Theorem 1.5; ethSTARK documentation, eprint 2021/582, section 5
    on batching with powers of one element rather than independent
    coefficients). The rounds, each ``-log2`` of its error, the overall
    figure being the weakest (``bound_by`` names it):

    * ``query``: ``n_queries * per_query + pow_bits``;
    * ``fri_fold``: each fold and each group joining a layer (a line):
      ``n_lde / |F|``;
    * ``deep_batch``: the DEEP batch of ``n_batched`` columns with powers of
      lambda: ``(n_batched - 1) * n_lde / |F|``;
    * ``deep_ali``: the out-of-domain point and the composition of
      ``n_constraints`` constraints with powers of alpha:
      ``(d * n_trace + n_lde + n_constraints) / |F|``;
    * ``logup``: the bus (Haböck, "Multivariate lookups based on logarithmic
      derivatives", eprint 2022/1530): a false bus survives the rational
      identity test at alpha and the tuple fingerprint in beta's powers with
      probability at most ``n_logup_terms * (max_tuple + 1) / |F|``;
    * ``hash``: ``hash_bits`` (collision resistance).

    The proven (Johnson) figure sums the same errors with the list size
    ``L = (m + 1/2) / sqrt(rho)`` multiplying the rounds after the commitment
    (DEEP-ALI, composition, LogUp) and ``n_batched - 1`` multiplying the
    batching term of the commit phase.

    Args:
        cfg: the parameters.
        trace_log_height: log2 of the (largest) trace height; the FRI domain
            is ``trace_log_height + cfg.log_blowup``.
        max_constraint_degree: the AIR's maximum constraint degree (DEEP-ALI term).
        ext_field_bits: log2 of the size of the field challenges are drawn from;
            by default ``cfg.ext_degree * log2(p)`` (127.99... or 191.99...).
        hash_bits: collision resistance of the hash (128 for 256-bit BLAKE3).
        n_batched: the most columns one DEEP batch combines (powers of lambda).
        n_constraints: constraints combined with powers of alpha (all tables).
        n_logup_terms: fractions on the bus (rows times interactions, all tables).
        max_tuple: the longest bus tuple (powers of beta).

    Returns:
        A :class:`SecurityReport`.
    """
    rho = 2.0 ** (-cfg.log_blowup)
    log_n = trace_log_height + cfg.log_blowup
    n = 2.0**log_n
    n_trace = 2.0**trace_log_height
    log_f = float(ext_field_bits) if ext_field_bits is not None else cfg.ext_degree * _LOG2_P
    d = max(1, max_constraint_degree)
    n_rounds = max(0, log_n - cfg.log_final_poly_len - cfg.log_blowup)
    batch = max(1, n_batched - 1)
    logup = max(0, n_logup_terms) * (max_tuple + 1)

    # conjectured (corrected: list-decoding capacity, eprint 2025/2010, 2025/2046)
    delta_star = list_decoding_radius(rho, log_f)
    per_query = -math.log2(1.0 - delta_star)
    rounds = {
        "query": cfg.n_queries * per_query + cfg.pow_bits,
        "fri_fold": log_f - log_n,
        "deep_batch": log_f - math.log2(batch * n) + cfg.deep_pow_bits,
        "deep_ali": log_f - math.log2(d * n_trace + n + n_constraints),
        "logup": log_f - math.log2(logup) if logup else math.inf,
        "hash": float(hash_bits),
    }
    bound_by = min(rounds, key=rounds.get)
    conjectured = rounds[bound_by]

    # proven (Johnson bound, ethSTARK doc 5.10.2 / BCIKS20)
    best = -1.0
    best_q = 0.0
    field = 2.0**log_f
    for m in range(3, 65):
        alpha = math.sqrt(rho) * (1.0 + 1.0 / (2 * m))
        q_err = 2.0 ** (cfg.n_queries * math.log2(alpha) - cfg.pow_bits)
        commit = batch * 2.0 ** -cfg.deep_pow_bits * (m + 0.5) ** 7 / (3 * rho**1.5) * n * n / field
        commit += n_rounds * (2 * m + 1) * (n + 1) / (math.sqrt(rho) * field)
        big_l = (m + 0.5) / math.sqrt(rho)
        deep = big_l * big_l / (2 * field) + big_l * (d * (n_trace + 2) + n_constraints) / field
        bus = big_l * logup / field
        bits = -math.log2(q_err + commit + deep + bus)
        if bits > best:
            best, best_q = bits, -math.log2(q_err)
    proven = min(best, float(hash_bits))
    return SecurityReport(
        conjectured=conjectured,
        proven=proven,
        conjectured_query=rounds["query"],
        proven_query=best_q,
        per_query_bits=per_query,
        bound_by=bound_by,
    )
