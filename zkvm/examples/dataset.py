"""The handwritten digits shipped in ``zkvm/examples/data/digits.npz``, in the shapes the models use.

The file holds the 1797 8x8 optdigits images (pixels 0..16) and their labels
(see ``models/data/make_digits.py`` for source and licence). Nothing is ever
downloaded. Three views of it:

* ``"mnist"``: MNIST-shaped 28x28 images. Each 8x8 image is scaled to
  ``[0, 1]`` (``/16``), upsampled to 20x20 by separable bilinear
  interpolation (pixel centres aligned, edges clamped) and placed in a 28x28
  frame with a 4-pixel zero border, like MNIST's 20x20 digits in their 28x28
  box. Values are then rounded to multiples of 1/256 (MNIST's images are
  8-bit too), so a program whose input has scale 8 sees them exactly.
* ``"digits8"``: the 8x8 images scaled to ``[0, 1]``.
* ``"tiny"``: 4x4 images (2x2 average pooling of the 8x8 ones, multiples of
  1/64), digits 0..3 only (4 classes), for the tiny 16->32->8->4 MLP.

The held-out split is fixed: a permutation of all 1797 indices drawn with
``numpy.random.default_rng(SPLIT_SEED)``, the last ``TEST_FRACTION`` of it is
the test split (360 images); ``"tiny"`` keeps the digits 0..3 of each split.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

DATA_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "digits.npz")
SPLIT_SEED = 20240601
TEST_FRACTION = 0.2
VIEWS = ("mnist", "digits8", "tiny")


@dataclass(frozen=True)
class Split:
    """A data set split: float64 images ``x`` (first axis = sample) and int64 labels ``y``."""

    x: np.ndarray
    y: np.ndarray


@lru_cache(maxsize=1)
def load_raw() -> tuple[np.ndarray, np.ndarray]:
    """The shipped images (uint8 ``[1797, 8, 8]``, 0..16) and labels (int64 ``[1797]``).

    Raises:
        FileNotFoundError: the data file is missing from the checkout.
    """
    if not os.path.exists(DATA_PATH):
        raise FileNotFoundError(f"{DATA_PATH} is missing; it is part of the repository "
                                "(regenerate it with models/data/make_digits.py)")
    with np.load(DATA_PATH, allow_pickle=False) as d:
        images, labels = d["images"], d["labels"].astype(np.int64)
    images.flags.writeable = False
    labels.flags.writeable = False
    return images, labels


def bilinear_matrix(n_in: int, n_out: int) -> np.ndarray:
    """``[n_out, n_in]`` matrix of 1-D bilinear interpolation (pixel centres aligned).

    Output pixel ``i`` samples the input at ``(i + 0.5)·n_in/n_out − 0.5``,
    clamped to ``[0, n_in − 1]``; rows sum to 1.
    """
    pos = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0.0, n_in - 1.0)
    left = np.minimum(np.floor(pos).astype(np.int64), n_in - 2)
    frac = pos - left
    m = np.zeros((n_out, n_in))
    m[np.arange(n_out), left] = 1.0 - frac
    m[np.arange(n_out), left + 1] = frac
    return m


def to_mnist(images8: np.ndarray) -> np.ndarray:
    """8x8 images in 0..16 -> ``[N, 28, 28]`` floats in ``[0, 1]``, multiples of 1/256."""
    a = bilinear_matrix(8, 20)
    x = images8.astype(np.float64) / 16.0
    up = np.einsum("ij,njk,lk->nil", a, x, a)
    out = np.zeros((x.shape[0], 28, 28))
    out[:, 4:24, 4:24] = up
    return np.floor(out * 256.0 + 0.5) / 256.0


def to_tiny(images8: np.ndarray) -> np.ndarray:
    """8x8 images in 0..16 -> ``[N, 4, 4]`` 2x2 averages in ``[0, 1]`` (multiples of 1/64)."""
    x = images8.astype(np.float64).reshape(-1, 4, 2, 4, 2).sum(axis=(2, 4))
    return x / 64.0


def split_indices() -> tuple[np.ndarray, np.ndarray]:
    """Fixed (train, test) index arrays into the 1797 images."""
    n = load_raw()[0].shape[0]
    perm = np.random.default_rng(SPLIT_SEED).permutation(n)
    n_test = round(n * TEST_FRACTION)
    return np.sort(perm[: n - n_test]), np.sort(perm[n - n_test :])


@lru_cache(maxsize=len(VIEWS))
def load(view: str) -> tuple[Split, Split]:
    """The (train, test) splits of one view (see the module docstring).

    Args:
        view: ``"mnist"`` (``x`` is ``[N, 28, 28]``), ``"digits8"`` (``[N, 8, 8]``)
            or ``"tiny"`` (``[N, 4, 4]``, labels 0..3).

    Raises:
        ValueError: unknown view.
    """
    if view not in VIEWS:
        raise ValueError(f"unknown data view {view!r} (expected one of: {', '.join(VIEWS)})")
    images, labels = load_raw()
    tr, te = split_indices()
    if view == "mnist":
        x = to_mnist(images)
    elif view == "tiny":
        x = to_tiny(images)
    else:
        x = images.astype(np.float64) / 16.0
    out = []
    for idx in (tr, te):
        xs, ys = x[idx], labels[idx]
        if view == "tiny":
            keep = ys < 4
            xs, ys = xs[keep], ys[keep]
        xs.flags.writeable = False
        ys.flags.writeable = False
        out.append(Split(xs, ys))
    return out[0], out[1]
