"""``matmul x, w [, b]``: wide rows of multiply-accumulate lanes, tiled over (M, K, N).

``y[m, n] = sum_k x[m, k] * w[k, n] (+ b[m, n])`` exactly (docs/isa.md), with
``x`` viewed as ``(M, K)`` (``M`` = product of its leading axes, 1 for rank 1).

Layout. A row holds a *tile* of ``lm x lk`` x-lanes (rows ``m`` of a block,
``k`` of a chunk), ``lk x ln`` w-lanes and ``lm x ln`` accumulators. A block
``(m-block, n-block)`` takes ``C = ceil(K / lk)`` consecutive rows, one per
K-chunk (zero-padded lanes at the end). With ``lm = ln = 1`` this is the plain
"lanes over K" design; ``lk = 1`` is "lanes over N". The accumulator chains
through the next row only (never a copy in the same row)::

    acc'[a, j] = (1 - start') * acc[a, j] + sum_i x'[a, i] * w'[i, j]

(``'`` = next row, degree 2), where the preprocessed ``start`` marks the first
row of each block. Row 0 is a dummy row (``start = 1``, nothing on the bus):
the chain starts on row 1, so no first-row constraint has to re-evaluate the
dot products. The last row of a block sends ``(addr_y, acc + bias)`` on
``BUS_MEM`` with the preprocessed read count ``mult`` (0 on every other row).

Bus traffic. Each x lane is received with a preprocessed address and the
row selector ``on``; padded lanes read address 0 (the constant 0, sent by the
verifier), so their value is forced to 0 (soundness: with a received ``w`` a
free padded pair would add an arbitrary product). When ``w`` is public (a
public weight, or a view of public weights: ``params["w_public"]``) its lanes
are preprocessed columns, fixed by the verifying key: no bus traffic for
weights at all. Otherwise they are main columns received like ``x``. A
public bias is a preprocessed column too (``params["bias"] == "public"``);
any other bias is a main column received once per output element with the
selector ``end`` (``"bus"``). There are no product columns: ``x * w`` enters
the constraint directly (degree 2 <= 3). No range check is needed: every
accumulator is a prefix sum of the exact products, bounded by the
assembler's ``Program.acc_bounds`` (< 2^62), so the field equation is the
integer one (DESIGN.md checklist 8).

Why tiles. Per row, the costly parts are main and LogUp columns (interpolated,
extended 8x, hashed); preprocessed columns (the weights) only enter the DEEP
batch and the out-of-domain evaluation. Lanes over K (``1 x 16 x 1``) spend
one x-receive per MAC (x is re-read for every output column); lanes over N
(``1 x 1 x 16``) one send per output lane per row: the same interaction count.
A ``1 x lk x ln`` tile spends ``lk + ln`` main columns and interactions on
``lk * ln`` MACs. Measured on the 784x128 layer (public i8 weight and bias,
``standard``, single-thread prover CPU time, bench/bench_matmul.py --sweep):

    tile      rows   main  LogUp(ext)  pre   prove   proof
    1x16x1    8192    17     10         37   0.67 s  121 KiB
    1x1x16    8192    17     10         67   0.84 s  130 KiB
    1x8x8     2048    16      9         98   0.25 s  110 KiB
    1x13x8    1024    21     12        143   0.16 s  114 KiB   (the first planner's choice)
    1x16x8    1024    24     13        170   0.20 s  123 KiB
    1x25x16    512    41     22        475   0.23 s  201 KiB

``lm > 1`` pays when ``w`` is received (x and w both re-read) or ``M`` is
large (the public w tile is shared by ``lm`` x rows). ``choose_tiles``
minimises a cost model fitted on these runs (``tile_cost``), with one change:
the table above times the prover alone, but ``zkvm run --prove`` derives the
key (the preprocessed columns' trace, extension and tree) on every run, where
a preprocessed cell cost as much as a committed one (ResNet-20 at
``standard``: the key was 39 s of a 73 s prove). So ``PRE_WEIGHT`` is 1, and
the planner looks at tiles of up to 1024 MACs: on ResNet-20's im2col convs
(41M MACs, ``M`` up to 1024) this took the preprocessed cells from 34M to 22M
(with the one-column output addresses below: from 39M), the prover's peak
from 4.8 to 3.8 GB, for 2.9 MiB of proof instead of 2.2 MiB
(bench/bench_resnet.py).

Preprocessed: ``start, on, [end], ax[lm*lk], w|aw[lk*ln], ay[lm*ln] (or ay[1]),
mult[lm*ln], [bias[lm*ln] | bias[ln] | ab[lm*ln]]``.

Output addresses. An instruction's output is a fresh tensor, so its addresses
are row-major contiguous: lane ``(a, j)`` of a block writes ``ay0 + a * N + j``
where ``ay0`` is the block's first address. Then ``ay`` is one column and the
lane offsets are constants of the AIR (``params["y_stride"] = N``, fixed by the
key); a padded lane's address may name another element, but its read count
``mult`` is 0, so its send adds nothing to the LogUp sum. A public bias that
is the same for every row (a convolution's per-channel bias) is ``ln``
columns (``bias == "public_n"``), not ``lm * ln``. For ResNet-20's convs this
took 17% of the preprocessed columns off the planner's old tiles.

Main: ``x[lm*lk], [w[lk*ln]], acc[lm*ln],
[bias[lm*ln]]``.
"""

