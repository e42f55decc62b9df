"""The zero-knowledge blinding bus is bound like every other bus (issue 12, point 7).

The report: a harness changed the first rho the blinding table got from
``_with_blinding``; the debug checker said the bus was unbalanced, yet the
proof was said to verify. Two explanations were possible: (a) the change
never reached the committed trace (the prover proving something other than
what the debug checker checked), or (b) the blinding table's send is not
bound to its committed columns (a free blinding sum, which could absorb an
imbalance on any bus and forge any output in zk mode).

Neither holds on this code, and these tests pin both down:

* (a) the prover commits exactly the arrays ``_with_blinding`` returns (the
  debug checker reads the same ones): a changed rho in the blinding table, or
  in a blinded table's receive, is flagged by the debug checker *and* refused
  by the verifier, for every component, at degree 2 and 3, with a private
  input and with hashed weights;
* (b) the blinding table's claimed sum is not free: a prover that claims
  another output and moves the difference into the blinding table's claimed
  sum (and its LogUp column, as consistently as it can) is refused;
* the debug checker and the verifier agree on every edit tried.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import zkvm.api as api
import zkvm.stark.prover as prover
from tests.test_hashed_program import SALT, src
from test_e2e import load
from zkvm.assembler import assemble
from zkvm.field.scalar import P
from zkvm.fri.security import SecurityConfig
from zkvm.isa import Program
from zkvm.stark.blind import BUS_ZK_BLIND, BlindedAir, BlindTable
from zkvm.stark.errors import LogupSumMismatch, OodConstraintMismatch, VerificationError
from zkvm.stark.prover import ProverError

TEST = SecurityConfig.preset("test")
DEGREES = {"quadratic": TEST, "cubic": dataclasses.replace(TEST, ext_degree=3)}
HASHED_X = {"x": np.array([[3, -4, 5, 127]])}


@pytest.fixture(scope="module", params=["private_input", "hashed_weights"])
def statement(request):
    """(program, inputs, weights) of a zk proof."""
    if request.param == "private_input":
        prog, ints = load("xor", private=True)
        return prog, ints, None
    owner = assemble(src(), salt=SALT)
    return Program.from_bytes(owner.to_bytes()), HASHED_X, owner.private_weights()


def _prove(statement, cfg, **kw):
    prog, ints, weights = statement
    key = api.setup(prog, cfg)
    assert key.vk.zk
    return key, api.prove(prog, ints, cfg, key=key, weights=weights, seed=b"blind", **kw)


def _edited_blinding(monkeypatch, edit):
    """Patch the prover's ``_with_blinding``: ``edit(lay, traces)`` runs on what it returns."""
    orig = prover._with_blinding

    def patched(lay, traces, rng):
        out = orig(lay, traces, rng)
        edit(lay, out)
        return out

    monkeypatch.setattr(prover, "_with_blinding", patched)


def _bump(traces, table: int, col: int, row: int) -> None:
    traces[table] = traces[table].copy()
    traces[table][col, row] = np.uint64((int(traces[table][col, row]) + 1) % P)


def _flagged_and_refused(statement, cfg) -> None:
    """The debug checker flags the blinding bus, and the real verifier refuses the proof."""
    with pytest.raises(ProverError, match=f"bus {BUS_ZK_BLIND}"):
        _prove(statement, cfg, debug=True)
    key, proof = _prove(statement, cfg)
    with pytest.raises(LogupSumMismatch):
        api.verify(proof, key.vk, min_bits=0)


def _blinded_tables(lay):
    return [t.index for t in lay.tables if isinstance(t.air, BlindedAir)]


@pytest.mark.parametrize("degree", DEGREES)
def test_blinding_rho_changed_in_the_blinding_table_is_rejected(monkeypatch, statement, degree):
    """Harness (a): the first rho the blinding table sends, each component changed."""
    cfg = DEGREES[degree]
    for comp in range(cfg.ext_degree):
        with monkeypatch.context() as m:
            _edited_blinding(m, lambda lay, tr: _bump(tr, len(tr) - 1, comp, 0))
            _flagged_and_refused(statement, cfg)


@pytest.mark.parametrize("degree", DEGREES)
def test_blinding_rho_changed_in_the_receiving_table_is_rejected(monkeypatch, statement, degree):
    """The other end: a blinded table's received rho (its first row) changed."""
    cfg = DEGREES[degree]

    def edit(lay, tr):
        t = lay.tables[_blinded_tables(lay)[0]]
        _bump(tr, t.index, t.air.main_width - cfg.ext_degree, 0)

    _edited_blinding(monkeypatch, edit)
    _flagged_and_refused(statement, cfg)


