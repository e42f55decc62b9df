"""Public inputs and outputs as bus terms the verifier computes itself.

The verifying key's ``meta["io"]`` (made from the program at setup) lists
each public input's addresses and read counts and each output's addresses;
with the claimed input and output values the verifier builds the bus terms
(sends for inputs and the constant 0, receives for outputs) without trusting
the prover for any address or multiplicity. numpy only: verifier-safe.
"""

from __future__ import annotations

import numpy as np

from zkvm.air.chips.common import BUS_MEM
from zkvm.field.scalar import P


def _arr(b: bytes, dtype: str) -> np.ndarray:
    return np.frombuffer(b, dtype=dtype).astype(np.int64)


def bus_terms(io: dict, inputs: dict[str, list[int]], outputs: dict[str, list[int]]):
    """``(bus, (addr, value), multiplicity)`` for every public input/output element.

    Public inputs must lie in their declared range: every bound the chips rely
    on (interval analysis, DESIGN.md checklist 8) starts from it.

    Raises:
        ValueError: a value is missing, has the wrong number of elements, or
            (inputs) leaves the declared range.
    """
    terms = []
    if io.get("zero_reads", 0):
        terms.append((BUS_MEM, (0, 0), int(io["zero_reads"])))
    for t in io["inputs"]:
        if t["visibility"] != "public":
            continue
        vals = inputs.get(t["name"])
        mult = _arr(t["mult"], "<i4")
        if vals is None or len(vals) != mult.size:
            raise ValueError(f"public input {t['name']!r}: expected {mult.size} values")
        lo, hi = int(t["lo"]), int(t["hi"])
        bad = [v for v in vals if not (isinstance(v, int) and lo <= v <= hi)]
        if bad:
            raise ValueError(f"public input {t['name']!r}: value {bad[0]!r} outside its declared "
                             f"range [{lo}, {hi}]")
        base = int(t["addr_base"])
        for i in np.flatnonzero(mult):
            terms.append((BUS_MEM, (base + int(i), int(vals[i]) % P), int(mult[i])))
    for t in io["outputs"]:
        vals = outputs.get(t["name"])
        addrs = _arr(t["addrs"], "<i8")
        if vals is None or len(vals) != addrs.size:
            raise ValueError(f"output {t['name']!r}: expected {addrs.size} values")
        for a, v in zip(addrs.tolist(), vals):
            terms.append((BUS_MEM, (int(a), int(v) % P), -1))
    return terms
