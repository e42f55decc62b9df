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
import os
import sys

import numpy as np

from zkvm.isa.errors import ZkvmError

from zkvm.examples import dataset
from zkvm.examples.nets import MODELS, forward, get_spec
from zkvm.examples.program import QuantConfig
from zkvm.examples.trained import (  # noqa: F401  (sample_path, write: re-exported)
    load_weights, sample_input, sample_path, write,
)

from .evaluate import vm_logits


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m models.build", description=__doc__.split("\n")[0])
    ap.add_argument("model", choices=list(MODELS))
    ap.add_argument("-o", "--output", required=True, help="program file to write (.zkvm)")
    ap.add_argument("--private-input", action="store_true", help="make the input private")
    ap.add_argument("--weights", help="float weights .npz (default: zkvm/examples/weights/MODEL.npz)")
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
