"""``zkvm export-verifier``: a Solidity verifier specialised to one verifying key.

The contract (template ``sol/ZkvmVerifier.sol.tmpl``) is the Python verifier's
steps over the ``keccak`` hash profile. What is specific to the key is laid out
here, at generation time, as

* Solidity constants: parameters, counts, the calldata offsets of every
  proof section (``zkvm.onchain.calldata`` writes the proof in that layout),
  the transcript state after the key's constant absorbs, the preprocessed root;
* a *plan*: one array of 256-bit words (tables, their constraint tapes from
  ``zkvm.air.tape``, trees, DEEP coefficient layout, public input/output
  addresses), stored as the code of small data contracts ("SSTORE2": code is
  cheap to read with EXTCODECOPY and immutable) whose code hashes the verifier
  pins in its constructor. The plan can be far larger than the EIP-170 limit
  of 24,576 bytes per contract, so it is cut into as many data contracts as
  needed; the verifier's own code does not grow with the model.

Every position of an out-of-domain value (table records, DEEP coefficients,
calldata) comes from the layout's order (``TableLayout.ood_blocks``) through
:func:`ood_slots`; the order the template's own arithmetic assumes is
:data:`TEMPLATE_OOD_ORDER`, and a layout that differs is refused.

Only the quadratic extension and keys whose tables have no public values are
supported (every zkvm program today); anything else is refused with a clear
error, never exported half-right.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

import numpy as np

import zkvm.air.chips  # noqa: F401  (registers the chips a key names)
from zkvm.air import registry
from zkvm.air.tape import tape_for
from zkvm.field.scalar import GENERATOR, P, root_of_unity
from zkvm.fri.fri_types import fri_shape
from zkvm.stark.keys import VerifyingKey, _canonical
from zkvm.stark.layout import PHASES, StarkLayout, TableLayout

NONE = 0xFFFF
SALT_BYTES = 16  # the leaf salt of zkvm.stark.rand.Randomness.salts
CHUNK_WORDS = 767  # 767 * 32 + 1 (the STOP byte) <= 24,576 (EIP-170)
TABLE_STRIDE = 15
GROUP_STRIDE = 12


class ExportError(ValueError):
    """The key cannot be verified on chain (what and why, and what to do)."""


#: The order of a table's OOD values that the template hard-codes (``(phase, point)``, point 1
#: for ``z * w``): ``_runTape`` adds up the offsets of the six column blocks from the widths in
#: this order, and ``_deepSetup`` takes a table's first ``nz`` values as those at ``z``. Kept in
#: the template for gas; :func:`ood_slots` refuses a layout whose order differs.
TEMPLATE_OOD_ORDER = (("pre", 0), ("main", 0), ("perm", 0), ("quot", 0),
                      ("pre", 1), ("main", 1), ("perm", 1))


def ood_slots(t: TableLayout) -> dict[tuple[str, int], tuple[int, int, bool]]:
    """``(phase, point) -> (offset, count, ext)`` of table ``t``'s OOD values.

    Offsets count extension values from the table's first, in the layout's
    order (:attr:`zkvm.stark.layout.TableLayout.ood_blocks`, which the proof,
    the transcript and the powers of the DEEP challenge follow). Every OOD
    position the export writes (table record, DEEP coefficients, calldata)
    comes from here.

    Raises:
        ExportError: the layout's order is not :data:`TEMPLATE_OOD_ORDER`, or a
            block does not span its phase's columns: the contract would read
            the wrong values, so nothing is exported.
    """
    order = tuple((b.phase, b.point) for b in t.ood_blocks)
    if order != TEMPLATE_OOD_ORDER:
        raise ExportError(
            f"table {t.air.name!r}: the layout's OOD order {order} (TableLayout.ood_blocks) is "
            f"not the one the Solidity template reads, {TEMPLATE_OOD_ORDER}: update _runTape's "
            "offsets and _deepSetup's z / z*w split in zkvm/onchain/sol/ZkvmVerifier.sol.tmpl, "
            "then TEMPLATE_OOD_ORDER in zkvm/onchain/solidity.py")
    out, k = {}, 0
    for b in t.ood_blocks:
        if b.count * (t.ext_degree if b.ext else 1) != t.width(b.phase):
            raise ExportError(f"table {t.air.name!r}: its {b.phase} OOD block (point {b.point}) "
                              f"has {b.count} values for {t.width(b.phase)} columns")
        out[(b.phase, b.point)] = (k, b.count, b.ext)
        k += b.count
    return out


@dataclass
class Export:
    """A generated verifier: the Solidity source and what tests and tools need with it."""

    source: str
    plan_chunks: list[bytes]
    """Each data contract's runtime code (0x00 then the plan words), in constructor order."""
    constants: dict[str, int]


