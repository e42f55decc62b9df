"""The bundle verifier: check each segment proof against its own key, then the chain.

Statement: "program P (digest) run on x gives y", exactly as for one proof.
The verifier owns every parameter: the segment programs (and so their keys)
come from the program and the segmentation parameters by ``zkvm.segments.plan``
-- which any parameters make a correct split of P, because the verifier runs
it -- or from a bundle key made that way (``setup_bundle``). The proof only
supplies the segment proofs and the claimed public inputs/outputs.

For segment ``i`` (streamed: one segment key and proof in memory at a time):

1. its proof is checked against its key (``api.verify``: the segment's
   constraints, bus and FRI, at the caller's security);
2. each input it reads is checked against its source: a program input against
   the bundle's claimed value (public) or the digest already seen for it
   (hashed in several segments); a boundary against what the producing
   segment proved -- the same public values, or the same salted Poseidon2
   digest (``BoundaryMismatch`` otherwise);
3. each output it writes is recorded (boundaries) or compared with the
   bundle's claimed output.

Then every claimed output must have been proved, and no boundary read before
it was written. Segment ``i`` checked against key ``i`` fixes the order, the
count and the program of every segment.
"""

from __future__ import annotations

from typing import Any, Iterator

import numpy as np

from zkvm.segments.bundle import KEY_MAGIC, PROOF_MAGIC, BundleFormatError, BundleReader
from zkvm.stark.errors import KeyMismatch, VerificationError


class BoundaryMismatch(VerificationError):
    """Two segments disagree on a tensor they share, or a claimed input/output is not proved."""


def _proof_header(path: str) -> BundleReader:
    return BundleReader(path, PROOF_MAGIC, "bundle", "segmented proof (bundle)")


def _check_header(h: dict, program_digest: bytes, params: dict, n: int, security: str) -> None:
    if h.get("program") != program_digest:
        raise KeyMismatch("the bundle proves another program (its program digest differs)")
    if h.get("params") != params:
        raise KeyMismatch(f"the bundle was split with {h.get('params')}, the key with {params}")
    if h.get("n_segments") != n:
        raise KeyMismatch(f"the bundle holds {h.get('n_segments')} segments, the key {n}")
    if h.get("security") != security:
        raise KeyMismatch(f"the bundle is labelled {h.get('security')!r} security, the key is "
                          f"{security!r}")
    v = h.get("inputs")
    if not isinstance(v, dict) or not all(
            isinstance(x, list) and all(isinstance(e, int) for e in x) for x in v.values()):
        raise BundleFormatError("bundle header field 'inputs' must map names to integer lists")


def check_chain(header: dict, chain: list[dict], io: dict, pairs: Iterator[tuple[Any, bytes]],
                security: str | None, min_bits: float | None, trailer) -> dict[str, Any]:
    """Verify each ``(segment key, proof bytes)`` and the chain (module docstring).

    ``trailer()`` gives the bundle's trailer once ``pairs`` is exhausted (the
    claimed outputs, compared with the proved ones at the end).

    Returns:
        ``{"outputs": {name: int array}, "digests": {name: hex}, "model": hex | None}``:
        the program's public outputs, the digests of its hashed inputs/outputs,
        and the model commitment every segment's weights were checked against.
    """
    import zkvm.api as api
    from zkvm.stark.proof import StarkProof

    _check_commitment(io.get("commitment"))
    claimed_in = header["inputs"]
    pub_inputs = {t["name"] for t in io["inputs"] if t["visibility"] == "public"}
    pub_outputs = {t["name"] for t in io["outputs"] if t["visibility"] == "public"}
    if set(claimed_in) != pub_inputs:
        raise BoundaryMismatch("the bundle's claimed inputs are not the program's public inputs")
    proved_out: dict[str, list[int]] = {}
    user = {t["name"] for t in io["inputs"]} | {t["name"] for t in io["outputs"]}
    last_read = {name: i for i, spec in enumerate(chain) for name, role in spec["in"]
                 if role != "input"}
    values: dict[str, list[int]] = {}
    digests: dict[str, tuple] = {}
    n = 0
    for i, (vk, data) in enumerate(pairs):
        n += 1
        if i >= len(chain):
            raise BoundaryMismatch(f"more segment proofs than the {len(chain)} segments")
        proof = StarkProof.from_bytes(data)
        _check_weight_parts(f"segment {i + 1}", vk, io.get("commitment"))
        outs = api.verify(proof, vk, security=security, min_bits=min_bits)
        pub_in = proof.public.meta["inputs"]
        dig = {k: tuple(d["value"]) for k, d in api.public_digests(proof, vk).items()
               if d["kind"] != "weights"}
        spec = chain[i]
        where = f"segment {i + 1}"
        for name, role in spec["in"]:
            if name in pub_in:
                want = claimed_in.get(name) if role == "input" else values.get(name)
                if want is None or [int(v) for v in pub_in[name]] != list(want):
                    raise BoundaryMismatch(f"{where}: public input {name!r} differs from the "
                                           + ("bundle's claimed input" if role == "input" else
                                              "value the producing segment proved"))
            elif name in dig:
                if role == "input" and name not in digests:
                    digests[name] = dig[name]
                elif digests.get(name) != dig[name]:
                    raise BoundaryMismatch(f"{where}: the digest of {name!r} differs from the one "
                                           "proved where it was written (another value or salt)")
            elif role != "input":
                raise BoundaryMismatch(f"{where}: boundary {name!r} is neither public nor hashed")
        for name, role in spec["out"]:
            if name in outs:
                got = [int(v) for v in np.asarray(outs[name]).ravel()]
                if role == "output":
                    proved_out[name] = got
                values[name] = got
            elif name in dig:
                if name in digests:
                    raise BoundaryMismatch(f"{where}: {name!r} is written twice")
                digests[name] = dig[name]
            elif role == "boundary":
                raise BoundaryMismatch(f"{where}: boundary {name!r} is neither public nor hashed")
        del proof, vk
        for name in [k for k, last in last_read.items() if last == i]:   # bounded state
            values.pop(name, None)
            if name not in user:
                digests.pop(name, None)
    if n != len(chain):
        raise BoundaryMismatch(f"{n} segment proofs for {len(chain)} segments")
    t = trailer()
    claimed_out = t.get("outputs") if isinstance(t, dict) else None
    if not isinstance(claimed_out, dict) or set(claimed_out) != pub_outputs:
        raise BoundaryMismatch("the bundle's claimed outputs are not the program's public outputs")
    for name in sorted(pub_outputs):
        if name not in proved_out:
            raise BoundaryMismatch(f"output {name!r} is not proved by any segment")
        if not isinstance(claimed_out[name], list) or proved_out[name] != claimed_out[name]:
            raise BoundaryMismatch(f"output {name!r} differs from the bundle's claimed output")
    from zkvm.hash.poseidon2 import digest_hex

    shapes = {t["name"]: t["shape"] for t in io["outputs"]}
    out = {k: np.array(claimed_out[k], dtype=np.int64).reshape(shapes[k]) for k in pub_outputs}
    return {"outputs": out, "digests": {k: digest_hex(v) for k, v in digests.items()
                                        if k in user},
            "scales": {t["name"]: t["scale"] for t in io["outputs"]},
            "n_segments": n, "program": header["program"],
            "model": (io.get("commitment") or {}).get("digest")}


