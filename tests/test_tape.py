"""The fused constraint evaluation (``zkvm.air.tape``) against ``ArrayBuilder``.

For every chip the VM builds (in public and zero-knowledge statements: the
blinded wrappers and the blinding table included) and every test AIR, the
tape's combination of all constraints (LogUp ones included) must equal the
whole-column reference on random columns, selectors and challenges.
"""

from __future__ import annotations

import numpy as np
import pytest

import airs
import test_chip_divide
import test_chip_elementwise
import test_chip_lut
import test_chip_max
import test_chip_sum
import test_chip_wide_input
import test_vm
from zkvm.air.chips.statement import build_statement
from zkvm.air.registry import _REGISTRY
from zkvm.air.tape import compile_constraints
from zkvm.air.tape_eval import constraint_sum, constraint_sum_reference
from zkvm.assembler import assemble
from zkvm.field.scalar import P, Ext
from zkvm.stark.layout import StarkLayout

SOURCES = [test_chip_divide.SRC, test_chip_divide.ZK_SRC, test_chip_elementwise.SRC,
           test_chip_lut.SHARED_SRC, test_chip_max.ZK_SRC, test_chip_max.WIDE_SRC,
           test_chip_sum.SRC]


def _model_programs():
    from zkvm.examples.program import build_program
    from zkvm.examples.trained import load_weights
    from zkvm.isa import Program
    from zkvm.isa.visibility import with_visibility

    out = []
    for name in ("mlp", "cnn"):
        prog = with_visibility(build_program(name, load_weights(name)), weights="hashed",
                               salt=[1, 2, 3, 4])
        out.append(Program.from_bytes(prog.to_bytes()))
    return out


def _layouts():
    lays = []
    progs = ([assemble(s) for s in SOURCES] + [test_vm.mlp()[0], test_chip_wide_input.wide_program()]
             + _model_programs())
    for prog in progs:
        for zk in ((True,) if prog.has_hidden else (False, True)):
            st = build_statement(prog, zk)
            lays.append(StarkLayout(st.chips, 3, st.zk))
    test_airs = [airs.Fibonacci(6), airs.RangeChecked(6), airs.RangeTable(8),
                 airs.Producer(5, {"reads": 1}), airs.Squarer(4, {"offset": 100, "count": 3})]
    for zk in (False, True):
        lays.append(StarkLayout(test_airs, 3, zk))
    return lays


@pytest.fixture(scope="module")
def tables():
    seen, out = set(), []
    for lay in _layouts():
        for t in lay.tables:
            key = (type(t.air).__name__, repr(t.air.spec()), t.index if lay.zk else -1)
            if key not in seen:
                seen.add(key)
                out.append(t)
    return out


def test_every_registered_chip_is_covered(tables):
    kinds = {t.air.name for t in tables}
    assert set(_REGISTRY) <= kinds | {"zk_blind"}, sorted(set(_REGISTRY) - kinds)
    assert "zk_blind" in kinds


def _rand(rng, *shape):
    return rng.integers(0, P, size=shape, dtype=np.uint64)


@pytest.mark.parametrize("m,step", [(512, 8), (64, 4), (1024, 1)])
def test_fused_equals_array_builder_on_random_columns(tables, m, step):
    rng = np.random.default_rng(m + step)
    for t in tables:
        a = t.air
        mq = _rand(rng, a.main_width, m) if a.main_width else None
        pq = _rand(rng, a.pre_width, m) if a.pre_width else None
        qq = _rand(rng, 2 * t.n_perm, m) if t.n_perm else None
        sel = tuple(_rand(rng, m) for _ in range(3))
        pub = [int(x) for x in _rand(rng, len(a.public_names))]
        ex = [Ext(int(x), int(y)) for x, y in _rand(rng, 6, 2)]
        betas = [Ext(int(x), int(y)) for x, y in _rand(rng, t.info.plan.max_tuple + 2, 2)]
        claimed = ex[2] if t.n_perm else None
        args = (t, mq, pq, qq, sel, step, pub, ex[0], ex[1], betas, claimed)
        got = constraint_sum(*args)
        want = constraint_sum_reference(*args)
        assert np.array_equal(got, want), f"{a.name} (table {t.index})"


def test_tape_reuses_registers(tables):
    pos = next(t for t in tables if t.air.name == "poseidon2")
    tape = compile_constraints(pos.air, pos.info.plan)
    assert tape.n_base < tape.code.shape[0] // 4
    assert tape.n_constraints >= pos.info.n_constraints - 1


def test_tape_cache_is_shared_by_chips_with_equal_specs(tables):
    from zkvm.air.registry import build
    from zkvm.air.tape import tape_for

    from zkvm.stark.blind import BlindedAir

    from zkvm.air import tape as tape_mod

    # start from empty caches: earlier tests may have filled the spec cache past its bound
    # (it is cleared then) while the per-object cache still holds this chip's tape
    tape_mod._BY_SPEC.clear()
    tape_mod._CACHE.clear()
    t = next(t for t in tables if t.air.name == "matmul" and not isinstance(t.air, BlindedAir))
    again = build(t.air.spec())
    assert again is not t.air
    first = tape_for(t.air, t.info.plan)
    assert tape_for(again, t.info.plan) is first


def test_fused_reads_a_strided_domain_in_place(tables):
    """Columns given on a domain ``stride`` times larger (the LDE) are read at every
    ``stride``-th point, as the prover passes them."""
    rng = np.random.default_rng(5)
    m, step, stride = 256, 4, 4
    for t in tables:
        a = t.air
        big = {k: (_rand(rng, w, m * stride) if w else None)
               for k, w in (("main", a.main_width), ("pre", a.pre_width), ("perm", 2 * t.n_perm))}
        small = {k: (None if v is None else np.ascontiguousarray(v[:, ::stride]))
                 for k, v in big.items()}
        sel = tuple(_rand(rng, m) for _ in range(3))
        pub = [int(x) for x in _rand(rng, len(a.public_names))]
        ex = [Ext(int(x), int(y)) for x, y in _rand(rng, 3, 2)]
        betas = [Ext(int(x), int(y)) for x, y in _rand(rng, t.info.plan.max_tuple + 2, 2)]
        rest = (sel, step, pub, ex[0], ex[1], betas, ex[2] if t.n_perm else None)
        got = constraint_sum(t, big["main"], big["pre"], big["perm"], *rest, stride=stride)
        want = constraint_sum_reference(t, small["main"], small["pre"], small["perm"], *rest)
        assert np.array_equal(got, want), f"{a.name} (table {t.index})"
        # a stride per phase: the preprocessed columns given on the domain itself (as the
        # proving key keeps them), the others on the LDE
        mixed = (big["main"], small["pre"], big["perm"])
        for f in (constraint_sum, constraint_sum_reference):
            got = f(t, *mixed, *rest, stride=(stride, 1, stride))
            assert np.array_equal(got, want), f"{f.__name__}: {a.name} (table {t.index})"
