"""An ONNX model as the compiler sees it: plain nodes, inputs, outputs, constants.

:func:`load_graph` reads a ``ModelProto`` (or a file) into a :class:`Graph` of
:class:`Node` objects with decoded attributes, checks the opset (11 or newer,
standard domain) and finds the *constant* tensors: initializers, ``Constant``
outputs, ``Shape``/``Size`` (every shape is fixed once the inputs' shapes are)
and anything computed only from those. Constant nodes are folded: their values
come from the reference evaluator's run (:mod:`.calibrate`), so no operator of
a constant subgraph needs a lowering.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any


from .errors import OnnxCompileError, UnsupportedOpError, require_onnx

#: Oldest default-domain opset the compiler accepts.
MIN_OPSET = 11

#: Ops whose result depends only on the input's (fixed) shape.
SHAPE_OPS = ("Shape", "Size")

_FLOAT_TYPES = {1: "float32", 10: "float16", 11: "float64", 16: "bfloat16"}
#: integer inputs are accepted as indices (token ids): see :mod:`.ops_index`
INT_TYPES = {6: "int32", 7: "int64"}


@dataclass
class Node:
    """One ONNX node with decoded attributes.

    Attributes:
        name: the node's name, or ``OpType#index`` when it has none (for messages).
        op: the operator type (``Conv``).
        inputs: input tensor names (``""`` for an omitted optional input).
        outputs: output tensor names.
        attrs: attribute values (ints, floats, lists, strings, numpy arrays).
        domain: the operator's domain (``""`` for the standard one).
        index: position in the graph (topological order).
    """

    name: str
    op: str
    inputs: list[str]
    outputs: list[str]
    attrs: dict[str, Any] = field(default_factory=dict)
    domain: str = ""
    index: int = 0

    @property
    def where(self) -> str:
        return f"op {self.op} at node {self.name}"


@dataclass
class InputInfo:
    """A graph input that is not an initializer: name, dims (int, or a str/None when dynamic)."""

    name: str
    dims: list[int | str | None]
    dtype: str


@dataclass
class Graph:
    """The model, flattened for the compiler (see module docstring)."""

    model: Any
    path: str
    opset: int
    nodes: list[Node]
    inputs: list[InputInfo]
    outputs: list[str]
    #: initializer name -> shape (the values are read by the reference evaluator; a second
    #: decoded copy here cost 4 B per parameter)
    initializers: dict[str, tuple[int, ...]]
    constants: set[str] = field(default_factory=set)

    def producers(self) -> dict[str, Node]:
        """Tensor name -> the node that computes it."""
        return {o: n for n in self.nodes for o in n.outputs if o}

    def consumers(self) -> dict[str, list[Node]]:
        """Tensor name -> the nodes that read it (graph outputs are not listed)."""
        out: dict[str, list[Node]] = {}
        for n in self.nodes:
            for i in n.inputs:
                if i:
                    out.setdefault(i, []).append(n)
        return out


def read_model(model: Any) -> tuple[Any, str]:
    """A ``ModelProto`` from a path or a model; returns ``(model, display name)``.

    Raises:
        OnnxCompileError: the file is missing or is not an ONNX model.
    """
    onnx = require_onnx()
    if isinstance(model, onnx.ModelProto):
        return model, model.graph.name or "model"
    path = os.fspath(model)
    if not os.path.exists(path):
        raise OnnxCompileError(f"model file '{path}' not found")
    try:
        proto = onnx.load(path)
    except Exception as e:  # noqa: BLE001 - protobuf raises several unrelated types
        raise OnnxCompileError(f"cannot read '{path}' as an ONNX model: {type(e).__name__}: "
                               f"{str(e).splitlines()[0] if str(e) else 'invalid file'}") from None
    if not proto.graph.node and not proto.graph.output:
        raise OnnxCompileError(f"'{path}' holds no ONNX graph (is it an ONNX model file?)")
    return proto, path


def load_graph(model: Any) -> Graph:
    """Decode ``model`` (path or ``ModelProto``) into a :class:`Graph` and find its constants.

    Raises:
        OnnxCompileError: unreadable model, opset older than 11, inputs neither float nor
            integer.
        UnsupportedOpError: control flow or other subgraph-carrying nodes.
    """
    onnx = require_onnx()
    from onnx import helper, numpy_helper

    proto, path = read_model(model)
    opset = None
    for imp in proto.opset_import:
        if imp.domain in ("", "ai.onnx"):
            opset = int(imp.version)
    if opset is None:
        raise OnnxCompileError(f"{path}: the model imports no standard ONNX opset")
    if opset < MIN_OPSET:
        raise OnnxCompileError(
            f"{path}: opset {opset} is older than {MIN_OPSET}; re-export the model with a newer "
            "opset (e.g. torch.onnx.export(..., opset_version=17)) or convert it with "
            "onnx.version_converter.convert_version(model, 17)")
    g = proto.graph
    inits = {}
    for t in g.initializer:
        try:
            inits[t.name] = tuple(numpy_helper.to_array(t).shape)  # decoded to check it
        except Exception as e:  # noqa: BLE001 - e.g. external data that is missing
            raise OnnxCompileError(f"{path}: cannot read initializer '{t.name}': {e}") from None
    nodes = []
    for i, n in enumerate(g.node):
        attrs = {}
        for a in n.attribute:
            if a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS):
                raise UnsupportedOpError(
                    f"op {n.op_type} at node {n.name or f'{n.op_type}#{i}'} is not supported: "
                    "control flow (subgraphs) cannot be compiled to a fixed tensor program; "
                    "export the model with the branch or loop unrolled")
            v = helper.get_attribute_value(a)
            if isinstance(v, onnx.TensorProto):
                v = numpy_helper.to_array(v)
            elif isinstance(v, bytes):
                v = v.decode("utf-8", "replace")
            elif isinstance(v, list) and v and isinstance(v[0], bytes):
                v = [s.decode("utf-8", "replace") for s in v]
            attrs[a.name] = v
        nodes.append(Node(n.name or f"{n.op_type}#{i}", n.op_type, list(n.input), list(n.output),
                          attrs, n.domain if n.domain != "ai.onnx" else "", i))
    inputs = []
    for vi in g.input:
        if vi.name in inits:
            continue
        tt = vi.type.tensor_type
        if not vi.type.HasField("tensor_type"):
            raise OnnxCompileError(f"{path}: input '{vi.name}' is not a tensor")
        if tt.elem_type not in _FLOAT_TYPES and tt.elem_type not in INT_TYPES:
            name = onnx.TensorProto.DataType.Name(tt.elem_type).lower()
            raise OnnxCompileError(
                f"{path}: input '{vi.name}' has element type {name}; zkvm compiles models whose "
                "inputs are real numbers (float) or integer indices (int32/int64 token ids "
                "read by Gather)")
        dims: list[int | str | None] = []
        if tt.HasField("shape"):
            for d in tt.shape.dim:
                if d.HasField("dim_value") and d.dim_value > 0:
                    dims.append(int(d.dim_value))
                else:
                    dims.append(d.dim_param or None)
        else:
            raise OnnxCompileError(
                f"{path}: input '{vi.name}' has no shape (not even its rank); export the model "
                "with input shapes")
        inputs.append(InputInfo(vi.name, dims,
                                _FLOAT_TYPES.get(tt.elem_type) or INT_TYPES[tt.elem_type]))
    if not inputs:
        raise OnnxCompileError(f"{path}: the model has no inputs (everything is constant)")
    graph = Graph(proto, path, opset, nodes, inputs, [o.name for o in g.output], inits)
    graph.constants = find_constants(graph)
    for o in graph.outputs:
        if o in graph.constants:
            raise OnnxCompileError(f"{path}: output '{o}' does not depend on the inputs; "
                                   "remove it from the model's outputs")
    return graph


def find_constants(graph: Graph) -> set[str]:
    """Names of every tensor whose value does not depend on the inputs' values."""
    const = set(graph.initializers)
    for n in graph.nodes:
        ins = [i for i in n.inputs if i]
        if n.op in SHAPE_OPS or all(i in const for i in ins):
            const.update(o for o in n.outputs if o)
    return const


def shape_str(dims: list[Any]) -> str:
    """``[1, 'N', 3]`` -> ``[1,N,3]`` (unknown dims as ``?``)."""
    return "[" + ",".join("?" if d is None else str(d) for d in dims) + "]"
