"""Train an example model in plain numpy and save its float weights.

    python -m models.train mlp|cnn|tiny|all [-o zkvm/examples/weights/NAME.npz]

Minibatch Adam (Kingma & Ba, 2015) on softmax cross-entropy with L2 weight
decay (which keeps weights small, so they quantize well), seeded by the
model's spec: the same numpy version gives the same weights. The trained
weights are committed in ``zkvm/examples/weights/`` (float32), so building a
program never needs training.
"""

from __future__ import annotations

import argparse
import os
import time

# Small matrices train faster on one BLAS thread than on several fighting for
# two shared cores (10x here); only takes effect when numpy is not yet loaded.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from zkvm.examples import dataset  # noqa: E402
from zkvm.examples.trained import WEIGHTS_DIR, load_weights, weights_path  # noqa: E402,F401
from .nets import (  # noqa: E402
    MODELS,
    ModelSpec,
    accuracy,
    backward,
    forward,
    get_spec,
    init_params,
    softmax_xent,
)

def train(spec: ModelSpec, log: bool = False) -> dict[str, np.ndarray]:
    """Train ``spec`` on its data view's training split; returns float64 parameters."""
    train_split, _ = dataset.load(spec.view)
    x, y = train_split.x, train_split.y
    rng = np.random.default_rng(spec.seed)
    params = init_params(spec, rng)
    m = {k: np.zeros_like(v) for k, v in params.items()}
    v2 = {k: np.zeros_like(v) for k, v in params.items()}
    b1, b2, eps, step = 0.9, 0.999, 1e-8, 0
    for epoch in range(spec.epochs):
        order = rng.permutation(x.shape[0])
        total = 0.0
        for start in range(0, x.shape[0], spec.batch):
            idx = order[start : start + spec.batch]
            logits, cache = forward(spec, params, x[idx], keep=True)
            loss, dlogits = softmax_xent(logits, y[idx])
            total += loss * idx.size
            grads = backward(spec, params, cache, dlogits)
            step += 1
            lr = spec.lr * np.sqrt(1 - b2**step) / (1 - b1**step)
            for k, p in params.items():
                g = grads[k] + (spec.weight_decay * p if k.startswith("w") else 0.0)
                m[k] = b1 * m[k] + (1 - b1) * g
                v2[k] = b2 * v2[k] + (1 - b2) * g * g
                p -= lr * m[k] / (np.sqrt(v2[k]) + eps)
        if log and (epoch + 1) % max(1, spec.epochs // 6) == 0:
            print(f"  epoch {epoch + 1:4d}  loss {total / x.shape[0]:.4f}  "
                  f"train acc {accuracy(spec, params, x, y):.4f}")
    return params


def save_weights(params: dict[str, np.ndarray], path: str) -> None:
    """Save parameters as float32 in a compressed ``.npz``."""
    np.savez_compressed(path, **{k: v.astype(np.float32) for k, v in params.items()})


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m models.train", description=__doc__.split("\n")[0])
    ap.add_argument("model", choices=[*MODELS, "all"])
    ap.add_argument("-o", "--output", help="weights file (default: zkvm/examples/weights/NAME.npz)")
    args = ap.parse_args(argv)
    names = list(MODELS) if args.model == "all" else [args.model]
    if args.output and len(names) > 1:
        ap.error("-o needs a single model")
    for name in names:
        spec = get_spec(name)
        print(f"{name}: {spec.description}, {spec.n_params} parameters")
        t0 = time.perf_counter()
        params = train(spec, log=True)
        dt = time.perf_counter() - t0
        _, test = dataset.load(spec.view)
        acc = accuracy(spec, params, test.x, test.y)
        path = args.output or weights_path(name)
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        save_weights(params, path)
        print(f"  trained in {dt:.1f} s; float test accuracy {acc:.4f} "
              f"({test.y.size} held-out images); wrote {path}")


if __name__ == "__main__":
    main()
