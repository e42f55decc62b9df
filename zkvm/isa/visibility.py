"""Change the visibility of a program's inputs, weights or outputs (docs/visibility.md).

``with_visibility(program, weights="hashed", inputs="private")`` replays the
program through :class:`~zkvm.isa.program.ProgramBuilder` with the new
visibilities: what ``--weights``/``--input``/``--output`` do in ``zkvm
assemble``, ``zkvm compile`` and ``python -m models.build``, so every front
end gets them without knowing about them.

Hiding a weight changes the public bounds (they no longer depend on its
values): results range-checked by their chip (``rescale``, ``div``) keep
their declared widths; any other result whose declared width no longer holds
the width-based worst case is widened (``ProgramBuilder.instruction(...,
widen=True)``). The program computes the same integers on every input its
public twin accepts.
"""

from __future__ import annotations

from typing import Mapping

from .errors import IsaError
from .program import Program, ProgramBuilder
from .tensor import VISIBILITIES

Choice = str | Mapping[str, str] | None


def _pick(choice: Choice, name: str, current: str) -> str:
    if choice is None:
        return current
    v = choice if isinstance(choice, str) else choice.get(name, current)
    if v not in VISIBILITIES:
        raise IsaError(f"visibility of '{name}' must be one of {', '.join(VISIBILITIES)}, "
                       f"got {v!r}")
    return v


def with_visibility(program: Program, *, inputs: Choice = None, weights: Choice = None,
                    outputs: Choice = None, salt: list[int] | None = None) -> Program:
    """``program`` with new visibilities (a string for every tensor of a kind, or name -> vis).

    Args:
        program: a program whose weights are bound when any weight is or becomes hidden.
        salt: the model commitment's salt (random when None; tests only).

    Raises:
        IsaError: an unknown visibility name.
        WeightsError: hidden weight values are needed but not bound.
    """
    new_w = {t.name: _pick(weights, t.name, t.visibility) for t in program.tensors.values()
             if t.kind == "weight"}
    if any(v != "public" for v in new_w.values()) or program.hidden_weights:
        program.require_weights()
    b = ProgramBuilder()
    for k, v in program.metadata.items():
        b.meta(k, v)
    for t in program.tensors.values():
        if t.kind == "input":
            b.input(t.name, t.shape, t.bits, t.scale, _pick(inputs, t.name, t.visibility),
                    t.value_range)
        elif t.kind == "weight":
            b.weight(t.name, program.weights[t.name], t.bits, t.scale, t.shape, new_w[t.name])
        else:
            ins = program.instructions[program.producer(t.name)]
            b.instruction(ins.op, list(ins.inputs), ins.output, dict(ins.attrs), t.bits,
                          ins.where, widen=True)
    for name in program.outputs:
        b.output(name, visibility=_pick(outputs, name, program.tensors[name].visibility))
    return b.build(salt=salt)
