"""Errors of the ONNX compiler, and the lazy import of the optional ``onnx`` package.

Every error derives from :class:`zkvm.isa.errors.ZkvmError`, so the CLI prints
it on one line and exits with status 2. Messages name the node (its ONNX
name, or ``OpType#index`` when it has none) and say what to do.
"""

from __future__ import annotations

from types import ModuleType

from ...isa.errors import ZkvmError


class OnnxCompileError(ZkvmError):
    """The ONNX model cannot be compiled as it is (the message says why and what to do)."""


class UnsupportedOpError(OnnxCompileError):
    """The model uses an operator (or an operator variant) that has no lowering."""


class InaccurateProgramError(OnnxCompileError):
    """The compiled program's outputs are constant or too far from the model's on the samples."""


class OnnxNotInstalled(OnnxCompileError):
    """The optional ``onnx`` package is missing."""


def require_onnx() -> ModuleType:
    """Import and return ``onnx`` (with its reference evaluator), or raise a clear error.

    Raises:
        OnnxNotInstalled: ``onnx`` is not installed (``pip install zkvm[onnx]``).
    """
    try:
        import onnx
        import onnx.numpy_helper  # noqa: F401
        import onnx.reference  # noqa: F401
    except ImportError as e:
        raise OnnxNotInstalled(
            f"compiling ONNX models needs the onnx package ({e}); install it with "
            "'pip install zkvm[onnx]' (onnx >= 1.15)") from None
    return onnx
