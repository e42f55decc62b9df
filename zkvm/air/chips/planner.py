"""The planner registry: how a program's instructions become chips.

A *planner* is a function ``planner(ctx, index, instruction) -> [chips]``
registered for one or more opcodes with :func:`planner`; the chip modules
register theirs when :mod:`zkvm.air.chips` is imported, and
:func:`zkvm.air.chips.statement.build_statement` calls them. Planners see
only the public program (:class:`Context`), never an execution, so anyone can
derive the verifying key. Kept apart from the statement so that chip modules
import the registry without importing the statement (which imports them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from zkvm.air.chips.common import log_height_for
from zkvm.errors import ZkvmUserError

#: opcode -> planner(ctx, index, instruction) -> list of chips
PLANNERS: dict[str, Callable] = {}


def planner(*ops: str):
    """Register the function that makes the chips of ``ops``' instructions."""
    def deco(fn):
        for op in ops:
            PLANNERS[op] = fn
        return fn
    return deco


class StatementError(ZkvmUserError, ValueError):
    """The program cannot be proved as it is (says which instruction and why)."""


@dataclass
class Context:
    """What planners may use: the program, the zk flag and the target (never an execution).

    ``onchain``: the key is for the Solidity verifier (the ``onchain`` preset),
    where every column costs gas in each query (its opened values are calldata
    and enter the DEEP sum), so planners weigh columns more than rows.
    """

    program: object
    zk: bool
    onchain: bool = False

    def log_height(self, n_rows: int) -> int:
        return log_height_for(n_rows, self.zk)
