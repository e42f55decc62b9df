"""Graph rewrites before lowering: fold what can be folded, recognise what exporters expand.

In order:

1. ``Gemm`` with a constant ``B`` becomes the internal 3-input ``MatMul(A, W, bias)``
   (``W = alpha·B`` or its transpose, ``bias = beta·C``).
2. ``MatMul(x, W)`` followed by ``Add(·, b)`` with constant ``W`` (rank 2) and
   ``b`` (broadcasting to ``[N]``) becomes ``MatMul(x, W, b)``: the bias joins
   the exact accumulation (PyTorch exports ``Linear`` this way).
3. ``BatchNormalization`` after a ``Conv`` or such a ``MatMul`` (whose output only it
   reads) is folded into the layer's weight and bias:
   ``a = gamma/sqrt(var+eps)``, ``W' = W·a`` (per output channel),
   ``b' = (b - mean)·a + beta``.
4. The GELU pattern ``0.5·x·(1 + Erf(x/√2))`` (the three orders exporters use)
   becomes one ``Gelu`` node; so does the tanh form HF's GPT-2 ``gelu_new`` writes,
   ``0.5·x·(1 + Tanh(sqrt(2/π)·(x + 0.044715·Pow(x, 3))))``, as ``Gelu(approximate='tanh')``.
5. The LayerNorm expansion ``ReduceMean, Sub, Pow 2 (or Mul), ReduceMean, Add eps,
   Sqrt, Div [, Mul gamma] [, Add beta]`` becomes ``LayerNormalization``.

A rewrite applies only when the intermediate tensors it removes are read by
nothing else (and are not graph outputs). New constants live in
``Rewriter.extra`` under names starting with ``zkvm::``.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from .graph import Graph, Node


def as_f64(v: np.ndarray) -> np.ndarray:
    """``v`` as float64 (itself when it already is; float32 converts exactly)."""
    return v if v.dtype == np.float64 else v.astype(np.float64)


class Rewriter:
    """Applies the rewrites of the module docstring to ``graph.nodes``.

    Args:
        graph: the model (its node list is replaced).
        const: name -> constant value, or None when the tensor is not constant.
        shape_of: name -> the tensor's shape (from the calibration run).
    """

    def __init__(self, graph: Graph, const: Callable[[str], np.ndarray | None],
                 shape_of: Callable[[str], tuple[int, ...]]) -> None:
        self.g = graph
        self._const = const
        self.shape_of = shape_of
        self.extra: dict[str, np.ndarray] = {}
        self.applied: list[str] = []

    # ------------------------------------------------------------- helpers
    def const(self, name: str) -> np.ndarray | None:
        if not name:
            return None
        if name in self.extra:
            return as_f64(self.extra[name])
        v = self._const(name)
        return None if v is None else np.asarray(v, dtype=np.float64)

    def _new_const(self, hint: str, value: np.ndarray) -> str:
        """A new constant; a float32 or float64 value is kept as it is (a float32 weight
        would double as a float64 copy: the readers convert one at a time, exactly)."""
        name = f"zkvm::{hint}"
        i = 1
        while name in self.extra:
            i += 1
            name = f"zkvm::{hint}_{i}"
        v = np.asarray(value)
        self.extra[name] = v if v.dtype in (np.float32, np.float64) else v.astype(np.float64)
        return name

    def _index(self) -> None:
        self.prod = self.g.producers()
        self.cons = self.g.consumers()
        self.outs = set(self.g.outputs)

    def _only_reader(self, t: str, node: Node) -> bool:
        """``node`` is the only reader of ``t`` and ``t`` is not a graph output."""
        readers = self.cons.get(t, [])
        return t not in self.outs and len(readers) == 1 and readers[0] is node

    def _single(self, t: str) -> Node | None:
        readers = self.cons.get(t, [])
        if t in self.outs or len(readers) != 1:
            return None
        return readers[0]

    def _scalar(self, name: str) -> float | None:
        v = self.const(name)
        if v is None or v.size != 1:
            return None
        return float(v.reshape(()))

    def run(self) -> list[Node]:
        """Apply every rewrite; returns the new node list (also stored in the graph)."""
        for step in (self._gemm, self._matmul_bias, self._batchnorm, self._gelu, self._layernorm):
            self._index()
            step()
        return self.g.nodes

    def _replace(self, remove: list[Node], new: Node) -> None:
        gone = {id(n) for n in remove}
        last = max(n.index for n in remove)
        nodes = []
        for n in self.g.nodes:
            if id(n) in gone:
                if n.index == last:
                    new.index = last
                    nodes.append(new)
                continue
            nodes.append(n)
        self.g.nodes = nodes
        self._index()

    # ---------------------------------------------------------- 1. Gemm
    def _gemm(self) -> None:
        for n in list(self.g.nodes):
            if n.op != "Gemm" or n.attrs.get("transA", 0):
                continue
            # the model's own array (float32: no float64 copy of every weight), read as
            # float64 one weight at a time by the lowering; alpha is applied in float64
            b = self.extra[n.inputs[1]] if n.inputs[1] in self.extra else self._const(n.inputs[1])
            if b is None or np.ndim(b) != 2:
                continue
            b = np.asarray(b)
            if b.dtype not in (np.float32, np.float64):
                b = b.astype(np.float64)
            w = b.T if n.attrs.get("transB", 0) else b
            alpha = float(n.attrs.get("alpha", 1.0))
            if alpha != 1.0:
                w = alpha * as_f64(w)
            ins = [n.inputs[0], self._new_const(f"{n.name}/W", w)]
            if len(n.inputs) > 2 and n.inputs[2]:
                c = self.const(n.inputs[2])
                if c is None:
                    continue
                ins.append(self._new_const(f"{n.name}/bias", float(n.attrs.get("beta", 1.0)) * c))
            self._replace([n], Node(n.name, "MatMul", ins, n.outputs[:1], {}, "", n.index))
            self.applied.append(f"Gemm {n.name} -> MatMul with bias")

    # ------------------------------------------------- 2. MatMul + Add bias
    def _matmul_bias(self) -> None:
        for n in list(self.g.nodes):
            if n.op != "MatMul" or len(n.inputs) != 2:
                continue
            w = self.const(n.inputs[1])
            if w is None or w.ndim != 2 or n.inputs[0] in self.g.constants:
                continue
            add = self._single(n.outputs[0])
            if add is None or add.op != "Add":
                continue
            other = add.inputs[1] if add.inputs[0] == n.outputs[0] else add.inputs[0]
            b = self.const(other)
            if b is None or (b.ndim and (b.shape[-1] not in (1, w.shape[1])
                                         or any(d != 1 for d in b.shape[:-1]))):
                continue
            bias = np.broadcast_to(b.reshape(-1) if b.ndim else b, (w.shape[1],))
            ins = [n.inputs[0], n.inputs[1], self._new_const(f"{n.name}/bias", bias)]
            self._replace([n, add], Node(n.name, "MatMul", ins, add.outputs[:1], {}, "", n.index))
            self.applied.append(f"MatMul {n.name} + Add {add.name} -> MatMul with bias")

    # ---------------------------------------------------- 3. BatchNorm fold
    def _batchnorm(self) -> None:
        for bn in list(self.g.nodes):
            if bn.op != "BatchNormalization" or len(bn.inputs) < 5:
                continue
            p = self.prod.get(bn.inputs[0])
            if p is None or p.op not in ("Conv", "MatMul") or \
                    not self._only_reader(bn.inputs[0], bn):
                continue
            if len(bn.outputs) > 1 and any(o and self.cons.get(o) for o in bn.outputs[1:]):
                continue
            gamma, beta, mean, var = (self.const(i) for i in bn.inputs[1:5])
            w = self.const(p.inputs[1])
            if any(v is None for v in (gamma, beta, mean, var, w)):
                continue
            eps = float(bn.attrs.get("epsilon", 1e-5))
            a = gamma / np.sqrt(var + eps)
            if p.op == "Conv":
                if int(p.attrs.get("group", 1)) != 1 or w.shape[0] != a.size:
                    continue
                w2 = w * a.reshape((-1,) + (1,) * (w.ndim - 1))
            else:
                if w.ndim != 2 or w.shape[1] != a.size or len(self.shape_of(p.outputs[0])) != 2:
                    continue
                w2 = w * a[None, :]
            b0 = self.const(p.inputs[2]) if len(p.inputs) > 2 and p.inputs[2] else np.zeros(a.size)
            if b0 is None:
                continue
            b2 = (b0 - mean) * a + beta
            ins = [p.inputs[0], self._new_const(f"{p.name}/W_bn", w2),
                   self._new_const(f"{p.name}/bias_bn", b2)]
            self._replace([p, bn], Node(p.name, p.op, ins, bn.outputs[:1], dict(p.attrs), "",
                                        p.index))
            self.applied.append(f"BatchNormalization {bn.name} folded into {p.op} {p.name}")

    # ------------------------------------------------------------ 4. GELU
    def _gelu(self) -> None:
        """Both GELU forms, in graph order: ``0.5·x·(1 + Erf(x/√2))`` -> ``Gelu`` and HF's
        ``gelu_new`` ``0.5·x·(1 + tanh(sqrt(2/π)·(x + 0.044715·x³)))`` -> ``Gelu`` tanh."""
        forms = {"Erf": (self._gelu_match, "none", "Erf pattern at {} -> Gelu"),
                 "Tanh": (self._gelu_tanh_match, "tanh",
                          "tanh-GELU pattern at {} -> Gelu(approximate='tanh')")}
        for f in list(self.g.nodes):
            if f.op not in forms or self.prod.get(f.outputs[0]) is not f:  # gone already
                continue
            match, approximate, what = forms[f.op]
            m = match(f)
            if m is None:
                continue
            x, remove, out = m
            self._replace(remove, Node(f.name, "Gelu", [x], [out], {"approximate": approximate},
                                       "", f.index))
            self.applied.append(what.format(f.name))

    def _gelu_match(self, erf: Node) -> tuple[str, list[Node], str] | None:
        d = self.prod.get(erf.inputs[0])
        if d is None or not self._only_reader(erf.inputs[0], erf) or len(d.inputs) != 2:
            return None
        c = self._scalar(d.inputs[1])
        if c is None:
            return None
        if not ((d.op == "Div" and math.isclose(c, math.sqrt(2), rel_tol=1e-4))
                or (d.op == "Mul" and math.isclose(c, 1 / math.sqrt(2), rel_tol=1e-4))):
            return None
        tail = self._gelu_tail(d.inputs[0], erf)
        return None if tail is None else (tail[0], [d, erf] + tail[1], tail[2])

    def _gelu_tanh_match(self, th: Node) -> tuple[str, list[Node], str] | None:
        """HF ``gelu_new``: ``0.5·x·(1 + tanh(sqrt(2/π)·(x + 0.044715·x³)))``."""
        mc = self.prod.get(th.inputs[0])
        if mc is None or mc.op != "Mul" or not self._only_reader(th.inputs[0], th):
            return None
        a_name, cst = self._split_const(mc)
        if cst is None or not math.isclose(cst, math.sqrt(2 / math.pi), rel_tol=1e-4):
            return None
        a = self.prod.get(a_name)
        if a is None or a.op != "Add" or not self._only_reader(a_name, mc):
            return None
        for x, cube in (a.inputs, a.inputs[::-1]):
            mk = self.prod.get(cube)
            if mk is None or mk.op != "Mul" or not self._only_reader(cube, a):
                continue
            p_name, k = self._split_const(mk)
            pw = self.prod.get(p_name) if p_name else None
            if k is None or not math.isclose(k, 0.044715, rel_tol=1e-4) or pw is None or \
                    pw.op != "Pow" or pw.inputs[0] != x or self._scalar(pw.inputs[1]) != 3.0 or \
                    not self._only_reader(p_name, mk):
                continue
            tail = self._gelu_tail(x, th)
            if tail is not None:
                return tail[0], [pw, mk, a, mc, th] + tail[1], tail[2]
        return None

    def _split_const(self, n: Node) -> tuple[str | None, float | None]:
        """``(tensor, scalar)`` of a binary node with one constant scalar operand."""
        if len(n.inputs) != 2:
            return None, None
        for t, k in (n.inputs, n.inputs[::-1]):
            v = self._scalar(k)
            if v is not None and self.const(t) is None:
                return t, v
        return None, None

    def _gelu_tail(self, x: str, f: Node) -> tuple[str, list[Node], str] | None:
        """``0.5·x·(1 + f)`` after ``f`` (Erf or Tanh) in the three orders exporters use."""
        add = self._single(f.outputs[0])
        if add is None or add.op != "Add":
            return None
        one = add.inputs[1] if add.inputs[0] == f.outputs[0] else add.inputs[0]
        if self._scalar(one) != 1.0:
            return None
        m1 = self._single(add.outputs[0])
        if m1 is None or m1.op != "Mul":
            return None
        other = m1.inputs[1] if m1.inputs[0] == add.outputs[0] else m1.inputs[0]
        half = self._scalar(other)
        if other == x:  # (x * (1 + erf)) * 0.5
            m2 = self._single(m1.outputs[0])
            if m2 is None or m2.op != "Mul":
                return None
            o2 = m2.inputs[1] if m2.inputs[0] == m1.outputs[0] else m2.inputs[0]
            if self._scalar(o2) != 0.5:
                return None
            return x, [add, m1, m2], m2.outputs[0]
        if half == 0.5:  # x * ((1 + erf) * 0.5)
            m2 = self._single(m1.outputs[0])
            if m2 is None or m2.op != "Mul" or x not in m2.inputs:
                return None
            return x, [add, m1, m2], m2.outputs[0]
        h = self.prod.get(other)  # (x * 0.5) * (1 + erf)
        if h is None or h.op != "Mul" or x not in h.inputs or not self._only_reader(other, m1):
            return None
        hx = h.inputs[1] if h.inputs[0] == x else h.inputs[0]
        if self._scalar(hx) != 0.5:
            return None
        return x, [add, h, m1], m1.outputs[0]

    # ------------------------------------------------------- 5. LayerNorm
    def _layernorm(self) -> None:
        for div in list(self.g.nodes):
            if div.op != "Div":
                continue
            m = self._ln_match(div)
            if m is None:
                continue
            x, eps, naxes, remove, out = m
            gamma, beta = self._ln_affine(out, remove, naxes)
            last = remove[-1].outputs[0]
            n = self.shape_of(x)[-1] if naxes == 1 else int(np.prod(self.shape_of(x)[-naxes:]))
            g_name = gamma or self._new_const(f"{div.name}/gamma", np.ones(n))
            b_name = beta or self._new_const(f"{div.name}/beta", np.zeros(n))
            self._replace(remove, Node(div.name, "LayerNormalization", [x, g_name, b_name], [last],
                                       {"epsilon": eps, "axis": -naxes}, "", div.index))
            self.applied.append(f"LayerNorm pattern ending at {div.name} -> LayerNormalization")

    def _axes(self, node: Node) -> list[int] | None:
        if "axes" in node.attrs:
            return list(node.attrs["axes"])
        if len(node.inputs) > 1 and node.inputs[1]:
            v = self.const(node.inputs[1])
            return None if v is None else [int(a) for a in v.reshape(-1)]
        return None

    def _ln_match(self, div: Node) -> tuple[str, float, int, list[Node], str] | None:
        if len(div.inputs) != 2:
            return None
        dname, sname = div.inputs
        sq, sub = self.prod.get(sname), self.prod.get(dname)
        if sq is None or sq.op != "Sqrt" or sub is None or sub.op != "Sub":
            return None
        ad = self.prod.get(sq.inputs[0])
        if ad is None or ad.op != "Add":
            return None
        vname = ad.inputs[0] if self._scalar(ad.inputs[1]) is not None else ad.inputs[1]
        eps = self._scalar(ad.inputs[1] if vname == ad.inputs[0] else ad.inputs[0])
        rm2, rm1 = self.prod.get(vname), self.prod.get(sub.inputs[1])
        if eps is None or rm2 is None or rm1 is None or rm1.op != "ReduceMean" or \
                rm2.op != "ReduceMean":
            return None
        pw = self.prod.get(rm2.inputs[0])
        x = sub.inputs[0]
        if pw is None or rm1.inputs[0] != x:
            return None
        if pw.op == "Pow" and pw.inputs[0] == dname and self._scalar(pw.inputs[1]) == 2.0:
            pass
        elif not (pw.op == "Mul" and pw.inputs == [dname, dname]):
            return None
        rank = len(self.shape_of(x))
        a1, a2 = self._axes(rm1), self._axes(rm2)
        if a1 is None or a2 is None or not rank:
            return None
        a1, a2 = sorted(a % rank for a in a1), sorted(a % rank for a in a2)
        if a1 != a2 or a1 != list(range(rank - len(a1), rank)):
            return None
        if not (rm1.attrs.get("keepdims", 1) and rm2.attrs.get("keepdims", 1)):
            return None
        nodes = [rm1, sub, pw, rm2, ad, sq, div]
        inside = {id(n) for n in nodes}
        for n in nodes[:-1]:
            for o in n.outputs:
                if o in self.outs or any(id(c) not in inside for c in self.cons.get(o, [])):
                    return None
        return x, float(eps), len(a1), nodes, div.outputs[0]

    def _ln_affine(self, out: str, remove: list[Node], naxes: int
                   ) -> tuple[str | None, str | None]:
        """Absorb a following ``Mul gamma`` and ``Add beta`` (constants over the last axis)."""
        gamma = beta = None
        if naxes != 1:
            return gamma, beta
        nxt = self._single(out)
        if nxt is not None and nxt.op == "Mul":
            other = nxt.inputs[1] if nxt.inputs[0] == out else nxt.inputs[0]
            v = self.const(other)
            if v is not None and v.ndim <= 1:
                gamma = other
                remove.append(nxt)
                out = nxt.outputs[0]
                nxt = self._single(out)
        if nxt is not None and nxt.op == "Add":
            other = nxt.inputs[1] if nxt.inputs[0] == out else nxt.inputs[0]
            v = self.const(other)
            if v is not None and v.ndim <= 1:
                beta = other
                remove.append(nxt)
        return gamma, beta