def _layout(vk: VerifyingKey) -> StarkLayout:
    cfg = vk.security
    if cfg.hash != "keccak":
        raise ExportError(f"the key is of the {cfg.name!r} preset (hash {cfg.hash}): an on-chain "
                          "verifier needs a key made with --security onchain")
    if cfg.ext_degree != 2:
        raise ExportError("the Solidity verifier supports the quadratic extension only")
    airs = [registry.build(s) for s in vk.tables]
    if any(a.public_names for a in airs):
        raise ExportError("tables with public values are not supported on chain")
    return StarkLayout(airs, cfg.log_blowup, vk.zk, cfg.ext_degree)


def export_verifier(vk: VerifyingKey, *, min_bits: float | None = None,
                    profile: bool = False) -> Export:
    """Generate the Solidity verifier of ``vk`` (see the module docstring).

    The contract takes its parameters from the key, so the key's level is
    checked here, as ``zkvm.stark.verifier`` checks it: by the code's own
    estimator, at least ``min_bits`` conjectured bits (default: the
    ``standard`` preset's 100; tests pass 0 for weak keys).

    Raises:
        ExportError: the key is not of the on-chain profile, is below the
            level, or uses what the contract does not implement.
    """
    from zkvm.fri.transcript import KECCAK_POW_CONTEXT, KeccakTranscript
    from zkvm.hash.keccak import keccak256
    from zkvm.stark.common import PROTOCOL_ID

    from zkvm.fri.security import SecurityConfig
    from zkvm.stark.soundness import layout_security

    lay = _layout(vk)
    slots = [ood_slots(t) for t in lay.tables]  # refuses an OOD order the contract misreads
    cfg = vk.security
    C: dict[str, int] = {}
    plan: list[int] = []
    _io_plan(vk, plan, C)  # first: it refuses what the contract cannot take, and counts terms
    want = SecurityConfig.preset_level("standard")[0] if min_bits is None else min_bits
    bits = layout_security(lay, cfg, C["MAX_TERMS"]).conjectured
    if bits < want:
        raise ExportError(f"the key's parameters give {bits:.1f} conjectured bits, below the "
                          f"required {want:g}: derive the key at --security onchain")
    # -- calldata layout
    off = 0
    has_main, has_perm = lay.has_tree("main"), lay.has_tree("perm")
    C["OFF_MAIN_ROOT"] = off if has_main else NONE
    off += 32 * has_main
    C["OFF_PERM_ROOT"] = off if has_perm else NONE
    off += 32 * has_perm
    C["OFF_QUOT_ROOT"] = off
    off += 32
    C["OFF_CLAIMED"] = off
    off += 16 * len(lay.interacting)
    ood_off = {}
    for t in lay.tables:
        ood_off[t.index] = off
        off += 16 * t.n_ood
    C["OFF_DEEP_NONCE"] = off
    off += 8
    shape = fri_shape(cfg, lay.group_logs)
    C["OFF_FRI_ROOTS"] = off
    off += 32 * shape.n_layers
    C["OFF_FINAL"] = off
    off += 16 * shape.final_poly_len
    C["OFF_FRI_NONCE"] = off
    off += 8
    C["OFF_QUERIES"] = off
    # -- trees: each query's block
    trees, q = [], 0
    tree_rows: dict[tuple[str, int], tuple[int, int, int]] = {}  # (phase, g) -> qoff, w, lv
    roots_off = {"pre": NONE, "main": C["OFF_MAIN_ROOT"], "perm": C["OFF_PERM_ROOT"],
                 "quot": C["OFF_QUOT_ROOT"]}
    max_groups = 1
    for phase, gs in lay.trees:
        logs, widths = lay.tree_shape(phase)
        lv = logs[0]
        salt = SALT_BYTES if (lay.zk and phase != "pre") else 0
        rec = [q, len(logs), salt, lv, roots_off[phase]]
        rec += [(lg << 32) | w for lg, w in zip(logs, widths)]
        max_groups = max(max_groups, len(logs))
        trees.append(rec)
        r = q
        # packed groups live in the first row (leaf), side by side, largest first
        col = 0
        for g in gs:
            if g >= lv:
                w = lay.group_width(g, phase)
                tree_rows[(phase, g)] = (r + salt + 8 * col, w, g - lv, lv)
                col += w << (g - lv)
        r += salt + 8 * widths[0]
        for lg, w in zip(logs[1:], widths[1:]):
            tree_rows[(phase, lg)] = (r + salt, w, -1, lv)
            r += salt + 8 * w
        q = r + 32 * lv
    C["FRI_QOFF"] = q
    for k in range(shape.n_layers):
        q += 32 + 32 * (shape.log_n - k - 1)
    C["QUERY_LEN"] = q
    C["PROOF_LEN"] = C["OFF_QUERIES"] + cfg.n_queries * q
    # -- plan: tables
    C["TABLES"] = len(plan)
    claimed_of = {t.index: i for i, t in enumerate(lay.interacting)}
    tapes = []
    for t in lay.tables:
        a = t.air
        plan += [0] * TABLE_STRIDE
        tapes.append(tape_for(a, t.info.plan))
    C["TABLE_STRIDE"] = TABLE_STRIDE
    max_regs = max_cons = 1
    for t, tape in zip(lay.tables, tapes):
        a = t.air
        base = C["TABLES"] + TABLE_STRIDE * t.index
        start = len(plan)
        for op, d, x, y in tape.code.tolist():
            if max(d, x, y) >= 1 << 24:
                raise ExportError(f"table {a.name!r}: its constraint tape is too large for the "
                                  "on-chain encoding")
            plan.append(op | d << 8 | x << 32 | y << 56)
        cst = len(plan)
        plan += [int(v) for v in tape.consts.tolist()]
        s = slots[t.index]
        (_, pw, _), (_, mw, _), (_, npm, _) = s["pre", 0], s["main", 0], s["perm", 0]
        q_off, n_chunks, _ = s["quot", 0]
        nz = sum(n for (_, pt), (_, n, _) in s.items() if pt == 0)  # z's values come first
        if max(mw, npm) >= 1 << 16:
            raise ExportError(f"table {a.name!r}: too many columns for the on-chain encoding")
        plan[base:base + TABLE_STRIDE] = [
            ood_off[t.index], t.n_ood, pw << 32 | mw << 16 | npm, nz, n_chunks, q_off, t.log_n,
            pow(t.n, P - 2, P), pow(t.omega, P - 2, P), start, len(tape.code), cst,
            tape.n_base, tape.n_constraints, claimed_of.get(t.index, NONE)]
        max_regs = max(max_regs, tape.n_base + tape.n_ext)
        max_cons = max(max_cons, tape.n_constraints)
    C["MAX_REGS"], C["MAX_CONSTRAINTS"] = max_regs, max_cons
    # -- plan: trees
    C["TREES"], C["TREE_STRIDE"], C["N_TREES"] = len(plan), 5 + max_groups, len(trees)
    for rec in trees:
        plan += rec + [0] * (5 + max_groups - len(rec))
    # -- plan: DEEP groups, their element coefficients and row segments
    C["GROUPS"], C["GROUP_STRIDE"], C["N_GROUPS"] = len(plan), GROUP_STRIDE, len(lay.group_logs)
    gbase = len(plan)
    plan += [0] * (GROUP_STRIDE * len(lay.group_logs))
    elems: list[int] = []
    max_pows = 1
    for gi, g in enumerate(lay.group_logs):
        tabs = lay.groups[g]
        e0 = len(elems)
        kb, kz_of = 0, {}
        for t in tabs:
            kz_of[t.index] = kb
            kb += t.n_ood
        if kb >= NONE:
            raise ExportError(f"group 2^{g}: {kb} DEEP coefficients, too many for the on-chain "
                              "encoding (16-bit indices)")
        max_pows = max(max_pows, kb)
        segs, mask = [], (NONE, 0)
        for phase in PHASES:
            if (phase, g) not in tree_rows:
                continue
            qoff, w, slot_log, lv = tree_rows[(phase, g)]
            for t in tabs:  # a row element: its lambda powers at z and z*w (or NONE), X^j
                s, k0 = slots[t.index], kz_of[t.index]
                oz, n, ext = s[phase, 0]
                ozw = k0 + s[phase, 1][0] if (phase, 1) in s else None
                elems += [(k0 + oz + c) | (NONE if ozw is None else ozw + c) << 16 | j << 32
                          for c in range(n) for j in range(t.ext_degree if ext else 1)]
            if phase == "quot" and lay.zk:
                elems += [NONE | NONE << 16] * 2
                lvl = 0xFF if slot_log < 0 else lv
                mask = (qoff + 8 * (w - 2), lvl | w << 8)
            lvl = 0xFF if slot_log < 0 else lv
            segs.append(qoff | w << 32 | lvl << 64 | w << 72)
        seg0 = len(plan)
        plan += segs
        tl = len(plan)
        plan += [t.index for t in tabs]
        t0 = tabs[0]
        plan[gbase + GROUP_STRIDE * gi:gbase + GROUP_STRIDE * (gi + 1)] = [
            g, t0.omega, kb, e0, len(elems) - e0, len(tabs), tl, root_of_unity(g), seg0,
            len(segs), mask[0], mask[1]]
    C["DEEP_ELEMS"], C["N_DEEP_ELEMS"], C["MAX_DEEP_POWERS"] = len(plan), len(elems), max_pows
    plan += elems
    # -- plan: FRI joins
    C["FRI_JOIN"] = len(plan)
    gidx = {g: i for i, g in enumerate(lay.group_logs)}
    plan += [gidx.get(shape.log_n - k - 1, NONE) for k in range(shape.n_layers)]
    # -- scalar constants
    C.update(N_QUERIES=cfg.n_queries, LOG_N0=shape.log_n, N_LAYERS=shape.n_layers,
             FINAL_LEN=shape.final_poly_len, POW_BITS=cfg.pow_bits,
             DEEP_POW_BITS=cfg.deep_pow_bits, N_TABLES=len(lay.tables),
             N_INTERACTING=len(lay.interacting), GENERATOR=GENERATOR,
             INV2=pow(2, P - 2, P), PLAN_WORDS=len(plan))
    tr = KeccakTranscript(PROTOCOL_ID)
    tr.observe_bytes(_canonical({"security": cfg.to_dict(), "zk": vk.zk}))
    tr.observe_digest(vk.digest())
    C["SEED"] = int.from_bytes(tr.state, "big")
    C["POW_DOMAIN"] = int.from_bytes(keccak256(KECCAK_POW_CONTEXT), "big")
    C["PRE_ROOT"] = int.from_bytes(vk.pre_roots[0], "big") if vk.pre_roots else 0
    for k, v in C.items():
        if v < 0:
            raise AssertionError(f"negative constant {k}")
    chunks = _chunks(plan)
    src = _render(vk, C, chunks, has_main, has_perm)
    return Export(_profiled(src) if profile else _unprofiled(src), chunks, C)


