"""Hostile files cost little (issue 12, point 5).

A proof or key whose declared sizes are huge is refused before anything
proportional to them is allocated: each test builds a hostile file from a
real one, checks the refusal is the typed error, and that the peak of
Python allocations (tracemalloc) while reading and verifying stays below
100 times the file's size plus a small constant. The time bound (a second
per 1 MB file) is checked by ``bench/bench_hostile.py``, not here.
"""

from __future__ import annotations

import copy
import tracemalloc

import msgpack
import pytest

import zkvm.api as api
from test_e2e import load
from zkvm import envelope
from zkvm.stark.errors import VerificationError
from zkvm.stark.keys import KEY_FORMAT, KEY_MAGIC, KeyFileError, VerifyingKey
from zkvm.stark.proof import PROOF_FORMAT, PROOF_MAGIC, StarkProof

SLACK = 4 << 20  # interpreter noise: caches, small objects


@pytest.fixture(scope="module")
def honest():
    prog, ints = load("xor")
    key = api.setup(prog, "test")
    proof = api.prove(prog, ints, "test", key=key)
    api.verify(proof, key.vk, security="test")  # warm every import and cache outside tracing
    return key.vk, proof


def _verify_bytes(proof_bytes: bytes, key_bytes: bytes) -> None:
    vk = VerifyingKey.from_bytes(key_bytes)
    api.verify(StarkProof.from_bytes(proof_bytes), vk, security="test")


def refused_cheaply(proof_bytes: bytes, key_bytes: bytes, error=(VerificationError, KeyFileError)):
    """Refused with ``error``; peak allocation below 100x the files' size + SLACK."""
    size = len(proof_bytes) + len(key_bytes)
    tracemalloc.start()
    try:
        with pytest.raises(error):
            _verify_bytes(proof_bytes, key_bytes)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 100 * size + SLACK, (peak, size)


def _key(vk: VerifyingKey, edit) -> bytes:
    d = copy.deepcopy(vk.to_file_dict())
    edit(d)
    return envelope.pack(KEY_MAGIC, KEY_FORMAT, "key", d)


def _rekey(vk: VerifyingKey, edit) -> bytes:
    """A self-consistent key file (tables digest recomputed) with ``edit`` applied."""
    d = copy.deepcopy(vk.to_dict())
    edit(d)
    return VerifyingKey.from_dict(d).to_bytes()


def _proof(proof: StarkProof, edit) -> bytes:
    d = copy.deepcopy(proof).to_dict()
    edit(d)
    return envelope.pack(PROOF_MAGIC, PROOF_FORMAT, "proof", d)


def _matmul(lk: int) -> dict:
    return {"kind": "matmul", "log_height": 4,
            "params": {"lm": 1, "lk": lk, "ln": 1, "w_public": False, "bias": "none"}}


def _nested(depth: int) -> list:
    out: list = []
    for _ in range(depth):
        out = [out]
    return out


def _huge_shape(d):
    d["openings"][0]["shapes"][0] = [2**40, 2**20]


def _megabyte_rows(d):
    op = d["openings"][0]
    op["rows"][0] = b"\1" * (1 << 20)
    op["shapes"][0] = [1 << 14, 8]


def _many_layers(d):
    d["fri"]["layer_roots"] = d["fri"]["layer_roots"] * 5000
    d["fri"]["openings"] = d["fri"]["openings"][:1] * 200


def _msgpack_bomb(vk, proof):
    data = msgpack.packb({"magic": PROOF_MAGIC, "format": PROOF_FORMAT, "zkvm": "0"})[:-1]
    return data[:1] + b"\xdd\xff\xff\xff\xff" + b"\0" * 16, vk.to_bytes()  # array32, 2^32-1