from __future__ import annotations

import math

import numpy as np

from zkvm.air.chips.common import BUS_MEM, EventChip, field, log_height_for
from zkvm.air.chips.planner import StatementError, planner
from zkvm.air.registry import register

#: Largest tile (MACs per row) a verifying key may ask for.
MAX_TILE = 4096
#: ``public_n``: a public bias that is the same for every row ``m`` (a conv's per-channel
#: bias): ``ln`` preprocessed lanes instead of ``lm * ln``
BIAS_KINDS = ("none", "public", "public_n", "bus")
#: largest output row stride ``y_stride`` (an address offset; far below the field size)
MAX_Y_STRIDE = 1 << 40


def _params(params: dict | None) -> tuple[int, int, int, bool, str, int]:
    p = dict(params or {})
    try:
        lm, lk, ln = int(p["lm"]), int(p["lk"]), int(p["ln"])
        w_public, bias = p["w_public"], p["bias"]
        y_stride = p.get("y_stride", 0)
    except (KeyError, TypeError, ValueError):
        raise ValueError(f"matmul params need ints lm, lk, ln, bool w_public and bias, got {p}"
                         ) from None
    if min(lm, lk, ln) < 1 or lm * lk * ln > MAX_TILE or not isinstance(w_public, bool) \
            or bias not in BIAS_KINDS or not isinstance(y_stride, int) \
            or isinstance(y_stride, bool) or not 0 <= y_stride <= MAX_Y_STRIDE:
        raise ValueError(f"matmul params out of range: {p}")
    return lm, lk, ln, w_public, bias, y_stride


