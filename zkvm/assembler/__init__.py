"""Text assembly <-> program, and model compilers (ONNX, elsewhere in this package).

Public API: :func:`assemble`, :func:`assemble_file`, :func:`disassemble`,
:class:`Builder` (programmatic construction with macros), :class:`AssemblyError`,
and :func:`load_program` (a ``.zkvm`` file or, assembled on the fly, a ``.zasm``).
"""

from ..isa.program import Program
from .assemble import assemble, assemble_file
from .builder import Builder
from .disasm import disassemble
from .parser import AssemblyError


def load_program(path: str) -> Program:
    """Load a program file, assembling it first when ``path`` ends in ``.zasm``."""
    if path.endswith(".zasm"):
        return assemble_file(path)
    return Program.load(path)


__all__ = ["AssemblyError", "Builder", "Program", "assemble", "assemble_file", "disassemble",
           "load_program"]
