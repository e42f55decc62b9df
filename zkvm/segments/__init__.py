"""Segmented proving: a program split at layer boundaries, one proof per segment, one bundle.

See docs/segments.md. ``plan`` derives the segments (prover and verifier
alike), ``prove`` writes a bundle proof, ``verify`` checks one against the
program or a bundle key, ``cluster`` proves the segments as Ray tasks.
"""

from zkvm.segments.plan import SegmentError, SegmentParams, plan  # noqa: F401
