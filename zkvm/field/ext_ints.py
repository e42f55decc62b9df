"""The extension F_p[X]/(X^D - 7) on plain ints, for the verifiers' hot loops.

An element is the tuple of its ``D`` coefficients, constant first (the
``coeffs`` of an :class:`~zkvm.field.scalar.Ext` / :class:`~zkvm.field.extension.Ext3`).
The ``Ext`` classes are the readable scalars; where a verifier does the same
operation thousands of times (the powers of the DEEP challenge, the public bus
terms, FRI's folds) these inlined formulas run 10-20x faster (measured on the
DEEP coefficients and the bus sum of the MLP and transformer benchmarks).
:func:`ext_ops` picks the degree's formulas once; the code around them loops
over ``D``, so each verifier has one path for both degrees. No numba.
"""

from __future__ import annotations

from operator import mul

from zkvm.field.scalar import P, W, batch_inv

__all__ = ["Coeffs", "ext_dot", "ext_ops", "inverse_columns", "inverse_sum_any", "mul_columns",
           "powers_dot_any", "quotient_sum_any"]

_INV2 = (P + 1) // 2

Coeffs = tuple  # an extension element as its D coefficients, constant first


class _Quadratic:
    """F_p[X]/(X^2 - 7) on coefficient tuples / columns of plain ints."""

    @staticmethod
    def mul(a: Coeffs, b: Coeffs) -> Coeffs:
        return (a[0] * b[0] + W * a[1] * b[1]) % P, (a[0] * b[1] + a[1] * b[0]) % P

    @staticmethod
    def adj(c0: list[int], c1: list[int]) -> tuple[list[list[int]], list[int]]:
        """Column-wise adjugates and norms: ``a * adj(a) = norm(a)``, a base element."""
        return [c0, [-x % P for x in c1]], [(x * x - W * y * y) % P for x, y in zip(c0, c1)]

    @staticmethod
    def fold(r: list[int], t: int, b: Coeffs) -> list[int]:
        """FRI's fold of ``r = [a, c]`` (two elements): ``(a + c) / 2 + b (a - c) t`` (unreduced)."""
        a0, a1, c0, c1 = r
        o0, o1 = (a0 - c0) * t % P, (a1 - c1) * t % P
        return [(a0 + c0) * _INV2 + b[0] * o0 + W * b[1] * o1,
                (a1 + c1) * _INV2 + b[0] * o1 + b[1] * o0]

    @staticmethod
    def inverse_sum(dens: list[list[int]], ms: list[int]) -> Coeffs:
        """:func:`inverse_sum_any` for D = 2: ``1/(d0 + d1 X) = (d0 - d1 X) / (d0^2 - W d1^2)``."""
        c0, c1 = dens
        ni = batch_inv([(x * x - W * y * y) % P for x, y in zip(c0, c1)])
        w = list(map(mul, ms, ni))
        return sum(map(mul, w, c0)) % P, -sum(map(mul, w, c1)) % P

    @staticmethod
    def quotient_sum(xs: list[int], points: list[Coeffs], dots: list[list[int]],
                     values: list[Coeffs], masks: list[list[int]]) -> list[list[int]]:
        """:func:`quotient_sum_any` for D = 2, inlined per query (``x`` in F_p, so the norm of
        ``x - z`` is ``(x - z0)^2 - W z1^2``)."""
        n_q = len(xs)
        ni = batch_inv([((x - z[0]) ** 2 - W * z[1] * z[1]) % P for z in points for x in xs])
        out = []
        for q, x in enumerate(xs):
            s0, s1 = masks[q]
            for p, (z, v) in enumerate(zip(points, values)):
                a0, a1 = dots[q][2 * p] - v[0], dots[q][2 * p + 1] - v[1]  # f(x) - f(z)
                n = ni[p * n_q + q]
                i0, i1 = (x - z[0]) * n % P, z[1] * n % P  # 1/(x - z) = (x - z0 + z1 X) / norm
                s0 += a0 * i0 + W * a1 * i1
                s1 += a0 * i1 + a1 * i0
            out.append([s0 % P, s1 % P])
        return out

    @staticmethod
    def powers_dot(x: Coeffs, values: list[Coeffs], point_of: list[int]
                   ) -> tuple[list[Coeffs], list[Coeffs]]:
        """:func:`powers_dot_any` for D = 2, in one inlined loop."""
        (l0, l1), out, a0, a1 = x, [], 1, 0
        z0 = z1 = w0 = w1 = 0
        for (v0, v1), p in zip(values, point_of):
            out.append((a0, a1))
            if p:
                w0 += a0 * v0 + W * a1 * v1
                w1 += a0 * v1 + a1 * v0
            else:
                z0 += a0 * v0 + W * a1 * v1
                z1 += a0 * v1 + a1 * v0
            a0, a1 = (a0 * l0 + W * a1 * l1) % P, (a0 * l1 + a1 * l0) % P
        return out, [(z0 % P, z1 % P), (w0 % P, w1 % P)]

    @staticmethod
    def powers(x: Coeffs, n: int) -> list[Coeffs]:
        """``[1, x, .., x^(n-1)]`` (inlined: the DEEP batch has thousands of powers)."""
        (l0, l1), out, a0, a1 = x, [], 1, 0
        for _ in range(n):
            out.append((a0, a1))
            a0, a1 = (a0 * l0 + W * a1 * l1) % P, (a0 * l1 + a1 * l0) % P
        return out


