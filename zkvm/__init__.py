"""zkvm: a transparent, zero-knowledge STARK that proves neural-network inference.

Data flows one way: model -> assembler -> program -> runtime (events) -> chips
(traces) -> prover -> proof -> verifier. See docs/architecture.md.
"""

__version__ = "0.1.0"
