"""Shadow execution: the program's integers on the calibration samples, while it is built.

The compiler chooses the declared width of a rescaled activation from the
values it actually takes on the calibration samples (docs/onnx.md
"Quantization"), so it needs those values *before* the next instruction is
emitted. :class:`Shadow` keeps every input's and result's values on every
sample, and runs every instruction with the VM's own integer semantics
(:func:`zkvm.runtime.vm._compute`) as soon as the builder accepts it. The
values are therefore exactly those ``zkvm run`` will compute on the same
(quantized) inputs, and the compiler's accuracy report and per-layer errors
read them (:meth:`Shadow.runs`) instead of running the VM again.

Memory (issue 14): weights are never copied (they are read from the
builder), views are gathered through the builder's address index, and
activations are stored in the narrowest integer type that holds them. Where
it is exact per sample (:func:`_batchable`), an instruction runs once on all
the samples.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from ...isa.tensor import Instruction
from .errors import OnnxCompileError


class _ProgramView:
    """What :func:`zkvm.runtime.vm._compute` reads from a program (bounds, public weights)."""

    def __init__(self, builder: Any) -> None:
        self.acc_bounds = builder.acc_bounds
        self.weights = builder.weights


#: ops whose rule is elementwise (operands broadcast from the right)
_ELEMENTWISE = ("add", "sub", "mul", "rescale", "div", "relu", "lut")


def _batchable(op: str, static: list[np.ndarray | None], shapes: list[tuple[int, ...]],
               out: tuple[int, ...]) -> bool:
    """Whether one VM call on every sample at once (a leading sample axis on the operands
    that vary) gives each sample's integers exactly.

    * ``matmul`` by a static ``[K, M]`` matrix (and static bias): row ``k`` of the stacked
      product is sample ``k``'s product; the VM's matmul is exact either way (int64, or
      float64 below ``2^53``, where every partial sum is an exact integer);
    * an elementwise op whose varying operands all have the result's shape: static
      operands broadcast from the right, as they do per sample.
    """
    varying = [s is None for s in static]
    if op == "matmul":
        return (not varying[1] and np.ndim(static[1]) == 2
                and all(not v for v in varying[2:]))
    if op in _ELEMENTWISE:
        return all(tuple(sh) == tuple(out) for sh, v in zip(shapes, varying) if v)
    return False


def _flat(builder: Any, name: str, acts: dict[str, np.ndarray]) -> np.ndarray | None:
    """A tensor's values, flat: ``[n, size]`` for an activation in ``acts``, ``[size]`` for
    a public weight (broadcast over the samples); None when it has none here."""
    if name in acts:
        return acts[name]
    w = builder.weights.get(name)
    if w is None or name in builder.hidden:
        return None
    return w.reshape(-1)


class Shadow:
    """Per-sample integer values that follow a :class:`zkvm.isa.ProgramBuilder`.

    Inputs and results are stored once per sample (``[n, size]`` per tensor,
    in the narrowest integer type that holds them: int8 to int64); weights are
    read from the builder's own arrays and views are gathered through their
    addresses (:meth:`zkvm.isa.addresses.TensorIndex.gather`), so the samples
    cost their activations, not copies of the model (an address-space copy of
    the weights and an address remap, grown by doubling, cost ~45 bytes per
    parameter of GPT-2's decoder: issue 14).

    Args:
        n: number of calibration samples.
    """

    def __init__(self, n: int) -> None:
        self.n = n
        #: ``[n, size]`` values of every input and compute result
        self.acts: dict[str, np.ndarray] = {}
        #: instructions run (the compiler checks it covered the whole program)
        self.n_instructions = 0
        #: observed ``(min, max)`` of every materialised tensor over all samples
        self.ranges: dict[str, tuple[int, int]] = {}

    def _write(self, builder: Any, name: str, values: np.ndarray) -> None:
        """An input's or result's values ``[n, *shape]``, one row per sample."""
        size = builder.tensors[name].size
        v = np.asarray(values).reshape(self.n, size)
        lo, hi = (int(v.min()), int(v.max())) if size else (0, 0)
        if size:
            self.ranges[name] = (lo, hi)
        # stored in the narrowest integer type that holds them (the values are exact)
        dt = next(t for t in (np.int8, np.int16, np.int32, np.int64)
                  if np.iinfo(t).min <= lo and hi <= np.iinfo(t).max)
        v = np.ascontiguousarray(v, dtype=dt)
        v.flags.writeable = False
        self.acts[name] = v

    def values(self, builder: Any, name: str) -> np.ndarray:
        """Integer values ``[n, *shape]`` of tensor ``name`` (materialised or a view) on
        every sample (a read-only broadcast when it reads only weights)."""
        shape = (self.n,) + tuple(builder.tensors[name].shape)
        if name in self.acts:
            return self.acts[name].astype(np.int64).reshape(shape)
        if name in builder.weights:
            return np.broadcast_to(builder.weights[name], shape)
        if not builder.tensors[name].view:
            raise OnnxCompileError(f"'{name}' has no values in the compiler's shadow run "
                                   "(a hidden weight?); this is a compiler bug")
        addr = builder.addr[name]
        static = builder.index.gather(addr, lambda t: _flat(builder, t, {}))
        if static is not None:  # reads only weights (and the constant 0)
            return np.broadcast_to(static, shape)
        out = builder.index.gather(addr, lambda t: _flat(builder, t, self.acts), (self.n,))
        if out is None:
            raise OnnxCompileError(f"view '{name}' reads a tensor with no values in the "
                                   "compiler's shadow run; this is a compiler bug")
        return out

    def input(self, builder: Any, name: str, values: np.ndarray) -> None:
        """Record an input's quantized samples ``[n, *shape]``."""
        self._write(builder, name, values)

    def instruction(self, builder: Any, ins: Instruction) -> None:
        """Run one instruction just accepted by ``builder`` on every sample."""
        from ...isa.ops import OPS
        from ...runtime.vm import _compute

        self.n_instructions += 1
        if OPS[ins.op].view:
            return
        info = builder.tensors[ins.output]
        prog = _ProgramView(builder)
        static = [builder._static(i) for i in ins.inputs]
        if _batchable(ins.op, static, [builder.tensors[i].shape for i in ins.inputs],
                      info.shape):
            args = [v if v is not None else self.values(builder, i)
                    for i, v in zip(ins.inputs, static)]
            y, _ = _compute(prog, ins, args)
            y = np.asarray(y, dtype=np.int64)
            if all(v is not None for v in static):  # the same on every sample
                y = np.broadcast_to(y.reshape(info.shape), (self.n,) + tuple(info.shape))
            out = y.reshape((self.n,) + tuple(info.shape))
        else:
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

    def sample(self, builder: Any, name: str, k: int) -> np.ndarray:
        """Integer values of tensor ``name`` on sample ``k`` (int64, its shape)."""
        shape = tuple(builder.tensors[name].shape)
        if name in self.acts:
            return self.acts[name][k].astype(np.int64).reshape(shape)
        if name in builder.weights:
            return builder.weights[name]

        def look(t: str) -> np.ndarray | None:
            return self.acts[t][k] if t in self.acts else _flat(builder, t, {})

        out = builder.index.gather(builder.addr[name], look)
        if out is None:
            raise OnnxCompileError(f"'{name}' has no values in the compiler's shadow run; "
                                   "this is a compiler bug")
        return out

    def runs(self, builder: Any) -> list[SampleRun]:
        """Per sample, every tensor's integers by name: what ``execute(program,
        quantized sample).values`` holds, computed once already (see the module docstring)."""
        return [SampleRun(self, builder, k) for k in range(self.n)]


class SampleRun(Mapping):
    """One calibration sample's integer values by tensor name, read from a shadow run."""

    def __init__(self, shadow: Shadow, builder: Any, k: int) -> None:
        self.shadow, self.builder, self.k = shadow, builder, k

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self.builder.tensors:
            raise KeyError(name)
        return self.shadow.sample(self.builder, name, self.k)

    def __contains__(self, name: object) -> bool:   # without building the tensor
        return name in self.builder.tensors

    def __iter__(self) -> Iterator[str]:
        return iter(self.builder.tensors)

    def __len__(self) -> int:
        return len(self.builder.tensors)
