"""The VM's chips: one module per opcode family (see ``common`` for the conventions).

Importing this package registers every chip (for the verifier's registry)
and every planner (for ``statement.build_statement``).
"""

from zkvm.air.chips import divide, elementwise, lut, matmul, maximum, memory, poseidon2, private_weights, reduce_sum, relu, wide_input  # noqa: F401
