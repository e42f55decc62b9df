"""lut chips: clamp-then-look-up against numpy; reject wrong outputs, clamps and counts.

Attacks are played by a prover whose VM computes ``lut`` wrongly
(``vm._compute`` patched), so its memory bus and public outputs agree with
the wrong value and only the lut rules can reject it. Each attack is checked
twice: the debug check names the rule that catches it, and a proof built
anyway does not verify.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import zkvm.api as api
from zkvm.air.chips.statement import StatementError
from zkvm.assembler import assemble
from zkvm.field.scalar import P
from zkvm.runtime import vm
from zkvm.stark.errors import VerificationError
from zkvm.stark.prover import ProverError
from vmtest import assert_tamper_rejected, field_add, prove_verify

LUT_BUS = "bus 3 tuple"    # a lookup that is not a table entry (or a wrong count)
RANGE_BUS = "bus 2 tuple"  # a negative distance was range-checked


def attack(monkeypatch, src, inputs, patch, reason, edit=None):
    """Prove with ``lut`` computed as ``patch(y, index, x, attrs) -> (y, index)`` says.

    ``reason``: a regex the debug check's message must match; ``edit(trace)``
    may change the first ``lut`` chip's trace further (in place).
    """
    orig = vm._compute

    def fake(program, ins, a):
        out, aux = orig(program, ins, a)
        if ins.op != "lut":
            return out, aux
        y, idx = patch(out, aux["index"], a[0], ins.attrs)
        return y, {"index": idx}

    monkeypatch.setattr(vm, "_compute", fake)
    prog = assemble(src)
    key = api.setup(prog, "test")
    i = [k for k, c in enumerate(key.statement.chips) if c.name == "lut"][0]

    def tamper(traces):
        traces = [t.copy() for t in traces]
        if edit is not None:
            edit(traces[i])
        return traces

    with pytest.raises(ProverError, match=reason):
        api.prove(prog, inputs, "test", key=key, debug=True, _tamper=tamper)
    with pytest.raises(VerificationError):
        proof = api.prove(prog, inputs, "test", key=key, seed=b"test", _tamper=tamper)
        api.verify(proof, key.vk, min_bits=0)


def _lut_ref(x, lo, hi, table):
    return np.asarray(table)[np.clip(x, lo, hi) - lo]


@settings(max_examples=2, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32 - 1))
@example(5)
def test_lut_matches_numpy(seed):
    rng = np.random.default_rng(seed)
    shape = [int(d) for d in rng.integers(1, 4, rng.integers(1, 3))]
    lo = int(rng.integers(-12, 8))
    hi = lo + int(rng.integers(0, 12))
    table = [int(v) for v in rng.integers(-1000, 1000, hi - lo + 1)]
    x = rng.integers(-20, 21, shape)  # below, inside and above [lo, hi]
    dims = ", ".join(map(str, shape))
    src = f"""
input x : i8[{dims}] scale 0 public range [-20, 20]
y = lut x, fn=tanh, range=[{lo}, {hi}], scale=4, table={table}
z = lut y, fn=sigmoid, range=[-1500, 1500], scale=8
output y, z
"""
    out, _, _ = prove_verify(src, {"x": x})
    y = _lut_ref(x, lo, hi, table)
    np.testing.assert_array_equal(out["y"], y)
    tz = assemble(src).instructions[1].attrs["table"]
    np.testing.assert_array_equal(out["z"], _lut_ref(y, -1500, 1500, tz))


def test_private_input_zk():
    src = """
