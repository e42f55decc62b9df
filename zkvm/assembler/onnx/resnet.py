"""A CIFAR ResNet-20 as ``torch.onnx.export`` writes it (no torch, no download), and its images.

The network of He et al., "Deep Residual Learning for Image Recognition" (CVPR
2016), section 4.2: a 3x3 conv with 16 channels, then 3 stages of 3 basic
blocks (16, 32, 64 channels; the first block of stages 2 and 3 has stride 2),
global average pooling and a 64 -> 10 fully connected layer: 19 convolutions,
~270K parameters, ~41M multiply-accumulates on a ``[1, 3, 32, 32]`` image.

The graph is written node for node as the TorchScript exporter writes it in
eval mode:

* ``fold_bn=True`` (the default export, ``do_constant_folding=True``): every
  ``BatchNormalization`` is folded into its ``Conv`` (weight and bias scaled per
  output channel); ``fold_bn=False``: ``Conv`` without bias followed by an
  explicit ``BatchNormalization`` node (``training=TrainingMode.PRESERVE``);
* shortcuts: ``"B"`` (a 1x1 conv of stride 2 with its BN where the shape
  changes) or ``"A"`` (the paper's parameter-free shortcut as the popular
  ``pytorch_resnet_cifar10`` writes it: ``x[:, :, ::2, ::2]``, exported as two
  strided ``Slice`` nodes, then ``F.pad`` of the channels with zeros: ``Pad``);
* ``Relu``, residual ``Add``, ``GlobalAveragePool``, ``Flatten``, ``Gemm``
  (``transB=1``).

Weights are realistic without training: He-normal convolutions, and every
BatchNorm's statistics are the per-channel mean and variance of the actual
activations on seeded synthetic images (so each layer's output is normalised
as a trained net's is), with seeded gammas/betas. The final layer is fitted
(ridge regression on the pooled features) to the synthetic images' classes, so
the logits separate the classes as a trained head does. Images are smooth
class-dependent patterns plus noise, normalised with the CIFAR-10 mean and std.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .examples import GraphMaker

#: CIFAR-10 per-channel mean and std (torchvision's usual normalisation)
CIFAR_MEAN = np.array([0.4914, 0.4822, 0.4465])
CIFAR_STD = np.array([0.2470, 0.2435, 0.2616])
N_CLASSES = 10
BN_EPS = 1e-5
#: seed of the images the BatchNorm statistics and the head are fitted on
_FIT_SEED = 1000
_FIT_IMAGES = 64


def cifar_images(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` seeded synthetic CIFAR-like images ``[n, 3, 32, 32]`` (float32, normalised) and labels.

    Each of the 10 classes has a fixed smooth colour pattern (a few low-frequency
    sinusoids per channel, the same for every seed); an image is its class's
    pattern with a random contrast, brightness and shift, plus smooth and pixel
    noise, clipped to ``[0, 1]`` and normalised with the CIFAR-10 mean and std.
    """
    proto = np.random.default_rng(12345)
    yy, xx = np.mgrid[0:32, 0:32] / 32.0
    templates = np.zeros((N_CLASSES, 3, 32, 32))
    for c in range(N_CLASSES):
        for ch in range(3):
            for _ in range(3):
                fx, fy = proto.uniform(0.5, 3.0, 2)
                ph = proto.uniform(0, 2 * np.pi)
                templates[c, ch] += proto.uniform(0.1, 0.25) * np.sin(
                    2 * np.pi * (fx * xx + fy * yy) + ph)
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, N_CLASSES, n)
    imgs = np.empty((n, 3, 32, 32))
    for i, c in enumerate(labels):
        t = np.roll(templates[c], rng.integers(-3, 4, 2), axis=(1, 2))
        smooth = rng.standard_normal((3, 8, 8)).repeat(4, axis=1).repeat(4, axis=2) * 0.05
        img = 0.5 + rng.uniform(0.7, 1.3) * t + rng.normal(0, 0.08) + smooth
        imgs[i] = np.clip(img + rng.normal(0, 0.03, img.shape), 0.0, 1.0)
    imgs = (imgs - CIFAR_MEAN[None, :, None, None]) / CIFAR_STD[None, :, None, None]
    return imgs.astype(np.float32), labels


