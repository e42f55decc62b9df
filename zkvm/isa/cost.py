"""Rough trace-size estimate per instruction (for ``zkvm inspect``).

One row per multiply-accumulate for ``matmul`` (``out.size · K``), one per
input element for reductions, one per output element for element-wise ops,
plus the table for ``lut``; views cost nothing. Range checks and padding to
powers of two are not counted. This is an estimate, not the prover's layout.
"""

from __future__ import annotations

from .ops import OPS
from .program import Program


def estimated_rows(program: Program) -> list[int]:
    """Estimated trace rows of each instruction, in program order."""
    rows = []
    for ins in program.instructions:
        out = program.tensors[ins.output]
        src = program.tensors[ins.inputs[0]]
        if OPS[ins.op].view:
            rows.append(0)
        elif ins.op == "matmul":
            rows.append(out.size * program.tensors[ins.inputs[1]].shape[0])
        elif ins.op in ("sum", "max", "argmax"):
            rows.append(src.size)
        elif ins.op == "lut":
            rows.append(out.size + len(ins.attrs["table"]))
        else:
            rows.append(out.size)
    return rows
