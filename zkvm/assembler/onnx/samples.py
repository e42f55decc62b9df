"""Calibration samples: reading them, and fixing the model's dynamic dimensions from them.

Accepted files (real numbers, like ``zkvm run`` inputs; see docs/onnx.md):

* JSON ``{"input_data": [[...], ...]}`` (EZKL): one flat list per model input,
  in the model's input order; a list may hold several samples back to back;
* JSON ``{"NAME": nested list, ...}`` (or under a top-level ``"inputs"`` key),
  or a bare nested list for a single-input model;
* ``.npy`` (single-input model) or ``.npz`` (arrays by input name).

An array holds one sample, or several stacked on a new first axis (or
flattened back to back when the input's shape is static). A symbolic first
dimension is the batch: the program is compiled for ``batch`` (default 1).
Other symbolic dimensions take their size from the samples, which must then
keep their shape (nested lists or ``.npy``, not flat lists).
"""

from __future__ import annotations

import math

import numpy as np

from .errors import OnnxCompileError
from .graph import InputInfo, shape_str

#: Random samples used when no calibration file is given.
DEFAULT_N_SAMPLES = 8


def read_sample_file(path: str, inputs: list[InputInfo]) -> dict[str, np.ndarray]:
    """Raw float64 arrays by input name, as stored in ``path``.

    Raises:
        OnnxCompileError: unreadable file, unknown layout, missing or unknown input.
    """
    from zkvm.io import read_raw_arrays

    names = [i.name for i in inputs]
    raw = read_raw_arrays(path, names, "calibration file", OnnxCompileError, "model")
    extra = sorted(set(raw) - set(names))
    if extra:
        raise OnnxCompileError(f"{path}: unknown input(s) {', '.join(extra)} "
                               f"(the model takes: {', '.join(names)})")
    out = {}
    for n in names:
        if n not in raw:
            raise OnnxCompileError(f"{path}: no samples for input '{n}'")
        try:
            arr = np.asarray(raw[n], dtype=np.float64)
        except (TypeError, ValueError):
            raise OnnxCompileError(
                f"{path}: input '{n}' must be a (nested) list of numbers") from None
        if not np.all(np.isfinite(arr)):
            raise OnnxCompileError(f"{path}: input '{n}' holds NaN or infinite values")
        out[n] = arr
    return out


def resolve_shapes(inputs: list[InputInfo], raw: dict[str, np.ndarray] | None, batch: int = 1
                   ) -> tuple[dict[str, tuple[int, ...]], dict[str, np.ndarray], list[str]]:
    """Fix every input's shape and split the samples.

    Args:
        inputs: the model's inputs.
        raw: arrays by input name (``None``: make random samples, shapes must be static).
        batch: size given to a symbolic first dimension.

    Returns:
        ``(shapes, samples, notes)``: the program's input shapes, float64 samples
        ``[n, *shape]`` by name (the same ``n`` for every input), and notes for the user.

    Raises:
        OnnxCompileError: a dynamic dimension that the samples do not fix, or
            samples that do not fit the input's shape.
    """
    shapes, samples, notes = {}, {}, []
    for inp in inputs:
        dims = list(inp.dims)
        if dims and not isinstance(dims[0], int):
            dims[0] = batch
            notes.append(f"input '{inp.name}': dynamic first dimension "
                         f"'{inp.dims[0] or '?'}' compiled as batch {batch}")
        dynamic = [i for i, d in enumerate(dims) if not isinstance(d, int)]
        if raw is None:
            if dynamic:
                raise OnnxCompileError(
                    f"input '{inp.name}' has the dynamic shape {shape_str(inp.dims)}; give "
                    "calibration samples with --calibrate (their shape fixes it) or export the "
                    "model with a static shape")
            shapes[inp.name] = tuple(dims)
            continue
        arr = raw[inp.name]
        if dynamic:
            rank = len(dims)
            if arr.ndim == rank + 1:
                one = arr.shape[1:]
            elif arr.ndim == rank:
                one = arr.shape if isinstance(inp.dims[0], int) else (batch,) + arr.shape[1:]
            else:
                raise OnnxCompileError(
                    f"input '{inp.name}' has the dynamic shape {shape_str(inp.dims)}; its samples "
                    f"must keep that rank (one sample of rank {rank}, or several stacked on a new "
                    f"first axis), got an array of shape {list(arr.shape)}; flat lists cannot "
                    "fix a dynamic dimension")
            for i in dynamic:
                dims[i] = int(one[i])
            for i, d in enumerate(dims):
                if d != one[i]:
                    raise OnnxCompileError(
                        f"input '{inp.name}': samples have shape {list(one)} but the model "
                        f"declares {shape_str(inp.dims)}")
            notes.append(f"input '{inp.name}': dynamic shape {shape_str(inp.dims)} compiled as "
                         f"{list(dims)} (from the calibration samples)")
        per = math.prod(dims)
        if per == 0 or arr.size % per:
            raise OnnxCompileError(
                f"input '{inp.name}' has shape {list(dims)} ({per} values) but its samples hold "
                f"{arr.size} values, not a whole number of samples")
        shapes[inp.name] = tuple(dims)
        samples[inp.name] = arr.reshape((arr.size // per,) + tuple(dims))
    if raw is None:
        rng = np.random.default_rng(0)
        samples = {n: rng.uniform(-1.0, 1.0, (DEFAULT_N_SAMPLES,) + s) for n, s in shapes.items()}
        notes.append(f"no calibration samples: scales and input ranges come from "
                     f"{DEFAULT_N_SAMPLES} random inputs uniform in [-1, 1]; pass --calibrate "
                     "with real inputs for a faithful quantization")
    counts = {n: len(v) for n, v in samples.items()}
    if len(set(counts.values())) > 1:
        raise OnnxCompileError("the calibration file holds different numbers of samples per "
                               f"input ({', '.join(f'{k}: {v}' for k, v in counts.items())})")
    return shapes, samples, notes