def program_io(program) -> dict:
    """The program's inputs and outputs (and model commitment) as the bundle key records them."""
    from zkvm.hash.poseidon2 import digest_hex

    io = {"inputs": [{"name": t.name, "shape": list(t.shape), "scale": t.scale,
                      "visibility": t.visibility} for t in program.inputs],
          "outputs": [{"name": o, "shape": list(program.tensors[o].shape),
                       "scale": program.tensors[o].scale,
                       "visibility": program.tensors[o].visibility} for o in program.outputs]}
    c = program.commitment
    if c is not None:
        io["commitment"] = {"digest": c.hex, "tensors": list(c.tensors),
                            "parts": [digest_hex(d) for d in c.parts]}
    return io


def _check_commitment(commitment: dict | None) -> None:
    """A per-tensor commitment in a key's header: its parts must hash to its digest (what
    ``zkvm verify`` prints is then what every segment's weights are checked against)."""
    from zkvm.hash.poseidon2 import digest_hex, top_digest

    if commitment is None or not commitment.get("parts"):
        return
    try:
        parts = [[int.from_bytes(bytes.fromhex(h)[8 * i:8 * i + 8], "little") for i in range(4)]
                 for h in commitment["parts"]]
        ok = (len(parts) == len(commitment["tensors"])
              and digest_hex(top_digest(parts)) == commitment["digest"])
    except (TypeError, ValueError, KeyError) as e:
        raise BundleFormatError(f"bundle key: malformed model commitment ({e})") from None
    if not ok:
        raise KeyMismatch("the key's model commitment does not match its per-tensor parts")


def _check_weight_parts(where: str, vk, commitment: dict | None) -> None:
    """Every model-commitment digest segment key ``vk`` checks is the program's (its part)."""
    from zkvm.hash.poseidon2 import digest_hex

    parts = {}
    if commitment is not None:
        parts = dict(zip(commitment.get("tensors", []), commitment.get("parts", [])))
    for d in vk.meta.get("io", {}).get("digests", []):
        if d["kind"] != "weights":
            continue
        name = str(d["name"])
        want = None
        if commitment is not None:
            want = (parts.get(name[len("model:"):]) if name.startswith("model:")
                    else commitment["digest"])
        if want is None or digest_hex(d["value"]) != want:
            raise KeyMismatch(f"{where}: its key checks the weights against {name!r} = "
                              f"{digest_hex(d['value'])[:16]}…, not the program's model commitment")


