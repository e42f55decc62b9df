"""Goldilocks field F_p (p = 2^64 - 2^32 + 1) and its extensions F_p[X]/(X^D - 7), D = 2 or 3.

Modules:
    * :mod:`zkvm.field.scalar` -- constants, Python-int scalar helpers, ``Ext``,
      ``root_of_unity``. No numba: the verifier imports this one.
    * :mod:`zkvm.field.kernels` -- numba array kernels for base arrays; re-exports
      the extension-array kernels of :mod:`zkvm.field.ext_kernels`.
    * :mod:`zkvm.field.extension` -- the degree-D abstraction (``Ext3``, ``ext_class``, ...).
    * :mod:`zkvm.field.ext3_kernels` -- numba row kernels of the cubic extension.
    * :mod:`zkvm.field.arith` -- the inlined numba scalar blocks (mulmod, addmod, ...).
    * :mod:`zkvm.field.reference` -- plain Python twins of the kernels (tests).

The scalar names are imported eagerly; the array functions are loaded from
``kernels`` on first attribute access (PEP 562), so ``import zkvm.field.scalar``
never imports numba.
"""

from __future__ import annotations

from zkvm.field.scalar import (  # noqa: F401
    EPSILON, GENERATOR, P, TWO_ADICITY, W, Ext, root_of_unity, s_add, s_div, s_from_int,
    s_inv, s_mul, s_neg, s_pow, s_sub, s_to_signed,
)

_KERNEL_NAMES = frozenset({
    "add", "sub", "mul", "neg", "inv", "batch_inv", "pow_", "sum_", "dot",
    "from_int", "to_signed", "powers",
    "ext_add", "ext_sub", "ext_mul", "ext_neg", "ext_inv", "ext_batch_inv", "ext_pow",
    "ext_mul_base", "ext_from_base", "ext_powers", "ext_sum",
})


def __getattr__(name: str):
    if name in _KERNEL_NAMES:
        from zkvm.field import kernels

        return getattr(kernels, name)
    raise AttributeError(f"module 'zkvm.field' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | _KERNEL_NAMES)
