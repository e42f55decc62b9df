"""Matmul chip: proves x·w (+ b) for public and received weights, rejects tampering.

The chip has no product or output columns: a product is ``x * w`` inside the
accumulator constraint and the output is ``acc + bias`` on a block's last
row, so the tampering targets are the x lanes, received w lanes, the
accumulator (in the middle of a chain and on the row that sends the output),
a received bias, padded lanes, and "consistent" edits that keep every row
constraint true so that only the bus can catch them.
"""

from contextlib import contextmanager

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import zkvm.air.chips.matmul as mm
from vmtest import assert_tamper_rejected, field_add, prove_verify


@contextmanager
def forced_tile(tile):
    """Make the planner use ``tile`` (None: its own choice)."""
    orig = mm.choose_tiles
    if tile is not None:
        mm.choose_tiles = lambda *a, **k: tuple(tile)
    try:
        yield
    finally:
        mm.choose_tiles = orig


def lit(a) -> str:
    return str(np.asarray(a).tolist())


def shape(s) -> str:
    return ",".join(map(str, s))


def program(xs, K, N, *, bias=None, w_mode="public", x_vis="public", seed=0):
    """Source and inputs of ``y = matmul x, w [, b]``.

    ``w_mode``: ``public`` (a weight), ``view`` (transpose of a weight),
    ``computed`` (``w = add w0, w1`` of two inputs). ``bias``: None, ``public``
    (a weight [N]) or ``computed`` (``b = add bb, bc``, an input plus a weight,
    full output shape).
    """
    rng = np.random.default_rng(seed)
    x = rng.integers(-50, 51, xs + (K,))
    lines = [f"input x : i16[{shape(xs + (K,))}] scale 4 {x_vis}"]
    inputs = {"x": x}
    w = rng.integers(-30, 31, (K, N))
    if w_mode == "public":
        lines.append(f"weight w : i8[{K},{N}] scale 4 = {lit(w)}")
    elif w_mode == "view":
        lines.append(f"weight wt : i8[{N},{K}] scale 4 = {lit(w.T)}")
        lines.append("w = transpose wt")
    else:
        w0 = rng.integers(-30, 31, (K, N))
        inputs.update(w0=w0, w1=w - w0)
        lines += [f"input w0 : i8[{K},{N}] scale 4 public", f"input w1 : i8[{K},{N}] scale 4 public",
                  "w = add w0, w1"]
    args = "x, w"
    ys = xs + (N,)
    y = x @ w
    if bias == "public":
        b = rng.integers(-1000, 1001, (N,))
        lines.append(f"weight b : i32[{N}] scale 8 = {lit(b)}")
        args += ", b"
        y = y + b
    elif bias == "public_full":  # a different public bias per output element
        b = rng.integers(-1000, 1001, ys)
        lines.append(f"weight b : i32[{shape(ys)}] scale 8 = {lit(b)}")
        args += ", b"
        y = y + b
    elif bias == "computed":
        bb = rng.integers(-1000, 1001, ys)
        bc = rng.integers(-1000, 1001, (N,))
        inputs["bb"] = bb
        lines += [f"input bb : i16[{shape(ys)}] scale 8 public",
                  f"weight bc : i16[{N}] scale 8 = {lit(bc)}", "b = add bb, bc"]
        args += ", b"
        y = y + bb + bc
    lines += [f"y = matmul {args}", "output y"]
    program.last_w = w
    return "\n".join(lines) + "\n", inputs, y


def check(tile, xs, K, N, **kw):
    src, inputs, y = program(xs, K, N, **kw)
    with forced_tile(tile):
        out, _, key = prove_verify(src, inputs)
    np.testing.assert_array_equal(out["y"], y)
    chip = next(c for c in key.statement.chips if c.name == "matmul")
    if tile is not None:
        assert chip.tile == tuple(tile)
    return chip


@pytest.mark.parametrize("tile, xs, K, N, kw", [
    (None, (), 7, 3, {}),                                       # x rank 1
    ((1, 3, 2), (), 7, 3, {"bias": "public"}),                  # K % lk != 0, N % ln != 0
    ((2, 4, 1), (2, 3), 5, 1, {"bias": "public"}),              # x rank 3, N = 1
    ((1, 4, 2), (3,), 8, 4, {"w_mode": "computed"}),            # w received on the bus
    ((2, 3, 2), (3,), 7, 3, {"w_mode": "computed", "bias": "computed"}),
    ((1, 5, 3), (2,), 6, 4, {"w_mode": "view", "bias": "computed"}),  # view of a weight
    ((1, 1, 1), (2,), 3, 2, {}),
    ((2, 3, 2), (3,), 7, 3, {"bias": "public_full"}),           # per-element public bias
    ((3, 2, 2), (4,), 5, 3, {"bias": "public"}),                # padded rows and columns
])
def test_matmul_proves_and_matches_numpy(tile, xs, K, N, kw):
    chip = check(tile, xs, K, N, **kw)
    assert chip.w_public == (kw.get("w_mode", "public") != "computed")
    assert chip.bias == {None: "none", "public": "public_n", "public_full": "public",
                         "computed": "bus"}[kw.get("bias")]
    assert chip.y_stride == N  # a fresh output: one address column, constant lane offsets
    assert chip.pre_layout.slices["ay"].stop - chip.pre_layout.slices["ay"].start == 1


