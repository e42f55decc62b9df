"""The VM: executes a program exactly in fixed point and records per-instruction events.

Public API: :func:`execute` -> :class:`Execution` (``values``, ``events``,
``memory``, ``outputs``), :class:`Event` (``index, op, inputs, output, attrs,
aux``), :func:`check_inputs`, and the float reference :func:`execute_float`.
"""

from .reference import execute_float
from .vm import Event, Execution, check_inputs, execute

__all__ = ["Event", "Execution", "check_inputs", "execute", "execute_float"]