#: the steps a profiled verifier measures (tstore slots 0..6), in that order
PROFILE_STEPS = ("plan and canonical checks", "public values and seed", "constraints at z",
                 "LogUp public terms", "FRI (all queries)", "Merkle paths", "DEEP values",
                 "DEEP coefficients")


def _unprofiled(src: str) -> str:
    import re

    return re.sub(r"[ \t]*/\*P:[^*]*\*/\n", "", src)


def _profiled(src: str) -> str:
    import re

    def mark(m) -> str:
        ind, kind, k = m.group(1), m.group(2), m.group(3)
        if kind == "begin":
            return f"{ind}uint256 _g{k} = gasleft();\n"
        return (f"{ind}{{ uint256 _u = _g{k} - gasleft(); "
                f"assembly (\"memory-safe\") {{ tstore({k}, add(tload({k}), _u)) }} }}\n")

    src = re.sub(r"([ \t]*)/\*P:(begin|end):(\d+)\*/\n", mark, src)
    report = ("        assembly (\"memory-safe\") { let m := mload(0x40) for { let k := 0 } lt(k, 8) "
              "{ k := add(k, 1) } { mstore(add(m, mul(k, 32)), tload(k)) } revert(m, 256) }\n")
    src = re.sub(r"[ \t]*/\*P:report\*/\n", report, src)
    # transient storage is written: no function may stay view or pure
    return re.sub(r"\b(internal|external) (view|pure)\b", r"\1", src)


