"""The multi-table STARK verifier: parameters, then shape, then arithmetic.

It carries the prover's step numbers (``zkvm.stark.prover``). It imports no
numba kernel, nothing from the runtime or the assembler: plain Python ints,
``Ext`` scalars, numpy for bookkeeping and the ``blake3`` package, so it
starts fast and needs no JIT compile.

Checks, in order:

0. the verifying key's parameters (never the proof's: the proof carries only
   their preset's name, which must be the key's) reach the level the caller
   asks for, ``standard``'s when nobody asks; the proof names this key;
0. every count and length in the proof agrees with the verifying key, and
   every value it sends is canonical (field elements in [0, p), opened rows
   included);
1-11. the transcript is replayed; at z each table's constraints equal its
   quotient times the vanishing polynomial (``zkvm.stark.ood``, the prover's
   own check); the bus balances; FRI accepts, with each input value
   recomputed at every query from the opened rows of every committed tree
   (the DEEP consistency check, ``zkvm.stark.deep_verify``).
"""

from __future__ import annotations

from zkvm.air import registry
from zkvm.field.extension import ext_zero, from_coeffs
from zkvm.field.scalar import P, Ext
from zkvm.fri import fri_verify
from zkvm.fri.fri_types import FriError, FriProof
from zkvm.fri.merkle_verify import MerklePathInvalid
from zkvm.fri.security import SecurityConfig
from zkvm.stark.common import draw_logup_challenges, sample_ood_point, seed_transcript
from zkvm.stark.deep_verify import DeepComposer, public_bus_sum
from zkvm.stark.errors import (
    InsufficientSecurity, KeyMismatch, LogupSumMismatch, ParameterMismatch, ProofShapeError,
    VerificationError,
)
from zkvm.stark.keys import VerifyingKey
from zkvm.stark.layout import StarkLayout
from zkvm.stark.ood import check_table_at_z
from zkvm.stark.proof import PublicValues, StarkProof
from zkvm.stark.soundness import layout_security


#: A key's size in columns, each table counting TABLE_COST more, before anything is analysed:
#: the verifier's work (symbolic analysis, evaluation at z, DEEP) grows with it, so a hostile
#: key is refused before it costs more than about a second. Honest keys: the MLP 260, the
#: transformer benchmark 6,005.
MAX_KEY_COST = 1 << 15
TABLE_COST = 64


class DeepPowInvalid(VerificationError):
    """The grinding nonce before the DEEP challenge does not meet the key's bits."""


class FriRejected(VerificationError):
    """FRI (or one of its Merkle openings) rejected the proof; the message says which check."""


def _ext(pair) -> Ext:
    return from_coeffs(pair)


def verify(vk: VerifyingKey, proof: StarkProof, *, min_bits: float | None = None,
           min_proven_bits: float | None = None) -> PublicValues:
    """Check ``proof`` against ``vk``; return the proven public values (see :func:`verify_queries`)."""
    return verify_queries(vk, proof, min_bits=min_bits, min_proven_bits=min_proven_bits)[0]


