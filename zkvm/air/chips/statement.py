"""From a program to the tables that prove it, and from an execution to their traces.

``build_statement(program)`` depends on the public program alone (so anyone
can derive the verifying key; hidden weight values are never used): one chip
per compute instruction (from the planner registered for its opcode), an
``InputChip`` per private or hashed input (``WideInputChip`` when its range
spans 2^16 values or more), a ``PrivateWeightsChip`` table per
range of private/hashed weights, a ``ConstChip`` for public weights read
through the bus, the hash tables of hashed tensors (``zkvm.air.chips.hashed``:
a ``SaltChip`` and one ``Poseidon2Chip``), the range table when some chip
range-checks, and whatever tables the planners add (lookup tables). Address
maps (views) cost nothing: consumers just read other addresses.

Multiplicities are counted once all chips have declared what they read: an
element's producer sends it as many times as chips receive it, plus one per
public output element and per digest element (the verifier's reads).

Visibility (docs/visibility.md): anything private or hashed makes the
statement zero-knowledge; only public inputs and outputs, the model
commitment and the digests of hashed inputs/outputs are verifier-side bus
terms (``io`` meta, ``zkvm.air.chips.io``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from zkvm.field.scalar import P

from zkvm.air.chips.common import VmChip, Witness
from zkvm.air.chips.planner import PLANNERS, Context, StatementError  # noqa: F401  (re-exported)
from zkvm.air.chips.memory import ConstChip, InputChip, RangeTable

@dataclass
class VmStatement:
    program: object
    zk: bool
    chips: list[VmChip]
    io: dict = field(default_factory=dict)
    hashed: list = field(default_factory=list)   # zkvm.air.chips.hashed.HashedTensor
    n_addresses: int = 0                          # program addresses + salts and digests

    def traces(self, ex, salts: dict[str, list[int]] | None = None) -> list[np.ndarray]:
        """Main traces of every chip from an execution of the program."""
        return self.witness(ex, salts)[0]

    def witness(self, ex, salts: dict[str, list[int]] | None = None
                ) -> tuple[list[np.ndarray], list[list[int]]]:
        """``(traces, digests)``: main traces and the digest of each hash job (``self.hashed``).

        Args:
            ex: an execution of the program (bound to its hidden weights).
            salts: the salt of each hashed input/output by tensor name (the
                model commitment's salt is the program's ``weight_salt``).

        Raises:
            StatementError: a salt is missing or has the wrong length.
        """
        w = Witness(ex, self._memory(ex, salts or {}))
        out: list[np.ndarray | None] = [None] * len(self.chips)
        for i, c in enumerate(self.chips):   # producers first, then the lookup tables they use
            if not c.reads_range_lookups:
                out[i] = c.witness(w)
                w.range_lookups += c.range_values(out[i])
        for i, c in enumerate(self.chips):
            if c.reads_range_lookups:
                out[i] = c.witness(w)
        return out, w.digests

    def _memory(self, ex, salts: dict[str, list[int]]) -> np.ndarray:
        """The execution's memory image (field elements) extended with the salts."""
        from zkvm.air.chips.common import field as to_field
        from zkvm.isa.hidden import pack_tensor

        if not self.hashed:
            return ex.memory
        mem = np.zeros(self.n_addresses, dtype=np.uint64)
        mem[:ex.memory.size] = to_field(ex.memory)
        c = self.program.commitment
        wsalts = (c.group_salts(ex.program.weight_salt) if c is not None
                  and ex.program.weight_salt is not None else [])
        for h in self.hashed:
            if h.kind == "weights":
                s = wsalts[h.group] if h.group < len(wsalts) else None
            else:
                s = salts.get(h.name)
            if s is None or len(s) != h.salt_addrs.size:
                what = "the model commitment" if h.kind == "weights" else f"hashed {h.kind} " \
                    f"'{h.name}'"
                raise StatementError(f"{what} needs a salt of {h.salt_addrs.size} field elements"
                                     f" (got {None if s is None else len(s)})")
            mem[h.salt_addrs] = [int(v) % P for v in s]
            if h.header_addrs is not None:
                mem[h.header_addrs] = [int(v) % P for v in h.header]
            for name, addrs in (h.packed or {}).items():
                mem[addrs] = pack_tensor(ex.values[name], self.program.tensors[name].bits)
        return mem


