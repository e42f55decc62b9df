"""ONNX as PyTorch's exporters write it: GPT-2 blocks and torchvision-style ResNets.

The graphs come from ``tests/exporter_models.py`` (built with ``onnx.helper`` in
the exact patterns of ``torch.onnx.export``; torch is not needed). Each is
compiled with seeded calibration samples, compared with onnx's reference
evaluator on a held-out input, and a few are proved and verified at the
``test`` preset (d=32, 2 heads, seq 8).
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
import exporter_models as em
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

from zkvm import api
from zkvm.assembler import assemble, disassemble
from zkvm.assembler.onnx import CompileOptions, OnnxCompileError, UnsupportedOpError, compile_onnx
from zkvm.io import quantize_inputs
from zkvm.runtime import execute
from zkvm.stark.errors import VerificationError

VOCAB, SEQ, D = 64, 8, 32

GPT2 = {
    "torchscript-hf": {},  # Conv1D Gemm, bias-buffer Where(finfo.min), gelu_new, LN op
    "torchscript-dynamic-axes": {"dynamic_axes": True},  # batch, sequence fixed by the samples
    "torchscript-hf-use-cache": {"use_cache": True},  # present.0.key/value outputs too
    "nanogpt-trilu-masked-fill": {"mask": "trilu", "qkv": "linear", "gelu_kind": "erf"},
    "range-less-additive-mask": {"mask": "range"},
    "sdpa-is-causal": {"mask": "sdpa", "qkv": "linear"},
    "opset16-layernorm-expansion": {"ln": "expanded"},
    "opset20-gelu-op": {"gelu_kind": "op"},
    "dynamo-opset18": {"dynamo": True, "mask": "sdpa", "qkv": "linear", "gelu_kind": "erf"},
    "dynamo-opset18-expanded": {"dynamo": True, "ln": "expanded"},
    "float-embeddings": {"ids": False, "lm_head": False},
}


def samples(kw, n, seed=1):
    rng = np.random.default_rng(seed)
    if kw.get("ids", True):
        return "input_ids", rng.integers(0, VOCAB, (n, 1, SEQ)).astype(np.float64)
    return "inputs_embeds", rng.standard_normal((n, 1, SEQ, D))


def held_out_error(model, res, name, x):
    prog = res.program
    ex = execute(prog, quantize_inputs({prog.inputs[0].name: x}, prog))
    dtype = np.int64 if name == "input_ids" else np.float32
    ref = ReferenceEvaluator(model).run(None, {name: x.astype(dtype)})[0]
    got = ex.output_floats()[prog.outputs[0]].reshape(ref.shape)
    return float(np.max(np.abs(got - ref))), float(np.max(np.abs(ref)))


@pytest.fixture(scope="module", params=sorted(GPT2))
def gpt2(request):
    kw = GPT2[request.param]
    model = em.gpt2(**kw)
    name, xs = samples(kw, 9)
    res = compile_onnx(model, samples={name: xs[:8]})
    return request.param, kw, model, res, name, xs[8]


def test_gpt2_exports_compile_within_error(gpt2):
    """Every export pattern compiles; the error stays below 3e-4 of the output's magnitude."""
    _, kw, model, res, name, x = gpt2
    for out in res.report.outputs:
        assert out.max_abs <= 3e-4 * out.max_ref, res.report.format()
    assert len(res.report.outputs) == (3 if kw.get("use_cache") else 1)
    err, mag = held_out_error(model, res, name, x)
    assert err <= 3e-4 * mag + 1e-3, (err, mag)
    ops = {i.op for i in res.program.instructions}
    assert ops <= {"matmul", "add", "sub", "mul", "sum", "max", "rescale", "div", "relu", "lut",
                   "reshape", "transpose", "slice", "concat", "broadcast"}, ops
    tables = [i for i in res.program.instructions if i.op == "lut" and i.attrs["fn"] == "table"]
    assert len(tables) == (1 if kw.get("ids", True) else 0)  # V·d = 2048 entries: one table
    assert any("the following Softmax gives them exactly 0" in n for n in res.notes), res.notes
    gelu = kw.get("gelu_kind", "tanh")
    assert any({"tanh": "tanh-GELU pattern", "erf": "Erf pattern", "op": "Gelu"}[gelu] in r
               for r in res.rewrites) or gelu == "op", res.rewrites
    sources = {i.where.split(" at ")[0].removeprefix("op ") for i in res.program.instructions}
    assert "Tanh" not in sources
    # shape-only subgraphs fold to nothing: no instruction comes from them
    assert not sources & {"Shape", "Range", "ConstantOfShape", "Trilu", "Equal", "Less", "Slice",
                          "Concat", "Unsqueeze", "Cast"}, sources


