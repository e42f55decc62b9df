"""What a :class:`~zkvm.isa.program.Program` knows about its hidden weights (docs/visibility.md).

Split from ``program.py``: which weights are hidden, whether their values are
bound, binding a private weights file (checked against the model commitment)
and writing one.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import ZkvmError


class WeightsError(ZkvmError):
    """Hidden weight values are missing, malformed, or do not match the model commitment."""


class HiddenWeightsMixin:
    """Hidden-weight helpers of ``Program``.

    Uses the program's ``tensors``, ``weights``, ``commitment``, ``weight_salt``
    and ``digest``.
    """

    @property
    def hidden_weights(self) -> list[str]:
        """Names of the private and hashed weights, in declaration order."""
        return [t.name for t in self.tensors.values()
                if t.kind == "weight" and t.visibility != "public"]

    @property
    def public_weights(self) -> dict[str, np.ndarray]:
        """Values of the public weights (what the program file stores)."""
        return {n: w for n, w in self.weights.items() if self.tensors[n].visibility == "public"}

    @property
    def weights_bound(self) -> bool:
        """True when every hidden weight's values (and the commitment's salt) are known."""
        return all(n in self.weights for n in self.hidden_weights) and (
            self.commitment is None or self.weight_salt is not None)

    @property
    def has_hidden(self) -> bool:
        """Anything private or hashed (the proof must be zero-knowledge)."""
        return any(t.visibility != "public" for t in self.tensors.values()
                   if t.kind in ("input", "weight", "output"))

    def require_weights(self) -> None:
        """Raise WeightsError unless the hidden weights are bound (needed to execute)."""
        if not self.weights_bound:
            names = ", ".join(self.hidden_weights)
            raise WeightsError(
                f"program {self.digest_hex[:16]}… has private weights ({names}) whose values "
                "are not in the program file: give the private weights file (--weights FILE, "
                "or weights= in Python)")

    def bind_weights(self, private: Any, check: bool = True) -> Any:
        """This program with its hidden weights' values (a ``zkvm.isa.weights_file.PrivateWeights``).

        Args:
            private: values of every hidden weight and the commitment's salt.
            check: verify shapes, widths and the commitment (``False`` only to
                build a deliberately wrong witness in tests).

        Raises:
            WeightsError: a weight is missing, has the wrong shape, leaves its
                declared width, or the values and salt do not hash to the
                program's model commitment.
        """
        import copy

        from .hidden import check_private_weights

        values, salt = check_private_weights(self, private, check, WeightsError)
        out = copy.copy(self)
        out.__dict__.pop("_vm_cache", None)
        out.weights = {**self.public_weights, **values}
        out.weight_salt = salt
        return out

    def private_weights(self) -> Any:
        """The hidden weights and salt as a ``zkvm.isa.weights_file.PrivateWeights``."""
        from .hidden import SCHEME
        from .weights_file import PrivateWeights

        self.require_weights()
        return PrivateWeights(
            {n: self.weights[n] for n in self.hidden_weights},
            list(self.weight_salt) if self.weight_salt is not None else None,
            list(self.commitment.digest) if self.commitment is not None else None,
            self.digest,
            list(self.commitment.tensors) if self.commitment is not None else [],
            self.commitment_header,
            self.commitment.scheme if self.commitment is not None else SCHEME)

    @property
    def commitment_header(self) -> list[int]:
        """The public header the model commitment absorbs first (``zkvm.isa.hidden``)."""
        from .hidden import commitment_header

        if self.commitment is None:
            return []
        return commitment_header([self.tensors[n] for n in self.commitment.tensors])
