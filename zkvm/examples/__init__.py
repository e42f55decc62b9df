"""Example models that ship with zkvm: what ``zkvm demo`` and ``zkvm bench`` run.

* :mod:`~zkvm.examples.nets`: the trained models' architectures (``mlp``
  784-128-10, ``cnn``, ``tiny``) and their float forward pass;
* :mod:`~zkvm.examples.dataset`: the 8x8 digits they were trained on
  (``data/digits.npz``, 45 KB) and the views the models read;
* :mod:`~zkvm.examples.program`: quantization and the program writer;
* :mod:`~zkvm.examples.trained`: the shipped float weights (``weights/``),
  a held-out sample input, and :func:`~zkvm.examples.trained.write`;
* :mod:`~zkvm.examples.models`: the benchmark set (the trained models plus
  seeded attention, LeNet-5, a transformer block, a 1M-parameter MLP);
* :mod:`~zkvm.examples.suite`: the benchmark runner behind ``zkvm bench``.

The repository's ``models/`` (training, accuracy report, ``python -m
models.build``) and ``bench/`` scripts import from here; nothing here
imports them (docs/architecture.md).
"""