def test_output_address_lanes_without_y_stride_still_prove():
    """Keys written before ``y_stride`` (one address column per output lane) stay valid."""
    src, inputs, y = program((3,), 7, 3, bias="public")
    orig = mm.MatmulChip.__init__

    def lanes(self, log_height, params=None, data=None):
        params = {k: v for k, v in (params or {}).items() if k != "y_stride"}
        orig(self, log_height, params, data)
    mm.MatmulChip.__init__ = lanes
    try:
        with forced_tile((2, 3, 2)):
            out, _, key = prove_verify(src, inputs)
    finally:
        mm.MatmulChip.__init__ = orig
    np.testing.assert_array_equal(out["y"], y)
    chip = next(c for c in key.statement.chips if c.name == "matmul")
    assert chip.y_stride == 0 and chip.pre_layout.slices["ay"].stop - \
        chip.pre_layout.slices["ay"].start == 2 * 2  # lm * ln


def test_private_x_is_zero_knowledge_and_verifies():
    src, inputs, y = program((2,), 9, 3, bias="public", x_vis="private")
    with forced_tile((1, 4, 2)):
        out, proof, key = prove_verify(src, inputs)
    assert key.vk.zk and proof.zk
    np.testing.assert_array_equal(out["y"], y)


@settings(max_examples=6, deadline=None, derandomize=True)
@given(M=st.integers(1, 3), K=st.integers(1, 9), N=st.integers(1, 4),
       lm=st.integers(1, 2), lk=st.integers(1, 5), ln=st.integers(1, 3),
       w_mode=st.sampled_from(["public", "computed"]),
       bias=st.sampled_from([None, "public", "public_full", "computed"]))
def test_random_shapes_and_tiles_match_numpy(M, K, N, lm, lk, ln, w_mode, bias):
    check((lm, lk, ln), (M,), K, N, w_mode=w_mode, bias=bias, seed=M * 100 + K * 10 + N)


def test_planner_tile_for_mlp_layer():
    # preprocessed cells weigh as much as committed ones (the key is derived on every
    # ``zkvm run --prove``); M = 1: the public bias is one value per column
    assert mm.choose_tiles(1, 784, 128, True, "public_n", False, affine=True) == (1, 16, 13)


def test_planner_tile_for_mlp_layer_onchain_has_fewer_columns():
    # the Solidity verifier pays per column in every query (bench/bench_onchain.py: 7.9M gas
    # for the MNIST MLP with 1x5x5 against 11.7M with the prover's 1x16x13)
    tile = mm.choose_tiles(1, 784, 128, True, "public_n", False, affine=True, onchain=True)
    assert tile == (1, 5, 5)


def test_onchain_key_plans_its_own_tiles():
    import zkvm.api as api
    from zkvm.examples.models import build

    prog = build("mlp").program
    tiles = {}
    for sec in ("standard", "onchain"):
        st = api.setup(prog, sec).statement
        tiles[sec] = [(c.params["lm"], c.params["lk"], c.params["ln"]) for c in st.chips
                      if c.name == "matmul"]
    assert tiles["standard"][0] == (1, 16, 13) and tiles["onchain"][0] == (1, 5, 5)


def test_planner_shares_conv_weight_lanes_over_output_pixels():
    # a ResNet-20 stage-1 conv (im2col 1024 x 144 x 16): lm > 1 shares each w lane
    lm, lk, ln = mm.choose_tiles(1024, 144, 16, True, "public_n", False, affine=True)
    assert lm > 1 and lm * lk * ln <= mm.MAX_PLANNED_TILE


# --- tampering -----------------------------------------------------------------

TILE = (1, 3, 2)   # K = 7 -> chunks of 3, 3, 1 (two padded lanes); N = 3 -> lanes 2 + 1 padded
K, N = 7, 3


def cols(w_public: bool, bias: str):
    """Main-trace column indices of each group for the tamper tile."""
    chip = mm.MatmulChip(3, {"lm": TILE[0], "lk": TILE[1], "ln": TILE[2],
                             "w_public": w_public, "bias": bias})
    lay = chip.main_layout

    def idx(name):
        sl = lay.slices[name]
        return list(range(sl.start, sl.stop))
    return {name: idx(name) for name in lay.slices}


def tamper(kw, edit):
    src, inputs, _ = program((2,), K, N, **kw)
    with forced_tile(TILE):
        assert_tamper_rejected(src, inputs, "matmul", edit)


