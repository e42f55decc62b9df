"""The multi-table STARK prover (DEEP-ALI + FRI, LogUp bus, optional zero knowledge).

Steps (the verifier carries the same numbers):

1. Seed the transcript with the protocol id, the parameters, the verifying
   key's digest and every public value.
2. Commit the main traces: one mixed-height tree, each group of equal-size
   tables one row group of it (``zkvm.fri.merkle.MixedMerkleTree``).
3. Draw the LogUp challenges (alpha, beta).
4. Commit the LogUp columns; send each table's claimed sum.
5. Draw the constraint-combination challenge.
6. Compute each table's quotient on a coset, split it into chunks, commit.
7. Draw the out-of-domain point z.
8. Send every column at z and z*w (quotient chunks at z).
9. Draw the DEEP challenge and build one DEEP codeword per group.
10. FRI: commit layers, final polynomial, grinding, queries.
11. Open every phase's tree at the query positions.

Zero knowledge (``vk.zk``) follows Haböck & Al Kindi, "A note on adding
zero-knowledge to STARKs" (eprint 2024/1037): every witness polynomial
(main and LogUp columns) becomes ``T + Z_H * R`` with ``R`` uniformly random
of degree ``< n``, quotient chunks are re-randomised so that their sum is
unchanged, every group's DEEP batch gets a committed random mask, and the
leaves of witness trees are salted. See docs/stark.md for what is hidden.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from zkvm.air.air import Interaction
from zkvm.air.array_builder import FA, eval_expr, trace_selectors
from zkvm.air.logup import denominators
from zkvm.air.tape_eval import constraint_sum
from zkvm.field import kernels as K
from zkvm.field.extension import ext_gen, from_coeffs
from zkvm.field.scalar import P, Ext, root_of_unity, s_inv
from zkvm.fri import fri
from zkvm.fri.merkle import MixedMerkleTree
from zkvm.poly.transforms import coset_intt, coset_ntt, intt
from zkvm.stark.common import powers, sample_ood_point, seed_transcript
from zkvm.stark.debug import check_bus, check_constraints
from zkvm.stark.errors import OodConstraintMismatch
from zkvm.stark.kernels import eval_with_powers, ext_cumsum, lincomb
from zkvm.stark.layout import TableLayout
from zkvm.stark.proof import PublicValues, StarkProof
from zkvm.stark.rand import Randomness
from zkvm.stark.setup import ProvingKey, extend, mixed_groups
from zkvm.stark.verifier import _check_table_at_z

SALT_WORDS = 2  # the 16-byte leaf salt (Randomness.salts) in front of each Merkle row


class ProverError(Exception):
    """The witness does not satisfy the statement (nothing was proved)."""


@dataclass
class _Committed:
    coeffs: dict[int, np.ndarray]  # table index -> (w, m) coefficients
    lde: dict[int, np.ndarray]     # table index -> (w, N) evaluations
    tree: MixedMerkleTree          # the phase's tree, one row group per table group


def _randomise(coeffs: np.ndarray, n: int, rng: Randomness) -> np.ndarray:
    """``T + Z_H * R`` for each row: coefficients of degree < 2n (Z_H = X^n - 1)."""
    w = coeffs.shape[0]
    r = rng.field((w, n))
    out = np.empty((w, 2 * n), dtype=np.uint64)
    out[:, :n] = K.sub(coeffs, r)
    out[:, n:] = r
    return out


def _commit(pk: ProvingKey, phase: str, evals: dict[int, np.ndarray], rng: Randomness,
            salted: bool) -> _Committed:
    """Interpolate, randomise (zk), extend and commit one phase's columns (one tree)."""
    lay = pk.layout
    coeffs, lde, groups = {}, {}, {}
    for g in lay.trees_of(phase):
        parts = []
        for t in lay.groups[g]:
            if t.index not in evals or not evals[t.index].shape[0]:
                continue
            c = intt(evals[t.index])
            if lay.zk:
                c = _randomise(c, t.n, rng)
            coeffs[t.index] = c
            lde[t.index] = extend(c, t)
            parts.append(lde[t.index])
        groups[g] = parts
    tree = MixedMerkleTree(mixed_groups(groups, lay.trees_of(phase), lay.leaf_log(phase),
                                        rng.salts if salted else None,
                                        SALT_WORDS if salted else 0),
                           hash=pk.vk.security.hash)
    return _Committed(coeffs, lde, tree)


