"""Number-theoretic transforms over Goldilocks (numba kernels), coset LDE and
barycentric evaluation of many columns at an extension point.

Conventions (docs/architecture.md section 2): ``w_n = root_of_unity(log_n)``,
``H_n = <w_n>``, evaluations in natural order (``evals[i] = f(shift * w_n^i)``),
coefficients ascending; 1-D arrays are one column, 2-D ``(n_cols, n)`` arrays a
batch (one polynomial per row). Inputs are never mutated.

The transform is the iterative radix-2 Cooley-Tukey DIT (bit-reversal, then
log n butterfly stages). Twiddles for size n are stored as one table ``tw`` of
length n with ``tw[m + j] = w_{2m}^j`` (stage with half-size m reads the
contiguous slice ``tw[m:2m]``), cached per (log_n, direction). Small stages
(butterfly span < 2^BLOCK_LOG) run block by block inside the cache; the rest
run as one parallel loop over every butterfly of the batch.

For an extension column (shape ``(n, 2)``), pass its transpose ``e.T`` (shape
``(2, n)``): the transforms are linear over F_p.
"""

from __future__ import annotations

from functools import lru_cache

import numba
import numpy as np
from numba import prange

from zkvm.field.kernels import _reduce128, addmod, mulmod, submod
from zkvm.field.kernels import ext_batch_inv, ext_mul, ext_mul_base, mul, powers, sub
from zkvm.field.scalar import P, TWO_ADICITY, Ext, root_of_unity, s_inv

__all__ = ["ntt", "intt", "coset_ntt", "coset_intt", "lde", "barycentric_eval"]

ONE = np.uint64(1)
ZERO = np.uint64(0)
BLOCK_LOG = 12  # butterfly blocks of 2^12 elements (32 KiB) stay in L1/L2
_PAR_MIN = 1 << 13  # below this many elements, run the serial kernels

_JIT = dict(cache=True, nogil=True)


# ---------------------------------------------------------------------------
# tables
# ---------------------------------------------------------------------------
@lru_cache(maxsize=64)
def _twiddles(log_n: int, inverse: bool) -> np.ndarray:
    n = 1 << log_n
    tw = np.zeros(max(n, 2), dtype=np.uint64)
    for s in range(log_n):
        m = 1 << s
        w = root_of_unity(s + 1)
        if inverse:
            w = s_inv(w)
        tw[m : 2 * m] = powers(w, m)
    tw.setflags(write=False)
    return tw


@lru_cache(maxsize=64)
def _bitrev(log_n: int) -> np.ndarray:
    n = 1 << log_n
    idx = np.arange(n, dtype=np.int64)
    rev = np.zeros(n, dtype=np.int64)
    for b in range(log_n):
        rev |= ((idx >> b) & 1) << (log_n - 1 - b)
    rev.setflags(write=False)
    return rev


# ---------------------------------------------------------------------------
# kernels
# ---------------------------------------------------------------------------
@numba.njit(inline="always", **_JIT)
def _block_stages(a, r, base, tw, s0, s1):
    """Stages s0..s1-1 on the 2^s1-element block of row r starting at base."""
    size = 1 << s1
    for s in range(s0, s1):
        m = 1 << s
        for start in range(base, base + size, 2 * m):
            for j in range(m):
                w = tw[m + j]
                i0 = start + j
                x = a[r, i0]
                y = mulmod(a[r, i0 + m], w)
                a[r, i0] = addmod(x, y)
                a[r, i0 + m] = submod(x, y)


@numba.njit(parallel=True, **_JIT)
def _dit_par(a, tw, log_n, s0):
    """In-place DIT stages s0..log_n-1 on bit-reversed rows of ``a`` (parallel)."""
    rows = a.shape[0]
    n = 1 << log_n
    bl = min(BLOCK_LOG, log_n)
    if s0 < bl:
        nblk = n >> bl
        for k in prange(rows * nblk):
            r = k // nblk
            b = k - r * nblk
            _block_stages(a, r, b << bl, tw, s0, bl)
        s0 = bl
    half = n >> 1
    for s in range(s0, log_n):
        m = 1 << s
        for k in prange(rows * half):
            r = k >> (log_n - 1)
            t = k & (half - 1)
            j = t & (m - 1)
            i0 = ((t >> s) << (s + 1)) + j
            w = tw[m + j]
            x = a[r, i0]
            y = mulmod(a[r, i0 + m], w)
            a[r, i0] = addmod(x, y)
            a[r, i0 + m] = submod(x, y)