@register
class MatmulChip(EventChip):
    """params: ``lm, lk, ln`` (tile), ``w_public`` (bool), ``bias`` in none/public/public_n/bus,
    ``y_stride`` (optional: > 0 when the output's addresses are row-major contiguous, so
    one address column and the constant lane offsets ``a * y_stride + j`` name them)."""

    name = "matmul"

    def __init__(self, log_height: int, params: dict | None = None, data: dict | None = None):
        lm, lk, ln, w_public, bias, y_stride = _params(params)
        self.tile = (lm, lk, ln)
        self.w_public, self.bias, self.y_stride = w_public, bias, y_stride
        nx, nw, ny = lm * lk, lk * ln, lm * ln
        main: list = [("x", nx)] + ([] if w_public else [("w", nw)]) + [("acc", ny)]
        pre: list = ["start", "on"] + (["end"] if bias == "bus" else [])
        pre += [("ax", nx), ("w", nw) if w_public else ("aw", nw), ("ay", 1 if y_stride else ny),
                ("mult", ny)]
        if bias == "bus":
            main.append(("bias", ny))
            pre.append(("ab", ny))
        elif bias == "public":
            pre.append(("bias", ny))
        elif bias == "public_n":
            pre.append(("bias", ln))
        self.main_columns, self.preprocessed_columns = tuple(main), tuple(pre)
        super().__init__(log_height, params, data)

    def eval(self, b):
        lm, lk, ln = self.tile
        m, nxt, p, pn = b.main, b.next, b.pre, b.pre_next
        x_n = nxt.x
        w_n = pn.w if self.w_public else nxt.w
        acc, acc_n = m.acc, nxt.acc
        keep = 1 - pn.start
        t = b.when_transition()
        for a in range(lm):
            xs = x_n[a * lk:(a + 1) * lk]
            for j in range(ln):
                dot = xs[0] * w_n[j]
                for i in range(1, lk):
                    dot = dot + xs[i] * w_n[i * ln + j]
                o = a * ln + j
                t.assert_zero(acc_n[o] - keep * acc[o] - dot, "matmul: accumulator chain")
        for v, ad in zip(m.x, p.ax):
            b.receive(BUS_MEM, [ad, v], p.on)
        if not self.w_public:
            for v, ad in zip(m.w, p.aw):
                b.receive(BUS_MEM, [ad, v], p.on)
        bias = None if self.bias == "none" else (m.bias if self.bias == "bus" else p.bias)
        for o in range(lm * ln):
            a, j = divmod(o, ln)
            y = acc[o] if bias is None else acc[o] + bias[j if self.bias == "public_n" else o]
            # affine addresses: a padded lane's address may be anything, its mult is 0
            ay = p.ay[0] + (a * self.y_stride + j) if self.y_stride else p.ay[o]
            b.send(BUS_MEM, [ay, y], p.mult[o])
        if self.bias == "bus":
            for v, ad in zip(m.bias, p.ab):
                b.receive(BUS_MEM, [ad, v], p.end)

    # --- geometry -----------------------------------------------------------
    def _geom(self) -> tuple[int, int, int, int, int, int]:
        """``(M, K, N, Mb, Nb, C)``: sizes and block counts."""
        M, K, N = (int(v) for v in self.data["mkn"])
        lm, lk, ln = self.tile
        return M, K, N, -(-M // lm), -(-N // ln), -(-K // lk)

    def tile_x(self, x: np.ndarray) -> np.ndarray:
        """``(M, K)`` -> ``(R, lm*lk)``: the x lanes of every real row (zero padded)."""
        M, K, N, Mb, Nb, C = self._geom()
        lm, lk, _ = self.tile
        xp = np.zeros((Mb * lm, C * lk), dtype=np.int64)
        xp[:M, :K] = x.reshape(M, K)
        t = xp.reshape(Mb, lm, C, lk).transpose(0, 2, 1, 3).reshape(Mb, 1, C, lm * lk)
        return np.broadcast_to(t, (Mb, Nb, C, lm * lk)).reshape(-1, lm * lk)

    def tile_w(self, w: np.ndarray) -> np.ndarray:
        """``(K, N)`` -> ``(R, lk*ln)``: the w lanes of every real row (zero padded)."""
        M, K, N, Mb, Nb, C = self._geom()
        _, lk, ln = self.tile
        wp = np.zeros((C * lk, Nb * ln), dtype=np.int64)
        wp[:K, :N] = w.reshape(K, N)
        t = wp.reshape(C, lk, Nb, ln).transpose(2, 0, 1, 3).reshape(1, Nb, C, lk * ln)
        return np.broadcast_to(t, (Mb, Nb, C, lk * ln)).reshape(-1, lk * ln)

    def tile_y(self, y: np.ndarray) -> np.ndarray:
        """``(M, N)`` -> ``(Mb*Nb, lm*ln)``: the output lanes of every block."""
        M, K, N, Mb, Nb, C = self._geom()
        lm, _, ln = self.tile
        yp = np.zeros((Mb * lm, Nb * ln), dtype=np.int64)
        yp[:M, :N] = y.reshape(M, N)
        return yp.reshape(Mb, lm, Nb, ln).transpose(0, 2, 1, 3).reshape(-1, lm * ln)

    def _rows(self) -> tuple[int, np.ndarray]:
        """``(R, end_rows)``: real rows (rows 1..R) and the row of each block's last chunk."""
        M, K, N, Mb, Nb, C = self._geom()
        return Mb * Nb * C, 1 + np.arange(Mb * Nb) * C + (C - 1)

    def _layout(self, specs: dict, which: str, blocks: dict[str, np.ndarray]) -> np.ndarray:
        """Assemble an int64 ``(width, n)`` array from per-group row blocks, then to field."""
        lay = self.main_layout if which == "main" else self.pre_layout
        out = np.zeros((lay.width, self.n_rows), dtype=np.int64)
        R, ends = self._rows()
        for name, arr in blocks.items():
            sl = lay.slices[name]
            if specs[name] == "rows":
                out[sl, 1:R + 1] = arr.T
            elif specs[name] == "ends":
                out[sl][:, ends] = arr.T if arr.ndim == 2 else arr
            else:
                out[sl] = arr
        return field(out)

    def preprocessed_trace(self):
        d = self.data
        R, ends = self._rows()
        M, K, N, Mb, Nb, C = self._geom()
        n = self.n_rows
        start = np.ones(n, dtype=np.int64)
        start[1:R + 1] = (np.arange(R) % C) == 0
        on = np.zeros(n, dtype=np.int64)
        on[1:R + 1] = 1
        ay = self.tile_y(d["addr_y"])
        blocks = {"start": start, "on": on, "ax": self.tile_x(d["addr_x"]),
                  "ay": ay[:, :1] if self.y_stride else ay, "mult": self.tile_y(d["mult"])}
        specs = {"start": "all", "on": "all", "ax": "rows", "ay": "ends", "mult": "ends"}
        if self.w_public:
            blocks["w"], specs["w"] = self.tile_w(d["w"]), "rows"
        else:
            blocks["aw"], specs["aw"] = self.tile_w(d["addr_w"]), "rows"
        if self.bias == "public":
            blocks["bias"], specs["bias"] = self.tile_y(d["bias"]), "ends"
        elif self.bias == "public_n":
            _, ln = self.tile[0], self.tile[2]
            bn = np.zeros(Nb * ln, dtype=np.int64)
            bn[:N] = d["bias_n"]
            blocks["bias"], specs["bias"] = np.tile(bn.reshape(Nb, ln), (Mb, 1)), "ends"
        elif self.bias == "bus":
            end = np.zeros(n, dtype=np.int64)
            end[ends] = 1
            blocks["end"], specs["end"] = end, "all"
            blocks["ab"], specs["ab"] = self.tile_y(d["addr_b"]), "ends"
        return self._layout(specs, "pre", blocks)

    def trace(self, ex, event) -> np.ndarray:
        M, K, N, Mb, Nb, C = self._geom()
        lm, lk, ln = self.tile
        x = ex.values[event.inputs[0]].reshape(M, K)
        w = ex.values[event.inputs[1]].reshape(K, N)
        xt, wt = self.tile_x(x), self.tile_w(w)
        prod = np.matmul(xt.reshape(Mb, Nb, C, lm, lk), wt.reshape(Mb, Nb, C, lk, ln))
        acc = np.cumsum(prod, axis=2).reshape(-1, lm * ln)
        blocks = {"x": xt, "acc": acc}
        specs = {"x": "rows", "acc": "rows"}
        if not self.w_public:
            blocks["w"], specs["w"] = wt, "rows"
        if self.bias == "bus":
            yshape = ex.values[event.output].shape
            bias = np.broadcast_to(ex.values[event.inputs[2]], yshape).reshape(M, N)
            blocks["bias"], specs["bias"] = self.tile_y(bias), "ends"
        return self._layout(specs, "main", blocks)


# --- planning ----------------------------------------------------------------

def static_values(program, name: str) -> np.ndarray | None:
    """Values of ``name`` when fixed by the program (public weights or views of them)."""
    addr = np.asarray(program.addresses(name), dtype=np.int64)
    mem = np.zeros(program.n_addresses, dtype=np.int64)
    known = np.zeros(program.n_addresses, dtype=bool)
    known[0] = True
    for wname, vals in program.weights.items():
        if program.tensors[wname].visibility != "public":
            continue
        base = program.base(wname)
        mem[base:base + vals.size] = np.asarray(vals, dtype=np.int64).ravel()
        known[base:base + vals.size] = True
    if not known[addr].all():
        return None
    return mem[addr]


def tile_cost(M: int, K: int, N: int, tile: tuple[int, int, int], w_public: bool, bias: str,
              zk: bool, affine: bool = False, col_weight: float | None = None) -> float:
    """Modelled proving cost of a tile (relative units; see the module docstring).

    ``n * (committed + PRE * preprocessed) + OP * (MACs + 4 * interactions) + COL * columns``
    where ``n`` is the padded height, committed = main + LogUp (2 base columns per
    pair of interactions, plus the running sum) + 4 quotient columns: those are
    extended and hashed, preprocessed ones only enter the DEEP batch and the
    out-of-domain evaluation. Each MAC and interaction is a fixed number of
    whole-column operations in the quotient (Python overhead per op), and every
    column costs proof size and verifier time. Weights fitted on single-thread
    CPU time of the 784x128 layer at ``standard`` (bench/bench_matmul.py --sweep).
    ``affine``: the output addresses take one column (``y_stride``). ``col_weight``
    replaces ``COL_WEIGHT`` (``ONCHAIN_COL_WEIGHT`` for the Solidity verifier).
    """
    lm, lk, ln = tile
    rows = -(-M // lm) * -(-N // ln) * -(-K // lk) + 1
    n = (1 << log_height_for(rows, zk)) * (2 if zk else 1)  # the chip's height (ctx.log_height)
    nx, nw, ny = lm * lk, lk * ln, lm * ln
    inter = nx + (0 if w_public else nw) + ny * (2 if bias == "bus" else 1)
    main = nx + (0 if w_public else nw) + ny * (2 if bias == "bus" else 1)
    perm = 2 * ((inter + 1) // 2 + 1)
    bias_pre = {"none": 0, "public": ny, "public_n": ln, "bus": ny + 1}[bias]
    pre = 2 + nx + nw + (1 if affine else ny) + ny + bias_pre
    ops = lm * lk * ln + 4 * inter
    return (n * (main + perm + 4 + PRE_WEIGHT * pre) + OP_WEIGHT * ops * (4 if zk else 1)
            + (COL_WEIGHT if col_weight is None else col_weight) * (main + perm + pre))


PRE_WEIGHT = 1.0    # a preprocessed column vs a committed one, per row (see tile_cost)
OP_WEIGHT = 66.0    # one whole-column operation in the quotient, in row-column units
COL_WEIGHT = 100.0  # proof size and verifier time of one more column
#: a column's weight when the key is for the Solidity verifier (``onchain``): each query pays
#: calldata and DEEP work per column, rows only add Merkle levels. Measured on the MNIST MLP's
#: 784x128 layer (verify transaction gas on py-evm, bench/bench_onchain.py): tile 1x16x13 (the
#: prover's choice) 11.7M, 1x13x8 9.76M, 1x8x8 8.96M, 1x5x5 7.92M (this weight's choice),
#: 1x4x4 8.24M, 1x2x2 8.75M; prove time at onchain 0.20 s for 1x5x5 and 1x13x8 alike.
ONCHAIN_COL_WEIGHT = 1000.0
MAX_PLANNED_TILE = 1024  # MACs per row the planner considers (MAX_TILE bounds what a key may ask)


def choose_tiles(M: int, K: int, N: int, w_public: bool, bias: str, zk: bool,
                 affine: bool = False, onchain: bool = False) -> tuple[int, int, int]:
    """The ``(lm, lk, ln)`` minimising ``tile_cost`` over a small candidate set."""
    best, best_cost = (1, 1, 1), math.inf
    for lm in (v for v in (1, 2, 3, 4, 6, 8) if v == 1 or v < 2 * M):
        for ln in range(1, min(N, 32) + 1):
            for lk in range(1, min(K, 64) + 1):
                if lm * lk * ln > MAX_PLANNED_TILE:
                    break
                c = tile_cost(M, K, N, (lm, lk, ln), w_public, bias, zk, affine,
                              ONCHAIN_COL_WEIGHT if onchain else None)
                if c < best_cost:
                    best, best_cost = (lm, lk, ln), c
    return best


def make_chip(ctx, idx: int, ins, tile: tuple[int, int, int] | None = None) -> MatmulChip:
    """The chip proving matmul instruction ``idx`` (``tile`` overrides the planner's choice)."""
    prog = ctx.program
    xname, wname = ins.inputs[0], ins.inputs[1]
    ax, aw = prog.addresses(xname), prog.addresses(wname)
    ay = prog.addresses(ins.output)
    K, N = aw.shape
    M = ay.size // N if N else 0
    if not (ax.size and aw.size and ay.size):
        raise StatementError(f"instruction {idx} {ins.describe()}: empty matmul")
    wv = static_values(prog, wname)
    data: dict = {"mkn": np.array([M, K, N]), "addr_x": ax.reshape(M, K),
                  "addr_y": ay.reshape(M, N), "write_addrs": ay.ravel()}
    if wv is not None:
        data["w"] = wv.reshape(K, N)
    else:
        data["addr_w"] = aw.reshape(K, N)
    bias = "none"
    if len(ins.inputs) == 3:
        bname = ins.inputs[2]
        bv = static_values(prog, bname)
        if bv is not None:
            full = np.broadcast_to(bv, ay.shape).reshape(M, N)
            if (full == full[:1]).all():  # one value per output column (a conv's bias)
                bias, data["bias_n"] = "public_n", np.array(full[0])
            else:
                bias, data["bias"] = "public", full
        else:
            bias = "bus"
            data["addr_b"] = np.broadcast_to(prog.addresses(bname), ay.shape).reshape(M, N)
    ay_flat = np.asarray(ay, dtype=np.int64).ravel()
    # row-major contiguous output (every SSA result): lane addresses are ay0 + a*N + j
    y_stride = N if np.array_equal(ay_flat, ay_flat[0] + np.arange(ay_flat.size)) else 0
    tile = tile or choose_tiles(M, K, N, wv is not None, bias, ctx.zk, affine=bool(y_stride),
                                onchain=ctx.onchain)
    params = {"lm": int(tile[0]), "lk": int(tile[1]), "ln": int(tile[2]),
              "w_public": wv is not None, "bias": bias}
    if y_stride:
        params["y_stride"] = int(y_stride)
    lm, lk, ln = tile
    rows = -(-M // lm) * -(-N // ln) * -(-K // lk) + 1
    chip = MatmulChip(ctx.log_height(rows), params, data)
    reads = [chip.tile_x(data["addr_x"]).ravel()]
    if wv is None:
        reads.append(chip.tile_w(data["addr_w"]).ravel())
    if bias == "bus":
        reads.append(chip.tile_y(data["addr_b"]).ravel())
    data["read_addrs"] = np.concatenate(reads)
    chip.source = idx
    return chip


@planner("matmul")
def plan_matmul(ctx, idx, ins):
    return [make_chip(ctx, idx, ins)]