def _logup_columns(t: TableLayout, main: np.ndarray, pre: np.ndarray | None, public: list[int],
                   alpha: Ext, betas: list[Ext]) -> tuple[np.ndarray, Ext]:
    """The LogUp helper and running-sum columns on the trace domain, as ``(D k, n)`` base."""
    n, d = t.n, alpha.D
    first, last, trans = trace_selectors(t.log_n)
    env = {"main": [FA(c, False) for c in main],
           "next": [FA(c, False) for c in np.roll(main, -1, axis=1)],
           "pre": [] if pre is None else [FA(c, False) for c in pre],
           "pre_next": [] if pre is None else [FA(c, False) for c in np.roll(pre, -1, axis=1)],
           "public": [FA.lift(int(x)) for x in public],
           "first": FA(first, False), "last": FA(last, False), "transition": FA(trans, False)}
    memo: dict = {}
    interactions = [Interaction(it.bus, tuple(eval_expr(v, env, memo) for v in it.values),
                                eval_expr(it.multiplicity, env, memo), it.sign)
                    for it in t.info.interactions]
    ds = denominators(interactions, FA.lift(alpha), [FA.lift(x) for x in betas])
    d_all = np.stack([np.broadcast_to(x.as_ext(d), (n, d)) for x in ds])
    inv = K.ext_batch_inv(d_all)
    cols = []
    for idxs in t.info.plan.groups:
        h = np.zeros((n, d), dtype=np.uint64)
        for j in idxs:
            it = interactions[j]
            m = FA.lift(it.multiplicity)
            m = m if it.sign > 0 else -m
            term = (FA(inv[j], True) * m).v
            h = K.ext_add(h, np.broadcast_to(term, (n, d)))
        cols.append(h)
    total = cols[0]
    for h in cols[1:]:
        total = K.ext_add(total, h)
    running = ext_cumsum(total)
    cols.append(running)
    base = np.concatenate([c.T for c in cols])
    return np.ascontiguousarray(base), from_coeffs(running[-1].tolist())


def _with_blinding(lay, traces: list[np.ndarray], rng: Randomness) -> list[np.ndarray]:
    """zk: append the random blinding columns and the blinding table's trace."""
    from zkvm.stark.blind import BlindedAir

    if len(lay.tables) == len(traces):
        return traces
    rhos = []
    for t in lay.tables[:len(traces)]:
        if isinstance(t.air, BlindedAir):
            rho = rng.field(lay.ext_degree)
            rhos.append(rho)
            col = np.repeat(rho[:, None], t.n, axis=1).astype(np.uint64)
            traces[t.index] = np.concatenate([np.asarray(traces[t.index], np.uint64), col])
    blind = lay.tables[-1]
    tr = np.zeros((lay.ext_degree, blind.n), dtype=np.uint64)
    tr[:, :len(rhos)] = np.array(rhos, dtype=np.uint64).T
    traces.append(tr)
    return traces


def _selectors(t: TableLayout, xs: np.ndarray, zh: np.ndarray):
    n_inv = s_inv(t.n)
    w_inv = s_inv(t.omega)
    inv_first = K.batch_inv(K.sub(xs, np.uint64(1)))
    inv_last = K.batch_inv(K.sub(xs, np.uint64(w_inv)))
    first = K.mul(K.mul(zh, inv_first), np.uint64(n_inv))
    last = K.mul(K.mul(zh, inv_last), np.uint64(n_inv * w_inv % P))
    trans = K.sub(xs, np.uint64(w_inv))
    return first, last, trans


