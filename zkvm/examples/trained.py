"""The trained example models shipped with the package: weights, a sample input, a program file.

``zkvm demo`` and ``zkvm bench`` need nothing outside the installed package:
the float weights of ``mlp``, ``cnn`` and ``tiny`` are in ``weights/`` (made
by ``python -m models.train`` in the repository, float32), the digits they
were trained on in ``data/`` (:mod:`zkvm.examples.dataset`), and
:func:`write` quantizes a model (:mod:`zkvm.examples.program`) and writes its
program with one held-out image as input. ``python -m models.build`` is the
command-line front of :func:`write`.
"""

from __future__ import annotations

import json
import os

import numpy as np

from zkvm.isa.program import Program

from . import dataset
from .nets import get_spec
from .program import QuantConfig, build_program

WEIGHTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "weights")


def weights_path(name: str) -> str:
    """Where model ``name``'s shipped float weights live."""
    return os.path.join(WEIGHTS_DIR, f"{name}.npz")


def load_weights(name: str, path: str | None = None) -> dict[str, np.ndarray]:
    """Model ``name``'s parameters as float64 (from ``path`` or the committed file).

    Raises:
        FileNotFoundError: no weights file (run ``python -m models.train NAME``).
        ValueError: the file does not hold the model's parameters with their shapes.
    """
    spec = get_spec(name)
    path = path or weights_path(name)
    if not os.path.exists(path):
        raise FileNotFoundError(f"weights file {path} not found; make it with "
                                f"'python -m models.train {name}'")
    with np.load(path, allow_pickle=False) as d:
        params = {k: d[k].astype(np.float64) for k in d.files}
    want = spec.param_shapes()
    got = {k: v.shape for k, v in params.items()}
    if got != want:
        raise ValueError(f"{path}: parameters {got} do not match model '{name}' {want}")
    return params


def sample_path(out: str) -> str:
    """``dir/NAME.zkvm`` -> ``dir/NAME.input.json``."""
    return out.removesuffix(".zkvm") + ".input.json"


def sample_input(name: str, index: int = 0) -> tuple[dict, int]:
    """Held-out image ``index`` of model ``name``'s data as EZKL input JSON, and its label.

    Raises:
        IndexError: no such test image.
    """
    spec = get_spec(name)
    _, test = dataset.load(spec.view)
    if not 0 <= index < test.y.size:
        raise IndexError(f"--sample {index} is out of range: model '{name}' has "
                         f"{test.y.size} held-out images")
    flat = [float(v) for v in np.asarray(test.x[index]).ravel()]
    return {"input_data": [flat]}, int(test.y[index])


def write(name: str, out: str, cfg: QuantConfig | None = None, weights: str | None = None,
          sample: int = 0, visibility: dict[str, str] | None = None,
          salt: list[int] | None = None) -> tuple[Program, str]:
    """Build model ``name``'s program, save it to ``out`` and its sample input beside it.

    Args:
        visibility: ``{"inputs"|"weights"|"outputs": "public"|"private"|"hashed"}``;
            hidden weights are written to ``OUT.zkw`` (``zkvm.isa.weights_file``).
        salt: the model commitment's salt (tests only; random by default).

    Returns:
        The program (bound to its weights) and the sample input's path.
    """
    from zkvm.isa.visibility import with_visibility
    from zkvm.isa.weights_file import weights_path as private_weights_path

    params = load_weights(name, weights)
    program = build_program(name, params, cfg or QuantConfig())
    if visibility and any(v != "public" for v in visibility.values()):
        program = with_visibility(program, salt=salt, **visibility)
    doc, _ = sample_input(name, sample)
    program.save(out)
    if program.hidden_weights:
        program.private_weights().save(private_weights_path(out))
    path = sample_path(out)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f)
        f.write("\n")
    return program, path
