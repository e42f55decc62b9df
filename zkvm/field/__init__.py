"""Goldilocks field F_p (p = 2^64 - 2^32 + 1) and its quadratic extension F_p[X]/(X^2 - 7)."""
