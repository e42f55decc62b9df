"""Lowering context: ONNX tensors -> program tensors, and the quantization rules.

Every non-constant ONNX tensor becomes a program tensor :class:`QT` (a name and
a scale ``s``: the integer ``v`` stands for ``v / 2^s``); constants stay float
arrays until an op needs them, then become weights quantized for that use.

Scales and widths (docs/onnx.md "Quantization"):

* an activation's *target scale* is the largest ``s`` with
  ``max|v|·2^s ≤ 2^(bits-1) - 1`` over the calibration samples (``bits`` = 16
  by default), clamped to ``[-16, 24]``; ``--scale S`` fixes it to ``S``;
* a weight's scale is the largest with ``max|w|·2^s ≤ 2^(weight_bits-1) - 1``
  (at most 24), lowered while the quantization stays exact (``0.5`` is ``1``
  at scale 1); a bias takes the accumulator's scale;
* after a ``matmul``/``mul`` the exact result (scale ``s_x + s_w``) is
  rescaled to the output's target scale. When the result's *worst case* (the
  interval analysis over every allowed input) does not fit ``i{bits}``, the
  rescale's result is declared at the width that holds ``margin`` × its
  largest value on the calibration samples (``i17`` for a 16-bit activation
  and the default margin 2; at least ``i8``; the shift grows only if that
  would pass ``max_act_bits``): the divide chip range-checks the result to its
  declared width inside the proof, and the VM stops a run that leaves it,
  naming the instruction and tensor. Narrow activations are thus kept honest
  by range checks, not by worst-case bounds, which through a deep network
  (ResNet's residual chain) grow far beyond the real values and would crush
  the scales; accumulators keep their worst-case bound below ``2^62`` (no
  field wrap, DESIGN.md checklist 8). The values on the samples come from
  :class:`.shadow.Shadow` (the VM's integers, computed as the program is built);
* a result with no rescale gets the tightest width that holds its worst case.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...isa import quant
from ...isa.errors import ZkvmError
from ...isa.tensor import MAX_BITS, bits_range
from ..builder import Builder
from .calibrate import Calibration
from .errors import OnnxCompileError, UnsupportedOpError
from .graph import Graph, Node
from .rewrite import as_f64
from .shadow import Shadow

MAX_ACT_SCALE = 24
MIN_ACT_SCALE = -16
MAX_WEIGHT_SCALE = 24
#: products (matmul partial sums, mul) are kept below 2^PRODUCT_BITS
PRODUCT_BITS = 61


@dataclass(frozen=True)
class QT:
    """A program tensor standing for an ONNX tensor: its name and scale."""

    name: str
    scale: int


@dataclass
class CompileOptions:
    """How a model is quantized (see the module docstring and docs/onnx.md).

    Attributes:
        scale: fixed scale for every activation and input (None: from calibration).
        bits: activation width the calibrated range fills (16).
        weight_bits: weight width (16).
        input_visibility: ``public`` or ``private``.
        batch: size of a symbolic first input dimension.
        table_bits: lookup tables (sigmoid, tanh, gelu, ...) hold at most 2^table_bits
            entries (the input is rescaled to fit).
        max_act_bits: worst-case width of rescaled activations that are not
            narrowed (``requant`` with an explicit cap).
        margin: a rescaled activation narrower than its worst case is declared so
            that ``margin`` × its largest calibrated value fits; inputs that drive
            a value further make proving stop with an error naming the tensor.
        max_error: refuse a program whose output error exceeds this fraction of
            the output's range on the calibration samples.
        allow_inaccurate: compile such a program (or one with a constant output)
            anyway, with a warning.
        worst_case: every rescaled activation's width from its worst case (the
            shift grows until it fits ``max_act_bits``), never from calibration:
            every input in the declared ranges runs, at the cost of precision
            (deep networks lose everything; the accuracy check then refuses).
    """

    scale: int | None = None
    bits: int = 16
    weight_bits: int = 16
    input_visibility: str = "public"
    batch: int = 1
    table_bits: int = 14
    max_act_bits: int = 32
    margin: float = 2.0
    max_error: float = 0.05
    allow_inaccurate: bool = False
    worst_case: bool = False

    def check(self) -> None:
        if self.input_visibility not in ("public", "private"):
            raise OnnxCompileError(f"--input-visibility must be public or private, got "
                                   f"'{self.input_visibility}'")
        if not 4 <= self.bits <= 32:
            raise OnnxCompileError(f"--bits {self.bits} must lie in [4, 32]")
        if not 2 <= self.weight_bits <= 32:
            raise OnnxCompileError(f"--weight-bits {self.weight_bits} must lie in [2, 32]")
        if self.scale is not None and not MIN_ACT_SCALE <= self.scale <= MAX_ACT_SCALE:
            raise OnnxCompileError(f"--scale {self.scale} must lie in [{MIN_ACT_SCALE}, "
                                   f"{MAX_ACT_SCALE}]")
        if not 6 <= self.table_bits <= 20:
            raise OnnxCompileError(f"table bits {self.table_bits} must lie in [6, 20]")
        if not 1.0 <= self.margin <= 2.0**16:
            raise OnnxCompileError(f"--margin {self.margin} must lie in [1, 65536]")
        if not self.max_error > 0:
            raise OnnxCompileError(f"--max-error {self.max_error} must be > 0")
        if self.batch < 1:
            raise OnnxCompileError(f"--batch {self.batch} must be >= 1")


def fit_bits(lo: int, hi: int) -> int:
    """Smallest width ``iN`` whose range holds ``[lo, hi]`` (at most 63)."""
    m = max(hi, -lo - 1, 0)
    return min(MAX_BITS, max(2, m.bit_length() + 1))


class FitBuilder(Builder):
    """A :class:`Builder` that gives an unannotated result the tightest width of its bound."""

    def _check_bounds(self, desc: str, name: str, iv: tuple[int, int], acc: int,
                      bits: int | None, *args: Any, **kwargs: Any) -> Any:
        # the builder picks i8/i16/i32/i63 for an unannotated result; a chip's range checks
        # follow the declared width, so the tightest one is both cheaper and always provable
        if bits is None:
            bits = fit_bits(*iv)
        return super()._check_bounds(desc, name, iv, acc, bits, *args, **kwargs)

    # the shadow run (calibration samples) follows every weight and instruction
    shadow: Shadow | None = None

    def instruction(self, *args: Any, **kwargs: Any) -> Any:
        info = super().instruction(*args, **kwargs)
        if self.shadow is not None:
            self.shadow.instruction(self, self.instructions[-1])
        return info


def weight_scale(values: np.ndarray, bits: int, cap: int = MAX_WEIGHT_SCALE) -> int:
    """Largest scale ``≤ cap`` with ``max|w|·2^s ≤ 2^(bits-1) - 1``, lowered while exact."""
    return quant.weight_scale(values, bits, cap, exact=True, zero=0, floor=-MAX_WEIGHT_SCALE)


def sanitize(name: str) -> str:
    """An ONNX tensor name as an assembly identifier.

    ``/fc1/Gemm_output_0`` -> ``fc1_Gemm_output_0``.
    """
    s = re.sub(r"[^A-Za-z0-9_]+", "_", name).strip("_")
    if not s or not (s[0].isalpha() or s[0] == "_"):
        s = "t_" + s
    return s


class Lowering:
    """State shared by the op lowerings (:mod:`.ops_math`, :mod:`.ops_nn`, :mod:`.ops_shape`).

    Args:
        graph: the (rewritten) model.
        calib: the calibration run.
        extra: constants created by the rewrites.
        opts: quantization options.
    """

    def __init__(self, graph: Graph, calib: Calibration, extra: dict[str, np.ndarray],
                 opts: CompileOptions) -> None:
        self.g, self.calib, self.extra, self.opts = graph, calib, extra, opts
        self.b = FitBuilder()
        self.b.shadow = Shadow(calib.n)
        self.env: dict[str, QT] = {}
        self.used: set[str] = set()
        self.node: Node | None = None
        self.notes: list[str] = []
        self._weights: dict[tuple, QT] = {}

    # ------------------------------------------------------------ lookups
    def const(self, name: str) -> np.ndarray | None:
        """The value of a constant ONNX tensor (float64 for floats), else None."""
        if not name:
            return None
        if name in self.extra:
            return as_f64(self.extra[name])
        if name in self.g.constants:
            v = np.asarray(self.calib.value(name))
            return v.astype(np.float64) if v.dtype.kind in "fc" else v
        return None

    def ints(self, name: str) -> list[int] | None:
        """A constant integer vector input (axes, shape, pads...), or None when absent."""
        if not name:
            return None
        v = self.const(name)
        if v is None:
            raise self.error(f"input '{name}' must be a constant (it fixes a shape or axis) but "
                             "depends on the model's inputs")
        return [int(x) for x in np.asarray(v).reshape(-1)]

    def tensor(self, name: str) -> QT:
        """The program tensor of a non-constant ONNX tensor."""
        if name not in self.env:
            raise self.error(f"input '{name}' is not available (unsupported producer?)")
        return self.env[name]

    def shape(self, name: str) -> tuple[int, ...]:
        """Shape of an ONNX tensor (from the reference run)."""
        if name in self.extra:
            return tuple(self.extra[name].shape)
        return self.calib.shape(name)

    def pshape(self, qt: QT) -> tuple[int, ...]:
        return tuple(self.b.tensors[qt.name].shape)

    def iv(self, qt: QT) -> tuple[int, int]:
        lo, hi = self.b.intervals[qt.name]
        return int(lo), int(hi)

    def maxabs(self, qt: QT) -> int:
        lo, hi = self.iv(qt)
        return max(abs(lo), abs(hi))

    def error(self, msg: str) -> OnnxCompileError:
        where = self.node.where if self.node else "model"
        return OnnxCompileError(f"{where}: {msg}")

    def unsupported(self, msg: str) -> UnsupportedOpError:
        where = self.node.where if self.node else "model"
        return UnsupportedOpError(f"{where} is not supported: {msg}")

    # ---------------------------------------------------------- naming
    def fresh(self, hint: str) -> str:
        base = sanitize(hint)
        name, i = base, 1
        while name in self.used or name in self.b.tensors:
            i += 1
            name = f"{base}_{i}"
        self.used.add(name)
        return name

    def out_name(self, suffix: str = "", k: int = 0) -> str:
        """A fresh name from the current node's output ``k`` (with a suffix)."""
        base = self.node.outputs[k] if self.node else "t"
        return self.fresh(base + (f"_{suffix}" if suffix else ""))

    # ------------------------------------------------------------ scales
    def target_scale(self, onnx_name: str) -> int:
        """Target scale of an activation (calibrated, or ``--scale``)."""
        if self.opts.scale is not None:
            return self.opts.scale
        m = self.calib.stats(onnx_name).maxabs if self.calib.has(onnx_name) else 0.0
        if m <= 0.0:
            return MAX_ACT_SCALE
        s = math.floor(math.log2((2 ** (self.opts.bits - 1) - 1) / m))
        return int(min(MAX_ACT_SCALE, max(MIN_ACT_SCALE, s)))

    # ------------------------------------------------------------ emitting
    def emit(self, op: str, ins: list[QT], name: str, params: dict[str, Any] | None = None,
             bits: int | None = None) -> QT:
        """Emit an instruction or macro; returns the result (its scale from the builder)."""
        where = self.node.where if self.node else ""
        try:
            info = self.b.emit(op, [q.name for q in ins], name, params or {}, bits, where)
        except ZkvmError as e:
            raise self.error(f"cannot emit '{op}' ({e})") from None
        return QT(info.name, info.scale)

    def weight(self, values: Any, hint: str, scale: int | None = None) -> QT:
        """A constant as a weight tensor: at ``scale`` or at its own weight scale."""
        v = np.asarray(values, dtype=np.float64)
        if not np.all(np.isfinite(v)):
            raise self.error(f"constant '{hint}' holds NaN or infinite values")
        s = weight_scale(v, self.opts.weight_bits) if scale is None else int(scale)
        q = quant.quantize(v, s)
        if q.size and np.abs(q).max() >= 2**62:
            raise self.error(f"constant '{hint}' does not fit 62 bits at scale {s}")
        # one weight per distinct (values, scale): keyed by a hash of the values (the bytes
        # themselves as the key kept a second copy of every weight, 8 B per parameter)
        key = (hashlib.blake2b(np.ascontiguousarray(q), digest_size=16).digest(), q.shape, s)
        hit = self._weights.get(key)
        if hit is not None and np.array_equal(self.b.weights[hit.name], q):
            return hit
        lo, hi = (int(q.min()), int(q.max())) if q.size else (0, 0)
        name = self.fresh(hint)
        try:
            info = self.b.weight(name, q, fit_bits(lo, hi), s)
        except ZkvmError as e:
            raise self.error(str(e)) from None
        self._weights[key] = QT(info.name, info.scale)
        return self._weights[key]

    def requant(self, x: QT, target: int, name: str | None = None, cap: int | None = None) -> QT:
        """Rescale ``x`` down to ``target`` (no-op when already at or below it).

        Default (no ``cap``): an activation. If the result's worst case does not
        fit ``i{bits}``, it is declared at the width of ``margin`` × its largest
        calibrated value (range-checked in the proof, see the module docstring).
        With ``cap``: the shift grows until the worst-case bound fits ``cap``
        bits (exact-scale alignments, LayerNorm). A note records any shift
        beyond ``target``.
        """
        if cap is None and not self.opts.worst_case:
            return self._requant_calibrated(x, target, name)
        cap = cap or self.opts.max_act_bits
        lo, hi = self.iv(x)
        want = max(0, x.scale - target)
        k = quant.rescale_shift(lo, hi, want, cap)
        if k == 0:
            return x
        if k > want:
            self.notes.append(f"{self.node.where if self.node else ''}: '{x.name}' rescaled to "
                              f"scale {x.scale - k} instead of {x.scale - want} so that its "
                              f"worst-case bound fits i{cap}")
        return self.emit("rescale", [x], name or self.fresh(x.name + "_rq"), {"k": k})

    def _requant_calibrated(self, x: QT, target: int, name: str | None) -> QT:
        """``requant`` of an activation: the worst case if it fits ``i{bits}``, else the
        calibrated width (``margin`` × the samples' largest value, at least ``i8``)."""
        bits = self.opts.bits
        bottom, top = bits_range(bits)
        lo, hi = self.iv(x)
        want = max(0, x.scale - target)
        shifted = quant.rescaled
        if shifted(hi, want) <= top and shifted(lo, want) >= bottom:  # provable as it is
            if want == 0:
                return x
            return self.emit("rescale", [x], name or self.fresh(x.name + "_rq"), {"k": want})
        cap = max(self.opts.max_act_bits, bits)
        if want == 0 and max(hi, -lo - 1).bit_length() < cap:
            return x  # no rescale to narrow, and the worst case is small enough
        seen = self.b.shadow.maxabs(self.b, x.name) * self.opts.margin
        # a rescale shifts by at least one bit: with ``want = 0`` that bit is given up too
        k = quant.smallest_shift(max(want, 1), lambda j: fit_bits(
            -math.ceil(seen / 2.0**j) - 1, math.ceil(seen / 2.0**j) + 1) <= cap)
        where = self.node.where if self.node else ""
        if k > max(want, 1):
            self.notes.append(
                f"{where}: '{x.name}' rescaled to scale {x.scale - k} instead of "
                f"{x.scale - want} so that {self.opts.margin:g}x its calibrated range fits i{cap}")
        elif k > want:
            self.notes.append(
                f"{where}: '{x.name}' rescaled to scale {x.scale - k} instead of {x.scale}: its "
                f"worst case does not fit i{cap}, so it is narrowed by a rescale, which shifts "
                "by at least one bit")
        m = math.ceil(seen / 2.0**k) + 1
        width = max(fit_bits(-m, m), min(8, bits))
        if shifted(hi, k) <= bits_range(width)[1] and shifted(lo, k) >= bits_range(width)[0]:
            width = fit_bits(shifted(lo, k), shifted(hi, k))  # the worst case is narrower
        return self.emit("rescale", [x], name or self.fresh(x.name + "_rq"), {"k": k},
                         bits=width)

    def upscale(self, x: QT, target: int) -> QT:
        """Exactly raise ``x``'s scale to ``target``: multiply by 1.0 stored at scale ``d``."""
        d = target - x.scale
        if d <= 0:
            return x
        one = self.weight(np.array(1.0), f"one_s{d}", scale=d)  # the integer 2^d
        return self.emit("mul", [x, one], self.fresh(x.name + "_up"))

    def align(self, xs: list[QT], scale: int | None = None) -> list[QT]:
        """Bring tensors to one scale: the smallest of theirs (or ``scale`` if lower)."""
        s = min(q.scale for q in xs)
        if scale is not None:
            s = min(s, scale)
        return [self.requant(q, s, cap=MAX_BITS) for q in xs]  # exactly scale s, no more

    def product_fit(self, a: QT, b: QT, k: int = 1) -> tuple[QT, QT]:
        """Rescale ``a``/``b`` until ``max|a|·max|b|·k < 2^PRODUCT_BITS`` (field-safe products)."""
        excess = (self.maxabs(a) * self.maxabs(b) * k).bit_length() - PRODUCT_BITS
        if excess <= 0:
            return a, b
        ka = (excess + 1) // 2
        kb = excess - ka
        self.notes.append(f"{self.node.where if self.node else ''}: operands rescaled by "
                          f"2^{ka} and 2^{kb} to keep the product below 2^{PRODUCT_BITS}")
        a2 = self.requant(a, a.scale - ka) if ka else a
        b2 = self.requant(b, b.scale - kb) if kb else b
        return a2, b2

    def set(self, qt: QT, k: int = 0) -> None:
        """Bind the current node's output ``k`` to ``qt``."""
        self.env[self.node.outputs[k]] = qt

    def fit_to(self, x: QT, factor: int) -> QT:
        """Rescale ``x`` until ``max|x|·factor < 2^PRODUCT_BITS`` (``factor``: the other side)."""
        excess = (self.maxabs(x) * max(int(factor), 1)).bit_length() - PRODUCT_BITS
        if excess <= 0:
            return x
        self.notes.append(f"{self.node.where if self.node else ''}: '{x.name}' rescaled by "
                          f"2^{excess} to keep products below 2^{PRODUCT_BITS}")
        return self.requant(x, x.scale - excess)

    def lower_node(self, node: Node, fn: Callable[["Lowering", Node], None]) -> None:
        """Run one op's lowering with this node as the context of messages."""
        self.node = node
        fn(self, node)
        for k, o in enumerate(node.outputs):
            if k and o and o not in self.env and (o in self.g.outputs or self._read(o)):
                raise self.unsupported(f"its output {k} ('{o}') is used; only the first "
                                       "output is compiled")
        self.node = None

    def _read(self, name: str) -> bool:
        return any(name in n.inputs for n in self.g.nodes)


#: ONNX op type -> lowering function (filled by the ``ops_*`` modules).
REGISTRY: dict[str, Callable[[Lowering, Node], None]] = {}


def op(*names: str) -> Callable:
    """Register the lowering of ONNX ops ``names``."""
    def deco(fn: Callable[[Lowering, Node], None]) -> Callable[[Lowering, Node], None]:
        for n in names:
            REGISTRY[n] = fn
        return fn
    return deco
