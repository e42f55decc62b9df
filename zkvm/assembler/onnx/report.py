"""Accuracy of a compiled program against the float ONNX model.

For every output: the largest absolute difference between the program's
result (its integers divided by ``2^scale``, computed by the VM on the
quantized inputs) and onnx's reference evaluator (on the real inputs); the
relative error ``max|Δ| / max|reference|``; the error relative to the
output's range ``max|Δ| / (max ref - min ref)`` (what ``zkvm compile``'s
accuracy check uses); whether the program's (and the model's) output varies
across the samples; and for classifier-shaped outputs (``[rows, classes]``
with at least two classes) how many rows agree on the top-1 class.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...isa.program import Program


@dataclass
class OutputAccuracy:
    """Accuracy of one output over the samples compared."""

    name: str
    onnx_name: str
    shape: tuple[int, ...]
    scale: int
    max_abs: float = 0.0
    max_ref: float = 0.0
    top1_agree: int = 0
    top1_rows: int = 0
    ref_lo: float = math.inf
    ref_hi: float = -math.inf
    n_seen: int = 0
    #: the program's output / the model's output differs between two samples
    varies: bool = False
    ref_varies: bool = False
    any_nonzero: bool = False
    #: integer outputs (ArgMax): elements compared and elements that differ
    n_int: int = 0
    n_int_diff: int = 0
    _first: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    @property
    def rel(self) -> float:
        return self.max_abs / self.max_ref if self.max_ref > 0 else self.max_abs

    @property
    def span(self) -> float:
        """The reference's range ``max - min`` over every element and sample."""
        return self.ref_hi - self.ref_lo if self.n_seen else 0.0

    @property
    def rel_range(self) -> float:
        """``max|Δ|`` as a fraction of the output's range (``max|ref|`` if it has none)."""
        d = self.span if self.span > 0 else self.max_ref
        return self.max_abs / d if d > 0 else self.max_abs

    @property
    def classifier(self) -> bool:
        return self.top1_rows > 0

    def add(self, got: np.ndarray, ref: np.ndarray) -> None:
        got = np.asarray(got, dtype=np.float64).reshape(np.shape(ref))
        is_int = np.asarray(ref).dtype.kind in "iub"
        ref = np.asarray(ref, dtype=np.float64)
        if ref.size:
            self.max_abs = max(self.max_abs, float(np.max(np.abs(got - ref))))
            self.max_ref = max(self.max_ref, float(np.max(np.abs(ref))))
            self.ref_lo = min(self.ref_lo, float(ref.min()))
            self.ref_hi = max(self.ref_hi, float(ref.max()))
            if is_int:
                self.n_int += ref.size
                self.n_int_diff += int(np.sum(got != ref))
        self.any_nonzero |= bool(np.any(got))
        if self._first is None:
            self._first = (got.copy(), ref.copy())
        else:
            self.varies |= not np.array_equal(got, self._first[0])
            self.ref_varies |= not np.array_equal(ref, self._first[1])
        self.n_seen += 1
        if len(self.shape) in (1, 2) and self.shape[-1] >= 2 and not is_int:
            g2, r2 = got.reshape(-1, self.shape[-1]), ref.reshape(-1, self.shape[-1])
            self.top1_agree += int(np.sum(np.argmax(g2, axis=1) == np.argmax(r2, axis=1)))
            self.top1_rows += len(r2)


@dataclass
class AccuracyReport:
    """Per-output accuracy over ``n_samples`` inputs."""

    n_samples: int
    outputs: list[OutputAccuracy] = field(default_factory=list)
    what: str = "calibration samples"

    @property
    def max_abs(self) -> float:
        return max((o.max_abs for o in self.outputs), default=0.0)

    def format(self) -> str:
        """A small table (one line per output)."""
        lines = [f"accuracy on {self.n_samples} {self.what} "
                 "(zkvm integers vs onnx reference evaluator):",
                 f"  {'output':<20} {'shape':<14} {'scale':>5} {'max|ref|':>10} "
                 f"{'max abs err':>12} {'rel err':>9} {'/range':>9}  top-1 agreement"]
        for o in self.outputs:
            top = f"{o.top1_agree}/{o.top1_rows}" if o.classifier else "-"
            shape = "[" + ",".join(map(str, o.shape)) + "]"
            lines.append(f"  {o.name:<20} {shape:<14} {o.scale:>5} {o.max_ref:>10.4g} "
                         f"{o.max_abs:>12.3e} {o.rel:>9.2e} {o.rel_range:>9.2e}  {top}")
        return "\n".join(lines)

    def summary(self) -> str:
        """One line for program metadata."""
        parts = []
        for o in self.outputs:
            s = (f"{o.name}: max abs err {o.max_abs:.3e}, rel {o.rel:.2e}, "
                 f"{o.rel_range:.2e} of its range")
            if o.classifier:
                s += f", top-1 {o.top1_agree}/{o.top1_rows}"
            parts.append(s)
        return f"on {self.n_samples} {self.what}: " + "; ".join(parts)


def io_map(program: Program, key: str) -> list[tuple[str, str]]:
    """``[(program name, onnx name), ...]`` stored by the compiler in the metadata."""
    raw = program.metadata.get(key)
    if raw:
        try:
            return [(str(a), str(b)) for a, b in json.loads(raw)]
        except (ValueError, TypeError):
            pass
    names = [t.name for t in program.inputs] if key == "onnx.inputs" else list(program.outputs)
    return [(n, n) for n in names]


def new_report(program: Program, n: int, what: str = "calibration samples") -> AccuracyReport:
    rep = AccuracyReport(n, what=what)
    for p, o in io_map(program, "onnx.outputs"):
        t = program.tensors[p]
        rep.outputs.append(OutputAccuracy(p, o, tuple(t.shape), t.scale))
    return rep


