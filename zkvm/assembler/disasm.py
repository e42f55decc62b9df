"""Program -> assembly text that assembles to the same digest (docs/assembly.md).

Weights are printed inline as integer lists (no sidecar file), every result
carries its width annotation, and a ``lut`` prints its table only when it is not
the one the assembler would compute from ``fn``/``range``/``scale``/``eps``.
Hidden (private/hashed) weights of a public program have no values to print:
they show as ``= hidden`` (not re-assemblable; docs/visibility.md), and the
model commitment as a comment.
"""

from __future__ import annotations

import numpy as np

from ..isa.lut import make_table
from ..isa.program import Program
from ..isa.tensor import TensorInfo
from .builder import POSITIONAL


def disassemble(program: Program) -> str:
    """Text of ``program`` in the assembly language."""
    lines = [f"# zkvm program {program.digest_hex}"]
    if program.commitment is not None:
        lines.append(f"# model commitment {program.commitment.hex} "
                     f"({', '.join(program.commitment.tensors)})")
    for k, v in program.metadata.items():
        lines.append(f"meta {k} = {_str(v)}")
    for t in program.tensors.values():
        i = program.producer(t.name)
        if t.kind == "input":
            rng = f" range [{t.value_range[0]}, {t.value_range[1]}]" if t.value_range else ""
            lines.append(f"input {t.name} : {t.type_str} scale {t.scale} {t.visibility}{rng}")
        elif t.kind == "weight":
            w = program.weights.get(t.name)
            vals = "hidden" if w is None else _array(w, 1)
            lines.append(f"weight {t.name} : {t.type_str} scale {t.scale} {t.visibility} = {vals}")
        else:
            lines.append(_instruction(program, i, t))
    lines.append("output " + ", ".join(
        o + ("" if program.tensors[o].visibility == "public" else
             f" {program.tensors[o].visibility}") for o in program.outputs))
    return "\n".join(lines) + "\n"


def _instruction(program: Program, i: int | None, t: TensorInfo) -> str:
    ins = program.instructions[i]
    args = list(ins.inputs)
    attrs = dict(ins.attrs)
    for key in POSITIONAL.get(ins.op, []):
        args.append(_value(attrs.pop(key)))
    if ins.op == "lut":
        table = attrs.pop("table")
        lo, hi, s_out = attrs.pop("lo"), attrs.pop("hi"), attrs.pop("scale")
        fn, eps = attrs.pop("fn"), attrs.pop("eps", None)
        args += [f"fn={fn}", f"range=[{lo}, {hi}]", f"scale={s_out}"]
        if eps is not None:
            args.append(f"eps={eps!r}")
        s_in = program.tensors[ins.inputs[0]].scale
        try:
            same = np.array_equal(make_table(fn, lo, hi, s_in, s_out, eps or 0.0), table)
        except Exception:  # noqa: BLE001 - a custom table the generator cannot make
            same = False
        if not same:
            args.append(f"table={_array(np.asarray(table), 0)}")
    args += [f"{k}={_value(v)}" for k, v in attrs.items()]
    return f"{t.name} : i{t.bits} = {ins.op} {', '.join(args)}".rstrip()


def _value(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, str):
        return v
    return repr(v)


def _str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _array(a: np.ndarray, indent: int) -> str:
    """Nested integer list; rows of 2-D+ arrays on their own lines."""
    if a.ndim == 0:
        return str(int(a))
    if a.ndim == 1:
        return "[" + ", ".join(map(str, a.tolist())) + "]"
    pad = "  " * indent
    inner = (",\n" + pad).join(_array(x, indent + 1) for x in a)
    return "[" + inner + "]" if a.shape[0] <= 1 else "[\n" + pad + inner + "]"
