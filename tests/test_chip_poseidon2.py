"""Poseidon2 chip, standalone through the STARK: the proved digest is the reference hash of the
values on the memory bus; every way of hashing something else is rejected."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from zkvm.air.builder import SymbolicBuilder
from zkvm.air.chips.common import BUS_MEM, MIN_LOG_HEIGHT, MIN_LOG_HEIGHT_ZK
from zkvm.air.chips.memory import ConstChip
from zkvm.air.chips.poseidon2 import (
    HashJob, Poseidon2Chip, SaltChip, plan_hash, rows_for,
)
from zkvm.air.logup import analyse
from zkvm.field.scalar import P
from zkvm.fri.security import SecurityConfig
from zkvm.hash.poseidon2 import (
    DIGEST_LEN, GOLDILOCKS_12, Poseidon2Params, hash_elements, round_values, sponge_iv,
)
from zkvm.hash.poseidon2_kernels import sponge_rows
from zkvm.stark.errors import LogupSumMismatch, VerificationError
from zkvm.stark.proof import PublicValues
from zkvm.stark.prover import ProverError, prove
from zkvm.stark.setup import setup
from zkvm.stark.verifier import verify

TEST = SecurityConfig.preset("test")
SID = b"\x02" * 32
MEM_SIZE = 512
VALUES = [(-1) ** i * (37 * i % 300) for i in range(19)]    # 19 signed values at 1..19
SALT = [0x1234_5678_9ABC, P - 5, 77, 2 ** 63 + 11]              # 4 salt elements at 100..103
DIGEST_AT = 200


def _memory(values, salt, v_at=1, s_at=100) -> np.ndarray:
    mem = np.zeros(MEM_SIZE, dtype=np.uint64)
    mem[v_at:v_at + len(values)] = [int(v) % P for v in values]
    mem[s_at:s_at + len(salt)] = [int(s) % P for s in salt]
    return mem


def build(values=VALUES, salt=SALT, *, zk=False, public_values=False, hashed=None,
          digest=None, chip_cls=Poseidon2Chip, hash_trace=None):
    """(pk, traces, public) for: producers of values/salt -> Poseidon2 chip -> public digest.

    hashed: memory the hash chip's trace is built from (default: the produced values).
    digest: the digest the verifier is told (default: the reference hash).
    hash_trace: edits the hash chip's trace (a function, in place).
    """
    va = np.arange(1, 1 + len(values))
    sa = np.arange(100, 100 + len(salt))
    job = HashJob(va, sa, np.arange(DIGEST_AT, DIGEST_AT + DIGEST_LEN))
    lo = MIN_LOG_HEIGHT_ZK if zk else MIN_LOG_HEIGHT
    hchip = chip_cls.for_jobs([job], max(lo, (job.n_rows - 1).bit_length()))
    hchip.data["mult"] = np.ones(DIGEST_LEN, np.int64)
    vals_f = [int(v) % P for v in values]
    if public_values:
        vchip = ConstChip(max(lo, (va.size - 1).bit_length()), {}, {"addr": va, "value": np.array(vals_f, dtype=np.uint64),
                                   "mult": np.ones(va.size, np.int64)})
        vtrace = vchip.trace()
    else:
        vchip = SaltChip(max(lo, (va.size - 1).bit_length()), {}, {"addr": va})
        vtrace = vchip.trace(values)
    schip = SaltChip(lo, {}, {"addr": sa})
    mem = _memory(values, salt) if hashed is None else hashed
    if chip_cls is Poseidon2Chip:
        htrace, digests = hchip.trace_from_memory(mem)
    else:
        htrace, digests = hchip.trace_from_memory_reference(mem)
    if hash_trace is not None:
        hash_trace(htrace)
    d = digests[0] if digest is None else digest
    zero_reads = int(np.count_nonzero(hchip.data["read_addrs"] == 0))
    terms = [(BUS_MEM, (0, 0), zero_reads)] if zero_reads else []
    terms += [(BUS_MEM, (DIGEST_AT + j, int(d[j])), -1) for j in range(DIGEST_LEN)]
    airs = [vchip, schip, hchip]
    pk = setup(airs, TEST, zk, SID)
    traces = [vtrace, schip.trace(salt), htrace]
    return pk, traces, PublicValues([[] for _ in airs], terms), digests[0]


def assert_rejected(pk, traces, pub, *, debug_catches=True):
    if debug_catches:
        with pytest.raises(ProverError):
            prove(pk, traces, pub, debug=True)
    with pytest.raises(VerificationError):
        verify(pk.vk, prove(pk, traces, pub, _allow_invalid=True), min_bits=0)


# --- shape -----------------------------------------------------------------------
def test_chip_shape_degree_and_interactions():
    chip = Poseidon2Chip(3)
    sb = SymbolicBuilder(chip)
    chip.eval(sb)
    assert chip.main_width == 248 and chip.pre_width == 18
    assert sb.max_degree == 3
    assert len(sb.constraints) == 2 * (8 * 12 + 22) + 4 + 4
    info = analyse(chip)
    assert len(sb.interactions) == 12 and len(info.plan.groups) == 6


def test_rows_per_permutation_and_per_thousand_elements():
    assert rows_for(8, 0)[0] == 1                        # one row per absorbed block of 8
    assert rows_for(9, 0)[0] == 2
    from zkvm.air.chips.common import MIN_LOG_HEIGHT, MIN_LOG_HEIGHT_ZK
    assert rows_for(1000, 4) == (126, max(128, 1 << MIN_LOG_HEIGHT))
    assert rows_for(1000, 4, zk=True) == (126, max(128, 1 << MIN_LOG_HEIGHT_ZK))


# --- honest proofs ----------------------------------------------------------------
def test_digest_matches_reference_hash_public_values():
    pk, traces, pub, d = build(public_values=True)
    assert d == hash_elements(VALUES, SALT)
    verify(pk.vk, prove(pk, traces, pub, debug=True), min_bits=0)


def test_private_values_prove_in_zk_mode():
    pk, traces, pub, d = build(zk=True)
    assert d == hash_elements(VALUES, SALT)
    verify(pk.vk, prove(pk, traces, pub, debug=True, seed=b"p2"), min_bits=0)


def test_two_hashes_share_one_table():
    a, b = [3, 1, 4, 1, 5], list(range(-9, 9))
    jobs = [HashJob(np.arange(1, 6), np.arange(100, 102), np.arange(200, 204)),
            HashJob(np.arange(10, 28), [], np.arange(204, 208))]
    chip = Poseidon2Chip.for_jobs(jobs, MIN_LOG_HEIGHT)
    chip.data["mult"] = np.ones(8, np.int64)
    mem = np.zeros(MEM_SIZE, dtype=np.uint64)
    mem[1:6] = a
    mem[100:102] = [8, 9]
    mem[10:28] = [v % P for v in b]
    tr, digests = chip.trace_from_memory(mem)
    assert digests == [hash_elements(a, [8, 9]), hash_elements(b)]
    prod = ConstChip(5, {}, {"addr": np.concatenate([np.arange(1, 6), [100, 101],
                                                     np.arange(10, 28)]),
                             "value": mem[np.r_[1:6, 100:102, 10:28]],
                             "mult": np.ones(25, np.int64)})
    zero = int(np.count_nonzero(chip.data["read_addrs"] == 0))
    terms = [(BUS_MEM, (0, 0), zero)] + [(BUS_MEM, (200 + 4 * k + j, digests[k][j]), -1)
                                         for k in range(2) for j in range(4)]
    pk = setup([prod, chip], TEST, False, SID)
    verify(pk.vk, prove(pk, [prod.trace(), tr], PublicValues([[], []], terms), debug=True), min_bits=0)


def test_plan_hash_reads_program_addresses():
    prog = SimpleNamespace(addresses=lambda name: np.arange(300, 304))
    ctx = SimpleNamespace(program=prog, log_height=lambda n: max(3, (n - 1).bit_length()))
    chips = plan_hash(ctx, np.arange(1, 30), np.arange(100, 102), "digest")
    (chip,) = chips
    assert chip.source == "digest" and chip.n_rows == 8
    assert chip.data["write_addrs"].tolist() == [300, 301, 302, 303]
    assert sorted(chip.data["read_addrs"][chip.data["read_addrs"] > 0].tolist()) == \
        list(range(1, 30)) + [100, 101]


# --- tampering ---------------------------------------------------------------------
def _add(t, col, row, delta=1):
    t[col, row] = np.uint64((int(t[col, row]) + delta) % P)


@pytest.mark.parametrize("col", [0, 12 + 5, 108 + 40, 204 + 3, 226 + 21])
def test_flipped_state_cell_is_rejected(col):
    # inp lane, an external S-box cube, an external S-box output, internal cube/output
    pk, traces, pub, _ = build(hash_trace=lambda t: _add(t, col, 1))
    assert_rejected(pk, traces, pub)


def test_wrong_digest_is_rejected():
    d = hash_elements(VALUES, SALT)
    d[2] = (d[2] + 1) % P
    pk, traces, pub, _ = build(digest=d)
    with pytest.raises(ProverError, match="bus"):
        prove(pk, traces, pub, debug=True)
    with pytest.raises(LogupSumMismatch):
        verify(pk.vk, prove(pk, traces, pub), min_bits=0)


def test_hash_of_other_values_than_those_read_is_rejected():
    # the chip honestly hashes a tensor differing in one value from what the bus carries,
    # and the verifier is told that tensor's digest: the reads no longer balance
    other = list(VALUES)
    other[7] += 1
    pk, traces, pub, d = build(hashed=_memory(other, SALT))
    assert d == hash_elements(other, SALT)
    with pytest.raises(ProverError, match="bus"):
        prove(pk, traces, pub, debug=True)
    with pytest.raises(LogupSumMismatch):
        verify(pk.vk, prove(pk, traces, pub), min_bits=0)


def test_nonzero_padding_lane_is_rejected():
    # the last block's unused lanes read address 0 (the constant 0): hashing a non-zero there
    # (recomputing the permutation so every row constraint holds) unbalances the bus
    def edit(t):
        n = t.shape[1]
        inp = t[:12].T.copy()
        inp[2, 7] = 5                                  # row 2 = last block, lane 7 is padding
        chain = np.array([0, 1, 1] + [0] * (n - 3))
        rows, _ = sponge_rows(inp[:, :8], inp[:, 8:], chain)
        t[:, :3] = rows[:3].T
    pk, traces, pub, _ = build(hash_trace=edit)
    with pytest.raises(VerificationError):
        verify(pk.vk, prove(pk, traces, pub, _allow_invalid=True), min_bits=0)


def test_capacity_restart_is_rejected():
    # start a fresh sponge (IV capacity) at the second block instead of chaining
    def edit(t):
        n = t.shape[1]
        inp = t[:12].T.copy()
        inp[1, 8:] = inp[0, 8:]                        # the IV again
        rows, _ = sponge_rows(inp[:, :8], inp[:, 8:], np.array([0, 0, 1] + [0] * (n - 3)))
        t[:, :3] = rows[:3].T
    pk, traces, pub, _ = build(hash_trace=edit)
    assert_rejected(pk, traces, pub)


def test_wrong_iv_is_rejected():
    # a consistent sponge whose IV claims another length (the digest of a different encoding)
    def edit(t):
        n = t.shape[1]
        inp = t[:12].T.copy()
        inp[0, 8:] = sponge_iv(len(VALUES) + 1, len(SALT))
        rows, _ = sponge_rows(inp[:, :8], inp[:, 8:], np.array([0, 1, 1] + [0] * (n - 3)))
        t[:, :3] = rows[:3].T
    pk, traces, pub, _ = build(hash_trace=edit)
    assert_rejected(pk, traces, pub)


class _OtherConstants(Poseidon2Chip):
    """The prover's chip with one round constant changed (not registered: the verifier's key
    names ``poseidon2``, whose constants are the real ones)."""

    PARAMS = Poseidon2Params(GOLDILOCKS_12.t, GOLDILOCKS_12.rf, GOLDILOCKS_12.rp,
                             GOLDILOCKS_12.external_rc,
                             (GOLDILOCKS_12.internal_rc[0] + 1,) + GOLDILOCKS_12.internal_rc[1:],
                             GOLDILOCKS_12.internal_diag)

    def trace_from_memory_reference(self, mem):
        lanes = self.data["lanes"]
        rows, cap = [], sponge_iv(*self.data["lengths"][0])
        for blk in lanes:
            rv = round_values([int(mem[a]) for a in blk] + cap, self.PARAMS)
            rows.append(rv["inp"] + sum(rv["fx3"], []) + sum(rv["fpost"], []) + rv["px3"]
                        + rv["py"])
            cap = rv["out"][8:]
        zero = round_values([0] * 12, self.PARAMS)
        pad = zero["inp"] + sum(zero["fx3"], []) + sum(zero["fpost"], []) + zero["px3"] + \
            zero["py"]
        rows += [pad] * (self.n_rows - len(rows))
        return np.array(rows, dtype=np.uint64).T.copy(), [rv["out"][:4]]


def test_wrong_round_constant_is_rejected():
    pk, traces, pub, d = build(chip_cls=_OtherConstants)
    assert d != hash_elements(VALUES, SALT)
    prove(pk, traces, pub, debug=True)             # consistent for the prover's own AIR ...
    with pytest.raises(VerificationError):         # ... but not for the real Poseidon2
        verify(pk.vk, prove(pk, traces, pub, _allow_invalid=True), min_bits=0)
