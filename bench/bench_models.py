"""Model benchmarks (issue 7): the repository's front of :mod:`zkvm.examples.suite`.

    python bench/bench_models.py [--models tiny,mlp,...] [--runs 3] [--security standard]
        [--scaling] [--ezkl] [--profile MODEL] [--threads N] [--out bench/results/models.json]
    python bench/bench_models.py --markdown bench/results/models.json
    zkvm bench [same options]

The suite (workers, table, JSON) and its models ship with the package, so
``zkvm bench`` runs from an installed zkvm; this script only puts the
results in ``bench/results/`` next to it. See :mod:`zkvm.examples.suite` for
what each column measures.
"""

from __future__ import annotations

import os

from zkvm.examples import suite

if __name__ == "__main__":
    suite.RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
    suite.main()