def test_torchscript_and_dynamo_exports_compile_to_the_same_instructions():
    """TorchScript's Shape/Gather/Unsqueeze/Concat/Range/ConstantOfShape/Trilu chains and the
    dynamo exporter's constant shapes give the same program: shapes cost nothing."""
    kw = {"mask": "sdpa", "qkv": "linear"}
    name, xs = samples(kw, 4)
    a = compile_onnx(em.gpt2(**kw), samples={name: xs}).program
    b = compile_onnx(em.gpt2(dynamo=True, **kw), samples={name: xs}).program
    assert [i.op for i in a.instructions] == [i.op for i in b.instructions]


def test_gpt2_embedding_is_one_lookup_per_element():
    """The token embedding costs T·d lut rows + T·d add rows + T mul rows and a V·d table."""
    name, xs = samples({}, 4)
    res = compile_onnx(em.gpt2(), samples={name: xs})
    p = res.program
    lut = next(i for i in p.instructions if i.op == "lut" and i.attrs["fn"] == "table")
    assert p.tensors[lut.output].shape == (SEQ, D)
    assert lut.attrs["table"].size == VOCAB * D and (lut.attrs["lo"], lut.attrs["hi"]) == (
        0, VOCAB * D - 1)
    ids = p.inputs[0]
    assert (ids.scale, ids.lo, ids.hi) == (0, 0, VOCAB - 1)
    assert assemble(disassemble(p)).digest == p.digest  # fn=table survives the assembly text


@pytest.fixture(scope="module")
def gpt2_public_proof():
    name, xs = samples({}, 9)
    p = compile_onnx(em.gpt2(), samples={name: xs[:8]}).program
    ints = quantize_inputs({p.inputs[0].name: xs[8]}, p)
    key = api.setup(p, "test")
    proof = api.prove(p, ints, "test", key=key, debug=True, seed=b"gpt2")
    return p, ints, key, proof


def test_gpt2_block_proves(gpt2_public_proof):
    p, ints, key, proof = gpt2_public_proof
    out = api.verify(proof, key.vk, min_bits=0)
    assert np.array_equal(out[p.outputs[0]], execute(p, ints).outputs[p.outputs[0]])


def test_gpt2_proof_with_a_wrong_output_is_rejected(gpt2_public_proof):
    p, _, key, proof = gpt2_public_proof
    bad = copy.deepcopy(proof)
    bad.public.meta["outputs"][p.outputs[0]][0] += 1
    with pytest.raises(VerificationError):
        api.verify(bad, key.vk, min_bits=0)


def test_gpt2_proof_with_other_token_ids_is_rejected(gpt2_public_proof):
    p, _, key, proof = gpt2_public_proof
    bad = copy.deepcopy(proof)
    ids = bad.public.meta["inputs"][p.inputs[0].name]
    ids[0] = (ids[0] + 1) % VOCAB
    with pytest.raises(VerificationError):
        api.verify(bad, key.vk, min_bits=0)


def test_gpt2_block_proves_with_private_token_ids():
    """Zero-knowledge in the ids: the proof carries no input values, the lookups still hold."""
    name, xs = samples({}, 9)
    p = compile_onnx(em.gpt2(), samples={name: xs[:8]},
                     options=CompileOptions(input_visibility="private")).program
    ints = quantize_inputs({p.inputs[0].name: xs[8]}, p)
    key = api.setup(p, "test")
    proof = api.prove(p, ints, "test", key=key, seed=b"gpt2")
    assert not proof.public.meta["inputs"]
    out = api.verify(proof, key.vk, min_bits=0)
    assert np.array_equal(out[p.outputs[0]], execute(p, ints).outputs[p.outputs[0]])


