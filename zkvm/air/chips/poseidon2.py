"""Poseidon2 sponge chip: the digest of tensors read from memory, proved in the AIR.

Proves ``digest = hash_elements(values, salt)`` (``zkvm.hash.poseidon2``:
Poseidon2-Goldilocks, width 12, rate 8, capacity 4) where ``values`` and
``salt`` are *read from the memory bus* at program-fixed addresses, so the
hashed tensor is exactly what every other chip reads, and the digest is
*written* to the bus at the digest tensor's addresses (a public output: the
verifier receives it as a bus term, like any output).

One row per permutation (one sponge block). A row holds the permutation's
input ``inp`` (12) and, per S-box, the cube ``x^3`` and the output ``x^7``:
``fx3``/``fpost`` (8 external rounds x 12), ``px3``/``py`` (22 internal
rounds x 1), 248 columns. Every S-box gives two degree-3 constraints,
``x3 = u^3`` and ``y = x3^2 * u``, where ``u`` (the S-box input) is an affine
function of the previous round's committed outputs; the linear layers
``M_E``/``M_I`` and the round constants are folded into those affine
expressions (constants of the AIR itself, so they are part of the verifying
key's chip kind). Max degree 3.

Preprocessed (per row): ``addr[8]`` (address of each absorbed element; 0 =
the constant 0, which fills the last block), ``on`` (1 on a hash's rows),
``start`` (first row of a hash: the capacity must be the IV
``(len(values), len(salt), DOMAIN_TAG, 0)``, ``iv`` holding the two lengths),
``chain`` (the next row continues this hash: its capacity input is this
row's capacity output), ``daddr`` and ``dmult[4]`` (last row of a hash: send
``(daddr + j, out[j])``, ``j < 4``, with the read counts of the digest).
Padding rows permute anything (the honest prover uses zeros) and touch no
bus. The rate input is the block itself (overwrite-mode sponge), so the
received values *are* the permutation inputs.

Cost: 1 row per 8 absorbed elements (the salt included), 248 main columns
plus 14 LogUp columns (12 bus interactions in 6 pairs + running sum).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from zkvm.air.chips.common import BUS_MEM, VmChip, Witness, field, log_height_for, pad_columns
from zkvm.air.registry import register
from zkvm.field.scalar import P
from zkvm.hash.poseidon2 import (
    DIGEST_LEN, DOMAIN_TAG, GOLDILOCKS_12, RATE, WIDTH, apply_external, apply_internal, n_blocks,
)

HASH_ID = "poseidon2-goldilocks-w12-rf8-rp22"


@dataclass
class HashJob:
    """One sponge: the addresses it absorbs (salt first) and where its digest goes."""

    value_addrs: np.ndarray
    salt_addrs: np.ndarray
    digest_addrs: np.ndarray

    def __post_init__(self):
        self.value_addrs = np.asarray(self.value_addrs, dtype=np.int64).ravel()
        self.salt_addrs = np.asarray(self.salt_addrs, dtype=np.int64).ravel()
        self.digest_addrs = np.asarray(self.digest_addrs, dtype=np.int64).ravel()
        d = self.digest_addrs
        if d.size != DIGEST_LEN or np.any(d != d[0] + np.arange(DIGEST_LEN)) or d[0] <= 0:
            raise ValueError(f"a digest needs {DIGEST_LEN} consecutive non-zero addresses, "
                             f"got {d.tolist()}")

    @property
    def n_rows(self) -> int:
        return n_blocks(self.value_addrs.size, self.salt_addrs.size)

    def lane_addrs(self) -> np.ndarray:
        """``(n_rows, 8)``: salt then values, the last block filled with address 0."""
        a = np.zeros(self.n_rows * RATE, dtype=np.int64)
        msg = np.concatenate([self.salt_addrs, self.value_addrs])
        a[: msg.size] = msg
        return a.reshape(self.n_rows, RATE)


def permutation_constraints(b, inp: Sequence, fx3: Sequence, fpost: Sequence, px3: Sequence,
                            py: Sequence, params=GOLDILOCKS_12) -> list:
    """Assert one Poseidon2 permutation through builder ``b``; return its output (affine).

    Works with any builder values (expressions, columns, ``Ext``): the linear
    layers and round constants are applied to the committed S-box outputs.
    """
    t, half = params.t, params.rf // 2

    def sbox(u, x3, y):
        b.assert_zero(x3 - u * u * u, "poseidon2: sbox cube")
        b.assert_zero(y - x3 * x3 * u, "poseidon2: sbox x^7")

    def full(s, r):
        post = fpost[r * t:(r + 1) * t]
        for i in range(t):
            sbox(s[i] + params.external_rc[r][i], fx3[r * t + i], post[i])
        return apply_external(post)

    s = apply_external(list(inp))
    for r in range(half):
        s = full(s, r)
    dm1 = params.diag_m1
    for k in range(params.rp):
        sbox(s[0] + params.internal_rc[k], px3[k], py[k])
        s = apply_internal([py[k]] + s[1:], dm1)
    for r in range(half, params.rf):
        s = full(s, r)
    return s


@register
class Poseidon2Chip(VmChip):
    """params: ``{"hash": HASH_ID}`` (the only instance; refused otherwise)."""

    name = "poseidon2"
    PARAMS = GOLDILOCKS_12
    main_columns = (("inp", WIDTH), ("fx3", 8 * WIDTH), ("fpost", 8 * WIDTH), ("px3", 22),
                    ("py", 22))
    preprocessed_columns = (("addr", RATE), "on", "start", "chain", ("iv", 2), "daddr",
                            ("dmult", DIGEST_LEN))

    def __init__(self, log_height: int, params: dict | None = None, data: dict | None = None):
        params = dict(params or {"hash": HASH_ID})
        if params.get("hash") != HASH_ID:
            raise ValueError(f"poseidon2 chip: unknown hash instance {params.get('hash')!r}")
        super().__init__(log_height, params, data)

    def eval(self, b):
        m, p = b.main, b.pre
        out = permutation_constraints(b, m.inp, m.fx3, m.fpost, m.px3, m.py, self.PARAMS)
        cap, iv = m.inp[RATE:], p.iv
        b.assert_zero(p.start * (cap[0] - iv[0]), "poseidon2: IV length of values")
        b.assert_zero(p.start * (cap[1] - iv[1]), "poseidon2: IV length of salt")
        b.assert_zero(p.start * (cap[2] - DOMAIN_TAG), "poseidon2: IV domain tag")
        b.assert_zero(p.start * cap[3], "poseidon2: IV zero")
        nxt = b.next.inp[RATE:]
        for j in range(WIDTH - RATE):
            b.assert_zero(p.chain * (nxt[j] - out[RATE + j]), "poseidon2: capacity chaining")
        for i in range(RATE):
            b.receive(BUS_MEM, [p.addr[i], m.inp[i]], p.on)
        for j in range(DIGEST_LEN):
            b.send(BUS_MEM, [p.daddr + j, out[j]], p.dmult[j])

    # --- setup-time data ---------------------------------------------------
    @classmethod
    def for_jobs(cls, jobs: Sequence[HashJob], log_height: int) -> "Poseidon2Chip":
        """A table proving ``jobs`` one after the other (``data`` from addresses only)."""
        rows = sum(j.n_rows for j in jobs)
        if rows > (1 << log_height):
            raise ValueError(f"poseidon2: {rows} rows do not fit 2^{log_height}")
        data = {
            "lanes": np.concatenate([j.lane_addrs() for j in jobs]),
            "starts": np.cumsum([0] + [j.n_rows for j in jobs[:-1]]).astype(np.int64),
            "lengths": np.array([[j.value_addrs.size, j.salt_addrs.size] for j in jobs],
                                dtype=np.int64),
            "daddr": np.array([j.digest_addrs[0] for j in jobs], dtype=np.int64),
            "n_rows_used": rows,
            "read_addrs": np.concatenate([j.lane_addrs().ravel() for j in jobs]),
            "write_addrs": np.concatenate([j.digest_addrs for j in jobs]),
        }
        return cls(log_height, {"hash": HASH_ID}, data)

    def _row_flags(self):
        d, n = self.data, self.n_rows
        used = d["n_rows_used"]
        starts = d["starts"]
        lasts = np.concatenate([starts[1:], [used]]) - 1
        start = np.zeros(n, np.int64)
        start[starts] = 1
        chain = np.zeros(n, np.int64)
        chain[:used] = 1
        chain[lasts] = 0
        return start, chain, starts, lasts

    def preprocessed_trace(self) -> np.ndarray:
        d, n = self.data, self.n_rows
        used = d["n_rows_used"]
        start, chain, starts, lasts = self._row_flags()
        k = len(starts)
        iv = np.zeros((2, n), np.int64)
        iv[:, starts] = d["lengths"].T
        daddr = np.zeros(n, np.int64)
        daddr[lasts] = d["daddr"]
        mult = np.asarray(d.get("mult", np.ones(k * DIGEST_LEN, np.int64))).reshape(k, DIGEST_LEN)
        dmult = np.zeros((DIGEST_LEN, n), np.int64)
        dmult[:, lasts] = mult.T
        on = np.zeros(n, np.int64)
        on[:used] = 1
        cols = [d["lanes"][:, i] for i in range(RATE)] + [on, start, chain, iv[0], iv[1], daddr]
        cols += list(dmult)
        return pad_columns(cols, n)

    # --- witness -----------------------------------------------------------
    def trace_from_memory(self, memory: np.ndarray) -> tuple[np.ndarray, list[list[int]]]:
        """Main trace and digests from the memory image (``memory[addr]``, signed or field).

        Returns:
            ``(trace (248, n), digests)``: one digest (4 field elements) per job.
        """
        from zkvm.hash.poseidon2_kernels import sponge_rows

        d, n = self.data, self.n_rows
        mem = np.asarray(memory)
        mem = mem.astype(np.uint64) if mem.dtype == np.uint64 else field(mem)
        used = d["n_rows_used"]
        start, chain, starts, lasts = self._row_flags()
        rate = np.zeros((n, RATE), np.uint64)
        lanes = d["lanes"]
        rate[:used] = np.where(lanes == 0, np.uint64(0), mem[lanes])
        cap = np.zeros((n, WIDTH - RATE), np.uint64)
        cap[starts, 0] = d["lengths"][:, 0].astype(np.uint64)
        cap[starts, 1] = d["lengths"][:, 1].astype(np.uint64)
        cap[starts, 2] = np.uint64(DOMAIN_TAG)
        cont = np.zeros(n, np.uint8)
        cont[1:] = chain[:-1]
        rows, outs = sponge_rows(rate, cap, cont)
        digests = [[int(v) for v in outs[r, :DIGEST_LEN]] for r in lasts]
        return np.ascontiguousarray(rows.T), digests

    def witness(self, w: Witness) -> np.ndarray:
        """The hashed values read from the memory image; records the digests in ``w``."""
        trace, w.digests = self.trace_from_memory(w.memory)
        return trace


@register
class SaltChip(VmChip):
    """Private, unconstrained field elements put on the bus (e.g. a commitment's salt).

    Sends ``(addr, s)`` with the read count; ``s`` is any field element the
    prover picks (a salt only blinds: binding comes from the digest). Not for
    values whose size matters (use ``InputChip``, which range-checks).
    """

    name = "salt"
    main_columns = ("s",)
    preprocessed_columns = ("addr", "mult")

    def eval(self, b):
        b.send(BUS_MEM, [b.pre.addr, b.main.s], b.pre.mult)

    def preprocessed_trace(self):
        d = self.data
        return pad_columns([d["addr"], d.get("mult", np.ones(d["addr"].size, np.int64))],
                           self.n_rows)

    def trace(self, values: Sequence[int]) -> np.ndarray:
        v = np.array([int(x) % P for x in values], dtype=np.uint64)
        return pad_columns([v], self.n_rows)

    def witness(self, w: Witness) -> np.ndarray:
        return self.trace(w.memory[self.data["addr"]])


def plan_hash(ctx, addrs: np.ndarray, salt_addrs: np.ndarray, digest_name: str) -> list[VmChip]:
    """Chips proving ``digest_name = hash_elements(mem[addrs], mem[salt_addrs])``.

    Planner helper for hashed tensors: reads ``addrs`` (values) and
    ``salt_addrs`` (the salt, absorbed first) from the memory bus and writes
    the digest at ``digest_name``'s 4 addresses (the framework counts its
    reads; declare it an output to make it public). The trace comes from the
    memory image (``witness``).
    """
    daddr = np.asarray(ctx.program.addresses(digest_name)).ravel()
    job = HashJob(addrs, salt_addrs, daddr)
    chip = Poseidon2Chip.for_jobs([job], ctx.log_height(job.n_rows))
    chip.source = digest_name
    return [chip]


def rows_for(n_values: int, n_salt: int, zk: bool = False) -> tuple[int, int]:
    """``(rows used, table height)`` of one hash of this shape."""
    used = n_blocks(n_values, n_salt)
    return used, 1 << log_height_for(used, zk)
