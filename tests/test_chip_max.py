"""max / argmax chips: prove reductions against numpy, reject a wrong maximum or index.

Attacks are played by a prover whose VM computes the instruction wrongly
(``vm._compute`` patched), so its memory bus and public outputs agree with
the wrong value and only the chip's own rule can reject it; each attack is
checked twice: the debug check names the rule that catches it, and a proof
built anyway does not verify.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import zkvm.api as api
from zkvm.air.chips.memory import RangeTable
from zkvm.air.chips.statement import StatementError
from zkvm.assembler import assemble
from zkvm.runtime import vm
from zkvm.stark.errors import VerificationError
from zkvm.stark.prover import ProverError
from vmtest import assert_tamper_rejected, chip_index, field_add, prove_verify


def attack(monkeypatch, src, inputs, op, patch, reason, edit=None):
    """Prove with ``op`` computed as ``patch(out, aux, x, attrs)`` says; expect rejection.

    ``reason`` is a regex the debug check's message must match; ``edit(traces,
    statement)`` may change the traces further (in place).
    """
    orig = vm._compute

    def fake(program, ins, a):
        out, aux = orig(program, ins, a)
        return patch(out, aux, a[0], ins.attrs) if ins.op == op else (out, aux)

    monkeypatch.setattr(vm, "_compute", fake)
    monkeypatch.setattr(RangeTable, "trace_from_counts", _count_valid_only)
    prog = assemble(src)
    key = api.setup(prog, "test")

    def tamper(traces):
        traces = [t.copy() for t in traces]
        if edit is not None:
            edit(traces, key.statement)
        return traces

    with pytest.raises(ProverError, match=reason):
        api.prove(prog, inputs, "test", key=key, debug=True, _tamper=tamper)
    with pytest.raises(VerificationError):
        proof = api.prove(prog, inputs, "test", key=key, seed=b"test", _tamper=tamper)
        api.verify(proof, key.vk, min_bits=0)


def _count_valid_only(self, lookups):
    """A cheating prover's range table: it counts every lookup that is in the table."""
    keep = [v[(v >= 0) & (v < 1 << 16)] for v in (np.asarray(v, np.int64).ravel() for v in lookups)]
    return _honest_counts(self, keep)


_honest_counts = RangeTable.trace_from_counts
RANGE = "bus 2 tuple"  # the range table does not balance: a negative gap was looked up


@settings(max_examples=2, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32 - 1))
@example(59)  # shape [2, 3, 3], max over axes [0, 2], argmax over axis 1
def test_max_and_argmax_match_numpy(seed):
    rng = np.random.default_rng(seed)
    shape = [int(d) for d in rng.integers(1, 4, rng.integers(1, 4))]
    rank = len(shape)
    axes = sorted(int(a) for a in rng.choice(rank, rng.integers(1, rank + 1), replace=False))
    axis = int(rng.integers(0, rank))
    keep = bool(rng.integers(0, 2))
    x = rng.integers(-3, 4, shape)  # small range: many ties
    dims = ", ".join(map(str, shape))
    ks = "true" if keep else "false"
    src = f"""
input x : i8[{dims}] scale 0 public
m = max x, axes={axes}, keepdims={ks}
a = argmax x, axis={axis}, keepdims={ks}
output m, a
"""
    out, _, _ = prove_verify(src, {"x": x})
    np.testing.assert_array_equal(out["m"], x.max(axis=tuple(axes), keepdims=keep))
    np.testing.assert_array_equal(out["a"], x.argmax(axis=axis, keepdims=keep))


ZK_SRC = """
input x : i16[1,2,4,4] scale 4 private range [-300, 300]
p = maxpool x, kernel=[2,2]
f = reshape p, [2, 4]
a = argmax f, axis=-1
output p, a
"""


