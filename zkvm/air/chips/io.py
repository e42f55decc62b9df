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

    Every claimed value has exactly one encoding (issue 12, point 3): an exact
    ``int`` (not a bool, float or string) inside its tensor's declared range
    for an input and the worst-case interval of the program for an output
    (both far narrower than p, so ``v -> v mod p`` is injective and what a
    verifier prints is what the bus carries), a field element for a digest.
    Names must be exactly the key's public tensors. Public inputs must lie in
    their declared range: every bound the chips rely on (interval analysis,
    DESIGN.md checklist 8) starts from it.

    Raises:
        ValueError: a value is missing or extra, has the wrong number of
            elements or type, leaves its range; a digest is missing, is not 4
            field elements, or is given for nothing hashed.
    """
    terms = []
    if io.get("zero_reads", 0):
        terms.append((BUS_MEM, (0, 0), int(io["zero_reads"])))
    public_in = [t for t in io["inputs"] if t["visibility"] == "public"]
    _same_names("public input", public_in, inputs)
    _same_names("public output", io["outputs"], outputs)
    for t in public_in:
        mult = _arr(t["mult"], "<i4")
        vals = _ints_in(inputs[t["name"]], mult.size, int(t["lo"]), int(t["hi"]),
                        f"public input {t['name']!r}", "its declared range")
        base = int(t["addr_base"])
        for i in np.flatnonzero(mult):
            terms.append((BUS_MEM, (base + int(i), vals[i] % P), int(mult[i])))
    for t in io["outputs"]:
        addrs = _arr(t["addrs"], "<i8")
        vals = _ints_in(outputs[t["name"]], addrs.size, int(t["lo"]), int(t["hi"]),
                        f"output {t['name']!r}", "the program's worst-case interval")
        for a, v in zip(addrs.tolist(), vals):
            terms.append((BUS_MEM, (int(a), v % P), -1))
    digests = dict(digests or {})
    for d in io.get("digests", []):
        if "value" in d:
            vals = d["value"]
        else:
            vals = digests.pop(d["name"], None)
            if not (isinstance(vals, list) and len(vals) == DIGEST_LEN
                    and all(type(v) is int and 0 <= v < P for v in vals)):
                raise ValueError(f"hashed {d['kind']} {d['name']!r}: expected a digest of "
                                 f"{DIGEST_LEN} field elements")
        for j, v in enumerate(vals):
            terms.append((BUS_MEM, (int(d["addr"]) + j, int(v)), -1))
    if digests:
        raise ValueError(f"a digest is given for {sorted(digests)[0]!r}, which is not hashed")
    return terms


def _same_names(what: str, declared: list[dict], given) -> None:
    if not isinstance(given, dict):
        raise ValueError(f"{what}s must be a map from tensor names to values")
    names = [t["name"] for t in declared]
    missing = [n for n in names if n not in given]
    if missing:
        raise ValueError(f"{what} {missing[0]!r}: no values given")
    extra = sorted(set(given) - set(names), key=str)
    if extra:
        raise ValueError(f"{what} {extra[0]!r} is not one of the program's ({', '.join(names)})")


def _ints_in(vals, n: int, lo: int, hi: int, what: str, where: str) -> list[int]:
    if not isinstance(vals, list) or len(vals) != n:
        raise ValueError(f"{what}: expected a list of {n} values")
    for v in vals:
        if type(v) is not int:
            raise ValueError(f"{what}: value {v!r} is not an integer")
        if not lo <= v <= hi:
            raise ValueError(f"{what}: value {v} outside {where} [{lo}, {hi}]")
    return vals