def assert_rows_still_hold(src, inputs, edit):
    """The edit keeps every constraint of every row true: only the bus can catch it."""
    import zkvm.api as api
    from zkvm.assembler import assemble
    from zkvm.runtime import execute
    from zkvm.stark.debug import check_constraints

    with forced_tile(TILE):
        prog = assemble(src)
        key = api.setup(prog, "test")
    traces = key.statement.traces(execute(prog, inputs))
    i = next(j for j, c in enumerate(key.statement.chips) if c.name == "matmul")
    edit(traces[i])
    lay = key.pk.layout
    check_constraints(lay, dict(enumerate(traces)), key.pk.pre_trace, [[] for _ in lay.tables])


# rows: 0 dummy; block (m=0, n-block 0) = rows 1..3, its last row 3 sends the output.
def test_flipped_x_lane_is_rejected():
    c = cols(True, "public")
    tamper({"bias": "public"}, lambda t: field_add(t, c["x"][1], 2))


def test_flipped_w_lane_is_rejected():
    c = cols(False, "none")
    tamper({"w_mode": "computed"}, lambda t: field_add(t, c["w"][3], 1))


def test_flipped_accumulator_is_rejected():
    c = cols(True, "public")
    tamper({"bias": "public"}, lambda t: field_add(t, c["acc"][0], 2))


def test_wrong_output_is_rejected():
    # the accumulator on the block's last row is what is sent
    c = cols(True, "public")
    tamper({"bias": "public"}, lambda t: field_add(t, c["acc"][1], 3, delta=-1))


def test_flipped_received_bias_is_rejected():
    # no row constraint reads the bias: the bus alone binds it
    src, inputs, _ = program((2,), K, N, w_mode="computed", bias="computed")
    c = cols(False, "bus")

    def edit(t):
        field_add(t, c["bias"][0], 3)
    assert_rows_still_hold(src, inputs, edit)
    with forced_tile(TILE):
        assert_tamper_rejected(src, inputs, "matmul", edit)


def test_consistent_x_and_accumulator_change_is_rejected():
    # x[0, 0] += 1 and every later accumulator of the block += w[0, j]: all row
    # constraints still hold, the sent outputs differ; only the bus sees it.
    src, inputs, _ = program((2,), K, N, bias="public")
    w = program.last_w
    c = cols(True, "public")

    def edit(t):
        field_add(t, c["x"][0], 1)
        for r in (1, 2, 3):
            for j in range(2):
                field_add(t, c["acc"][j], r, int(w[0, j]))
    assert_rows_still_hold(src, inputs, edit)
    with forced_tile(TILE):
        assert_tamper_rejected(src, inputs, "matmul", edit)


def test_consistent_received_w_and_accumulator_change_is_rejected():
    src, inputs, _ = program((2,), K, N, w_mode="computed")
    x = inputs["x"]
    c = cols(False, "none")

    def edit(t):  # w lane (i=1, j=0) on row 2 (k = 4) += 1, accumulators follow
        field_add(t, c["w"][1 * TILE[2] + 0], 2)
        for r in (2, 3):
            field_add(t, c["acc"][0], r, int(x[0, 4]))
    assert_rows_still_hold(src, inputs, edit)
    with forced_tile(TILE):
        assert_tamper_rejected(src, inputs, "matmul", edit)


def test_padded_lane_product_is_rejected():
    # row 3 holds k = 6 in lane 0; lanes 1, 2 are padding (address 0). Put 1 in a
    # padded x lane and a padded w lane and add their product to the output: the
    # row constraints hold, but address 0 holds 0.
    src, inputs, _ = program((2,), K, N, w_mode="computed")
    c = cols(False, "none")

    def edit(t):
        field_add(t, c["x"][1], 3, 5)
        field_add(t, c["w"][1 * TILE[2] + 0], 3, 1)
        field_add(t, c["acc"][0], 3, 5)
    assert_rows_still_hold(src, inputs, edit)
    with forced_tile(TILE):
        assert_tamper_rejected(src, inputs, "matmul", edit)


def test_params_out_of_range_are_refused():
    with pytest.raises(ValueError):
        mm.MatmulChip(3, {"lm": 0, "lk": 1, "ln": 1, "w_public": True, "bias": "none"})
    with pytest.raises(ValueError):
        mm.MatmulChip(3, {"lm": 64, "lk": 64, "ln": 64, "w_public": True, "bias": "none"})
    with pytest.raises(ValueError):
        mm.MatmulChip(3, {"lm": 1, "lk": 1, "ln": 1, "w_public": 1, "bias": "none"})
    for bad in (-1, True, 1.5, 1 << 41):
        with pytest.raises(ValueError):
            mm.MatmulChip(3, {"lm": 1, "lk": 1, "ln": 1, "w_public": True, "bias": "none",
                              "y_stride": bad})
