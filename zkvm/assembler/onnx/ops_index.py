"""Integer inputs (token ids) and the data-dependent ``Gather`` that reads them (embeddings).

A language model exported by PyTorch takes ``input_ids: int64[batch, seq]`` and
starts with ``Gather(wte, input_ids)``: row ``id`` of a constant embedding
matrix ``[V, d]``. The ids are an input (public or private), so the rows read
depend on the input's *values*: no address map can express it. zkvm proves it
as a lookup into the matrix itself:

* the id input is declared at scale 0 with the range ``[0, V-1]`` (``zkvm run``
  refuses other ids; ``V`` is the smallest table any of its Gathers reads);
* the matrix, quantized like a weight (scale ``s`` = the largest that fits
  ``--weight-bits``), is cut into groups of ``g`` columns with ``V·g ≤ 2^20``;
  group ``G`` is one ``lut fn=table`` (docs/isa.md ``lut``) whose entry
  ``id·g + j`` is ``W[id, G·g + j]``;
* per token, ``key = id·g + [0, 1, ..., g-1]`` (one ``mul`` by the constant
  ``g`` per token, one broadcast ``add`` per element) and ``y = lut key``.

Cost, for ``T`` tokens and a ``[V, d]`` matrix: ``T·d`` lut rows, and for
each distinct group width ``g`` (at most two) ``T·g`` add rows and ``T`` mul
rows (the key is shared by every group of that width), plus ``V·d`` preprocessed table rows
(the matrix itself, committed once in the verifying key). A one-hot matmul
would cost ``T·V·d`` multiply-accumulates instead. The instructions are the
same whether the ids are public or private (a private id is range-checked to
``[0, V-1]`` by the input chip and looked up on the bus; with the proof
zero-knowledge, nothing reveals which row was read).

The ids may pass through views (``Reshape``, ``Unsqueeze``, ``Squeeze``,
``Flatten``, ``Identity``, a ``Cast`` to int32/int64) and feed ``Shape`` (constant).
Any other use of an integer input (arithmetic on ids, an id as an output) is
refused with a message naming the node. Indices computed inside the model by
``ArgMax`` (scale 0, bounded by its axis) are looked up the same way.
"""

from __future__ import annotations

import math

import numpy as np

from ...isa.errors import ZkvmError
from ...isa.lut import MAX_TABLE, TABLE_FN, round_half_up
from .errors import OnnxCompileError
from .graph import INT_TYPES, SHAPE_OPS, Graph
from .lower import QT, CompileOptions, Lowering, fit_bits, weight_scale
from .ops_linear import _reshape

#: ops an id tensor may pass through on its way to a Gather (views; Cast to an integer type)
ID_VIEWS = ("Reshape", "Unsqueeze", "Squeeze", "Flatten", "Identity", "Cast")
#: ONNX element types int32, int64
INT_CASTS = (6, 7)


def is_index_input(dtype: str) -> bool:
    """Whether an input of this element type is an index (token id) input."""
    return dtype in INT_TYPES.values()


def id_rows(graph: Graph, shape_of, name: str) -> int:
    """``V``: the number of rows of the smallest table that the integer input ``name`` indexes.

    Raises:
        OnnxCompileError: the ids are used otherwise than as Gather indices (through views).
    """
    cons = graph.consumers()
    rows: int | None = None
    todo, seen = [name], set()
    while todo:
        t = todo.pop()
        if t in seen:
            continue
        seen.add(t)
        if t in graph.outputs:
            raise OnnxCompileError(
                f"integer input '{name}' reaches the output '{t}'; token ids may only index a "
                "Gather (an embedding), not be outputs")
        for n in cons.get(t, []):
            if n.op in SHAPE_OPS:
                continue
            if n.op in ID_VIEWS and n.inputs[0] == t and \
                    (n.op != "Cast" or int(n.attrs.get("to", 0)) in INT_CASTS):
                todo.extend(o for o in n.outputs[:1] if o)
                continue
            if n.op == "Gather" and n.inputs[1] == t and n.inputs[0] != t and \
                    n.inputs[0] in graph.constants:
                shape = shape_of(n.inputs[0])
                axis = int(n.attrs.get("axis", 0)) % max(len(shape), 1)
                rows = shape[axis] if rows is None else min(rows, shape[axis])
                continue
            raise OnnxCompileError(
                f"integer input '{name}' is read by {n.where}: integer inputs (token ids) are "
                "compiled only as the indices of a Gather on a constant table (an embedding), "
                f"possibly through {', '.join(ID_VIEWS)}; compute anything else from ids "
                "outside the model, or give embeddings as a float input (an attention_mask "
                "input: export without it, a causal model's mask is built inside)")
    if rows is None:
        raise OnnxCompileError(f"integer input '{name}' is not read by any Gather; zkvm compiles "
                               "integer inputs only as token ids of an embedding")
    if rows < 1:
        raise OnnxCompileError(f"integer input '{name}' indexes an empty table")
    return int(rows)


