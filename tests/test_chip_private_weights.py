"""PrivateWeightsChip: hidden weights on the bus, range-checked to their declared width.

Through programs (the VM's statement: matmul reads w from the bus) and, for the
range-check attack, standalone through the STARK (an attacker who recounts the
range table as best they can).
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.vmtest import assert_tamper_rejected, field_add, prove_verify
from zkvm.air.builder import SymbolicBuilder
from zkvm.air.chips.common import BUS_MEM, MIN_LOG_HEIGHT
from zkvm.air.chips.memory import RangeTable
from zkvm.air.chips.private_weights import PrivateWeightsChip, lanes_for
from zkvm.field.scalar import P
from zkvm.fri.security import SecurityConfig
from zkvm.stark.errors import VerificationError
from zkvm.stark.proof import PublicValues
from zkvm.stark.prover import ProverError, prove
from zkvm.stark.setup import setup
from zkvm.stark.verifier import verify

RNG = np.random.default_rng(7)
W1 = RNG.integers(-128, 128, size=(16, 12))          # i8, 192 values: 3 lanes
B1 = RNG.integers(-2**30, 2**30, size=12)             # i32: two 16-bit limbs
W2 = RNG.integers(-2**15, 2**15, size=(12, 2))        # i16: one column, one lookup
SRC = f"""
input x : i8[1,16] scale 0 private
weight w1 : i8[16,12] scale 0 private = {W1.tolist()}
weight b1 : i32[12] scale 0 private = {B1.tolist()}
weight w2 : i16[12,2] scale 0 private = {W2.tolist()}
h0 = matmul x, w1, b1
h : i8 = rescale h0, 24
y = matmul h, w2
output y
"""
X = {"x": RNG.integers(-128, 128, size=(1, 16))}


def reference(x):
    h0 = x @ W1 + B1
    h = (h0 + (1 << 23)) >> 24
    return h @ W2


def test_shape_degree_and_interactions():
    chip = PrivateWeightsChip(MIN_LOG_HEIGHT, {"lo": -2**31, "hi": 2**31 - 1, "lanes": 3})
    sb = SymbolicBuilder(chip)
    chip.eval(sb)
    assert chip.main_width == 6 and chip.pre_width == 7
    assert sb.max_degree <= 3
    assert len(sb.interactions) == 3 * 3            # two limb lookups and one send per lane
    assert lanes_for(10) == 1 and lanes_for(192) == 3 and lanes_for(10**5) == 8


def test_private_weights_prove_and_match_integer_semantics():
    out, proof, key = prove_verify(SRC, X)
    assert (out["y"] == reference(X["x"])).all()
    assert proof.zk and key.vk.zk
    kinds = [(c.name, c.params) for c in key.statement.chips if c.name == "private_weights"]
    assert sorted(p["lanes"] for _, p in kinds) == [1, 1, 3]
    assert all(not c.params["w_public"] for c in key.statement.chips if c.name == "matmul")


def test_changed_weight_value_is_rejected():
    # the first table (w1, i8): one lane's value no longer matches what matmul read
    assert_tamper_rejected(SRC, X, "private_weights", lambda t: field_add(t, 1, 0))


def test_changed_limb_is_rejected():
    # b1's table (i32, limbs): the recomposed bias differs from the one matmul read
    assert_tamper_rejected(SRC, X, "private_weights", lambda t: field_add(t, 1, 3), nth=1)


# --- the range check, standalone --------------------------------------------------------------
TEST = SecurityConfig.preset("test")


def standalone(values, lo, hi, lanes=1):
    """Producer table + range table; the verifier reads every value as a public bus term."""
    k = len(values)
    addrs = np.arange(1, k + 1, dtype=np.int64)
    chip = PrivateWeightsChip(MIN_LOG_HEIGHT, {"lo": lo, "hi": hi, "lanes": lanes},
                              {"names": ["w"], "write_addrs": addrs,
                               "mult": np.ones(k, np.int64)})
    rng = RangeTable()
    pk = setup([chip, rng], TEST, False, b"\x05" * 32)
    main = chip.trace_values(np.array([v if v < P // 2 else v - P for v in values]))
    lookups = [np.asarray(v) for v in chip.range_values(main)]
    terms = [(BUS_MEM, (int(a), int(v) % P), -1) for a, v in zip(addrs, values)]
    return pk, chip, rng, main, lookups, PublicValues([[], []], terms)


def test_in_range_values_verify():
    pk, _, rng, main, lookups, pub = standalone([-128, 127, 0, 5, -3], -128, 127, lanes=2)
    verify(pk.vk, prove(pk, [main, rng.trace_from_counts(lookups)], pub, debug=True))


@pytest.mark.parametrize("bad", [128, 300, -129, P - 2**40])
def test_out_of_range_weight_is_rejected(bad):
    """A weight outside i8: the attacker counts every table entry it can and drops the rest."""
    pk, _, rng, main, lookups, pub = standalone([1, bad, -7], -128, 127)
    honest = [v[(v >= 0) & (v < 1 << 16)] for v in lookups]
    assert sum(v.size for v in honest) < sum(v.size for v in lookups)   # something is missing
    traces = [main, rng.trace_from_counts(honest)]
    with pytest.raises(ProverError):
        prove(pk, traces, pub, debug=True)
    with pytest.raises(VerificationError):
        verify(pk.vk, prove(pk, traces, pub, _allow_invalid=True))


def test_wide_value_out_of_range_by_limb_is_rejected():
    """i32 stored as two 16-bit limbs: a value needing a third limb cannot be expressed; a
    limb outside 16 bits is not in the table."""
    pk, chip, rng, main, lookups, pub = standalone([5, -6], -2**31, 2**31 - 1)
    main = main.copy()
    main[0, 0] = np.uint64(int(main[0, 0]) + (1 << 16))   # limb 0 += 2^16, limb 1 -= 1: same value
    main[1, 0] = np.uint64((int(main[1, 0]) - 1) % P)
    lookups = [np.asarray(v) for v in chip.range_values(main)]
    honest = [v[(v >= 0) & (v < 1 << 16)] for v in lookups]
    with pytest.raises(VerificationError):
        verify(pk.vk, prove(pk, [main, rng.trace_from_counts(honest)], pub, _allow_invalid=True))
