"""Plain reference twins of :mod:`zkvm.field.kernels` (Python ints on object arrays).

Slow but obviously correct; tests run the same checks over both twins through
one parametrised fixture, with galois as the independent oracle. Same names,
same signatures, same return conventions as the kernels.
"""

from __future__ import annotations

import numpy as np

from zkvm.field.extension import Ext3, ext_class, from_coeffs
from zkvm.field.scalar import P, W, Ext

__all__ = [
    "add", "sub", "mul", "neg", "inv", "batch_inv", "pow_", "sum_", "dot",
    "from_int", "to_signed", "powers",
    "ext_add", "ext_sub", "ext_mul", "ext_neg", "ext_inv", "ext_batch_inv", "ext_pow",
    "ext_mul_base", "ext_from_base", "ext_powers", "ext_sum",
]


def _o(a) -> np.ndarray:
    """Object array of Python ints."""
    a = np.asarray(a)
    flat = np.empty(a.size, dtype=object)
    flat[:] = [int(v) for v in a.reshape(-1)]
    return flat.reshape(a.shape)


def _back(o: np.ndarray) -> np.ndarray:
    o = np.asarray(o, dtype=object)
    return np.array([int(v) % P for v in o.reshape(-1)], dtype=np.uint64).reshape(o.shape)


def _map1(f, a) -> np.ndarray:
    a = _o(a)
    return _back(np.vectorize(f, otypes=[object])(a)) if a.size else _back(a)


def _map2(f, a, b) -> np.ndarray:
    a, b = np.broadcast_arrays(_o(a), _o(b))
    return _back(np.vectorize(f, otypes=[object])(a, b)) if a.size else _back(a)


def add(a, b):
    return _map2(lambda x, y: x + y, a, b)


def sub(a, b):
    return _map2(lambda x, y: x - y, a, b)


def mul(a, b):
    return _map2(lambda x, y: x * y, a, b)


def neg(a):
    return _map1(lambda x: -x, a)


def inv(a):
    a = np.asarray(a)
    if np.any(a.reshape(-1) == 0):
        raise ZeroDivisionError("inv: zero element")
    return _map1(lambda x: pow(x, P - 2, P), a)


batch_inv = inv


def pow_(a, e: int):
    e = int(e)
    if e < 0:
        a, e = inv(a), -e
    return _map1(lambda x: pow(x, e, P), a)


def sum_(a, axis=None):
    o = _o(a)
    if axis is None:
        return int(sum(o.reshape(-1).tolist())) % P
    return _back(o.sum(axis=axis) if o.size else np.zeros(np.delete(o.shape, axis), dtype=object))


def dot(a, b):
    a, b = np.broadcast_arrays(_o(a), _o(b))
    r = (a * b).sum(axis=-1)
    if np.ndim(r) == 0:
        return int(r) % P
    return _back(r)


def from_int(x):
    if isinstance(x, (int, np.integer)):
        return int(x) % P
    return _map1(lambda v: v % P, np.asarray(x))


def to_signed(a):
    o = _o(a)
    r = np.vectorize(lambda v: v - P if v > P // 2 else v, otypes=[object])(o)
    return np.asarray(r.astype(np.int64), dtype=np.int64)


def powers(g, n: int):
    g = int(g) % P
    return np.array([pow(g, i, P) for i in range(int(n))], dtype=np.uint64)


# -- extension ---------------------------------------------------------------
def _e(a) -> np.ndarray:
    if isinstance(a, (Ext, Ext3)):
        return np.array(a.to_list(), dtype=np.uint64)
    return np.asarray(a, dtype=np.uint64)


def _to_ext_objs(a) -> np.ndarray:
    a = _e(a)
    lead = a.shape[:-1]
    flat = a.reshape(-1, a.shape[-1])
    out = np.empty(flat.shape[0], dtype=object)
    for i, row in enumerate(flat.tolist()):
        out[i] = from_coeffs(row)
    return out.reshape(lead)


def _from_ext_objs(o, d: int = 2) -> np.ndarray:
    o = np.asarray(o, dtype=object)
    flat = [x if isinstance(x, (Ext, Ext3)) else ext_class(d)(int(x)) for x in o.reshape(-1)]
    if flat:
        d = flat[0].D
    return np.array([x.to_list() for x in flat], dtype=np.uint64).reshape(o.shape + (d,))


def _emap2(f, a, b):
    a, b = np.broadcast_arrays(_to_ext_objs(a), _to_ext_objs(b))
    return _from_ext_objs(np.vectorize(f, otypes=[object])(a, b)) if a.size else _from_ext_objs(a)


def _emap1(f, a):
    a = _to_ext_objs(a)
    return _from_ext_objs(np.vectorize(f, otypes=[object])(a)) if a.size else _from_ext_objs(a)


def ext_add(a, b):
    return _emap2(lambda x, y: x + y, a, b)


def ext_sub(a, b):
    return _emap2(lambda x, y: x - y, a, b)


def ext_mul(a, b):
    return _emap2(lambda x, y: x * y, a, b)


def ext_neg(a):
    return _emap1(lambda x: -x, a)


def ext_inv(a):
    return _emap1(lambda x: x.inv(), a)


ext_batch_inv = ext_inv


def ext_pow(a, e: int):
    return _emap1(lambda x: x ** int(e), a)


def ext_mul_base(e, b):
    eo = _to_ext_objs(e)
    bo = _o(b)
    eo, bo = np.broadcast_arrays(eo, bo)
    return _from_ext_objs(np.vectorize(lambda x, y: x * y, otypes=[object])(eo, bo))


def ext_from_base(b, d: int = 2):
    b = np.asarray(b, dtype=np.uint64)
    return np.stack([b] + [np.zeros_like(b)] * (d - 1), axis=-1)


def ext_powers(g, n: int):
    g = g if isinstance(g, (Ext, Ext3)) else Ext(int(g))
    out, acc = [], type(g)(1)
    for _ in range(int(n)):
        out.append(acc)
        acc = acc * g
    return _from_ext_objs(np.array(out + [None], dtype=object)[:-1]) if out else np.zeros((0, g.D), np.uint64)


def ext_sum(a, axis: int = 0):
    a = _e(a)
    if axis < 0:
        axis += a.ndim
    return sum_(a, axis=axis)


assert W == 7