class _Cubic:
    """F_p[X]/(X^3 - 7) on coefficient tuples / columns of plain ints."""

    @staticmethod
    def mul(a: Coeffs, b: Coeffs) -> Coeffs:
        return ((a[0] * b[0] + W * (a[1] * b[2] + a[2] * b[1])) % P,
                (a[0] * b[1] + a[1] * b[0] + W * a[2] * b[2]) % P,
                (a[0] * b[2] + a[1] * b[1] + a[2] * b[0]) % P)

    @staticmethod
    def adj(c0: list[int], c1: list[int], c2: list[int]) -> tuple[list[list[int]], list[int]]:
        """Column-wise adjugates and norms: ``a * adj(a) = norm(a)``, a base element."""
        d0 = [(x * x - W * y * z) % P for x, y, z in zip(c0, c1, c2)]
        d1 = [(W * z * z - x * y) % P for x, y, z in zip(c0, c1, c2)]
        d2 = [(y * y - x * z) % P for x, y, z in zip(c0, c1, c2)]
        norms = [(x * a + W * (y * c + z * b)) % P
                 for x, y, z, a, b, c in zip(c0, c1, c2, d0, d1, d2)]
        return [d0, d1, d2], norms

    @staticmethod
    def fold(r: list[int], t: int, b: Coeffs) -> list[int]:
        """FRI's fold of ``r = [a, c]`` (two elements): ``(a + c) / 2 + b (a - c) t`` (unreduced)."""
        o = _Cubic.mul(b, [(r[0] - r[3]) * t, (r[1] - r[4]) * t, (r[2] - r[5]) * t])
        return [(r[0] + r[3]) * _INV2 + o[0], (r[1] + r[4]) * _INV2 + o[1],
                (r[2] + r[5]) * _INV2 + o[2]]

    @staticmethod
    def inverse_sum(dens: list[list[int]], ms: list[int]) -> Coeffs:
        return inverse_sum_any(dens, ms, 3)

    @staticmethod
    def quotient_sum(xs: list[int], points: list[Coeffs], dots: list[list[int]],
                     values: list[Coeffs], masks: list[list[int]]) -> list[list[int]]:
        return quotient_sum_any(xs, points, dots, values, masks, 3)

    @staticmethod
    def powers_dot(x: Coeffs, values: list[Coeffs], point_of: list[int]
                   ) -> tuple[list[Coeffs], list[Coeffs]]:
        return powers_dot_any(x, values, point_of, 3)

    @staticmethod
    def powers(x: Coeffs, n: int) -> list[Coeffs]:
        """``[1, x, .., x^(n-1)]``."""
        (l0, l1, l2), out, a0, a1, a2 = x, [], 1, 0, 0
        for _ in range(n):
            out.append((a0, a1, a2))
            a0, a1, a2 = ((a0 * l0 + W * (a1 * l2 + a2 * l1)) % P,
                          (a0 * l1 + a1 * l0 + W * a2 * l2) % P, (a0 * l2 + a1 * l1 + a2 * l0) % P)
        return out


def ext_ops(d: int) -> type:
    """The degree-``d`` extension F_p[X]/(X^d - 7) on plain ints: ``mul(a, b)`` of two
    coefficient tuples; ``adj(*columns)``, for elements stored as ``d`` coefficient columns,
    their adjugates (columns) and norms (``a * adj(a) = norm(a)`` in F_p, so
    ``1/a = adj(a) / norm(a)``); ``powers(x, n)``; ``fold(r, t, b)``, one FRI fold;
    ``inverse_sum``, ``quotient_sum`` and ``powers_dot`` (:func:`inverse_sum_any`,
    :func:`quotient_sum_any`, :func:`powers_dot_any`: the references for any degree,
    which the cubic class uses). The only degree-specific
    code of the verifiers: the quadratic kernels are inlined where measured to pay
    (10-20x faster than ``Ext`` objects, about 2x faster than loops over ``d``, on the
    MLP and transformer benchmarks' DEEP batches, bus terms and FRI folds)."""
    return _Quadratic if d == 2 else _Cubic