# ------------------------------------------------------------------ ResNet
@pytest.mark.parametrize("fused,pool", [(True, "global"), (False, "mean")],
                         ids=["torchscript-fused-bn", "unfused-bn-reducemean"])
def test_resnet_exports_compile_within_error(fused, pool):
    model = em.resnet(fused=fused, pool=pool)
    xs = np.random.default_rng(2).uniform(0, 1, (9, 1, 3, 16, 16))
    res = compile_onnx(model, samples={"input": xs[:8]})
    assert res.report.max_abs <= 1e-3, res.report.format()
    err, _ = held_out_error(model, res, "input", xs[8])
    assert err <= 1e-3
    if not fused:
        assert sum("BatchNormalization" in r for r in res.rewrites) == 6  # every conv
    if fused:
        p = res.program
        ints = quantize_inputs({"input": xs[8]}, p)
        key = api.setup(p, "test")
        proof = api.prove(p, ints, "test", key=key, debug=True, seed=b"resnet")
        api.verify(proof, key.vk, min_bits=0)


# ------------------------------------------------------------------ errors
def _ids_model(nodes, inits, outputs=("y",), extra_inputs=()):
    g = helper.make_graph(
        [helper.make_node(op, i, o, name=f"/n{k}/{op}", **(a or {}))
         for k, (op, i, o, a) in enumerate(nodes)], "t",
        [helper.make_tensor_value_info("ids", TensorProto.INT64, [1, 4]), *extra_inputs],
        [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outputs],
        [numpy_helper.from_array(np.asarray(v), k) for k, v in inits.items()])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    return m


WTE = np.random.default_rng(0).standard_normal((10, 4)).astype(np.float32)
IDS = np.array([[[1, 2, 3, 9]], [[0, 0, 5, 7]]], dtype=np.float64)


def test_ids_used_as_numbers_are_refused_naming_the_node():
    """HF's attention_mask path ((1 - mask.float()) * finfo.min) uses ids as numbers."""
    m = _ids_model([("Cast", ["ids"], ["f"], {"to": 1}), ("Unsqueeze", ["f", "ax"], ["f2"], None),
                    ("Gather", ["W", "ids"], ["e"], None), ("Add", ["e", "f2"], ["y"], None)],
                   {"W": WTE, "ax": np.array([2], np.int64)})
    with pytest.raises(OnnxCompileError, match="integer input 'ids' is read by op Cast at "
                                               "node /n0/Cast.*indices of a Gather"):
        compile_onnx(m, samples={"ids": IDS})


def test_embedding_table_lut_runs_exactly_and_in_the_float_reference():
    """``lut fn=table``: the VM returns the quantized rows, the float reference the same rows
    (the table itself), and the ISA refuses a ``fn=table`` without its entries."""
    from zkvm.assembler.builder import Builder
    from zkvm.isa.errors import IsaError
    from zkvm.runtime import execute_float

    m = _ids_model([("Gather", ["W", "ids"], ["y"], None)], {"W": WTE})
    res = compile_onnx(m, samples={"ids": IDS})
    p = res.program
    x = np.array([[9, 0, 4, 4]], dtype=np.float64)
    out = p.outputs[0]
    s = p.tensors[out].scale
    exact = execute(p, quantize_inputs({p.inputs[0].name: x}, p)).outputs[out] / 2.0**s
    assert np.max(np.abs(exact.reshape(4, 4) - WTE[[9, 0, 4, 4]])) <= 2.0 ** -(s + 1)
    assert np.array_equal(execute_float(p, {p.inputs[0].name: x})[out], exact)
    b = Builder()
    b.input("i", [3], 8, 0, "public", (0, 9))
    with pytest.raises(IsaError, match="fn=table takes its entries from table="):
        b.emit("lut", ["i"], "y", {"fn": "table", "range": [0, 9], "scale": 0})


