"""Write an example model's zkvm program from its committed weights.

    python -m models.build mlp|cnn|tiny -o OUT.zkvm [--private-input]
        [--weights W.npz] [--weight-bits 16|8] [--sample N]
        [--input-visibility V] [--weights-visibility V] [--output-visibility V]

Writes the program ``OUT.zkvm`` and, beside it, ``OUT.input.json``: one
held-out test image (``--sample``, default 0) as real numbers in EZKL's
``{"input_data": [[...]]}`` layout, ready for ``zkvm run OUT.zkvm --input
OUT.input.json``. No training happens here (see ``python -m models.train``).

Visibilities (``public``, ``private``, ``hashed``; docs/visibility.md): with
``--weights-visibility hashed`` the program holds the model commitment and no
weight values, which go to ``OUT.zkw`` (keep it private; ``zkvm run OUT.zkvm
--weights OUT.zkw --input OUT.input.json --prove``). The program is quantized
from the public build (same widths and shifts), then re-declared.
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
    from zkvm.isa.weights_file import weights_path

    params = load_weights(name, weights)
    program = build_program(name, params, cfg or QuantConfig())
    if visibility and any(v != "public" for v in visibility.values()):
        program = with_visibility(program, salt=salt, **visibility)
    doc, _ = sample_input(name, sample)
    program.save(out)
    if program.hidden_weights:
        program.private_weights().save(weights_path(out))
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
    vis = ["public", "private", "hashed"]
    ap.add_argument("--input-visibility", choices=vis, help="visibility of the input")
    ap.add_argument("--weights-visibility", choices=vis,
                    help="hidden weights go to OUT.zkw; hashed: the program holds the commitment")
    ap.add_argument("--output-visibility", choices=vis, help="visibility of the logits")
    args = ap.parse_args(argv)
    cfg = QuantConfig(weight_bits=args.weight_bits, private_input=args.private_input)
    visibility = {k: v for k, v in (("inputs", args.input_visibility),
                                    ("weights", args.weights_visibility),
                                    ("outputs", args.output_visibility)) if v}
    try:
        program, path = write(args.model, args.output, cfg, args.weights, args.sample, visibility)
    except (OSError, ValueError, IndexError, ZkvmError) as e:
        print(f"error: {e}", file=sys.stderr)
        raise SystemExit(2) from None
    spec = get_spec(args.model)
    _, label = sample_input(args.model, args.sample)
    _, test = dataset.load(spec.view)
    x = test.x[args.sample : args.sample + 1]
    ref = forward(spec, load_weights(args.model, args.weights), x)[0]
    got = vm_logits(program, x)[0][0]
    vis = program.inputs[0].visibility
    print(f"wrote {args.output} ({os.path.getsize(args.output)} bytes): {spec.description}, "
          f"{program.n_params} parameters, {vis} input, digest {program.digest_hex}")
    if program.hidden_weights:
        from zkvm.isa.weights_file import weights_path

        wv = program.tensors[program.hidden_weights[0]].visibility
        print(f"wrote {weights_path(args.output)}: {wv} weights (private file)"
              + (f"; model commitment {program.commitment.hex}" if program.commitment else ""))
    print(f"wrote {path}: held-out image {args.sample}, label {label}; "
          f"float model says {int(ref.argmax())}, program says {int(got.argmax())} "
          f"(max |logit difference| {np.abs(got - ref).max():.4f})")


if __name__ == "__main__":
    main()
