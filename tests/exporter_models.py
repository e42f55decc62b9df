"""ONNX graphs written the way PyTorch's exporters write them (no torch needed).

Each builder reproduces, node for node, the pattern ``torch.onnx.export`` emits
for a PyTorch module (weights seeded), so the compiler is tested on what users
really feed it:

* :func:`gpt2` — a GPT-2 model with ``n_layer`` blocks (one by default), as the
  TorchScript exporter (``torch.onnx.export(..., opset_version=17, dynamo=False)``) writes
  HuggingFace's ``GPT2LMHeadModel`` and nanoGPT:

  - ``input_ids: int64[1, T]`` → ``Gather(wte, ids)`` + ``Gather(wpe, Range(0, Shape[-1]))``
    (or a float ``inputs_embeds`` input);
  - LayerNorm as the ``LayerNormalization`` op (opset ≥ 17) or the
    ``ReduceMean/Sub/Pow/ReduceMean/Add/Sqrt/Div/Mul/Add`` expansion (older opsets);
  - ``c_attn`` as HF's ``Conv1D`` (``Reshape → Gemm → Reshape`` with shapes from
    ``Shape/Slice/Concat``) or nanoGPT's ``nn.Linear`` (``MatMul + Add``), then
    ``Split`` with a ``split`` input (opset ≥ 13), or ``num_outputs`` (opset 18, dynamo);
  - heads by ``Reshape``/``Transpose`` with ``Shape/Gather/Unsqueeze/Concat`` shapes;
  - the causal mask four ways: ``bias`` buffer ``Slice`` + ``Where(mask, s, finfo.min)``
    (HF), ``ConstantOfShape → Trilu → Equal → Where(-inf)`` (nanoGPT's
    ``masked_fill``), ``Range/Less/Where`` into an additive mask, and
    ``scaled_dot_product_attention(is_causal=True)`` (``Mul`` by ``sqrt(scale)``
    on q and kᵀ, ``Trilu``/``Equal``/``Where`` → ``Add``);
  - GELU as HF's ``gelu_new`` (``Pow 3/Mul/Add/Mul/Tanh/Add/Mul``), the Erf form,
    or the opset-20 ``Gelu`` op; final LayerNorm, tied ``lm_head``.

* :func:`resnet` — a torchvision-style CNN: stem ``Conv(+BatchNormalization
  when not fused)/Relu/MaxPool(pad 1)``, a basic block and a downsampling block
  with residual ``Add``, ``GlobalAveragePool`` (TorchScript) or ``ReduceMean``
  (dynamo), ``Flatten``, ``Gemm(transB=1)``.

The dynamo exporter (``dynamo=True``, opset 18) writes the same ops with
static shapes folded into ``Constant`` nodes, ``ReduceMean`` axes as an input
and ``Split(num_outputs=3)``: ``dynamo=True`` here.
"""

from __future__ import annotations

import math

import numpy as np
from onnx import TensorProto, helper, numpy_helper

FINFO_MIN = float(np.finfo(np.float32).min)


