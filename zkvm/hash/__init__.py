"""Algebraic hashing over Goldilocks: Poseidon2 (reference, sponge, batch kernels)."""
