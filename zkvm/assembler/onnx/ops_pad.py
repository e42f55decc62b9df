"""Lowering of ``Pad`` (constant mode): a view, no trace rows.

The padded tensor is a ``concat`` (an address map) of the input with blocks
of the constant, stored once as a weight at the input's scale, along each
padded axis. This is how PyTorch exports ``F.pad(x, ..., "constant", 0)``, e.g.
the parameter-free "option A" shortcut of CIFAR ResNets (``x[:, :, ::2, ::2]``
padded with zero channels). ``reflect``/``edge``/``wrap`` modes and negative
pads (cropping) are refused with a message.
"""

from __future__ import annotations

import numpy as np

from .graph import Node
from .lower import Lowering, op


@op("Pad")
def lower_pad(c: Lowering, n: Node) -> None:
    """``Pad(data, pads[, constant_value[, axes]])`` (opset >= 11; ``pads`` attribute before)."""
    mode = n.attrs.get("mode", "constant")
    mode = mode.decode() if isinstance(mode, bytes) else str(mode)
    if mode != "constant":
        raise c.unsupported(f"mode='{mode}' (only constant padding is compiled)")
    x = c.tensor(n.inputs[0])
    rank = len(c.pshape(x))
    if "pads" in n.attrs:
        pads = [int(p) for p in n.attrs["pads"]]
        value = float(n.attrs.get("value", 0.0))
    else:
        pads = c.ints(n.inputs[1])
        v = c.const(n.inputs[2]) if len(n.inputs) > 2 and n.inputs[2] else None
        if len(n.inputs) > 2 and n.inputs[2] and v is None:
            raise c.unsupported("constant_value must be a constant")
        value = float(np.asarray(v).reshape(-1)[0]) if v is not None and np.size(v) else 0.0
    axes = c.ints(n.inputs[3]) if len(n.inputs) > 3 and n.inputs[3] else list(range(rank))
    if len(pads) != 2 * len(axes):
        raise c.error(f"pads has {len(pads)} values for {len(axes)} axes (2 per axis)")
    if any(p < 0 for p in pads):
        raise c.unsupported(f"negative pads {pads} (cropping); use Slice")
    y = x
    for k, ax in enumerate(axes):
        ax %= rank
        begin, end = pads[k], pads[len(axes) + k]
        if not begin and not end:
            continue
        parts = []
        for size in (begin, None, end):
            if size is None:
                parts.append(y)
            elif size:
                shape = list(c.pshape(y))
                shape[ax] = size
                parts.append(c.weight(np.full(shape, value), n.outputs[0] + "_padv",
                                      scale=y.scale))
        y = c.emit("concat", parts, c.out_name(f"pad{ax}"), {"axis": ax})
    out = c.shape(n.outputs[0])
    if tuple(c.pshape(y)) != tuple(out):
        raise c.error(f"padded shape {list(c.pshape(y))} differs from the model's {list(out)}")
    c.set(y)
