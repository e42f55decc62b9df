"""Plain-Python polynomial helpers for the verifier and the tests: Horner evaluation
and Lagrange interpolation over Goldilocks (or at extension points).

No numba here: the verifier imports this module. Coefficients are in ascending
order (``coeffs[0]`` is the constant term).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from zkvm.field.scalar import P, Ext

__all__ = ["evaluate", "evaluate_many", "interpolate"]

Scalar = int | Ext


def _coeff_list(coeffs) -> list:
    """Coefficients as a list of Python ints or ``Ext`` (an (n, 2) uint64 array is read as Ext)."""
    if isinstance(coeffs, np.ndarray):
        if coeffs.ndim == 2 and coeffs.shape[1] == 2:
            return [Ext(c0, c1) for c0, c1 in coeffs.tolist()]
        if coeffs.ndim != 1:
            raise ValueError(f"evaluate: expected 1-D coefficients, got shape {coeffs.shape}")
        return coeffs.tolist()
    return list(coeffs)


def evaluate(coeffs, x: Scalar) -> Scalar:
    """Evaluate one polynomial at ``x`` by Horner's rule.

    Args:
        coeffs: ascending coefficients: a sequence of ints / ``Ext``, a 1-D uint64
            array, or an ``(n, 2)`` uint64 array of extension coefficients.
        x: a Python int (base field) or an ``Ext``.

    Returns:
        A Python int when both ``x`` and all coefficients are base elements, else an ``Ext``.
    """
    cs = _coeff_list(coeffs)
    if isinstance(x, Ext) or any(isinstance(c, Ext) for c in cs):
        acc: Scalar = Ext(0)
        for c in reversed(cs):
            acc = acc * x + c
        return acc
    x = int(x) % P
    acc_i = 0
    for c in reversed(cs):
        acc_i = (acc_i * x + int(c)) % P
    return acc_i


def evaluate_many(coeffs_2d, x: Scalar) -> list:
    """Evaluate every row of ``coeffs_2d`` (shape ``(n_cols, n)``) at ``x``.

    Returns:
        A list with one Python int (base ``x``) or ``Ext`` per row.
    """
    rows = coeffs_2d.tolist() if isinstance(coeffs_2d, np.ndarray) else [list(r) for r in coeffs_2d]
    return [evaluate(r, x) for r in rows]


def _mul_linear(poly: list[int], root: int) -> list[int]:
    """Return poly * (X - root) (ascending int coefficients)."""
    out = [0] * (len(poly) + 1)
    for i, c in enumerate(poly):
        out[i + 1] = (out[i + 1] + c) % P
        out[i] = (out[i] - c * root) % P
    return out


def interpolate(xs: Sequence[int], ys: Sequence[Scalar]) -> list:
    """Lagrange interpolation: the unique polynomial of degree < n through ``(xs[i], ys[i])``.

    O(n^2); meant for small sizes (verifier, tests).

    Args:
        xs: distinct base-field points.
        ys: values, Python ints or ``Ext``.

    Returns:
        Ascending coefficients: Python ints, or ``Ext`` when any ``ys`` is an ``Ext``.

    Raises:
        ValueError: if the lengths differ or two ``xs`` coincide.
    """
    xs = [int(x) % P for x in xs]
    ys = list(ys.tolist() if isinstance(ys, np.ndarray) else ys)
    n = len(xs)
    if len(ys) != n:
        raise ValueError(f"interpolate: {n} points but {len(ys)} values")
    if len(set(xs)) != n:
        raise ValueError("interpolate: the points xs must be distinct")
    full = [1]
    for x in xs:
        full = _mul_linear(full, x)  # prod (X - x_j), degree n
    is_ext = any(isinstance(y, Ext) for y in ys)
    acc: list = [Ext(0) if is_ext else 0 for _ in range(n)]
    for i, xi in enumerate(xs):
        # q = full / (X - xi) by synthetic division; denom = prod_{j != i} (xi - xj) = q(xi)
        q = [0] * n
        carry = 0
        for k in range(n, 0, -1):
            carry = (full[k] + carry * xi) % P if k < n else full[k]
            q[k - 1] = carry
        denom = 0
        for c in reversed(q):
            denom = (denom * xi + c) % P
        scale = ys[i] * pow(denom, P - 2, P)
        if is_ext:
            acc = [a + scale * c for a, c in zip(acc, q)]
        else:
            scale %= P
            acc = [(a + scale * c) % P for a, c in zip(acc, q)]
    return acc
