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
from zkvm.field import kernels as K
from zkvm.field.extension import from_coeffs
from zkvm.field.scalar import P, Ext
from zkvm.fri import fri
from zkvm.fri.merkle import MixedMerkleTree
from zkvm.fri.transcript import Transcript
from zkvm.poly.transforms import intt
from zkvm.stark.blind import BlindedAir
from zkvm.stark.common import draw_logup_challenges, sample_ood_point, seed_transcript
from zkvm.stark.composition import quotient_chunks
from zkvm.stark.debug import check_bus, check_constraints
from zkvm.stark.deep import deep_codeword, ood_values
from zkvm.stark.errors import OodConstraintMismatch, ProverError
from zkvm.stark.kernels import ext_cumsum
from zkvm.stark.layout import StarkLayout, TableLayout
from zkvm.stark.ood import check_table_at_z
from zkvm.stark.proof import PublicValues, StarkProof
from zkvm.stark.rand import Randomness
from zkvm.stark.setup import ProvingKey, extend, mixed_groups


__all__ = ["ProverError", "prove"]  # ProverError is zkvm.stark.errors', re-exported for callers


@dataclass
class _Committed:
    coeffs: dict[int, np.ndarray]  # table index -> (w, m) coefficients
    lde: dict[int, np.ndarray]     # table index -> (w, N) evaluations
    tree: MixedMerkleTree          # the phase's tree, one row group per table group


@dataclass
class _Run:
    """What every step of one proof shares."""

    pk: ProvingKey
    rng: Randomness
    note: Callable[[str], None]
    hooks: dict
    allow_invalid: bool
    tr: Transcript | None = None

    @property
    def lay(self) -> StarkLayout:
        return self.pk.layout

    def observe(self, committed: _Committed | None) -> None:
        """Absorb a phase's root (a phase without columns has no tree)."""
        if committed is not None:
            self.tr.observe_digest(committed.tree.root)


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
                                        rng.salts if salted else None),
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


def _check_at_z(t: TableLayout, vals: list, z, alpha, bus_alpha, betas, claimed, public,
                allow_invalid: bool) -> None:
    """The verifier's own check at z on one table's OOD values: refuse to prove a falsehood.

    Runs before the values are absorbed (a test's malicious prover replaces it
    to lie about ``vals`` and carries on consistently from its lie).
    """
    if allow_invalid:
        return
    try:
        check_table_at_z(t, vals, z, alpha, bus_alpha, betas, claimed, public)
    except OodConstraintMismatch:
        raise ProverError(
            f"table {t.air.name!r}: the constraints do not hold on the trace; prove "
            "with debug=True to see which constraint and row") from None


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
    run = _Run(pk, Randomness(seed), progress or (lambda s: None), _hooks or {}, _allow_invalid)
    lay, cfg, D = pk.layout, pk.vk.security, pk.vk.security.ext_degree
    public, main_evals = _statement(run, traces, public)
    pubs = lay.publics(public.table_publics)
    if debug:
        check_constraints(lay, main_evals, pk.pre_trace, pubs)
        check_bus(lay, main_evals, pk.pre_trace, pubs, public.bus_terms)

    # 1. Seed the transcript with the whole claim.
    vk_digest = pk.vk.digest()
    tr = run.tr = seed_transcript(vk_digest, cfg.to_dict(), lay.zk, public)
    # 2. Commit the main traces.
    run.note("commit main")
    main = _commit(pk, "main", main_evals, run.rng, lay.zk)
    run.observe(main)
    # 3. Draw the LogUp challenges.
    bus_alpha, betas = draw_logup_challenges(tr, lay)
    # 4. Commit the LogUp columns and send the claimed sums.
    perm, claimed = _commit_logup(run, main_evals, pubs, bus_alpha, betas)
    # 5. Draw the constraint-combination challenge.
    alpha = tr.sample_ext(D)
    # 6. Commit the quotient chunks (and, zk, each group's DEEP mask).
    quot, masks = _commit_quotients(run, main, perm, pubs, alpha, bus_alpha, betas, claimed)
    committed = {"main": main, "perm": perm, "quot": quot}

    def columns(t: TableLayout) -> dict:
        got = {ph: c.coeffs.get(t.index) if c else None for ph, c in committed.items()}
        return {"pre": pk.pre_coeffs.get(t.index), **got}

    # 7. Draw the out-of-domain point.
    z = sample_ood_point(tr, D)
    # 8. Send every column at z and z*w (each table's constraints checked there first).
    run.note("out-of-domain values")
    ood = ood_values(lay, columns, z)
    for t, vals in zip(lay.tables, ood):
        _check_at_z(t, vals, z, alpha, bus_alpha, betas, claimed.get(t.index), pubs[t.index],
                    run.allow_invalid)
        tr.observe_ext(vals)
    # 9. DEEP: grinding, the challenge, one codeword per group.
    run.note("DEEP")
    deep_nonce = tr.grind(cfg.deep_pow_bits)
    lam = tr.sample_ext(D)
    inputs = {g: deep_codeword(lay, g, columns, ood, z, lam, masks.get(g)) for g in lay.group_logs}
    # 10. FRI.
    run.note("FRI")
    fri_proof, queries = fri.prove(inputs, cfg, tr)
    # 11. Open every phase's tree at the query positions.
    run.note("openings")
    trees = {"pre": pk.pre_tree, **{ph: c.tree for ph, c in committed.items() if c}}
    openings = _open(lay, trees, queries)

    roots = {ph: [c.tree.root] if c else [] for ph, c in committed.items()}
    return StarkProof(
        vk_digest=vk_digest, security=cfg.name, zk=lay.zk, public=public,
        main_roots=roots["main"], perm_roots=roots["perm"],
        claimed_sums=[claimed[t.index].to_list() for t in lay.interacting],
        quot_roots=roots["quot"], ood=[[x for v in vals for x in v.to_list()] for vals in ood],
        deep_pow_nonce=deep_nonce, fri=fri_proof.to_dict(), openings=openings)


