"""Fixed-point rules shared by the model writers (the ONNX compiler, the example models).

A real ``r`` at scale ``s`` is the integer ``round_half_up(r · 2^s)``
(docs/isa.md); a ``rescale`` by ``k`` maps ``v`` to ``(v + 2^(k-1)) >> k``.
The compiler (:mod:`zkvm.assembler.onnx.lower`) and the example models
(:mod:`zkvm.examples.program`, :mod:`zkvm.examples.models`) choose weight
scales and rescale shifts with these functions, so one rule gives one program.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .lut import round_half_up

#: a shift search stops here (no int64 value needs more)
MAX_SHIFT = 62


def quantize(values: np.ndarray, scale: int) -> np.ndarray:
    """Real values -> int64 at ``scale``, round half up."""
    return round_half_up(np.asarray(values, dtype=np.float64) * 2.0**scale)


def weight_scale(values: np.ndarray, bits: int, cap: int, exact: bool = True,
                 zero: int = 0, floor: int = -24) -> int:
    """Largest scale ``s ≤ cap`` with ``max|w|·2^s ≤ 2^(bits-1) - 1``.

    Args:
        values: the real weights.
        bits: the weight width.
        cap: the largest scale allowed.
        exact: also lower ``s`` (down to ``floor``) while the weights stay exact
            (``0.5`` is ``1`` at scale 1, not ``2^14`` at scale 15).
        zero: the scale of an all-zero (or empty) weight.
        floor: the lowest scale the exact lowering goes to.
    """
    m = float(np.abs(values).max()) if values.size else 0.0
    if m == 0.0:
        return zero
    s = min(cap, math.floor(math.log2((2 ** (bits - 1) - 1) / m)))
    while exact and s > floor:
        scaled = values * 2.0 ** (s - 1)
        if not np.array_equal(scaled, np.round(scaled)):
            break
        s -= 1
    return s


def rescaled(v: int, k: int) -> int:
    """``rescale`` by ``k`` of one integer: ``(v + 2^(k-1)) >> k`` (``v`` when ``k = 0``)."""
    return (v + ((1 << (k - 1)) if k else 0)) >> k


def smallest_shift(k: int, fits: Callable[[int], bool]) -> int:
    """The smallest shift ``≥ k`` for which ``fits`` holds (``MAX_SHIFT`` if none below it)."""
    while k < MAX_SHIFT and not fits(k):
        k += 1
    return k


def rescale_shift(lo: int, hi: int, k: int, bits: int) -> int:
    """Smallest ``k' ≥ k`` such that ``rescale`` by ``k'`` maps ``[lo, hi]`` into ``i<bits>``."""
    top, bottom = 2 ** (bits - 1) - 1, -(2 ** (bits - 1))
    return smallest_shift(k, lambda j: rescaled(hi, j) <= top and rescaled(lo, j) >= bottom)
