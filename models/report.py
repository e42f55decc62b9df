"""Accuracy report of the example models: float vs quantized (VM) on the held-out split.

    python -m models.report [mlp cnn tiny] [--weight-bits 8|16] [--json OUT.json]

Prints, per model: parameter count, float test accuracy, the program's
(integer VM) test accuracy, top-1 agreement between the two, the largest
absolute logit difference, and the median VM run time of one image.
"""

from __future__ import annotations

import argparse
import json
import os

from .evaluate import evaluate
from zkvm.examples.nets import MODELS
from zkvm.examples.program import QuantConfig
from zkvm.platform_info import cpu_model as _cpu




def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m models.report", description=__doc__.split("\n")[0])
    ap.add_argument("models", nargs="*", help=f"models to report (default: {' '.join(MODELS)})")
    ap.add_argument("--weight-bits", type=int, choices=[8, 16], default=QuantConfig.weight_bits)
    ap.add_argument("--json", help="also write the figures to this JSON file")
    args = ap.parse_args(argv)
    unknown = [m for m in args.models if m not in MODELS]
    if unknown:
        ap.error(f"unknown model(s) {', '.join(unknown)} (expected: {', '.join(MODELS)})")
    cfg = QuantConfig(weight_bits=args.weight_bits)
    print(f"machine: {os.cpu_count()} cpus, {_cpu()}; weights i{cfg.weight_bits}, "
          f"input/activation/logit scale {cfg.input_scale}/{cfg.act_scale}/{cfg.logit_scale}")
    head = (f"{'model':6} {'params':>8} {'test':>5} {'float acc':>9} {'VM acc':>7} "
            f"{'agree':>6} {'max|dlogit|':>11} {'VM ms':>6}")
    print(head)
    print("-" * len(head))
    rows = []
    for name in args.models or list(MODELS):
        r = evaluate(name, cfg)
        rows.append(r.as_dict())
        print(f"{r.model:6} {r.n_params:8d} {r.n_test:5d} {r.float_accuracy:9.4f} "
              f"{r.vm_accuracy:7.4f} {r.top1_agreement:6.4f} {r.max_abs_logit_error:11.4f} "
              f"{r.vm_ms_median:6.2f}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"machine": {"nproc": os.cpu_count(), "cpu": _cpu()}, "models": rows}, f,
                      indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