def inverse_columns(cols: list[list[int]], d: int) -> list[list[int]]:
    """``1 / a`` for elements given as ``d`` coefficient columns (none zero): adjugates over
    norms, one batched base inversion. Returns columns."""
    adj, norms = ext_ops(d).adj(*cols)
    ninv = batch_inv(norms)
    return [[a * n % P for a, n in zip(col, ninv)] for col in adj]


def ext_dot(cs: list[Coeffs], vs: list[Coeffs], d: int) -> Coeffs:
    """``sum_k cs[k] * vs[k]`` in the extension: ``d^2`` integer inner products, reduced once."""
    if not cs:
        return (0,) * d
    cc, vv = list(zip(*cs)), list(zip(*vs))
    out = [0] * d
    for i in range(d):
        for j in range(d):
            s = sum(map(mul, cc[i], vv[j]))  # X^i X^j = X^(i+j), and X^d = W
            if i + j < d:
                out[i + j] += s
            else:
                out[i + j - d] += W * s
    return tuple(x % P for x in out)


def mul_columns(a: list[list[int]], b: list[list[int]], d: int) -> list[list[int]]:
    """Element-wise products of two vectors of extension elements, each given as ``d``
    coefficient columns: ``d^2`` column products (``X^i X^j = X^(i+j)``, ``X^d = W``)."""
    out: list[list[int] | None] = [None] * d
    for i in range(d):
        for j in range(d):
            f = W if i + j >= d else 1
            prod = [f * x * y for x, y in zip(a[i], b[j])]
            k = (i + j) % d
            out[k] = prod if out[k] is None else [x + y for x, y in zip(out[k], prod)]
    return [[x % P for x in col] for col in out]


def inverse_sum_any(dens: list[list[int]], ms: list[int], d: int) -> Coeffs:
    """``sum_k ms[k] / den_k`` for elements ``den_k`` given as ``d`` coefficient columns (none
    zero): adjugates over norms, one batched base inversion (any degree; the reference)."""
    adj, norms = ext_ops(d).adj(*dens)  # m / a = m adj(a) / norm(a)
    weights = list(map(mul, ms, batch_inv(norms)))
    return tuple(sum(map(mul, weights, col)) % P for col in adj)


def quotient_sum_any(xs: list[int], points: list[Coeffs], dots: list[list[int]],
                     values: list[Coeffs], masks: list[list[int]], d: int) -> list[list[int]]:
    """``sum_p (f_p(x) - v_p) / (x - z_p) + mask`` at every ``x`` of ``xs`` (in F_p).

    Args:
        xs: the points (base field), one per query.
        points: the ``z_p`` (coefficient tuples).
        dots: per query, the ``f_p(x)`` one after the other (``d`` ints each, not reduced).
        values: the ``v_p``.
        masks: per query, an element to add (``d`` ints).

    Returns:
        Per query, the ``d`` coefficients (reduced). Any degree (the reference), on
        coefficient columns over all queries with one batched inversion.
    """
    n_q = len(xs)
    # x - z for x in F_p: (x - z_0, -z_1, ..)
    diffs = [[(x - z[0]) % P for z in points for x in xs]]
    diffs += [[-z[j] % P for z in points for _ in xs] for j in range(1, d)]
    inv = inverse_columns(diffs, d)
    cols = list(zip(*dots))
    acc = [list(c) for c in zip(*masks)] if masks else [[0] * n_q for _ in range(d)]
    for p, v in enumerate(values):
        f = [[(x - v[j]) % P for x in cols[p * d + j]] for j in range(d)]
        term = mul_columns(f, [c[p * n_q:(p + 1) * n_q] for c in inv], d)
        acc = [[x + y for x, y in zip(a, t)] for a, t in zip(acc, term)]
    return [[x % P for x in row] for row in zip(*acc)]


def powers_dot_any(x: Coeffs, values: list[Coeffs], point_of: list[int], d: int
                   ) -> tuple[list[Coeffs], list[Coeffs]]:
    """The powers ``x^k`` for ``k < len(values)`` and the two sums ``sum x^k values[k]`` over
    the ``k`` with ``point_of[k] == 0`` and ``== 1`` (the DEEP batch at ``z`` and ``z w``).
    Any degree (the reference)."""
    pw = ext_ops(d).powers(x, len(values))
    sums = []
    for p in (0, 1):
        keep = [k for k, q in enumerate(point_of) if q == p]
        sums.append(ext_dot([pw[k] for k in keep], [values[k] for k in keep], d))
    return pw, sums
