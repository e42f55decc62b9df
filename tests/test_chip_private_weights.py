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
from zkvm.air.chips.private_weights import PrivateWeightsChip, choose_lanes
from zkvm.isa.hidden import pack_tensor
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
    chip = PrivateWeightsChip(MIN_LOG_HEIGHT, {"lo": -2**31, "hi": 2**31 - 1, "lanes": 3,
                                               "pack": 0})
    sb = SymbolicBuilder(chip)
    chip.eval(sb)
    assert chip.main_width == 6 and chip.pre_width == 7
    assert sb.max_degree <= 3
    assert len(sb.interactions) == 3 * 3            # two limb lookups and one send per lane
    packed = PrivateWeightsChip(MIN_LOG_HEIGHT, {"lo": -2**15, "hi": 2**15 - 1, "lanes": 6,
                                                 "pack": 3})
    sb = SymbolicBuilder(packed)
    packed.eval(sb)
    assert packed.pre_width == 6 + 6 + 1 + 2 + 2 and sb.max_degree <= 3
    assert len(sb.interactions) == 6 + 6 + 2        # a lookup and a send per lane, 2 packs
    with pytest.raises(ValueError, match="pack"):
        PrivateWeightsChip(MIN_LOG_HEIGHT, {"lo": -2**15, "hi": 2**15 - 1, "lanes": 6,
                                            "pack": 4})   # 64 bits: not injective below p
    assert choose_lanes(10, 1, True) == 1 and choose_lanes(101_633, 3, True) == 15


def test_private_weights_prove_and_match_integer_semantics():
    out, proof, key = prove_verify(SRC, X)
    assert (out["y"] == reference(X["x"])).all()
    assert proof.zk and key.vk.zk
    kinds = [c.params for c in key.statement.chips if c.name == "private_weights"]
    assert len(kinds) == 3 and all(p["pack"] == 0 for p in kinds)   # private: nothing to hash
    assert all(not c.params["w_public"] for c in key.statement.chips if c.name == "matmul")


def test_changed_weight_value_is_rejected():
    # the first table (w1, i8): one lane's value no longer matches what matmul read
    assert_tamper_rejected(SRC, X, "private_weights", lambda t: field_add(t, 0, 0))


def test_changed_limb_is_rejected():
    # b1's table (i32, limbs): the recomposed bias differs from the one matmul read
    assert_tamper_rejected(SRC, X, "private_weights", lambda t: field_add(t, 1, 3), nth=1)


HASHED = SRC.replace("private =", "hashed =")


def test_hashed_weights_pack_and_prove():
    out, _, key = prove_verify(HASHED, X)
    assert (out["y"] == reference(X["x"])).all()
    packs = {c.params["lo"]: c.params["pack"] for c in key.statement.chips
             if c.name == "private_weights"}
    assert packs == {-128: 7, -2**31: 1, -2**15: 3}


def test_changed_hashed_weight_is_rejected():
    # w2 (i16, packed 3 a element): matmul, and the hash through the packed element, disagree
    assert_tamper_rejected(HASHED, X, "private_weights", lambda t: field_add(t, 0, 1), nth=2)


def test_hashed_weights_of_two_bits_pack_31_a_row():
    """A 0/1 mask as an i2 weight packs 63 // 2 = 31 values an element: more than the usual
    16 lanes, so its table holds one packed group a row (exporters' causal masks hit this)."""
    m = RNG.integers(0, 2, size=(4, 40))
    src = f"""
input x : i8[1,4] scale 0 private
weight m : i2[4,40] scale 0 hashed = {m.tolist()}
y = matmul x, m
output y
"""
    x = {"x": RNG.integers(-128, 128, size=(1, 4))}
    out, _, key = prove_verify(src, x)
    assert (out["y"] == x["x"] @ m).all()
    (chip,) = [c for c in key.statement.chips if c.name == "private_weights"]
    assert chip.params["pack"] == chip.params["lanes"] == 31
    assert_tamper_rejected(src, x, "private_weights", lambda t: field_add(t, 0, 1))


# --- the range check, standalone --------------------------------------------------------------
TEST = SecurityConfig.preset("test")


def standalone(values, lo, hi, lanes=1, pack=0, packed_terms=None):
    """Producer table + range table; the verifier reads every value (and packed element)."""
    k = len(values)
    addrs = np.arange(1, k + 1, dtype=np.int64)
    n_pack = -(-k // pack) if pack else 0
    lane = np.zeros(-(-k // (pack or 1)) * (pack or 1), np.int64)
    lane[:k] = addrs
    paddrs = np.arange(100, 100 + n_pack, dtype=np.int64)
    chip = PrivateWeightsChip(MIN_LOG_HEIGHT, {"lo": lo, "hi": hi, "lanes": lanes, "pack": pack},
                              {"names": ["w"], "starts": [0], "lane_addrs": lane,
                               "pack_addrs": paddrs, "write_addrs": np.concatenate([addrs,
                                                                                   paddrs]),
                               "mult": np.ones(k + n_pack, np.int64)})
    rng = RangeTable()
    pk = setup([chip, rng], TEST, False, b"\x05" * 32)
    signed = np.full(lane.size, lo, np.int64)
    signed[:k] = [v if v < P // 2 else v - P for v in values]
    main = chip.trace_values(signed)
    lookups = [np.asarray(v) for v in chip.range_values(main)]
    terms = [(BUS_MEM, (int(a), int(v) % P), -1) for a, v in zip(addrs, values)]
    if packed_terms is not None:
        terms += [(BUS_MEM, (int(a), int(v) % P), -1) for a, v in zip(paddrs, packed_terms)]
    return pk, chip, rng, main, lookups, PublicValues([[], []], terms)


def test_in_range_values_verify():
    pk, _, rng, main, lookups, pub = standalone([-128, 127, 0, 5, -3], -128, 127, lanes=2)
    verify(pk.vk, prove(pk, [main, rng.trace_from_counts(lookups)], pub, debug=True), min_bits=0)


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
        verify(pk.vk, prove(pk, traces, pub, _allow_invalid=True), min_bits=0)


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
        verify(pk.vk, prove(pk, [main, rng.trace_from_counts(honest)], pub, _allow_invalid=True), min_bits=0)


def test_packed_element_is_bound_to_the_values():
    """i8 weights, 7 a packed element: the verifier reads the packed elements the hash absorbs."""
    vals = [-128, 127, 0, 1, -1, 55, -99, 3, 4]
    packed = [int(v) for v in pack_tensor(np.array(vals), 8)]
    pk, _, rng, main, lookups, pub = standalone(vals, -128, 127, lanes=7, pack=7,
                                                packed_terms=packed)
    traces = [main, rng.trace_from_counts(lookups)]
    verify(pk.vk, prove(pk, traces, pub, debug=True), min_bits=0)
    for wrong in ([packed[0] + 1, packed[1]], [packed[0], packed[1] + (1 << 8)]):
        pk, _, rng, main, lookups, pub = standalone(vals, -128, 127, lanes=7, pack=7,
                                                    packed_terms=wrong)
        with pytest.raises(VerificationError):
            verify(pk.vk, prove(pk, [main, rng.trace_from_counts(lookups)], pub,
                                _allow_invalid=True), min_bits=0)
