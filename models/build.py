"""Write an example model's zkvm program from its committed weights.

    python -m models.build mlp|cnn|tiny -o OUT.zkvm [--private-input]
        [--weights W.npz] [--weight-bits 16|8] [--sample N]

Writes the program ``OUT.zkvm`` and, beside it, ``OUT.input.json``: one
held-out test image (``--sample``, default 0) as real numbers in EZKL's
``{"input_data": [[...]]}`` layout, ready for ``zkvm run OUT.zkvm --input
OUT.input.json``. No training happens here (see ``python -m models.train``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

from zkvm.isa.errors import ZkvmError
from zkvm.isa.program import Program

from . import dataset
from .evaluate import vm_logits
from .nets import MODELS, forward, get_spec
from .program import QuantConfig, build_program
from .train import load_weights


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
          sample: int = 0) -> tuple[Program, str]:
    """Build model ``name``'s program, save it to ``out`` and its sample input beside it.

    Returns:
        The program and the sample input's path.
    """
    params = load_weights(name, weights)
    program = build_program(name, params, cfg or QuantConfig())
    doc, _ = sample_input(name, sample)
    program.save(out)
    path = sample_path(out)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f)
        f.write("\n")
    return program, path


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m models.build", description=__doc__.split("\n")[0])
    ap.add_argument("model", choices=list(MODELS))
    ap.add_argument("-o", "--output", required=True, help="program file to write (.zkvm)")
    ap.add_argument("--private-input", action="store_true", help="make the input private")
    ap.add_argument("--weights", help="float weights .npz (default: models/weights/MODEL.npz)")
    ap.add_argument("--weight-bits", type=int, choices=[8, 16], default=QuantConfig.weight_bits)
    ap.add_argument("--sample", type=int, default=0, help="held-out image for the sample input")
    args = ap.parse_args(argv)
    cfg = QuantConfig(weight_bits=args.weight_bits, private_input=args.private_input)
    try:
        program, path = write(args.model, args.output, cfg, args.weights, args.sample)
    except (OSError, ValueError, IndexError, ZkvmError) as e:
        print(f"error: {e}", file=sys.stderr)
        raise SystemExit(2) from None
    spec = get_spec(args.model)
    _, label = sample_input(args.model, args.sample)
    _, test = dataset.load(spec.view)
    x = test.x[args.sample : args.sample + 1]
    ref = forward(spec, load_weights(args.model, args.weights), x)[0]
    got = vm_logits(program, x)[0][0]
    vis = "private" if args.private_input else "public"
    print(f"wrote {args.output} ({os.path.getsize(args.output)} bytes): {spec.description}, "
          f"{program.n_params} parameters, {vis} input, digest {program.digest_hex}")
    print(f"wrote {path}: held-out image {args.sample}, label {label}; "
          f"float model says {int(ref.argmax())}, program says {int(got.argmax())} "
          f"(max |logit difference| {np.abs(got - ref).max():.4f})")


if __name__ == "__main__":
    main()
