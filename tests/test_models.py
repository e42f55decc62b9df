"""The example models (models/): shipped data, committed weights, their programs on the VM.

No training and no download happens here: programs are built from the weights
committed in zkvm/examples/weights/ and run on the held-out split of the digits
shipped in zkvm/examples/data/digits.npz.
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from models import build, nets  # noqa: E402
from zkvm.examples import dataset  # noqa: E402
from models.evaluate import program_input, vm_logits  # noqa: E402
from zkvm.examples.program import QuantConfig, build_program, weight_scale  # noqa: E402
from zkvm.examples.trained import load_weights  # noqa: E402
from zkvm.io import load_inputs  # noqa: E402
from zkvm.isa.program import Program  # noqa: E402
from zkvm.runtime import execute, execute_float  # noqa: E402

NAMES = list(nets.MODELS)
N_AGREE = 10
N_ACC = 100


@pytest.fixture(scope="module", params=NAMES)
def model(request):
    """(name, spec, float params, program) for each example model."""
    name = request.param
    params = load_weights(name)
    return name, nets.get_spec(name), params, build_program(name, params)


# ------------------------------------------------------------------ data
def test_shipped_digits_are_small_and_complete():
    assert os.path.getsize(dataset.DATA_PATH) < 200_000
    images, labels = dataset.load_raw()
    assert images.shape == (1797, 8, 8) and images.dtype == np.uint8
    assert images.max() == 16 and images.min() == 0
    assert np.array_equal(np.bincount(labels), np.bincount(labels, minlength=10))
    assert np.bincount(labels).min() > 150


def test_split_is_fixed_and_disjoint():
    tr, te = dataset.split_indices()
    tr2, te2 = dataset.split_indices()
    assert np.array_equal(tr, tr2) and np.array_equal(te, te2)
    assert not set(tr) & set(te) and len(tr) + len(te) == 1797
    assert len(te) == 359


def test_mnist_view_is_28x28_with_zero_border_on_the_256_grid():
    train, test = dataset.load("mnist")
    assert train.x.shape[1:] == (28, 28) and test.x.shape == (359, 28, 28)
    x = np.concatenate([train.x, test.x])
    assert x.min() == 0.0 and x.max() == 1.0
    assert np.array_equal(x * 256, np.round(x * 256))
    border = np.ones((28, 28), bool)
    border[4:24, 4:24] = False
    assert not x[:, border].any()


def test_upsampling_preserves_constant_images():
    m = dataset.bilinear_matrix(8, 20)
    assert np.allclose(m.sum(axis=1), 1.0)
    flat = dataset.to_mnist(np.full((1, 8, 8), 16, dtype=np.uint8))[0]
    assert np.all(flat[4:24, 4:24] == 1.0)


def test_tiny_view_keeps_digits_0_to_3():
    train, test = dataset.load("tiny")
    assert train.x.shape[1:] == (4, 4)
    assert set(np.unique(test.y)) == {0, 1, 2, 3}
    assert np.array_equal(test.x * 64, np.round(test.x * 64))


def test_unknown_view_is_rejected():
    with pytest.raises(ValueError, match="unknown data view"):
        dataset.load("cifar")


# ------------------------------------------------------------ float model
def test_committed_weights_match_the_specs():
    for name in NAMES:
        spec = nets.get_spec(name)
        params = load_weights(name)
        assert {k: v.shape for k, v in params.items()} == spec.param_shapes()
        assert sum(v.size for v in params.values()) == spec.n_params


def test_parameter_counts():
    assert nets.MODELS["mlp"].n_params == 784 * 128 + 128 + 128 * 10 + 10
    assert nets.MODELS["cnn"].n_params == 4 * 25 + 4 + 576 * 10 + 10
    assert nets.MODELS["tiny"].n_params == 16 * 32 + 32 + 32 * 8 + 8 + 8 * 4 + 4


def test_float_models_reach_their_accuracy():
    for name, floor in (("mlp", 0.9), ("cnn", 0.9), ("tiny", 0.9)):
        spec = nets.get_spec(name)
        _, test = dataset.load(spec.view)
        assert nets.accuracy(spec, load_weights(name), test.x, test.y) > floor


def test_backward_matches_finite_differences():
    """The training gradient of a conv + dense net (both code paths) against central differences."""
    spec = nets.ModelSpec("grad", "mnist", (1, 2, 7, 7),
                          (nets.Conv(2, 3, 3, 2), nets.ReLU(), nets.Conv(3, 2, 2, 1), nets.ReLU(),
                           nets.Flatten(), nets.Dense(8, 4)), 4, epochs=0)
    rng = np.random.default_rng(7)
    params = nets.init_params(spec, rng)
    params = {k: v + rng.normal(0, 0.1, v.shape) for k, v in params.items()}
    x, y = rng.normal(size=(5, 2, 7, 7)), rng.integers(0, 4, 5)
    logits, cache = nets.forward(spec, params, x, keep=True)
    _, dlogits = nets.softmax_xent(logits, y)
    grads = nets.backward(spec, params, cache, dlogits)
    h = 1e-6
    for k, v in params.items():
        for idx in rng.choice(v.size, size=min(6, v.size), replace=False):
            p = {kk: vv.copy() for kk, vv in params.items()}
            p[k].flat[idx] += h
            up = nets.softmax_xent(nets.forward(spec, p, x), y)[0]
            p[k].flat[idx] -= 2 * h
            down = nets.softmax_xent(nets.forward(spec, p, x), y)[0]
            assert grads[k].flat[idx] == pytest.approx((up - down) / (2 * h), abs=1e-6)


def test_conv_forward_matches_a_direct_convolution():
    spec = nets.MODELS["cnn"]
    params = load_weights("cnn")
    x = dataset.load("mnist")[1].x[:2]
    w, b = params["w1"][:, 0], params["b1"]
    direct = np.zeros((2, 4, 12, 12))
    for i in range(12):
        for j in range(12):
            patch = x[:, 2 * i : 2 * i + 5, 2 * j : 2 * j + 5]
            direct[:, :, i, j] = np.einsum("nuv,ouv->no", patch, w) + b
    h = np.maximum(direct, 0).reshape(2, -1)
    assert np.allclose(nets.forward(spec, params, x), h @ params["w2"] + params["b2"])


# --------------------------------------------------------------- programs
def test_program_agrees_with_the_float_model(model):
    _, spec, params, program = model
    _, test = dataset.load(spec.view)
    x = test.x[:N_AGREE]
    got, _ = vm_logits(program, x)
    ref = nets.forward(spec, params, x)
    assert np.array_equal(got.argmax(axis=1), ref.argmax(axis=1))
    assert np.abs(got - ref).max() < 0.1


def test_program_accuracy_on_held_out_images(model):
    _, spec, _, program = model
    _, test = dataset.load(spec.view)
    got, _ = vm_logits(program, test.x[:N_ACC])
    assert (got.argmax(axis=1) == test.y[:N_ACC]).mean() > 0.85


def test_program_float_reference_is_the_float_model(model):
    """zkvm's own float reference of the program (dequantized weights) tracks the float model."""
    _, spec, params, program = model
    x = dataset.load(spec.view)[1].x[0]
    real = {"x": x.reshape(program.tensor("x").shape)}
    ref = execute_float(program, real)[program.outputs[0]]
    assert np.abs(ref.ravel() - nets.forward(spec, params, x[None])[0]).max() < 0.1


