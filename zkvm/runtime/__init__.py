"""The VM: executes a program exactly in fixed point and records per-instruction events."""
