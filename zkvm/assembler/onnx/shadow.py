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

    Weights are stored once (``wmem``, by program address); inputs and results
    once per sample, compacted (``mem[k, remap[address]]``), so the samples
    cost their activations, not copies of the model.

    Args:
        n: number of calibration samples.
    """

    def __init__(self, n: int) -> None:
        self.n = n
        self.wmem = np.zeros(1 << 16, dtype=np.int64)
        self.remap = np.full(1 << 16, -1, dtype=np.int64)
        self.mem = np.zeros((n, 1 << 16), dtype=np.int64)
        self.n_act = 0
        #: observed ``(min, max)`` of every materialised tensor over all samples
        self.ranges: dict[str, tuple[int, int]] = {}

    @staticmethod
    def _grown(a: np.ndarray, size: int, fill: int = 0) -> np.ndarray:
        if size <= a.shape[-1]:
            return a
        out = np.full(a.shape[:-1] + (max(size, 2 * a.shape[-1]),), fill, dtype=a.dtype)
        out[..., : a.shape[-1]] = a
        return out

    def _address_space(self, builder: Any) -> None:
        self.wmem = self._grown(self.wmem, builder.next_addr)
        self.remap = self._grown(self.remap, builder.next_addr, -1)

    def _write(self, builder: Any, name: str, values: np.ndarray) -> None:
        """An input's or result's values ``[n, *shape]``, one row per sample."""
        base, size = builder.base[name], builder.tensors[name].size
        self._address_space(builder)
        self.mem = self._grown(self.mem, self.n_act + size)
        v = np.asarray(values, dtype=np.int64).reshape(self.n, size)
        self.remap[base : base + size] = np.arange(self.n_act, self.n_act + size)
        self.mem[:, self.n_act : self.n_act + size] = v
        self.n_act += size
        if size:
            self.ranges[name] = (int(v.min()), int(v.max()))

    def values(self, builder: Any, name: str) -> np.ndarray:
        """Integer values ``[n, *shape]`` of tensor ``name`` (materialised or a view) on
        every sample (a read-only broadcast when it reads only weights)."""
        self._address_space(builder)
        addr = builder.addr[name]
        idx = self.remap[addr]
        act = idx >= 0
        if act.all():
            return self.mem[:, idx]
        static = self.wmem[addr]
        if not act.any():
            return np.broadcast_to(static, (self.n,) + static.shape)
        out = np.repeat(static[None], self.n, axis=0)
        out[:, act] = self.mem[:, idx[act]]
        return out

    def input(self, builder: Any, name: str, values: np.ndarray) -> None:
        """Record an input's quantized samples ``[n, *shape]``."""
        self._write(builder, name, values)

    def weight(self, builder: Any, name: str) -> None:
        if name in builder.weights:  # hidden weights without values stay 0 (never here)
            self._address_space(builder)
            base, w = builder.base[name], builder.weights[name]
            self.wmem[base : base + w.size] = w.ravel()

    def instruction(self, builder: Any, ins: Instruction) -> None:
        """Run one instruction just accepted by ``builder`` on every sample."""
        from ...isa.ops import OPS
        from ...runtime.vm import _compute

        if OPS[ins.op].view:
            return
        info = builder.tensors[ins.output]
        prog = _ProgramView(builder)
        ins_vals = [self.values(builder, i) for i in ins.inputs]
        outs = []
        for k in range(self.n):
            y, _ = _compute(prog, ins, [v[k] for v in ins_vals])
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
            v = self.values(builder, name)
            return (int(v.min()), int(v.max())) if v.size else (0, 0)
        return self.ranges[name]

    def maxabs(self, builder: Any, name: str) -> int:
        """Largest magnitude tensor ``name`` takes on the samples."""
        lo, hi = self.range(builder, name)
        return max(abs(lo), abs(hi))
