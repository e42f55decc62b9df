"""FRI prover (Ben-Sasson, Bentov, Horesh, Riabzev, "Fast Reed-Solomon IOP of proximity", ICALP 2018).

Arity-2 folding over the Goldilocks extension of degree D (2 or 3, the
``ext_degree`` of the parameters; codewords are ``(n, D)``), on cosets of the
two-adic subgroups: an input of size ``n`` is evaluated on
``GENERATOR^(N/n) * H_n`` (``N`` the largest input), natural order, so that
squaring maps each domain onto the next one. With ``x`` the point at index
``i < n/2`` (``-x`` sits at ``i + n/2``), one fold is

    f'(x^2) = (f(x) + f(-x)) / 2 + beta * (f(x) - f(-x)) / (2x),

with a fresh ``beta`` drawn after the layer's root is absorbed. When the
folded codeword reaches the size of another input, that input is added with a
fresh challenge multiplier ``gamma`` before the layer is committed (batching
mixed-height inputs, as in Plonky3's two-adic FRI). A layer's Merkle leaf
``i`` holds ``[f(x_i), f(-x_i)]`` so each query opens one leaf per fold.
The last codeword (``2^(log_final_poly_len + log_blowup)`` points, or less
for small inputs) is sent as its polynomial's coefficients. Then grinding,
then query indices over the largest domain, then the openings.

The verifier lives in :mod:`zkvm.fri.fri_verify` (re-exported here as
:func:`verify`) and imports no numba.

Steps carry the same numbers in :func:`prove` and :func:`~zkvm.fri.fri_verify.verify`.
"""

from __future__ import annotations

import numpy as np

from zkvm.field.scalar import GENERATOR, P, Ext, root_of_unity, s_inv, s_pow
from zkvm.fri.fri_types import (
    FriError,
    FriFinalPolyMismatch,
    FriFoldMismatch,
    FriInputMismatch,
    FriMerkleError,
    FriPowInvalid,
    FriProof,
    FriShape,
    FriShapeError,
    InsufficientSecurity,
    fri_shape,
)
from zkvm.fri.fri_verify import verify
from zkvm.fri.merkle import MerkleTree
from zkvm.fri.security import SecurityConfig
from zkvm.fri.transcript import Transcript

__all__ = [
    "FriError",
    "FriFinalPolyMismatch",
    "FriFoldMismatch",
    "FriInputMismatch",
    "FriMerkleError",
    "FriPowInvalid",
    "FriProof",
    "FriShape",
    "FriShapeError",
    "InsufficientSecurity",
    "fold",
    "fri_shape",
    "prove",
    "verify",
]

_INV2 = (P + 1) // 2


def _ext_arr(e: Ext) -> np.ndarray:
    return np.array(e.to_list(), dtype=np.uint64)


def fold(f: np.ndarray, beta: Ext, shift: int) -> np.ndarray:
    """One arity-2 FRI fold of an ext codeword on ``shift * H_n`` (natural order).

    Uses the prover's fused numba kernel (:mod:`zkvm.fri.fri_kernels`, which folds
    codewords kept as Merkle leaves) on ``f``'s leaves; :func:`fold_reference` is the
    same map built from the field's array ops.

    Args:
        f: ``uint64 (n, D)`` evaluations, ``f[i] = f(shift * w_n^i)``.
        beta: the folding challenge.
        shift: the coset shift of ``f``'s domain.

    Returns:
        ``uint64 (n/2, D)`` evaluations on ``shift^2 * H_{n/2}``.
    """
    from zkvm.fri.fri_kernels import fold_leaves_kernel

    n, d = f.shape
    if n < 4:  # the leaf kernel writes pairs of the next layer
        return fold_reference(f, beta, shift)
    log_n = n.bit_length() - 1
    lv = fold_leaves_kernel(_leaves(np.asarray(f, dtype=np.uint64)), beta.coeffs,
                            _INV2 * s_inv(shift) % P, s_inv(root_of_unity(log_n)))
    return np.concatenate([lv[:, :d], lv[:, d:]])


def fold_reference(f: np.ndarray, beta: Ext, shift: int) -> np.ndarray:
    """:func:`fold` composed from ``zkvm.field`` array operations (the test oracle).

    Args:
        f: ``uint64 (n, D)`` evaluations, ``f[i] = f(shift * w_n^i)``.
        beta: the folding challenge.
        shift: the coset shift of ``f``'s domain.

    Returns:
        ``uint64 (n/2, D)`` evaluations on ``shift^2 * H_{n/2}``.
    """
    from zkvm.field import ext_add, ext_mul, ext_mul_base, ext_sub, mul, powers

    n = f.shape[0]
    half = n // 2
    log_n = n.bit_length() - 1
    a, b = f[:half], f[half:]
    # 1 / (2 x_i) = (1/2) * shift^-1 * w_n^-i
    w_inv = s_inv(root_of_unity(log_n))
    inv_2x = mul(powers(w_inv, half), np.uint64(_INV2 * s_inv(shift) % P))
    even = ext_mul_base(ext_add(a, b), np.uint64(_INV2))
    odd = ext_mul_base(ext_sub(a, b), inv_2x)
    return ext_add(even, ext_mul(odd, _ext_arr(beta)))


