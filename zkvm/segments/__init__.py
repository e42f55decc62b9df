"""Segmented proving: a program split at layer boundaries, one proof per segment, one bundle.

See docs/segments.md. ``plan`` derives the segments (prover and verifier
alike), ``prove`` writes a bundle proof, ``verify`` checks one against the
program or a bundle key, ``cluster`` proves the segments as Ray tasks,
``budget`` turns a memory budget into segment rows. Nothing is imported
here: ``zkvm verify --key`` of a bundle loads only ``bundle`` and ``verify``
(no ISA, runtime, prover or JIT; tests/test_segments.py checks).
"""
