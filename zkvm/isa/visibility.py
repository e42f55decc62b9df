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

    A matmul whose 2-D weight becomes hidden and holds more than
    ``zkvm.isa.blocks.BLOCK_ELEMS`` values is cut into column blocks, each block
    (``W.blk0``, ``W.blk1``, ...; its bias too) a hidden weight of its own: the
    same integers, and a per-tensor commitment a segmented proof can split
    (docs/segments.md).

    Args:
        program: a program whose weights are bound when any weight is or becomes hidden.
        salt: the model commitment's salt (random when None; tests only).

    Raises:
        IsaError: an unknown visibility name.
        WeightsError: hidden weight values are needed but not bound.
    """
    from .blocks import emit_column_blocks, hidden_blocks, readers, unique_tag

    new_w = {t.name: _pick(weights, t.name, t.visibility) for t in program.tensors.values()
             if t.kind == "weight"}
    if any(v != "public" for v in new_w.values()) or program.hidden_weights:
        program.require_weights()
    # large matmuls whose weight becomes hidden are cut into column blocks, each block its
    # own hidden tensor (its own part of the commitment: segments can split the layer)
    rd = readers(program)
    cuts = {i: nb for i in range(len(program.instructions))
            if (nb := hidden_blocks(program, rd, i, new_w)) > 1}
    cut = {n for i in cuts for n in program.instructions[i].inputs[1:]}
    tag = unique_tag(program)
    b = ProgramBuilder()
    for k, v in program.metadata.items():
        b.meta(k, v)
    for t in program.tensors.values():
        if t.kind == "input":
            b.input(t.name, t.shape, t.bits, t.scale, _pick(inputs, t.name, t.visibility),
                    t.value_range)
        elif t.kind == "weight":
            if t.name not in cut:
                b.weight(t.name, program.weights[t.name], t.bits, t.scale, t.shape,
                         new_w[t.name])
        else:
            k = program.producer(t.name)
            if k in cuts:
                emit_column_blocks(b, program, k, cuts[k], tag, new_w, widen=True)
            elif k - 1 not in cuts:   # (a cut matmul's rescale was emitted with it)
                ins = program.instructions[k]
                b.instruction(ins.op, list(ins.inputs), ins.output, dict(ins.attrs), t.bits,
                              ins.where, widen=True)
    for name in program.outputs:
        b.output(name, visibility=_pick(outputs, name, program.tensors[name].visibility))
    return b.build(salt=salt)
