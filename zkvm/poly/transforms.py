"""Number-theoretic transforms over Goldilocks (numba kernels), coset LDE and
barycentric evaluation of many columns at an extension point.

Conventions (docs/architecture.md section 2): ``w_n = root_of_unity(log_n)``,
``H_n = <w_n>``, evaluations in natural order (``evals[i] = f(shift * w_n^i)``),
coefficients ascending; 1-D arrays are one column, 2-D ``(n_cols, n)`` arrays a
batch (one polynomial per row). Inputs are never mutated.

The transform is the iterative radix-2 Cooley-Tukey DIT (bit-reversal, then
log n butterfly stages). Twiddles for size n are stored as one table ``tw`` of
length n with ``tw[m + j] = w_{2m}^j`` (stage with half-size m reads the
contiguous slice ``tw[m:2m]``), cached per (log_n, direction). Large inputs
(the parallel path) run in three passes over the whole batch: a tiled,
cache-line friendly bit reversal; stages 0..BLOCK_LOG-1 block by block inside
L2 (the first three as one radix-8 pass in registers; applying stages 0-3 to
the bit-reversal tiles instead measured 1.6-2x slower); then one pass per remaining
stage over long contiguous butterfly runs (which LLVM vectorises). Pre-scaling
(coset shifts, 1/n) and the zero padding of an LDE are folded into the
bit-reversal pass: each coefficient is written 2^log_blowup times, so the first
log_blowup stages are skipped.

For an extension column (shape ``(n, 2)``), pass its transpose ``e.T`` (shape
``(2, n)``): the transforms are linear over F_p.
"""

from __future__ import annotations

from functools import lru_cache

import numba
import numpy as np
from numba import prange

from zkvm.field.kernels import _carry, _reduce128, addmod, mulmod, submod
from zkvm.field.kernels import ext_batch_inv, ext_mul, ext_mul_base, mul, powers, sub
from zkvm.field.scalar import P, TWO_ADICITY, Ext, root_of_unity, s_inv

__all__ = ["ntt", "intt", "coset_ntt", "coset_intt", "coset_extend", "lde", "barycentric_eval"]

ONE = np.uint64(1)
ZERO = np.uint64(0)
BLOCK_LOG = 14  # low stages run on blocks of 2^14 elements (128 KiB, inside L2)
CHUNK = 1 << 12  # butterflies per work item in the high stages
_PAR_MIN = 1 << 13  # below this many elements, run the serial kernels
SMALL_M = 8  # stages with fewer butterflies per block run as a plain scalar loop

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
def _load_block(src, r, rev, scale, rep_log, dst, base, size):
    """dst[r, o] = src[r, rev[o >> rep_log]] * scale[...] for o in [base, base + size)."""
    has_scale = scale.shape[0] > 0
    rep = 1 << rep_log
    for i in range(base >> rep_log, (base + size) >> rep_log):
        j = rev[i]
        v = src[r, j]
        if has_scale:
            v = mulmod(v, scale[j])
        o = i << rep_log
        for t in range(rep):
            dst[r, o + t] = v


@numba.njit(inline="always", **_JIT)
def _pow2(k):
    # ``1 << k`` with a runtime k stops LLVM from vectorising the loops that use it
    # (it must keep Python's k >= 64 semantics); doubling does not.
    m = 1
    for _ in range(k):
        m *= 2
    return m


@numba.njit(inline="always", **_JIT)
def _butterflies(lo, hi, t):
    """DIT butterflies lo[j], hi[j] <- lo[j] + t[j] hi[j], lo[j] - t[j] hi[j] (vectorisable)."""
    for j in range(lo.shape[0]):
        x = lo[j]
        y = mulmod(hi[j], t[j])
        lo[j] = addmod(x, y)
        hi[j] = submod(x, y)


@numba.njit(inline="always", **_JIT)
def _low_stages(row, base, tw, s0, s1):
    """Stages s0..s1-1 on the 2^s1-element block of ``row`` starting at ``base``."""
    size = _pow2(s1)
    m = _pow2(s0)
    for _ in range(s0, s1):
        if m < SMALL_M:
            for start in range(base, base + size, 2 * m):
                for j in range(m):
                    i0 = start + j
                    x = row[i0]
                    y = mulmod(row[i0 + m], tw[m + j])
                    row[i0] = addmod(x, y)
                    row[i0 + m] = submod(x, y)
        else:
            t = tw[m : 2 * m]
            for start in range(base, base + size, 2 * m):
                _butterflies(row[start : start + m], row[start + m : start + 2 * m], t)
        m *= 2


