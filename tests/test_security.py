"""SecurityConfig presets and the conjectured / proven soundness estimator."""

from __future__ import annotations

import dataclasses
import math

import pytest

from zkvm.fri.security import SecurityConfig, list_decoding_radius, security_bits


def test_presets_have_the_documented_parameters():
    std = SecurityConfig.preset("standard")
    high = SecurityConfig.preset("high")
    assert (std.log_blowup, std.n_queries, std.pow_bits, std.deep_pow_bits) == (3, 29, 16, 12)
    assert (high.log_blowup, high.n_queries, high.pow_bits) == (3, 37, 20)


def test_test_preset_is_flagged_insecure_and_below_100_bits():
    cfg = SecurityConfig.preset("test")
    assert cfg.insecure
    rep = security_bits(cfg, trace_log_height=10)
    assert rep.conjectured < 100 and rep.proven < 100


@pytest.mark.parametrize("trace_log_height", [8, 12, 16, 20, 22])
def test_standard_preset_reaches_100_conjectured_bits(trace_log_height):
    rep = security_bits(SecurityConfig.preset("standard"), trace_log_height=trace_log_height)
    assert rep.conjectured >= 100
    assert rep.proven < rep.conjectured


def test_high_preset_reaches_128_query_bits_and_128_with_a_large_enough_field():
    cfg = SecurityConfig.preset("high")
    rep = security_bits(cfg, trace_log_height=20)
    assert rep.conjectured_query >= 128
    assert security_bits(cfg, trace_log_height=20, ext_field_bits=192).conjectured >= 128


@pytest.mark.parametrize("trace_log_height", [6, 10, 14, 16, 18, 20, 22, 24, 26, 28, 30])
def test_high_preset_is_cubic_and_reaches_128_conjectured_bits_at_every_model_size(trace_log_height):
    """|F| = p^3 ~ 2^192 moves the commit-phase and DEEP terms far above 128 bits."""
    cfg = SecurityConfig.preset("high")
    assert cfg.ext_degree == 3
    rep = security_bits(cfg, trace_log_height=trace_log_height, max_constraint_degree=4)
    assert rep.conjectured >= 128
    # the proven (Johnson-bound) figure is reported too: the query phase limits it
    assert 70 < rep.proven < rep.conjectured
    assert rep.proven == pytest.approx(rep.proven_query, abs=0.5)


def test_high_parameters_are_field_limited_over_the_quadratic_extension():
    """Over F_p^2 (128 bits) the commit-phase term n/|F| caps the total near 128 - log2(n)."""
    quad = dataclasses.replace(SecurityConfig.preset("high"), ext_degree=2)
    rep = security_bits(quad, trace_log_height=20)
    assert rep.conjectured == pytest.approx(128 - 23, abs=0.5)
    assert rep.conjectured == pytest.approx(
        security_bits(SecurityConfig.preset("high"), trace_log_height=20, ext_field_bits=128).conjectured,
        abs=1e-6)
    assert security_bits(SecurityConfig.preset("standard"), 20).conjectured < 128


def test_ext_degree_is_validated_recorded_and_defaults_to_two():
    high = SecurityConfig.preset("high")
    assert high.to_dict()["ext_degree"] == 3 and SecurityConfig.from_dict(high.to_dict()) == high
    std = SecurityConfig.preset("standard")
    assert std.ext_degree == 2 and "ext_degree" not in std.to_dict()  # old files unchanged
    assert SecurityConfig.from_dict(std.to_dict()).ext_degree == 2
    with pytest.raises(ValueError, match="ext_degree"):
        dataclasses.replace(std, ext_degree=4)
    with pytest.raises(ValueError, match="ext_degree"):
        SecurityConfig.from_dict(dict(std.to_dict(), ext_degree=1))


def test_corrected_conjecture_costs_a_little_per_query():
    """List-decoding capacity (eprint 2025/2010, 2025/2046) sits just below 1 - rho."""
    for log_blowup in (1, 2, 3, 4):
        rho = 2.0**-log_blowup
        d = list_decoding_radius(rho, 128)
        assert 1 - rho - 0.01 < d < 1 - rho
        rep = security_bits(SecurityConfig(log_blowup, 10, 0, 0), trace_log_height=10)
        assert rep.per_query_bits < log_blowup
        assert rep.per_query_bits > log_blowup - 0.1


def test_list_decoding_radius_small_alphabet():
    # binary alphabet: H_2^{-1}(1/2) ~= 0.110
    assert list_decoding_radius(0.5, 1) == pytest.approx(0.110, abs=1e-3)


def test_proven_bits_follow_the_johnson_bound():
    cfg = SecurityConfig(log_blowup=3, n_queries=100, pow_bits=0, log_final_poly_len=0)
    rep = security_bits(cfg, trace_log_height=10)
    # per query at most log2(1/sqrt(rho)) = 1.5 bits
    assert rep.proven_query <= 100 * 1.5
    assert rep.proven_query > 100 * 1.5 - 100 * math.log2(1 + 1 / 6) - 1e-9


