"""The tensor instruction set: opcodes, tensor types, fixed-point semantics, program files."""
