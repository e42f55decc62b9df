"""Opcodes: arity, attribute normalisation, shape and scale rules, address maps.

The integer semantics each opcode computes are specified in docs/isa.md and
implemented by the VM (``zkvm.runtime``); this module holds what the program
itself fixes: which operands an opcode takes, its (normalised) attributes, the
shape and scale of its result, and, for view opcodes, the address map.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .errors import IsaError, ShapeError
from .tensor import TensorInfo

Attrs = dict[str, Any]


@dataclass(frozen=True)
class OpSpec:
    """What the program fixes about one opcode.

    Attributes:
        name: the opcode.
        arity: (min, max) number of tensor operands (max None = unbounded).
        view: True for address maps (no rows, no event).
        normalize: (inputs, attrs) -> canonical attrs, raising on bad ones.
        infer: (inputs, attrs) -> (shape, scale) of the result.
        addr: for views, (source address arrays, attrs) -> address array.
    """

    name: str
    arity: tuple[int, int | None]
    view: bool
    normalize: Callable[[list[TensorInfo], Attrs], Attrs]
    infer: Callable[[list[TensorInfo], Attrs], tuple[tuple[int, ...], int]]
    addr: Callable[[list[np.ndarray], Attrs], np.ndarray] | None = None


def _int(a: Attrs, key: str, default: Any = None, lo: int | None = None) -> int:
    v = a.get(key, default)
    if v is None:
        raise IsaError(f"missing attribute '{key}'")
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise IsaError(f"attribute '{key}' must be an integer, got {v!r}")
    v = int(v)
    if lo is not None and v < lo:
        raise IsaError(f"attribute '{key}' must be >= {lo}, got {v}")
    return v


def _ints(a: Attrs, key: str, default: Any = None, n: int | None = None) -> list[int]:
    v = a.get(key, default)
    if v is None:
        raise IsaError(f"missing attribute '{key}'")
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
        v = [int(v)]
    if not isinstance(v, (list, tuple)) or not all(
        isinstance(x, (int, np.integer)) and not isinstance(x, bool) for x in v
    ):
        raise IsaError(f"attribute '{key}' must be a list of integers, got {v!r}")
    if n is not None and len(v) != n:
        raise IsaError(f"attribute '{key}' must have {n} entries, got {len(v)}")
    return [int(x) for x in v]


def _bool(a: Attrs, key: str, default: bool = False) -> bool:
    v = a.get(key, default)
    if not isinstance(v, (bool, np.bool_)):
        raise IsaError(f"attribute '{key}' must be true or false, got {v!r}")
    return bool(v)


def _axis(ax: int, rank: int) -> int:
    if not -rank <= ax < rank:
        raise ShapeError(f"axis {ax} is out of range for a tensor of rank {rank}")
    return ax % rank


def _only(a: Attrs, *keys: str) -> None:
    extra = sorted(set(a) - set(keys))
    if extra:
        allowed = ", ".join(keys) if keys else "none"
        raise IsaError(f"unknown attribute(s) {', '.join(extra)} (allowed: {allowed})")


def broadcast_shape(*shapes: tuple[int, ...]) -> tuple[int, ...]:
    """numpy broadcasting of shapes, with a readable error."""
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        raise ShapeError(
            "shapes " + " and ".join(_fmt(s) for s in shapes) + " do not broadcast"
        ) from None


#: Largest number of elements one tensor (or view) may have.
MAX_ELEMENTS = 1 << 26


def check_size(shape: Any) -> None:
    """Refuse shapes whose element count exceeds :data:`MAX_ELEMENTS`."""
    n = 1
    for d in shape:
        n *= int(d)
    if n > MAX_ELEMENTS:
        raise ShapeError(f"shape {_fmt(tuple(shape))} has {n} elements (at most {MAX_ELEMENTS})")


def _fmt(shape: tuple[int, ...]) -> str:
    return "[" + ",".join(map(str, shape)) + "]"


def _same_scale(ins: list[TensorInfo], what: str) -> int:
    scales = {t.scale for t in ins}
    if len(scales) != 1:
        desc = ", ".join(f"{t.name} has scale {t.scale}" for t in ins)
        raise ShapeError(f"{what} needs operands of equal scale ({desc}); rescale one first")
    return ins[0].scale


# ---------------------------------------------------------------- compute ops


def _norm_none(ins: list[TensorInfo], a: Attrs) -> Attrs:
    _only(a)
    return {}


def _infer_matmul(ins: list[TensorInfo], a: Attrs) -> tuple[tuple[int, ...], int]:
    x, w = ins[0], ins[1]
    if len(x.shape) < 1 or len(w.shape) != 2:
        raise ShapeError(
            f"matmul needs x of rank >= 1 and w of rank 2, got {x.name}{_fmt(x.shape)} "
            f"and {w.name}{_fmt(w.shape)}"
        )
    if x.shape[-1] != w.shape[0]:
        raise ShapeError(
            f"shapes {_fmt(x.shape)} and {_fmt(w.shape)} do not agree "
            f"({x.name}'s last axis {x.shape[-1]} != {w.name}'s first axis {w.shape[0]})"
        )
    shape = x.shape[:-1] + (w.shape[1],)
    scale = x.scale + w.scale
    if len(ins) == 3:
        b = ins[2]
        if broadcast_shape(shape, b.shape) != shape:
            raise ShapeError(f"bias {b.name}{_fmt(b.shape)} does not broadcast to {_fmt(shape)}")
        if b.scale != scale:
            raise ShapeError(
                f"bias {b.name} has scale {b.scale} but x·w has scale {scale} "
                f"({x.scale} + {w.scale}); store the bias at scale {scale}"
            )
    return shape, scale


def _infer_add(ins: list[TensorInfo], a: Attrs) -> tuple[tuple[int, ...], int]:
    scale = _same_scale(ins, "add/sub")
    return broadcast_shape(ins[0].shape, ins[1].shape), scale


def _infer_mul(ins: list[TensorInfo], a: Attrs) -> tuple[tuple[int, ...], int]:
    return broadcast_shape(ins[0].shape, ins[1].shape), ins[0].scale + ins[1].scale


def _norm_reduce(ins: list[TensorInfo], a: Attrs) -> Attrs:
    _only(a, "axes", "keepdims")
    rank = len(ins[0].shape)
    axes = sorted({_axis(x, rank) for x in _ints(a, "axes", list(range(rank)))})
    if not axes:
        raise IsaError("'axes' must name at least one axis")
    return {"axes": axes, "keepdims": _bool(a, "keepdims")}


def _reduced_shape(shape: tuple[int, ...], axes: list[int], keep: bool) -> tuple[int, ...]:
    if keep:
        return tuple(1 if i in axes else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in axes)


def _infer_reduce(ins: list[TensorInfo], a: Attrs) -> tuple[tuple[int, ...], int]:
    if any(ins[0].shape[i] == 0 for i in a["axes"]):
        raise ShapeError("cannot reduce over an empty axis")
    return _reduced_shape(ins[0].shape, a["axes"], a["keepdims"]), ins[0].scale


def _norm_argmax(ins: list[TensorInfo], a: Attrs) -> Attrs:
    _only(a, "axis", "keepdims")
    rank = len(ins[0].shape)
    if rank == 0:
        raise ShapeError("argmax needs a tensor of rank >= 1")
    return {"axis": _axis(_int(a, "axis", -1), rank), "keepdims": _bool(a, "keepdims")}


def _infer_argmax(ins: list[TensorInfo], a: Attrs) -> tuple[tuple[int, ...], int]:
    return _reduced_shape(ins[0].shape, [a["axis"]], a["keepdims"]), 0


def _norm_rescale(ins: list[TensorInfo], a: Attrs) -> Attrs:
    _only(a, "k")
    return {"k": _int(a, "k", lo=1)}


def _infer_rescale(ins: list[TensorInfo], a: Attrs) -> tuple[tuple[int, ...], int]:
    if a["k"] > 62:
        raise IsaError("rescale shift k must be <= 62")
    return ins[0].shape, ins[0].scale - a["k"]


def _norm_div(ins: list[TensorInfo], a: Attrs) -> Attrs:
    _only(a, "d")
    d = _int(a, "d", lo=1)
    if d >= 1 << 62:
        raise IsaError("divisor d must be < 2^62")
    return {"d": d}


def _same(ins: list[TensorInfo], a: Attrs) -> tuple[tuple[int, ...], int]:
    return ins[0].shape, ins[0].scale


def _norm_lut(ins: list[TensorInfo], a: Attrs) -> Attrs:
    from .lut import LUT_FUNCTIONS

    _only(a, "fn", "lo", "hi", "table", "eps", "scale")
    fn = a.get("fn")
    if fn not in LUT_FUNCTIONS:
        raise IsaError(f"lut fn={fn!r} is unknown (expected one of: {', '.join(LUT_FUNCTIONS)})")
    lo, hi = _int(a, "lo"), _int(a, "hi")
    if lo > hi:
        raise IsaError(f"lut range [{lo}, {hi}] is empty")
    table = np.asarray(a.get("table"))
    if table.dtype.kind not in "iu" or table.shape != (hi - lo + 1,):
        raise IsaError(f"lut table must hold {hi - lo + 1} integers (one per input in range)")
    out = {"fn": fn, "lo": lo, "hi": hi, "table": table.astype(np.int64)}
    if "eps" in a:
        out["eps"] = float(a["eps"])
    out["scale"] = _int(a, "scale")
    if abs(out["scale"]) > 62:
        raise IsaError("lut scale must lie in [-62, 62]")
    return out


def _infer_lut(ins: list[TensorInfo], a: Attrs) -> tuple[tuple[int, ...], int]:
    return ins[0].shape, a["scale"]


# ------------------------------------------------------------------- views


def _norm_reshape(ins: list[TensorInfo], a: Attrs) -> Attrs:
    _only(a, "shape")
    shape = _ints(a, "shape")
    size = ins[0].size
    if shape.count(-1) > 1 or any(d < -1 for d in shape):
        raise ShapeError(f"reshape target {shape} may hold at most one -1 and no other negative")
    if -1 in shape:
        rest = int(np.prod([d for d in shape if d != -1]))
        if rest == 0 or size % rest:
            raise ShapeError(f"cannot reshape {_fmt(ins[0].shape)} to {shape}")
        shape[shape.index(-1)] = size // rest
    if int(np.prod(shape)) != size:
        raise ShapeError(f"cannot reshape {_fmt(ins[0].shape)} ({size} elements) to {_fmt(shape)}")
    return {"shape": shape}


def _norm_transpose(ins: list[TensorInfo], a: Attrs) -> Attrs:
    _only(a, "perm")
    rank = len(ins[0].shape)
    perm = _ints(a, "perm", list(range(rank))[::-1])
    perm = [_axis(p, rank) for p in perm]
    if sorted(perm) != list(range(rank)):
        raise ShapeError(f"perm {perm} is not a permutation of the {rank} axes")
    return {"perm": perm}


def _norm_slice(ins: list[TensorInfo], a: Attrs) -> Attrs:
    _only(a, "starts", "ends", "axes", "steps")
    shape = ins[0].shape
    starts, ends = _ints(a, "starts"), _ints(a, "ends")
    axes = _ints(a, "axes", list(range(len(starts))))
    steps = _ints(a, "steps", [1] * len(starts))
    if not len(starts) == len(ends) == len(axes) == len(steps):
        raise IsaError("slice: starts, ends, axes and steps must have equal lengths")
    full = [[0, d, 1] for d in shape]
    for s, e, ax, st in zip(starts, ends, axes, steps):
        ax = _axis(ax, len(shape))
        if st == 0:
            raise IsaError("slice step must not be 0")
        full[ax] = list(slice(s, e, st).indices(shape[ax]))
    return {"starts": [f[0] for f in full], "ends": [f[1] for f in full],
            "steps": [f[2] for f in full]}


def _norm_concat(ins: list[TensorInfo], a: Attrs) -> Attrs:
    _only(a, "axis")
    rank = len(ins[0].shape)
    return {"axis": _axis(_int(a, "axis", 0), rank)}


def _norm_pad(ins: list[TensorInfo], a: Attrs) -> Attrs:
    _only(a, "pads")
    pads = a.get("pads")
    rank = len(ins[0].shape)
    ok = isinstance(pads, (list, tuple)) and len(pads) == rank and all(
        isinstance(p, (list, tuple)) and len(p) == 2 for p in pads
    )
    if not ok:
        raise IsaError(f"pads must be {rank} pairs [before, after], got {pads!r}")
    if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for p in pads for v in p):
        raise IsaError(f"pads must be integers, got {pads!r}")
    out = [[int(p[0]), int(p[1])] for p in pads]
    if any(v < 0 for p in out for v in p):
        raise IsaError("pads must be >= 0 (use slice to crop)")
    check_size([d + p[0] + p[1] for d, p in zip(ins[0].shape, out)])
    return {"pads": out}


def _norm_broadcast(ins: list[TensorInfo], a: Attrs) -> Attrs:
    _only(a, "shape")
    shape = _ints(a, "shape")
    check_size(shape)
    if broadcast_shape(ins[0].shape, tuple(shape)) != tuple(shape):
        raise ShapeError(f"{_fmt(ins[0].shape)} does not broadcast to {_fmt(shape)}")
    return {"shape": shape}


def _norm_window(ins: list[TensorInfo], a: Attrs) -> Attrs:
    _only(a, "kernel", "stride", "padding", "dilation")
    if len(ins[0].shape) != 4:
        raise ShapeError(f"window needs an NCHW tensor (rank 4), got {_fmt(ins[0].shape)}")
    kernel = _ints(a, "kernel", n=2)
    stride = _ints(a, "stride", kernel, n=2)
    pad = _ints(a, "padding", [0, 0])
    if len(pad) == 2:
        pad = [pad[0], pad[1], pad[0], pad[1]]
    if len(pad) != 4:
        raise IsaError("padding must be [ph, pw] or [top, left, bottom, right]")
    dil = _ints(a, "dilation", [1, 1], n=2)
    if min(kernel + stride + dil) < 1 or min(pad) < 0:
        raise IsaError("kernel, stride and dilation must be >= 1 and padding >= 0")
    if max(kernel + stride + dil + pad) > 1 << 16:
        raise IsaError("kernel, stride, dilation and padding must be <= 65536")
    a = {"kernel": kernel, "stride": stride, "padding": pad, "dilation": dil}
    oh, ow = window_out_hw(ins[0].shape, a)
    check_size(list(ins[0].shape[:2]) + [oh, ow, kernel[0] * kernel[1]])
    return a


def window_out_hw(shape: tuple[int, ...], a: Attrs) -> tuple[int, int]:
    """Output height and width of a window (conv/pool) over an NCHW shape."""
    out = []
    for i in range(2):
        span = a["dilation"][i] * (a["kernel"][i] - 1) + 1
        padded = shape[2 + i] + a["padding"][i] + a["padding"][2 + i]
        if padded < span:
            raise ShapeError(
                f"window {a['kernel']} (dilation {a['dilation']}) is larger than the "
                f"padded input {_fmt(shape)}"
            )
        out.append((padded - span) // a["stride"][i] + 1)
    return out[0], out[1]


def _infer_view(ins: list[TensorInfo], a: Attrs, op: str) -> tuple[tuple[int, ...], int]:
    dummy = [np.zeros(t.shape, dtype=np.int64) for t in ins]
    return tuple(VIEW_ADDR[op](dummy, a).shape), _same_scale(ins, op)


def _addr_window(src: list[np.ndarray], a: Attrs) -> np.ndarray:
    x = src[0]
    n, c, h, w = x.shape
    t, l, b, r = a["padding"]
    xp = np.pad(x, ((0, 0), (0, 0), (t, b), (l, r)))
    oh, ow = window_out_hw(x.shape, a)
    kh, kw = a["kernel"]
    (sh, sw), (dh, dw) = a["stride"], a["dilation"]
    rows = (np.arange(oh) * sh)[:, None] + (np.arange(kh) * dh)[None, :]  # [oh, kh]
    cols = (np.arange(ow) * sw)[:, None] + (np.arange(kw) * dw)[None, :]  # [ow, kw]
    g = xp[:, :, rows[:, None, :, None], cols[None, :, None, :]]  # [n,c,oh,ow,kh,kw]
    return g.reshape(n, c, oh, ow, kh * kw)


VIEW_ADDR: dict[str, Callable[[list[np.ndarray], Attrs], np.ndarray]] = {
    "reshape": lambda s, a: s[0].reshape(a["shape"]),
    "transpose": lambda s, a: s[0].transpose(a["perm"]),
    # explicit index ranges: a normalised negative-step end of -1 means "past index 0",
    # which a Python slice would read as the last element
    "slice": lambda s, a: s[0][np.ix_(*[np.arange(*t) for t in zip(a["starts"], a["ends"],
                                                                  a["steps"])])],
    "concat": lambda s, a: np.concatenate(s, axis=a["axis"]),
    "pad": lambda s, a: np.pad(s[0], a["pads"]),
    "broadcast": lambda s, a: np.broadcast_to(s[0], a["shape"]),
    "window": _addr_window,
}


def _view(name: str, norm: Callable, arity: tuple[int, int | None] = (1, 1)) -> OpSpec:
    return OpSpec(name, arity, True, norm, lambda i, a: _infer_view(i, a, name), VIEW_ADDR[name])


OPS: dict[str, OpSpec] = {
    s.name: s
    for s in [
        OpSpec("matmul", (2, 3), False, _norm_none, _infer_matmul),
        OpSpec("add", (2, 2), False, _norm_none, _infer_add),
        OpSpec("sub", (2, 2), False, _norm_none, _infer_add),
        OpSpec("mul", (2, 2), False, _norm_none, _infer_mul),
        OpSpec("sum", (1, 1), False, _norm_reduce, _infer_reduce),
        OpSpec("max", (1, 1), False, _norm_reduce, _infer_reduce),
        OpSpec("argmax", (1, 1), False, _norm_argmax, _infer_argmax),
        OpSpec("rescale", (1, 1), False, _norm_rescale, _infer_rescale),
        OpSpec("div", (1, 1), False, _norm_div, _same),
        OpSpec("relu", (1, 1), False, _norm_none, _same),
        OpSpec("lut", (1, 1), False, _norm_lut, _infer_lut),
        _view("reshape", _norm_reshape),
        _view("transpose", _norm_transpose),
        _view("slice", _norm_slice),
        _view("concat", _norm_concat, (1, None)),
        _view("pad", _norm_pad),
        _view("broadcast", _norm_broadcast),
        _view("window", _norm_window),
    ]
}
