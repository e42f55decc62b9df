"""Compile a chip's constraints (and its LogUp constraints) into a flat tape.

The prover evaluates every constraint of a table on its whole quotient
domain and folds them with the challenge ``alpha``. Running ``eval`` on
whole-column ``FA`` values (``zkvm.air.array_builder``) does one numba call
per operation and allocates a full column for every intermediate value; for
the Poseidon2 table that is thousands of passes over ``2^16``-element arrays.
Instead, the constraints are recorded once per chip as an expression DAG
(the symbolic builder, ``zkvm.air.expr``), deduplicated and constant-folded,
and turned into a register *tape*: one instruction ``(op, dst, a, b)`` per
node, over base-field and extension-field register slots reused as soon as
their value is dead (liveness over the instruction order). The kernel in
``zkvm.air.tape_eval`` runs the tape on blocks of rows that stay in cache.

The fold is computed as ``sum_k alpha^(N-1-k) c_k`` with precomputed powers,
which equals ``ArrayBuilder``'s ``acc = acc * alpha + c_k`` (and the
verifier's ``PointBuilder``) exactly; constraints that fold to the constant 0
then contribute nothing and are dropped. The constraint order is the one
``_quotient_chunks`` always used: the chip's ``eval``, then ``eval_logup``
with the challenges ``(bus_alpha, claimed_sum, beta, beta^2, ...)``.

Plain Python (no numba): the compiled tape is cached per chip object.
"""

from __future__ import annotations

import json
import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np

from zkvm.air.air import Air
from zkvm.air.builder import SymbolicBuilder
from zkvm.air.expr import Bin, Const, Expr, Selector, Var
from zkvm.air.logup import LogupPlan, eval_logup
from zkvm.field.scalar import P

# opcodes (the kernel tests them in this order: most frequent first)
(B_MUL, B_ADD, B_SUB, B_MULC, B_ADDC, B_SUBC, B_RSUBC,
 LD_MAIN, LD_NEXT, LD_PRE, LD_PRE_NEXT, LD_SEL, LD_CONST, LD_PUB,
 ACC_B, ACC_E,
 E_ADD, E_SUB, E_MUL, EB_ADD, EB_SUB, BE_SUB, EB_MUL,
 LD_PERM, LD_PERM_NEXT, LD_CH) = range(26)

_BASE_LEAF = {"main": LD_MAIN, "next": LD_NEXT, "pre": LD_PRE, "pre_next": LD_PRE_NEXT,
              "public": LD_PUB}
_EXT_LEAF = {"perm": LD_PERM, "perm_next": LD_PERM_NEXT, "challenge": LD_CH}
_SEL = {"first": 0, "last": 1, "transition": 2}


@dataclass(frozen=True)
class Tape:
    """A compiled constraint system.

    Attributes:
        code: ``int64 (n_ins, 4)`` instructions ``(op, dst, a, b)``.
        consts: base-field constants the ``*C`` and ``LD_CONST`` instructions index.
        n_base, n_ext: register slots of each kind.
        n_constraints: ``N``, the number of constraints folded (the power of
            alpha of constraint ``k`` is ``N - 1 - k``).
        n_challenges: extension challenges the LogUp part reads.
    """

    code: np.ndarray
    consts: np.ndarray
    n_base: int
    n_ext: int
    n_constraints: int
    n_challenges: int


class _Recorder(SymbolicBuilder):
    """Records every assertion in order, constant ones included (as ``ArrayBuilder``)."""

    def _assert(self, x: Any, label: str) -> None:
        if isinstance(x, Expr):
            self.constraints.append((x, label))
        elif isinstance(x, int):
            self.constraints.append((Const(x), label))
        else:
            raise TypeError(f"{self.air.name}: constraint {label} is not an expression")


