"""Hashing: Poseidon2 over Goldilocks (reference, sponge, batch kernels) and Keccak-256 for the on-chain profile."""