def _statement(run: _Run, traces: list[np.ndarray], public: PublicValues | None
               ) -> tuple[PublicValues, dict[int, np.ndarray]]:
    """Check the traces' count, shapes and values; return the public values (empty blocks
    filled in) and every table's main trace (zk: blinding columns and table added)."""
    lay = run.lay
    public = public or PublicValues([[] for _ in range(lay.n_original)])
    if not public.table_publics:
        public = PublicValues([[] for _ in range(lay.n_original)], public.bus_terms, public.meta)
    if len(traces) != lay.n_original or len(public.table_publics) != lay.n_original:
        raise ProverError(f"expected {lay.n_original} traces and public blocks, got "
                          f"{len(traces)} and {len(public.table_publics)}")
    main_evals = {}
    for t, tr in zip(lay.tables, _with_blinding(lay, list(traces), run.rng)):
        tr = np.ascontiguousarray(tr, dtype=np.uint64)
        if tr.shape != (t.air.main_width, t.n):
            raise ProverError(f"table {t.air.name!r}: trace shape {tr.shape}, expected "
                              f"{(t.air.main_width, t.n)}")
        if tr.size and tr.max() >= np.uint64(P):
            raise ProverError(f"table {t.air.name!r}: trace values must be canonical (< p)")
        main_evals[t.index] = tr
    return public, main_evals


def _commit_logup(run: _Run, main_evals: dict, pubs: list[list[int]], bus_alpha: Ext,
                  betas: list[Ext]) -> tuple[_Committed | None, dict[int, Ext]]:
    """Step 4: every interacting table's LogUp columns committed (one tree), its claimed
    sum absorbed after the root."""
    run.note("logup")
    lay, pk = run.lay, run.pk
    perm_evals, claimed = {}, {}
    for t in lay.interacting:
        perm_evals[t.index], claimed[t.index] = _logup_columns(
            t, main_evals[t.index], pk.pre_trace.get(t.index), pubs[t.index], bus_alpha, betas)
    if "perm" in run.hooks:
        run.hooks["perm"](perm_evals)
    perm = _commit(pk, "perm", perm_evals, run.rng, lay.zk) if perm_evals else None
    run.observe(perm)
    run.tr.observe_ext([claimed[t.index] for t in lay.interacting])
    return perm, claimed


def _commit_quotients(run: _Run, main: _Committed, perm: _Committed | None,
                      pubs: list[list[int]], alpha: Ext, bus_alpha: Ext, betas: list[Ext],
                      claimed: dict[int, Ext]) -> tuple[_Committed, dict[int, np.ndarray]]:
    """Step 6: every table's quotient chunks and, zk, each group's DEEP mask, in one tree."""
    run.note("quotient")
    lay, pk, rng = run.lay, run.pk, run.rng
    D = lay.ext_degree
    coeffs, lde, groups, masks = {}, {}, {}, {}

    def cols(c: _Committed | None, t: TableLayout) -> tuple:
        return (c.lde.get(t.index), c.coeffs.get(t.index)) if c else (None, None)

    for g in lay.group_logs:
        parts = []
        for t in lay.groups[g]:
            pre = (pk.pre_lde.get(t.index), pk.pre_coeffs.get(t.index))
            c = quotient_chunks(t, cols(main, t), pre, cols(perm, t), pubs[t.index], alpha,
                                bus_alpha, betas, claimed.get(t.index), rng, lay.zk,
                                run.allow_invalid)
            if "quot" in run.hooks:
                c = run.hooks["quot"](t.index, c)
            coeffs[t.index] = c
            lde[t.index] = extend(c, t)
            parts.append(lde[t.index])
        if lay.zk:
            t0 = lay.groups[g][0]
            masks[g] = extend(rng.field((D, 1 << t0.log_ext)), t0)
            parts.append(masks[g])
        groups[g] = parts
    tree = MixedMerkleTree(mixed_groups(
        groups, lay.group_logs, lay.leaf_log("quot"), rng.salts if lay.zk else None),
        hash=pk.vk.security.hash)
    quot = _Committed(coeffs, lde, tree)
    run.observe(quot)
    return quot, masks


def _open(lay: StarkLayout, trees: dict, queries: np.ndarray) -> list:
    """Step 11: each phase's tree opened at FRI's query indices (each level of a mixed tree
    sees the index modulo its size)."""
    queries = np.asarray(queries, dtype=np.int64)
    out = []
    for phase, _ in lay.trees:
        leaf_log = lay.tree_shape(phase)[0][0]
        out.append(trees[phase].open(queries & ((1 << leaf_log) - 1)))
    return out