class _Compiler:
    """Expr DAG -> SSA nodes (hash-consed, constant-folded) -> register tape."""

    def __init__(self) -> None:
        # node: (op, a, b, is_ext); op an opcode; a, b node ids / leaf indices / const ids
        self.nodes: list[tuple[int, int, int, bool]] = []
        self.keys: dict[tuple, int] = {}
        self.consts: list[int] = []
        self.const_ids: dict[int, int] = {}
        self.stream: list[tuple[str, int, int]] = []  # ("node", id, 0) / ("acc", id, k)

    # -- nodes ---------------------------------------------------------------
    def _const_id(self, v: int) -> int:
        if v not in self.const_ids:
            self.const_ids[v] = len(self.consts)
            self.consts.append(v)
        return self.const_ids[v]

    def _node(self, op: int, a: int, b: int, ext: bool) -> int:
        key = (op, a, b)
        if op in (B_ADD, B_MUL, E_ADD, E_MUL) and a > b:
            key = (op, b, a)  # commutative: one node for a+b and b+a
        nid = self.keys.get(key)
        if nid is None:
            nid = len(self.nodes)
            self.nodes.append((op, a, b, ext))
            self.keys[key] = nid
            self.stream.append(("node", nid, 0))
        return nid

    def _reg(self, v) -> tuple[int, bool]:
        """A value (``("c", int)`` or ``("n", id)``) as a register node id."""
        if v[0] == "n":
            return v[1], self.nodes[v[1]][3]
        return self._node(LD_CONST, self._const_id(v[1]), 0, False), False

    def _bin(self, op: str, a, b):
        if a[0] == "c" and b[0] == "c":
            x, y = a[1], b[1]
            return ("c", (x + y) % P if op == "+" else (x - y) % P if op == "-" else x * y % P)
        if op == "*":
            for u, v in ((a, b), (b, a)):
                if u == ("c", 0):
                    return ("c", 0)
                if u == ("c", 1):
                    return v
        if op == "+":
            for u, v in ((a, b), (b, a)):
                if u == ("c", 0):
                    return v
        if op == "-" and b == ("c", 0):
            return a
        # base operand with a constant: immediate forms
        if b[0] == "c" and not self.nodes[a[1]][3]:
            code = {"+": B_ADDC, "-": B_SUBC, "*": B_MULC}[op]
            return ("n", self._node(code, a[1], self._const_id(b[1]), False))
        if a[0] == "c" and not self.nodes[b[1]][3]:
            code = {"+": B_ADDC, "-": B_RSUBC, "*": B_MULC}[op]
            return ("n", self._node(code, b[1], self._const_id(a[1]), False))
        ia, ea = self._reg(a)
        ib, eb = self._reg(b)
        if not ea and not eb:
            return ("n", self._node({"+": B_ADD, "-": B_SUB, "*": B_MUL}[op], ia, ib, False))
        if ea and eb:
            return ("n", self._node({"+": E_ADD, "-": E_SUB, "*": E_MUL}[op], ia, ib, True))
        if ea:  # ext (op) base
            return ("n", self._node({"+": EB_ADD, "-": EB_SUB, "*": EB_MUL}[op], ia, ib, True))
        if op == "-":
            return ("n", self._node(BE_SUB, ia, ib, True))
        return ("n", self._node({"+": EB_ADD, "*": EB_MUL}[op], ib, ia, True))

    def value(self, root: Expr, memo: dict[int, Any]):
        """Convert an expression (iteratively: chains can be long) to a value."""
        stack = [(root, False)]
        while stack:
            e, ready = stack.pop()
            if id(e) in memo:
                continue
            if isinstance(e, Bin) and not ready:
                stack.append((e, True))
                for c in (e.b, e.a):
                    if id(c) not in memo:
                        stack.append((c, False))
                continue
            if isinstance(e, Const):
                out = ("c", int(e.value) % P)
            elif isinstance(e, Var):
                if e.kind in _BASE_LEAF:
                    out = ("n", self._node(_BASE_LEAF[e.kind], e.index, 0, False))
                else:
                    out = ("n", self._node(_EXT_LEAF[e.kind], e.index, 0, True))
            elif isinstance(e, Selector):
                out = ("n", self._node(LD_SEL, _SEL[e.which], 0, False))
            elif isinstance(e, Bin):
                out = self._bin(e.op, memo[id(e.a)], memo[id(e.b)])
            else:
                raise TypeError(f"cannot compile {type(e).__name__}")
            memo[id(e)] = out
        return memo[id(root)]

    def accumulate(self, v, k: int) -> None:
        if v == ("c", 0):
            return  # alpha^(N-1-k) * 0
        nid, _ = self._reg(v)
        self.stream.append(("acc", nid, k))

    # -- registers -----------------------------------------------------------
    def emit(self) -> tuple[np.ndarray, int, int]:
        """Dead-node elimination, liveness, slot allocation."""
        live = [False] * len(self.nodes)
        for kind, nid, _ in self.stream:
            if kind == "acc":
                live[nid] = True
        for nid in range(len(self.nodes) - 1, -1, -1):
            op, a, b, _ = self.nodes[nid]
            if live[nid]:
                for c in _operands(op, a, b):
                    live[c] = True
        stream = [s for s in self.stream if s[0] == "acc" or live[s[1]]]
        last: dict[int, int] = {}
        for pos, (kind, nid, _) in enumerate(stream):
            if kind == "acc":
                last[nid] = pos
            else:
                op, a, b, _ = self.nodes[nid]
                for c in _operands(op, a, b):
                    last[c] = pos
        free: dict[bool, list[int]] = {False: [], True: []}
        count = {False: 0, True: 0}
        slot: dict[int, int] = {}
        code = []
        for pos, (kind, nid, k) in enumerate(stream):
            if kind == "acc":
                code.append((ACC_E if self.nodes[nid][3] else ACC_B, slot[nid], k, 0))
                if last[nid] == pos:
                    free[self.nodes[nid][3]].append(slot[nid])
                continue
            op, a, b, ext = self.nodes[nid]
            ops = _operands(op, a, b)
            sa = slot[ops[0]] if ops else a
            sb = slot[ops[1]] if len(ops) > 1 else b
            if free[ext]:
                d = free[ext].pop()
            else:
                d = count[ext]
                count[ext] += 1
            slot[nid] = d
            assert all(slot[c] != d or self.nodes[c][3] != ext for c in ops)  # see below
            code.append((op, d, sa, sb))
            # operands dying here are freed only now: dst never aliases an operand, so
            # the kernel's loops vectorise (no overlap between what they read and write)
            for c in set(ops):
                if last[c] == pos:
                    free[self.nodes[c][3]].append(slot[c])
            if last.get(nid, -1) <= pos:  # never read
                free[ext].append(d)
        arr = np.array(code, dtype=np.int64).reshape(-1, 4)
        return arr, count[False], count[True]


