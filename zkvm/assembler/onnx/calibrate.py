"""Calibration: run the float model on the samples and record every tensor.

The float reference is onnx's own evaluator (``onnx.reference.ReferenceEvaluator``,
no onnxruntime). One run per sample, with ``intermediate=True``, gives the
value of every tensor of the graph; from them the compiler takes

* the values of constant tensors (constant folding: any node whose inputs do
  not depend on the model's inputs is computed here, whatever its operator);
* every tensor's shape (fixed once the inputs' shapes are);
* every activation's range over the samples, from which scales are chosen;
* the reference outputs for the accuracy report.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .errors import OnnxCompileError, require_onnx
from .graph import Graph


@dataclass(frozen=True)
class Stats:
    """Range of one tensor over all calibration samples (real numbers)."""

    lo: float
    hi: float
    maxabs: float


def run_reference(model, feeds: dict[str, np.ndarray], intermediate: bool = False,
                  where: str = "the model"):
    """Run onnx's reference evaluator once; errors become one-line :class:`OnnxCompileError`."""
    require_onnx()
    from onnx.reference import ReferenceEvaluator

    try:
        ev = ReferenceEvaluator(model)
        return ev.run(None, feeds, intermediate=intermediate)
    except Exception as e:  # noqa: BLE001 - the evaluator raises anything a node raises
        msg = " ".join(str(e).split()) or type(e).__name__
        raise OnnxCompileError(f"onnx's reference evaluator failed on {where}: "
                               f"{type(e).__name__}: {msg[:300]}") from None


class Calibration:
    """Every tensor's value on every calibration sample.

    Args:
        graph: the model.
        samples: float64 arrays ``[n, *shape]`` by input name.
    """

    def __init__(self, graph: Graph, samples: dict[str, np.ndarray]) -> None:
        self.graph = graph
        self.samples = samples
        self.n = len(next(iter(samples.values())))
        dtypes = {i.name: i.dtype for i in graph.inputs}
        require_onnx()
        from onnx.reference import ReferenceEvaluator

        try:
            ev = ReferenceEvaluator(graph.model)
        except Exception as e:  # noqa: BLE001
            msg = " ".join(str(e).split())[:300]
            raise OnnxCompileError(f"onnx's reference evaluator cannot load {graph.path}: "
                                   f"{type(e).__name__}: {msg}") from None
        self.runs: list[dict[str, np.ndarray]] = []
        for k in range(self.n):
            feeds = {n: v[k].astype(_np_dtype(dtypes[n])) for n, v in samples.items()}
            try:
                res = ev.run(None, feeds, intermediate=True)
            except Exception as e:  # noqa: BLE001
                raise OnnxCompileError(
                    f"onnx's reference evaluator failed on calibration sample {k} of "
                    f"{graph.path}: {type(e).__name__}: {' '.join(str(e).split())[:300]}") from None
            self.runs.append({n: np.asarray(v) for n, v in res.items() if n and v is not None})
        # the evaluator holds the model's weights in reference cycles: free them now, so that
        # ``drop`` (the compiler, once a weight is quantized) frees each float weight
        del ev
        gc.collect()

    def has(self, name: str) -> bool:
        return name in self.runs[0]

    def value(self, name: str, k: int = 0) -> np.ndarray:
        """Value of tensor ``name`` on sample ``k`` (its own dtype)."""
        try:
            return self.runs[k][name]
        except KeyError:
            raise OnnxCompileError(f"tensor '{name}' was not computed by the reference "
                                   "evaluator (is the model valid?)") from None

    def drop(self, name: str) -> None:
        """Forget a tensor's values (a float constant the compiler has quantized: the
        model's weights need not stay in memory twice)."""
        for r in self.runs:
            r.pop(name, None)

    def stacked(self, name: str) -> np.ndarray:
        """float64 ``[n, *shape]`` values of ``name`` over all samples."""
        return np.stack([np.asarray(r[name], dtype=np.float64) for r in self.runs])

    def shape(self, name: str) -> tuple[int, ...]:
        return tuple(np.shape(self.value(name)))

    def stats(self, name: str) -> Stats:
        return self._stats.get(name) or self._compute(name)

    @cached_property
    def _stats(self) -> dict[str, Stats]:
        return {}

    def _compute(self, name: str) -> Stats:
        v = self.stacked(name)
        s = Stats(float(v.min()), float(v.max()), float(np.abs(v).max())) if v.size else \
            Stats(0.0, 0.0, 0.0)
        self._stats[name] = s
        return s

    def outputs(self, k: int) -> list[np.ndarray]:
        """The model's outputs on sample ``k`` (float64; integer outputs such as ArgMax's
        indices keep their integer dtype, so the report compares them as indices)."""
        out = []
        for o in self.graph.outputs:
            v = np.asarray(self.runs[k][o])
            out.append(v if v.dtype.kind in "iub" else v.astype(np.float64))
        return out


def _np_dtype(name: str):
    if name == "bfloat16":  # numpy has none; the evaluator accepts float32 for it
        return np.float32
    return np.dtype(name)
