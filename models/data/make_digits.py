"""Make ``zkvm/examples/data/digits.npz``: the 8x8 handwritten digits, shipped in the package.

Source: the "Optical Recognition of Handwritten Digits" data set (optdigits)
of the UCI Machine Learning Repository, by E. Alpaydin and C. Kaynak (1998),
https://doi.org/10.24432/C50P49, licensed CC BY 4.0. This file holds the
1797 images that scikit-learn ships as ``sklearn.datasets.load_digits`` (the
optdigits test set): 8x8 grey-level images, each pixel a count in 0..16 of the
set pixels in a 4x4 block of a 32x32 bitmap, and their labels 0..9.

It was made once, outside the project's environment (scikit-learn is *not* a
dependency of zkvm; nothing downloads anything at run time or in tests)::

    python3 -m venv /tmp/skl && /tmp/skl/bin/pip install scikit-learn numpy
    /tmp/skl/bin/python models/data/make_digits.py

The output is ``images``: uint8 ``[1797, 8, 8]`` in 0..16 and ``labels``: uint8
``[1797]``, in scikit-learn's order, saved with ``numpy.savez_compressed``.
"""

from __future__ import annotations

import os

import numpy as np


def main() -> None:
    from sklearn.datasets import load_digits  # only needed to make the file once

    d = load_digits()
    images = d.images.astype(np.uint8)
    labels = d.target.astype(np.uint8)
    assert images.shape == (1797, 8, 8) and images.max() == 16
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out = os.path.join(root, "zkvm", "examples", "data", "digits.npz")
    np.savez_compressed(out, images=images, labels=labels)
    print(f"wrote {out}: {os.path.getsize(out)} bytes")


if __name__ == "__main__":
    main()