def verify_queries(vk: VerifyingKey, proof: StarkProof, *, min_bits: float | None = None,
                   min_proven_bits: float | None = None) -> tuple[PublicValues, list[int]]:
    """Check ``proof`` against ``vk``; return the proven public values and FRI's query
    indices over the largest domain (which ``zkvm.onchain.calldata`` lays the openings out by).

    Every parameter comes from ``vk`` (the proof only names its preset, which
    must be the key's), and the key's parameters must reach the required level.

    Args:
        vk: the verifying key (load it, or derive it from the program).
        proof: the proof.
        min_bits: refuse keys whose conjectured security (the code's own
            estimator) is below this; default the ``standard`` preset's level.
        min_proven_bits: the same for the proven bits; default the
            ``standard`` preset's (none).

    Raises:
        VerificationError: a subclass naming the failed check.
    """
    # 0. Parameters: the key's own, at the level the caller asks for (standard's when nobody
    #    asks); the proof's label must name them, and the proof must name this key.
    cfg = vk.security
    try:
        airs = [registry.build(spec) for spec in vk.tables]
        cost = sum(a.main_width + a.pre_width + TABLE_COST for a in airs)
        if cost > MAX_KEY_COST:
            raise ValueError(f"its tables have {cost} columns (+{TABLE_COST} per table), more than "
                             f"the {MAX_KEY_COST} this verifier accepts")
        lay = StarkLayout(airs, cfg.log_blowup, vk.zk, cfg.ext_degree)
    except Exception as e:  # untrusted specs: any failure to rebuild is the key's
        raise KeyMismatch(f"the verifying key names tables this zkvm cannot rebuild: "
                          f"{type(e).__name__}: {e}") from None
    if len(vk.pre_roots) != int(lay.has_tree("pre")):
        raise KeyMismatch("the verifying key's preprocessed roots do not match its tables")
    want_conj, want_proven = SecurityConfig.preset_level("standard")
    want_conj = want_conj if min_bits is None else min_bits
    want_proven = want_proven if min_proven_bits is None else min_proven_bits
    report = layout_security(lay, cfg, len(proof.public.bus_terms))
    if report.conjectured < want_conj or report.proven < want_proven:
        raise InsufficientSecurity(
            f"the key's parameters ({cfg.name} preset) give {report.conjectured:.1f} conjectured "
            f"and {report.proven:.1f} proven bits, below the required {want_conj:g} and "
            f"{want_proven:g}")
    if proof.security != cfg.name or proof.zk != vk.zk:
        raise ParameterMismatch(
            f"the proof says it was made at {proof.security!r} (zk={proof.zk}), the key is "
            f"{cfg.name!r} (zk={vk.zk}): prove again with the key's preset")
    vk_digest = vk.digest()
    if proof.vk_digest != vk_digest:
        raise KeyMismatch("the proof was made for another verifying key (another program?)")

    # 0. Shape: every count from the key, never from the proof.
    _check_shape(lay, proof)
    public = proof.public
    pubs = lay.publics(public.table_publics)

    # 1. Seed the transcript with the whole claim.
    tr = seed_transcript(vk_digest, cfg.to_dict(), lay.zk, public)
    D = cfg.ext_degree
    # 2. The main traces' root.
    for r in proof.main_roots:
        tr.observe_digest(r)
    # 3. Draw the LogUp challenges.
    bus_alpha, betas = draw_logup_challenges(tr, lay)
    # 4. The LogUp columns' root and the claimed sums.
    for r in proof.perm_roots:
        tr.observe_digest(r)
    claimed = [_ext(c) for c in proof.claimed_sums]
    tr.observe_ext(claimed)
    claimed_of = {t.index: c for t, c in zip(lay.interacting, claimed)}
    # 5. Draw the constraint-combination challenge.
    alpha = tr.sample_ext(D)
    # 6. The quotient chunks' root (and, zk, the DEEP masks').
    for r in proof.quot_roots:
        tr.observe_digest(r)
    # 7. Draw the out-of-domain point.
    z = sample_ood_point(tr, D)
    # 8. Every column at z and z*w: each table's constraints hold there.
    ood_coeffs = []  # per table, its values as coefficient tuples (for DEEP, step 9)
    for t, flat in zip(lay.tables, proof.ood):
        vals = [from_coeffs(flat[D * i:D * i + D]) for i in range(len(flat) // D)]
        ood_coeffs.append([v.coeffs for v in vals])
        tr.observe_ext(vals)
        check_table_at_z(t, vals, z, alpha, bus_alpha, betas, claimed_of.get(t.index),
                         pubs[t.index])
    # The bus balances: claimed sums plus the verifier's own terms are zero.
    total = ext_zero(D)
    for c in claimed:
        total = total + c
    total = total + _public_bus_sum(public.bus_terms, bus_alpha, betas)
    if total != ext_zero(D):
        raise LogupSumMismatch("the bus does not balance: a value read is not the value written"
                               " (or a public input/output differs from the proved one)")
    # 9. DEEP: grinding, the challenge; the composer recomputes each group's codeword at
    #    FRI's queries from the opened rows (DEEP consistency).
    if not tr.check_pow(cfg.deep_pow_bits, proof.deep_pow_nonce):
        raise DeepPowInvalid(f"the DEEP grinding nonce does not give {cfg.deep_pow_bits} bits")
    lam = tr.sample_ext(D)
    deep = DeepComposer(lay, proof, ood_coeffs, z, lam, vk.pre_roots, cfg.hash)
    try:
        fri_proof = FriProof.from_dict(proof.fri, D)
    except Exception as e:  # malformed FRI section
        raise ProofShapeError(f"malformed FRI proof: {type(e).__name__}: {e}") from None
    # 10. FRI; 11. every phase's tree opened at its query positions (authenticated when FRI
    #     first reads layer 0's values from the composer).
    try:
        indices = fri_verify.verify(fri_proof, cfg, tr, lay.group_logs, deep.values)
    except (FriError, MerklePathInvalid) as e:
        raise FriRejected(f"FRI rejected the proof: {type(e).__name__}: {e}") from e
    return public, [int(i) for i in indices]


def _public_bus_sum(terms, alpha: Ext, betas: list[Ext]) -> Ext:
    """``sum m / (alpha - (bus + sum_k beta^(k+1) v_k))`` over the verifier's own terms
    (:func:`zkvm.stark.deep_verify.public_bus_sum` on extension scalars)."""
    return from_coeffs(public_bus_sum(terms, alpha.coeffs, [b.coeffs for b in betas], alpha.D))


def _check_shape(lay: StarkLayout, proof: StarkProof) -> None:
    def need(cond: bool, what: str) -> None:
        if not cond:
            raise ProofShapeError(what)

    need(len(proof.main_roots) == int(lay.has_tree("main")), "wrong number of main roots")
    need(len(proof.perm_roots) == int(lay.has_tree("perm")), "wrong number of LogUp roots")
    need(len(proof.quot_roots) == int(lay.has_tree("quot")), "wrong number of quotient roots")
    need(len(proof.claimed_sums) == len(lay.interacting)
         and all(len(c) == lay.ext_degree for c in proof.claimed_sums), "wrong number of claimed sums")
    need(len(proof.ood) == len(lay.tables), "wrong number of OOD blocks")
    for t, flat in zip(lay.tables, proof.ood):
        need(len(flat) == lay.ext_degree * t.n_ood, f"table {t.air.name!r}: wrong number of OOD values")
        need(all(map(_felt, flat)), f"table {t.air.name!r}: OOD value out of range")
    need(type(proof.deep_pow_nonce) is int and 0 <= proof.deep_pow_nonce < 2**64,
         "the DEEP grinding nonce is not a 64-bit integer")
    need(len(proof.openings) == len(lay.trees), "wrong number of tree openings")
    for (phase, gs), op in zip(lay.trees, proof.openings):
        logs, widths = lay.tree_shape(phase)
        need(isinstance(op.rows, list) and len(op.rows) == len(logs),
             f"{phase} tree: wrong number of row groups")
        for g, w, rows in zip(logs, widths, op.rows):
            need(rows.ndim == 2 and rows.shape[1] == w,
                 f"{phase} tree, rows of level 2^{g}: wrong opened row width")
            need(rows.size == 0 or int(rows.max()) < P,
                 f"{phase} tree, rows of level 2^{g}: opened value out of range (>= p)")
    pub = proof.public
    need(len(pub.table_publics) == lay.n_original, "wrong number of public-value blocks")
    for t, vals in zip(lay.tables, pub.table_publics):
        need(len(vals) == len(t.air.public_names), f"table {t.air.name!r}: wrong public count")
        need(all(map(_felt, vals)), f"table {t.air.name!r}: public value out of range")
    for term in pub.bus_terms:
        need(isinstance(term, tuple) and len(term) == 3, "a public bus term is not (bus, values, m)")
        bus, vals, m = term
        need(len(vals) <= lay.max_tuple, "a public bus term is longer than any table's tuples")
        need(_felt(bus) and all(map(_felt, vals)), "a public bus term is not canonical")
        need(type(m) is int and -P < m < P, "a public bus multiplicity is not canonical")
    for c in proof.claimed_sums:
        need(all(map(_felt, c)), "claimed sum out of range")


def _felt(v) -> bool:
    """A canonical field element: an exact ``int`` (not bool, float or numpy) in ``[0, p)``."""
    return type(v) is int and 0 <= v < P