def _io_plan(vk: VerifyingKey, plan: list[int], C: dict[str, int]) -> None:
    from zkvm.air.chips.common import BUS_MEM

    io = vk.meta.get("io")
    if not isinstance(io, dict):
        raise ExportError("the key has no public input/output description (not a zkvm program?)")
    public_in = [t for t in io["inputs"] if t["visibility"] == "public"]
    C["IO_INPUTS"] = len(plan)
    n_in = n_terms = 0
    for t in public_in:
        mult = np.frombuffer(t["mult"], dtype="<i4").astype(np.int64)
        plan += [mult.size, int(t["lo"]) % (1 << 256), int(t["hi"]) % (1 << 256),
                 int(t["addr_base"])]
        plan += [int(m) for m in mult.tolist()]
        n_in += mult.size
        n_terms += int(np.count_nonzero(mult))
    C["IO_OUTPUTS"] = len(plan)
    n_out = 0
    for t in io["outputs"]:
        addrs = np.frombuffer(t["addrs"], dtype="<i8").astype(np.int64)
        plan += [addrs.size, int(t["lo"]) % (1 << 256), int(t["hi"]) % (1 << 256)]
        plan += [int(a) for a in addrs.tolist()]
        n_out += addrs.size
    C["IO_DIGESTS"] = len(plan)
    n_dig = 0
    for d in io.get("digests", []):
        if "value" not in d:
            raise ExportError(f"hashed {d['kind']} {d['name']!r}: a digest claimed by the proof "
                              "is not supported on chain yet (make it public or private)")
        for j, v in enumerate(d["value"]):
            plan += [int(d["addr"]) + j, int(v)]
            n_dig += 1
    zr = int(io.get("zero_reads", 0))
    C.update(N_INPUT_TENSORS=len(public_in), N_OUTPUT_TENSORS=len(io["outputs"]),
             N_INPUT_VALUES=n_in, N_OUTPUT_VALUES=n_out, N_DIGEST_TERMS=n_dig,
             ZERO_READS=zr, MAX_TERMS=n_terms + n_out + n_dig + (1 if zr else 0), BUS_MEM=BUS_MEM)


