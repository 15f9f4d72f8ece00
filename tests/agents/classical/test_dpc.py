"""The DPC sum capacity: closed form at K = 1, certificate, ceiling of WMMSE, a convex solver."""

import math

import pytest
import torch

import agents
from beamgym.downlink import rates


def channels(generator, batch, users, antennas):
    return torch.randn(batch, users, antennas, dtype=torch.complex128, generator=generator)


def test_single_user_capacity_is_the_closed_form(torch_rng):
    H = channels(torch_rng, 30, 1, 4)
    result = agents.dpc_capacity(H, power=20.0, noise_power=2.0)
    expected = torch.log2(1 + 20.0 * (H.abs() ** 2).sum((-1, -2)) / 2.0)
    torch.testing.assert_close(result.capacity, expected)


@pytest.mark.parametrize("users, antennas, snr_db", [(4, 4, 10), (4, 8, 20), (6, 3, 10), (8, 8, 0)])
def test_capacity_is_certified_and_above_wmmse_on_every_sample(users, antennas, snr_db, torch_rng):
    H = channels(torch_rng, 40, users, antennas)
    power = 10 ** (snr_db / 10)
    result = agents.dpc_capacity(H, power=power)
    assert (result.gap < 1e-6).all() and (result.gap >= 0).all()
    torch.testing.assert_close(result.powers.sum(-1), torch.full((40,), power, dtype=torch.float64))
    wmmse = rates(H, agents.make("wmmse").solve(H, power=power)).sum(-1)
    assert (result.upper_bound >= wmmse).all()


def test_capacity_matches_a_convex_solver():
    cp = pytest.importorskip("cvxpy")
    generator = torch.Generator().manual_seed(7)
    H = channels(generator, 3, 3, 2)
    result = agents.dpc_capacity(H, power=10.0)
    for b in range(3):
        h = H[b].numpy()
        p = cp.Variable(3, nonneg=True)
        covariance = sum(p[k] * (h[k].conj()[:, None] @ h[k][None, :]) for k in range(3))
        objective = cp.log_det(cp.Constant(torch.eye(2).numpy()) + covariance)
        cp.Problem(cp.Maximize(objective), [cp.sum(p) <= 10.0]).solve(solver=cp.CLARABEL)
        assert abs(objective.value / math.log(2) - result.capacity[b].item()) < 1e-5


def test_a_bound_float64_cannot_resolve_is_an_error_naming_the_snr(torch_rng):
    H = 3e3 * torch.randn(2, 4, 8, dtype=torch.complex128, generator=torch_rng)
    with pytest.raises(ValueError, match=r"received SNR of 1\d\d dB"):
        agents.dpc_capacity(H, 1e25, 1e15)