@pytest.mark.parametrize("degree", DEGREES)
def test_free_blinding_sum_absorbing_an_output_change_is_rejected(monkeypatch, degree):
    """Harness (b): claim another output and move the bus difference into the blinding table.

    The prover changes the public output, computes the bus imbalance that the
    change causes under the real challenges, and adds it to the blinding
    table's claimed sum and to its LogUp running-sum column (every row from
    the last transition on, so only one transition breaks). The bus total then
    balances; the blinding table's own LogUp constraints do not.
    """
    from zkvm.stark.verifier import _public_bus_sum

    cfg = DEGREES[degree]
    prog_pub, ints = load("xor")  # public output; zk on by request: the blinding bus is there
    key = api.setup(prog_pub, cfg, zk=True)
    honest = api.prove(prog_pub, ints, cfg, key=key, seed=b"blind")
    out_name = next(iter(honest.public.meta["outputs"]))
    y = honest.public.meta["outputs"][out_name]
    lie = [y[0] + 1] + list(y[1:])
    lied_terms = api._claimed_terms(key.vk.meta["io"], {**honest.public.meta,
                                                      "outputs": {out_name: lie}})
    blind_index = len(key.pk.layout.tables) - 1
    assert isinstance(key.pk.layout.tables[blind_index].air, BlindTable)
    orig_logup = prover._logup_columns
    orig_prove = prover.prove

    def logup(t, main, pre, pubs, bus_alpha, betas):
        cols, claimed = orig_logup(t, main, pre, pubs, bus_alpha, betas)
        if t.index == blind_index:
            delta = (_public_bus_sum(state["honest_terms"], bus_alpha, betas)
                     - _public_bus_sum(state["lied_terms"], bus_alpha, betas))
            d = cfg.ext_degree
            cols = cols.copy()
            for j, c in enumerate(delta.coeffs):  # the running sum: the last D rows
                cols[-d + j, -1] = np.uint64((int(cols[-d + j, -1]) + c) % P)
            claimed = claimed + delta
        return cols, claimed

    state = {"honest_terms": honest.public.bus_terms, "lied_terms": lied_terms}

    def forged_prove(pk, traces, public, **kw):
        public.meta["outputs"][out_name] = lie
        public.bus_terms = lied_terms
        kw["_allow_invalid"] = True
        return orig_prove(pk, traces, public, **kw)

    monkeypatch.setattr(prover, "_logup_columns", logup)
    monkeypatch.setattr("zkvm.stark.prover.prove", forged_prove)
    forged = api.prove(prog_pub, ints, cfg, key=key, seed=b"blind")
    assert forged.public.meta["outputs"][out_name] == lie
    with pytest.raises(VerificationError) as e:
        api.verify(forged, key.vk, min_bits=0)
    # the bus total balanced; the blinding table's own LogUp rows did not
    assert isinstance(e.value, OodConstraintMismatch) and e.value.table == "zk_blind", e.value


def test_debug_checker_and_verifier_agree_on_every_blinding_edit(monkeypatch):
    """Every single-cell edit of the blinding columns: both accept or both refuse."""
    prog, ints = load("xor", private=True)
    statement = (prog, ints, None)
    key = api.setup(prog, TEST)
    lay = key.pk.layout
    edits = []
    for t in _blinded_tables(lay):
        w = lay.tables[t].air.main_width
        edits += [(t, w - 2 + c, row) for c in range(2) for row in (0, 1)]
    edits += [(len(lay.tables) - 1, c, row) for c in range(2) for row in (0, 1, 5)]
    verdicts = []
    for table, col, row in edits:
        with monkeypatch.context() as m:
            _edited_blinding(m, lambda lay, tr: _bump(tr, table, col, row))
            try:
                _prove(statement, TEST, debug=True)
                debug_ok = True
            except ProverError:
                debug_ok = False
            key, proof = _prove(statement, TEST)
            try:
                api.verify(proof, key.vk, min_bits=0)
                verifier_ok = True
            except VerificationError:
                verifier_ok = False
        verdicts.append((table, col, row, debug_ok, verifier_ok))
        assert debug_ok == verifier_ok, verdicts[-1]
    assert any(not v[3] for v in verdicts) and any(v[3] for v in verdicts)
