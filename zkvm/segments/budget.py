"""From a memory budget to segment rows: a measured linear model of the prover's peak.

The segmentation budget is in *cost rows* (``zkvm.segments.plan.instruction_cost``:
a matmul costs ``ceil(MACs / 64)``, any other instruction its output size).
The peak resident memory of a bundle prover is modelled as

    peak ≈ BASE_BYTES + BYTES_PER_PARAM * parameters
           + BYTES_PER_ROW * (cost rows of the largest segment)

(the program and its refined copy stay resident: weights and addresses;
then the largest segment's tables), with the three constants fitted by least
squares on the ``standard`` preset over the MLP family 784->N->N->10 and
several budgets (``python bench/bench_segments.py --fit``, peak = the child
process's maximum RSS, which includes the interpreter, numba and the
program file's loading). Zero-knowledge segments (hashed boundaries, or
private/hashed inputs and outputs) have their own per-row constant.
``rows_for_memory`` inverts the model with a safety margin (``MARGIN``) and
never goes below the planner's minimum. The constants depend on the preset
(blowup), on the tile the matmul planner picks and on the host's allocator,
so they are a guide, not a guarantee: a segment may exceed the budget when a
single instruction is larger than it (the planner then reports it).
"""

from __future__ import annotations

import re

from zkvm.segments.plan import MAX_SEGMENT_ROWS, MIN_SEGMENT_ROWS, SegmentError

#: fitted by bench/bench_segments.py --fit (see docs/segments.md for the run)
BASE_BYTES = 203 * 2**20
BYTES_PER_PARAM = 46.3
BYTES_PER_ROW = 15801
#: zero-knowledge segments (randomised traces are twice as tall): fitted with
#: ``--fit --boundary hashed`` on the same runs
BYTES_PER_ROW_ZK = 31200
MARGIN = 0.9

_UNITS = {"": 1, "b": 1, "k": 2**10, "kb": 10**3, "kib": 2**10, "m": 2**20, "mb": 10**6,
          "mib": 2**20, "g": 2**30, "gb": 10**9, "gib": 2**30, "t": 2**40, "tb": 10**12,
          "tib": 2**40}


def parse_size(text: int | str) -> int:
    """Bytes from ``4GiB``, ``512MiB``, ``3.5G``, ``2000000000`` (binary units for k/M/G)."""
    if isinstance(text, int) and not isinstance(text, bool):
        return text
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*", str(text))
    if not m or m.group(2).lower() not in _UNITS:
        raise SegmentError(f"memory size {text!r} not understood: write e.g. 4GiB, 512MiB, 3G")
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def rows_for_memory(budget: int | str, n_params: int = 0, zk: bool = False) -> int:
    """The segment rows whose modelled peak fits ``MARGIN`` of ``budget`` bytes.

    Args:
        budget: bytes, or a size such as ``"2GiB"``.
        n_params: the program's parameter count (its resident share).
        zk: the segments are zero-knowledge (hashed boundaries or hidden values):
            their tables are taller (``BYTES_PER_ROW_ZK``).

    Raises:
        SegmentError: a budget below what one smallest segment needs.
    """
    b = parse_size(budget)
    per_row = BYTES_PER_ROW_ZK if zk else BYTES_PER_ROW
    fixed = BASE_BYTES + BYTES_PER_PARAM * n_params
    rows = int((b * MARGIN - fixed) / per_row)
    if rows < MIN_SEGMENT_ROWS:
        need = (fixed + per_row * MIN_SEGMENT_ROWS) / MARGIN
        raise SegmentError(f"a memory budget of {b / 2**20:.0f} MiB is below what the prover "
                           f"needs for the smallest segment (~{need / 2**20:.0f} MiB)")
    return min(rows, MAX_SEGMENT_ROWS)