def conv2d(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, stride: int, pad: int
           ) -> np.ndarray:
    """Float reference convolution (NCHW, OIHW) by im2col."""
    n, c = x.shape[:2]
    o, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    win = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(2, 3))
    win = win[:, :, ::stride, ::stride]  # [n, c, oh, ow, kh, kw]
    oh, ow = win.shape[2], win.shape[3]
    cols = win.transpose(0, 2, 3, 1, 4, 5).reshape(n * oh * ow, c * kh * kw)
    y = cols @ w.reshape(o, -1).T
    if b is not None:
        y = y + b
    return y.reshape(n, oh, ow, o).transpose(0, 3, 1, 2)


class _Net:
    """Builds the float weights layer by layer (BN statistics from real activations)
    and records the ONNX graph at the same time."""

    def __init__(self, rng: np.random.Generator, fold_bn: bool) -> None:
        self.rng, self.fold_bn = rng, fold_bn
        self.g = GraphMaker()
        self.n_conv = 0

    def conv_bn(self, x: np.ndarray, name: str, cin: int, cout: int, k: int, stride: int
                ) -> tuple[np.ndarray, str]:
        """Conv (He init) + BN whose statistics are those of ``x``'s conv output."""
        self.n_conv += 1
        rng = self.rng
        w = rng.standard_normal((cout, cin, k, k)) * math.sqrt(2.0 / (cin * k * k))
        y = conv2d(x, w, None, stride, k // 2)
        mean, var = y.mean(axis=(0, 2, 3)), y.var(axis=(0, 2, 3))
        gamma = rng.uniform(0.6, 1.4, cout)
        beta = rng.normal(0.0, 0.15, cout)
        a = gamma / np.sqrt(var + BN_EPS)
        out = (y - mean[None, :, None, None]) * a[None, :, None, None] + beta[None, :, None, None]
        attrs = {"kernel_shape": [k, k], "strides": [stride, stride], "pads": [k // 2] * 4,
                 "dilations": [1, 1], "group": 1}
        g = self.g
        if self.fold_bn:  # what torch.onnx.export writes in eval mode with constant folding
            wf = (w * a[:, None, None, None]).astype(np.float32)
            bf = (beta - mean * a).astype(np.float32)
            node = g.node("Conv", [name, g.const(wf, f"onnx::Conv_{self._id()}"),
                                   g.const(bf, f"onnx::Conv_{self._id()}")], **attrs)
        else:
            c = g.node("Conv", [name, g.const(w.astype(np.float32), f"conv{self.n_conv}.weight")],
                       **attrs)
            node = g.node("BatchNormalization",
                          [c, g.const(gamma, f"bn{self.n_conv}.weight"),
                           g.const(beta, f"bn{self.n_conv}.bias"),
                           g.const(mean, f"bn{self.n_conv}.running_mean"),
                           g.const(var, f"bn{self.n_conv}.running_var")],
                          epsilon=BN_EPS, momentum=0.9)
        return out, node

    def _id(self) -> int:
        self.g.n += 1
        return 100 + self.g.n

    def relu(self, x: np.ndarray, name: str) -> tuple[np.ndarray, str]:
        return np.maximum(x, 0.0), self.g.node("Relu", [name])


def resnet20(seed: int = 0, shortcut: str = "B", fold_bn: bool = True) -> Any:
    """The CIFAR ResNet-20 ``input[1, 3, 32, 32] -> output[1, 10]`` (see the module docstring).

    Args:
        seed: weights seed (the fitting images are fixed).
        shortcut: ``"B"`` (1x1 conv + BN) or ``"A"`` (strided slice + zero channel pad).
        fold_bn: BatchNorm folded into the convolutions (torch's eval export) or explicit.

    Returns:
        An ``onnx.ModelProto`` (opset 17).
    """
    return cifar_resnet(3, (16, 32, 64), seed, shortcut, fold_bn)


def cifar_resnet(n: int, widths: tuple[int, int, int], seed: int = 0, shortcut: str = "B",
                 fold_bn: bool = True) -> Any:
    """CIFAR ResNet-(6n+2) with stage widths ``widths`` (:func:`resnet20` is ``n=3``,
    ``(16, 32, 64)``; tests use smaller ones)."""
    if shortcut not in ("A", "B"):
        raise ValueError(f"shortcut must be 'A' or 'B', got {shortcut!r}")
    rng = np.random.default_rng(seed)
    x, labels = cifar_images(_FIT_IMAGES, _FIT_SEED)
    x = x.astype(np.float64)
    net = _Net(rng, fold_bn)
    g = net.g
    h, t = net.conv_bn(x, "input", 3, widths[0], 3, 1)
    h, t = net.relu(h, t)
    cin = widths[0]
    for stage, cout in enumerate(widths):
        for blk in range(n):
            stride = 2 if stage > 0 and blk == 0 else 1
            y, u = net.conv_bn(h, t, cin, cout, 3, stride)
            y, u = net.relu(y, u)
            y, u = net.conv_bn(y, u, cout, cout, 3, 1)
            if stride == 1 and cin == cout:
                sc, st = h, t
            elif shortcut == "B":
                sc, st = net.conv_bn(h, t, cin, cout, 1, stride)
            else:
                p = (cout - cin) // 2
                sc = np.pad(h[:, :, ::2, ::2], ((0, 0), (p, p), (0, 0), (0, 0)))
                big = np.iinfo(np.int64).max
                s1 = g.node("Slice", [t, g.const([0], dtype=np.int64),
                                      g.const([big], dtype=np.int64),
                                      g.const([2], dtype=np.int64), g.const([2], dtype=np.int64)])
                s2 = g.node("Slice", [s1, g.const([0], dtype=np.int64),
                                      g.const([big], dtype=np.int64),
                                      g.const([3], dtype=np.int64), g.const([2], dtype=np.int64)])
                st = g.node("Pad", [s2, g.const([0, p, 0, 0, 0, p, 0, 0], dtype=np.int64),
                                    g.const(0.0)], mode="constant")
            h = np.maximum(y + sc, 0.0)
            t = g.node("Relu", [g.node("Add", [u, st])])
            cin = cout
    feats = h.mean(axis=(2, 3))
    pooled = g.node("Flatten", [g.node("GlobalAveragePool", [t])], axis=1)
    # the head: ridge regression of scaled one-hot targets on the pooled features
    a = np.concatenate([feats, np.ones((len(feats), 1))], axis=1)
    target = np.full((len(feats), N_CLASSES), -1.0)
    target[np.arange(len(feats)), labels] = 4.0
    sol = np.linalg.solve(a.T @ a + 1.0 * np.eye(a.shape[1]), a.T @ target)
    fw, fb = sol[:-1].T.astype(np.float32), sol[-1].astype(np.float32)
    y = g.node("Gemm", [pooled, g.const(fw, "fc.weight"), g.const(fb, "fc.bias")],
               alpha=1.0, beta=1.0, transB=1)
    return g.model({"input": [1, 3, 32, 32]}, [y], opset=17, rename={y: "output"})


def calibration_images(n: int = 16, seed: int = 7) -> np.ndarray:
    """A seeded calibration set for :func:`resnet20`: ``[n, 1, 3, 32, 32]`` (one sample per row)."""
    imgs, _ = cifar_images(n, seed)
    return imgs[:, None]


def n_params(model: Any) -> int:
    """Number of weight values of a model (its float initializers)."""
    from onnx import numpy_helper

    return sum(numpy_helper.to_array(t).size for t in model.graph.initializer
               if t.data_type == 1)
