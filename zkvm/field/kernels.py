"""Goldilocks array kernels, one namespace: the base field and its extensions.

Base arrays are ``uint64`` arrays canonical in ``[0, P)``
(:mod:`zkvm.field.base_kernels`); extension arrays are ``uint64`` arrays of
shape ``(..., D)`` with ``D`` = 2 or 3 (:mod:`zkvm.field.ext_kernels`, which
builds on the base kernels). This module only gathers both, so that the
layers above import one name (``from zkvm.field import kernels as K``) and
the dependency stays one-way: base_kernels <- ext_kernels <- kernels.

The scalar (pure Python) twins live in :mod:`zkvm.field.scalar`; the plain
reference twins of these array functions in :mod:`zkvm.field.reference`.
"""

from __future__ import annotations

from zkvm.field.arith import (  # noqa: F401  (re-exported for the poly kernels)
    EPS, ONE, P_, U64, ZERO, _carry, _JIT, _reduce128, addmod, mulmod, powmod, submod,
)
from zkvm.field.base_kernels import (  # noqa: F401
    PAR_MIN, _norm_exp, add, batch_inv, dot, from_int, inv, mul, neg, pow_, powers, sub, sum_,
    to_signed,
)
from zkvm.field.ext_kernels import (  # noqa: F401
    ext_add, ext_batch_inv, ext_from_base, ext_inv, ext_mul, ext_mul_base, ext_neg, ext_pow,
    ext_powers, ext_sub, ext_sum,
)

__all__ = [
    "add", "sub", "mul", "neg", "inv", "batch_inv", "pow_", "sum_", "dot",
    "from_int", "to_signed", "powers",
    "ext_add", "ext_sub", "ext_mul", "ext_neg", "ext_inv", "ext_batch_inv", "ext_pow",
    "ext_mul_base", "ext_from_base", "ext_powers", "ext_sum",
]
