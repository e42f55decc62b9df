"""From a program to the tables that prove it, and from an execution to their traces.

``build_statement(program)`` depends on the program alone (so anyone can
derive the verifying key): one chip per compute instruction (from the
planner registered for its opcode), an ``InputChip`` per private input, a
``ConstChip`` for public weights read through the bus, the range table when
some chip range-checks, and whatever tables the planners add (lookup tables).
Address maps (views) cost nothing: consumers just read other addresses.

Multiplicities are counted once all chips have declared what they read: an
element's producer sends it as many times as chips receive it, plus one per
public output element (the verifier's read).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from zkvm.air.chips.common import VmChip, log_height_for
from zkvm.air.chips.memory import ConstChip, InputChip, RangeTable

#: opcode -> planner(ctx, index, instruction) -> list of chips
PLANNERS: dict[str, Callable] = {}


def planner(*ops: str):
    """Register the function that makes the chips of ``ops``' instructions."""
    def deco(fn):
        for op in ops:
            PLANNERS[op] = fn
        return fn
    return deco


class StatementError(ValueError):
    """The program cannot be proved as it is (says which instruction and why)."""


@dataclass
class Context:
    """What planners may use: the program and the zk flag (never an execution)."""

    program: object
    zk: bool

    def log_height(self, n_rows: int) -> int:
        return log_height_for(n_rows, self.zk)


@dataclass
class VmStatement:
    program: object
    zk: bool
    chips: list[VmChip]
    io: dict = field(default_factory=dict)

    def traces(self, ex) -> list[np.ndarray]:
        """Main traces of every chip from an execution of the program."""
        events = {e.index: e for e in ex.events}
        out: list[np.ndarray | None] = []
        lookups = []
        range_idx = None
        for i, c in enumerate(self.chips):
            if isinstance(c, RangeTable):
                range_idx = i
                out.append(None)
                continue
            if isinstance(c, InputChip):
                tr = c.trace(ex.values[c.source])
            elif isinstance(c, ConstChip):
                tr = c.trace()
            elif hasattr(c, "trace_from_execution"):
                tr = c.trace_from_execution(ex, self)
            else:
                tr = c.trace(ex, events[c.source])
            out.append(tr)
            lookups += c.range_values(tr)
        if range_idx is not None:
            out[range_idx] = self.chips[range_idx].trace_from_counts(lookups)
        return out


def _fill_multiplicities(program, chips: list[VmChip], io_outputs: list[np.ndarray]) -> np.ndarray:
    n = program.n_addresses
    reads = np.zeros(n, dtype=np.int64)
    for c in chips:
        r = c.data.get("read_addrs")
        if r is not None and r.size:
            reads += np.bincount(r.ravel(), minlength=n)
    for a in io_outputs:
        reads += np.bincount(a.ravel(), minlength=n)
    for c in chips:
        w = c.data.get("write_addrs")
        if w is not None:
            c.data["mult"] = reads[w]
    return reads


def build_statement(program, zk: bool | None = None) -> VmStatement:
    """The chips proving ``program`` (``zk`` defaults to: some input is private)."""
    if zk is None:
        zk = any(t.visibility != "public" for t in program.inputs)
    ctx = Context(program, zk)
    chips: list[VmChip] = []
    for idx, ins in enumerate(program.instructions):
        from zkvm.isa.ops import OPS

        if OPS[ins.op].view:
            continue
        if ins.op not in PLANNERS:
            raise StatementError(
                f"instruction {idx} {ins.describe()}: no chip proves '{ins.op}' yet")
        for c in PLANNERS[ins.op](ctx, idx, ins):
            chips.append(c)
    # producers of inputs and weights
    produced = np.zeros(program.n_addresses, dtype=bool)
    for c in chips:
        w = c.data.get("write_addrs")
        if w is not None:
            produced[w] = True
    inputs_meta = []
    for t in program.inputs:
        base = program.base(t.name)
        addrs = np.arange(base, base + t.size, dtype=np.int64)
        if t.visibility == "public":
            inputs_meta.append((t, addrs))
            continue
        if t.hi - t.lo >= (1 << 16):
            raise StatementError(
                f"private input {t.name!r} ({t.type_str}) is wider than 16 bits; declare it "
                "i16 or narrower (or give it a value range)")
        c = InputChip(ctx.log_height(t.size), {"lo": t.lo, "hi": t.hi},
                      {"addr": addrs, "write_addrs": addrs})
        c.source = t.name
        chips.append(c)
        inputs_meta.append((t, addrs))
    out_addrs = [np.asarray(program.addresses(o), dtype=np.int64).ravel() for o in program.outputs]
    reads = _fill_multiplicities(program, chips, out_addrs)
    # public weights read through the bus
    waddr, wval = [], []
    for name, w in program.weights.items():
        base = program.base(name)
        a = np.arange(base, base + w.size, dtype=np.int64)
        keep = reads[a] > 0
        waddr.append(a[keep])
        wval.append(np.asarray(w, dtype=np.int64).ravel()[keep])
    if waddr and sum(a.size for a in waddr):
        a = np.concatenate(waddr)
        c = ConstChip(ctx.log_height(a.size), {},
                      {"addr": a, "value": np.concatenate(wval), "mult": reads[a]})
        chips.append(c)
    if any(getattr(c, "uses_range", False) or isinstance(c, InputChip) for c in chips):
        chips.append(RangeTable())
    # every read must have a producer
    for t in program.inputs:
        produced[program.base(t.name):program.base(t.name) + t.size] = True
    for name in program.weights:
        produced[program.base(name):program.base(name) + program.weights[name].size] = True
    produced[0] = True
    orphan = np.flatnonzero((reads > 0) & ~produced)
    if orphan.size:
        raise StatementError(f"address {int(orphan[0])} is read but nothing produces it")
    io = {
        "zero_reads": int(reads[0]),
        "inputs": [{"name": t.name, "shape": list(t.shape), "scale": t.scale, "bits": t.bits,
                    "lo": int(t.lo), "hi": int(t.hi), "visibility": t.visibility, "addr_base": int(a[0]) if a.size else 0,
                    "mult": reads[a].astype("<i4").tobytes()} for t, a in inputs_meta],
        "outputs": [{"name": o, "shape": list(program.tensors[o].shape),
                     "scale": program.tensors[o].scale,
                     "addrs": a.astype("<i8").tobytes()} for o, a in zip(program.outputs, out_addrs)],
    }
    return VmStatement(program, zk, chips, io)
