"""FRI verifier (plain Python ints, numpy and the ``blake3`` package; no numba).

Mirrors :func:`zkvm.fri.fri.prove` step by step. Order of checks (Winterfell
style): 0. security level of the parameters; 1. the proof's shape against
what the parameters and input sizes fix; 2. transcript replay and proof of
work; 3. Merkle openings, then the fold arithmetic and the final polynomial.
Values are lists of D = ``cfg.ext_degree`` ints (F_p[X]/(X^D - 7)), one
fold loop for both degrees (the fold and the product are
:func:`zkvm.field.ext_ints.ext_ops`'s degree kernels).
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from zkvm.field.ext_ints import ext_ops
from zkvm.field.scalar import GENERATOR, P, root_of_unity
from zkvm.fri.fri_types import (
    FriFinalPolyMismatch,
    FriFoldMismatch,
    FriInputMismatch,
    FriMerkleError,
    FriPowInvalid,
    FriProof,
    FriShapeError,
    InsufficientSecurity,
    fri_shape,
)
from zkvm.fri.merkle_verify import MerklePathInvalid
from zkvm.fri.merkle_verify import verify as merkle_verify
from zkvm.fri.security import SecurityConfig, security_bits
from zkvm.fri.transcript import Transcript

_INV2 = (P + 1) // 2

InputValues = Callable[[int, np.ndarray], np.ndarray]


def _ints(arr: np.ndarray, n: int, what: str, d: int = 2) -> list[list[int]]:
    a = np.asarray(arr)
    if a.shape != (n, d):
        raise FriShapeError(f"{what}: expected shape ({n}, {d}), got {a.shape}")
    a = a.astype(np.uint64)
    if n and int(a.max()) >= P:
        raise FriShapeError(f"{what}: non-canonical field element")
    return a.tolist()


def verify(
    proof: FriProof,
    cfg: SecurityConfig,
    transcript: Transcript,
    log_sizes: Sequence[int],
    input_values: InputValues,
    min_bits: float = 0.0,
    max_constraint_degree: int = 1,
) -> np.ndarray:
    """Verify a FRI proof; raise a :class:`~zkvm.fri.fri_types.FriError` subclass on failure.

    Args:
        proof: the proof.
        cfg: the parameters (the caller's, e.g. from the verifying key).
        transcript: the transcript in the same state as the prover's at FRI's start.
        log_sizes: the inputs' log sizes (fixed by the caller, never the proof).
        input_values: ``input_values(log_n, indices) -> uint64 (len(indices), D)``,
            each input's value at the given positions of its own domain.
        min_bits: refuse parameters whose conjectured security is lower.
        max_constraint_degree: passed to :func:`security_bits` for ``min_bits``.

    Returns:
        The query indices over the largest domain (as the prover's
        ``prove`` returned them), for callers that open their own trees there.

    Raises:
        InsufficientSecurity, FriShapeError, FriPowInvalid, FriMerkleError,
        FriInputMismatch, FriFoldMismatch, FriFinalPolyMismatch.
    """
    # 0. Security of the parameters, before anything else.
    shape = fri_shape(cfg, log_sizes)
    log_n0 = shape.log_n
    if min_bits > 0:
        bits = security_bits(
            cfg,
            trace_log_height=log_n0 - cfg.log_blowup,
            max_constraint_degree=max_constraint_degree,
        ).conjectured
        if bits < min_bits:
            raise InsufficientSecurity(
                f"parameters {cfg.name!r} give {bits:.1f} conjectured bits < required {min_bits}"
            )
    # 1. Shape: every count and length fixed by cfg and the sizes.
    if len(proof.layer_roots) != shape.n_layers:
        raise FriShapeError(f"expected {shape.n_layers} layer roots, got {len(proof.layer_roots)}")
    if len(proof.openings) != shape.n_layers:
        raise FriShapeError(f"expected {shape.n_layers} layer openings, got {len(proof.openings)}")
    for r in proof.layer_roots:
        if not isinstance(r, (bytes, bytearray)) or len(r) != 32:
            raise FriShapeError("a layer root is not 32 bytes")
    d = cfg.ext_degree
    final = _ints(proof.final_poly, shape.final_poly_len, "final polynomial", d)
    inputs = set(shape.input_logs)

    # 2. Replay: roots and challenges, final polynomial, grinding, indices.
    betas = []
    gammas: dict[int, tuple[int, ...]] = {}
    for k in range(shape.n_layers):
        transcript.observe_digest(proof.layer_roots[k])
        b = transcript.sample_ext(d)
        betas.append(b.coeffs)
        log_next = log_n0 - k - 1
        if log_next in inputs:
            g = transcript.sample_ext(d)
            gammas[log_next] = g.coeffs
    transcript.observe_ext(np.asarray(proof.final_poly, dtype=np.uint64).reshape(-1, d))
    if not transcript.check_pow(cfg.pow_bits, int(proof.pow_nonce)):
        raise FriPowInvalid(f"proof-of-work nonce {proof.pow_nonce} does not give {cfg.pow_bits} bits")
    indices = transcript.sample_indices(cfg.n_queries, log_n0)
    idx = [int(i) for i in indices.tolist()]
    n_q = len(idx)
    ops = ext_ops(d)

    # 3. Layer 0 values come from the caller (DEEP consistency).
    cur = _ints(input_values(log_n0, indices), n_q, f"input values 2^{log_n0}", d)
    # y[q]: the point of the query's position in the current layer, and its inverse;
    # squaring moves both to the next layer (position idx mod n maps to idx mod n/2).
    w0 = root_of_unity(log_n0)
    y = [GENERATOR * pow(w0, i, P) % P for i in idx]
    w0_inv = pow(w0, P - 2, P)
    g_inv = pow(GENERATOR, P - 2, P)
    y_inv = [g_inv * pow(w0_inv, i, P) % P for i in idx]
    for k in range(shape.n_layers):
        log_n = log_n0 - k
        half = 1 << (log_n - 1)
        leaf_of = [i & (half - 1) for i in idx]
        uniq = sorted(set(leaf_of))
        op = proof.openings[k]
        if op.salts is not None:
            raise FriShapeError(f"layer {k}: FRI leaves are not salted, but the opening carries salts")
        rows = np.asarray(op.rows)
        if rows.shape != (len(uniq), 2 * d):
            raise FriShapeError(f"layer {k}: expected opened rows ({len(uniq)}, {2 * d}), got {rows.shape}")
        if len(uniq) and int(rows.astype(np.uint64).max()) >= P:
            raise FriShapeError(f"layer {k}: non-canonical field element in opening")
        try:
            merkle_verify(proof.layer_roots[k], log_n - 1, uniq, rows, op, tree=f"fri layer {k}",
                          hash=cfg.hash)
        except MerklePathInvalid as e:
            raise FriMerkleError(f"FRI layer {k} opening invalid: {e}", layer=k) from e
        row_at = dict(zip(uniq, rows.tolist()))
        log_next = log_n - 1
        joined = None
        if log_next in inputs:
            sub = np.array([i & (half - 1) for i in idx], dtype=np.int64)
            joined = _ints(input_values(log_next, sub), n_q, f"input values 2^{log_next}", d)
        beta, gamma = betas[k], gammas.get(log_next)
        for q in range(n_q):
            r = row_at[leaf_of[q]]  # [f(x), f(-x)], D ints each
            if idx[q] & ((1 << log_n) - 1) < half:
                mine = r[:d]
                t = _INV2 * y_inv[q] % P  # 1/(2x), x = the point at the leaf position
            else:
                mine = r[d:]
                t = (P - _INV2) * y_inv[q] % P  # the leaf's point is -y
            if mine != cur[q]:
                if k == 0:
                    raise FriInputMismatch("layer-0 opened value differs from the input value", idx[q])
                raise FriFoldMismatch("opened value differs from the folded value", k, idx[q])
            y[q] = y[q] * y[q] % P
            y_inv[q] = y_inv[q] * y_inv[q] % P
            # (a + c)/2 + beta (a - c) / (2x)  (+ gamma * the input joining here)
            v = ops.fold(r, t, beta)
            if joined is None:
                cur[q] = [x % P for x in v]
            else:
                cur[q] = [(x + g) % P for x, g in zip(v, ops.mul(gamma, joined[q]))]
    # 4. Final polynomial at each query's point of the last domain.
    parts = list(zip(*final[::-1])) or [()] * d  # each coefficient part, highest degree first
    for q in range(n_q):
        x, v = y[q], []
        for part in parts:  # Horner, one coefficient part at a time
            vj = 0
            for c in part:
                vj = (vj * x + c) % P
            v.append(vj)
        if v != cur[q]:
            if shape.n_layers == 0:
                raise FriInputMismatch("input value differs from the final polynomial", idx[q])
            raise FriFinalPolyMismatch("folded value differs from the final polynomial", idx[q])
    return indices