def verify_with_program(path: str, program, security: str = "standard",
                        min_bits: float | None = None, params=None) -> dict[str, Any]:
    """Verify the bundle at ``path`` against ``program`` (segment keys derived one at a time).

    ``params``: the segmentation the verifier insists on (``SegmentParams``);
    by default the one the bundle names, which is safe because the verifier
    derives the segments from it itself.
    """
    import zkvm.api as api
    from zkvm.fri.security import SecurityConfig
    from zkvm.segments.plan import SegmentParams, plan
    from zkvm.segments.prove import chain_spec

    cfg = SecurityConfig.preset(security)
    with _proof_header(path) as r:
        h = r.header
        try:
            got = SegmentParams.from_dict(h.get("params"))
        except Exception as e:
            raise BundleFormatError(f"bundle segmentation parameters: {e}") from None
        if params is not None and got != params:
            raise KeyMismatch(f"the bundle was split with {got.to_dict()}, not with the asked "
                              f"{params.to_dict()}")
        pl = plan(program, got)
        _check_header(h, program.digest, got.to_dict(), pl.n_segments, security)

        def pairs():
            for i, data in enumerate(r.segments()):
                if i >= pl.n_segments:
                    break
                yield api.setup(pl.segment_program(i), cfg).vk, data
        return check_chain(h, chain_spec(pl), program_io(program), pairs(), security, min_bits,
                           lambda: r.trailer)


def verify_with_key(path: str, key_path: str, security: str = "standard",
                    min_bits: float | None = None) -> dict[str, Any]:
    """Verify the bundle at ``path`` against a bundle key file (both streamed)."""
    from zkvm.stark.keys import VerifyingKey

    with BundleReader(key_path, KEY_MAGIC, "key", "bundle verifying key") as k, \
            _proof_header(path) as r:
        kh = k.header
        for f in ("program", "params", "chain", "io", "security"):
            if f not in kh:
                raise BundleFormatError(f"{key_path}: bundle key header lacks {f!r}")
        _check_header(r.header, kh["program"], kh["params"], kh["n_segments"], kh["security"])
        if kh["security"] != security:
            raise KeyMismatch(f"the key {key_path} is made at {kh['security']!r}, not at "
                              f"{security!r}: pass --security {kh['security']}")

        def pairs():
            keys = k.segments()
            for pb in r.segments():   # read to the end: the trailer comes last
                kb = next(keys, None)
                if kb is None:
                    raise BoundaryMismatch("the bundle has more segments than the key")
                yield VerifyingKey.from_bytes(kb), pb
        return check_chain(r.header, kh["chain"], kh["io"], pairs(), security, min_bits,
                           lambda: r.trailer)


def setup_bundle(program, params, path: str, security: str = "standard") -> int:
    """Write the bundle verifying key of ``program`` split with ``params``; return its segments."""
    import zkvm.api as api
    from zkvm.fri.security import SecurityConfig
    from zkvm.segments.bundle import BundleWriter
    from zkvm.segments.plan import plan
    from zkvm.segments.prove import chain_spec

    cfg = SecurityConfig.preset(security)
    pl = plan(program, params)
    header = {"program": program.digest, "params": params.to_dict(),
              "n_segments": pl.n_segments, "security": security, "chain": chain_spec(pl),
              "io": program_io(program)}
    with BundleWriter(path, KEY_MAGIC, "key", header) as w:
        for i in range(pl.n_segments):
            w.add(api.setup(pl.segment_program(i), cfg).vk.to_bytes())
    return pl.n_segments


def check_key_matches(key_path: str, program, security: str) -> None:
    """Raise ``KeyMismatch`` unless the bundle key is ``program``'s: the same split, the same
    chain and public interface (which ``verify_with_key`` reads from the key's header, and
    no segment key covers), the same preset, and the same segment keys."""
    import zkvm.api as api
    from zkvm.fri.security import SecurityConfig
    from zkvm.segments.plan import SegmentParams, plan
    from zkvm.segments.prove import chain_spec
    from zkvm.stark.keys import VerifyingKey

    with BundleReader(key_path, KEY_MAGIC, "key", "bundle verifying key") as k:
        h = k.header
        if h.get("program") != program.digest:
            raise KeyMismatch(f"the key {key_path} is not a key of this program")
        try:
            params = SegmentParams.from_dict(h.get("params"))
        except Exception as e:
            raise BundleFormatError(f"{key_path}: segmentation parameters: {e}") from None
        pl = plan(program, params)
        cfg = SecurityConfig.preset(security)
        if h.get("n_segments") != pl.n_segments:
            raise KeyMismatch(f"the key {key_path} has another number of segments")
        if h.get("security") != security:
            raise KeyMismatch(f"the key {key_path} is made at {h.get('security')!r}, not at "
                              f"{security!r}")
        if h.get("chain") != chain_spec(pl) or h.get("io") != program_io(program):
            raise KeyMismatch(f"the key {key_path}: its chain of segments or its public inputs "
                              "and outputs are not this program's")
        for i, kb in enumerate(k.segments()):
            if VerifyingKey.from_bytes(kb).digest() != api.setup(pl.segment_program(i),
                                                                 cfg).vk.digest():
                raise KeyMismatch(f"the key {key_path}: segment {i + 1} is not this program's")