#: name -> (vk, proof) -> (proof bytes, key bytes): what the tests and bench/bench_hostile.py run
HOSTILE = {
    "key_table_of_2_to_40_rows": lambda vk, p: (
        p.to_bytes(), _key(vk, lambda d: d["tables"][0].update(log_height=40))),
    "key_billion_column_matmul": lambda vk, p: (
        _proof(p, lambda d: d["public"]["table_publics"].append([])),
        _rekey(vk, lambda d: d["tables"].append(_matmul(10**9)))),
    "key_many_wide_tables": lambda vk, p: (
        _proof(p, lambda d: d["public"]["table_publics"].extend([[]] * 8)),
        _rekey(vk, lambda d: d["tables"].extend([_matmul(4000)] * 8))),
    "key_hundred_thousand_tables": lambda vk, p: (
        p.to_bytes(), _key(vk, lambda d: d["tables"].extend([d["tables"][0]] * 100_000))),
    "key_deeply_nested_param": lambda vk, p: (
        p.to_bytes(), _rekey(vk, lambda d: d["tables"][0]["params"].update(junk=_nested(200)))),
    "proof_million_siblings": lambda vk, p: (
        _proof(p, lambda d: d["openings"][0].update(siblings=[b"\0" * 32] * 30_000)), vk.to_bytes()),
    "proof_million_public_terms": lambda vk, p: (
        _proof(p, lambda d: d["public"]["bus_terms"].extend([[1, [1, 2], 1]] * 200_000)),
        vk.to_bytes()),
    "proof_huge_row_shape": lambda vk, p: (_proof(p, _huge_shape), vk.to_bytes()),
    "proof_megabyte_of_rows": lambda vk, p: (_proof(p, _megabyte_rows), vk.to_bytes()),
    "proof_msgpack_4_billion_entries": _msgpack_bomb,
    "proof_fri_many_layers": lambda vk, p: (_proof(p, _many_layers), vk.to_bytes()),
}


def test_key_declaring_a_2_to_40_row_table_is_refused_without_allocating(honest):
    refused_cheaply(*HOSTILE["key_table_of_2_to_40_rows"](*honest), KeyFileError)


def test_key_declaring_a_billion_column_matmul_is_refused_without_allocating(honest):
    refused_cheaply(*HOSTILE["key_billion_column_matmul"](*honest))


def test_key_with_too_many_wide_tables_is_refused_before_analysis(honest):
    """Each table within bounds, the sum not: refused before any symbolic analysis."""
    files = HOSTILE["key_many_wide_tables"](*honest)
    with pytest.raises(VerificationError, match="more than the"):
        _verify_bytes(*files)
    refused_cheaply(*files)


def test_key_with_a_hundred_thousand_tables_is_refused_without_allocating(honest):
    files = HOSTILE["key_hundred_thousand_tables"](*honest)
    assert len(files[1]) > 500_000
    refused_cheaply(*files, KeyFileError)


def test_key_with_a_deeply_nested_param_is_refused(honest):
    refused_cheaply(*HOSTILE["key_deeply_nested_param"](*honest))


def test_proof_with_a_million_siblings_is_refused_without_allocating(honest):
    files = HOSTILE["proof_million_siblings"](*honest)
    assert len(files[0]) > 1_000_000
    refused_cheaply(*files)


def test_proof_with_a_million_public_terms_is_refused_without_allocating(honest):
    files = HOSTILE["proof_million_public_terms"](*honest)
    assert len(files[0]) > 1_000_000
    refused_cheaply(*files)


def test_proof_with_huge_declared_row_shape_is_refused_without_allocating(honest):
    refused_cheaply(*HOSTILE["proof_huge_row_shape"](*honest))


def test_proof_with_a_megabyte_of_opened_rows_is_refused(honest):
    refused_cheaply(*HOSTILE["proof_megabyte_of_rows"](*honest))


def test_msgpack_header_declaring_four_billion_entries_is_refused(honest):
    refused_cheaply(*HOSTILE["proof_msgpack_4_billion_entries"](*honest))


def test_fri_section_with_many_layers_is_refused(honest):
    refused_cheaply(*HOSTILE["proof_fri_many_layers"](*honest))
