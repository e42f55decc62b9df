"""The machine a benchmark or report ran on (for the figures we publish)."""

from __future__ import annotations

import platform


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (or what ``platform`` knows)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def kernels_compiled() -> bool:
    """Whether numba's on-disk cache already holds the prover's kernels.

    A heuristic for the first-run hint: looks for the cache index of the fused
    constraint kernel (``zkvm/air/tape_eval.py``) next to the package, or under
    ``NUMBA_CACHE_DIR`` when set. A wrong answer only shows or hides one line.
    """
    import glob
    import os

    here = os.path.dirname(os.path.abspath(__file__))
    roots = [os.path.join(here, "air", "__pycache__")]
    if os.environ.get("NUMBA_CACHE_DIR"):
        roots.append(os.environ["NUMBA_CACHE_DIR"])
    return any(glob.glob(os.path.join(r, "**", "tape_eval.*.nbi"), recursive=True) for r in roots)
