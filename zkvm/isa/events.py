"""The seam between the VM and the chips: what an execution records.

The runtime (:mod:`zkvm.runtime.vm`) produces an :class:`Execution` holding
one :class:`Event` per compute instruction; the chips
(:mod:`zkvm.air.chips`) read it to build their traces
(``VmChip.witness``). Both import these types from here, so neither depends
on the other (docs/architecture.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .program import Program


@dataclass
class Event:
    """What one compute instruction did (views produce no event).

    Attributes:
        index: the instruction's index in ``program.instructions``.
        op: opcode.
        inputs: operand tensor names.
        output: result tensor name.
        attrs: the instruction's (normalised) attributes.
        aux: auxiliary int64 arrays the chips need, by opcode (docs/isa.md):
            ``rescale``/``div``: ``r`` (remainder, same shape as the output);
            ``relu``: ``neg`` (1 where the input is < 0, else 0);
            ``max``: ``arg`` (flat index of the chosen element within each
            reduced group, row-major over the reduced axes; the first maximum);
            ``argmax``: ``max`` (the maximum value along the axis);
            ``lut``: ``index`` (``clamp(x, lo, hi) - lo``, the table row used).
    """

    index: int
    op: str
    inputs: tuple[str, ...]
    output: str
    attrs: dict[str, Any]
    aux: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class Execution:
    """The result of running a program.

    Attributes:
        program: the program that ran.
        values: int64 values of every tensor (inputs, weights, results, views).
        events: one :class:`Event` per compute instruction, in order.
        memory: flat int64 memory, ``memory[a]`` = value at address ``a`` (None when
            ``execute`` ran with ``memory=False``).
    """

    program: Program
    values: dict[str, np.ndarray]
    events: list[Event]
    memory: np.ndarray | None

    @property
    def outputs(self) -> dict[str, np.ndarray]:
        """Output values (integers at the outputs' scales), in declaration order."""
        return {n: self.values[n] for n in self.program.outputs}

    def output_floats(self) -> dict[str, np.ndarray]:
        """Output values as real numbers ``v / 2^scale``."""
        return {
            n: self.values[n].astype(np.float64) / 2.0 ** self.program.tensors[n].scale
            for n in self.program.outputs
        }