def vm_runs(program: Program, real_inputs: list[dict[str, np.ndarray]]
            ) -> Iterator[Mapping[str, np.ndarray]]:
    """Per real input, the VM's integer values of every tensor (one run at a time, without
    the flat memory the prover needs: a run costs its activations)."""
    from ...io import quantize_inputs
    from ...runtime import execute

    for real in real_inputs:
        yield execute(program, quantize_inputs(real, program), memory=False).values


def accuracy(program: Program, real_inputs: list[dict[str, np.ndarray]],
             references: list[list[np.ndarray]], what: str = "calibration samples",
             runs: Iterable[Mapping[str, np.ndarray]] | None = None) -> AccuracyReport:
    """Run the program on each real input and compare with the reference outputs.

    Args:
        program: the compiled program.
        real_inputs: per sample, real-valued inputs by *program* input name.
        references: per sample, the ONNX outputs in the program's output order.
        what: how the samples are called in the report.
        runs: per sample, the program's integer values by tensor name when they are
            known already (the compiler's shadow run: the VM's integers on the same
            quantized inputs); None runs the VM.
    """
    rep = new_report(program, len(real_inputs), what)
    for vals, refs in zip(vm_runs(program, real_inputs) if runs is None else runs, references):
        for o, ref in zip(rep.outputs, refs):
            got = vals[o.name].astype(np.float64) / 2.0 ** program.tensors[o.name].scale
            o.add(got, np.asarray(ref))
    return rep


@dataclass
class TensorError:
    """Error of one intermediate tensor (ONNX name, program name, scale, max abs err, max|ref|,
    declared width)."""

    onnx_name: str
    name: str
    scale: int
    max_abs: float
    max_ref: float
    bits: int = 0


def tensor_errors(program: Program, real_inputs: list[dict[str, np.ndarray]],
                  values: list[dict[str, np.ndarray]], tensors: dict[str, str],
                  runs: Iterable[Mapping[str, np.ndarray]] | None = None) -> list[TensorError]:
    """Per ONNX tensor with a program counterpart: the largest error over the samples.

    Args:
        program: the compiled program.
        real_inputs: per sample, real inputs by program input name.
        values: per sample, every ONNX tensor's reference value.
        tensors: ONNX tensor name -> program tensor name.
        runs: per sample, the program's integer values by tensor name when known
            already (see :func:`accuracy`); None runs the VM.
    """
    out: dict[str, TensorError] = {}
    for vals, ref in zip(vm_runs(program, real_inputs) if runs is None else runs, values):
        for o, p in tensors.items():
            if o not in ref or p not in vals or program.tensors[p].kind == "input":
                continue
            r = np.asarray(ref[o], dtype=np.float64)
            v = vals[p].astype(np.float64) / 2.0 ** program.tensors[p].scale
            if v.size != r.size:
                continue
            e = out.setdefault(o, TensorError(o, p, program.tensors[p].scale, 0.0, 0.0,
                                              program.tensors[p].bits))
            if r.size:
                e.max_abs = max(e.max_abs, float(np.max(np.abs(v.reshape(r.shape) - r))))
                e.max_ref = max(e.max_ref, float(np.max(np.abs(r))))
    return list(out.values())


def format_tensor_errors(errors: list[TensorError]) -> str:
    """The per-layer table of ``zkvm compile -v`` (width: the declared, range-checked one)."""
    lines = [f"  {'onnx tensor':<28} {'program tensor':<28} {'width':>5} {'scale':>5} "
             f"{'max|ref|':>10} {'max abs err':>12} {'rel err':>9}"]
    for e in errors:
        rel = e.max_abs / e.max_ref if e.max_ref > 0 else e.max_abs
        lines.append(f"  {e.onnx_name[:28]:<28} {e.name[:28]:<28} {'i' + str(e.bits):>5} "
                     f"{e.scale:>5} {e.max_ref:>10.4g} {e.max_abs:>12.3e} {rel:>9.2e}")
    return "\n".join(lines)


def compare_with_onnx(program: Program, model: Any, real: dict[str, np.ndarray],
                      outputs: dict[str, np.ndarray]) -> AccuracyReport:
    """The accuracy report of one run (``zkvm run --compare MODEL.onnx``).

    Args:
        program: the program that ran.
        model: the ONNX model (path or ``ModelProto``).
        real: the real inputs by program input name.
        outputs: the program's outputs as real numbers, by name.

    Raises:
        OnnxCompileError: the model cannot be read or does not match the program.
    """
    from .calibrate import run_reference
    from .errors import OnnxCompileError
    from .graph import load_graph

    g = load_graph(model)
    dtypes = {i.name: i.dtype for i in g.inputs}
    feeds = {}
    for p, o in io_map(program, "onnx.inputs"):
        if o not in dtypes:
            raise OnnxCompileError(f"{g.path} has no input '{o}' (the program's input '{p}'); "
                                   f"its inputs are: {', '.join(dtypes)}")
        feeds[o] = np.asarray(real[p]).astype(np.float32 if dtypes[o] == "bfloat16" else dtypes[o])
    res = run_reference(g.model, feeds, intermediate=False, where=g.path)
    ref = dict(zip(g.outputs, res))
    rep = new_report(program, 1, "input")
    for o in rep.outputs:
        if o.onnx_name not in ref:
            raise OnnxCompileError(f"{g.path} has no output '{o.onnx_name}' (the program's "
                                   f"output '{o.name}'); its outputs are: {', '.join(g.outputs)}")
        o.add(outputs[o.name], np.asarray(ref[o.onnx_name], dtype=np.float64))
    return rep
