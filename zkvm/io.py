"""Inputs and outputs as users write them: JSON of floats, EZKL layout, .npy/.npz.

Accepted input files (values are *real numbers*, quantized with the input's
scale by round-half-up, ``q = floor(v·2^s + 1/2)``, then range-checked):

* JSON ``{"input_data": [[...], ...]}`` (EZKL): one flat list per input, in the
  program's declaration order;
* JSON ``{"NAME": nested list, ...}`` (an optional top-level ``"inputs"`` key
  holding that dict is accepted too);
* JSON nested list, for a program with a single input;
* ``.npy``: one array, for a program with a single input;
* ``.npz``: arrays by input name.

Outputs are written as JSON ``{"outputs": {NAME: {"shape", "scale", "values"
(floats), "integers"}}, "output_data": [[flat floats], ...]}``.
"""

from __future__ import annotations

import json
import os
import zipfile
from typing import Any

import numpy as np

from .isa.errors import InputError
from .isa.lut import round_half_up
from .isa.program import Program


def quantize(values: Any, scale: int) -> np.ndarray:
    """Real values -> int64 at ``scale`` with round half up."""
    arr = np.asarray(values, dtype=np.float64) * 2.0**scale
    if not np.all(np.isfinite(arr)):
        raise InputError("inputs must be finite numbers (found NaN or infinity)")
    if arr.size and np.abs(arr).max() >= 2.0**62:
        raise InputError(f"value {np.abs(arr).max() / 2.0**scale:g} is far too large")
    return round_half_up(arr)


def read_real_inputs(path: str, program: Program) -> dict[str, np.ndarray]:
    """Read an input file into real-valued float64 arrays by input name.

    Raises:
        InputError: unreadable file, unknown layout, missing/unknown input,
            non-numeric values or wrong shape.
    """
    raw = read_raw_arrays(path, [t.name for t in program.inputs])
    return _shape_inputs(raw, program, path)


def read_raw_arrays(path: str, names: list[str], what: str = "input file",
                    error: type[Exception] = InputError, taker: str = "program") -> dict[str, Any]:
    """Arrays by input name as a file stores them (not yet shaped or quantized).

    Layouts: ``.npz`` (one array per name), ``.npy`` (a single input), JSON as
    ``{"name": [...]}``, ``{"inputs": {...}}``, EZKL's ``{"input_data": [[...], ...]}``
    (one flat list per input, in order) or a bare list (a single input).
    Shared by ``zkvm run`` and the ONNX compiler's calibration samples.

    Raises:
        ``error``: file missing or unreadable, or a layout that does not fit ``names``.
    """
    if not os.path.exists(path):
        raise error(f"{what} '{path}' not found")
    if path.endswith((".npy", ".npz")):
        try:
            data = np.load(path, allow_pickle=False)
        except (OSError, ValueError, zipfile.BadZipFile) as e:
            raise error(f"cannot read {what} '{path}': {e}") from None
        if isinstance(data, np.lib.npyio.NpzFile):
            with data:
                return {k: data[k] for k in data.files}
        return _single(names, data, path, error, taker)
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise error(f"cannot read {what} '{path}' as JSON: {e}") from None
    if isinstance(doc, dict) and "input_data" in doc:
        data = doc["input_data"]
        if not isinstance(data, list) or len(data) != len(names):
            n = len(data) if isinstance(data, list) else "no"
            raise error(
                f"{path}: input_data holds {n} lists but the {taker} takes {len(names)} inputs "
                f"({', '.join(names)}), one flat list each, in this order")
        return dict(zip(names, data))
    if isinstance(doc, dict) and isinstance(doc.get("inputs"), dict):
        doc = doc["inputs"]
    if isinstance(doc, dict):
        return doc
    if isinstance(doc, list):
        return _single(names, doc, path, error, taker)
    raise error(f"{path}: expected a JSON object or a list of numbers")


def _single(names: list[str], value: Any, path: str, error: type[Exception],
            taker: str) -> dict[str, Any]:
    if len(names) != 1:
        raise error(
            f"{path} holds one array but the {taker} takes {len(names)} inputs "
            f"({', '.join(names)}); use .npz, {{\"name\": [...]}} or {{\"input_data\": [...]}}")
    return {names[0]: value}


def _shape_inputs(raw: dict[str, Any], program: Program, path: str) -> dict[str, np.ndarray]:
    out = {}
    names = [t.name for t in program.inputs]
    extra = sorted(set(raw) - set(names))
    if extra:
        raise InputError(f"{path}: unknown input(s) {', '.join(extra)} "
                         f"(the program takes: {', '.join(names)})")
    for t in program.inputs:
        if t.name not in raw:
            raise InputError(f"{path}: missing input '{t.name}' (shape {list(t.shape)})")
        try:
            arr = np.asarray(raw[t.name], dtype=np.float64)
        except (TypeError, ValueError):
            raise InputError(f"{path}: input '{t.name}' must be a (nested) list of numbers") from None
        if arr.shape != t.shape:
            if arr.size == t.size and arr.ndim <= 1:
                arr = arr.reshape(t.shape)
            else:
                raise InputError(f"{path}: input '{t.name}' has shape {list(arr.shape)} but the "
                                 f"program expects {list(t.shape)}")
        out[t.name] = arr
    return out


def quantize_inputs(real: dict[str, np.ndarray], program: Program) -> dict[str, np.ndarray]:
    """Quantize real inputs with each input's scale and check the declared range."""
    out = {}
    for t in program.inputs:
        try:
            q = quantize(real[t.name], t.scale)
        except InputError as e:
            raise InputError(f"input '{t.name}': {e}") from None
        if q.size and (q.min() < t.lo or q.max() > t.hi):
            bad = int(q.min()) if q.min() < t.lo else int(q.max())
            raise InputError(
                f"input '{t.name}': value {bad / 2.0 ** t.scale:g} (integer {bad} at scale "
                f"{t.scale}) is outside the declared range [{t.lo / 2.0 ** t.scale:g}, "
                f"{t.hi / 2.0 ** t.scale:g}]"
            )
        out[t.name] = q
    return out


def load_inputs(path: str, program: Program) -> dict[str, np.ndarray]:
    """Read an input file and quantize it: int64 arrays ready for ``execute``."""
    return quantize_inputs(read_real_inputs(path, program), program)


def outputs_json(program: Program, values: dict[str, np.ndarray]) -> dict[str, Any]:
    """JSON-ready outputs: floats, integers and scales, plus EZKL-style output_data."""
    outs = {}
    flat = []
    for n in program.outputs:
        t, v = program.tensors[n], np.asarray(values[n])
        real = v.astype(np.float64) / 2.0**t.scale
        outs[n] = {"shape": list(t.shape), "scale": t.scale, "values": real.tolist(),
                   "integers": v.astype(np.int64).tolist()}
        flat.append(real.ravel().tolist())
    return {"outputs": outs, "output_data": flat}


def write_outputs(path: str, program: Program, values: dict[str, np.ndarray]) -> None:
    """Write :func:`outputs_json` to ``path``."""
    with open(path, "w", encoding="utf-8") as f:
        json.dump(outputs_json(program, values), f)
        f.write("\n")
