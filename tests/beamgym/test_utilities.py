"""The utilities registry (beamgym.utilities)."""

import math

import numpy as np
import pytest
import torch

from beamgym.downlink import rates, transmit_power
from beamgym.utilities import RATE_FLOOR, UTILITIES, get_utility, score, utility
from tests.problems import random_problem


def reference(
    name: str, r: np.ndarray, weights: np.ndarray, power: float, eta: float, pc: float
) -> float:
    """Each utility written out with Python loops, independently of the package."""
    values = {
        "sum_rate": sum(r),
        "weighted_sum_rate": sum(a * x for a, x in zip(weights, r, strict=True)),
        "min_rate": min(r),
        "proportional_fair": sum(math.log(max(x, RATE_FLOOR)) for x in r),
        "energy_efficiency": sum(r) / (power / eta + pc),
    }
    return values[name]


@pytest.mark.parametrize("name", list(UTILITIES))
def test_utility_matches_its_definition(rng, name):
    H, W = random_problem(rng, (), users=4, antennas=4)
    r, weights = rates(H, W, 1.0), rng.uniform(0, 2, 4)
    power = float(transmit_power(W))
    got = utility(
        name, r, weights=weights, power_used=power, amplifier_efficiency=0.3, circuit_power=2.0
    )
    assert got == pytest.approx(reference(name, r, weights, power, 0.3, 2.0), rel=1e-12)


@pytest.mark.parametrize("name", list(UTILITIES))
def test_masked_users_are_ignored(rng, name):
    H, W = random_problem(rng, (), users=4, antennas=4)
    r, weights = rates(H, W, 1.0), rng.uniform(0, 2, 4)
    kwargs = {"power_used": float(transmit_power(W))}
    padded = np.concatenate([r[:3], [0.0]])
    masked = utility(
        name, padded, user_mask=np.array([1, 1, 1, 0]), weights=np.append(weights[:3], 0), **kwargs
    )
    assert masked == pytest.approx(utility(name, r[:3], weights=weights[:3], **kwargs), rel=1e-12)


@pytest.mark.parametrize("name", list(UTILITIES))
def test_utilities_are_batched_and_differentiable(rng, name):
    H, W = random_problem(rng, (5,), users=3, antennas=4)
    W = torch.from_numpy(W).requires_grad_(True)
    r = rates(torch.from_numpy(H), W, 1.0)
    values = utility(
        name, r, weights=torch.ones(3, dtype=torch.float64), power_used=transmit_power(W)
    )
    assert values.shape == (5,)
    values.sum().backward()
    assert torch.isfinite(W.grad).all()


def test_proportional_fair_is_finite_at_zero_rate():
    assert np.isfinite(utility("proportional_fair", np.array([0.0, 1.0])))


def test_score_reports_every_utility(rng):
    H, W = random_problem(rng, (3,), users=2, antennas=3)
    result = score(H, W, noise_power=1.0)
    assert set(UTILITIES) | {"sinr", "rates", "power"} == set(result)
    np.testing.assert_allclose(result["sum_rate"], rates(H, W, 1.0).sum(-1))


def test_unknown_utility_lists_the_valid_names():
    with pytest.raises(ValueError, match="sum_rate"):
        get_utility("sumrate")


def test_only_energy_efficiency_may_transmit_below_the_budget():
    assert {name for name, u in UTILITIES.items() if not u.full_power} == {"energy_efficiency"}
