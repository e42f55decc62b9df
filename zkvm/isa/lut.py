"""Lookup-table functions: how a ``lut`` instruction's table is made.

The table of a ``lut`` instruction is part of the program (and of its digest):
the VM and the prover read it, never recompute it, so a proof does not depend
on the libm of the machine that checks it. The assembler makes the table with
:func:`make_table`: entry ``i`` is ``round_half_up(f((lo + i) / 2^s_in) * 2^s_out)``.

``fn=table`` (:data:`TABLE_FN`) names a table given explicitly, entry by entry
(an embedding matrix looked up by token id: docs/onnx.md "Embeddings"); no
generator makes it and its float reference is the table itself,
``table[clamp(round(x·2^s_in)) - lo] / 2^s_out``.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from .errors import IsaError

#: Largest number of entries one table may hold.
MAX_TABLE = 1 << 20

_erf = np.frompyfunc(math.erf, 1, 1)


def _gelu(x: np.ndarray, eps: float) -> np.ndarray:
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)).astype(np.float64))


def _gelu_tanh(x: np.ndarray, eps: float) -> np.ndarray:
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))


FUNCTIONS: dict[str, Callable[[np.ndarray, float], np.ndarray]] = {
    "sigmoid": lambda x, eps: 1.0 / (1.0 + np.exp(-x)),
    "tanh": lambda x, eps: np.tanh(x),
    "exp": lambda x, eps: np.exp(x),
    "gelu": _gelu,
    "gelu_tanh": _gelu_tanh,
    "erf": lambda x, eps: _erf(x).astype(np.float64),
    "reciprocal": lambda x, eps: 1.0 / (x + eps),
    "rsqrt": lambda x, eps: 1.0 / np.sqrt(x + eps),
}


#: ``fn`` of a lut whose table is given explicitly (no generator, see the module docstring).
TABLE_FN = "table"

#: every ``fn`` a lut instruction may name
LUT_FUNCTIONS = (*FUNCTIONS, TABLE_FN)


def round_half_up(v: np.ndarray) -> np.ndarray:
    """``floor(v + 1/2)`` as int64 (the rounding used everywhere in zkvm)."""
    return np.floor(np.asarray(v, dtype=np.float64) + 0.5).astype(np.int64)


def make_table(fn: str, lo: int, hi: int, s_in: int, s_out: int, eps: float = 0.0) -> np.ndarray:
    """The table of ``lut fn`` over integer inputs ``lo..hi`` at scale ``s_in``.

    Raises:
        IsaError: unknown function, too many entries, or a non-finite value
            (e.g. a reciprocal whose range holds 0).
    """
    if fn == TABLE_FN:
        raise IsaError("lut fn=table takes its entries from table=[...] (no generator makes it)")
    if fn not in FUNCTIONS:
        raise IsaError(f"lut fn={fn!r} is unknown (expected one of: {', '.join(LUT_FUNCTIONS)})")
    if lo > hi:
        raise IsaError(f"lut range [{lo}, {hi}] is empty")
    if hi - lo + 1 > MAX_TABLE:
        raise IsaError(
            f"lut range [{lo}, {hi}] has {hi - lo + 1} entries (at most {MAX_TABLE}); "
            "rescale the input first to narrow it"
        )
    x = np.arange(lo, hi + 1, dtype=np.float64) / 2.0**s_in
    with np.errstate(all="ignore"):
        y = FUNCTIONS[fn](x, eps) * 2.0**s_out
    if not np.all(np.isfinite(y)) or np.max(np.abs(y)) >= 2.0**62:
        raise IsaError(
            f"lut fn={fn} is not finite or too large on [{lo}, {hi}] (scale {s_in} -> {s_out}); "
            "narrow the range (e.g. exclude 0 for reciprocal/rsqrt) or lower the output scale"
        )
    return round_half_up(y)


def float_fn(fn: str, eps: float = 0.0) -> Callable[[np.ndarray], np.ndarray]:
    """The real function a ``lut`` approximates (for the float reference path)."""
    f = FUNCTIONS[fn]
    return lambda x: f(np.asarray(x, dtype=np.float64), eps)
