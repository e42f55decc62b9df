"""Lowering of shape ops: all are views (address maps), they cost no trace rows.

Result shapes come from the reference run (every shape is fixed once the
inputs' are), so ``Reshape``'s ``0``/``-1``, ``Squeeze``'s default axes and
``Flatten`` need no re-implementation: the view takes the observed shape.
What must be constant is checked (a shape computed from input *values* is
refused).
"""

from __future__ import annotations

import numpy as np

from .graph import Node
from .lower import QT, Lowering, op
from .ops_index import INT_CASTS, gather_rows
from .ops_linear import _reshape

_FLOAT_CASTS = {1, 10, 11, 16}


@op("Identity", "Dropout")
def lower_identity(c: Lowering, n: Node) -> None:
    if n.op == "Dropout" and len(n.inputs) > 2 and n.inputs[2]:
        mode = c.const(n.inputs[2])
        if mode is None or bool(np.asarray(mode).reshape(-1)[0]):
            raise c.unsupported("training_mode must be a constant false (export in eval mode)")
    c.set(c.tensor(n.inputs[0]))


@op("Cast")
def lower_cast(c: Lowering, n: Node) -> None:
    to = int(n.attrs.get("to", 1))
    if to in INT_CASTS and c.tensor(n.inputs[0]).scale == 0 and \
            c.calib.value(n.inputs[0]).dtype.kind in "iu":
        c.set(c.tensor(n.inputs[0]))  # token ids between integer types
        return
    if to not in _FLOAT_CASTS:
        raise c.unsupported("casting an activation to an integer or boolean type (rounding "
                            "is not compiled; for a condition, compare instead: Greater, Less, "
                            "Equal... give booleans that Where reads)")
    c.set(c.tensor(n.inputs[0]))


@op("Reshape", "Flatten", "Squeeze", "Unsqueeze")
def lower_reshape(c: Lowering, n: Node) -> None:
    for extra in n.inputs[1:]:
        if extra and c.const(extra) is None:
            raise c.unsupported(f"its shape/axes input '{extra}' depends on the input values "
                                "(dynamic shape); export the model with static shapes")
    c.set(_reshape(c, c.tensor(n.inputs[0]), c.shape(n.outputs[0]), c.out_name()))


@op("Expand")
def lower_expand(c: Lowering, n: Node) -> None:
    if c.const(n.inputs[1]) is None:
        raise c.unsupported("its shape input depends on the input values (dynamic shape)")
    x = c.tensor(n.inputs[0])
    shape = list(c.shape(n.outputs[0]))
    if list(c.pshape(x)) == shape:
        c.set(x)
        return
    c.set(c.emit("broadcast", [x], c.out_name(), {"shape": shape}))


@op("Transpose")
def lower_transpose(c: Lowering, n: Node) -> None:
    x = c.tensor(n.inputs[0])
    rank = len(c.pshape(x))
    perm = list(n.attrs.get("perm", list(range(rank))[::-1]))
    c.set(c.emit("transpose", [x], c.out_name(), {"perm": perm}))


@op("Concat")
def lower_concat(c: Lowering, n: Node) -> None:
    names = [i for i in n.inputs if i]
    tensors = [c.tensor(i) for i in names if c.const(i) is None]
    if not tensors:
        raise c.error("no operand depends on the inputs (should have been folded)")
    scale = min(t.scale for t in tensors)
    parts = []
    for i in names:
        v = c.const(i)
        if v is not None:
            if v.size == 0:
                continue
            parts.append(c.weight(v, n.outputs[0] + "_c", scale=scale))
        else:
            parts.append(c.tensor(i))
    parts = c.align(parts)
    rank = len(c.pshape(parts[0]))
    axis = int(n.attrs.get("axis", 0)) % rank
    y = parts[0] if len(parts) == 1 else c.emit("concat", parts, c.out_name(), {"axis": axis})
    c.set(y)


@op("Slice")
def lower_slice(c: Lowering, n: Node) -> None:
    """``Slice``: one ``slice`` view for positive steps; negative steps gather element by element
    (views too: the ISA's normalised slice cannot express a reversed range that reaches 0)."""
    x = c.tensor(n.inputs[0])
    rank = len(c.pshape(x))
    starts, ends = c.ints(n.inputs[1]), c.ints(n.inputs[2])
    axes = c.ints(n.inputs[3]) if len(n.inputs) > 3 and n.inputs[3] else list(range(len(starts)))
    steps = c.ints(n.inputs[4]) if len(n.inputs) > 4 and n.inputs[4] else [1] * len(starts)
    big = 1 << 62
    spec = [(max(-big, min(big, st)), max(-big, min(big, en)), a % rank, sp)
            for st, en, a, sp in zip(starts, ends, axes, steps)]
    pos = [t for t in spec if t[3] > 0]
    y = x
    if pos:
        y = c.emit("slice", [x], c.out_name("s"), {"starts": [t[0] for t in pos],
                                                   "ends": [t[1] for t in pos],
                                                   "axes": [t[2] for t in pos],
                                                   "steps": [t[3] for t in pos]})
    for st, en, ax, sp in spec:
        if sp < 0:
            idx = list(range(*slice(st, en, sp).indices(c.pshape(x)[ax])))
            y = gather(c, y, ax, idx)
    c.set(_reshape(c, y, c.shape(n.outputs[0]), c.out_name()))


def gather(c: Lowering, x: QT, axis: int, idx: list[int]) -> QT:
    """Elements ``idx`` of ``x`` along ``axis`` (a concat of one-element slices: views)."""
    if not idx:
        raise c.unsupported("an empty selection")
    parts = [c.emit("slice", [x], c.out_name(f"g{k}"), {"starts": [i], "ends": [i + 1],
                                                        "axes": [axis]})
             for k, i in enumerate(idx)]
    return parts[0] if len(parts) == 1 else c.emit("concat", parts, c.out_name("cat"),
                                                   {"axis": axis})


@op("Split")
def lower_split(c: Lowering, n: Node) -> None:
    x = c.tensor(n.inputs[0])
    rank = len(c.pshape(x))
    axis = int(n.attrs.get("axis", 0)) % rank
    start = 0
    for k, o in enumerate(n.outputs):
        size = c.shape(o)[axis]
        y = c.emit("slice", [x], c.fresh(o), {"starts": [start], "ends": [start + size],
                                               "axes": [axis]})
        c.env[o] = y
        start += size


@op("Gather")
def lower_gather(c: Lowering, n: Node) -> None:
    if c.const(n.inputs[1]) is None:
        table = c.const(n.inputs[0])
        if table is None:
            raise c.unsupported("indices that depend on the input values, into a table that "
                                "depends on them too (only embeddings, Gathers of a constant "
                                "table by token ids, are compiled)")
        ids = c.tensor(n.inputs[1])
        c.set(gather_rows(c, table, ids, int(n.attrs.get("axis", 0)), c.shape(n.outputs[0])))
        return
    x = c.tensor(n.inputs[0])
    shape = c.pshape(x)
    axis = int(n.attrs.get("axis", 0)) % len(shape)
    idx = np.asarray(c.const(n.inputs[1])).astype(np.int64).reshape(-1) % shape[axis]
    c.set(_reshape(c, gather(c, x, axis, idx.tolist()), c.shape(n.outputs[0]), c.out_name()))
