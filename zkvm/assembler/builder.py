"""The assembler's builder: primitives, ``lut`` tables and macros.

:class:`Builder` extends :class:`zkvm.isa.ProgramBuilder` with :meth:`Builder.emit`,
which accepts every opcode of docs/assembly.md, including the macros (conv2d,
mean, avgpool, maxpool, flatten, maximum, softmax, layernorm) that it expands
into primitive instructions named ``OUT.something``. Model compilers (ONNX)
use this class too.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..isa.errors import IsaError, ShapeError
from ..isa.lut import make_table
from ..isa.ops import OPS, broadcast_shape
from ..isa.program import ProgramBuilder
from ..isa.tensor import TensorInfo

#: Non-tensor positional arguments, by opcode (``rescale x, 8`` -> k=8).
POSITIONAL = {"rescale": ["k"], "div": ["d"], "reshape": ["shape"], "broadcast": ["shape"]}

#: Macros and their number of tensor operands (min, max).
MACRO_ARITY = {"conv2d": (2, 3), "flatten": (1, 1), "mean": (1, 1), "avgpool": (1, 1),
               "maxpool": (1, 1), "maximum": (2, 2), "softmax": (1, 1), "layernorm": (3, 3)}
MACROS = tuple(MACRO_ARITY)

#: softmax/layernorm keep their reciprocal / rsqrt tables at most this long.
_RECIP_TABLE_BITS = 14
_RSQRT_TABLE_BITS = 16


class Builder(ProgramBuilder):
    """A :class:`ProgramBuilder` that also understands lut parameters and macros."""

    def emit(
        self,
        op: str,
        inputs: list[str],
        output: str,
        params: dict[str, Any] | None = None,
        bits: int | None = None,
        where: str = "",
    ) -> TensorInfo:
        """Add ``output = op inputs, params`` (a primitive or a macro).

        ``params`` are the keyword arguments of docs/assembly.md (for ``lut``:
        ``fn``, ``range`` (default: the input's worst-case interval), ``scale``,
        ``eps``, optional ``table``). ``bits`` annotates the final result.
        """
        params = dict(params or {})
        if op in MACROS:
            lo, hi = MACRO_ARITY[op]
            if not lo <= len(inputs) <= hi:
                want = str(lo) if lo == hi else f"{lo} or {hi}"
                raise IsaError(f"{op} takes {want} tensor operand(s), got {len(inputs)}")
            return getattr(self, "_m_" + op)(inputs, output, params, bits, where)
        if op == "lut":
            return self.lut(inputs, output, params, bits, where)
        return self.instruction(op, inputs, output, params, bits, where)

    def _t(self, name: str) -> TensorInfo:
        if name not in self.tensors:
            raise IsaError(f"'{name}' is not defined (define it before this line)")
        return self.tensors[name]

    # ------------------------------------------------------------------ lut
    def lut(
        self, inputs: list[str], output: str, p: dict[str, Any], bits: int | None, where: str = ""
    ) -> TensorInfo:
        """``lut x, fn=, range=[lo, hi], scale=, eps=`` with the table computed here."""
        if len(inputs) != 1:
            raise IsaError(f"lut takes one tensor operand, got {len(inputs)}")
        extra = set(p) - {"fn", "range", "scale", "eps", "table"}
        if extra:
            raise IsaError(f"lut: unknown keyword(s) {', '.join(sorted(extra))} "
                           "(allowed: fn, range, scale, eps, table)")
        x = self._t(inputs[0])
        if "scale" not in p:
            raise IsaError("lut needs scale=S (the output's scale)")
        lo, hi = p.get("range", self.intervals[x.name])
        eps = float(p.get("eps", 0.0))
        s_out = p["scale"]
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (s_out, lo, hi)):
            raise IsaError("lut range=[lo, hi] and scale= must be integers")
        if abs(s_out) > 62:
            raise IsaError("lut scale must lie in [-62, 62]")
        fn = p.get("fn")
        if not isinstance(fn, str):
            raise IsaError("lut needs fn=NAME (sigmoid, tanh, exp, gelu, reciprocal, rsqrt)")
        if "table" in p:
            table = np.asarray(p["table"])
            if table.dtype.kind not in "iu":
                raise IsaError("lut table=[...] must hold integers")
        else:
            table = make_table(fn, lo, hi, x.scale, s_out, eps)
        attrs = {"fn": fn, "lo": lo, "hi": hi, "table": table, "scale": s_out}
        if "eps" in p:
            attrs["eps"] = eps
        return self.instruction("lut", inputs, output, attrs, bits, where)

    # --------------------------------------------------------------- macros
    def _m_flatten(self, ins, out, p, bits, where):
        x = self._t(ins[0])
        axis = p.pop("axis", 1)
        _no_more(p, "flatten")
        axis = axis % (len(x.shape) + 1) if axis < 0 else axis
        shape = [math.prod(x.shape[:axis]), math.prod(x.shape[axis:])]
        return self.instruction("reshape", ins, out, {"shape": shape}, bits, where)

    def _m_mean(self, ins, out, p, bits, where):
        x = self._t(ins[0])
        s = self.instruction("sum", ins, f"{out}.sum", p, None, where)
        count = x.size // max(1, s.size) if s.size else 1
        return self.instruction("div", [s.name], out, {"d": count}, bits, where)

    def _window(self, x: str, out: str, p: dict[str, Any], pad_ok: bool, where: str) -> TensorInfo:
        kernel = p.pop("kernel", None)
        if kernel is None:
            raise IsaError("pooling needs kernel=[kh, kw]")
        a = {"kernel": kernel, "stride": p.pop("stride", kernel)}
        if "padding" in p:
            if not pad_ok and any(p["padding"]):
                raise IsaError("maxpool does not take padding (pad would read 0s); pad explicitly "
                               "with pad if the input is >= 0")
            a["padding"] = p.pop("padding")
        if "dilation" in p:
            a["dilation"] = p.pop("dilation")
        return self.instruction("window", [x], f"{out}.win", a, None, where)

    def _m_avgpool(self, ins, out, p, bits, where):
        w = self._window(ins[0], out, p, True, where)
        _no_more(p, "avgpool")
        s = self.instruction("sum", [w.name], f"{out}.sum", {"axes": [4]}, None, where)
        return self.instruction("div", [s.name], out, {"d": w.shape[4]}, bits, where)

    def _m_maxpool(self, ins, out, p, bits, where):
        w = self._window(ins[0], out, p, False, where)
        _no_more(p, "maxpool")
        return self.instruction("max", [w.name], out, {"axes": [4]}, bits, where)

    def _m_conv2d(self, ins, out, p, bits, where):
        if len(ins) not in (2, 3):
            raise IsaError(f"conv2d takes x, w [, b], got {len(ins)} tensor operands")
        x, w = self._t(ins[0]), self._t(ins[1])
        if len(x.shape) != 4 or len(w.shape) != 4:
            raise ShapeError(f"conv2d needs NCHW x and OIHW w, got {list(x.shape)} and {list(w.shape)}")
        if x.shape[1] != w.shape[1]:
            raise ShapeError(f"conv2d: x has {x.shape[1]} channels but w expects {w.shape[1]}")
        n, c = x.shape[:2]
        o, _, kh, kw = w.shape
        a = {"kernel": [kh, kw]}
        for key in ("stride", "padding", "dilation"):
            if key in p:
                a[key] = p.pop(key)
        a.setdefault("stride", [1, 1])
        _no_more(p, "conv2d")
        win = self.instruction("window", [x.name], f"{out}.win", a, None, where)
        oh, ow = win.shape[2], win.shape[3]
        k = c * kh * kw
        cols = self.instruction("transpose", [win.name], f"{out}.cols", {"perm": [0, 2, 3, 1, 4]},
                                None, where)
        col = self.instruction("reshape", [cols.name], f"{out}.col", {"shape": [n * oh * ow, k]},
                               None, where)
        wm = self.instruction("reshape", [w.name], f"{out}.wm", {"shape": [o, k]}, None, where)
        wt = self.instruction("transpose", [wm.name], f"{out}.wt", {"perm": [1, 0]}, None, where)
        mm = self.instruction("matmul", [col.name, wt.name] + list(ins[2:]), f"{out}.mm", {},
                              bits, where)
        r = self.instruction("reshape", [mm.name], f"{out}.r", {"shape": [n, oh, ow, o]}, None, where)
        return self.instruction("transpose", [r.name], out, {"perm": [0, 3, 1, 2]}, None, where)

    def _m_maximum(self, ins, out, p, bits, where):
        _no_more(p, "maximum")
        if len(ins) != 2:
            raise IsaError(f"maximum takes two tensor operands, got {len(ins)}")
        a, b = self._t(ins[0]), self._t(ins[1])
        shape = list(broadcast_shape(a.shape, b.shape))
        parts = []
        for tag, t in (("a", a), ("b", b)):
            name = t.name
            if list(t.shape) != shape:
                name = self.instruction("broadcast", [name], f"{out}.{tag}b", {"shape": shape},
                                        None, where).name
            parts.append(self.instruction("reshape", [name], f"{out}.{tag}", {"shape": shape + [1]},
                                          None, where).name)
        cat = self.instruction("concat", parts, f"{out}.cat", {"axis": len(shape)}, None, where)
        return self.instruction("max", [cat.name], out, {"axes": [len(shape)]}, bits, where)

    def _m_softmax(self, ins, out, p, bits, where):
        """softmax: see docs/isa.md "softmax" for the exact integer algorithm."""
        if len(ins) != 1:
            raise IsaError(f"softmax takes one tensor operand, got {len(ins)}")
        x = self._t(ins[0])
        if not x.shape:
            raise ShapeError("softmax needs a tensor of rank >= 1")
        axis = p.pop("axis", -1)
        s_out = p.pop("scale", 8)
        _no_more(p, "softmax")
        if not isinstance(axis, int) or not -len(x.shape) <= axis < len(x.shape):
            raise ShapeError(f"softmax axis {axis!r} is out of range for rank {len(x.shape)}")
        axis %= len(x.shape)
        n = x.shape[axis]
        e_scale = s_out
        m = self.instruction("max", [x.name], f"{out}.max", {"axes": [axis], "keepdims": True},
                             None, where)
        d = self.instruction("sub", [x.name, m.name], f"{out}.d", {}, None, where)
        lo = -math.ceil((e_scale + 2) * math.log(2) * 2.0**x.scale)
        lo = max(lo, min(self.intervals[d.name][0], 0))
        e = self.lut([d.name], f"{out}.e", {"fn": "exp", "range": [lo, 0], "scale": e_scale},
                     None, where)
        z = self.instruction("sum", [e.name], f"{out}.z", {"axes": [axis], "keepdims": True},
                             None, where)
        k = max(0, ((n - 1) * 2**e_scale + 1).bit_length() - _RECIP_TABLE_BITS)
        zr = z
        if k:
            zr = self.instruction("rescale", [z.name], f"{out}.zr", {"k": k}, None, where)
        half = (1 << (k - 1)) if k else 0
        z_lo, z_hi = (2**e_scale + half) >> k, (n * 2**e_scale + half) >> k
        r_scale = s_out + max(1, (n - 1).bit_length()) + 4
        r = self.lut([zr.name], f"{out}.r", {"fn": "reciprocal", "range": [z_lo, z_hi],
                                              "scale": r_scale}, None, where)
        pm = self.instruction("mul", [e.name, r.name], f"{out}.p", {}, None, where)
        return self.instruction("rescale", [pm.name], out, {"k": e_scale + r_scale - s_out}, bits,
                                where)

    def _m_layernorm(self, ins, out, p, bits, where):
        """layernorm over the last axis: see docs/isa.md "layernorm"."""
        if len(ins) != 3:
            raise IsaError(f"layernorm takes x, gamma, beta, got {len(ins)} tensor operands")
        x, g, beta = (self._t(n) for n in ins)
        eps = float(p.pop("eps", 1e-5))
        var_max = p.pop("var_max", None)
        _no_more(p, "layernorm")
        if not x.shape:
            raise ShapeError("layernorm needs a tensor of rank >= 1")
        n, s = x.shape[-1], x.scale
        if beta.scale != s:
            raise ShapeError(f"layernorm: beta '{beta.name}' must have x's scale {s}, "
                             f"got {beta.scale}")
        red = {"axes": [len(x.shape) - 1], "keepdims": True}
        sm = self.instruction("sum", [x.name], f"{out}.sum", red, None, where)
        mu = self.instruction("div", [sm.name], f"{out}.mu", {"d": n}, None, where)
        c = self.instruction("sub", [x.name, mu.name], f"{out}.c", {}, None, where)
        c2 = self.instruction("mul", [c.name, c.name], f"{out}.c2", {}, None, where)
        vs = self.instruction("sum", [c2.name], f"{out}.vs", red, None, where)
        var = self.instruction("div", [vs.name], f"{out}.var", {"d": n}, None, where)
        v_hi = self.intervals[var.name][1]
        if var_max is not None:
            v_hi = min(v_hi, max(1, int(float(var_max) * 2.0 ** (2 * s))))
        k = max(0, v_hi.bit_length() - _RSQRT_TABLE_BITS)
        vr = var
        if k:
            vr = self.instruction("rescale", [var.name], f"{out}.vr", {"k": k}, None, where)
        hi = (v_hi + ((1 << (k - 1)) if k else 0)) >> k
        r_scale = 12
        r = self.lut([vr.name], f"{out}.r", {"fn": "rsqrt", "range": [0, max(hi, 0)],
                                              "scale": r_scale, "eps": eps}, None, where)
        nm = self.instruction("mul", [c.name, r.name], f"{out}.n", {}, None, where)
        nr = self.instruction("rescale", [nm.name], f"{out}.nr", {"k": r_scale}, None, where)
        gm = self.instruction("mul", [nr.name, g.name], f"{out}.g", {}, None, where)
        gr = gm
        if g.scale > 0:
            gr = self.instruction("rescale", [gm.name], f"{out}.gr", {"k": g.scale}, None, where)
        return self.instruction("add", [gr.name, beta.name], out, {}, bits, where)


def _no_more(p: dict[str, Any], op: str) -> None:
    if p:
        raise IsaError(f"{op}: unknown keyword(s) {', '.join(sorted(p))}")


def known_opcodes() -> list[str]:
    """Every opcode the assembler accepts (primitives and macros)."""
    return sorted(set(OPS) | set(MACROS))