def _chunks(plan: list[int]) -> list[bytes]:
    out = []
    for s in range(0, max(len(plan), 1), CHUNK_WORDS):
        words = plan[s:s + CHUNK_WORDS]
        out.append(b"\x00" + b"".join(int(w).to_bytes(32, "big") for w in words))
    return out


def _render(vk: VerifyingKey, C: dict[str, int], chunks: list[bytes], has_main: bool,
            has_perm: bool) -> str:
    from zkvm.hash.keccak import keccak256

    tmpl = resources.files("zkvm.onchain").joinpath("sol/ZkvmVerifier.sol.tmpl").read_text()
    consts = [f"    uint256 internal constant {k} = {v};" for k, v in sorted(C.items())
              if k not in ("SEED", "POW_DOMAIN", "PRE_ROOT")]
    consts += [f"    bytes32 internal constant SEED = 0x{C['SEED']:064x};",
               f"    uint256 internal constant POW_DOMAIN = 0x{C['POW_DOMAIN']:064x};",
               f"    uint256 internal constant PRE_ROOT = 0x{C['PRE_ROOT']:064x};",
               f"    bool internal constant HAS_MAIN = {'true' if has_main else 'false'};",
               f"    bool internal constant HAS_PERM = {'true' if has_perm else 'false'};"]
    for i, ch in enumerate(chunks):
        consts.append(f"    address internal immutable PLAN{i};")
        consts.append(f"    bytes32 internal constant PLAN{i}_HASH = 0x{keccak256(ch).hex()};")
    ctor = [f'        if (planChunks.length != {len(chunks)}) revert("zkvm: plan chunks");']
    load = []
    for i, ch in enumerate(chunks):
        ctor.append(f"        PLAN{i} = planChunks[{i}];")
        ctor.append(f'        if (PLAN{i}.codehash != PLAN{i}_HASH) revert("zkvm: plan chunk {i}");')
        load.append(f"        {{ address a = PLAN{i}; uint256 o = dst + {i * CHUNK_WORDS * 32};")
        load.append(f'          assembly ("memory-safe") {{ extcodecopy(a, o, 1, {len(ch) - 1}) }} }}')
    datas = []
    for i, ch in enumerate(chunks):
        datas.append(
            f"/// Plan words {i * CHUNK_WORDS}.. of the verifier (its code is the data).\n"
            f"contract ZkvmPlanData{i} {{\n    constructor() {{\n"
            f"        bytes memory d = hex\"{ch.hex()}\";\n"
            f'        assembly ("memory-safe") {{ return(add(d, 32), mload(d)) }}\n    }}\n}}\n')
    params = vk.security
    out = (tmpl.replace("{{CONSTANTS}}", "\n".join(consts))
           .replace("{{CTOR}}", "\n".join(ctor))
           .replace("{{LOAD_PLAN}}", "\n".join(load))
           .replace("{{PLAN_CONTRACTS}}", "\n".join(datas))
           .replace("{{VK_DIGEST}}", vk.digest().hex())
           .replace("{{TABLES_DIGEST}}", vk.tables_digest().hex())
           .replace("{{PARAMS}}", f"{params.name}: blowup 2^{params.log_blowup}, "
                    f"{params.n_queries} queries, {params.pow_bits}+{params.deep_pow_bits} "
                    f"grinding bits, Keccak-256, F_p^2")
           .replace("{{GENERATOR}}", "zkvm.onchain.solidity"))
    return out