_TWO = {B_MUL, B_ADD, B_SUB, E_ADD, E_SUB, E_MUL, EB_ADD, EB_SUB, BE_SUB, EB_MUL}
_ONE = {B_MULC, B_ADDC, B_SUBC, B_RSUBC}


def _operands(op: int, a: int, b: int) -> tuple[int, ...]:
    if op in _TWO:
        return (a, b)
    if op in _ONE:
        return (a,)
    return ()


def compile_constraints(air: Air, plan: LogupPlan) -> Tape:
    """Record ``air.eval`` and its LogUp constraints and compile them to a tape."""
    rec = _Recorder(air)
    air.eval(rec)
    n_ch = 2 + plan.max_tuple
    if plan.groups:
        ch = [Var("challenge", i) for i in range(n_ch)]
        k = plan.n_columns
        eval_logup(rec, rec.interactions, plan, ch[0], ch[2:],
                   [Var("perm", i) for i in range(k)], [Var("perm_next", i) for i in range(k)],
                   ch[1])
    comp = _Compiler()
    memo: dict[int, Any] = {}
    for k, (expr, _) in enumerate(rec.constraints):
        comp.accumulate(comp.value(expr, memo), k)
    code, nb, ne = comp.emit()
    consts = np.array(comp.consts, dtype=np.uint64) if comp.consts else np.zeros(1, np.uint64)
    return Tape(code, consts, nb, ne, len(rec.constraints), n_ch)


_CACHE: "weakref.WeakKeyDictionary[Air, Tape]" = weakref.WeakKeyDictionary()
_BY_SPEC: dict[tuple, Tape] = {}
_BY_SPEC_MAX = 512


def _spec_key(air: Air) -> tuple | None:
    """What determines a chip's constraints: its class and the spec the verifier rebuilds
    it from (a wrapper's class, inner class and table index too), or ``None``."""
    try:
        spec = json.dumps(air.spec(), sort_keys=True)
    except (TypeError, ValueError, NotImplementedError):
        return None
    inner = getattr(air, "inner", None)
    return (type(air), type(inner), getattr(air, "table_index", None), air.main_width,
            air.pre_width, tuple(air.public_names), spec)


def tape_for(air: Air, plan: LogupPlan) -> Tape:
    """``compile_constraints``, cached per chip object and per chip spec.

    A verifier rebuilds every chip from its spec, so chips with equal specs have
    equal constraints: a statement derived again (a new key for the same program)
    reuses the tapes of the last one.
    """
    tape = _CACHE.get(air)
    if tape is not None:
        return tape
    key = _spec_key(air)
    full = None if key is None else (key, plan)
    tape = _BY_SPEC.get(full) if full is not None else None
    if tape is None:
        tape = compile_constraints(air, plan)
        if full is not None:
            if len(_BY_SPEC) >= _BY_SPEC_MAX:
                _BY_SPEC.clear()
            _BY_SPEC[full] = tape
    _CACHE[air] = tape
    return tape
