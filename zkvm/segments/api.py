"""The Python API of segmented proofs (docs/segments.md), beside ``zkvm.api``.

    from zkvm.segments.api import prove_segmented, setup_segmented, verify_segmented
    prove_segmented(program, inputs, "model.proof", max_memory="2GiB")
    outputs = verify_segmented("model.proof", program=program)["outputs"]

It sits above ``zkvm.api`` (each segment is proved and verified through it), so
``zkvm.api`` does not import it (tests/test_import_graph.py: no cycles).
"""

from __future__ import annotations

from typing import Any, Callable

def segment_params(program, segment_rows: int | None = None, max_memory: int | str | None = None,
                   boundary: str = "auto"):
    """The ``SegmentParams`` for ``program``: from ``segment_rows``, or from a memory budget.

    ``boundary``: ``hashed`` (salted Poseidon2 digests chain the segments),
    ``public`` (boundary values in the proof; all-public programs only) or
    ``auto`` (``public`` when nothing in the program is private or hashed).
    """
    from zkvm.segments.budget import rows_for_memory
    from zkvm.segments.plan import SegmentError, SegmentParams

    if (segment_rows is None) == (max_memory is None):
        raise SegmentError("give exactly one of segment_rows and max_memory")
    if boundary == "auto":
        boundary = "hashed" if program.has_hidden else "public"
    zk = boundary == "hashed" or program.has_hidden
    rows = segment_rows if segment_rows is not None else rows_for_memory(
        max_memory, program.n_params, zk)
    return SegmentParams(int(rows), boundary)


def prove_segmented(program, inputs: dict[str, Any], path: str, *, segment_rows: int | None = None,
                    max_memory: int | str | None = None, boundary: str = "auto",
                    security: str = "standard", salts: dict[str, list[int]] | None = None,
                    cluster: str | None = None, seed: bytes | None = None,
                    progress: Callable[[int, int], None] | None = None, report=None):
    """Prove ``program`` on ``inputs`` in segments; write one bundle proof file to ``path``.

    Peak memory follows the largest segment (``segment_rows`` cost rows, or
    chosen from ``max_memory`` such as ``"2GiB"``). ``cluster``: ``None``
    (this process), ``"auto"`` (start a local Ray) or a Ray address
    (``ray://host:port``; needs the ``zkvm[cluster]`` extra).

    Returns:
        The ``zkvm.segments.prove.BundleReport`` (segments, timings, outputs, salts,
        digests of hashed inputs/outputs).

    Raises:
        SegmentError: the program cannot be segmented (e.g. a private weight read by
            two segments, or a one-sponge model commitment).
    """
    from zkvm.segments.prove import prove_bundle

    params = segment_params(program, segment_rows, max_memory, boundary)
    executor = None
    if cluster is not None:
        from zkvm.segments.cluster import RayExecutor

        executor = RayExecutor(cluster)
    try:
        return prove_bundle(program, inputs, path, params, security, salts=salts, seed=seed,
                            executor=executor, progress=progress, report=report)
    finally:
        if executor is not None:
            executor.close()


def setup_segmented(program, path: str, *, segment_rows: int | None = None,
                    max_memory: int | str | None = None, boundary: str = "auto",
                    security: str = "standard") -> int:
    """Write the bundle verifying key of ``program`` (segment keys streamed); return the count."""
    from zkvm.segments.verify import setup_bundle

    params = segment_params(program, segment_rows, max_memory, boundary)
    return setup_bundle(program, params, path, security)


def verify_segmented(path: str, *, program=None, key: str | None = None,
                     security: str | None = None, min_bits: float | None = None) -> dict:
    """Check the bundle proof at ``path`` against ``program`` or a bundle key file ``key``.

    Segment by segment (one segment key and proof in memory at a time): each
    proof against its own key at ``security`` (default ``standard``), then the
    chain (``zkvm.segments.verify``). Returns ``{"outputs", "digests", "model",
    "scales", "n_segments", "program"}`` (``zkvm.segments.verify.check_chain``).

    Raises:
        VerificationError: a subclass naming the failed check (``BoundaryMismatch``
            for a broken chain, ``KeyMismatch`` for another program or split).
    """
    from zkvm.segments.verify import verify_with_key, verify_with_program

    if (program is None) == (key is None):
        raise ValueError("give exactly one of program and key")
    sec = security or "standard"
    if program is not None:
        return verify_with_program(path, program, sec, min_bits)
    return verify_with_key(path, key, sec, min_bits)
