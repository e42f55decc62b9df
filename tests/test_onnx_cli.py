"""``zkvm compile`` and ``zkvm run --compare``: sample formats, dynamic shapes, and one clear
line (exit 2, no traceback) for every model the compiler refuses."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from zkvm.assembler.onnx import OnnxNotInstalled, compile_onnx, examples  # noqa: E402
from zkvm.cli import app  # noqa: E402
from zkvm.isa import Program  # noqa: E402

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def assert_clean_error(r, *needles):
    assert r.exit_code == 2, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in r.stderr + r.stdout
    for n in needles:
        assert n in lines[0], lines[0]


def small_mlp(rng=np.random.default_rng(0)):
    w1, b1 = rng.standard_normal((6, 5)) * 0.5, rng.standard_normal(5) * 0.1
    w2, b2 = rng.standard_normal((5, 3)) * 0.5, rng.standard_normal(3) * 0.1
    return examples.mlp(w1, b1, w2, b2)


def graph_model(nodes, inputs, inits=None, opset=17, out="y"):
    g = helper.make_graph(nodes, "t", [helper.make_tensor_value_info(k, TensorProto.FLOAT, s)
                                       for k, s in inputs.items()],
                          [helper.make_tensor_value_info(out, TensorProto.FLOAT, None)],
                          [numpy_helper.from_array(np.asarray(v), k)
                           for k, v in (inits or {}).items()])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


@pytest.fixture()
def files(tmp_path):
    onnx.save(small_mlp(), tmp_path / "m.onnx")
    rng = np.random.default_rng(1)
    xs = rng.uniform(-1, 1, (10, 1, 6))
    np.save(tmp_path / "calib.npy", xs)
    (tmp_path / "ezkl.json").write_text(json.dumps({"input_data": [xs.ravel().tolist()]}))
    (tmp_path / "one.json").write_text(json.dumps({"input_data": [xs[0].ravel().tolist()]}))
    return tmp_path


def test_compile_writes_program_and_prints_accuracy(files):
    r = invoke("compile", files / "m.onnx", "-o", files / "m.zkvm", "--calibrate",
               files / "calib.npy")
    assert r.exit_code == 0, r.stderr
    assert "accuracy on 10 calibration samples" in r.stdout
    assert "max abs err" in r.stdout and "top-1" in r.stdout and "10/10" in r.stdout
    assert "input x: i16[1,6] scale 14, range [-1, 1]" in r.stdout
    p = Program.load(str(files / "m.zkvm"))
    assert p.outputs == ["logits"]
    assert "max abs err" in p.metadata["accuracy"]
    assert json.loads(p.metadata["onnx.inputs"]) == [["x", "x"]]


def test_ezkl_input_data_calibration_equals_npy(files):
    a = compile_onnx(str(files / "m.onnx"), str(files / "calib.npy"))
    b = compile_onnx(str(files / "m.onnx"), str(files / "ezkl.json"))
    assert a.program.digest == b.program.digest
    assert b.report.n_samples == 10


def test_run_compare_prints_the_error_of_one_input(files):
    assert invoke("compile", files / "m.onnx", "-o", files / "m.zkvm", "-c",
                  files / "calib.npy").exit_code == 0
    r = invoke("run", files / "m.zkvm", "--input", files / "one.json", "--compare",
               files / "m.onnx")
    assert r.exit_code == 0, r.stderr
    assert "accuracy on 1 input" in r.stdout and "1/1" in r.stdout


def test_options_scale_bits_and_private_input(files):
    r = invoke("compile", files / "m.onnx", "-o", files / "p.zkvm", "-c", files / "calib.npy",
               "--scale", "10", "--weight-bits", "12", "--input-visibility", "private")
    assert r.exit_code == 0, r.stderr
    p = Program.load(str(files / "p.zkvm"))
    x = p.inputs[0]
    assert x.visibility == "private" and x.scale == 10
    assert all(t.bits <= 12 for t in p.tensors.values() if t.kind == "weight"
               and t.name.endswith("_W"))
    assert all(t.scale <= 10 for t in p.tensors.values() if t.name == "logits")


def test_without_samples_a_note_says_random_inputs_were_used(files):
    r = invoke("compile", files / "m.onnx", "-o", files / "r.zkvm", "-v")
    assert r.exit_code == 0, r.stderr
    assert "note: no calibration samples" in r.stdout and "--calibrate" in r.stdout
    assert "rewrite: Gemm" in r.stdout and "error of every tensor" in r.stdout


def test_private_input_wider_than_16_bits_is_refused(files):
    r = invoke("compile", files / "m.onnx", "-c", files / "calib.npy", "--scale", "20",
               "--input-visibility", "private")
    assert_clean_error(r, "private input 'x'", "--scale")


@pytest.mark.parametrize("args,needles", [
    (["--bits", "2"], ["--bits"]),
    (["--input-visibility", "secret"], ["public or private"]),
])
def test_bad_options_are_one_line(files, args, needles):
    assert_clean_error(invoke("compile", files / "m.onnx", *args), *needles)


def test_unsupported_op_names_op_node_and_supported_list(tmp_path):
    m = graph_model([helper.make_node("Relu", ["x"], ["r"], name="/pre/Relu"),
                     helper.make_node("Hardmax", ["r"], ["y"], name="/head/Hardmax")],
                    {"x": [1, 4]})
    onnx.save(m, tmp_path / "u.onnx")
    r = invoke("compile", tmp_path / "u.onnx")
    assert_clean_error(r, "op Hardmax at node /head/Hardmax is not supported", "supported ops:",
                       "Conv", "Softmax")


def test_foreign_domain_op_is_refused(tmp_path):
    n = helper.make_node("FusedMatMul", ["x", "x"], ["y"], name="fm", domain="com.microsoft")
    m = graph_model([n], {"x": [2, 2]})
    m.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    onnx.save(m, tmp_path / "f.onnx")
    assert_clean_error(invoke("compile", tmp_path / "f.onnx"),
                       "op com.microsoft.FusedMatMul at node fm is not supported")


def test_unsupported_variants_are_one_line(tmp_path):
    m = graph_model([helper.make_node("Pow", ["x", "p"], ["y"], name="pw")], {"x": [3]},
                    {"p": np.float32(2.5)})
    onnx.save(m, tmp_path / "p.onnx")
    assert_clean_error(invoke("compile", tmp_path / "p.onnx"), "op Pow at node pw",
                       "exponent 2.5")


def test_old_opset_is_refused_with_what_to_do(tmp_path):
    m = graph_model([helper.make_node("Relu", ["x"], ["y"])], {"x": [3]}, opset=9)
    onnx.save(m, tmp_path / "o.onnx")
    assert_clean_error(invoke("compile", tmp_path / "o.onnx"), "opset 9", "opset_version")


def test_dynamic_shape_needs_samples_and_is_fixed_by_them(tmp_path):
    w = np.random.default_rng(0).standard_normal((4, 2)).astype(np.float32)
    m = graph_model([helper.make_node("MatMul", ["x", "w"], ["y"])], {"x": ["batch", "seq", 4]},
                    {"w": w})
    onnx.save(m, tmp_path / "d.onnx")
    assert_clean_error(invoke("compile", tmp_path / "d.onnx"), "dynamic shape", "--calibrate")
    np.save(tmp_path / "s.npy", np.random.default_rng(1).standard_normal((3, 1, 5, 4)))
    r = invoke("compile", tmp_path / "d.onnx", "-c", tmp_path / "s.npy", "-o", tmp_path / "d.zkvm")
    assert r.exit_code == 0, r.stderr
    assert "compiled as [1, 5, 4]" in r.stdout
    assert Program.load(str(tmp_path / "d.zkvm")).inputs[0].shape == (1, 5, 4)
    (tmp_path / "flat.json").write_text(json.dumps({"input_data": [[0.5] * 20]}))
    assert_clean_error(invoke("compile", tmp_path / "d.onnx", "-c", tmp_path / "flat.json"),
                       "flat lists cannot fix a dynamic dimension")


def test_value_dependent_shape_is_refused(tmp_path):
    nodes = [helper.make_node("Mul", ["x", "zero"], ["z"]),
             helper.make_node("ReduceSum", ["z"], ["zs"], keepdims=1),
             helper.make_node("Add", ["zs", "two"], ["t"]),
             helper.make_node("Cast", ["t"], ["s"], to=TensorProto.INT64, name="to_shape"),
             helper.make_node("Reshape", ["x", "s"], ["y"], name="rs")]
    m = graph_model(nodes, {"x": [2]}, {"zero": np.float32(0), "two": np.float32([2])})
    onnx.save(m, tmp_path / "v.onnx")
    r = invoke("compile", tmp_path / "v.onnx")
    assert_clean_error(r, "op Cast at node to_shape", "integer")


@pytest.mark.parametrize("content,needle", [
    (b"not an onnx file", "cannot read"),
])
def test_unreadable_model_is_one_line(tmp_path, content, needle):
    (tmp_path / "bad.onnx").write_bytes(content)
    assert_clean_error(invoke("compile", tmp_path / "bad.onnx"), needle)
    assert_clean_error(invoke("compile", tmp_path / "missing.onnx"), "not found")


def test_bad_calibration_files_are_one_line(files):
    (files / "bad.json").write_text("{nope")
    assert_clean_error(invoke("compile", files / "m.onnx", "-c", files / "bad.json"), "JSON")
    (files / "odd.json").write_text(json.dumps({"input_data": [[0.1] * 7]}))
    assert_clean_error(invoke("compile", files / "m.onnx", "-c", files / "odd.json"),
                       "not a whole number of samples")
    (files / "name.json").write_text(json.dumps({"z": [[0.1] * 6]}))
    assert_clean_error(invoke("compile", files / "m.onnx", "-c", files / "name.json"),
                       "unknown input(s) z")


def test_input_outside_the_declared_range_is_refused_at_run(files):
    assert invoke("compile", files / "m.onnx", "-o", files / "m.zkvm", "-c",
                  files / "calib.npy").exit_code == 0
    (files / "big.json").write_text(json.dumps({"x": [[3.0] * 6]}))
    assert_clean_error(invoke("run", files / "m.zkvm", "-i", files / "big.json"),
                       "outside the declared range")


def test_core_import_does_not_need_onnx():
    code = ("import sys; import zkvm.cli, zkvm.assembler, zkvm.assembler.onnx; "
            "assert 'onnx' not in sys.modules, 'onnx imported'")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_missing_onnx_package_says_how_to_install(monkeypatch, files):
    for k in [k for k in sys.modules if k == "onnx" or k.startswith("onnx.")]:
        monkeypatch.delitem(sys.modules, k)
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(OnnxNotInstalled, match=r"pip install zkvm\[onnx\]"):
        compile_onnx(str(files / "m.onnx"))
    assert_clean_error(invoke("compile", files / "m.onnx"), "pip install zkvm[onnx]")


def test_mutated_models_fail_only_with_user_errors():
    """Dropped attributes/inputs and mis-shaped initializers: a ZkvmError or a program, never
    another exception (seeded sample of the mutations)."""
    import copy

    from zkvm.isa.errors import ZkvmError

    base = examples.transformer_block(legacy=True)
    xs = np.random.default_rng(0).standard_normal((2, 1, 8, 16))
    nodes = list(enumerate(base.graph.node))
    muts = [("attr", i, j) for i, nd in nodes for j in range(len(nd.attribute))]
    muts += [("input", i, j) for i, nd in nodes for j in range(len(nd.input))]
    muts += [("init", i, 0) for i in range(len(base.graph.initializer))]
    rng = np.random.default_rng(1)
    for k in rng.choice(len(muts), 30, replace=False):
        kind, i, j = muts[k]
        m = copy.deepcopy(base)
        if kind == "attr":
            del m.graph.node[i].attribute[j]
        elif kind == "input":
            m.graph.node[i].input[j] = ""
        else:
            a = numpy_helper.to_array(m.graph.initializer[i]).reshape(-1)
            m.graph.initializer[i].CopyFrom(numpy_helper.from_array(
                a[:-1].copy() if a.size > 1 else a[:0].copy(), m.graph.initializer[i].name))
        try:
            compile_onnx(m, samples={"x": xs})
        except ZkvmError:
            pass