@numba.njit(**_JIT)
def _dit_ser(a, tw, log_n, s0):
    """Serial twin of :func:`_dit_par` for small inputs (no thread start-up)."""
    for r in range(a.shape[0]):
        _block_stages(a, r, 0, tw, s0, log_n)


@numba.njit(parallel=True, **_JIT)
def _permute_scale(src, rev, scale, rep, dst):
    """dst[r, i*rep + t] = src[r, rev[i]] * scale[rev[i]] for t < rep (scale may be empty)."""
    rows, n = src.shape
    has_scale = scale.shape[0] > 0
    for k in prange(rows * n):
        r = k // n
        i = k - r * n
        j = rev[i]
        v = src[r, j]
        if has_scale:
            v = mulmod(v, scale[j])
        for t in range(rep):
            dst[r, i * rep + t] = v


@numba.njit(parallel=True, **_JIT)
def _scale_rows(a, scale):
    rows, n = a.shape
    for k in prange(rows * n):
        r = k // n
        i = k - r * n
        a[r, i] = mulmod(a[r, i], scale[i])


@numba.njit(parallel=True, **_JIT)
def _bary_k(evals, w0, w1):
    rows, n = evals.shape
    out = np.empty((rows, 2), dtype=np.uint64)
    for r in prange(rows):
        lo0 = ZERO
        hi0 = ZERO
        lo1 = ZERO
        hi1 = ZERO
        for i in range(n):
            f = evals[r, i]
            x = mulmod(f, w0[i])
            lo0 += x
            if lo0 < x:
                hi0 += ONE
            y = mulmod(f, w1[i])
            lo1 += y
            if lo1 < y:
                hi1 += ONE
        out[r, 0] = _reduce128(hi0, lo0)
        out[r, 1] = _reduce128(hi1, lo1)
    return out


# ---------------------------------------------------------------------------
# drivers
# ---------------------------------------------------------------------------
def _as_batch(a) -> tuple[np.ndarray, bool]:
    a = np.asarray(a)
    if a.dtype != np.uint64:
        a = a.astype(np.uint64)
    if a.ndim == 1:
        return a.reshape(1, -1), True
    if a.ndim != 2:
        raise ValueError(f"expected a 1-D column or a 2-D (n_cols, n) batch, got shape {a.shape}")
    return a, False


def _log2(n: int) -> int:
    log_n = n.bit_length() - 1
    if n < 1 or (1 << log_n) != n:
        raise ValueError(f"length {n} is not a power of two")
    if log_n > TWO_ADICITY:
        raise ValueError(f"length 2^{log_n} exceeds the two-adicity 2^{TWO_ADICITY}")
    return log_n


_EMPTY = np.zeros(0, dtype=np.uint64)


def _transform(a2: np.ndarray, log_n: int, inverse: bool, scale: np.ndarray, rep_log: int = 0):
    """Bit-reverse (pre-scaling by ``scale``, replicating each entry 2^rep_log times), then DIT."""
    rows, n = a2.shape
    log_out = log_n + rep_log
    out = np.empty((rows, n << rep_log), dtype=np.uint64)
    _permute_scale(np.ascontiguousarray(a2), _bitrev(log_n), scale, 1 << rep_log, out)
    tw = _twiddles(log_out, inverse)
    if out.size >= _PAR_MIN:
        _dit_par(out, tw, log_out, rep_log)
    else:
        _dit_ser(out, tw, log_out, rep_log)
    return out


def ntt(coeffs: np.ndarray) -> np.ndarray:
    """Evaluate on ``H_n`` in natural order: ``evals[..., i] = f(w_n^i)``.

    Args:
        coeffs: uint64 array, 1-D (n,) or 2-D (n_cols, n), n a power of two.

    Returns:
        A new uint64 array of the same shape.
    """
    a2, one = _as_batch(coeffs)
    log_n = _log2(a2.shape[1])
    out = _transform(a2, log_n, False, _EMPTY)
    return out[0] if one else out


def intt(evals: np.ndarray) -> np.ndarray:
    """Coefficients from evaluations on ``H_n`` (inverse of :func:`ntt`)."""
    return coset_intt(evals, 1)


def coset_ntt(coeffs: np.ndarray, shift: int) -> np.ndarray:
    """Evaluate on the coset ``shift * H_n``: ``evals[..., i] = f(shift * w_n^i)``."""
    a2, one = _as_batch(coeffs)
    log_n = _log2(a2.shape[1])
    shift = int(shift) % P
    scale = _EMPTY if shift == 1 else powers(shift, 1 << log_n)
    out = _transform(a2, log_n, False, scale)
    return out[0] if one else out


