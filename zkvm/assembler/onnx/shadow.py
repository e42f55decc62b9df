"""Shadow execution: the program's integers on the calibration samples, while it is built.

The compiler chooses the declared width of a rescaled activation from the
values it actually takes on the calibration samples (docs/onnx.md
"Quantization"), so it needs those values *before* the next instruction is
emitted. :class:`Shadow` keeps one flat memory per sample, laid out like the
program's (the builder's addresses), and runs every instruction with the VM's
own integer semantics (:func:`zkvm.runtime.vm._compute`) as soon as the
builder accepts it. The values are therefore exactly those ``zkvm run`` will
compute on the same (quantized) inputs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...isa.tensor import Instruction
from .errors import OnnxCompileError


class _ProgramView:
    """What :func:`zkvm.runtime.vm._compute` reads from a program (bounds, public weights)."""

    def __init__(self, builder: Any) -> None:
        self.acc_bounds = builder.acc_bounds
        self.weights = builder.weights


class Shadow:
    """Per-sample integer memory that follows a :class:`zkvm.isa.ProgramBuilder`.

    Args:
        n: number of calibration samples.
    """

    def __init__(self, n: int) -> None:
        self.n = n
        self.mem = np.zeros((n, 1 << 16), dtype=np.int64)
        #: observed ``(min, max)`` of every materialised tensor over all samples
        self.ranges: dict[str, tuple[int, int]] = {}

    def _grow(self, size: int) -> None:
        if size > self.mem.shape[1]:
            cap = max(size, 2 * self.mem.shape[1])
            mem = np.zeros((self.n, cap), dtype=np.int64)
            mem[:, : self.mem.shape[1]] = self.mem
            self.mem = mem

    def _write(self, builder: Any, name: str, values: np.ndarray) -> None:
        """``values``: ``[n, *shape]`` (or ``[*shape]``, the same for every sample)."""
        base, size = builder.base[name], builder.tensors[name].size
        self._grow(base + size)
        v = np.asarray(values, dtype=np.int64).reshape(-1, size)
        self.mem[:, base : base + size] = v
        if size:
            self.ranges[name] = (int(v.min()), int(v.max()))

    def value(self, builder: Any, name: str, k: int) -> np.ndarray:
        """Integer value of tensor ``name`` (materialised or a view) on sample ``k``."""
        return self.mem[k][builder.addr[name]]

    def input(self, builder: Any, name: str, values: np.ndarray) -> None:
        """Record an input's quantized samples ``[n, *shape]``."""
        self._write(builder, name, values)

    def weight(self, builder: Any, name: str) -> None:
        if name in builder.weights:  # hidden weights without values stay 0 (never here)
            self._write(builder, name, builder.weights[name])

    def instruction(self, builder: Any, ins: Instruction) -> None:
        """Run one instruction just accepted by ``builder`` on every sample."""
        from ...isa.ops import OPS
        from ...runtime.vm import _compute

        if OPS[ins.op].view:
            return
        info = builder.tensors[ins.output]
        prog = _ProgramView(builder)
        outs = []
        for k in range(self.n):
            args = [self.value(builder, i, k) for i in ins.inputs]
            y, _ = _compute(prog, ins, args)
            outs.append(np.asarray(y, dtype=np.int64).reshape(info.shape))
        out = np.stack(outs)
        if out.size and (int(out.min()) < info.lo or int(out.max()) > info.hi):
            bad = int(out.min()) if int(out.min()) < info.lo else int(out.max())
            raise OnnxCompileError(
                f"{ins.where or ins.describe()}: on a calibration sample, '{ins.output}' takes "
                f"the value {bad}, outside its declared i{info.bits}; this is a compiler bug "
                "(please report it with the model)")
        self._write(builder, ins.output, out)

    def range(self, builder: Any, name: str) -> tuple[int, int]:
        """``(min, max)`` of tensor ``name`` (materialised or a view) over the samples."""
        if name not in self.ranges:
            v = self.mem[:, builder.addr[name].ravel()]
            return (int(v.min()), int(v.max())) if v.size else (0, 0)
        return self.ranges[name]

    def maxabs(self, builder: Any, name: str) -> int:
        """Largest magnitude tensor ``name`` takes on the samples."""
        lo, hi = self.range(builder, name)
        return max(abs(lo), abs(hi))
