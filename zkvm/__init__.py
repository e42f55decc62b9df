"""zkvm: a transparent, zero-knowledge STARK that proves neural-network inference.

Data flows one way: model -> assembler -> program -> runtime (events) -> chips
(traces) -> prover -> proof -> verifier. See docs/architecture.md.
"""

import os as _os

# numba's OpenMP threads spin while they wait for work. On a machine shared with
# other processes (CI, laptops, 2-core servers) that spinning steals the cores the
# other thread needs: the MLP 784-128-10 proof took 1.25 s with spinning and
# 0.65 s without (docs/performance.md). A user's own setting wins.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
