"""Prove segments as Ray tasks, on one machine or many (``zkvm[cluster]``).

``RayExecutor(address)`` connects to a Ray cluster (``"auto"``: start a local
one in this process, never joining another user's; ``"ray://host:port"`` or
``"host:port"``: an existing cluster, e.g. one ``ray start --head`` made) and
proves each ``SegmentJob`` as a task. A job is plain data -- the segment
program file, its integer inputs and the salts of its hashed tensors, the
segment's hidden weights and their commitment salts (a program file holds no
hidden value: **workers see a private model's weights in the clear**), the
preset name and an optional test seed -- so any worker with zkvm installed can
prove it; nothing but the proof bytes and the digests of its hashed tensors
(``SegmentResult``) comes back.

The worker runs its segment in the VM again rather than receiving the
driver's run (which a single process proves from, ``zkvm.segments.prove``):
an execution holds every tensor, the events and a flat int64 memory image
with the weights in it, about 8x the segment's program file, and pickling it
alone takes about as long as running it, before it crosses the network and
is unpickled; the driver would also hold ``max_in_flight`` of them. Running
it costs the worker about 1% of the segment's proving time (``python
bench/bench_segments.py --ship 2048 --max-memory 2GiB`` prints these figures
per segment; docs/segments.md). The driver keeps at most
``max_in_flight`` jobs submitted (each holds its segment's weights), and
yields the proofs in segment order, so ``zkvm.segments.prove`` writes exactly
the same bundle as a single process.

Ray is imported only here, and only when an executor is made: the single-
machine path never imports it (tests/test_cluster.py checks).
"""

from __future__ import annotations

from collections import deque
from typing import Any, Iterable, Iterator

from zkvm.errors import ZkvmUserError

#: Ray's own environment variable that keeps a local cluster from touching the network
_LOCAL_ENV = {"RAY_USAGE_STATS_ENABLED": "0"}


class ClusterError(ZkvmUserError, RuntimeError):
    """Ray is missing or the cluster cannot be reached (says what to do)."""


def _ray():
    try:
        import ray
    except ImportError:
        raise ClusterError("proving on a cluster needs Ray: pip install 'zkvm[cluster]' "
                           "(or pip install 'ray>=2.40')") from None
    return ray


class RayExecutor:
    """Runs ``prove_segment`` for each job as a Ray task (see module docstring).

    Args:
        address: ``"auto"`` / ``"local"`` (start a local Ray here) or the address
            of a running cluster (``ray://host:port``, ``host:port``).
        num_cpus: CPUs of a local cluster started here (default: all).
        max_in_flight: jobs submitted at once (default: 2 per CPU of the cluster).
    """

    def __init__(self, address: str = "auto", num_cpus: int | None = None,
                 max_in_flight: int | None = None) -> None:
        import os

        ray = _ray()
        for k, v in _LOCAL_ENV.items():
            os.environ.setdefault(k, v)
        self._started = False
        if not ray.is_initialized():
            kw: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                  "ignore_reinit_error": True}
            try:
                if address in ("auto", "local"):
                    ray.init(num_cpus=num_cpus, **kw)
                else:
                    ray.init(address=address, **kw)
            except Exception as e:
                raise ClusterError(f"cannot start or reach the Ray cluster {address!r}: "
                                   f"{type(e).__name__}: {e}") from None
            self._started = True
        self.ray = ray
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self.max_in_flight = max_in_flight or max(2, 2 * cpus)
        # one CPU per task, and the prover's numba kernels use exactly that one
        # (otherwise every worker would start a thread per core and oversubscribe)
        self._task = ray.remote(num_cpus=1, runtime_env={"env_vars": {"NUMBA_NUM_THREADS": "1"}})(
            _prove_remote)

    def run(self, jobs: Iterable) -> Iterator:
        """Submit ``jobs`` (at most ``max_in_flight`` pending); yield each ``SegmentResult``
        in job order."""
        pending: deque = deque()
        it = iter(jobs)
        done = False
        while True:
            while not done and len(pending) < self.max_in_flight:
                try:
                    job = next(it)
                except StopIteration:
                    done = True
                    break
                if not isinstance(job.program, bytes):   # plain data for the worker
                    if job.program.hidden_weights:       # not in the program's bytes
                        job.weights = job.program.private_weights()
                    job.program = job.program.to_bytes()
                pending.append(self._task.remote(job))
            if not pending:
                return
            ref = pending.popleft()
            try:
                yield self.ray.get(ref)
            except self.ray.exceptions.RayTaskError as e:
                raise ClusterError(f"a segment task failed on the cluster: {e}") from None

    def close(self) -> None:
        """Shut down the Ray runtime if this executor started it."""
        if self._started and self.ray.is_initialized():
            self.ray.shutdown()
            self._started = False


def _prove_remote(job):
    from zkvm.segments.prove import prove_segment

    return prove_segment(job)
