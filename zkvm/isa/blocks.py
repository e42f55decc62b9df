"""Cut a matmul with a 2-D weight into column blocks (exactly the same integers).

``y = matmul x, w, b; z = rescale y, k`` becomes, for column blocks ``J_0 ..
J_{nb-1}`` of ``w``::

    y_j = matmul x, w[:, J_j], b[J_j];  z_j = rescale y_j, k;  z = concat z_0 .. z_{nb-1}

Column blocks of a product are the products of column blocks, ``rescale`` is
element-wise and ``concat`` is a view (free in the AIR), so the cut program
computes exactly the same integers. Two users:

* ``zkvm.segments.plan.refine`` cuts large matmuls with *public* weights so
  that one layer can span segments (the blocks are internal to the split);
* ``zkvm.isa.visibility.with_visibility`` cuts large matmuls whose weight
  becomes *hidden* before committing (``BLOCK_ELEMS``): each block is then its
  own hidden weight tensor with its own part of the per-tensor model
  commitment (docs/visibility.md), so a segmented proof can split such a layer
  too (a segment can only prove the parts of whole tensors it reads).
"""

from __future__ import annotations

import math
from typing import Callable

#: a hidden 2-D weight above this many values is committed in column blocks (``hidden_blocks``)
BLOCK_ELEMS = 1 << 17


def readers(program) -> dict[str, list[int]]:
    """Instruction indices reading each tensor name."""
    r: dict[str, list[int]] = {}
    for i, ins in enumerate(program.instructions):
        for n in ins.inputs:
            r.setdefault(n, []).append(i)
    return r


def cuttable(program, rd: dict[str, list[int]], i: int) -> bool:
    """Instruction ``i`` is ``matmul x, w[, b]`` with a 2-D weight tensor ``w`` (and a bias
    ``b`` over its columns) read by nothing else, whose accumulator only the next
    instruction, a ``rescale``, reads (and is not an output)."""
    ins = program.instructions[i]
    if ins.op != "matmul" or i + 1 >= len(program.instructions) or len(ins.inputs) < 2:
        return False
    resc = program.instructions[i + 1]
    wt = program.tensors[ins.inputs[1]]
    if (resc.op != "rescale" or resc.inputs != (ins.output,) or rd.get(ins.output) != [i + 1]
            or program.tensors[ins.output].kind == "output" or wt.kind != "weight"
            or len(wt.shape) != 2):
        return False
    if len(ins.inputs) > 2:
        bt = program.tensors[ins.inputs[2]]
        if bt.kind != "weight" or bt.shape[-1] != wt.shape[1]:
            return False
    return True


def hidden_blocks(program, rd: dict[str, list[int]], i: int, vis: dict[str, str]) -> int:
    """Column blocks for instruction ``i`` when its weight is hidden under ``vis`` (1: keep).

    A cuttable matmul (``cuttable``) whose weight has more than ``BLOCK_ELEMS``
    values, is read by this matmul only, and is hidden in ``vis`` (name ->
    visibility) gets the fewest blocks, a power of two (at most one per column), whose
    widest block holds at most ``BLOCK_ELEMS`` values (so cutting again changes
    nothing); a bias must be read by this matmul only too (its blocks are cut with it).
    """
    if not cuttable(program, rd, i):
        return 1
    ins = program.instructions[i]
    w = program.tensors[ins.inputs[1]]
    if vis.get(w.name, w.visibility) == "public" or w.size <= BLOCK_ELEMS:
        return 1
    if any(rd.get(n) != [i] for n in ins.inputs[1:]):
        return 1
    k, n = w.shape
    nb = 1 << math.ceil(math.log2(w.size / BLOCK_ELEMS))
    while nb < n and k * -(-n // nb) > BLOCK_ELEMS:   # uneven edges: the widest block fits
        nb *= 2
    return min(nb, n)


def emit_column_blocks(b, program, i: int, nb: int, tag: Callable[[str, int], str],
                       vis: dict[str, str] | None = None, widen: bool = False) -> None:
    """Emit instruction ``i`` and its ``rescale`` cut into ``nb`` column blocks into builder ``b``.

    Block ``j``'s weight/bias are declared here as ``tag(name, j)`` (values
    ``w[:, J_j]`` when the program holds them; a hidden weight of a public program
    is declared without values), with the original widths, scales and
    visibilities (or ``vis[name]``); the rescale output is the ``concat`` of the blocks.
    ``widen``: as ``ProgramBuilder.instruction`` (a weight turned hidden is bounded by
    its declared width, which may need wider accumulators).
    """
    vis = vis or {}
    ins = program.instructions[i]
    resc = program.instructions[i + 1]
    n = program.tensors[ins.inputs[1]].shape[1]
    edges = [n * j // nb for j in range(nb + 1)]
    parts = []
    for j in range(nb):
        lo, hi = edges[j], edges[j + 1]
        ops = [ins.inputs[0]]
        for name in ins.inputs[1:]:
            t = program.tensors[name]
            v = program.weights.get(name)
            block = None if v is None else v[..., lo:hi]
            shape = tuple(t.shape[:-1]) + (hi - lo,)
            b.weight(tag(name, j), block, t.bits, t.scale, shape, vis.get(name, t.visibility))
            ops.append(tag(name, j))
        acc = tag(ins.output, j)
        b.instruction("matmul", ops, acc, ins.attrs, bits=program.tensors[ins.output].bits,
                      where=ins.where, widen=widen)
        b.instruction("rescale", [acc], tag(resc.output, j), resc.attrs,
                      bits=program.tensors[resc.output].bits, where=resc.where, widen=widen)
        parts.append(tag(resc.output, j))
    rank = len(program.tensors[resc.output].shape)
    b.instruction("concat", parts, resc.output, {"axis": rank - 1},
                  bits=program.tensors[resc.output].bits, widen=widen)


def unique_tag(program, sep: str = ".blk") -> Callable[[str, int], str]:
    """``(name, j) -> name + sep + j``, ``sep`` lengthened until no name of ``program``
    contains it (so a block's name never collides with an existing one)."""
    while any(sep in n for n in program.tensors):
        sep += "_"

    def tag(name: str, j: int) -> str:
        return f"{name}{sep}{j}"
    return tag