def _on_quotient_domain(lde: np.ndarray | None, coeffs: np.ndarray | None, t: TableLayout):
    """Columns on the quotient coset ``shift * H_m``: the LDE itself when ``H_m`` is a
    sub-coset of it (point ``i`` at entry ``i * size / m``, the stride ``_quotient_chunks`` passes on)."""
    if lde is None:
        return None
    m = t.n << t.log_quotient
    size = lde.shape[1]
    if m <= size:
        return lde
    padded = np.zeros((coeffs.shape[0], m), dtype=np.uint64)
    padded[:, : coeffs.shape[1]] = coeffs
    return coset_ntt(padded, t.shift)


def _quotient_chunks(pk: ProvingKey, t: TableLayout, main: _Committed, perm: _Committed | None,
                     public: list[int], alpha: Ext, bus_alpha: Ext, betas: list[Ext],
                     claimed: Ext | None, rng: Randomness, allow_invalid: bool = False
                     ) -> np.ndarray:
    """Quotient chunk coefficients ``(D * n_chunks, <= n')`` of one table."""
    n, m, d = t.n, t.n << t.log_quotient, alpha.D
    step = m // n
    mq = _on_quotient_domain(main.lde.get(t.index), main.coeffs.get(t.index), t)
    pq = _on_quotient_domain(pk.pre_lde.get(t.index), pk.pre_coeffs.get(t.index), t)
    xs = K.mul(K.powers(root_of_unity(t.log_n + t.log_quotient), m), np.uint64(t.shift))
    # Z_H(x) = x^n - 1 takes only m/n values on the coset: shift^n * w_(m/n)^i - 1
    period = K.mul(K.powers(root_of_unity(t.log_quotient), m // n), np.uint64(pow(t.shift, n, P)))
    zh = np.tile(K.sub(period, np.uint64(1)), n)
    sel = _selectors(t, xs, zh)
    qq = _on_quotient_domain(perm.lde[t.index], perm.coeffs[t.index], t) if t.n_perm else None
    stride = max(1, (1 << t.log_lde) // m)  # every column is read in place from its LDE
    acc = constraint_sum(t, mq, pq, qq, sel, step, public, alpha, bus_alpha, betas, claimed,
                         stride=stride)
    q = K.ext_mul_base(acc, K.batch_inv(zh))
    qc = coset_intt(np.ascontiguousarray(q.T), t.shift)  # (d, m) coefficients
    bound = t.n_chunks * n
    if qc[:, bound:].any() and not allow_invalid:
        raise ProverError(
            f"table {t.air.name!r}: the constraints do not hold on the trace (its quotient is "
            f"not a polynomial); prove with debug=True to see which constraint and row")
    chunks = [qc[:, j * n:(j + 1) * n] for j in range(t.n_chunks)]
    if pk.layout.zk:  # q_j' = q_j + X^n s_j - s_{j-1}: the sum over X^{jn} q_j' is unchanged
        s = [rng.field((d, n)) for _ in range(t.n_chunks - 1)]
        out = []
        for j, c in enumerate(chunks):
            cj = np.zeros((d, 2 * n), dtype=np.uint64)
            cj[:, :n] = c if j == 0 else K.sub(c, s[j - 1])
            if j < t.n_chunks - 1:
                cj[:, n:] = s[j]
            out.append(cj)
        chunks = out
    return np.concatenate(chunks)


def _check_at_z(t: TableLayout, vals: list, z, alpha, bus_alpha, betas, claimed, public,
                allow_invalid: bool) -> None:
    """The verifier's own check at z on one table's OOD values: refuse to prove a falsehood.

    Runs before the values are absorbed (a test's malicious prover replaces it
    to lie about ``vals`` and carries on consistently from its lie).
    """
    if allow_invalid:
        return
    try:
        _check_table_at_z(t, vals, z, alpha, bus_alpha, betas, claimed, public)
    except OodConstraintMismatch:
        raise ProverError(
            f"table {t.air.name!r}: the constraints do not hold on the trace; prove "
            "with debug=True to see which constraint and row") from None


def _ood_values(coeffs: np.ndarray | None, pows: np.ndarray, ext: bool, z) -> list[list[Ext]]:
    """Columns at each point whose powers are ``pows`` (see ``eval_with_powers``).

    ``z`` (any of the points) gives the extension type and degree ``D``: ``pows`` has
    ``D`` rows per point, and an extension column is ``D`` base columns
    ``sum_i X^i c_i``. Written for any degree (no quadratic-only helper).
    """
    cls = type(z)
    d = len(z.to_list())
    q = pows.shape[0] // d
    if coeffs is None or not coeffs.shape[0]:
        return [[] for _ in range(q)]
    v = eval_with_powers(coeffs, pows)
    x = cls(0, 1)
    out = []
    for j in range(q):
        vals = [cls(*(int(c) for c in row)) for row in v[:, d * j:d * (j + 1)]]
        if ext:
            grouped = []
            for i in range(len(vals) // d):
                acc = vals[d * i + d - 1]
                for k in range(d - 2, -1, -1):  # Horner in X
                    acc = acc * x + vals[d * i + k]
                grouped.append(acc)
            vals = grouped
        out.append(vals)
    return out


def _coeff_block(lams: list[Ext], ext: bool) -> np.ndarray:
    """DEEP coefficients for a block of columns: ext columns take (l, l X, .., l X^(D-1)) on their D parts."""
    rows = []
    d = lams[0].D if lams else 2
    x = ext_gen(d)
    for lam in lams:
        rows.append(lam.to_list())
        if ext:
            for _ in range(d - 1):
                lam = lam * x
                rows.append(lam.to_list())
    return np.array(rows, dtype=np.uint64).reshape(-1, d)


def prove(pk: ProvingKey, traces: list[np.ndarray], public: PublicValues | None = None, *,
          seed: bytes | None = None, debug: bool = False,
          progress: Callable[[str], None] | None = None,
          _allow_invalid: bool = False, _hooks: dict | None = None) -> StarkProof:
    """Prove that ``traces`` satisfy the statement of ``pk``.

    Args:
        pk: proving key from ``zkvm.stark.setup.setup``.
        traces: per table, its main trace ``(main_width, n)`` (``uint64``).
        public: public values (per-table publics, verifier-side bus terms).
        seed: only for tests: makes the zk randomness deterministic.
        debug: check every constraint and the bus balance first and raise a
            ``ProverError`` naming the chip, constraint and row that fail.
        progress: called with the name of each step as it starts.
        _allow_invalid: tests only: build a proof even when the constraints do
            not hold (its quotient is truncated), to check the verifier rejects it.
        _hooks: tests only: ``{"perm": f(perm_evals), "quot": f(quot_coeffs)}`` edit
            the LogUp columns or quotient chunks before they are committed.

    Raises:
        ProverError: the witness does not satisfy the constraints.
    """
    lay, vk, cfg = pk.layout, pk.vk, pk.vk.security
    D = cfg.ext_degree
    public = public or PublicValues([[] for _ in range(lay.n_original)])
    if not public.table_publics:
        public = PublicValues([[] for _ in range(lay.n_original)], public.bus_terms, public.meta)
    pubs = lay.publics(public.table_publics)
    rng = Randomness(seed)
    note = progress or (lambda s: None)
    if len(traces) != lay.n_original or len(public.table_publics) != lay.n_original:
        raise ProverError(f"expected {lay.n_original} traces and public blocks, got "
                          f"{len(traces)} and {len(public.table_publics)}")
    traces = _with_blinding(lay, list(traces), rng)
    main_evals = {}
    for t, tr in zip(lay.tables, traces):
        tr = np.ascontiguousarray(tr, dtype=np.uint64)
        if tr.shape != (t.air.main_width, t.n):
            raise ProverError(f"table {t.air.name!r}: trace shape {tr.shape}, expected "
                              f"{(t.air.main_width, t.n)}")
        if tr.size and tr.max() >= np.uint64(P):
            raise ProverError(f"table {t.air.name!r}: trace values must be canonical (< p)")
        main_evals[t.index] = tr
    pre_evals = {i: pk.pre_trace[i] for i in pk.pre_trace}
    if debug:
        check_constraints(lay, main_evals, pre_evals, pubs)
        check_bus(lay, main_evals, pre_evals, pubs, public.bus_terms)

    # 1. Seed the transcript with the whole claim.
    vk_digest = vk.digest()
    tr = seed_transcript(vk_digest, cfg.to_dict(), lay.zk, public)

    # 2. Commit the main traces.
    note("commit main")
    main = _commit(pk, "main", main_evals, rng, lay.zk)
    main_roots = [main.tree.root]
    for r in main_roots:
        tr.observe_digest(r)

    # 3. Draw the LogUp challenges.
    bus_alpha = tr.sample_ext(D)
    beta = tr.sample_ext(D)
    max_tuple = max((t.info.plan.max_tuple for t in lay.tables), default=0)
    betas = powers(beta, max_tuple + 1)[1:]

    # 4. Commit the LogUp columns and send the claimed sums.
    note("logup")
    perm_evals, claimed = {}, {}
    for t in lay.interacting:
        perm_evals[t.index], claimed[t.index] = _logup_columns(
            t, main_evals[t.index], pre_evals.get(t.index), pubs[t.index],
            bus_alpha, betas)
    hooks = _hooks or {}
    if "perm" in hooks:
        hooks["perm"](perm_evals)
    perm = _commit(pk, "perm", perm_evals, rng, lay.zk) if perm_evals else None
    perm_roots = [perm.tree.root] if perm else []
    for r in perm_roots:
        tr.observe_digest(r)
    claimed_list = [claimed[t.index] for t in lay.interacting]
    tr.observe_ext(claimed_list)

    # 5. Draw the constraint-combination challenge.
    alpha = tr.sample_ext(D)

    # 6. Quotients: chunks per table, plus the zk mask of each group's DEEP batch.
    note("quotient")
    quot_coeffs, quot_lde, quot_groups = {}, {}, {}
    masks: dict[int, np.ndarray] = {}
    for g in lay.group_logs:
        parts = []
        for t in lay.groups[g]:
            c = _quotient_chunks(pk, t, main, perm, pubs[t.index], alpha,
                                 bus_alpha, betas, claimed.get(t.index), rng, _allow_invalid)
            if "quot" in hooks:
                c = hooks["quot"](t.index, c)
            quot_coeffs[t.index] = c
            quot_lde[t.index] = extend(c, t)
            parts.append(quot_lde[t.index])
        if lay.zk:
            t0 = lay.groups[g][0]
            masks[g] = extend(rng.field((D, 1 << t0.log_ext)), t0)
            parts.append(masks[g])
        quot_groups[g] = parts
    quot_tree = MixedMerkleTree(mixed_groups(
        quot_groups, lay.group_logs, lay.leaf_log("quot"), rng.salts if lay.zk else None,
        SALT_WORDS if lay.zk else 0), hash=cfg.hash)
    quot_roots = [quot_tree.root]
    for r in quot_roots:
        tr.observe_digest(r)

    # 7. Draw the out-of-domain point.
    z = sample_ood_point(tr, D)

    # 8. Send every column at z and z*w.
    note("out-of-domain values")
    ood: list[list[Ext]] = []
    ext_d = len(z.to_list())  # the extension degree D
    z_pows = K.ext_powers(z, max(t.n << int(lay.zk) for t in lay.tables)).T
    for t in lay.tables:
        zw = z * t.omega
        m_t = t.n << int(lay.zk)  # n': the longest coefficient array of the table
        both = np.concatenate([z_pows[:, :m_t], K.ext_powers(zw, m_t).T])  # (2D, m_t)
        pre_c = pk.pre_coeffs.get(t.index)
        main_c = main.coeffs.get(t.index)
        perm_c = perm.coeffs.get(t.index) if perm else None
        pre_v = _ood_values(pre_c, both, False, z)
        main_v = _ood_values(main_c, both, False, z)
        perm_v = _ood_values(perm_c, both, True, z)
        quot_v = _ood_values(quot_coeffs[t.index], both[:ext_d], True, z)  # chunks: at z only
        vals = pre_v[0] + main_v[0] + perm_v[0] + quot_v[0] + pre_v[1] + main_v[1] + perm_v[1]
        assert len(vals) == t.n_ood
        _check_at_z(t, vals, z, alpha, bus_alpha, betas, claimed.get(t.index), pubs[t.index],
                    _allow_invalid)
        ood.append(vals)
        tr.observe_ext(vals)

    # 9. DEEP composition, one codeword per group (after grinding: the batch's error grows
    #    with its size, see zkvm.fri.security.security_bits).
    note("DEEP")
    deep_nonce = tr.grind(cfg.deep_pow_bits)
    lam = tr.sample_ext(D)
    inputs = {}
    for g in lay.group_logs:
        lams = powers(lam, lay.deep_coefficients_count(g))
        size = 1 << g
        t0 = lay.groups[g][0]
        xs = K.mul(K.powers(root_of_unity(g), size), np.uint64(t0.shift))
        # The batches are linear in the columns, so they are formed on the coefficients
        # (n' per column instead of n' * blowup LDE points) and extended once.
        n_ext = 1 << t0.log_ext
        ext_d = len(lam.to_list())
        fz = np.zeros((n_ext, ext_d), dtype=np.uint64)
        fzw = np.zeros((n_ext, ext_d), dtype=np.uint64)
        vz, vzw = type(lam)(0), type(lam)(0)
        k = 0
        for t in lay.groups[g]:
            vals = ood[t.index]
            blocks_z = [(pk.pre_coeffs.get(t.index), False), (main.coeffs.get(t.index), False),
                        (perm.coeffs.get(t.index) if perm else None, True),
                        (quot_coeffs[t.index], True)]
            i = 0
            for cs, ext in blocks_z:
                if cs is None or not cs.shape[0]:
                    continue
                cnt = cs.shape[0] // (ext_d if ext else 1)
                lincomb(cs, _coeff_block(lams[k:k + cnt], ext), fz)
                for j in range(cnt):
                    vz = vz + lams[k + j] * vals[i + j]
                k += cnt
                i += cnt
            for cs, ext in blocks_z[:3]:
                if cs is None or not cs.shape[0]:
                    continue
                cnt = cs.shape[0] // (ext_d if ext else 1)
                lincomb(cs, _coeff_block(lams[k:k + cnt], ext), fzw)
                for j in range(cnt):
                    vzw = vzw + lams[k + j] * vals[i + j]
                k += cnt
                i += cnt
        ev = extend(np.concatenate([fz.T, fzw.T]), t0)  # (2D, size)
        fz = np.ascontiguousarray(ev[:ext_d].T)
        fzw = np.ascontiguousarray(ev[ext_d:].T)
        zw = z * t0.omega
        xz = K.ext_batch_inv(K.ext_sub(K.ext_from_base(xs, D), np.array(z.to_list(), np.uint64)))
        xzw = K.ext_batch_inv(K.ext_sub(K.ext_from_base(xs, D), np.array(zw.to_list(), np.uint64)))
        deep = K.ext_add(
            K.ext_mul(K.ext_sub(fz, np.array(vz.to_list(), np.uint64)), xz),
            K.ext_mul(K.ext_sub(fzw, np.array(vzw.to_list(), np.uint64)), xzw))
        if lay.zk:
            deep = K.ext_add(deep, np.ascontiguousarray(masks[g].T))
        inputs[g] = deep

    # 10. FRI.
    note("FRI")
    fri_proof, queries = fri.prove(inputs, cfg, tr)

    # 11. Open every phase's tree at the query positions.
    note("openings")
    queries = np.asarray(queries, dtype=np.int64)
    openings = []
    all_trees = {"pre": pk.pre_tree, "main": main.tree,
                 "perm": perm.tree if perm else None, "quot": quot_tree}
    for phase, _ in lay.trees:  # the leaf level sees the query mod its size
        leaf_log = lay.tree_shape(phase)[0][0]
        openings.append(all_trees[phase].open(queries & ((1 << leaf_log) - 1)))

    return StarkProof(
        vk_digest=vk_digest, security=cfg.name, zk=lay.zk, public=public,
        main_roots=main_roots, perm_roots=perm_roots,
        claimed_sums=[c.to_list() for c in claimed_list], quot_roots=quot_roots,
        ood=[[x for v in vals for x in v.to_list()] for vals in ood], deep_pow_nonce=deep_nonce,
        fri=fri_proof.to_dict(), openings=openings)
