"""The tensor instruction set: opcodes, tensor types, fixed-point semantics, program files.

Public API (see docs/isa.md for the semantics, docs/architecture.md §5):

* :class:`Program` (``tensors``, ``instructions``, ``weights``, ``outputs``,
  ``inputs``, ``addresses(name)``, ``base(name)``, ``intervals``,
  ``acc_bounds``, ``digest``, ``save``/``load``), built by :class:`ProgramBuilder`.
* :class:`TensorInfo`, :class:`Instruction`, :data:`OPS` (opcode table).
* Errors: :class:`ZkvmError` and subclasses, :class:`ProgramFileError`,
  :class:`WeightsError` (hidden weights; docs/visibility.md).
"""

from .errors import (
    ExecutionError,
    InputError,
    IsaError,
    ProgramFileError,
    ProgramOverflowError,
    ShapeError,
    ZkvmError,
)
from .fileformat import FORMAT_VERSION, MAGIC, canonical
from .ops import OPS
from .program import Program, ProgramBuilder, WeightsError
from .tensor import Instruction, TensorInfo, bits_range

__all__ = [
    "ExecutionError", "InputError", "IsaError", "ProgramFileError", "ProgramOverflowError",
    "ShapeError", "ZkvmError", "FORMAT_VERSION", "MAGIC", "canonical", "OPS", "Program",
    "ProgramBuilder", "Instruction", "TensorInfo", "bits_range", "WeightsError",
]
