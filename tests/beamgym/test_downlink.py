"""Physics of the downlink signal model (beamgym.downlink)."""

import numpy as np
import pytest
import torch

from beamgym.downlink import (
    channel_gains,
    project_power,
    rate_gradient,
    rates,
    sinr,
    transmit_power,
)
from tests.problems import random_problem


def zero_forcing(H: np.ndarray, power: float) -> np.ndarray:
    """Textbook ZF, written here independently of the package: W = H^H (H H^H)^-1, scaled to P."""
    W = H.conj().swapaxes(-1, -2) @ np.linalg.inv(H @ H.conj().swapaxes(-1, -2))
    return W * np.sqrt(power / np.sum(np.abs(W) ** 2, axis=(-2, -1), keepdims=True))


def test_mrt_single_user_reaches_the_closed_form(rng):
    H, _ = random_problem(rng, (50,), users=1, antennas=6)
    power, noise = 10.0, 0.5
    W = np.sqrt(power) * H.conj().swapaxes(-1, -2) / np.linalg.norm(H, axis=(-2, -1), keepdims=True)
    expected = np.log2(1 + power * np.sum(np.abs(H) ** 2, axis=(-2, -1)) / noise)
    np.testing.assert_allclose(rates(H, W, noise)[..., 0], expected, rtol=1e-12)


def test_zero_forcing_nulls_interference(rng):
    H, _ = random_problem(rng, (20,), users=4, antennas=6)
    gains = channel_gains(H, zero_forcing(H, power=10.0))
    off_diagonal = gains * (1 - np.eye(4))
    assert np.max(off_diagonal) < 1e-20 * np.max(gains)
    # without interference the SINR is the received signal power over the noise
    np.testing.assert_allclose(
        sinr(H, zero_forcing(H, 10.0), 2.0), np.diagonal(gains, 0, -2, -1) / 2.0, rtol=1e-10
    )


def test_sinr_matches_a_per_user_loop(rng):
    H, W = random_problem(rng, (), users=3, antennas=4)
    expected = []
    for k in range(3):
        received = [abs(H[k] @ W[:, j]) ** 2 for j in range(3)]
        expected.append(received[k] / (sum(received) - received[k] + 0.7))
    np.testing.assert_allclose(sinr(H, W, 0.7), expected, rtol=1e-12)


def test_permuting_users_permutes_rates(rng):
    H, W = random_problem(rng, (8,), users=5, antennas=5)
    perm = rng.permutation(5)
    np.testing.assert_allclose(
        rates(H[..., perm, :], W[..., perm], 1.0), rates(H, W, 1.0)[..., perm], rtol=1e-12
    )


def test_rates_do_not_depend_on_the_phase_of_each_beamformer(rng):
    H, W = random_problem(rng, (8,), users=3, antennas=4)
    phases = np.exp(1j * rng.uniform(0, 2 * np.pi, 3))
    np.testing.assert_allclose(rates(H, W * phases, 1.0), rates(H, W, 1.0), rtol=1e-12)


def test_power_projection_meets_the_budget_exactly(rng):
    _, W = random_problem(rng, (100,), users=4, antennas=8)
    power = rng.uniform(0.1, 100, 100)
    np.testing.assert_allclose(
        transmit_power(project_power(W, power, full_power=True)), power, rtol=1e-12
    )
    ball = project_power(W * 1e-3, power)  # already inside the ball: unchanged
    np.testing.assert_allclose(ball, W * 1e-3)
    outside = project_power(W * 1e3, power)
    np.testing.assert_allclose(transmit_power(outside), power, rtol=1e-12)


def test_power_projection_keeps_an_all_zero_beamformer_finite():
    W = np.zeros((2, 4, 3), dtype=complex)
    assert np.all(project_power(W, 1.0, full_power=True) == 0)


def test_per_sample_full_power_flag(rng):
    _, W = random_problem(rng, (2,), users=2, antennas=2)
    W = W * 1e-3
    out = project_power(W, 5.0, full_power=np.array([True, False]))
    np.testing.assert_allclose(transmit_power(out), [5.0, transmit_power(W)[1]], rtol=1e-12)


@pytest.mark.parametrize("fn", [sinr, rates])
def test_numpy_and_torch_agree(rng, fn):
    H, W = random_problem(rng, (16,), users=4, antennas=8)
    noise = rng.uniform(0.5, 2.0, 16)
    expected = fn(H, W, noise)
    got = fn(torch.from_numpy(H), torch.from_numpy(W), torch.from_numpy(noise))
    assert isinstance(got, torch.Tensor)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-12)


def test_gradients_flow_through_rates_and_projection(rng):
    H, W = random_problem(rng, (4,), users=3, antennas=4)
    W = torch.from_numpy(W).requires_grad_(True)
    W_feasible = project_power(W, 10.0, full_power=True)
    loss = -rates(torch.from_numpy(H), W_feasible, 1.0).sum()
    loss.backward()
    assert W.grad is not None and torch.isfinite(W.grad).all() and W.grad.abs().sum() > 0


def test_zero_padded_user_has_zero_rate_and_finite_gradient(rng):
    H, W = random_problem(rng, (), users=3, antennas=4)
    H[2], W[:, 2] = 0, 0
    W = torch.from_numpy(W).requires_grad_(True)
    user_rates = rates(torch.from_numpy(H), W, 1.0)
    user_rates.sum().backward()
    assert user_rates[2] == 0 and torch.isfinite(W.grad).all()


def test_closed_form_rate_gradient_is_half_of_autograds(rng):
    """Two computations of d(sum_k u_k R_k)/dconj(W): the closed form, and torch autograd
    (which returns twice the conjugate Wirtinger derivative for a real loss)."""
    H, W = random_problem(rng, (6,), users=3, antennas=4)
    weights, noise = rng.uniform(0.1, 2.0, (6, 3)), rng.uniform(0.5, 2.0, 6)
    W_t = torch.tensor(W, requires_grad=True)
    value = (torch.tensor(weights) * rates(torch.tensor(H), W_t, torch.tensor(noise))).sum()
    (autograd,) = torch.autograd.grad(value, W_t)
    closed = rate_gradient(H, W, noise, weights)
    np.testing.assert_allclose(closed, autograd.numpy() / 2, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(
        rate_gradient(torch.tensor(H), torch.tensor(W), 1.0).numpy(),
        rate_gradient(H, W, 1.0, np.ones((6, 3))),
        rtol=1e-12,
    )