def _leaves(f: np.ndarray) -> np.ndarray:
    """Leaf rows ``[f(x_i).c0, f(x_i).c1, f(-x_i).c0, f(-x_i).c1]`` for ``i < n/2``."""
    half = f.shape[0] // 2
    return np.ascontiguousarray(np.concatenate([f[:half], f[half:]], axis=1))


def _final_polynomial(f: np.ndarray, shift: int, length: int) -> np.ndarray:
    """The first ``length`` coefficients ``(length, D)`` of the last codeword ``f`` on ``shift * H``.

    An honest last codeword has degree < ``length``, so nothing is dropped; the
    verifier checks every query against this polynomial.
    """
    from zkvm.poly import coset_intt

    coeffs = coset_intt(np.ascontiguousarray(f.T), shift)  # (d, n_final)
    return np.ascontiguousarray(coeffs[:, :length].T)


def prove(
    inputs: dict[int, np.ndarray], cfg: SecurityConfig, transcript: Transcript
) -> tuple[FriProof, np.ndarray]:
    """Prove that every input is close to a polynomial of degree ``< n >> log_blowup``.

    Args:
        inputs: ``log_n -> uint64 (2^log_n, D)`` ext codewords (D = ``cfg.ext_degree``) on
            ``GENERATOR^(N/n) * H_n`` (natural order).
        cfg: security parameters (blowup, queries, grinding, final length).
        transcript: the Fiat-Shamir transcript, already bound to everything
            the inputs depend on.

    Returns:
        ``(proof, query_indices)``: the indices (``int64``, over the largest
        domain) at which the caller must open its own commitments.

    Raises:
        FriShapeError: if the input sizes do not fit the parameters.
    """
    from zkvm.field import ext_add, ext_mul

    shape = fri_shape(cfg, inputs.keys())
    d = cfg.ext_degree
    for log_n, cw in inputs.items():
        if cw.shape != (1 << log_n, d):
            raise FriShapeError(f"input 2^{log_n} has shape {cw.shape}, expected ({1 << log_n}, {d})")
    log_n0 = shape.log_n
    from zkvm.fri.fri_kernels import fold_leaves_kernel

    f = np.ascontiguousarray(inputs[log_n0], dtype=np.uint64)
    # Layers are kept in leaf layout, row i = [f(x_i), f(-x_i)]: the fold reads
    # and writes that layout directly, so no copy is made per layer.
    lv = _leaves(f) if shape.n_layers else f
    trees: list[MerkleTree] = []
    # 1. Commit phase: commit, draw beta, fold, add the next input (if any).
    for k in range(shape.n_layers):
        tree = MerkleTree(lv, hash=cfg.hash)
        trees.append(tree)
        transcript.observe_digest(tree.root)
        beta = transcript.sample_ext(d)
        log_n = log_n0 - k
        lv = fold_leaves_kernel(
            lv,
            beta.coeffs,
            _INV2 * s_inv(s_pow(GENERATOR, 1 << k)) % P,
            s_inv(root_of_unity(log_n)),
        )
        log_next = log_n - 1
        if log_next in inputs:
            gamma = transcript.sample_ext(d)
            extra = _leaves(np.asarray(inputs[log_next], dtype=np.uint64))
            lv = ext_add(lv.reshape(-1, d), ext_mul(extra.reshape(-1, d), _ext_arr(gamma))).reshape(-1, 2 * d)
    if shape.n_layers:
        f = np.concatenate([lv[:, :d], lv[:, d:]])
    # 2. Final polynomial: coefficients of the last codeword, absorbed.
    final_poly = _final_polynomial(f, s_pow(GENERATOR, 1 << shape.n_layers), shape.final_poly_len)
    transcript.observe_ext(final_poly)
    # 3. Grinding.
    nonce = transcript.grind(cfg.pow_bits)
    # 4. Query indices over the largest domain.
    indices = transcript.sample_indices(cfg.n_queries, log_n0)
    # 5. Openings: one leaf per layer and query.
    openings = []
    for k, tree in enumerate(trees):
        half = 1 << (log_n0 - k - 1)
        openings.append(tree.open(indices % half))
    proof = FriProof(
        layer_roots=[t.root for t in trees],
        final_poly=final_poly,
        pow_nonce=nonce,
        openings=openings,
    )
    return proof, indices