input x : i16[2,5] scale 4 private range [-200, 200]
y = lut x, fn=sigmoid, range=[-96, 96], scale=8
output y
"""
    x = np.array([[-200, -97, -96, -1, 0], [1, 95, 96, 97, 200]])
    out, proof, _ = prove_verify(src, {"x": x})
    table = assemble(src).instructions[0].attrs["table"]
    np.testing.assert_array_equal(out["y"], _lut_ref(x, -96, 96, table))
    assert "x" not in proof.public.meta["inputs"]


SHARED_SRC = """
input x : i32[6] scale 0 public
a = lut x, fn=exp, range=[-8, 0], scale=6
b = lut x, fn=exp, range=[-8, 0], scale=6
c = lut x, fn=exp, range=[-8, 1], scale=6
output a, b, c
"""


def test_shared_table_and_wide_input():
    x = np.array([-2**31, -9, -8, -3, 0, 2**31 - 1])
    prog = assemble(SHARED_SRC)
    key = api.setup(prog, "test")
    chips = key.statement.chips
    assert [c.name for c in chips].count("lut_table") == 2  # a and b share their table
    luts = [c for c in chips if c.name == "lut"]
    assert luts[0].params["table_id"] == luts[1].params["table_id"] != luts[2].params["table_id"]
    assert luts[0].params["limbs"] == 2  # |x - lo| reaches 2^31
    out, _, _ = prove_verify(SHARED_SRC, {"x": x})
    for name, ins in zip("abc", prog.instructions):
        at = ins.attrs
        np.testing.assert_array_equal(out[name], _lut_ref(x, at["lo"], at["hi"], at["table"]))


ATTACK_SRC = """
input x : i8[4] scale 0 public range [-50, 50]
y = lut x, fn=tanh, range=[-3, 3], scale=0, table=[-30, -20, -10, 0, 10, 20, 30]
output y
"""
X = np.array([-40, -1, 2, 40])


def _off_by_one_inside(y, i, x, at):
    """One output one step off, still inside the program's interval (so it can be claimed)."""
    y = y.copy()
    y.flat[1] += 1
    return y, i


def test_wrong_lookup_output_is_rejected(monkeypatch):
    attack(monkeypatch, ATTACK_SRC, {"x": X}, _off_by_one_inside, LUT_BUS)


def test_output_of_neighbouring_entry_is_rejected(monkeypatch):
    # a true table value, but for the next input
    def patch(y, i, x, at):
        return at["table"][np.minimum(i + 1, 6)], i
    attack(monkeypatch, ATTACK_SRC, {"x": X}, patch, LUT_BUS)


def test_wrong_clamp_is_rejected(monkeypatch):
    # x = -40 below the range, clamped to the top (index 6) instead of the bottom
    def patch(y, i, x, at):
        i = np.where(x < at["lo"], 6, i)
        return at["table"][i], i
    attack(monkeypatch, ATTACK_SRC, {"x": X}, patch, "xc is x clamped")


def test_clamp_to_wrong_end_is_rejected(monkeypatch):
    # same wrong clamp, with the selectors claiming "above": x - hi - 1 < 0 fails the range check
    def patch(y, i, x, at):
        i = np.where(x < at["lo"], 6, i)
        return at["table"][i], i

    def edit(t):  # columns: x, y, xc, below, above, d
        t[3, 0], t[4, 0] = 0, 1
        t[5, 0] = np.uint64((-40 - 3 - 1) % P)
    attack(monkeypatch, ATTACK_SRC, {"x": X}, patch, RANGE_BUS, edit)


def test_skipped_clamp_is_rejected(monkeypatch):
    # x = 40 above the range looked up unclamped: (40, y) is no table entry
    def edit(t):
        t[2, 3], t[4, 3] = 40, 0  # xc = x, above = 0, distance 0
        t[5, 3] = 0
    attack(monkeypatch, ATTACK_SRC, {"x": X}, lambda y, i, x, at: (y, i), LUT_BUS, edit)


def test_wrong_table_multiplicity_is_rejected():
    # move one lookup count from entry 0 (x = -3) to entry 1 (x = -2)
    def edit(t):
        field_add(t, 0, 0, -1)
        field_add(t, 0, 1, 1)
    assert_tamper_rejected(ATTACK_SRC, {"x": X}, "lut_table", edit)


def test_too_wide_input_is_refused():
    src = """
input x : i63[2] scale 0 public
y = lut x, fn=exp, range=[-8, 0], scale=6
output y
"""
    with pytest.raises(StatementError, match="instruction 0 .*too wide to range check"):
        api.setup(assemble(src), "test")