def test_private_maxpool_and_argmax_zk():
    x = np.random.default_rng(3).integers(-300, 301, (1, 2, 4, 4))
    x[0, 0, 0, 1] = x[0, 0, 0, 0] = 300  # a tie in one window
    out, proof, _ = prove_verify(ZK_SRC, {"x": x})
    ref = x.reshape(1, 2, 2, 2, 2, 2).max(axis=(3, 5))
    np.testing.assert_array_equal(out["p"], ref)
    np.testing.assert_array_equal(out["a"], ref.reshape(2, 4).argmax(axis=-1))
    assert "x" not in proof.public.meta["inputs"]


WIDE_SRC = """
input a : i32[2,3] scale 0 public
input b : i32[3] scale 0 public
m = maximum a, b
i = argmax a, axis=0
output m, i
"""


def test_wide_inputs_use_limbs():
    a = np.array([[-2**31, 5, 2**31 - 1], [2**31 - 1, 5, -7]])
    b = np.array([0, 6, -2**31])
    prog = assemble(WIDE_SRC)
    key = api.setup(prog, "test")
    assert key.statement.chips[chip_index(key, "max")].params["limbs"] == 2
    out, _, _ = prove_verify(WIDE_SRC, {"a": a, "b": b})
    np.testing.assert_array_equal(out["m"], np.maximum(a, b))
    np.testing.assert_array_equal(out["i"], a.argmax(axis=0))


ATTACK_SRC = """
input x : i8[2,4] scale 0 public range [-100, 100]
m = max x, axes=[1]
a = argmax x, axis=1
output m, a
"""
X = np.array([[3, 9, -4, 9], [-5, -6, -1, -7]])


def test_wrong_max_is_rejected(monkeypatch):
    # claim the second largest element (arg pointing at it): some x exceeds m
    def patch(out, aux, x, at):
        arg = np.argsort(x, axis=1, kind="stable")[:, -3]
        return x[np.arange(2), arg], {"arg": arg}
    attack(monkeypatch, ATTACK_SRC, {"x": X}, "max", patch, RANGE)


def test_max_above_every_element_is_rejected(monkeypatch):
    # m = max + 1 passes every range check but is no element of the group
    attack(monkeypatch, ATTACK_SRC, {"x": X}, "max", lambda out, aux, x, at: (out + 1, aux),
           "the chosen row holds the maximum")


def test_max_without_chosen_row_is_rejected(monkeypatch):
    # m = max + 1 and no row chosen: the count of chosen rows is 0, not 1
    def edit(traces, st):
        i = [k for k, c in enumerate(st.chips) if c.name == "max"][0]
        traces[i][2:4, :8] = 0  # is_arg, cnt
    attack(monkeypatch, ATTACK_SRC, {"x": X}, "max", lambda out, aux, x, at: (out + 1, aux),
           "exactly one chosen row", edit)


def test_non_first_argmax_is_rejected(monkeypatch):
    # row 0 has its maximum 9 twice (indices 1 and 3): claim the last one
    def patch(out, aux, x, at):
        return x.shape[1] - 1 - np.argmax(x[:, ::-1], axis=1), aux
    attack(monkeypatch, ATTACK_SRC, {"x": X}, "argmax", patch, RANGE)


def test_argmax_of_non_maximum_is_rejected(monkeypatch):
    # index of the smallest element, with its value as the claimed maximum
    def patch(out, aux, x, at):
        i = np.argmin(x, axis=1)
        return i, {"max": x[np.arange(2), i]}
    attack(monkeypatch, ATTACK_SRC, {"x": X}, "argmax", patch, RANGE)


def test_wrong_argmax_count_is_rejected():
    # the sent index r, changed on the group's last row only
    assert_tamper_rejected(ATTACK_SRC, {"x": X}, "argmax", lambda t: field_add(t, 4, 3, 1))


def test_too_wide_input_is_refused():
    src = """
input x : i50[2] scale 0 public
m = max x, axes=[0]
output m
"""
    with pytest.raises(StatementError, match="instruction 0 .*too wide to range check"):
        api.setup(assemble(src), "test")
