"""Dinkelbach energy efficiency: beats full-power WMMSE and matches a power-sweep oracle."""

import pytest
import torch

import agents
from beamgym.downlink import rates, transmit_power
from beamgym.utilities import energy_efficiency


def efficiency(H, W, circuit_power):
    return energy_efficiency(rates(H, W), power_used=transmit_power(W), circuit_power=circuit_power)


def sweep_oracle(H, max_power, circuit_power, step_db=0.1):
    """max over transmit powers p <= P_max (grid in dB from -10 dB) of EE(WMMSE at exactly p)."""
    grid = 10 ** (
        torch.arange(-10.0, 10 * torch.log10(torch.tensor(max_power)).item() + 1e-9, step_db) / 10
    )
    grid = torch.cat([grid, torch.tensor([max_power])]).to(torch.float64)
    batch, points = H.shape[0], grid.numel()
    stacked = H.repeat(points, 1, 1)
    powers = grid.repeat_interleave(batch)
    W = agents.make("wmmse").solve(stacked, power=powers)
    return efficiency(stacked, W, circuit_power).view(points, batch).amax(0)


@pytest.mark.parametrize("max_power, circuit_power", [(10.0, 10.0), (100.0, 1.0), (10.0, 100.0)])
def test_dinkelbach_is_within_one_percent_of_the_oracle(max_power, circuit_power, torch_rng):
    H = torch.randn(12, 3, 3, dtype=torch.complex128, generator=torch_rng)
    W = agents.make("ee").solve(H, power=max_power, circuit_power=circuit_power)
    achieved = efficiency(H, W, circuit_power)
    oracle = sweep_oracle(H, max_power, circuit_power)
    full_power = efficiency(H, agents.make("wmmse").solve(H, power=max_power), circuit_power)
    assert (achieved >= full_power * (1 - 1e-6)).all()
    assert achieved.mean() >= 0.99 * oracle.mean()
    assert (achieved >= 0.97 * oracle).all()


def test_transmits_below_the_budget_when_circuit_power_is_small(torch_rng):
    H = torch.randn(20, 4, 4, dtype=torch.complex128, generator=torch_rng)
    W = agents.make("ee").solve(H, power=1000.0, circuit_power=1.0)
    assert (transmit_power(W) < 100.0).all()
