"""``WideInputChip``: a private or hashed input whose declared range spans 2^16 values or more.

Proves such an input end to end, and refuses a prover that puts a value just
above the declared range into the input column (its limbs of ``x - lo`` fit,
but ``hi - x`` has no limbs: the exact top-limb check of DESIGN.md checklist 7).
"""

from __future__ import annotations

import numpy as np
import pytest

import zkvm.api as api
from zkvm.assembler import Builder
from zkvm.stark.errors import VerificationError


def wide_program():
    b = Builder()
    b.input("x", (1, 12), 32, 8, "private", (-100000, 100000))
    b.weight("w", (np.arange(36).reshape(12, 3) % 7) - 3, 16, 8)
    b.emit("matmul", ["x", "w"], "y")
    b.output("y")
    return b.build()


def test_private_input_wider_than_16_bits_proves():
    prog = wide_program()
    x = np.linspace(-100000, 100000, 12).astype(np.int64).reshape(1, 12)
    proof = api.prove(prog, {"x": x}, "test", seed=b"w", debug=True)
    out = api.verify(proof, api.setup(prog, "test").vk, security="test")
    assert out["y"].tolist() == (x @ ((np.arange(36).reshape(12, 3) % 7) - 3)).tolist()


def test_wide_input_out_of_range_is_rejected():
    """The prover puts hi + 1 in the input column with limbs of x - lo; hi - x = -1 has none."""
    from zkvm.air.chips.wide_input import WideInputChip

    prog = wide_program()
    x = np.zeros((1, 12), dtype=np.int64)
    key = api.setup(prog, "test")
    idx = next(i for i, c in enumerate(key.statement.chips) if isinstance(c, WideInputChip))
    chip = key.statement.chips[idx]

    def tamper(traces):
        tr = traces[idx].copy()
        good = chip.trace(np.full(12, 100001, dtype=np.int64))   # x = hi + 1
        tr[: 1 + chip.n_limbs] = good[: 1 + chip.n_limbs]         # x and the limbs of x - lo
        traces[idx] = tr
        return traces
    proof = api.prove(prog, {"x": x}, "test", key=key, seed=b"o", _tamper=tamper)
    with pytest.raises(VerificationError):
        api.verify(proof, key.vk, security="test")
