"""ONNX -> zkvm program: load, calibrate, rewrite, lower, report.

    from zkvm.assembler.onnx import compile_onnx, CompileOptions
    result = compile_onnx("mlp.onnx", calibrate="samples.json")
    result.program.save("mlp.zkvm")
    print(result.report.format())

Steps (docs/onnx.md):

1. read the model (opset >= 11) and refuse unsupported ops up front, naming
   the op, the node and the supported list (ops of constant subgraphs are
   folded, whatever they are);
2. read the calibration samples and fix dynamic dimensions from them;
3. run onnx's reference evaluator on every sample (every tensor's value:
   constants, shapes, ranges, reference outputs);
4. rewrite (Gemm -> MatMul, bias fusion, BatchNorm folding, GELU and
   LayerNorm patterns);
5. declare the inputs (scale and range from the samples), lower every node
   with :class:`zkvm.assembler.Builder`, declare the outputs;
6. run the program on the samples and measure its error (per output and per
   layer); refuse a program whose output is constant across the samples or
   whose error exceeds ``max_error`` of the output's range
   (:class:`InaccurateProgramError`), unless ``allow_inaccurate`` (then a warning).
"""

from __future__ import annotations

import json
import math
import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...io import quantize
from ...isa.errors import ZkvmError
from ...isa.program import Program
from . import ops_linear, ops_math, ops_nn, ops_pad, ops_select, ops_shape  # noqa: F401  (lowerings)
from .calibrate import Calibration
from .errors import InaccurateProgramError, OnnxCompileError, UnsupportedOpError
from .graph import Graph, load_graph
from .lower import MAX_ACT_SCALE, MIN_ACT_SCALE, QT, REGISTRY, CompileOptions, Lowering, fit_bits, \
    sanitize
from .ops_index import check_id_samples, declare_ids, is_index_input
from .report import AccuracyReport, TensorError, accuracy, tensor_errors
from .rewrite import Rewriter
from .samples import read_sample_file, resolve_shapes


def supported_ops() -> list[str]:
    """Every ONNX op the compiler lowers (constant subgraphs are folded, whatever their ops)."""
    return sorted(set(REGISTRY) | {"Constant"})