def coset_intt(evals: np.ndarray, shift: int) -> np.ndarray:
    """Coefficients from evaluations on ``shift * H_n`` (inverse of :func:`coset_ntt`)."""
    a2, one = _as_batch(evals)
    log_n = _log2(a2.shape[1])
    shift = int(shift) % P
    if shift == 0:
        raise ValueError("coset_intt: shift must be non-zero")
    out = _transform(a2, log_n, True, _EMPTY)
    ninv = s_inv(1 << log_n)
    scale = powers(s_inv(shift), 1 << log_n) if shift != 1 else None
    scale = (np.full(1 << log_n, ninv, dtype=np.uint64) if scale is None
             else _mul_scalar(scale, ninv))
    _scale_rows(out, scale)
    return out[0] if one else out


def _mul_scalar(a: np.ndarray, c: int) -> np.ndarray:
    return mul(a, np.uint64(c))


def lde(evals: np.ndarray, log_blowup: int, shift: int) -> np.ndarray:
    """Low-degree extension: evaluations on ``H_n`` -> evaluations on ``shift * H_{n 2^log_blowup}``.

    Interpolates (one inverse NTT per column), then evaluates on the larger coset.
    The zero padding is not transformed: after bit reversal each coefficient fills
    a block of 2^log_blowup entries, so the first log_blowup stages are skipped.

    Args:
        evals: 1-D (n,) or 2-D (n_cols, n) uint64 evaluations on ``H_n`` (natural order).
        log_blowup: log2 of the blowup factor (>= 0).
        shift: coset shift (a non-zero base element, typically ``GENERATOR``).

    Returns:
        uint64 array of shape (n * 2^log_blowup,) or (n_cols, n * 2^log_blowup).
    """
    a2, one = _as_batch(evals)
    log_n = _log2(a2.shape[1])
    if log_blowup < 0:
        raise ValueError(f"lde: log_blowup={log_blowup} must be >= 0")
    _log2(a2.shape[1] << log_blowup)
    shift = int(shift) % P
    coeffs = _transform(a2, log_n, True, _EMPTY)
    # coefficient i gets n^-1 * shift^i; it is applied while permuting for the big NTT
    scale = powers(shift, 1 << log_n)
    scale = _mul_scalar(scale, s_inv(1 << log_n))
    out = _transform(coeffs, log_n, False, scale, rep_log=log_blowup)
    return out[0] if one else out


def barycentric_eval(evals: np.ndarray, shift: int, z) -> np.ndarray:
    """Evaluate columns given on ``shift * H_n`` at one point ``z`` (barycentric formula).

    With x_i = shift * w_n^i:  f(z) = (z^n - shift^n) / (n * shift^n) * sum_i f_i x_i / (z - x_i).

    Args:
        evals: 1-D (n,) or 2-D (n_cols, n) uint64 evaluations in natural order.
        shift: the coset shift (1 for ``H_n``).
        z: an ``Ext`` (or a Python int).

    Returns:
        Extension values: shape (2,) for a 1-D input, (n_cols, 2) for a batch.
    """
    a2, one = _as_batch(evals)
    log_n = _log2(a2.shape[1])
    n = 1 << log_n
    z = z if isinstance(z, Ext) else Ext(int(z))
    shift = int(shift) % P
    xs = _mul_scalar(powers(root_of_unity(log_n), n), shift)
    if z.c1 == 0:
        hit = np.flatnonzero(xs == np.uint64(z.c0))
        if hit.size:  # z is a domain point: read the value off
            out = np.zeros((a2.shape[0], 2), dtype=np.uint64)
            out[:, 0] = a2[:, int(hit[0])]
            return out[0] if one else out
    d = np.empty((n, 2), dtype=np.uint64)
    d[:, 0] = sub(np.uint64(z.c0), xs)
    d[:, 1] = np.uint64(z.c1)
    w = ext_batch_inv(d)
    w = ext_mul_base(w, xs)
    sums = _bary_k(np.ascontiguousarray(a2), np.ascontiguousarray(w[:, 0]),
                   np.ascontiguousarray(w[:, 1]))
    sn = pow(shift, n, P)
    c = (z**n - sn) * s_inv(n * sn % P)
    out = ext_mul(sums, c)
    return out[0] if one else out