def test_program_shape_widths_and_scales(model):
    _, spec, _, program = model
    x = program.tensor("x")
    assert x.shape == spec.input_shape and x.bits == 16 and x.scale == 8
    assert (x.lo, x.hi) == (0, 256) and x.visibility == "public"
    assert program.outputs == ["logits"]
    assert program.tensor("logits").shape == (1, spec.n_classes)
    assert program.n_params == spec.n_params
    for t in program.tensors.values():
        if t.name.startswith("h"):  # hidden activations
            assert t.bits == 16 and t.scale == 8
        if t.kind == "weight" and t.name.startswith("w"):
            assert t.bits == 16


def test_digest_is_stable(model):
    name, _, _, program = model
    again = build_program(name, load_weights(name))
    assert again.digest == program.digest
    assert Program.from_bytes(program.to_bytes()).digest == program.digest


def test_private_input_changes_only_the_visibility(model):
    name, _, params, program = model
    priv = build_program(name, params, QuantConfig(private_input=True))
    assert priv.tensor("x").visibility == "private"
    assert priv.digest != program.digest
    img = dataset.load(nets.get_spec(name).view)[1].x[0]
    a = execute(program, program_input(program, img)).values["logits"]
    b = execute(priv, program_input(priv, img)).values["logits"]
    assert np.array_equal(a, b)


def test_i8_weights_build_and_stay_accurate():
    params = load_weights("mlp")
    program = build_program("mlp", params, QuantConfig(weight_bits=8))
    assert program.tensor("w1").bits == 8
    test = dataset.load("mnist")[1]
    got, _ = vm_logits(program, test.x[:50])
    assert (got.argmax(axis=1) == test.y[:50]).mean() > 0.85


def test_weight_scale_uses_the_full_width():
    w = np.array([0.5, -0.25])
    s = weight_scale(w, 8, 20)
    assert 0.5 * 2**s <= 127 < 0.5 * 2 ** (s + 1)
    assert weight_scale(w, 8, 3) == 3
    assert weight_scale(np.zeros(3), 8, 5) == 5


# -------------------------------------------------------------------- CLI
def test_build_cli_writes_program_and_ezkl_sample(tmp_path, capsys):
    out = tmp_path / "tiny.zkvm"
    build.main(["tiny", "-o", str(out), "--sample", "3"])
    program = Program.load(str(out))
    assert program.digest == build_program("tiny", load_weights("tiny")).digest
    sample = tmp_path / "tiny.input.json"
    doc = json.loads(sample.read_text())
    assert list(doc) == ["input_data"] and len(doc["input_data"]) == 1
    assert len(doc["input_data"][0]) == 16
    inputs = load_inputs(str(sample), program)
    test = dataset.load("tiny")[1]
    assert np.array_equal(inputs["x"], program_input(program, test.x[3])["x"])
    assert "digest" in capsys.readouterr().out


def test_build_cli_private_input(tmp_path):
    out = tmp_path / "cnn.zkvm"
    build.main(["cnn", "-o", str(out), "--private-input"])
    program = Program.load(str(out))
    assert program.tensor("x").visibility == "private"
    assert (tmp_path / "cnn.input.json").exists()


def test_build_cli_bad_sample_is_a_clear_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        build.main(["tiny", "-o", str(tmp_path / "t.zkvm"), "--sample", "10000"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "out of range" in err and "Traceback" not in err
    assert not (tmp_path / "t.zkvm").exists()


def test_missing_weights_file_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="python -m models.train tiny"):
        load_weights("tiny", str(tmp_path / "none.npz"))


def test_wrong_weights_file_is_rejected(tmp_path):
    path = tmp_path / "w.npz"
    np.savez(path, **load_weights("tiny"))
    with pytest.raises(ValueError, match="do not match model 'mlp'"):
        load_weights("mlp", str(path))
