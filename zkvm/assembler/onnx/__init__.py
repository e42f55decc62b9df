"""ONNX model compiler: ``zkvm compile MODEL.onnx -o PROGRAM`` (docs/onnx.md).

The optional ``onnx`` package (``pip install zkvm[onnx]``) is imported only
when a model is compiled or compared; importing this package needs nothing
beyond zkvm's own dependencies.

Public API: :func:`compile_onnx` -> :class:`CompileResult` (``program``,
``report``, ``notes``), :class:`CompileOptions`, :func:`supported_ops`,
:func:`compare_with_onnx` (the report of one run), the errors
:class:`OnnxCompileError`, :class:`UnsupportedOpError`, :class:`OnnxNotInstalled`,
:class:`InaccurateProgramError` (constant or inaccurate outputs on the samples).
"""

from .compiler import CompileResult, compile_onnx, supported_ops
from .errors import InaccurateProgramError, OnnxCompileError, OnnxNotInstalled, UnsupportedOpError
from .lower import CompileOptions
from .report import AccuracyReport, compare_with_onnx

__all__ = ["AccuracyReport", "CompileOptions", "CompileResult", "InaccurateProgramError",
           "OnnxCompileError",
           "OnnxNotInstalled", "UnsupportedOpError", "compare_with_onnx", "compile_onnx",
           "supported_ops"]
