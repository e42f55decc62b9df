"""Blinding the per-table LogUp sums in zero-knowledge mode.

Each table's claimed LogUp sum is sent in the clear. For a table whose
messages involve private values (an input chip, say) that sum is a
deterministic function of them: it would leak up to 128 bits. In zk mode we
therefore add, to every table with interactions, one extra message on a
dedicated bus ``BUS_ZK_BLIND``: the table *receives* ``(t, rho0, rho1)`` on its
first row, where ``t`` is its index (a constant of the constraint) and
``(rho0, rho1)`` two extra witness columns holding uniformly random field
elements; one extra *blinding table* sends ``(t, rho0_t, rho1_t)`` for every
such table ``t`` (``t`` and the on/off selector are preprocessed). Over the
extension of degree D there are D random columns ``rho0 .. rho(D-1)`` (D = 2
is written below), so that ``m_t`` is uniform in the whole extension.

Soundness is unchanged: the blinding messages live on their own bus, the
table ids are fixed by the verifying key, and sends and receives must match
exactly, so they cancel in the total. Hiding: with
``m_t = 1 / (alpha - (BUS_ZK_BLIND + beta t + beta^2 rho0 + beta^3 rho1))``, uniform
in F_p2 because ``rho0 + beta rho1`` is (1 and beta are a basis when beta is
not in F_p), the revealed sums are ``c_t = true_t - m_t`` and
``c_blind = sum_t m_t``: uniformly random subject to their total, which the
verifier knows anyway.
"""

from __future__ import annotations

import numpy as np

from zkvm.air.air import Air

BUS_ZK_BLIND = 0x7A6B  # distinct from every chip bus


class BlindedAir(Air):
    """``air`` plus two random columns and the first-row blinding receive."""

    def __init__(self, air: Air, table_index: int, ext_degree: int = 2):
        self.inner = air
        self.table_index = table_index
        self.name = air.name
        self.main_columns = tuple(air.main_columns) + (("zk_blind", ext_degree),)
        self.preprocessed_columns = air.preprocessed_columns
        self.public_names = air.public_names
        super().__init__(air.log_height, air.params)

    def eval(self, b):
        self.inner.eval(b)
        rho = b.main.zk_blind
        b.receive(BUS_ZK_BLIND, [self.table_index, *rho], b.is_first_row)

    def preprocessed_trace(self):
        return self.inner.preprocessed_trace()

    def spec(self) -> dict:
        return self.inner.spec()


class BlindTable(Air):
    """Sends one ``(t, rho0, rho1)`` per blinded table (ids and selector preprocessed)."""

    name = "zk_blind"
    main_columns = ("rho0", "rho1")
    preprocessed_columns = ("table", "on")

    def __init__(self, log_height: int, tables: list[int], ext_degree: int = 2):
        self.main_columns = tuple(f"rho{i}" for i in range(ext_degree))
        super().__init__(log_height, {"tables": list(tables)})

    def eval(self, b):
        b.send(BUS_ZK_BLIND, [b.pre.table, *(getattr(b.main, c) for c in self.main_columns)], b.pre.on)

    def preprocessed_trace(self):
        n = self.n_rows
        ids = np.zeros(n, dtype=np.uint64)
        on = np.zeros(n, dtype=np.uint64)
        k = len(self.params["tables"])
        ids[:k] = self.params["tables"]
        on[:k] = 1
        return np.stack([ids, on])


def blind_airs(airs: list[Air], interacting: list[bool], min_log_height: int,
               ext_degree: int = 2) -> list[Air]:
    """The zk statement: interacting tables wrapped, plus the blinding table (last)."""
    ids = [i for i, x in enumerate(interacting) if x]
    if not ids:
        return list(airs)
    out = [BlindedAir(a, i, ext_degree) if x else a for i, (a, x) in enumerate(zip(airs, interacting))]
    # as short as allowed, but no shorter than the smallest table: it then shares that
    # table's height group instead of adding Merkle trees of its own
    log_h = max(min_log_height, (len(ids) - 1).bit_length(), min(a.log_height for a in airs))
    out.append(BlindTable(log_h, ids, ext_degree))
    return out
