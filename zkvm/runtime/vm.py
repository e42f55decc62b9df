"""The VM: runs a program exactly on integers and records per-instruction events.

Everything is vectorised numpy on int64 (the interval analysis guarantees no
value or partial sum reaches 2^62, so int64 never wraps). Memory is one flat
int64 array indexed by address (address 0 holds the constant 0); a compute
instruction writes its result's address range, a view gathers its values
through ``Program.addresses``. The integer semantics implemented here are the
specification in docs/isa.md.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from ..isa.errors import ExecutionError, InputError
from ..isa.events import Event, Execution
from ..isa.ops import OPS
from ..isa.program import CHECKED_RESULT_OPS, Program
from ..isa.tensor import Instruction, TensorInfo

#: Largest exact integer of float64; below it a matmul may run on BLAS exactly.
_EXACT_FLOAT = 1 << 53


def check_inputs(program: Program, inputs: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Validate integer inputs: all present, right shape, integers in the declared range.

    Raises:
        InputError: naming the input and what is wrong.
    """
    out = {}
    names = [t.name for t in program.inputs]
    extra = sorted(set(inputs) - set(names))
    if extra:
        raise InputError(f"unknown input(s) {', '.join(extra)} (the program takes: {', '.join(names)})")
    for t in program.inputs:
        if t.name not in inputs:
            raise InputError(f"missing input '{t.name}' ({t.type_str} scale {t.scale})")
        arr = np.asarray(inputs[t.name])
        if arr.dtype == object or arr.dtype.kind not in "iub":
            if arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
                arr = arr.astype(np.int64)
            else:
                raise InputError(
                    f"input '{t.name}' must hold integers at scale {t.scale} "
                    "(quantize floats with zkvm.io.quantize first)"
                )
        if arr.shape != t.shape:
            if arr.size == t.size and arr.ndim <= 1:
                arr = arr.reshape(t.shape)
            else:
                raise InputError(
                    f"input '{t.name}' has shape {list(arr.shape)} but the program expects "
                    f"{list(t.shape)}"
                )
        arr = arr.astype(np.int64)
        _check_range(arr, t, f"input '{t.name}'")
        out[t.name] = arr
    return out


#: why a rescale/div result may leave its declared width, and what to do (docs/onnx.md)
_NARROWED_HINT = (
    "; this width is range-checked in the proof (a compiled model's widths come from its "
    "calibration samples), so this input cannot be proved with this program: recompile with "
    "samples that cover such inputs, or a larger --margin")


def _check_range(v: np.ndarray, t: TensorInfo, what: str, err: type = InputError,
                 hint: str = "") -> None:
    if not v.size:
        return
    lo, hi = int(v.min()), int(v.max())
    if lo < t.lo or hi > t.hi:
        bad = lo if lo < t.lo else hi
        kind = "range" if t.value_range else f"i{t.bits}"
        raise err(
            f"{what}: value {bad} leaves the declared {kind} [{t.lo}, {t.hi}] of tensor "
            f"'{t.name}' (at scale {t.scale}: {bad / 2.0 ** t.scale:g}){hint}"
        )


def execute(program: Program, inputs: Mapping[str, Any], memory: bool = True) -> Execution:
    """Run ``program`` on integer ``inputs`` (name -> int array at the input's scale).

    Args:
        program: the program (hidden weights bound, if it has any).
        inputs: integer inputs by name.
        memory: keep the flat memory (``Execution.memory``, which the prover
            needs); without it a view gathers its values from its sources
            (``program.index``), so a run costs its activations, not a copy of
            every weight (the accuracy runs of ``zkvm compile``; issue 14).

    Returns:
        The :class:`Execution` with every tensor's values and the events.

    Raises:
        InputError: missing/unknown input, wrong shape, value out of range.
        ExecutionError: a value left its declared range (names instruction and tensor).
    """
    vals: dict[str, np.ndarray] = dict(check_inputs(program, inputs))
    mem = _memory_image(program) if memory else None
    if mem is not None:
        for name, v in vals.items():
            b = program.base(name)
            mem[b : b + v.size] = v.ravel()
    vals.update(program.weights)
    events = []
    try:
        for idx, ins in enumerate(program.instructions):
            info = program.tensors[ins.output]
            if OPS[ins.op].view:
                vals[ins.output] = mem[program.addresses(ins.output)] if mem is not None else \
                    _gather(program, vals, ins)
                continue
            args = [vals[n] for n in ins.inputs]
            out, aux = _compute(program, ins, args)
            _check_range(out, info, f"instruction {idx} {ins.describe()}", ExecutionError,
                         _NARROWED_HINT if ins.op in CHECKED_RESULT_OPS else "")
            out = np.ascontiguousarray(out, dtype=np.int64).reshape(info.shape)
            vals[ins.output] = out
            if mem is not None:
                b = program.base(ins.output)
                mem[b : b + out.size] = out.ravel()
            events.append(Event(idx, ins.op, ins.inputs, ins.output, ins.attrs, aux))
    finally:
        _cache(program).pop("f64", None)  # float copies of weights live for one run only
    return Execution(program, vals, events, mem)


