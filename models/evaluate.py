"""Compare a model's program (run by the zkvm VM, in integers) with its float model.

Used by ``python -m models.report``, ``python -m models.build`` and the tests.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np

from zkvm.isa.program import Program
from zkvm.runtime import execute

from zkvm.examples import dataset
from zkvm.examples.nets import forward, get_spec
from zkvm.examples.program import QuantConfig, build_program, quantize
from zkvm.examples.trained import load_weights


def program_input(program: Program, image: np.ndarray) -> dict[str, np.ndarray]:
    """One real-valued image -> the program's integer input ``{"x": ...}``."""
    t = program.tensor("x")
    return {"x": quantize(np.asarray(image).reshape(t.shape), t.scale)}


def vm_logits(program: Program, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Run the VM on each image; returns real logits ``[N, C]`` and seconds per run ``[N]``."""
    out = program.outputs[0]
    scale = program.tensor(out).scale
    logits, secs = [], []
    for img in images:
        inp = program_input(program, img)
        t0 = time.perf_counter()
        ex = execute(program, inp)
        secs.append(time.perf_counter() - t0)
        logits.append(ex.values[out].reshape(-1))
    return np.asarray(logits, dtype=np.float64) / 2.0**scale, np.asarray(secs)


@dataclass
class ModelReport:
    """Accuracy of one model's float model and of its program, on the held-out split."""

    model: str
    n_params: int
    n_test: int
    float_accuracy: float
    vm_accuracy: float
    top1_agreement: float
    max_abs_logit_error: float
    vm_ms_median: float
    weight_bits: int
    digest: str

    def as_dict(self) -> dict:
        return asdict(self)


def evaluate(name: str, cfg: QuantConfig | None = None, n: int | None = None,
             params: dict[str, np.ndarray] | None = None) -> ModelReport:
    """Build model ``name``'s program from its weights and compare it with the float model.

    Args:
        name: ``mlp``, ``cnn`` or ``tiny``.
        cfg: quantization settings.
        n: use the first ``n`` held-out images (default: all of them).
        params: float parameters (default: the committed weights).
    """
    cfg = cfg or QuantConfig()
    spec = get_spec(name)
    params = params if params is not None else load_weights(name)
    program = build_program(name, params, cfg)
    _, test = dataset.load(spec.view)
    x, y = test.x[:n], test.y[:n]
    ref = forward(spec, params, x)
    got, secs = vm_logits(program, x)
    return ModelReport(
        model=name,
        n_params=program.n_params,
        n_test=int(y.size),
        float_accuracy=float((ref.argmax(1) == y).mean()),
        vm_accuracy=float((got.argmax(1) == y).mean()),
        top1_agreement=float((got.argmax(1) == ref.argmax(1)).mean()),
        max_abs_logit_error=float(np.abs(got - ref).max()),
        vm_ms_median=float(np.median(secs) * 1e3),
        weight_bits=cfg.weight_bits,
        digest=program.digest_hex,
    )