@numba.njit(inline="always", **_JIT)
def _first3(row, base, size, tw):
    """Stages 0, 1, 2 as one radix-8 pass over the 8-element blocks of
    ``row[base : base + size]``, the values held in registers. Twiddles used:
    tw[3] = w_4, tw[4 + k] = w_8^k; multiplications by 1 are skipped."""
    w4 = tw[3]
    w81 = tw[5]
    w82 = tw[6]
    w83 = tw[7]
    for st in range(base, base + size, 8):
        a0 = row[st]
        a1 = row[st + 1]
        a2 = row[st + 2]
        a3 = row[st + 3]
        a4 = row[st + 4]
        a5 = row[st + 5]
        a6 = row[st + 6]
        a7 = row[st + 7]
        # stage 0 (m = 1, w = 1)
        b0 = addmod(a0, a1)
        b1 = submod(a0, a1)
        b2 = addmod(a2, a3)
        b3 = submod(a2, a3)
        b4 = addmod(a4, a5)
        b5 = submod(a4, a5)
        b6 = addmod(a6, a7)
        b7 = submod(a6, a7)
        # stage 1 (m = 2, w = 1, w_4)
        y = mulmod(b3, w4)
        c0 = addmod(b0, b2)
        c2 = submod(b0, b2)
        c1 = addmod(b1, y)
        c3 = submod(b1, y)
        y = mulmod(b7, w4)
        c4 = addmod(b4, b6)
        c6 = submod(b4, b6)
        c5 = addmod(b5, y)
        c7 = submod(b5, y)
        # stage 2 (m = 4, w = 1, w_8, w_8^2, w_8^3)
        row[st] = addmod(c0, c4)
        row[st + 4] = submod(c0, c4)
        y = mulmod(c5, w81)
        row[st + 1] = addmod(c1, y)
        row[st + 5] = submod(c1, y)
        y = mulmod(c6, w82)
        row[st + 2] = addmod(c2, y)
        row[st + 6] = submod(c2, y)
        y = mulmod(c7, w83)
        row[st + 3] = addmod(c3, y)
        row[st + 7] = submod(c3, y)


@numba.njit(inline="always", **_JIT)
def _block(src, r, rev, scale, rep_log, dst, tw, base, bl):
    """Load one 2^bl block in bit-reversed order, then run stages rep_log..bl-1 on it."""
    size = _pow2(bl)
    _load_block(src, r, rev, scale, rep_log, dst, base, size)
    row = dst[r]
    s0 = rep_log
    if s0 == 0 and bl >= 3:
        _first3(row, base, size, tw)
        s0 = 3
    _low_stages(row, base, tw, s0, bl)


@numba.njit(inline="always", **_JIT)
def _tile(src, r, rev, scale, rep_log, dst, tw, log_n, mid, buf):
    """Bit-reversal of one 16 x 16 tile, cache-line friendly (COBRA-style).

    A source index splits as i = (h, mid, l) with h the top 4 bits and l the low 4;
    its bit-reversed position is rev[l] | rev[mid << 4] | rev[h << (log_n - 4)]. The
    tile is read row by row (16 consecutive l) and written column by column (16
    consecutive positions), each value 2^rep_log times.
    """
    hstep = _pow2(log_n - 4)
    base = mid * 16
    mr = rev[base]
    has_scale = scale.shape[0] > 0
    for h in range(16):
        i = h * hstep + base
        for l in range(16):
            v = src[r, i + l]
            if has_scale:
                v = mulmod(v, scale[i + l])
            buf[h, l] = v
    rep = _pow2(rep_log)
    row = dst[r]
    for l in range(16):
        rl = rev[l] | mr
        for h in range(16):
            o = (rl | rev[h * hstep]) * rep
            v = buf[h, l]
            for t in range(rep):
                row[o + t] = v