def test_embedding_split_into_several_tables(monkeypatch):
    """A matrix wider than one table (V·d > 2^20 for GPT-2's 50257x768) is cut into column
    groups, one table each; here the cap is lowered to 256 entries: 8 groups of 4 columns."""
    from zkvm.assembler.onnx import ops_index

    monkeypatch.setattr(ops_index, "MAX_TABLE", 256)
    name, xs = samples({}, 9)
    res = compile_onnx(em.gpt2(), samples={name: xs[:8]})
    p = res.program
    tables = [i for i in p.instructions if i.op == "lut" and i.attrs["fn"] == "table"]
    assert len(tables) == D // 4 and all(t.attrs["table"].size == VOCAB * 4 for t in tables)
    err, mag = held_out_error(em.gpt2(), res, name, xs[8])
    assert err <= 3e-4 * mag + 1e-3


def test_ids_outside_the_table_or_not_integers_are_refused():
    m = _ids_model([("Gather", ["W", "ids"], ["y"], None)], {"W": WTE})
    res = compile_onnx(m, samples={"ids": IDS})
    assert res.report.max_abs <= 2e-4
    with pytest.raises(OnnxCompileError, match=r"integers in \[0, 9\]"):
        compile_onnx(m, samples={"ids": IDS + 1})
    with pytest.raises(OnnxCompileError, match="token ids"):
        compile_onnx(m, samples={"ids": IDS + 0.5})
    with pytest.raises(OnnxCompileError, match="input 'ids' takes token ids: give calibration"):
        compile_onnx(m)


def test_gather_of_a_computed_table_by_ids_is_refused():
    m = _ids_model([("Relu", ["x"], ["r"], None), ("Gather", ["r", "ids"], ["y"], None)], {},
                   extra_inputs=[helper.make_tensor_value_info("x", TensorProto.FLOAT, [10, 4])])
    with pytest.raises(OnnxCompileError, match="Gather"):
        compile_onnx(m, samples={"ids": IDS, "x": np.ones((2, 10, 4))})


def test_minus_inf_mask_not_followed_by_softmax_is_refused():
    m = helper.make_model(helper.make_graph(
        [helper.make_node("Add", ["x", "k"], ["y"], name="/attn/Add")], "t",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(np.triu(np.full((4, 4), -np.inf, np.float32), 1), "k")]),
        opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    with pytest.raises(UnsupportedOpError, match="op Add at node /attn/Add.*Softmax"):
        compile_onnx(m, samples={"x": np.random.default_rng(0).standard_normal((3, 4, 4))})


def test_unsupported_op_names_node_op_and_what_to_do():
    m = helper.make_model(helper.make_graph(
        [helper.make_node("TopK", ["x", "k"], ["y", "i"], name="/head/TopK")], "t",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(np.array([2], np.int64), "k")]),
        opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    with pytest.raises(UnsupportedOpError, match="op TopK at node /head/TopK is not supported;"
                                                 ".*replace it in the model before exporting"):
        compile_onnx(m, samples={"x": np.zeros((2, 1, 8))})


def _float_model(nodes, shape, inits):
    g = helper.make_graph(
        [helper.make_node(op, i, o, name=f"/n{k}/{op}", **(a or {}))
         for k, (op, i, o, a) in enumerate(nodes)], "t",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(np.asarray(v), k) for k, v in inits.items()])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    return m


def test_gather_by_a_computed_argmax_is_a_lookup_too():
    """Indices computed in the model (ArgMax: scale 0, bounded by the axis) index a constant
    table through the same lut: e.g. a greedy next-token embedding."""
    w = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    m = _float_model([("ArgMax", ["x"], ["a"], {"axis": 1, "keepdims": 0}),
                      ("Gather", ["W", "a"], ["y"], None)], [2, 5], {"W": w})
    xs = np.random.default_rng(1).standard_normal((5, 2, 5))
    res = compile_onnx(m, samples={"x": xs[:4]})
    assert res.report.max_abs <= 1e-4
    err, _ = held_out_error(m, res, "x", xs[4])
    assert err <= 1e-4


def test_cast_of_an_activation_to_bool_is_refused_with_what_to_do():
    m = _float_model([("Cast", ["x"], ["b"], {"to": TensorProto.BOOL}),
                      ("Where", ["b", "x", "k"], ["y"], None)], [4], {"k": np.float32(0)})
    with pytest.raises(UnsupportedOpError, match="op Cast at node /n0/Cast is not supported:.*"
                                                 "compare instead"):
        compile_onnx(m, samples={"x": np.ones((2, 4))})
