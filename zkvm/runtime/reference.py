"""Float reference: the same program on real numbers (float64), for accuracy.

Weights are dequantized (``w / 2^s``); every op computes its real-valued
counterpart: ``rescale`` is the identity (it only changes the scale), ``div``
is real division, ``lut`` evaluates the real function on the input clamped to
the table's range, views gather through the same addresses. The difference
between this path and the integer result is the program's quantization error
(docs/isa.md "Accuracy").
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from ..isa.errors import InputError
from ..isa.lut import TABLE_FN, float_fn
from ..isa.ops import OPS
from ..isa.program import Program


def execute_float(program: Program, inputs: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Run ``program`` on real-valued ``inputs``; returns every tensor's float64 values."""
    vals: dict[str, np.ndarray] = {}
    for t in program.inputs:
        if t.name not in inputs:
            raise InputError(f"missing input '{t.name}'")
        v = np.asarray(inputs[t.name], dtype=np.float64)
        if v.size != t.size:
            raise InputError(f"input '{t.name}' has shape {list(v.shape)}, expected {list(t.shape)}")
        vals[t.name] = v.reshape(t.shape)
    for n, w in program.weights.items():
        vals[n] = w.astype(np.float64) / 2.0 ** program.tensors[n].scale
    mem = np.zeros(program.n_addresses, dtype=np.float64)
    for n, v in vals.items():
        b = program.base(n)
        mem[b : b + v.size] = v.ravel()
    for ins in program.instructions:
        info = program.tensors[ins.output]
        if OPS[ins.op].view:
            vals[ins.output] = mem[program.addresses(ins.output)]
            continue
        a, at, op = [vals[n] for n in ins.inputs], ins.attrs, ins.op
        if op == "matmul":
            y = a[0] @ a[1] + (a[2] if len(a) == 3 else 0.0)
        elif op in ("add", "sub", "mul"):
            y = {"add": np.add, "sub": np.subtract, "mul": np.multiply}[op](a[0], a[1])
        elif op == "sum":
            y = a[0].sum(axis=tuple(at["axes"]), keepdims=at["keepdims"])
        elif op == "max":
            y = a[0].max(axis=tuple(at["axes"]), keepdims=at["keepdims"])
        elif op == "argmax":
            y = np.argmax(a[0], axis=at["axis"], keepdims=at["keepdims"]).astype(np.float64)
        elif op == "rescale":
            y = a[0]
        elif op == "div":
            y = a[0] / at["d"]
        elif op == "relu":
            y = np.maximum(a[0], 0.0)
        elif op == "lut":
            s_in = program.tensors[ins.inputs[0]].scale
            if at["fn"] == TABLE_FN:  # an explicit table (embedding): its own entries
                i = np.clip(np.floor(a[0] * 2.0**s_in + 0.5), at["lo"], at["hi"]) - at["lo"]
                y = np.asarray(at["table"])[i.astype(np.int64)] / 2.0 ** at["scale"]
            else:
                x = np.clip(a[0], at["lo"] / 2.0**s_in, at["hi"] / 2.0**s_in)
                y = float_fn(at["fn"], at.get("eps", 0.0))(x)
        else:  # pragma: no cover - every compute op is handled above
            raise AssertionError(op)
        y = np.asarray(y, dtype=np.float64).reshape(info.shape)
        vals[ins.output] = y
        b = program.base(ins.output)
        mem[b : b + y.size] = y.ravel()
    return vals
