"""Split a program into segments: the deterministic plan that prover and verifier both derive.

``plan(program, params)`` depends on the public program and the segmentation
parameters only, so a verifier re-derives every segment program itself and
never takes one from a prover (docs/segments.md). Three steps:

1. **Refine** (``refine``): a ``matmul`` with a public 2-D weight whose
   result is read only by one ``rescale`` is cut into ``nb`` column blocks
   (``nb`` the smallest power of two that brings its cost under the budget):
   ``y_j = matmul x, w[:, J], b[J]; z_j = rescale y_j, k; z = concat z_j``.
   Column blocks of a product are the products of column blocks and rescale
   is element-wise, so the refined program computes exactly the same
   integers; the blocks are what lets one 4096x4096 layer span segments.
2. **Cut** (in ``plan``): the instructions, in order, are packed greedily
   into segments of at most ``segment_rows`` cost rows (``instruction_cost``).
   A cut is never made between a matmul and the instruction reading its wide
   accumulator right after it, and only where every tensor crossing it
   (produced before, read after; a view is re-made on the reading side from
   its sources) can be a segment input: a range spanning fewer than 2^48
   values (the exact limb check of ``WideInputChip``). A single instruction
   above the budget makes a segment of its own.
3. **Segment programs** (``Plan.segment_program``): segment ``i`` declares
   the weights it reads, the original inputs it reads (public ones public;
   a private or hashed one read by one segment keeps its visibility, read by
   several it is ``hashed`` in each with one salt), and each crossing tensor
   as an input of exactly its range; it outputs the original outputs it makes
   and the crossing tensors it makes. Crossing tensors are ``hashed`` (a
   salted Poseidon2 digest, the same salt on both sides of the boundary), or
   ``public`` with ``boundary="public"`` (only allowed for an all-public
   program, where every boundary is a function of public data anyway).

Hidden weights (docs/visibility.md): a segment declares the hidden weights
it reads with their visibility. A ``private`` weight read by one segment stays
private there (the statement "some weights give this output" splits into
disjoint per-segment parts); one read by several segments is refused, since
nothing would make the segments use the same values (declare it ``hashed``).
A ``hashed`` weight's segments carry the program's *per-tensor* model
commitment restricted to the weights they read
(``ModelCommitment.subset``): each segment proves the parts of its weights,
which the verifier takes from the public program, so every segment reading a
weight proves it opens the same published part. A program with an older
one-sponge commitment (one hash over all weights) cannot be split: it is
refused with what to do. Matmuls with hidden weights are not cut into column
blocks (their blocks are not committed), so such a layer is the smallest unit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

# the widest range a crossing tensor may have: what ``WideInputChip`` checks
from zkvm.air.chips.wide_input import MAX_SPAN_BITS as MAX_BOUNDARY_SPAN_BITS
from zkvm.isa.errors import ZkvmError
from zkvm.isa.ops import OPS

#: smallest budget a plan accepts (bounds the number of segments a file can ask for)
MIN_SEGMENT_ROWS = 16   # tiny: tests split small programs
MAX_SEGMENT_ROWS = 1 << 40
#: MACs per cost row of a matmul (the planner's tiles hold ~64-128 MACs per trace row)
MACS_PER_ROW = 64
BOUNDARIES = ("hashed", "public")


class SegmentError(ZkvmError):
    """A program cannot be segmented as asked (says why and what to do)."""


@dataclass(frozen=True)
class SegmentParams:
    """What, with the program, fixes the segmentation (recorded in bundle proofs and keys)."""

    segment_rows: int
    boundary: str = "hashed"

    def __post_init__(self) -> None:
        if isinstance(self.segment_rows, bool) or not isinstance(self.segment_rows, int) or not (
                MIN_SEGMENT_ROWS <= self.segment_rows <= MAX_SEGMENT_ROWS):
            raise SegmentError(f"segment rows must be an integer in [{MIN_SEGMENT_ROWS}, "
                               f"2^40], got {self.segment_rows!r}")
        if self.boundary not in BOUNDARIES:
            raise SegmentError(f"boundary must be one of {BOUNDARIES}, got {self.boundary!r}")

    def to_dict(self) -> dict:
        return {"segment_rows": self.segment_rows, "boundary": self.boundary}

    @staticmethod
    def from_dict(d) -> SegmentParams:
        if not isinstance(d, dict) or set(d) != {"segment_rows", "boundary"}:
            raise SegmentError("segmentation parameters must be {segment_rows, boundary}")
        return SegmentParams(d["segment_rows"], d["boundary"])


def instruction_cost(program, ins) -> int:
    """Cost rows of one instruction: ``ceil(MACs / 64)`` for matmul, output elements otherwise.

    A proxy for the trace rows its tables add (views cost nothing). It is part
    of the plan, so it must stay deterministic; the memory model
    (``zkvm.segments.budget``) is fitted against it.
    """
    spec = OPS[ins.op]
    if spec.view:
        return 0
    out = program.tensors[ins.output]
    if ins.op == "matmul":
        w = program.tensors[ins.inputs[1]].shape
        return max(1, -(-(out.size * w[0]) // MACS_PER_ROW))
    return max(1, out.size)


def refine(program, segment_rows: int):
    """The program with large matmul+rescale pairs cut into column blocks (module docstring)."""
    from zkvm.isa.blocks import emit_column_blocks, readers
    from zkvm.isa.program import ProgramBuilder

    rd = readers(program)
    cuts = {i: nb for i in range(len(program.instructions))
            if (nb := _blocks(program, rd, i, segment_rows)) > 1}
    if not cuts:
        return program   # nothing to cut: the program itself (no copy of its weights)
    b = ProgramBuilder()
    for t in program.tensors.values():
        if t.kind == "input":
            b.input(t.name, t.shape, t.bits, t.scale, t.visibility, t.value_range)
        elif t.kind == "weight":   # hidden values: absent from a public program
            b.weight(t.name, program.weights.get(t.name), t.bits, t.scale, t.shape, t.visibility)
    b.commitment, b.weight_salt = program.commitment, program.weight_salt
    skip = set()
    for i, ins in enumerate(program.instructions):
        if i in skip:
            continue
        if i in cuts:
            emit_column_blocks(b, program, i, cuts[i], lambda name, j: f"{name}#{j}")
            skip.add(i + 1)
            continue
        b.instruction(ins.op, ins.inputs, ins.output, ins.attrs,
                      bits=program.tensors[ins.output].bits, where=ins.where)
    for o in program.outputs:
        b.output(o, visibility=program.tensors[o].visibility)
    return b.build()


def _blocks(program, rd, i: int, segment_rows: int) -> int:
    """Column blocks for instruction ``i`` (1 = keep it whole): a cuttable matmul
    (``zkvm.isa.blocks.cuttable``) with public weights, above the budget."""
    from zkvm.isa.blocks import cuttable

    if not cuttable(program, rd, i):
        return 1
    ins = program.instructions[i]
    if any(program.tensors[n].visibility != "public" for n in ins.inputs[1:]):
        return 1   # hidden blocks would not be committed (zkvm.isa.blocks cuts them at commit)
    cost = instruction_cost(program, ins) + instruction_cost(program, program.instructions[i + 1])
    if cost <= segment_rows:
        return 1
    nb = 1 << math.ceil(math.log2(cost / segment_rows))   # the block keeps its rescale
    return max(1, min(nb, program.tensors[ins.inputs[1]].shape[1]))


@dataclass
class Segment:
    """One segment: instruction indices of the refined program and what crosses into/out of it."""

    index: int
    instructions: list[int]
    cost: int
    #: names read from outside: ("input"|"weight"|"boundary", name), declaration order
    reads: list[tuple[str, str]] = field(default_factory=list)
    #: view instructions re-made here (indices, before ``instructions`` in order)
    views: list[int] = field(default_factory=list)
    #: outputs: (role, name) with role "output" (original) or "boundary"
    writes: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Plan:
    """The segments of a program under ``params`` (see module docstring)."""

    program: object          # the original program
    params: SegmentParams
    fine: object             # the refined program
    segments: list[Segment]
    #: crossing tensor -> producing segment
    producer: dict[str, int]
    #: original non-public inputs read by more than one segment (hashed in each)
    shared_inputs: set[str]

    @property
    def n_segments(self) -> int:
        return len(self.segments)

    def crossing_visibility(self, name: str) -> str:
        """Visibility of a crossing tensor on both sides of its boundaries.

        An original output keeps ``public`` (the verifier compares values) and
        becomes ``hashed`` otherwise (a private one too: a salted digest hides
        it); any other tensor takes the plan's boundary visibility.
        """
        t = self.fine.tensors[name]
        if t.kind == "output":
            return "public" if t.visibility == "public" else "hashed"
        return self.params.boundary

    def visibility(self, role: str, name: str) -> str:
        """Visibility of ``name`` in a segment program, for its role there."""
        t = self.fine.tensors[name]
        if role == "input":
            return "hashed" if name in self.shared_inputs else t.visibility
        if name in self.producer:
            return self.crossing_visibility(name)
        return t.visibility

    def segment_program(self, i: int):
        """The program of segment ``i`` (built from the refined program; deterministic)."""
        from zkvm.isa.program import ProgramBuilder

        fine = self.fine
        seg = self.segments[i]
        if self.n_segments == 1:
            return fine   # one segment: the (refined) program itself
        b = ProgramBuilder()
        hashed = []
        for role, name in seg.reads:
            t = fine.tensors[name]
            if role == "weight":
                b.weight(name, fine.weights.get(name), t.bits, t.scale, t.shape, t.visibility)
                if t.visibility == "hashed":
                    hashed.append(name)
            elif role == "input":
                b.input(name, t.shape, t.bits, t.scale, self.visibility("input", name),
                        t.value_range)
            else:
                lo, hi = fine.intervals[name]
                b.input(name, t.shape, t.bits, t.scale, self.crossing_visibility(name),
                        (int(lo), int(hi)))
        for k in sorted(seg.views + seg.instructions):
            ins = fine.instructions[k]
            b.instruction(ins.op, ins.inputs, ins.output, ins.attrs,
                          bits=fine.tensors[ins.output].bits, where=ins.where)
        for role, name in seg.writes:
            b.output(name, visibility=self.visibility(role, name))
        b.meta("segment", f"{i + 1}/{self.n_segments}")
        if hashed:   # the parts of the weights it reads (their salts when the values are bound)
            c = fine.commitment
            b.commitment = c.subset(hashed)
            if fine.weight_salt is not None:
                b.weight_salt = c.subset_salt(fine.weight_salt, hashed)
        return b.build()


def plan(program, params: SegmentParams) -> Plan:
    """Derive the segments of ``program`` (deterministic; see module docstring).

    Raises:
        SegmentError: hidden weights it cannot split (module docstring), or a
            crossing tensor no cut can carry.
    """
    fine = refine(program, params.segment_rows)
    ins = fine.instructions
    n = len(ins)
    is_view = [OPS[x.op].view for x in ins]
    prod = {x.output: k for k, x in enumerate(ins)}

    def sources(name: str, k: int, acc: set, views: set) -> None:
        """Materialised tensors (or inputs/weights) behind ``name`` as read by instruction k."""
        p = prod.get(name)
        if p is not None and is_view[p]:
            views.add(p)
            for s in ins[p].inputs:
                sources(s, k, acc, views)
        else:
            acc.add(name)

    reads_of: list[set] = []
    views_of: list[set] = []
    for k, x in enumerate(ins):
        acc: set = set()
        vs: set = set()
        if not is_view[k]:
            for s in x.inputs:
                sources(s, k, acc, vs)
        reads_of.append(acc)
        views_of.append(vs)
    last_read: dict[str, int] = {}
    for k in range(n):
        for s in reads_of[k]:
            last_read[s] = k
    for o in fine.outputs:   # an output that is a view: its sources are read at the end
        acc = set()
        sources(o, n, acc, set())
        for s in acc:
            last_read[s] = n

    def crossing_ok(k: int) -> bool:
        prev = ins[k - 1]
        if prev.op == "matmul" and prev.output in ins[k].inputs:
            return False   # keep a matmul with its rescale: the accumulator is wide
        for name, last in last_read.items():
            p = prod.get(name)
            if p is None or p >= k or last < k:
                continue
            lo, hi = fine.intervals[name]
            if int(hi) - int(lo) >= (1 << MAX_BOUNDARY_SPAN_BITS):
                return False
        return True

    # greedy packing at allowed cuts
    bounds = [0]
    cost = 0
    for k in range(n):
        c = instruction_cost(fine, ins[k])
        if cost and cost + c > params.segment_rows and crossing_ok(k):
            bounds.append(k)
            cost = 0
        cost += c
    bounds.append(n)
    seg_of = np.zeros(n, dtype=np.int64)
    for s in range(len(bounds) - 1):
        seg_of[bounds[s]:bounds[s + 1]] = s
    segments = []
    producer: dict[str, int] = {}
    input_users: dict[str, set] = {}
    for s in range(len(bounds) - 1):
        idx = [k for k in range(bounds[s], bounds[s + 1]) if not is_view[k]]
        if not idx:
            continue
        needed: set = set()
        views: set = set()
        for k in idx:
            needed |= reads_of[k]
            views |= views_of[k]
        seg = Segment(len(segments), idx, sum(instruction_cost(fine, ins[k]) for k in idx))
        defined = {ins[k].output for k in idx}
        seg.views = sorted(views)
        for name in fine.tensors:      # declaration order
            if name not in needed or name in defined:
                continue
            t = fine.tensors[name]
            if t.kind == "weight":
                seg.reads.append(("weight", name))
            elif t.kind == "input":
                seg.reads.append(("input", name))
                input_users.setdefault(name, set()).add(seg.index)
            else:
                seg.reads.append(("boundary", name))
                producer.setdefault(name, int(seg_of[prod[name]]))
        segments.append(seg)
    # renumber producers (segments without compute instructions were dropped)
    first = {}
    for seg in segments:
        for k in seg.instructions:
            first[ins[k].output] = seg.index
    producer = {name: first[name] for name in producer}
    # an output that is a view (e.g. a final reshape) is made in the segment that computes
    # the last of its sources; sources computed earlier cross into it like any boundary
    view_outs: dict[int, list[str]] = {}
    for o in fine.outputs:
        if not is_view[prod[o]]:
            continue
        acc: set = set()
        vs: set = set()
        sources(o, n, acc, vs)
        made_in = [first[s] for s in acc if s in first]
        seg = segments[max(made_in)] if made_in else segments[-1]
        seg.views = sorted(set(seg.views) | vs)
        have = {name for _, name in seg.reads} | {ins[k].output for k in seg.instructions}
        for name in fine.tensors:
            if name in acc and name not in have:
                t = fine.tensors[name]
                role = t.kind if t.kind in ("weight", "input") else "boundary"
                seg.reads.append((role, name))
                if role == "input":
                    input_users.setdefault(name, set()).add(seg.index)
                elif role == "boundary":
                    producer.setdefault(name, first[name])
        view_outs.setdefault(seg.index, []).append(o)
    outs = set(fine.outputs)
    for seg in segments:
        made = {ins[k].output for k in seg.instructions} | set(view_outs.get(seg.index, []))
        for name in fine.tensors:
            if name in made and (name in outs or name in producer):
                seg.writes.append(("output" if name in outs else "boundary", name))
        if not seg.writes:
            raise SegmentError(f"segment {seg.index + 1} computes nothing that is used later "
                               "(dead instructions); remove them from the program")
    shared = {name for name, users in input_users.items()
              if len(users) > 1 and fine.tensors[name].visibility != "public"}
    if len(segments) > 1:
        _check_hidden_weights(program, segments)
    if params.boundary == "public" and program.has_hidden:
        raise SegmentError("public boundaries would reveal hidden values: this program has "
                           "private or hashed tensors, use hashed boundaries")
    return Plan(program, params, fine, segments, producer, shared)


def _check_hidden_weights(program, segments: list[Segment]) -> None:
    """Refuse hidden weights a split cannot carry (module docstring), saying what to do."""
    c = program.commitment
    if c is not None and not c.per_tensor:
        raise SegmentError(
            "this program's model commitment is one hash over all its hashed weights (made by an "
            "older zkvm), which a segment cannot prove on its own: build the program again "
            "(zkvm compile / zkvm assemble --weights hashed) to commit to each weight separately "
            "(this changes the published commitment), or prove it in one piece")
    users: dict[str, list[int]] = {}
    for seg in segments:
        for role, name in seg.reads:
            if role == "weight" and program.tensors.get(name) is not None \
                    and program.tensors[name].visibility == "private":
                users.setdefault(name, []).append(seg.index + 1)
    for name, segs in users.items():
        if len(segs) > 1:
            raise SegmentError(
                f"private weight {name!r} is read by segments {segs}: nothing would make them use "
                "the same values. Declare it hashed (--weights hashed), or prove in one piece")
