"""Public inputs and outputs as bus terms the verifier computes itself.

The verifying key's ``meta["io"]`` (made from the program at setup) lists
each public input's addresses and read counts and each public output's
addresses; with the claimed input and output values the verifier builds the
bus terms (sends for inputs and the constant 0, receives for outputs) without
trusting the prover for any address or multiplicity. numpy only: verifier-safe.

Hashed tensors (docs/visibility.md): ``io["digests"]`` lists each digest's
first address (4 consecutive). The verifier receives ``(addr + j, d_j)``
once per element, where ``d`` is the model commitment stored in the key
(``"value"``, from the program: never taken from the proof) or, for a hashed
input or output, the digest the proof claims (``meta["digests"][name]``,
bound in the transcript like every public value). Private and hashed
outputs have no output term: the verifier learns nothing / only the digest.
"""

from __future__ import annotations

import numpy as np

from zkvm.air.chips.common import BUS_MEM
from zkvm.field.scalar import P

DIGEST_LEN = 4  # zkvm.hash.poseidon2.DIGEST_LEN (not imported: verifier-light)


def _arr(b: bytes, dtype: str) -> np.ndarray:
    return np.frombuffer(b, dtype=dtype).astype(np.int64)


def bus_terms(io: dict, inputs: dict[str, list[int]], outputs: dict[str, list[int]],
              digests: dict[str, list[int]] | None = None):
    """``(bus, (addr, value), multiplicity)`` for every public input/output and digest element.

    Public inputs must lie in their declared range: every bound the chips rely
    on (interval analysis, DESIGN.md checklist 8) starts from it.

    Raises:
        ValueError: a value is missing, has the wrong number of elements, or
            (inputs) leaves the declared range; a digest is missing, is not 4
            field elements, or is given for nothing hashed.
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
    digests = dict(digests or {})
    for d in io.get("digests", []):
        if "value" in d:
            vals = d["value"]
        else:
            vals = digests.pop(d["name"], None)
            if not (isinstance(vals, list) and len(vals) == DIGEST_LEN
                    and all(isinstance(v, int) and 0 <= v < P for v in vals)):
                raise ValueError(f"hashed {d['kind']} {d['name']!r}: expected a digest of "
                                 f"{DIGEST_LEN} field elements")
        for j, v in enumerate(vals):
            terms.append((BUS_MEM, (int(d["addr"]) + j, int(v)), -1))
    if digests:
        raise ValueError(f"a digest is given for {sorted(digests)[0]!r}, which is not hashed")
    return terms