@numba.njit(parallel=True, **_JIT)
def _ntt_par(src, rev, scale, rep_log, dst, tw, log_n, log_in):
    """Tiled bit-reversal (with optional pre-scaling and replication), then one parallel
    pass over cache-sized blocks for the low stages, then
    one parallel pass per remaining stage over contiguous butterfly runs.

    ``log_in`` is log2 of the input length; ``log_n = log_in + rep_log`` of the output.
    Requires log_in >= 8.
    """
    rows = dst.shape[0]
    n = _pow2(log_n)
    n_mid = _pow2(log_in - 8)
    per = max(1, min(n_mid, 64))
    nitems = n_mid // per
    for k in prange(rows * nitems):
        r = k // nitems
        it = k - r * nitems
        buf = np.empty((16, 16), dtype=np.uint64)
        for mid in range(it * per, it * per + per):
            _tile(src, r, rev, scale, rep_log, dst, tw, log_in, mid, buf)
    s0 = rep_log
    bl = min(BLOCK_LOG, log_n)
    if bl < s0:
        bl = s0
    bsize = _pow2(bl)
    nblk = n // bsize
    if s0 < bl:
        for k in prange(rows * nblk):
            r = k // nblk
            b = k - r * nblk
            s1 = s0
            if s1 == 0 and bl >= 3:  # stages 0-2 as one radix-8 pass in registers
                _first3(dst[r], b * bsize, bsize, tw)
                s1 = 3
            _low_stages(dst[r], b * bsize, tw, s1, bl)
    m = bsize
    for _ in range(bl, log_n):
        chunk = min(m, CHUNK)
        nch = m // chunk
        nb = n // (2 * m)
        for k in prange(rows * nb * nch):
            r = k // (nb * nch)
            rem = k - r * (nb * nch)
            b = rem // nch
            c = rem - b * nch
            i0 = b * 2 * m + c * chunk
            t0 = m + c * chunk
            row = dst[r]
            _butterflies(row[i0 : i0 + chunk], row[i0 + m : i0 + m + chunk],
                         tw[t0 : t0 + chunk])
        m *= 2


@numba.njit(**_JIT)
def _ntt_ser(src, rev, scale, rep_log, dst, tw, log_n):
    """Serial twin of :func:`_ntt_par` for small inputs (no thread start-up)."""
    for r in range(dst.shape[0]):
        _block(src, r, rev, scale, rep_log, dst, tw, 0, log_n)


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
            hi0 += _carry(lo0 - x, x, lo0)
            y = mulmod(f, w1[i])
            lo1 += y
            hi1 += _carry(lo1 - y, y, lo1)
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
    src, rev, tw = np.ascontiguousarray(a2), _bitrev(log_n), _twiddles(log_out, inverse)
    if out.size >= _PAR_MIN and log_n >= 8:
        _ntt_par(src, rev, scale, rep_log, out, tw, log_out, log_n)
    else:
        _ntt_ser(src, rev, scale, rep_log, out, tw, log_out)
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
    ninv = s_inv(1 << log_n)
    if shift == 1:  # the 1/n is applied while loading (no extra pass)
        out = _transform(a2, log_n, True, np.full(1 << log_n, ninv, dtype=np.uint64))
    else:  # coefficient i also needs shift^-i: one scaling pass after the transform
        out = _transform(a2, log_n, True, _EMPTY)
        _scale_rows(out, _mul_scalar(powers(s_inv(shift), 1 << log_n), ninv))
    return out[0] if one else out


def coset_extend(coeffs: np.ndarray, log_size: int, shift: int) -> np.ndarray:
    """Evaluate ``(n_cols, m)`` coefficients on ``shift * H_size`` (``m <= size``).

    Equal to ``coset_ntt`` of the coefficients zero-padded to ``size``, without
    the padding: the scaling by ``shift^i`` touches only the ``m`` coefficients
    and, after bit reversal, each fills a block of ``size / m`` entries, so the
    first ``log2(size / m)`` butterfly stages (which would only copy it) are skipped.

    Args:
        coeffs: 1-D (m,) or 2-D (n_cols, m) uint64 coefficients, ascending.
        log_size: log2 of the evaluation domain's size.
        shift: coset shift (non-zero).

    Returns:
        uint64 array (size,) or (n_cols, size).
    """
    a2, one = _as_batch(coeffs)
    m = a2.shape[1]
    log_m = max(0, (m - 1).bit_length())
    if log_m > log_size:
        raise ValueError(f"coset_extend: {m} coefficients do not fit 2^{log_size} points")
    if (1 << log_m) != m:
        padded = np.zeros((a2.shape[0], 1 << log_m), dtype=np.uint64)
        padded[:, :m] = a2
        a2 = padded
    _log2(1 << log_size)
    shift = int(shift) % P
    scale = _EMPTY if shift == 1 else powers(shift, 1 << log_m)
    out = _transform(a2, log_m, False, scale, rep_log=log_size - log_m)
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