class G:
    """Node/initializer accumulator with exporter-like names (``/h.0/attn/MatMul``)."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.nodes, self.inits, self.k = [], [], 0

    def init(self, name: str, value, dtype=np.float32) -> str:
        self.inits.append(numpy_helper.from_array(np.asarray(value, dtype=dtype), name))
        return name

    def const(self, value, dtype=np.float32, scope: str = "") -> str:
        """A ``Constant`` node (TorchScript writes scalars and shapes this way)."""
        self.k += 1
        out = f"{scope}/Constant_{self.k}_output_0"
        self.nodes.append(helper.make_node(
            "Constant", [], [out], name=f"{scope}/Constant_{self.k}",
            value=numpy_helper.from_array(np.asarray(value, dtype=dtype), "")))
        return out

    def i64(self, value, scope: str = "") -> str:
        return self.const(value, np.int64, scope)

    def op(self, op: str, inputs: list[str], scope: str = "", n_out: int = 1, **attrs):
        self.k += 1
        outs = [f"{scope}/{op}_{self.k}_output_{i}" for i in range(n_out)]
        self.nodes.append(helper.make_node(op, inputs, outs, name=f"{scope}/{op}_{self.k}",
                                           **attrs))
        return outs[0] if n_out == 1 else outs

    def weight(self, name: str, shape, std: float = 0.02) -> str:
        return self.init(name, self.rng.standard_normal(shape) * std)

    def model(self, inputs, outputs, opset: int):
        g = helper.make_graph(self.nodes, "main_graph", inputs, outputs, self.inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="pytorch", producer_version="2.5.0")
        m.ir_version = 8
        return m


# ------------------------------------------------------------------ pieces
def shape_dim(g: G, x: str, i: int, scope: str) -> str:
    """``x.size(i)`` as TorchScript writes it: ``Shape → Gather(i)`` (a 0-d int64)."""
    return g.op("Gather", [g.op("Shape", [x], scope), g.i64(i, scope)], scope, axis=0)


def layer_norm(g: G, x: str, d: int, name: str, expanded: bool, dynamo: bool) -> str:
    s = f"/{name}"
    w = g.init(f"{name}.weight", 1.0 + 0.1 * g.rng.standard_normal(d))
    b = g.init(f"{name}.bias", 0.05 * g.rng.standard_normal(d))
    if not expanded:
        return g.op("LayerNormalization", [x, w, b], s, axis=-1, epsilon=1e-5)
    axes = {"axes": [-1]}

    def rmean(t: str) -> str:
        if dynamo:  # opset 18: axes as an input
            return g.op("ReduceMean", [t, g.i64([-1], s)], s, keepdims=1)
        return g.op("ReduceMean", [t], s, keepdims=1, **axes)

    mu = rmean(x)
    dd = g.op("Sub", [x, mu], s)
    var = rmean(g.op("Pow", [dd, g.const(2.0, scope=s)], s))
    std = g.op("Sqrt", [g.op("Add", [var, g.const(1e-5, scope=s)], s)], s)
    return g.op("Add", [g.op("Mul", [g.op("Div", [dd, std], s), w], s), b], s)


def conv1d(g: G, x: str, n_in: int, n_out: int, name: str, std: float = 0.1) -> str:
    """HF ``Conv1D``: ``size_out = x.size()[:-1] + (nf,)``; ``addmm(b, x.view(-1, nx), W)``."""
    s = f"/{name}"
    w = g.weight(f"{name}.weight", (n_in, n_out), std)
    b = g.weight(f"{name}.bias", (n_out,), 0.02)
    shp = g.op("Shape", [x], s)
    head = g.op("Slice", [shp, g.i64([0], s), g.i64([-1], s), g.i64([0], s)], s)
    size_out = g.op("Concat", [head, g.i64([n_out], s)], s, axis=0)
    last = g.op("Unsqueeze", [shape_dim(g, x, -1, s), g.i64([0], s)], s)
    flat = g.op("Reshape", [x, g.op("Concat", [g.i64([-1], s), last], s, axis=0)], s)
    y = g.op("Gemm", [flat, w, b], s, alpha=1.0, beta=1.0)
    return g.op("Reshape", [y, size_out], s)


def linear(g: G, x: str, n_in: int, n_out: int, name: str, std: float = 0.1) -> str:
    """``nn.Linear``: ``MatMul(x, Wᵀ)`` (the transposed weight is an initializer) ``+ b``."""
    s = f"/{name}"
    w = g.weight(f"onnx::MatMul_{name}", (n_in, n_out), std)
    b = g.weight(f"{name}.bias", (n_out,), 0.02)
    return g.op("Add", [b, g.op("MatMul", [x, w], s)], s)  # TorchScript: Add(bias, MatMul)


def split_heads(g: G, t: str, heads: int, dh: int, perm, s: str, dynamo: bool, seq: int) -> str:
    if dynamo:
        shape = g.i64([1, seq, heads, dh], s)
    else:  # tensor.size()[:-1] + (num_heads, attn_head_size)
        shp = g.op("Shape", [t], s)
        head = g.op("Slice", [shp, g.i64([0], s), g.i64([-1], s), g.i64([0], s)], s)
        shape = g.op("Concat", [head, g.i64([heads], s), g.i64([dh], s)], s, axis=0)
    return g.op("Transpose", [g.op("Reshape", [t, shape], s)], s, perm=perm)


def causal_scores(g: G, q: str, k: str, seq: int, dh: int, n_ctx: int, mask: str, s: str,
                  block: str = "h.0") -> str:
    """Masked attention probabilities ``softmax(mask(q·kᵀ/sqrt(dh)))`` as each exporter writes it."""
    if mask == "sdpa":  # torch.onnx symbolic_opset14.scaled_dot_product_attention(is_causal)
        e = g.op("Cast", [g.op("Slice", [g.op("Shape", [q], s), g.i64([-1], s),
                                          g.i64([2**62], s)], s)], s, to=TensorProto.FLOAT)
        scale = g.op("Div", [g.const(1.0, scope=s), g.op("Sqrt", [e], s)], s)
        sq = g.op("Sqrt", [scale], s)
        kt = g.op("Transpose", [k], s, perm=[0, 1, 3, 2])
        qk = g.op("MatMul", [g.op("Mul", [q, sq], s), g.op("Mul", [kt, sq], s)], s)
        ln = g.op("Slice", [g.op("Shape", [q], s), g.i64([-2], s), g.i64([-1], s)], s)
        sn = g.op("Slice", [g.op("Shape", [k], s), g.i64([-2], s), g.i64([-1], s)], s)
        ones = g.op("ConstantOfShape", [g.op("Concat", [ln, sn], s, axis=0)], s,
                    value=numpy_helper.from_array(np.array([1.0], np.float32), ""))
        tri = g.op("Trilu", [ones], s, upper=0)
        eq = g.op("Equal", [tri, g.const(0.0, scope=s)], s)
        am = g.op("Where", [eq, g.const(-np.inf, scope=s), g.const(0.0, scope=s)], s)
        return g.op("Softmax", [g.op("Add", [qk, am], s)], s, axis=-1)
    kt = g.op("Transpose", [k], s, perm=[0, 1, 3, 2])
    w = g.op("MatMul", [q, kt], s)
    if mask == "trilu":  # nanoGPT: att * (1/sqrt(k.size(-1))), masked_fill(tril == 0, -inf)
        e = g.op("Cast", [shape_dim(g, k, -1, s)], s, to=TensorProto.FLOAT)
        w = g.op("Mul", [w, g.op("Div", [g.const(1.0, scope=s), g.op("Sqrt", [e], s)], s)], s)
        t = shape_dim(g, q, 2, s)
        tt = g.op("Concat", [g.op("Unsqueeze", [t, g.i64([0], s)], s),
                             g.op("Unsqueeze", [t, g.i64([0], s)], s)], s, axis=0)
        ones = g.op("ConstantOfShape", [tt], s,
                    value=numpy_helper.from_array(np.array([1.0], np.float32), ""))
        tri = g.op("Unsqueeze", [g.op("Trilu", [ones], s, upper=0), g.i64([0, 1], s)], s)
        eq = g.op("Equal", [tri, g.const(0.0, scope=s)], s)
        w = g.op("Where", [eq, g.const(-np.inf, scope=s), w], s)
        return g.op("Softmax", [w], s, axis=-1)
    # HF GPT2Attention._attn: attn_weights / torch.full([], value.size(-1) ** 0.5)
    d = g.op("Cast", [shape_dim(g, k, 3, s)], s, to=TensorProto.FLOAT)
    w = g.op("Div", [w, g.op("Pow", [d, g.const(0.5, scope=s)], s)], s)
    if mask == "bias":  # causal_mask = self.bias[:, :, kl - ql : kl, :kl]; where(mask, w, min)
        bias = g.init(f"{block}.attn.bias", np.tril(np.ones((n_ctx, n_ctx)))[None, None], np.bool_)
        ql, kl = shape_dim(g, q, -2, s), shape_dim(g, k, -2, s)
        st = g.op("Unsqueeze", [g.op("Sub", [kl, ql], s), g.i64([0], s)], s)
        en = g.op("Unsqueeze", [kl, g.i64([0], s)], s)
        m = g.op("Slice", [bias, st, en, g.i64([2], s), g.i64([1], s)], s)
        m = g.op("Slice", [m, g.i64([0], s), en, g.i64([3], s), g.i64([1], s)], s)
        mv = g.const(FINFO_MIN, scope=s)
        w = g.op("Where", [m, g.op("Cast", [w], s, to=TensorProto.FLOAT), mv], s)
    elif mask == "range":  # mask = where(arange(T)[None] > arange(T)[:, None], min, 0); w + mask
        t = shape_dim(g, q, 2, s)
        r = g.op("Range", [g.i64(0, s), t, g.i64(1, s)], s)
        rows = g.op("Unsqueeze", [r, g.i64([1], s)], s)
        cols = g.op("Unsqueeze", [r, g.i64([0], s)], s)
        tt = g.op("Concat", [g.op("Unsqueeze", [t, g.i64([0], s)], s),
                             g.op("Unsqueeze", [t, g.i64([0], s)], s)], s, axis=0)
        full = g.op("ConstantOfShape", [tt], s,
                    value=numpy_helper.from_array(np.array([FINFO_MIN], np.float32), ""))
        am = g.op("Where", [g.op("Less", [rows, cols], s), full, g.const(0.0, scope=s)], s)
        w = g.op("Add", [w, am], s)
    else:
        raise ValueError(mask)
    return g.op("Softmax", [w], s, axis=-1)


def gelu(g: G, x: str, kind: str, s: str) -> str:
    if kind == "op":
        return g.op("Gelu", [x], s)
    if kind == "erf":  # TorchScript gelu (approximate='none') before opset 20
        e = g.op("Erf", [g.op("Div", [x, g.const(1.4142135381698608, scope=s)], s)], s)
        y = g.op("Mul", [x, g.op("Add", [e, g.const(1.0, scope=s)], s)], s)
        return g.op("Mul", [y, g.const(0.5, scope=s)], s)
    # HF gelu_new: 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x^3)))
    half = g.op("Mul", [x, g.const(0.5, scope=s)], s)
    p = g.op("Pow", [x, g.const(3.0, scope=s)], s)
    a = g.op("Add", [x, g.op("Mul", [p, g.const(0.044715, scope=s)], s)], s)
    t = g.op("Tanh", [g.op("Mul", [a, g.const(math.sqrt(2.0 / math.pi), scope=s)], s)], s)
    return g.op("Mul", [half, g.op("Add", [t, g.const(1.0, scope=s)], s)], s)


# ------------------------------------------------------------------- GPT-2
def gpt2(vocab: int = 64, seq: int = 8, d: int = 32, heads: int = 2, n_ctx: int = 16,
         seed: int = 0, ids: bool = True, ln: str = "op", gelu_kind: str = "tanh",
         mask: str = "bias", qkv: str = "conv1d", dynamo: bool = False, lm_head: bool = True,
         opset: int | None = None, dynamic_axes: bool = False, use_cache: bool = False,
         n_layer: int = 1, init: str = "test"):
    """A GPT-2 with ``n_layer`` blocks (see the module docstring); returns the ModelProto.

    Output ``logits [1, T, vocab]`` (tied ``lm_head``) or ``last_hidden_state``;
    ``dynamic_axes``: the input's dims are ``batch`` and ``sequence`` (symbolic);
    ``use_cache`` (HF's default): also the outputs ``present.{i}.key``/``present.{i}.value``
    (the key and value heads of every block).

    ``init="test"``: large weights (std 0.1) so a one-block toy has visible structure;
    ``init="gpt2"``: GPT-2's initialisation scale (Radford et al. 2019, HF
    ``GPT2PreTrainedModel._init_weights``): linear weights std 0.02, the residual
    projections (``attn.c_proj``, ``mlp.c_proj``) std ``0.02 / sqrt(2 * n_layer)``,
    ``wpe`` std 0.01; biases and LayerNorm affine terms keep small seeded offsets
    (a trained model's are not exactly 0 and 1). LayerNorm keeps the activations
    O(1) whatever the depth.
    """
    if init not in ("test", "gpt2"):
        raise ValueError(f"init must be 'test' or 'gpt2', not {init!r}")
    if opset is None:
        opset = 18 if dynamo else (20 if gelu_kind == "op" else (17 if ln == "op" else 16))
    g = G(seed)
    dh = d // heads
    gp = init == "gpt2"
    w_std, fc_proj_std = (0.02, 0.02 / math.sqrt(2 * n_layer)) if gp else (0.1, 0.05)
    attn_proj_std = fc_proj_std if gp else 0.1
    wte = None  # the test init draws it always (the seeded stream of the one-block tests)
    if ids or not gp:
        wte = g.weight("transformer.wte.weight", (vocab, d), 0.02 if gp else 0.5)
    wpe = g.weight("transformer.wpe.weight", (n_ctx, d), 0.01 if gp else 0.2)
    if ids:
        x_in = helper.make_tensor_value_info("input_ids", TensorProto.INT64,
                                             ["batch", "sequence"] if dynamic_axes else [1, seq])
        src = "input_ids"
        last = g.op("Unsqueeze", [shape_dim(g, src, -1, "/transformer"), g.i64([0])],
                    "/transformer")
        flat = g.op("Reshape", [src, g.op("Concat", [g.i64([-1]), last], "/transformer",
                                          axis=0)], "/transformer")
        tok = g.op("Gather", [wte, flat], "/transformer/wte")
    else:
        x_in = helper.make_tensor_value_info(
            "inputs_embeds", TensorProto.FLOAT, ["batch", "sequence", d] if dynamic_axes else
            [1, seq, d])
        src = tok = "inputs_embeds"
    t = shape_dim(g, src, 1, "/transformer")
    pos = g.op("Unsqueeze", [g.op("Range", [g.i64(0), t, g.i64(1)], "/transformer"),
                             g.i64([0])], "/transformer")
    h = g.op("Add", [tok, g.op("Gather", [wpe, pos], "/transformer/wpe")], "/transformer")
    expanded = ln == "expanded"
    proj = conv1d if qkv == "conv1d" else linear
    present = []
    for i in range(n_layer):
        blk = f"h.{i}"
        # ---- block i: attention
        a = layer_norm(g, h, d, f"{blk}.ln_1", expanded, dynamo)
        s = f"/{blk}/attn"
        qkv_t = proj(g, a, d, 3 * d, f"{blk}.attn.c_attn", w_std)
        if dynamo:  # opset 18
            q, k, v = g.op("Split", [qkv_t], s, n_out=3, axis=2, num_outputs=3)
        else:
            q, k, v = g.op("Split", [qkv_t, g.i64([d, d, d], s)], s, n_out=3, axis=2)
        qh = split_heads(g, q, heads, dh, [0, 2, 1, 3], s, dynamo, seq)
        kh = split_heads(g, k, heads, dh, [0, 2, 1, 3], s, dynamo, seq)
        vh = split_heads(g, v, heads, dh, [0, 2, 1, 3], s, dynamo, seq)
        present += [helper.make_tensor_value_info(t, TensorProto.FLOAT, None) for t in (kh, vh)]
        p = causal_scores(g, qh, kh, seq, dh, n_ctx, mask, s, blk)
        o = g.op("Transpose", [g.op("MatMul", [p, vh], s)], s, perm=[0, 2, 1, 3])
        if dynamo:
            merged = g.i64([1, seq, d], s)
        else:  # tensor.size()[:-2] + (num_heads * attn_head_size,)
            head = g.op("Slice", [g.op("Shape", [o], s), g.i64([0], s), g.i64([-2], s),
                                  g.i64([0], s)], s)
            merged = g.op("Concat", [head, g.i64([d], s)], s, axis=0)
        o = g.op("Reshape", [o, merged], s)
        h = g.op("Add", [proj(g, o, d, d, f"{blk}.attn.c_proj", attn_proj_std), h], f"/{blk}")
        # ---- block i: MLP
        m = layer_norm(g, h, d, f"{blk}.ln_2", expanded, dynamo)
        f = proj(g, m, d, 4 * d, f"{blk}.mlp.c_fc", w_std)
        f = gelu(g, f, gelu_kind, f"/{blk}/mlp/act")
        h = g.op("Add", [h, proj(g, f, 4 * d, d, f"{blk}.mlp.c_proj", fc_proj_std)], f"/{blk}")
    h = layer_norm(g, h, d, "ln_f", expanded, dynamo)
    if lm_head:  # tied weights: MatMul with wteᵀ (an initializer of its own)
        if wte is None:
            raise ValueError("lm_head needs the token embedding (ids=True)")
        out = g.op("MatMul", [h, g.init("onnx::MatMul_lm_head", numpy_helper.to_array(
            next(i for i in g.inits if i.name == wte)).T)], "/lm_head")
        name, shape = "logits", [1, seq, vocab]
    else:
        out, name, shape = h, "last_hidden_state", [1, seq, d]
    g.nodes[-1].output[0] = name
    for n in g.nodes:  # the last node's output was renamed
        for i, inp in enumerate(n.input):
            if inp == out:
                n.input[i] = name
    if dynamic_axes:
        shape = ["batch", "sequence", shape[-1]]
    outs = [helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)]
    return g.model([x_in], outs + (present if use_cache else []), opset)


def block_params(model) -> int:
    """Parameters of the transformer blocks (``h.*``; not wte/wpe, not ln_f, no buffers)."""
    return int(sum(np.prod(i.dims) for i in model.graph.initializer
                   if i.name.startswith("h.") and i.data_type == TensorProto.FLOAT)
               + sum(np.prod(i.dims) for i in model.graph.initializer
                     if i.name.startswith("onnx::MatMul_h.")))


# ------------------------------------------------------------------ ResNet
def resnet(seed: int = 0, fused: bool = True, pool: str = "global", hw: int = 16,
           width: int = 8, classes: int = 10):
    """A torchvision-style ResNet: stem, one basic block, one downsampling block, head.

    ``fused=True``: BatchNorm folded into Conv by the exporter (``Conv`` with bias,
    ``torch.onnx.export`` in eval mode); ``False``: ``BatchNormalization`` nodes
    (``training=TrainingMode.PRESERVE`` or ``do_constant_folding=False``).
    ``pool``: ``global`` (``GlobalAveragePool``, TorchScript) or ``mean``
    (``ReduceMean`` over H, W with keepdims, dynamo).
    """
    g = G(seed)
    r = g.rng

    def conv_bn(x: str, cin: int, cout: int, k: int, stride: int, name: str) -> str:
        w = g.init(f"{name}.weight", r.standard_normal((cout, cin, k, k)) *
                   math.sqrt(2.0 / (cin * k * k)))
        gamma, beta = r.uniform(0.5, 1.5, cout), r.normal(0, 0.1, cout)
        mean, var = r.normal(0, 0.1, cout), r.uniform(0.5, 2.0, cout)
        pads = [k // 2] * 4
        s = f"/{name}"
        if fused:
            a = gamma / np.sqrt(var + 1e-5)
            wf = numpy_helper.to_array(g.inits.pop()) * a[:, None, None, None]
            wn = g.init(f"onnx::Conv_{name}", wf)
            bn = g.init(f"onnx::Conv_{name}_b", beta - mean * a)
            return g.op("Conv", [x, wn, bn], s, kernel_shape=[k, k], pads=pads,
                        strides=[stride, stride], dilations=[1, 1], group=1)
        y = g.op("Conv", [x, w], s, kernel_shape=[k, k], pads=pads, strides=[stride, stride],
                 dilations=[1, 1], group=1)
        ins = [g.init(f"{name}.bn.{t}", v) for t, v in
               (("weight", gamma), ("bias", beta), ("running_mean", mean), ("running_var", var))]
        return g.op("BatchNormalization", [y, *ins], s, epsilon=1e-5, momentum=0.9)

    x = "input"
    y = g.op("Relu", [conv_bn(x, 3, width, 3, 1, "conv1")], "/relu")
    y = g.op("MaxPool", [y], "/maxpool", kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[2, 2],
             ceil_mode=0, dilations=[1, 1])
    # layer1: BasicBlock (identity shortcut)
    z = g.op("Relu", [conv_bn(y, width, width, 3, 1, "layer1.0.conv1")], "/layer1/0/relu")
    z = conv_bn(z, width, width, 3, 1, "layer1.0.conv2")
    y = g.op("Relu", [g.op("Add", [z, y], "/layer1/0")], "/layer1/0/relu_1")
    # layer2: BasicBlock with stride 2 and a 1x1 downsample shortcut
    z = g.op("Relu", [conv_bn(y, width, 2 * width, 3, 2, "layer2.0.conv1")], "/layer2/0/relu")
    z = conv_bn(z, 2 * width, 2 * width, 3, 1, "layer2.0.conv2")
    sc = conv_bn(y, width, 2 * width, 1, 2, "layer2.0.downsample.0")
    y = g.op("Relu", [g.op("Add", [z, sc], "/layer2/0")], "/layer2/0/relu_1")
    if pool == "global":
        y = g.op("GlobalAveragePool", [y], "/avgpool")
    else:
        y = g.op("ReduceMean", [y, g.i64([-1, -2])], "/avgpool", keepdims=1)
    y = g.op("Flatten", [y], "", axis=1)
    fc_w = g.init("fc.weight", r.standard_normal((classes, 2 * width)) / math.sqrt(2 * width))
    fc_b = g.init("fc.bias", r.normal(0, 0.05, classes))
    y = g.op("Gemm", [y, fc_w, fc_b], "/fc", alpha=1.0, beta=1.0, transB=1)
    g.nodes[-1].output[0] = "logits"
    return g.model([helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, hw, hw])],
                   [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, classes])],
                   18 if pool == "mean" else 17)