def _fill_multiplicities(n: int, chips: list[VmChip], io_outputs: list[np.ndarray]) -> np.ndarray:
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


def build_statement(program, zk: bool | None = None, *, onchain: bool = False) -> VmStatement:
    """The chips proving ``program`` (``zk`` defaults to: something is private or hashed).

    ``onchain``: plan the tables for the Solidity verifier's gas (planner.Context).

    Raises:
        StatementError: an instruction no chip proves, a private input wider
            than 16 bits, ``zk=False`` for a program with hidden values, or a
            read with no producer.
    """
    from zkvm.air.chips.hashed import plan_hashes
    from zkvm.air.chips.private_weights import plan_private_weights

    hidden = program.has_hidden
    if zk is None:
        zk = hidden
    if hidden and not zk:
        raise StatementError("this program has private or hashed values: its proofs must be "
                             "zero-knowledge (do not pass zk=False / --no-zk)")
    ctx = Context(program, zk, onchain)
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
    # hash jobs (addresses past the program's), producers of hidden weights and private inputs
    hashed, hash_chips, n_total, packed = plan_hashes(ctx, program.n_addresses)
    chips += plan_private_weights(ctx, program.hidden_weights, packed)
    inputs_meta = []
    for t in program.inputs:
        base = program.base(t.name)
        addrs = np.arange(base, base + t.size, dtype=np.int64)
        if t.visibility == "public":
            inputs_meta.append((t, addrs))
            continue
        cls = InputChip
        if t.hi - t.lo >= (1 << 16):  # exact limb check (zkvm.air.chips.wide_input)
            from zkvm.air.chips.wide_input import MAX_SPAN_BITS, WideInputChip

            if t.hi - t.lo >= (1 << MAX_SPAN_BITS):
                raise StatementError(
                    f"private input {t.name!r} ({t.type_str}) spans {MAX_SPAN_BITS} bits or "
                    "more; declare it narrower (or give it a value range)")
            cls = WideInputChip
        c = cls(ctx.log_height(t.size), {"lo": t.lo, "hi": t.hi},
                {"addr": addrs, "write_addrs": addrs})
        c.source = t.name
        chips.append(c)
        inputs_meta.append((t, addrs))
    chips += hash_chips
    public_out = [o for o in program.outputs if program.tensors[o].visibility == "public"]
    out_addrs = [np.asarray(program.addresses(o), dtype=np.int64).ravel() for o in public_out]
    reads = _fill_multiplicities(n_total, chips, out_addrs + [h.digest_addrs for h in hashed])
    # public weights read through the bus
    waddr, wval = [], []
    for name, w in program.public_weights.items():
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
    if any(c.uses_range for c in chips):
        chips.append(RangeTable())
    # every read must have a producer
    produced = np.zeros(n_total, dtype=bool)
    for c in chips:
        w = c.data.get("write_addrs")
        if w is not None:
            produced[w] = True
    for t in program.inputs:
        produced[program.base(t.name):program.base(t.name) + t.size] = True
    for name in program.public_weights:
        produced[program.base(name):program.base(name) + program.tensors[name].size] = True
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
                     "lo": int(program.intervals[o][0]), "hi": int(program.intervals[o][1]),
                     "addrs": a.astype("<i8").tobytes()} for o, a in zip(public_out, out_addrs)],
    }
    hidden_out = [{"name": o, "visibility": program.tensors[o].visibility,
                   "shape": list(program.tensors[o].shape), "scale": program.tensors[o].scale}
                  for o in program.outputs if o not in public_out]
    if hidden_out:
        io["hidden_outputs"] = hidden_out
    if hashed:
        io["digests"] = [h.meta() for h in hashed]
    return VmStatement(program, zk, chips, io, hashed, n_total)