def test_more_queries_or_grinding_never_lower_security():
    base = security_bits(SecurityConfig(3, 20, 0, 3), trace_log_height=16)
    more = security_bits(SecurityConfig(3, 21, 0, 3), trace_log_height=16)
    grind = security_bits(SecurityConfig(3, 20, 8, 3), trace_log_height=16)
    assert more.conjectured > base.conjectured and more.proven > base.proven
    assert grind.conjectured > base.conjectured and grind.proven > base.proven


def test_hash_caps_the_estimate():
    cfg = SecurityConfig(4, 200, 20, 3)
    rep = security_bits(cfg, trace_log_height=4, ext_field_bits=256, hash_bits=128)
    assert rep.conjectured == 128 and rep.proven <= 128


def test_config_is_frozen_validated_and_serialisable():
    cfg = SecurityConfig.preset("standard")
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.n_queries = 1  # type: ignore[misc]
    assert SecurityConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError):
        SecurityConfig(log_blowup=0, n_queries=10, pow_bits=0, log_final_poly_len=0)
    with pytest.raises(ValueError):
        SecurityConfig(log_blowup=2, n_queries=10, pow_bits=0, log_final_poly_len=0, folding_arity_log=2)
    with pytest.raises(ValueError, match="unknown security preset"):
        SecurityConfig.preset("ultra")


# --- the estimator counts what the protocol batches (issue 12, point 4) -----------------
def test_batching_terms_match_hand_computed_values():
    """deep_batch = log2|F| - log2((k - 1) n_lde) + deep_pow_bits; logup = log2|F| - log2(N (t+1))."""
    cfg = dataclasses.replace(SecurityConfig.preset("standard"), deep_pow_bits=0, n_queries=200)
    log_f = 2 * math.log2(2**64 - 2**32 + 1)
    k = 2**20 + 1
    r = security_bits(cfg, 16, 3, n_batched=k, n_constraints=619, n_logup_terms=0)
    assert r.bound_by == "deep_batch"
    assert r.conjectured == pytest.approx(log_f - math.log2((k - 1) * 2**19))
    r = security_bits(cfg, 10, 3, n_batched=2, n_logup_terms=2**30, max_tuple=3)
    assert r.bound_by == "logup"
    assert r.conjectured == pytest.approx(log_f - 32)
    r = security_bits(dataclasses.replace(cfg, deep_pow_bits=12), 16, 3, n_batched=k)
    assert r.bound_by == "deep_batch"
    assert r.conjectured == pytest.approx(log_f - math.log2((k - 1) * 2**19) + 12)


@pytest.mark.parametrize("count", ["n_batched", "n_constraints", "n_logup_terms"])
def test_batching_more_never_raises_the_estimate(count):
    cfg = SecurityConfig.preset("standard")
    lo = security_bits(cfg, 20, 3, **{count: 2**4})
    hi = security_bits(cfg, 20, 3, **{count: 2**24})
    assert hi.conjectured <= lo.conjectured and hi.proven <= lo.proven
    assert hi.conjectured < lo.conjectured or hi.proven < lo.proven


def test_without_deep_grinding_a_transformer_sized_batch_falls_below_100_bits():
    """Why `standard` grinds before the DEEP challenge: the quadratic field alone is not enough."""
    counts = dict(n_batched=2488, n_constraints=619, n_logup_terms=346624, max_tuple=3)
    std = SecurityConfig.preset("standard")
    assert security_bits(dataclasses.replace(std, deep_pow_bits=0), 16, 3, **counts).conjectured < 100
    assert security_bits(std, 16, 3, **counts).conjectured >= 100


def test_proven_preset_reaches_100_proven_bits_up_to_2_to_24_rows():
    cfg = SecurityConfig.preset("proven")
    assert cfg.ext_degree == 3 and SecurityConfig.preset_level("proven") == (100.0, 100.0)
    for log_n in (8, 12, 16, 20, 24):
        r = security_bits(cfg, log_n, 3, n_batched=4000, n_constraints=1000, n_logup_terms=2**26,
                          max_tuple=3)
        assert r.proven >= 100 and r.conjectured >= 100, (log_n, r)


@pytest.mark.parametrize("name", ["xor", "linreg", "cnn", "softmax_classifier"])
@pytest.mark.parametrize("preset", ["standard", "high", "proven"])
def test_every_preset_meets_its_level_on_the_example_programs(name, preset):
    """With every count read off the real layout (zkvm.stark.soundness)."""
    import os

    import zkvm.api as api
    from zkvm.assembler import assemble_file
    from zkvm.stark.soundness import layout_security

    prog = assemble_file(os.path.join(os.path.dirname(__file__), "..", "programs", f"{name}.zasm"))
    key = api.setup(prog, preset)
    r = layout_security(key.pk.layout, key.vk.security)
    conj, proven = SecurityConfig.preset_level(preset)
    assert r.conjectured >= conj and r.proven >= proven, r


def test_preset_levels():
    assert SecurityConfig.preset_level("standard") == (100.0, 0.0)
    assert SecurityConfig.preset_level("high") == (128.0, 0.0)
    assert SecurityConfig.preset_level("test") == (0.0, 0.0)
    with pytest.raises(ValueError):
        SecurityConfig.preset_level("nope")
