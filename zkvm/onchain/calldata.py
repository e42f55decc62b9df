"""A proof as the bytes a Solidity verifier reads (``zkvm calldata``).

The contract (``zkvm.onchain.solidity``) reads the proof at offsets it
computes from its own constants, never from the proof: every section has a
length fixed by the verifying key, so the encoding carries no length or
count. Values are big-endian (the EVM's order, and the ``keccak`` profile's
leaf encoding, so a contract hashes an opened row where it lies):

=================  ==============================================================
roots              main, LogUp, quotient tree roots (those the layout has), 32 B each
claimed sums       one extension element (D x 8 B) per table with bus interactions
OOD values         per table, its ``n_ood`` extension values (``ood_blocks`` order)
DEEP nonce         8 B
FRI roots          one per folding layer, 32 B
final polynomial   ``final_poly_len`` extension coefficients, low first
FRI nonce          8 B
queries            ``n_queries`` blocks, each: for every tree (pre, main, perm,
                   quot), each row group (packed leaf first, then injected
                   groups) as salt || row, then the path's siblings from the
                   leaves up; then per FRI layer its leaf ``[f(x), f(-x)]``
                   and siblings
=================  ==============================================================

A query carries its whole path (the Python proof shares siblings between
queries): the contract then walks each query alone, with no sorting or
deduplication on chain, at the price of the shared top levels' siblings in
calldata (see docs/onchain.md for what that costs).
"""

from __future__ import annotations

import numpy as np

from zkvm.fri.fri_types import FriProof, fri_shape
from zkvm.fri.merkle_verify import verify, verify_mixed
from zkvm.stark.keys import VerifyingKey
from zkvm.stark.layout import StarkLayout
from zkvm.stark.proof import StarkProof


class CalldataError(ValueError):
    """The proof cannot be laid out for the contract (wrong profile, or it does not verify)."""


def _be(values) -> bytes:
    return np.ascontiguousarray(np.asarray(values, dtype=np.uint64).ravel(), dtype=">u8").tobytes()


def encode_proof(vk: VerifyingKey, proof: StarkProof, lay: StarkLayout | None = None, *,
                 check: bool = True) -> bytes:
    """The proof bytes for the contract exported from ``vk``.

    The proof is verified in Python first (its query indices and paths come
    from that replay): an invalid proof is refused here with the verifier's
    reason rather than encoded. ``check=False`` (tests: a malicious prover's
    proof, for the contract to refuse) only replays the transcript for the
    indices; the Merkle openings must still match their roots.

    Raises:
        CalldataError: the key is not of the ``keccak`` hash profile, or the
            proof does not verify against it.
    """
    import zkvm.air.chips  # noqa: F401  (registers the chips a key names)
    from zkvm.air import registry
    from zkvm.stark.errors import VerificationError
    from zkvm.stark.verifier import verify_queries

    cfg = vk.security
    if cfg.hash != "keccak":
        raise CalldataError(f"the key is of the {cfg.name!r} preset (hash {cfg.hash}); a Solidity "
                            "verifier needs a proof made with --security onchain")
    if lay is None:
        lay = StarkLayout([registry.build(s) for s in vk.tables], cfg.log_blowup, vk.zk,
                          cfg.ext_degree)
    if check:
        try:
            _, idx = verify_queries(vk, proof, min_bits=0)
        except VerificationError as e:
            raise CalldataError(f"the proof does not verify against this key: {e}") from None
    else:
        idx = query_indices(vk, proof, lay)
    out = [b"".join(proof.main_roots + proof.perm_roots + proof.quot_roots)]
    out += [_be(c) for c in proof.claimed_sums]
    out += _ood_bytes(lay, proof.ood)
    out.append(int(proof.deep_pow_nonce).to_bytes(8, "big"))
    fri = FriProof.from_dict(proof.fri, cfg.ext_degree)
    out += [bytes(r) for r in fri.layer_roots]
    out.append(_be(fri.final_poly))
    out.append(int(fri.pow_nonce).to_bytes(8, "big"))
    trees = _tree_paths(lay, vk, proof, idx)
    layers = _fri_paths(cfg, lay, fri, idx)
    for q in range(len(idx)):
        for per_query in trees:
            out.append(per_query[q])
        for per_query in layers:
            out.append(per_query[q])
    return b"".join(out)


def _ood_bytes(lay: StarkLayout, ood: list) -> list[bytes]:
    """Each table's OOD values placed where the contract reads them
    (``zkvm.onchain.solidity.ood_slots``, from the layout's ``ood_blocks``: the
    proof's own order, which the contract absorbs as one run per table)."""
    from zkvm.onchain.solidity import ExportError, ood_slots

    d, out = lay.ext_degree, []
    if len(ood) != len(lay.tables):
        raise CalldataError(f"the proof has OOD values for {len(ood)} tables, the key "
                            f"{len(lay.tables)}")
    for t, flat in zip(lay.tables, ood):
        if len(flat) != d * t.n_ood:
            raise CalldataError(f"table {t.air.name!r}: the proof has {len(flat)} OOD field "
                                f"elements where the key's layout has {d * t.n_ood}")
        try:
            slots = ood_slots(t)
        except ExportError as e:
            raise CalldataError(str(e)) from None
        vals = np.asarray(flat, dtype=np.uint64).reshape(-1, d)
        at, parts = np.zeros_like(vals), t.split_ood(vals)
        for key, (off, n, _) in slots.items():
            at[off:off + n] = parts[key]
        out.append(_be(at))
    return out