def check_id_samples(graph: Graph, samples: dict[str, np.ndarray], given: bool = True) -> None:
    """Refuse calibration samples of id inputs that are not ids, before any evaluation.

    Raises:
        OnnxCompileError: non-integer, negative, or (for a table stored as an
            initializer) too large ids, naming the input and the valid range.
    """
    for inp in graph.inputs:
        if not is_index_input(inp.dtype) or inp.name not in samples:
            continue
        if not given:
            raise OnnxCompileError(
                f"input '{inp.name}' takes token ids: give calibration samples (--calibrate, "
                "real ids), random numbers are no ids")

        def shape_of(t: str) -> tuple[int, ...]:
            return graph.initializers[t] if t in graph.initializers else (1 << 62,)

        v = id_rows(graph, shape_of, inp.name)
        x = np.asarray(samples[inp.name], dtype=np.float64)
        if x.size and (not np.array_equal(x, np.round(x)) or x.min() < 0 or x.max() > v - 1):
            top = f"{v - 1}" if v < 1 << 62 else "V-1"
            raise OnnxCompileError(
                f"input '{inp.name}': the calibration samples must be token ids, integers in "
                f"[0, {top}] (rows of the embedding); got values in [{x.min():g}, {x.max():g}]")


def declare_ids(low: Lowering, name: str, onnx_name: str, shape: tuple[int, ...],
                opts: CompileOptions) -> tuple[int, float, float]:
    """Declare a token-id input: scale 0, range ``[0, V-1]`` (checked against the samples)."""
    v = id_rows(low.g, low.calib.shape, onnx_name)
    samples = np.asarray(low.calib.samples[onnx_name], dtype=np.float64)
    if samples.size and (not np.array_equal(samples, np.round(samples))
                         or samples.min() < 0 or samples.max() > v - 1):
        raise OnnxCompileError(
            f"input '{onnx_name}': the calibration samples must be token ids, integers in "
            f"[0, {v - 1}] (the embedding has {v} rows); got values in "
            f"[{samples.min():g}, {samples.max():g}]")
    if opts.input_visibility == "private" and v > 1 << 16:
        raise OnnxCompileError(f"private input '{onnx_name}': ids up to {v - 1} do not fit the "
                               "16 bits a private input may take")
    try:
        info = low.b.input(name, shape, fit_bits(0, v - 1), 0, opts.input_visibility, (0, v - 1))
    except ZkvmError as e:
        raise OnnxCompileError(f"input '{onnx_name}': {e}") from None
    low.env[onnx_name] = QT(info.name, 0)
    return 0, 0.0, float(v - 1)


def gather_rows(c: Lowering, table: np.ndarray, ids: QT, axis: int, out_shape: tuple[int, ...]
                ) -> QT:
    """``Gather(table, ids)`` along ``axis`` 0 with ids from the input: lut lookups (module doc)."""
    if axis % max(table.ndim, 1) != 0:
        raise c.unsupported("a Gather of input-dependent indices along an axis other than 0 "
                            "(only embedding lookups, rows of a constant table, are compiled)")
    if ids.scale != 0:
        raise c.unsupported("input-dependent indices that are not token ids (an integer input); "
                            "a Gather indexed by computed values is not supported")
    v = table.shape[0]
    lo, hi = c.iv(ids)
    if lo < 0 or hi > v - 1:
        raise c.error(f"the ids range over [{lo}, {hi}] but the table has {v} rows")
    if not np.all(np.isfinite(table)):
        raise c.error("the table holds NaN or infinite values")
    d = math.prod(table.shape[1:])
    w = table.reshape(v, d).astype(np.float64)
    s = weight_scale(w, c.opts.weight_bits)
    q = round_half_up(w * 2.0**s)
    t = math.prod(c.pshape(ids))
    col = _reshape(c, ids, (t, 1), c.out_name("ids"))
    g = max(1, min(d, MAX_TABLE // v))
    parts, keys = [], {}   # the key id * dg + j depends on the group width alone: one per width
    for j0 in range(0, d, g):
        dg = min(g, d - j0)
        tab = np.ascontiguousarray(q[:, j0:j0 + dg]).reshape(-1)
        if dg not in keys:
            keys[dg] = col
            if dg > 1:
                k = c.emit("mul", [col, c.weight(np.array(float(dg)), f"ids_x{dg}", scale=0)],
                           c.out_name(f"k{dg}"))
                keys[dg] = c.emit("add", [k, c.weight(np.arange(dg, dtype=np.float64)[None, :],
                                                      f"cols{dg}", scale=0)], c.out_name(f"key{dg}"))
        key = keys[dg]
        parts.append(c.emit("lut", [key], c.out_name(f"emb{j0}"),
                            {"fn": TABLE_FN, "range": [0, v * dg - 1], "scale": s,
                             "table": tab}))
    y = parts[0] if len(parts) == 1 else c.emit("concat", parts, c.out_name("cat"), {"axis": 1})
    return _reshape(c, y, out_shape, c.out_name())
