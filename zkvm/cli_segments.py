"""The segmented half of ``zkvm run --prove`` and ``zkvm setup`` (docs/segments.md).

``zkvm run P --input X --prove --segment-rows N`` (or ``--max-memory 2GiB``,
optionally ``--cluster auto``) writes one bundle proof; ``zkvm setup P -o K
--segment-rows N`` writes the bundle verifying key; ``zkvm verify`` recognises
a bundle by its magic (``zkvm.cli_verify.run_bundle``).
"""

from __future__ import annotations

import sys
import time

import typer

from zkvm.cli_common import fail


def prove_segmented_and_write(prog, ints: dict, security: str, proof_path: str | None,
                              segment_rows: int | None, max_memory: str | None, boundary: str,
                              cluster: str | None, salts_path: str | None = None):
    """Prove in segments with a progress bar; write the bundle (and the opening of digests).

    Returns the ``BundleReport``: its outputs are the run's (``zkvm run`` prints
    them from it rather than running the whole program once more).
    """
    import zkvm.segments.api as segapi
    from zkvm.cli_prove import _security, read_salts, write_opening

    _security(security)
    if segment_rows and max_memory:
        fail("give --segment-rows or --max-memory, not both")
    if not segment_rows and not max_memory:
        max_memory = "2GiB"
    salts = read_salts(salts_path) if salts_path else None
    params = segapi.segment_params(prog, segment_rows, max_memory, boundary)
    path = proof_path or "out.proof"
    t0 = time.perf_counter()
    with typer.progressbar(length=1, label="proving segments", file=sys.stderr,
                           show_eta=True) as bar:
        state = {"done": 0}

        def progress(done: int, total: int) -> None:
            bar.length = total
            bar.update(done - state["done"])
            state["done"] = done
        rep = segapi.prove_segmented(prog, ints, path, segment_rows=params.segment_rows,
                                  boundary=params.boundary, security=security, salts=salts,
                                  cluster=cluster, progress=progress)
    total = time.perf_counter() - t0
    size = sum(rep.sizes)
    typer.echo(f"proved {rep.n_segments} segments in {total:.2f} s ({security} security, "
               f"{params.segment_rows} cost rows per segment, {params.boundary} boundaries"
               + (f", Ray {cluster}" if cluster else "") + ")")
    typer.echo(f"  largest segment {max(rep.costs)} cost rows; slowest {max(rep.seconds):.2f} s")
    typer.echo(f"wrote {path} ({size / 1024:.1f} KiB, a bundle of {rep.n_segments} proofs)")
    if prog.commitment is not None:
        typer.echo(f"model commitment {prog.commitment.hex}")
    typer.echo(f"verify with: zkvm verify {path} --program PROGRAM (or --key from zkvm setup "
               f"PROGRAM -o KEY --segment-rows {params.segment_rows} --boundary {params.boundary}"
               f" --security {security})")
    if rep.salts:
        from types import SimpleNamespace

        from zkvm.isa.hidden import digest_hex

        for k, d in rep.digests.items():   # as the segment proofs bind them (not hashed again)
            typer.echo(f"digest of hashed {k}: {digest_hex(d)}")
        write_opening(path + ".open.json", prog, SimpleNamespace(salts=rep.salts,
                                                                 digests=rep.digests))
        typer.echo(f"wrote {path}.open.json (salts of hashed inputs/outputs: private)")
    return rep