def _gather(program: Program, vals: dict[str, np.ndarray], ins: Instruction) -> np.ndarray:
    """A view's values read from the tensors its addresses belong to (no memory image)."""
    out = program.index.gather(program.addresses(ins.output),
                               lambda t: vals[t].reshape(-1) if t in vals else None)
    if out is None:
        raise ExecutionError(f"instruction {ins.describe()}: the view reads a tensor with no "
                             "values (a hidden weight that is not bound?)")
    return out


def _cache(program: Program) -> dict[str, Any]:
    c = program.__dict__.get("_vm_cache")
    if c is None:
        c = program.__dict__["_vm_cache"] = {}
    return c


def _memory_image(program: Program) -> np.ndarray:
    """A fresh memory with every known weight written (address 0 and the rest 0)."""
    mem = np.zeros(program.n_addresses, dtype=np.int64)
    for name, v in program.weights.items():
        b = program.base(name)
        mem[b : b + v.size] = v.ravel()
    return mem


def _float_weight(program: Program, name: str, value: np.ndarray) -> np.ndarray:
    """float64 copy of a weight operand; other operands are converted each time.

    Only the latest weight's copy is kept (until the run ends): a weight is
    usually read by one matmul (or by consecutive ones), and a copy of every
    weight would cost 8 B per parameter.
    """
    if name not in program.weights:
        return value.astype(np.float64)
    c = _cache(program)
    hit = c.get("f64")
    if hit is None or hit[0] != name:
        hit = c["f64"] = (name, value.astype(np.float64))
    return hit[1]


def _compute(
    program: Program, ins: Instruction, a: list[np.ndarray]
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    op, at = ins.op, ins.attrs
    if op == "matmul":
        acc = program.acc_bounds.get(ins.output, _EXACT_FLOAT)
        if acc < _EXACT_FLOAT:  # exact in float64: use BLAS
            w = _float_weight(program, ins.inputs[1], a[1])
            y = np.rint(a[0].astype(np.float64) @ w).astype(np.int64)
        else:
            y = a[0] @ a[1]
        if len(a) == 3:
            y = y + a[2]
        return y, {}
    if op == "add":
        return a[0] + a[1], {}
    if op == "sub":
        return a[0] - a[1], {}
    if op == "mul":
        return a[0] * a[1], {}
    if op == "sum":
        return a[0].sum(axis=tuple(at["axes"]), keepdims=at["keepdims"]), {}
    if op == "max":
        x, axes = a[0], at["axes"]
        rest = [i for i in range(x.ndim) if i not in axes]
        g = x.transpose(rest + axes).reshape([x.shape[i] for i in rest] + [-1])
        arg = np.argmax(g, axis=-1)
        y = np.take_along_axis(g, arg[..., None], axis=-1)[..., 0]
        if at["keepdims"]:
            keep = [1 if i in axes else d for i, d in enumerate(x.shape)]
            y, arg = y.reshape(keep), arg.reshape(keep)
        return y, {"arg": arg.astype(np.int64)}
    if op == "argmax":
        x, ax = a[0], at["axis"]
        y = np.argmax(x, axis=ax, keepdims=at["keepdims"])
        return y.astype(np.int64), {"max": np.max(x, axis=ax, keepdims=at["keepdims"])}
    if op == "rescale":
        k = at["k"]
        t = a[0] + (1 << (k - 1))
        q = t >> k
        return q, {"r": t - (q << k)}
    if op == "div":
        d = at["d"]
        t = a[0] + d // 2
        q = t // d
        return q, {"r": t - q * d}
    if op == "relu":
        return np.maximum(a[0], 0), {"neg": (a[0] < 0).astype(np.int64)}
    if op == "lut":
        idx = np.clip(a[0], at["lo"], at["hi"]) - at["lo"]
        return at["table"][idx], {"index": idx}
    raise ExecutionError(f"instruction {ins.describe()}: the VM has no rule for '{op}'")