def query_indices(vk: VerifyingKey, proof: StarkProof, lay: StarkLayout) -> list[int]:
    """FRI's query indices, by replaying the verifier's transcript with no check on the way
    (``zkvm.stark.verifier.verify_queries`` does it with every check)."""
    from zkvm.field.extension import from_coeffs
    from zkvm.stark.common import sample_ood_point, seed_transcript

    cfg, D = vk.security, vk.security.ext_degree
    tr = seed_transcript(vk.digest(), cfg.to_dict(), lay.zk, proof.public)
    for r in proof.main_roots:
        tr.observe_digest(r)
    tr.sample_ext(D), tr.sample_ext(D)
    for r in proof.perm_roots:
        tr.observe_digest(r)
    tr.observe_ext([from_coeffs(c) for c in proof.claimed_sums])
    tr.sample_ext(D)
    for r in proof.quot_roots:
        tr.observe_digest(r)
    sample_ood_point(tr, D)
    for flat in proof.ood:
        tr.observe_ext([from_coeffs(flat[D * i:D * i + D]) for i in range(len(flat) // D)])
    tr._absorb_nonce(int(proof.deep_pow_nonce), cfg.deep_pow_bits)
    tr.sample_ext(D)
    fri = FriProof.from_dict(proof.fri, D)
    shape = fri_shape(cfg, lay.group_logs)
    for k in range(shape.n_layers):
        tr.observe_digest(fri.layer_roots[k])
        tr.sample_ext(D)
        if shape.log_n - k - 1 in shape.input_logs:
            tr.sample_ext(D)
    tr.observe_ext(np.asarray(fri.final_poly, dtype=np.uint64).reshape(-1, D))
    tr._absorb_nonce(int(fri.pow_nonce), cfg.pow_bits)
    return [int(i) for i in tr.sample_indices(cfg.n_queries, shape.log_n).tolist()]


def _tree_paths(lay: StarkLayout, vk: VerifyingKey, proof: StarkProof, idx: list[int]):
    """Per tree, per query: the opened rows (salted) and the full path, as bytes."""
    roots = {"pre": vk.pre_roots, "main": proof.main_roots, "perm": proof.perm_roots,
             "quot": proof.quot_roots}
    out = []
    for (phase, _), op in zip(lay.trees, proof.openings):
        logs, widths = lay.tree_shape(phase)
        lv = logs[0]
        q_idx = [i & ((1 << lv) - 1) for i in idx]
        salted = lay.zk and phase != "pre"
        rec: list[dict[int, bytes]] = []
        where = verify_mixed(roots[phase][0], logs, widths, q_idx, op, salted=salted,
                             tree=phase, hash="keccak", record=rec)
        blocks = []
        for i in q_idx:
            parts = []
            for k, lg in enumerate(logs):
                r = where[k][i & ((1 << lg) - 1)]
                if salted:
                    parts.append(bytes(op.salts[k][r]))
                parts.append(_be(op.rows[k][r]))
            for d in range(lv):
                pos = i & ((1 << (lv - d)) - 1)
                parts.append(rec[d][pos ^ (1 << (lv - d - 1))])
            blocks.append(b"".join(parts))
        out.append(blocks)
    return out


def _fri_paths(cfg, lay: StarkLayout, fri: FriProof, idx: list[int]):
    """Per FRI layer, per query: the opened leaf ``[f(x), f(-x)]`` and its full path."""
    shape = fri_shape(cfg, lay.group_logs)
    out = []
    for k in range(shape.n_layers):
        log_n = shape.log_n - k
        half = 1 << (log_n - 1)
        leaf_of = [i & (half - 1) for i in idx]
        uniq = sorted(set(leaf_of))
        op = fri.openings[k]
        rec: list[dict[int, bytes]] = []
        verify(fri.layer_roots[k], log_n - 1, uniq, op.rows, op, tree=f"fri layer {k}",
               hash="keccak", record=rec)
        row_at = dict(zip(uniq, range(len(uniq))))
        blocks = []
        for j in leaf_of:
            parts = [_be(op.rows[row_at[j]])]
            parts += [rec[d][(j >> d) ^ 1] for d in range(log_n - 1)]
            blocks.append(b"".join(parts))
        out.append(blocks)
    return out


VERIFY_SIGNATURE = "verify(bytes,int256[],int256[])"


def public_arrays(vk: VerifyingKey, proof: StarkProof) -> tuple[list[int], list[int]]:
    """The contract's ``publicInputs`` and ``publicOutputs``: the proof's claimed public
    tensors, flattened in the key's order (the values ``zkvm run`` prints, fixed point)."""
    io = vk.meta.get("io") or {}
    meta = proof.public.meta
    ins, outs = [], []
    try:
        for t in io.get("inputs", []):
            if t["visibility"] == "public":
                ins += [int(v) for v in meta["inputs"][t["name"]]]
        for t in io.get("outputs", []):
            outs += [int(v) for v in meta["outputs"][t["name"]]]
    except (KeyError, TypeError, ValueError) as e:
        raise CalldataError(f"the proof's public values do not fit the key: {e}") from None
    return ins, outs


def _word(v: int) -> bytes:
    return (v % (1 << 256)).to_bytes(32, "big")


def abi_encode_verify(proof_bytes: bytes, ins: list[int], outs: list[int]) -> bytes:
    """``verify(bytes, int256[], int256[])`` calldata (selector + ABI encoding), no library."""
    from zkvm.hash.keccak import keccak256

    def tail_bytes(b: bytes) -> bytes:
        return _word(len(b)) + b + b"\x00" * (-len(b) % 32)

    def tail_ints(xs: list[int]) -> bytes:
        return _word(len(xs)) + b"".join(_word(x) for x in xs)

    parts = [tail_bytes(proof_bytes), tail_ints(ins), tail_ints(outs)]
    head, off = [], 96
    for p in parts:
        head.append(_word(off))
        off += len(p)
    return keccak256(VERIFY_SIGNATURE.encode())[:4] + b"".join(head) + b"".join(parts)
