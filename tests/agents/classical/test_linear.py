"""Closed-form precoders: optimality at K = 1, interference nulling, water-filling."""

import math

import pytest
import torch

import agents
from agents.classical.waterfilling import water_filling
from beamgym.downlink import channel_gains, rates, transmit_power


def test_mrt_at_one_user_reaches_the_closed_form(torch_rng):
    H = torch.randn(50, 1, 6, dtype=torch.complex128, generator=torch_rng)
    power, noise = 7.0, 0.5
    W = agents.make("mrt").solve(H, power=power, noise_power=noise)
    expected = torch.log2(1 + power * (H.abs() ** 2).sum((-1, -2)) / noise)
    torch.testing.assert_close(rates(H, W, noise)[:, 0], expected)


@pytest.mark.parametrize("name", ["zf", "zf-wf"])
def test_zero_forcing_nulls_interference(name, torch_rng):
    H = torch.randn(20, 4, 6, dtype=torch.complex128, generator=torch_rng)
    W = agents.make(name).solve(H, power=10.0)
    gains = channel_gains(H, W)
    interference = gains - torch.diag_embed(gains.diagonal(0, -2, -1))
    assert interference.max() < 1e-20 * gains.max()


def test_zf_equal_power_gives_each_user_p_over_k(torch_rng):
    H = torch.randn(10, 3, 5, dtype=torch.complex128, generator=torch_rng)
    W = agents.make("zf").solve(H, power=6.0)
    torch.testing.assert_close(
        (W.abs() ** 2).sum(-2), torch.full((10, 3), 2.0, dtype=torch.float64)
    )


def test_zero_forcing_rejects_more_users_than_antennas():
    with pytest.raises(agents.NotApplicable, match="K <= N"):
        agents.make("zf").solve(torch.randn(1, 3, 2, dtype=torch.complex128), power=1.0)


def test_zf_water_filling_beats_equal_power_and_spends_the_budget(torch_rng):
    H = torch.randn(200, 4, 4, dtype=torch.complex128, generator=torch_rng)
    for power in (1.0, 100.0):
        wf = agents.make("zf-wf").solve(H, power=power)
        eq = agents.make("zf").solve(H, power=power)
        assert (rates(H, wf).sum(-1) >= rates(H, eq).sum(-1) - 1e-9).all()
        torch.testing.assert_close(
            transmit_power(wf), torch.full((200,), power, dtype=torch.float64)
        )


def test_water_filling_matches_its_optimality_conditions(torch_rng):
    """KKT: active channels share one level nu = p_k + a_k; inactive ones have a_k >= nu."""
    a = torch.rand(100, 6, dtype=torch.float64, generator=torch_rng) * 5
    P = torch.rand(100, dtype=torch.float64, generator=torch_rng) * 4
    p = water_filling(a, P)
    torch.testing.assert_close(p.sum(-1), P)
    level = (p + a)[p > 0]
    nu = torch.where(p > 0, p + a, math.inf).amin(-1)
    torch.testing.assert_close(torch.where(p > 0, p + a, nu[:, None]), nu[:, None].expand(-1, 6))
    assert (a[p == 0] >= nu[:, None].expand(-1, 6)[p == 0] - 1e-12).all() and level.numel() > 0


def test_rzf_tends_to_zf_at_high_snr_and_mrt_at_low_snr(torch_rng):
    """With either normalisation: per stream the limits are ZF and MRT with P / K per column,
    with the single scale their directions scaled as one matrix."""
    H = torch.randn(10, 3, 4, dtype=torch.complex128, generator=torch_rng)
    total = agents.make("rzf", normalisation="total")

    def direction(W):
        return W / torch.linalg.vector_norm(W, dim=(-2, -1), keepdim=True)

    def close(a, b):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=0)

    zf_directions = torch.linalg.solve(H @ H.mH, H).mH
    close(agents.make("rzf").solve(H, power=1e9) / 1e9**0.5, agents.make("zf").solve(H, 1.0))
    close(direction(total.solve(H, power=1e9)), direction(zf_directions))
    mrt_columns = H.mH / torch.linalg.vector_norm(H.mH, dim=-2, keepdim=True)
    close(agents.make("rzf").solve(H, power=3e-9) / 1e-9**0.5, mrt_columns)
    close(direction(total.solve(H, power=1e-9)), agents.make("mrt").solve(H, power=1.0))


@pytest.mark.parametrize("name", ["zf", "zf-wf"])
@pytest.mark.parametrize("degenerate", ["zero-row", "repeated-row"])
def test_zero_forcing_names_a_rank_deficient_channel(name, degenerate, torch_rng):
    H = torch.randn(3, 3, 4, dtype=torch.complex128, generator=torch_rng)
    H[1, 2] = 0 if degenerate == "zero-row" else H[1, 0]
    with pytest.raises(ValueError, match=r"H\[1\] has rank < K=3"):
        agents.make(name).solve(H, 10.0)


def test_zero_forcing_serves_the_other_users_when_the_silent_one_is_masked(torch_rng):
    H = torch.randn(2, 3, 4, dtype=torch.complex128, generator=torch_rng)
    H[0, 2] = 0
    mask = torch.tensor([[True, True, False], [True, True, True]])
    W = agents.make("zf").solve(H, 10.0, user_mask=mask)
    assert torch.allclose(transmit_power(W), torch.full((2,), 10.0, dtype=torch.float64))


def test_rzf_normalisations_share_directions_and_spend_the_budget(torch_rng):
    """Per stream: every column carries P / K; total: one scale. Both the same directions."""
    H = torch.randn(5, 3, 4, dtype=torch.complex128, generator=torch_rng)
    per_stream = agents.make("rzf").solve(H, 10.0)
    total = agents.make("rzf", normalisation="total").solve(H, 10.0)
    column_power = torch.linalg.vector_norm(per_stream, dim=-2) ** 2
    assert torch.allclose(column_power, torch.full_like(column_power, 10.0 / 3))
    assert torch.allclose(transmit_power(total), torch.full((5,), 10.0, dtype=torch.float64))
    cosine = (per_stream.conj() * total).sum(-2).abs() / (
        torch.linalg.vector_norm(per_stream, dim=-2) * torch.linalg.vector_norm(total, dim=-2)
    )
    assert torch.allclose(cosine, torch.ones_like(cosine))


def test_rzf_per_stream_stays_above_zf_where_the_single_scale_falls_below(torch_rng):
    H = torch.randn(500, 4, 8, dtype=torch.complex128, generator=torch_rng)
    power = 100.0  # 20 dB

    def sum_rate(W: torch.Tensor) -> float:
        return float(rates(H, W).sum(-1).mean())

    zf = sum_rate(agents.make("zf").solve(H, power))
    assert sum_rate(agents.make("rzf").solve(H, power)) > zf
    assert sum_rate(agents.make("rzf", normalisation="total").solve(H, power)) < zf


def test_rzf_refuses_an_unknown_normalisation():
    with pytest.raises(ValueError, match="normalisation must be one of"):
        agents.make("rzf", normalisation="frobenius")
