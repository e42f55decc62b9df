"""Assembly text -> :class:`zkvm.isa.Program` (docs/assembly.md)."""

from __future__ import annotations

import os
import zipfile
from typing import Any

import numpy as np

from ..isa.errors import ZkvmError
from ..isa.lut import round_half_up
from ..isa.program import Program
from .builder import POSITIONAL, Builder, known_opcodes
from .parser import AssemblyError, Call, Pos, Stmt, Word, parse


def assemble(text: str, filename: str = "<string>", base_dir: str | None = None,
             salt: list[int] | None = None) -> Program:
    """Assemble source text into a validated program.

    Args:
        text: the ``.zasm`` source.
        filename: shown in error messages.
        base_dir: folder that ``file("...")`` paths are relative to (default:
            the folder of ``filename``, or the current folder).
        salt: the model commitment's salt when weights are ``hashed`` (random
            when None; give one only for reproducible tests).

    Raises:
        AssemblyError: ``FILE:LINE:COL: error: ...`` for any malformed or refused program.
    """
    if base_dir is None:
        base_dir = os.path.dirname(filename) if os.path.exists(filename) else "."
    b = Builder()
    for st in parse(text, filename):
        try:
            _statement(b, st, base_dir)
        except AssemblyError:
            raise
        except ZkvmError as e:
            raise AssemblyError(f"{st.pos}: error: {e}") from None
    try:
        return b.build(salt=salt)
    except ZkvmError as e:
        raise AssemblyError(f"{filename}: error: {e}") from None


def assemble_file(path: str) -> Program:
    """Assemble a ``.zasm`` file (``file(...)`` paths relative to its folder)."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise AssemblyError(f"{path}: error: cannot read assembly source ({e})") from None
    return assemble(text, path, os.path.dirname(os.path.abspath(path)))


def _statement(b: Builder, st: Stmt, base_dir: str) -> None:
    if st.kind == "meta":
        b.meta(st.name, st.value)
    elif st.kind == "input":
        b.input(st.name, st.shape, st.bits, st.scale, st.visibility or "public", st.value_range)
    elif st.kind == "weight":
        values = _weight_values(st, base_dir)
        b.weight(st.name, values, st.bits, st.scale, st.shape, st.visibility or "public")
    elif st.kind == "output":
        for n, vis in zip(st.names, st.visibilities):
            b.output(n, visibility=vis or "public")
    else:
        _instruction(b, st)


def _instruction(b: Builder, st: Stmt) -> None:
    if st.opcode not in known_opcodes():
        raise AssemblyError(
            f"{st.opcode_pos}: error: unknown opcode '{st.opcode}' "
            f"(expected one of: {', '.join(known_opcodes())})"
        )
    tensors: list[str] = []
    params: dict[str, Any] = {}
    extra = list(POSITIONAL.get(st.opcode, []))
    for value, pos in st.args:
        if isinstance(value, Word) and not params:
            if value.name not in b.tensors:
                raise AssemblyError(f"{pos}: error: '{value.name}' is not defined "
                                    "(define it on an earlier line)")
            tensors.append(value.name)
        elif extra:
            params[extra.pop(0)] = _plain(value, pos)
        else:
            raise AssemblyError(f"{pos}: error: expected a tensor name or a keyword argument "
                                f"(key=value) for {st.opcode}")
    for key, (value, pos) in st.kwargs.items():
        if key in params:
            raise AssemblyError(f"{pos}: error: '{key}' given both by position and by keyword")
        params[key] = _plain(value, pos)
    b.emit(st.opcode, tensors, st.name, params, st.bits)


def _plain(v: Any, pos: Pos) -> Any:
    if isinstance(v, Word):
        return v.name
    if isinstance(v, list):
        return [_plain(x, pos) for x in v]
    if isinstance(v, Call):
        raise AssemblyError(f"{pos}: error: {v.fn}(...) is only allowed in weight declarations")
    return v


def _weight_values(st: Stmt, base_dir: str) -> np.ndarray:
    v = st.value
    if isinstance(v, Call) and v.fn == "quantize":
        raw = _load(v.arg, st, base_dir, floats=True) * 2.0**st.scale
        if raw.size and not (np.all(np.isfinite(raw)) and np.abs(raw).max() < 2.0**62):
            raise AssemblyError(f"{st.pos}: error: weight '{st.name}' has a value that is not "
                                f"finite or too large at scale {st.scale}")
        return round_half_up(raw)
    arr = _load(v, st, base_dir, floats=False)
    if arr.dtype.kind not in "iub":
        raise AssemblyError(
            f"{st.pos}: error: weight '{st.name}' holds non-integers; weights are integers at "
            f"scale {st.scale} (write quantize(...) to quantize floats)"
        )
    return arr


def _load(v: Any, st: Stmt, base_dir: str, floats: bool) -> np.ndarray:
    if isinstance(v, Call):
        if v.fn != "file" or not isinstance(v.arg, str):
            raise AssemblyError(f"{v.pos}: error: expected file(\"name.npz:key\") or a list")
        return _load_file(v.arg, v.pos, base_dir)
    if isinstance(v, bool) or not isinstance(v, (list, int, float)):
        raise AssemblyError(f"{st.pos}: error: expected a list of values for weight '{st.name}'")
    try:
        arr = np.array(_plain(v, st.pos))
    except ValueError:
        raise AssemblyError(f"{st.pos}: error: weight '{st.name}': nested lists are ragged") from None
    if arr.dtype.kind == "f" and not floats:
        raise AssemblyError(
            f"{st.pos}: error: weight '{st.name}' holds floats; weights are integers at scale "
            f"{st.scale} (wrap the list in quantize(...) to quantize floats)"
        )
    if arr.dtype.kind not in "iubf" and arr.size:
        raise AssemblyError(f"{st.pos}: error: weight '{st.name}' must hold numbers")
    return arr.astype(np.float64) if floats else arr


def _load_file(spec: str, pos: Pos, base_dir: str) -> np.ndarray:
    path, _, key = spec.partition(":")
    full = os.path.join(base_dir, path)
    if not os.path.exists(full):
        raise AssemblyError(f"{pos}: error: weights file '{path}' not found (looked in {base_dir})")
    try:
        data = np.load(full, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile) as e:
        raise AssemblyError(f"{pos}: error: cannot read weights file '{path}': {e}") from None
    if isinstance(data, np.lib.npyio.NpzFile):
        with data:
            if not key:
                raise AssemblyError(f"{pos}: error: '{path}' is an .npz: name the array as "
                                    f"\"{path}:NAME\" (it holds {', '.join(data.files)})")
            if key not in data.files:
                raise AssemblyError(f"{pos}: error: '{path}' has no array '{key}' "
                                    f"(it holds {', '.join(data.files)})")
            return np.asarray(data[key])
    if key:
        raise AssemblyError(f"{pos}: error: '{path}' is an .npy file; drop ':{key}'")
    return np.asarray(data)
