"""``zkvm verify``: the one definition of the command, light enough to start fast.

Verification is what a user runs most, often in a script per proof, so its
whole process should cost little more than the check itself: this module
imports no typer, no numba kernel, nothing from the runtime and, unless
``--program`` is given, nothing from the assembler. The ``zkvm`` console
script (:func:`zkvm.entry.main`) sends ``verify`` here directly; the typer app
registers a pass-through command that calls :func:`main` with the same
arguments, so both entry points share this parser and this logic.

Exit codes: 0 valid, 1 invalid (a ``VerificationError``: printed as
``INVALID proof: <check>: <why>``), 2 bad input (unreadable or malformed
files, bad options: the :class:`zkvm.errors.ZkvmUserError` family), 3 a bug
in zkvm (``internal error, please report: ...``; ``--debug`` or
``ZKVM_DEBUG=1`` prints the traceback).
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback

from zkvm.errors import (
    EXIT_INTERNAL, EXIT_USER, ZkvmUserError, debug_env, internal_error_line,
)

PRESETS = "test | standard | high | proven | onchain"


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="zkvm verify",
        description="Check a proof; print the proven outputs. Exit 0 only when the proof is "
                    "valid. The parameters are the verifier's, never the proof's: the key is "
                    "derived from the program at --security (default standard), or read from "
                    "--key and must be made at that preset. With both --key and --program the "
                    "key must be the program's.")
    ap.add_argument("proof", help="proof file")
    ap.add_argument("--program", "-p", help="program (.zkvm/.zasm): derive the key")
    ap.add_argument("--key", "-k", help="verifying key file (from zkvm setup)")
    ap.add_argument("--security", default="standard",
                    help="the preset to verify at: the key is derived at it (--program) or must "
                         f"be made at it (--key): {PRESETS}")
    ap.add_argument("--min-security", type=float, default=None,
                    help="refuse keys below this many conjectured bits (default: the preset's "
                         "level, 100 for standard)")
    zk = ap.add_mutually_exclusive_group()
    zk.add_argument("--zk", dest="zk", action="store_true", default=None,
                    help="with --program: derive the zk key (default: as the program says)")
    zk.add_argument("--no-zk", dest="zk", action="store_false")
    ap.add_argument("--debug", action="store_true",
                    help="print the traceback of internal errors (same as ZKVM_DEBUG=1)")
    return ap


class _Fail(ZkvmUserError):
    """Bad input: one ``error:`` line and exit code 2."""


def _verdict(check):
    """Run ``check()`` and sort what it raises: its result, or ``None`` for an invalid proof.

    A malformed proof file or any other user error is a :class:`_Fail` (one line,
    exit 2); a failed check (a ``VerificationError``) prints ``INVALID proof: ...``
    and gives ``None`` (exit 1). Anything else is a bug and propagates.
    """
    from zkvm.stark.errors import ProofFormatError, VerificationError

    try:
        return check()
    except ProofFormatError as e:
        raise _Fail(str(e)) from None
    except VerificationError as e:
        print(f"INVALID proof: {type(e).__name__}: {e}", file=sys.stderr)
        return None
    except ZkvmUserError as e:
        raise _Fail(str(e)) from None


def _read(path: str, what: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise _Fail(f"cannot read {what} {path}: {e.strerror}") from None


def main(argv: list[str] | None = None) -> int:
    """Run ``zkvm verify`` with ``argv`` (default ``sys.argv[2:]``); return the exit code."""
    try:
        a = parser().parse_args(sys.argv[2:] if argv is None else argv)
    except SystemExit as e:  # --help (0) or a usage error (2), already printed
        return int(e.code or 0)
    try:
        return run(a.proof, a.program, a.key, a.security, a.min_security, a.zk)
    except _Fail as e:
        print("error: " + " ".join(str(e).split("\n")), file=sys.stderr)
        return EXIT_USER
    except Exception as e:  # noqa: BLE001 - the boundary: anything else is a bug in zkvm
        if a.debug or debug_env():
            traceback.print_exception(type(e), e, e.__traceback__, file=sys.stderr)
        print(internal_error_line(e), file=sys.stderr)
        return EXIT_INTERNAL


def run(proof: str, program: str | None, key: str | None, security: str,
        min_security: float | None, zk: bool | None) -> int:
    """Verify ``proof`` against ``key`` and/or ``program``; print outputs; return the exit code.

    Raises:
        _Fail: bad input (reported by :func:`main` as one line, exit code 2).
    """
    import numpy as np

    import zkvm.air.chips  # noqa: F401  (registers the chips; start-up, not verification work)
    import zkvm.api as api
    import zkvm.stark.verifier  # noqa: F401  (loaded before the clock starts, as the chips)
    from zkvm.fri.security import SecurityConfig
    from zkvm.stark.errors import KeyMismatch, ParameterMismatch
    from zkvm.stark.keys import VerifyingKey
    from zkvm.stark.proof import StarkProof

    if program is None and key is None:
        raise _Fail("give --program (derive the key from the program) or --key (a key file), or both")
    if key is not None and zk is not None:
        raise _Fail("--zk/--no-zk only applies to a key derived from --program")
    try:
        cfg = SecurityConfig.preset(security)
    except ValueError as e:
        raise _Fail(str(e)) from None
    from zkvm.segments.bundle import is_bundle

    if is_bundle(proof):
        if zk is not None:
            raise _Fail("--zk/--no-zk does not apply to a segmented proof (each segment's key "
                        "is derived as its segment program says)")
        return run_bundle(proof, program, key, security, min_security)
    def check():
        p = StarkProof.from_bytes(_read(proof, "proof"))
        vk = VerifyingKey.from_bytes(_read(key, "verifying key")) if key is not None else None
        if vk is not None and vk.security != cfg:
            raise ParameterMismatch(
                f"the key {key} is made at {vk.security.name!r}, not at {security!r}: pass "
                f"--security {vk.security.name} to verify at that preset")
        prog_digest = None
        if program is not None:
            from zkvm.assembler import load_program

            prog = load_program(program)
            derived = api.setup(prog, cfg, zk=zk if vk is None else vk.zk).vk
            prog_digest = prog.digest
            if vk is not None and derived.digest() != vk.digest():
                raise KeyMismatch(
                    f"the key {key} is not the verifying key of {program}"
                    + (" (it carries the program's digest, but its tables differ)"
                       if vk.statement_id == prog.digest else ""))
            vk = derived
        t0 = time.perf_counter()
        outs = api.verify(p, vk, security=security, min_bits=min_security)
        return p, vk, prog_digest, outs, (time.perf_counter() - t0) * 1e3
    res = _verdict(check)
    if res is None:
        return 1
    p, vk, prog_digest, outs, ms = res
    io = vk.meta["io"]
    for t in io["outputs"]:
        v = outs[t["name"]].astype(np.float64) / 2.0 ** t["scale"]
        print(f"{t['name']} = {np.array2string(v, precision=6, separator=', ', threshold=64)}")
    for name, d in api.public_digests(p, vk).items():
        what = "model commitment (weights)" if d["kind"] == "weights" else \
            f"hashed {d['kind']} {name}: digest"
        print(f"{what} {d['hex']}")
    for t in io.get("hidden_outputs", []):
        if t["visibility"] == "private":
            print(f"{t['name']}: private output (not revealed)")
    whose = (f"program {prog_digest.hex()[:16]}…" if prog_digest is not None else
             f"key {vk.tables_digest().hex()[:16]}…, not checked against a program "
             f"(pass --program)")
    print(f"proof valid ({vk.security.name} security, {whose}) verified in {ms:.1f} ms")
    return 0


def run_bundle(proof: str, program: str | None, key: str | None, security: str,
               min_security: float | None) -> int:
    """``zkvm verify`` of a segmented proof (a bundle; docs/segments.md): streamed per segment.

    With ``--program`` the segment keys are derived from the program, one at a
    time; with ``--key`` they are read from a bundle key (``zkvm setup
    --segment-rows``). Giving both checks the key is the program's split.
    """
    import numpy as np

    import zkvm.air.chips  # noqa: F401  (registers the chips)
    import zkvm.segments.api as segapi
    from zkvm.segments.bundle import KEY_MAGIC, is_bundle

    if key is not None and not is_bundle(key, KEY_MAGIC):
        raise _Fail(f"{proof} is a segmented proof (a bundle): its key is a bundle key made by "
                    "zkvm setup PROGRAM --segment-rows N (or verify with --program)")
    t0 = time.perf_counter()

    def check():
        prog = None
        if program is not None:
            from zkvm.assembler import load_program

            prog = load_program(program)
        if key is not None:
            if prog is not None:   # both: the key must be the program's split
                from zkvm.segments.verify import check_key_matches

                check_key_matches(key, prog, security)
            return segapi.verify_segmented(proof, key=key, security=security,
                                           min_bits=min_security)
        return segapi.verify_segmented(proof, program=prog, security=security,
                                       min_bits=min_security)
    res = _verdict(check)
    if res is None:
        return 1
    ms = (time.perf_counter() - t0) * 1e3
    for name, v in res["outputs"].items():
        scale = res.get("scales", {}).get(name, 0)
        v = v.astype(np.float64) / 2.0 ** scale
        print(f"{name} = {np.array2string(v, precision=6, separator=', ', threshold=64)}")
    if res.get("model"):
        print(f"model commitment (weights) {res['model']}")
    for name, h in res["digests"].items():
        print(f"hashed {name}: digest {h}")
    print(f"proof valid ({security} security, {res['n_segments']} segments, program "
          f"{res['program'].hex()[:16]}…) verified in {ms:.1f} ms")
    return 0
