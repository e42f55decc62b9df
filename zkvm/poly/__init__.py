"""Polynomials over Goldilocks: NTT, low-degree extension on cosets, interpolation, evaluation."""
