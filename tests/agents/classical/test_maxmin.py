"""The exact max-min solver: equal SINRs, full power, and a convex-solver cross-check."""

import math

import numpy as np
import pytest
import torch

import agents
from beamgym.downlink import sinr, transmit_power


def channels(generator, batch, users, antennas):
    return torch.randn(batch, users, antennas, dtype=torch.complex128, generator=generator)


@pytest.mark.parametrize("users, antennas", [(4, 4), (3, 6), (6, 3)])
def test_sinrs_are_balanced_at_full_power(users, antennas, torch_rng):
    H = channels(torch_rng, 30, users, antennas)
    solver = agents.make("maxmin")
    W = solver.solve(H, power=10.0, noise_power=0.5)
    s = sinr(H, W, 0.5)
    gamma = solver.run(H, 10.0, 0.5).level
    torch.testing.assert_close(s, gamma[:, None].expand_as(s), rtol=1e-8, atol=0)
    torch.testing.assert_close(
        transmit_power(W), torch.full((30,), 10.0, dtype=torch.float64), rtol=1e-8, atol=0
    )


def test_weighted_targets_scale_the_sinrs(torch_rng):
    H = channels(torch_rng, 10, 3, 4)
    targets = torch.tensor([1.0, 2.0, 0.5], dtype=torch.float64)
    s = sinr(H, agents.make("maxmin").solve(H, power=10.0, weights=targets))
    ratio = s / targets
    torch.testing.assert_close(ratio, ratio[:, :1].expand_as(ratio), rtol=1e-8, atol=0)


def test_beats_the_sum_rate_solution_on_the_minimum_rate(torch_rng):
    H = channels(torch_rng, 50, 4, 4)
    maxmin = sinr(H, agents.make("maxmin").solve(H, power=10.0)).amin(-1)
    wmmse = sinr(H, agents.make("wmmse").solve(H, power=10.0)).amin(-1)
    assert (maxmin >= wmmse * (1 - 1e-9)).all()


def _socp_balanced_sinr(h: np.ndarray, power: float, noise: float, steps: int = 40) -> float:
    """Bisection on gamma with the SOCP feasibility problem of Wiesel, Eldar, Shamai (2006)."""
    cp = pytest.importorskip("cvxpy")
    users, antennas = h.shape
    low, high = 0.0, power * (np.abs(h) ** 2).sum(-1).min() / noise
    for _ in range(steps):
        gamma = 0.5 * (low + high)
        W = cp.Variable((antennas, users), complex=True)
        received = h @ W  # [K, K]
        constraints = []
        for k in range(users):
            others = cp.hstack([received[k, j] for j in range(users)] + [math.sqrt(noise)])
            constraints += [
                math.sqrt(1 + 1 / gamma) * cp.real(received[k, k]) >= cp.norm(others, 2),
                cp.imag(received[k, k]) == 0,
            ]
        problem = cp.Problem(cp.Minimize(cp.norm(cp.vec(W, order="F"), 2)), constraints)
        problem.solve(solver=cp.CLARABEL, tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10)
        feasible = (
            problem.status in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE) and problem.value**2 <= power
        )
        low, high = (gamma, high) if feasible else (low, gamma)
    return 0.5 * (low + high)


@pytest.mark.filterwarnings("ignore:Solution may be inaccurate")
@pytest.mark.parametrize("users, antennas, seed", [(2, 2, 0), (3, 4, 1), (4, 3, 2)])
def test_matches_socp_bisection(users, antennas, seed):
    H = channels(torch.Generator().manual_seed(seed), 1, users, antennas)
    solver = agents.make("maxmin")
    gamma = solver.run(H, 10.0).level.item()
    reference = _socp_balanced_sinr(H[0].numpy(), 10.0, 1.0)
    assert abs(gamma - reference) <= 1e-5 * reference


def test_a_user_without_a_channel_is_named(torch_rng):
    H = torch.randn(2, 3, 4, dtype=torch.complex128, generator=torch_rng)
    H[1, 0] = 0
    with pytest.raises(ValueError, match=r"H\[1, 0\] \(user 0 of sample 1\) is all zero"):
        agents.make("maxmin").solve(H, 10.0, utility="min_rate")
