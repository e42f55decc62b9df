"""Keccak-256 (Ethereum's): the verifier-side function and the numba batch kernels vs pycryptodome."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("Crypto")
from Crypto.Hash import keccak as _ref_keccak  # noqa: E402

from zkvm.hash import keccak as kc  # noqa: E402
from zkvm.hash import keccak_kernel as kk  # noqa: E402

EMPTY = "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
EDGE_LENGTHS = [0, 1, 7, 8, 64, 65, 135, 136, 137, 271, 272, 273, 407, 408, 409]


def ref(data: bytes) -> bytes:
    return _ref_keccak.new(digest_bits=256, data=data).digest()


def test_known_vectors():
    assert kc.keccak256(b"").hex() == EMPTY
    assert kc.keccak256_py(b"").hex() == EMPTY
    assert ref(b"").hex() == EMPTY
    # not FIPS 202 SHA3-256 (different padding)
    import hashlib

    assert hashlib.sha3_256(b"").hexdigest() != EMPTY
    # the Solidity classic: keccak256("transfer(address,uint256)") starts with a9059cbb
    assert kc.keccak256_py(b"transfer(address,uint256)")[:4].hex() == "a9059cbb"


def test_round_constants_and_rotations():
    assert kc.RC[0] == 1 and kc.RC[1] == 0x8082 and kc.RC[23] == 0x8000000080008008
    assert kc.ROT[:5] == (0, 1, 62, 28, 27) and kc.ROT[24] == 14


@pytest.mark.parametrize("n", EDGE_LENGTHS)
def test_python_and_default_match_reference_at_block_edges(n):
    data = np.random.default_rng(n).integers(0, 256, n, dtype=np.uint8).tobytes()
    assert kc.keccak256_py(data) == ref(data)
    assert kc.keccak256(data) == ref(data)


@settings(derandomize=True, max_examples=60, deadline=None)
@given(st.binary(min_size=0, max_size=700))
def test_python_matches_reference_random(data):
    assert kc.keccak256_py(data) == ref(data)
    assert kc.keccak256(data) == ref(data)


def test_fallback_without_pycryptodome(monkeypatch):
    monkeypatch.setattr(kc, "_ck", None)
    for n in (0, 136, 300):
        assert kc.keccak256(bytes(range(n % 256)) * (n // 256 + 1)) == ref(
            bytes(range(n % 256)) * (n // 256 + 1)
        )


def test_verifier_module_does_not_import_numba():
    code = "import sys, zkvm.hash.keccak as k; k.keccak256(b'x'); assert 'numba' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


# ---------------------------------------------------------------- kernels


def leaf_ref(tag: int, salt: bytes, row: np.ndarray) -> bytes:
    return ref(bytes([tag]) + salt + row.astype(">u8").tobytes())


@pytest.mark.parametrize("n", [1, 5, 9000])
@pytest.mark.parametrize("width", [0, 1, 8, 16, 17, 40])
@pytest.mark.parametrize("salt_len", [0, 16, 31])
def test_leaves(n, width, salt_len):
    rng = np.random.default_rng(1000 * n + 10 * width + salt_len)
    rows = rng.integers(0, 2**64, size=(n, width), dtype=np.uint64, endpoint=False)
    salts = rng.integers(0, 256, size=(n, salt_len), dtype=np.uint8) if salt_len else None
    tag = int(rng.integers(0, 256))
    got = kk.leaves(rows, salts, tag)
    assert got.dtype == np.uint32 and got.shape == (n, 8)
    check = range(n) if n < 100 else rng.choice(n, 200, replace=False).tolist() + [0, n - 1]
    for i in check:
        salt = salts[i].tobytes() if salts is not None else b""
        assert got[i].tobytes() == leaf_ref(tag, salt, rows[i]), i


def test_leaves_full_parallel_agrees_with_serial():
    rng = np.random.default_rng(7)
    rows = rng.integers(0, 2**64, size=(kk.PARALLEL_MIN + 3, 5), dtype=np.uint64, endpoint=False)
    salts = rng.integers(0, 256, size=(rows.shape[0], 8), dtype=np.uint8)
    par = kk.leaves(rows, salts, 9)
    ser = np.empty_like(par)
    kk._leaves_serial(rows, salts, 9, ser.view(np.uint64))
    assert np.array_equal(par, ser)


@pytest.mark.parametrize("n", [1, 5, 9000])
def test_concat(n):
    rng = np.random.default_rng(n)
    a = rng.integers(0, 2**32, size=(n, 8), dtype=np.uint32, endpoint=False)
    b = rng.integers(0, 2**32, size=(n, 8), dtype=np.uint32, endpoint=False)
    got = kk.concat(a, b, 0x42)
    check = range(n) if n < 100 else rng.choice(n, 300, replace=False).tolist() + [0, n - 1]
    for i in check:
        assert got[i].tobytes() == ref(b"\x42" + a[i].tobytes() + b[i].tobytes()), i


@pytest.mark.parametrize("n", [kk.W - 1, kk.PARALLEL_MIN + kk.W + 3])
def test_concat_reads_strided_rows_in_place(n):
    """Merkle levels pass ``level[0::2]`` / ``level[1::2]`` without a copy; counts off the
    kernel's W states per permutation (spare states hash a repeated row, dropped)."""
    rng = np.random.default_rng(n)
    level = rng.integers(0, 2**32, size=(2 * n, 8), dtype=np.uint32, endpoint=False)
    got = kk.concat(level[0::2], level[1::2], 1)
    assert np.array_equal(got, kk.concat(np.ascontiguousarray(level[0::2]),
                                         np.ascontiguousarray(level[1::2]), 1))
    for i in [0, 1, n // 2, n - 2, n - 1]:
        pair = level[2 * i].tobytes() + level[2 * i + 1].tobytes()
        assert got[i].tobytes() == ref(b"\x01" + pair), i


def test_concat_chains_with_leaves():
    """A two-level tree built with the kernels equals the one built with the reference."""
    rows = np.arange(4 * 3, dtype=np.uint64).reshape(4, 3) * np.uint64(0x9E3779B97F4A7C15)
    lv = kk.leaves(rows, None, 0)
    top = kk.concat(lv[0::2], lv[1::2], 1)
    root = kk.concat(top[0:1], top[1:2], 1)[0].tobytes()
    r = [leaf_ref(0, b"", rows[i]) for i in range(4)]
    p = [ref(b"\x01" + r[0] + r[1]), ref(b"\x01" + r[2] + r[3])]
    assert root == ref(b"\x01" + p[0] + p[1])


@pytest.mark.parametrize("length", EDGE_LENGTHS + [700])
@pytest.mark.parametrize("n", [1, 5])
def test_many(length, n):
    msgs = np.random.default_rng(length).integers(0, 256, size=(n, length), dtype=np.uint8)
    got = kk.many(msgs)
    assert got.shape == (n, 32) and got.dtype == np.uint8
    for i in range(n):
        assert got[i].tobytes() == ref(msgs[i].tobytes())


def test_many_parallel():
    msgs = np.random.default_rng(3).integers(0, 256, size=(9000, 137), dtype=np.uint8)
    got = kk.many(msgs)
    for i in [0, 1, 4096, 8191, 8192, 8999]:
        assert got[i].tobytes() == ref(msgs[i].tobytes())


@settings(derandomize=True, max_examples=30, deadline=None)
@given(st.integers(0, 700), st.integers(1, 4), st.integers(0, 2**32))
def test_many_random_lengths(length, n, seed):
    msgs = np.random.default_rng(seed).integers(0, 256, size=(n, length), dtype=np.uint8)
    got = kk.many(msgs)
    for i in range(n):
        assert got[i].tobytes() == ref(msgs[i].tobytes())


def brute_pow(prefix: bytes, bits: int) -> int:
    nonce = 0
    while int.from_bytes(ref(prefix + nonce.to_bytes(8, "big")), "big") >> (256 - bits):
        nonce += 1
    return nonce


@pytest.mark.parametrize("bits", range(1, 13))
def test_pow_search_is_minimal(bits):
    prefix = bytes([bits]) * (bits * 23)  # lengths 23..276: tails of one and two blocks
    got = kk.pow_search(prefix, bits, batch=1000)
    assert got == brute_pow(prefix, bits)


@pytest.mark.parametrize("plen", [0, 127, 128, 135, 136, 300])
def test_pow_search_parallel_batches(plen):
    prefix = np.random.default_rng(plen).integers(0, 256, plen, dtype=np.uint8).tobytes()
    bits = 10
    want = brute_pow(prefix, bits)
    assert kk.pow_search(prefix, bits) == want  # default batch: parallel kernel
    assert kk.pow_search(prefix, bits, batch=kk.PARALLEL_MIN) == want
    assert kk.pow_search(prefix, bits, batch=7) == want  # many small serial batches


def test_pow_search_16_bits():
    prefix = b"zkvm onchain pow"
    nonce = kk.pow_search(prefix, 16)
    digest = ref(prefix + nonce.to_bytes(8, "big"))
    assert digest[:2] == b"\0\0"
    if nonce > 0:  # minimality at the boundary
        assert ref(prefix + (nonce - 1).to_bytes(8, "big"))[:2] != b"\0\0"


def test_bad_arguments():
    with pytest.raises(ValueError):
        kk.pow_search(b"", 0)
    with pytest.raises(ValueError):
        kk.pow_search(b"", 41)
    with pytest.raises(ValueError):
        kk.leaves(np.zeros((2, 1), np.uint64), np.zeros((3, 1), np.uint8), 0)
    with pytest.raises(ValueError):
        kk.leaves(np.zeros((2, 1), np.uint64), None, 256)
    with pytest.raises(ValueError):
        kk.concat(np.zeros((2, 8), np.uint32), np.zeros((3, 8), np.uint32), 0)
    with pytest.raises(ValueError):
        kk.concat(np.zeros((2, 4), np.uint64), np.zeros((2, 4), np.uint64), 0)


def test_bench_runs_small():
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "bench" / "bench_keccak.py"
    res = subprocess.run(
        [sys.executable, str(script), "--log-n", "8", "--width", "3", "--runs", "1"],
        check=True, capture_output=True, text=True,
    )
    assert "keccak leaves" in res.stdout and "blake3 nodes" in res.stdout
