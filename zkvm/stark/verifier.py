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
1-10. the transcript is replayed; at z each table's constraints equal its
   quotient times the vanishing polynomial; the bus balances; FRI accepts,
   with each input value recomputed at every query from the opened rows of
   every committed tree (the DEEP consistency check).
"""

from __future__ import annotations

import numpy as np

from zkvm.air import registry
from zkvm.air.builder import PointBuilder
from zkvm.air.logup import eval_logup
from zkvm.field.extension import Ext3, batch_inv_ext, ext_gen, ext_one, ext_zero, from_coeffs
from zkvm.field.scalar import P, W, Ext, batch_inv, root_of_unity
from zkvm.fri import fri_verify
from zkvm.fri.fri_types import FriError, FriProof
from zkvm.fri.merkle_verify import MerklePathInvalid, verify_mixed
from zkvm.fri.security import SecurityConfig
from zkvm.stark.common import powers, sample_ood_point, seed_transcript
from zkvm.stark.errors import (
    InsufficientSecurity, KeyMismatch, LogupSumMismatch, OodConstraintMismatch,
    OpeningInvalid, ParameterMismatch, ProofShapeError, VerificationError,
)
from zkvm.stark.keys import VerifyingKey
from zkvm.stark.layout import PHASES, StarkLayout
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

    # 1. Seed the transcript.
    tr = seed_transcript(vk_digest, cfg.to_dict(), lay.zk, public)
    D = cfg.ext_degree
    # 2. Main roots.
    for r in proof.main_roots:
        tr.observe_digest(r)
    # 3. LogUp challenges.
    bus_alpha = tr.sample_ext(D)
    beta = tr.sample_ext(D)
    max_tuple = max((t.info.plan.max_tuple for t in lay.tables), default=0)
    betas = powers(beta, max_tuple + 1)[1:]
    # 4. LogUp roots and claimed sums.
    for r in proof.perm_roots:
        tr.observe_digest(r)
    claimed = [_ext(c) for c in proof.claimed_sums]
    tr.observe_ext(claimed)
    claimed_of = {t.index: c for t, c in zip(lay.interacting, claimed)}
    # 5. Constraint combination.
    alpha = tr.sample_ext(D)
    # 6. Quotient roots.
    for r in proof.quot_roots:
        tr.observe_digest(r)
    # 7. Out-of-domain point.
    z = sample_ood_point(tr, D)
    # 8. Out-of-domain values: check each table's constraints at z.
    ood: list[list[Ext]] = []
    for t, flat in zip(lay.tables, proof.ood):
        vals = [from_coeffs(flat[D * i:D * i + D]) for i in range(len(flat) // D)]
        ood.append(vals)
        tr.observe_ext(vals)
        _check_table_at_z(t, vals, z, alpha, bus_alpha, betas, claimed_of.get(t.index),
                          pubs[t.index])
    # The bus balances: claimed sums plus the verifier's own terms are zero.
    total = ext_zero(D)
    for c in claimed:
        total = total + c
    total = total + _public_bus_sum(public.bus_terms, bus_alpha, betas)
    if total != ext_zero(D):
        raise LogupSumMismatch("the bus does not balance: a value read is not the value written"
                               " (or a public input/output differs from the proved one)")
    # 9. DEEP challenge, after its grinding; 10. FRI with the DEEP values recomputed from the
    #    openings.
    if not tr.check_pow(cfg.deep_pow_bits, proof.deep_pow_nonce):
        raise DeepPowInvalid(f"the DEEP grinding nonce does not give {cfg.deep_pow_bits} bits")
    lam = tr.sample_ext(D)
    deep = _DeepEvaluator(lay, proof, ood, z, lam, cfg.hash)
    deep.set_pre_roots(vk.pre_roots)
    try:
        fri_proof = FriProof.from_dict(proof.fri, D)
    except Exception as e:  # malformed FRI section
        raise ProofShapeError(f"malformed FRI proof: {type(e).__name__}: {e}") from None
    try:
        indices = fri_verify.verify(fri_proof, cfg, tr, lay.group_logs, deep.values)
    except (FriError, MerklePathInvalid) as e:
        raise FriRejected(f"FRI rejected the proof: {type(e).__name__}: {e}") from e
    return public, [int(i) for i in indices]


def _public_bus_sum(terms, alpha: Ext, betas: list[Ext]) -> Ext:
    """``sum m / (alpha - (bus + sum_k beta^(k+1) v_k))`` over the verifier's own terms.

    Plain-int arithmetic and one batched inversion: public inputs can number
    in the thousands.
    """
    if not terms:
        return type(alpha)(0)
    if isinstance(alpha, Ext3):
        return _public_bus_sum_generic(terms, alpha, betas)
    b0 = [b.c0 for b in betas]
    b1 = [b.c1 for b in betas]
    d0s, d1s = [], []
    for bus, values, _ in terms:
        t0, t1 = bus, 0
        for k, v in enumerate(values):
            t0 += b0[k] * v
            t1 += b1[k] * v
        d0s.append((alpha.c0 - t0) % P)
        d1s.append((alpha.c1 - t1) % P)
    # 1 / (d0 + d1 X) = (d0 - d1 X) / (d0^2 - W d1^2): one batched base inversion
    norms = batch_inv([(d0 * d0 - W * d1 * d1) % P for d0, d1 in zip(d0s, d1s)])
    s0 = s1 = 0
    for (_, _, m), d0, d1, ni in zip(terms, d0s, d1s, norms):
        s0 += m * d0 * ni
        s1 -= m * d1 * ni
    return Ext(s0, s1)


def _public_bus_sum_generic(terms, alpha, betas):
    """:func:`_public_bus_sum` for any degree: coefficient-wise sums, one batched inversion."""
    d = alpha.D
    bc = [b.coeffs for b in betas]
    ac = alpha.coeffs
    dens = []
    for bus, values, _ in terms:
        t = [bus] + [0] * (d - 1)
        for k, v in enumerate(values):
            for j in range(d):
                t[j] += bc[k][j] * v
        dens.append(from_coeffs([(ac[j] - t[j]) % P for j in range(d)]))
    s = [0] * d
    for (_, _, m), inv in zip(terms, batch_inv_ext(dens)):
        for j, c in enumerate(inv.coeffs):
            s[j] += m * c
    return from_coeffs([x % P for x in s])


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
    max_tuple = max((t.info.plan.max_tuple for t in lay.tables), default=0)
    for term in pub.bus_terms:
        need(isinstance(term, tuple) and len(term) == 3, "a public bus term is not (bus, values, m)")
        bus, vals, m = term
        need(len(vals) <= max_tuple, "a public bus term is longer than any table's tuples")
        need(_felt(bus) and all(map(_felt, vals)), "a public bus term is not canonical")
        need(type(m) is int and -P < m < P, "a public bus multiplicity is not canonical")
    for c in proof.claimed_sums:
        need(all(map(_felt, c)), "claimed sum out of range")


def _felt(v) -> bool:
    """A canonical field element: an exact ``int`` (not bool, float or numpy) in ``[0, p)``."""
    return type(v) is int and 0 <= v < P


def _table_identity_at_z(t, vals, z, alpha, bus_alpha, betas, claimed, public):
    """``(C(z), Z_H(z), q(z))``: one table's combined constraints, vanishing polynomial and
    quotient (from its chunks) at z, from the claimed OOD values."""
    a = t.air
    i = 0

    def take(k: int) -> list[Ext]:
        nonlocal i
        out = vals[i:i + k]
        i += k
        return out

    pre, main, perm, quot = take(a.pre_width), take(a.main_width), take(t.n_perm), take(t.n_chunks)
    pre_n, main_n, perm_n = take(a.pre_width), take(a.main_width), take(t.n_perm)
    b = PointBuilder(a, main, main_n, pre, pre_n, public, z, alpha)
    a.eval(b)
    eval_logup(b, b.interactions, t.info.plan, bus_alpha, betas, perm, perm_n, claimed)
    zn = z ** t.n
    q, power = type(z)(0), type(z)(1)
    for c in quot:
        q = q + power * c
        power = power * zn
    return b.acc, b.vanishing, q


def _check_table_at_z(t, vals, z, alpha, bus_alpha, betas, claimed, public) -> None:
    acc, vanishing, q = _table_identity_at_z(t, vals, z, alpha, bus_alpha, betas, claimed, public)
    if acc != q * vanishing:
        raise OodConstraintMismatch(t.air.name)


class _DeepEvaluator:
    """Recomputes each group's DEEP value at FRI's query indices from opened rows."""

    def __init__(self, lay: StarkLayout, proof: StarkProof, ood, z: Ext, lam: Ext,
                 hash: str = "blake3"):
        self.lay, self.proof, self.z, self.hash = lay, proof, z, hash
        self.roots = {"main": proof.main_roots, "perm": proof.perm_roots, "quot": proof.quot_roots}
        self.openings = {ph: op for (ph, _), op in zip(lay.trees, proof.openings)}
        self.coeffs = {g: self._coefficients(g, ood, lam) for g in lay.group_logs}
        # (phase, log_lde) -> (opened rows, position -> row number), once the trees are checked
        self.opened: dict[tuple[str, int], tuple[np.ndarray, dict[int, int]]] | None = None

    def set_pre_roots(self, roots: list[bytes]) -> None:
        self.roots["pre"] = roots

    def _coefficients(self, g: int, ood, lam: Ext):
        """The DEEP batch's coefficients over one query's concatenated tree rows.

        The order of the powers of lambda is the prover's: per table, its
        columns at z (pre, main, LogUp, quotient chunks), then at z*w (pre,
        main, LogUp); quotient chunks have no z*w term (coefficient 0). An
        extension column is two row entries (c0, c1) with coefficients
        ``(l, l*X)``; in zk mode the row ends with the FRI mask (coefficient 0).
        Returns the c0 and c1 parts of the z and z*w coefficient lists, aligned
        with the row, as :func:`_limbs16` limbs, and the constants
        ``Vz = sum l_k f_k(z)`` and ``Vzw``.
        """
        phases = ("pre", "main", "perm", "quot")
        if isinstance(lam, Ext3):
            return self._coefficients_generic(g, ood, lam)
        l0, l1 = lam.c0, lam.c1
        pw, a0, a1 = [], 1, 0
        for _ in range(self.lay.deep_coefficients_count(g)):
            pw.append((a0, a1))
            a0, a1 = (a0 * l0 + W * a1 * l1) % P, (a0 * l1 + a1 * l0) % P
        cz = {ph: ([], []) for ph in phases}
        czw = {ph: ([], []) for ph in phases}

        def push(target, ext: bool, c0: int, c1: int) -> None:
            target[0].append(c0)
            target[1].append(c1)
            if ext:  # (c0 + c1 X) * X = W c1 + c0 X
                target[0].append(W * c1 % P)
                target[1].append(c0)

        vz0 = vz1 = vw0 = vw1 = 0
        k = 0
        for t in self.lay.groups[g]:
            vals = iter(ood[t.index])
            a = t.air
            blocks = [("pre", a.pre_width, False), ("main", a.main_width, False),
                      ("perm", t.n_perm, True), ("quot", t.n_chunks, True)]
            for phase, cnt, ext in blocks:
                for _ in range(cnt):
                    (c0, c1), v = pw[k], next(vals)
                    push(cz[phase], ext, c0, c1)
                    vz0 += c0 * v.c0 + W * c1 * v.c1
                    vz1 += c0 * v.c1 + c1 * v.c0
                    k += 1
            for _ in range(t.n_chunks):
                push(czw["quot"], True, 0, 0)
            for phase, cnt, ext in blocks[:3]:
                for _ in range(cnt):
                    (c0, c1), v = pw[k], next(vals)
                    push(czw[phase], ext, c0, c1)
                    vw0 += c0 * v.c0 + W * c1 * v.c1
                    vw1 += c0 * v.c1 + c1 * v.c0
                    k += 1
        if self.lay.zk:  # the FRI mask closes the quotient row: coefficient 0 in the sums
            for part in (cz, czw):
                push(part["quot"], True, 0, 0)
        flat = [[x for ph in phases for x in part[ph][j]] for part in (cz, czw) for j in (0, 1)]
        return _limbs16(flat), Ext(vz0, vz1), Ext(vw0, vw1)


    def _coefficients_generic(self, g: int, ood, lam):
        """:meth:`_coefficients` for any degree D, on extension scalars.

        An extension column is D row entries with coefficients
        ``(l, l X, .., l X^(D-1))``. Returns the D coefficient-part lists for z
        and for z*w (as :func:`_limbs16` limbs), and ``Vz``, ``Vzw``.
        """
        phases = ("pre", "main", "perm", "quot")
        d, x = lam.D, ext_gen(lam.D)
        zero = ext_zero(d)
        pw, acc = [], ext_one(d)
        for _ in range(self.lay.deep_coefficients_count(g)):
            pw.append(acc)
            acc = acc * lam
        cz = {ph: tuple([] for _ in range(d)) for ph in phases}
        czw = {ph: tuple([] for _ in range(d)) for ph in phases}

        def push(target, ext: bool, c) -> None:
            for i in range(d if ext else 1):
                for j, cj in enumerate(c.coeffs):
                    target[j].append(cj)
                c = c * x

        vz = vw = zero
        k = 0
        for t in self.lay.groups[g]:
            vals = iter(ood[t.index])
            a = t.air
            blocks = [("pre", a.pre_width, False), ("main", a.main_width, False),
                      ("perm", t.n_perm, True), ("quot", t.n_chunks, True)]
            for phase, cnt, ext in blocks:
                for _ in range(cnt):
                    c, v = pw[k], next(vals)
                    push(cz[phase], ext, c)
                    vz = vz + c * v
                    k += 1
            for _ in range(t.n_chunks):
                push(czw["quot"], True, zero)
            for phase, cnt, ext in blocks[:3]:
                for _ in range(cnt):
                    c, v = pw[k], next(vals)
                    push(czw[phase], ext, c)
                    vw = vw + c * v
                    k += 1
        if self.lay.zk:  # the FRI mask closes the quotient row: coefficient 0 in the sums
            for part in (cz, czw):
                push(part["quot"], True, zero)
        flat = [[x for ph in phases for x in part[ph][j]] for part in (cz, czw) for j in range(d)]
        return _limbs16(flat), vz, vw

    def _check_trees(self, idx: list[int]) -> None:
        """Authenticate every phase's opening at FRI's query indices over the largest domain.

        Each phase has one mixed-height tree; a query ``i`` opens row ``i mod 2^g``
        of each of its groups (``verify_mixed``), the rows FRI's folding asks for
        when it reaches group ``g``. Heights and widths come from the layout.
        """
        lay = self.lay
        opened = {}
        for phase, gs in lay.trees:
            op = self.openings[phase]
            logs, widths = lay.tree_shape(phase)
            lv = logs[0]
            try:
                where = verify_mixed(self.roots[phase][0], logs, widths,
                                     [i & ((1 << lv) - 1) for i in idx], op,
                                     salted=lay.zk and phase != "pre", tree=phase,
                                     hash=self.hash)
            except MerklePathInvalid as e:
                raise OpeningInvalid(str(e)) from None
            leaves, leaf_at = op.rows[0], where[0]
            col = 0
            for g in gs:
                if g < lv:
                    k = logs.index(g)
                    opened[(phase, g)] = (op.rows[k], where[k])
                    continue
                # packed: row i of group g is slot i >> lv of leaf i mod 2^lv
                f, w = 1 << (g - lv), lay.group_width(g, phase)
                rows = leaves[:, col:col + f * w].reshape(leaves.shape[0] * f, w)
                opened[(phase, g)] = (rows, {p + (s << lv): r * f + s
                                             for p, r in leaf_at.items() for s in range(f)})
                col += f * w
        self.opened = opened

    def _opened_rows(self, g: int, idx: list[int]) -> np.ndarray:
        """The opened rows of group ``g`` at ``idx``, phases side by side (pre, main, perm, quot).

        The first call (FRI's layer 0, the largest group) authenticates every
        tree at once (:meth:`_check_trees`); later calls only look rows up.
        Returns ``uint64 (len(idx), width)``.
        """
        if self.opened is None:
            if g != self.lay.group_logs[0]:
                raise OpeningInvalid("the openings must first be read at the largest domain")
            self._check_trees(idx)
        blocks = []
        for phase in PHASES:
            got = self.opened.get((phase, g))
            if got is None:
                continue
            rows, where = got
            try:
                blocks.append(rows[[where[i] for i in idx]])
            except KeyError:
                raise OpeningInvalid(f"{phase} tree: a row of group 2^{g} was not opened") from None
        return np.concatenate(blocks, axis=1)

    def values(self, log_n: int, indices):
        """FRI's callback: the DEEP codeword of group ``log_n`` at ``indices``.

        ``f(x) = sum_k l_k (f_k(x) - f_k(z)) / (x - z) + (f_k(x) - f_k(zw)) / (x - zw)``
        (+ the zk mask): the four inner products of each opened row with the
        batch's coefficients come from :func:`_row_dots`, the rest is a few
        int-pair operations per query with one batched inversion.
        """
        lay, g = self.lay, log_n
        idx = [int(i) for i in indices]
        limbs, vz, vzw = self.coeffs[g]
        rows = self._opened_rows(g, idx)
        dots = _row_dots(rows, limbs)
        t0 = lay.groups[g][0]
        w = root_of_unity(g)
        if lay.ext_degree != 2:
            return self._values_generic(t0, w, idx, rows, dots, vz, vzw)
        masks = rows[:, -2:].tolist() if lay.zk else [(0, 0)] * len(idx)
        z0, z1 = self.z.c0, self.z.c1
        zw = self.z * t0.omega
        shift = t0.shift
        xs = [shift * pow(w, i, P) % P for i in idx]
        # 1/(x - z) and 1/(x - zw): x in F_p, so the norm is (x - c0)^2 - W c1^2
        norms = batch_inv([((x - z0) ** 2 - W * z1 * z1) % P for x in xs]
                          + [((x - zw.c0) ** 2 - W * zw.c1 * zw.c1) % P for x in xs])
        n_q = len(idx)
        out = []
        for q, x in enumerate(xs):
            fz0, fz1, fw0, fw1 = dots[q]
            a0, a1 = fz0 - vz.c0, fz1 - vz.c1  # f(x) - f(z)
            nz = norms[q]
            i0, i1 = (x - z0) * nz % P, z1 * nz % P  # 1/(x - z) = (x - z0 + z1 X) / norm
            b0, b1 = fw0 - vzw.c0, fw1 - vzw.c1
            nw = norms[n_q + q]
            j0, j1 = (x - zw.c0) * nw % P, zw.c1 * nw % P
            m0, m1 = masks[q]
            out.append(((a0 * i0 + W * a1 * i1 + b0 * j0 + W * b1 * j1 + m0) % P,
                        (a0 * i1 + a1 * i0 + b0 * j1 + b1 * j0 + m1) % P))
        return np.array(out, dtype=np.uint64).reshape(len(idx), 2)

    def _values_generic(self, t0, w: int, idx: list[int], rows: np.ndarray, dots, vz, vzw):
        """:meth:`values` for any degree D, on extension scalars (``dots`` from :func:`_row_dots`)."""
        d = self.lay.ext_degree
        zw = self.z * t0.omega
        xs = [t0.shift * pow(w, i, P) % P for i in idx]
        invs = batch_inv_ext([x - self.z for x in xs] + [x - zw for x in xs])
        masks = rows[:, -d:].tolist() if self.lay.zk else None
        out = []
        for q in range(len(idx)):
            fz = from_coeffs([v % P for v in dots[q][:d]])
            fw = from_coeffs([v % P for v in dots[q][d:]])
            v = (fz - vz) * invs[q] + (fw - vzw) * invs[len(idx) + q]
            if masks is not None:
                v = v + from_coeffs(masks[q])
            out.append(v.to_list())
        return np.array(out, dtype=np.uint64).reshape(len(idx), d)


_M16 = np.uint64(0xFFFF)
_M32 = np.uint64(0xFFFFFFFF)
#: rows summed per block in :func:`_row_dots`: 2^32 * 2^16 * 2^15 < 2^64, no wrap
_DOT_BLOCK = 1 << 15


def _limbs16(vectors: list[list[int]]) -> np.ndarray:
    """``uint64 (L, 4 V)``: limb ``j`` of vector ``v``'s coefficient ``k`` at ``[k, j V + v]``.

    Each coefficient (< p < 2^64) is cut into four 16-bit limbs so that a
    32-bit half of a row value times a limb stays below 2^48 and a numpy
    integer product can sum many of them without wrapping.
    """
    c = np.array(vectors, dtype=np.uint64).reshape(len(vectors), -1).T
    return np.ascontiguousarray(
        np.concatenate([(c >> np.uint64(16 * j)) & _M16 for j in range(4)], axis=1))


def _row_dots(rows: np.ndarray, limbs: np.ndarray) -> list[list[int]]:
    """Exact integer inner products ``sum_k rows[q, k] * c_v[k]`` for every row and vector.

    ``rows`` is ``uint64 (n, L)`` (any 64-bit values), ``limbs`` from
    :func:`_limbs16`. The rows are split into 32-bit halves; each (half, limb)
    pair is one numpy product whose entries stay below 2^64, and the pieces
    are shifted back together with Python ints. Returns ``n`` lists of ``V``
    ints (not reduced mod p). Replaces ``V`` Python ``sum(map(mul, ...))``
    loops of ``L`` big-int products per row.
    """
    n, width = rows.shape
    n_vec = limbs.shape[1] // 4
    halves = []  # (low half, high half) per block of columns, each summed apart
    for s in range(0, max(width, 1), _DOT_BLOCK):
        r = rows[:, s:s + _DOT_BLOCK]
        lm = limbs[s:s + _DOT_BLOCK]
        halves += [(r & _M32) @ lm, (r >> np.uint64(32)) @ lm]
    # Python ints in numpy object arrays: the shifts and sums run in C, not per element here
    total = 0
    for h, part in enumerate(halves):
        limb = part.astype(object).reshape(n, 4, n_vec)
        for j in range(4):
            total = total + (limb[:, j, :] << (32 * (h % 2) + 16 * j))
    return total.tolist() if n_vec else [[] for _ in range(n)]
