"""Polynomials over Goldilocks: NTT, low-degree extension on cosets, interpolation, evaluation.

Modules:
    * :mod:`zkvm.poly.dense` -- ``evaluate``, ``evaluate_many``, ``interpolate``
      (plain Python; the verifier imports this one, no numba).
    * :mod:`zkvm.poly.transforms` -- ``ntt``, ``intt``, ``coset_ntt``, ``coset_intt``,
      ``lde``, ``barycentric_eval`` (numba kernels, prover side).

The dense helpers are imported eagerly, the NTT names lazily on first access
(PEP 562), so importing :mod:`zkvm.poly.dense` never loads numba.
"""

from __future__ import annotations

from zkvm.poly.dense import evaluate, evaluate_many, interpolate  # noqa: F401

_NTT_NAMES = frozenset({"ntt", "intt", "coset_ntt", "coset_intt", "lde", "barycentric_eval"})


def __getattr__(name: str):
    if name in _NTT_NAMES:
        import importlib

        return getattr(importlib.import_module("zkvm.poly.transforms"), name)
    raise AttributeError(f"module 'zkvm.poly' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | _NTT_NAMES)