@dataclass
class CompileResult:
    """What :func:`compile_onnx` returns.

    Attributes:
        program: the compiled program.
        report: its accuracy on the calibration samples.
        notes: what the compiler decided that a user should know (dynamic
            dimensions, precision given up for provable bounds, ...).
        rewrites: the graph rewrites applied (folds, fused patterns).
        inputs: per input, ``(scale, real lo, real hi)`` of its declared range.
        tensors: ONNX tensor name -> program tensor name.
        layers: per ONNX tensor, its error on (up to 8 of) the calibration samples.
        warnings: accuracy problems compiled anyway (``allow_inaccurate``).
    """

    program: Program
    report: AccuracyReport
    notes: list[str] = field(default_factory=list)
    rewrites: list[str] = field(default_factory=list)
    inputs: dict[str, tuple[int, float, float]] = field(default_factory=dict)
    tensors: dict[str, str] = field(default_factory=dict)
    layers: list[TensorError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def check_supported(graph: Graph) -> None:
    """Raise :class:`UnsupportedOpError` for the first node that cannot be lowered."""
    ops = supported_ops()
    for n in graph.nodes:
        if all(o in graph.constants for o in n.outputs if o):
            continue
        if n.domain not in ("", "ai.onnx") or n.op not in REGISTRY:
            op_name = f"{n.domain}.{n.op}" if n.domain else n.op
            raise UnsupportedOpError(
                f"op {op_name} at node {n.name} is not supported; supported ops: "
                f"{', '.join(ops)}; replace it in the model before exporting (see docs/onnx.md)")


def compile_onnx(model: Any, calibrate: str | None = None,
                 options: CompileOptions | None = None,
                 samples: dict[str, np.ndarray] | None = None) -> CompileResult:
    """Compile an ONNX model to a zkvm program and measure its accuracy.

    Args:
        model: path to a ``.onnx`` file, or an ``onnx.ModelProto``.
        calibrate: calibration samples file (JSON incl. EZKL ``input_data``, .npy, .npz).
        options: quantization options (defaults: 16-bit activations and weights).
        samples: samples as arrays by input name instead of a file.

    Returns:
        The program, its accuracy report and notes.

    Raises:
        OnnxCompileError: (and subclasses) a model that cannot be compiled, with
            a one-line message naming the op/node/input and what to do.
    """
    opts = options or CompileOptions()
    opts.check()
    graph = load_graph(model)
    check_supported(graph)
    raw = read_sample_file(calibrate, graph.inputs) if calibrate else None
    if samples is not None:
        raw = {k: np.asarray(v, dtype=np.float64) for k, v in samples.items()}
        missing = [i.name for i in graph.inputs if i.name not in raw]
        if missing:
            raise OnnxCompileError(f"no samples for input(s) {', '.join(missing)}")
    shapes, samp, notes = resolve_shapes(graph.inputs, raw, opts.batch)
    check_id_samples(graph, samp, given=raw is not None)
    calib = Calibration(graph, samp)
    rw = Rewriter(graph, lambda n: _const(graph, calib, n), calib.shape)
    rw.run()
    low = Lowering(graph, calib, rw.extra, opts)
    low.notes = notes
    b = low.b
    src = os.path.basename(graph.path)
    b.meta("name", os.path.splitext(src)[0] or "model")
    b.meta("source", f"compiled from ONNX {src} (opset {graph.opset}) by zkvm compile")
    in_map, declared = [], {}
    for inp in graph.inputs:
        name = low.fresh(inp.name)
        declare = declare_ids if is_index_input(inp.dtype) else _declare_input
        scale, lo, hi = declare(low, name, inp.name, shapes[inp.name], opts)
        declared[name] = (scale, lo, hi)
        # the shadow run sees every input's samples as the VM will (token ids at scale 0 too)
        q = quantize(low.calib.samples[inp.name], scale)
        q = q.reshape((low.calib.n,) + tuple(shapes[inp.name]))
        b.shadow.input(b, low.env[inp.name].name, q)
        in_map.append((name, inp.name))
    lowered = [n for n in graph.nodes if not all(o in graph.constants for o in n.outputs if o)]
    reads = Counter(i for n in lowered for i in set(n.inputs)
                    if i in graph.constants or i in rw.extra)
    for i in graph.constants - reads.keys():  # read by no lowered node (folded, rewritten)
        calib.drop(i)
    for n in lowered:
        try:
            low.lower_node(n, REGISTRY[n.op])
        except ZkvmError:
            raise
        except (ValueError, TypeError, KeyError, IndexError) as e:  # malformed attributes
            raise OnnxCompileError(f"{n.where}: cannot compile this node "
                                   f"({type(e).__name__}: {e})") from None
        for i in set(n.inputs) & reads.keys():  # a float constant read for the last time
            reads[i] -= 1
            if not reads[i]:  # its program form (quantized weight, shape...) is made
                calib.drop(i)
                rw.extra.pop(i, None)
    out_map = _declare_outputs(low, graph)
    b.meta("onnx.inputs", json.dumps(in_map))
    b.meta("onnx.outputs", json.dumps(out_map))
    b.meta("quantization", _describe(opts, calib.n))
    try:
        program = b.build()
    except ZkvmError as e:
        raise OnnxCompileError(f"the compiled program is invalid: {e}") from None
    real = [{p: calib.samples[o][k] for p, o in in_map} for k in range(calib.n)]
    refs = [calib.outputs(k) for k in range(calib.n)]
    # the shadow run computed the VM's integers on these samples already: reuse them
    runs = b.shadow.runs(b) if _shadow_is_vm(b, program) else None
    report = accuracy(program, real, refs, runs=runs)
    program.metadata["accuracy"] = report.summary()
    tmap = {k: v.name for k, v in low.env.items()}
    layers = tensor_errors(program, real[:8], calib.runs[:8], tmap,
                           runs=None if runs is None else runs[:8])
    problems = accuracy_problems(report, opts.max_error)
    if problems and not opts.allow_inaccurate:
        worst = _worst_layers(layers)
        raise InaccurateProgramError(
            "the compiled program is not faithful to the model on the calibration samples: "
            + "; ".join(problems) + (f" (largest layer errors: {worst})" if worst else "")
            + "; check that the samples are typical inputs, try --bits 20 or a smaller "
            "--margin, see every layer's error with -v, or pass --allow-inaccurate to "
            "compile it anyway")
    if problems:
        program.metadata["accuracy"] += " (INACCURATE: " + "; ".join(problems) + ")"
    return CompileResult(program, report, low.notes, rw.applied, declared, tmap, layers,
                         problems)


def _shadow_is_vm(b: Any, program: Program) -> bool:
    """Whether the shadow run's integers are what ``execute`` gives on the calibration
    samples: it ran every instruction of the program (with the VM's own rules) on the same
    quantized inputs (``zkvm.io.quantize``), and those inputs are in their declared ranges
    (else ``quantize_inputs`` refuses them: the VM path then raises its own error)."""
    if b.shadow.n_instructions != len(program.instructions):
        return False
    for t in program.inputs:
        lo, hi = b.shadow.ranges.get(t.name, (0, 0))
        if t.name not in b.shadow.acts or lo < t.lo or hi > t.hi:
            return False
    return True


def accuracy_problems(report: AccuracyReport, max_error: float) -> list[str]:
    """What makes a compiled program unacceptable (empty when it is fine).

    * an output that is the same on every calibration sample while the model's
      is not (or all zeros while the model's is not): quantization lost it;
    * an output whose largest error exceeds ``max_error`` of its range; for an
      integer output (ArgMax: indices), more than ``max_error`` of its elements
      differ.
    """
    out = []
    for o in report.outputs:
        zero = not o.any_nonzero and o.max_ref > 0
        if (o.ref_varies and not o.varies) or zero:
            what = "all zero" if zero else "the same"
            out.append(f"output '{o.onnx_name}' is {what} on every one of the {report.n_samples} "
                       f"samples (scale {o.scale}) while the model's is not")
        elif o.n_int:
            if o.n_int_diff > max_error * o.n_int:
                out.append(f"output '{o.onnx_name}' differs from the model's in {o.n_int_diff} "
                           f"of its {o.n_int} values (the limit is {100 * max_error:g}%)")
        elif o.rel_range > max_error:
            out.append(f"output '{o.onnx_name}' is off by up to {o.max_abs:.3g}, "
                       f"{100 * o.rel_range:.3g}% of its range {o.span:.3g} (the limit is "
                       f"{100 * max_error:g}%)")
    return out


def _worst_layers(layers: list[TensorError], n: int = 3) -> str:
    rel = sorted(layers, key=lambda e: -(e.max_abs / e.max_ref if e.max_ref else 0.0))[:n]
    return ", ".join(f"'{e.onnx_name}' {e.max_abs:.3g} of {e.max_ref:.3g}" for e in rel
                     if e.max_abs > 0)


def _const(graph: Graph, calib: Calibration, name: str) -> np.ndarray | None:
    if name in graph.constants and calib.has(name):
        return calib.value(name)
    return None


def _describe(opts: CompileOptions, n: int) -> str:
    scale = f"scale {opts.scale}" if opts.scale is not None else f"calibrated on {n} samples"
    return (f"{scale}; activations {opts.bits} bits (range-checked, margin {opts.margin:g}x), "
            f"weights {opts.weight_bits} bits; inputs {opts.input_visibility}")


def _declare_input(low: Lowering, name: str, onnx_name: str, shape: tuple[int, ...],
                   opts: CompileOptions) -> tuple[int, float, float]:
    """Declare one input: range = calibrated range rounded out to a power of two."""
    st = low.calib.stats(onnx_name)
    m = max(abs(st.lo), abs(st.hi))
    p2 = 2.0 ** math.ceil(math.log2(m)) if m > 0 else 1.0
    lo = 0.0 if st.lo >= 0 else -p2
    hi = p2 if st.hi > 0 else 0.0
    bits = opts.bits if opts.input_visibility == "public" else min(opts.bits, 16)
    if opts.scale is not None:
        scale = opts.scale
    else:
        scale = math.floor(math.log2((2 ** (bits - 1) - 1) / p2))
        scale = int(min(MAX_ACT_SCALE, max(MIN_ACT_SCALE, scale)))
    qlo, qhi = math.floor(lo * 2.0**scale), math.ceil(hi * 2.0**scale)
    if opts.input_visibility == "private" and qhi - qlo >= 1 << 16:
        raise OnnxCompileError(
            f"private input '{onnx_name}' would span [{qlo}, {qhi}] at scale {scale}, wider than "
            "the 16 bits a private input may take; use a smaller --scale")
    try:
        info = low.b.input(name, shape, fit_bits(qlo, qhi), scale, opts.input_visibility,
                           (qlo, qhi))
    except ZkvmError as e:
        raise OnnxCompileError(f"input '{onnx_name}': {e}") from None
    low.env[onnx_name] = QT(info.name, info.scale)
    return scale, lo, hi


def _declare_outputs(low: Lowering, graph: Graph) -> list[tuple[str, str]]:
    out_map = []
    b = low.b
    for o in graph.outputs:
        if o not in low.env:
            raise OnnxCompileError(f"output '{o}' was not computed (is it produced by a node?)")
        qt = low.env[o]
        info = b.tensors[qt.name]
        name = qt.name
        if info.kind in ("input", "weight", "output"):
            shape = list(info.shape)
            name = b.instruction("reshape", [qt.name], low.fresh(o), {"shape": shape}).name
        b.output(name)
        out_map.append((name, o))
    return out_map


__all__ = ["CompileOptions", "CompileResult", "compile_onnx", "supported_ops", "sanitize"]
