"""Text assembly <-> program, and (later) model compilers such as ONNX."""
