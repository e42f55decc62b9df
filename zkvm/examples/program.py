"""Quantize a trained example model and write it as a zkvm program.

The program is emitted with :class:`zkvm.assembler.Builder`, layer by layer
from the model's :class:`~models.nets.ModelSpec`:

* input ``x``: ``i16`` at scale ``input_scale`` (default 8), range
  ``[0, 2^input_scale]`` (pixels are in ``[0, 1]``), public unless
  ``private_input``;
* each weighted layer ``j``: weight ``wj`` (``i16`` by default, or ``i8``)
  at the largest scale ``s_w`` with ``max|w|·2^s_w ≤ 2^(bits-1) − 1``,
  capped at ``max_weight_scale`` (14: so that with ``act_scale`` 8 the
  rescale divisor stays ``≤ 2^16``, one range-check lookup), bias ``bj`` as ``i32`` at the
  accumulator's scale ``s_x + s_w``; ``matmul`` (``conv2d`` for a
  convolution, which the assembler lowers to im2col + matmul) with the
  exact integer accumulation, then ``rescale`` by ``k`` back to
  ``act_scale``. For a hidden layer ``k`` is raised until the rescaled
  worst-case bound (the assembler's interval analysis) fits ``i16``, so every
  activation is an ``i16``; the last layer's rescale gives the logits at
  ``logit_scale``;
* ``relu`` (``aj``), ``flatten`` (``fj``) as in the model;
* output ``logits`` (``[1, n_classes]``).

Rounding is round half up everywhere (docs/isa.md), for weights too. The
assembler refuses the program if any worst-case bound or partial sum could
leave its width or ``2^62``; with these widths every accumulation has
headroom by construction (e.g. the MLP's first layer: ``784·256·2^15 < 2^33``).

Why ``i16`` weights by default: the proof costs the same (weights are public
constants of the matmul; widths only matter for range-checked results), and
per-tensor ``i8`` weights move logits by up to ~0.3 and flip the top-1 of
about 1 image in 300 (see ``python -m models.report --weight-bits 8``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from zkvm.assembler import Builder
from zkvm.isa import quant
from zkvm.isa.program import Program
from zkvm.isa.quant import quantize, rescale_shift

from .nets import Conv, Dense, Flatten, ModelSpec, ReLU, get_spec

ACT_BITS = 16
BIAS_BITS = 32


@dataclass(frozen=True)
class QuantConfig:
    """How a model is quantized (see the module docstring)."""

    input_scale: int = 8
    act_scale: int = 8
    logit_scale: int = 8
    weight_bits: int = 16
    max_weight_scale: int = 14
    private_input: bool = False


def weight_scale(w: np.ndarray, bits: int, cap: int) -> int:
    """Largest scale ``s ≤ cap`` with ``max|w|·2^s ≤ 2^(bits-1) − 1`` (``cap`` for all zeros)."""
    return quant.weight_scale(w, bits, cap, exact=False, zero=cap)


def build_program(name: str, params: dict[str, np.ndarray], cfg: QuantConfig | None = None,
                  meta: dict[str, str] | None = None) -> Program:
    """The quantized program of model ``name`` with float ``params``.

    Args:
        name: ``mlp``, ``cnn`` or ``tiny``.
        params: float parameters (``w1, b1, ...``) as :mod:`models.nets` names them.
        cfg: quantization settings.
        meta: extra program metadata (not part of the digest).

    Raises:
        ValueError: unknown model, or a bias that does not fit ``i32``.
        zkvm.isa.errors.ZkvmError: the assembler refused the program.
    """
    cfg = cfg or QuantConfig()
    spec = get_spec(name)
    b = Builder()
    b.meta("name", name)
    b.meta("description", spec.description)
    b.meta("source", f"zkvm.examples (python -m models.build {name}); weights "
           f"zkvm/examples/weights/{name}.npz")
    for k, v in (meta or {}).items():
        b.meta(k, v)
    s_in = cfg.input_scale
    b.input("x", spec.input_shape, 16, s_in, "private" if cfg.private_input else "public",
            (0, 2**s_in))
    cur, s_cur = "x", s_in
    weighted = {i: (w, bias) for i, w, bias in spec.param_names()}
    last, j = max(weighted), 0
    for i, layer in enumerate(spec.layers):
        if isinstance(layer, (Dense, Conv)):
            j += 1
            cur, s_cur = _weighted(b, spec, layer, weighted[i], params, cur, s_cur, cfg,
                                   i == last)
        elif isinstance(layer, ReLU):
            cur = b.emit("relu", [cur], f"a{j}").name
        elif isinstance(layer, Flatten):
            cur = b.emit("flatten", [cur], f"f{j}").name
        else:  # pragma: no cover - ModelSpec only holds the four layer kinds
            raise TypeError(f"layer {layer!r} has no program form")
    b.output(cur)
    return b.build()


def _weighted(b: Builder, spec: ModelSpec, layer: Dense | Conv, names: tuple[str, str],
              params: dict[str, np.ndarray], cur: str, s_cur: int, cfg: QuantConfig,
              is_last: bool) -> tuple[str, int]:
    w_name, b_name = names
    w = params[w_name]
    s_w = weight_scale(w, cfg.weight_bits, cfg.max_weight_scale)
    b.weight(w_name, quantize(w, s_w), cfg.weight_bits, s_w)
    s_acc = s_cur + s_w
    qb = quantize(params[b_name], s_acc)
    if np.abs(qb).max(initial=0) >= 2 ** (BIAS_BITS - 1):
        raise ValueError(f"model '{spec.name}': bias {b_name} does not fit i{BIAS_BITS} at scale "
                         f"{s_acc}; use fewer weight bits or a smaller input scale")
    b.weight(b_name, qb, BIAS_BITS, s_acc)
    j = w_name[1:]
    if isinstance(layer, Dense):
        acc = b.emit("matmul", [cur, w_name, b_name], f"mm{j}")
    else:
        acc = b.emit("conv2d", [cur, w_name, b_name], f"conv{j}",
                     {"stride": [layer.stride, layer.stride]})
    target = cfg.logit_scale if is_last else cfg.act_scale
    k = s_acc - target
    lo, hi = b.intervals[acc.name]
    out = "logits" if is_last else f"h{j}"
    if is_last:
        if k <= 0:
            return acc.name, s_acc
        t = b.emit("rescale", [acc.name], out, {"k": k})
    else:
        k = rescale_shift(lo, hi, max(k, 1), ACT_BITS)
        t = b.emit("rescale", [acc.name], out, {"k": k}, bits=ACT_BITS)
    return t.name, t.scale
