"""Action parameterisations (beamgym.actions): feasible by construction, exact at the optima."""

import numpy as np
import pytest
import torch

import agents
from beamgym.actions import (
    ACTIONS,
    get_action,
    power_action,
    power_beamformer,
    simplex_action,
    simplex_powers,
    structure_action,
    structure_beamformer,
    structure_directions,
    unit_columns,
)
from beamgym.arrays import abs2
from beamgym.downlink import rates, sinr, transmit_power
from beamgym.layout import Layout
from beamgym.utilities import energy_efficiency
from tests.problems import random_problem

MAPS = {"structure": structure_beamformer, "power": power_beamformer}
WIDTH = {"structure": 2, "power": 1}


def channels(seed: int, batch: int, users: int, antennas: int) -> torch.Tensor:
    H, _ = random_problem(np.random.default_rng(seed), (batch,), users, antennas)
    return torch.as_tensor(H)


def padded_problem(rng, batch=(3, 5), users=5, antennas=4, width=2):
    """Channels with masks (inactive entries zero), box actions with the corner cases (all -1,
    all +1) in the first rows, and a per-sample power mode."""
    H, _ = random_problem(rng, batch, users, antennas)
    user_mask = rng.random((*batch, users)) < 0.7
    user_mask[..., 0] = True
    antenna_mask = rng.random((*batch, antennas)) < 0.8
    antenna_mask[..., 0] = True
    H = H * user_mask[..., :, None] * antenna_mask[..., None, :]
    action = rng.uniform(-1, 1, (*batch, width * users))
    action[0, 0], action[0, 1] = -1.0, 1.0
    action[1, 0, :users] = -1.0  # the ball's "transmit nothing"
    full_power = rng.random(batch) < 0.5
    full_power[1, 0] = False
    power = rng.uniform(0.5, 20.0, batch)
    return H, action, power, full_power, user_mask, antenna_mask


def test_registry_gives_every_map_its_dimension_and_box():
    assert set(ACTIONS) == {"beamformer", "structure", "power"}
    dims = {name: ACTIONS[name].dim(6, 3) for name in ACTIONS}
    assert dims == {"beamformer": 36, "structure": 12, "power": 6}
    space = get_action("structure").space(6, 3)
    assert space.shape == (12,) and space.dtype == np.float32
    assert (space.low == -1).all() and (space.high == 1).all()
    with pytest.raises(ValueError, match="action must be one of"):
        get_action("structur")
    H = channels(0, 2, 3, 4)
    with pytest.raises(ValueError, match="2 K = 6 entries"):
        structure_beamformer(torch.zeros(2, 3), H, 1.0, full_power=True)


@pytest.mark.parametrize("name", ["structure", "power"])
@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_power_is_on_the_sphere_or_in_the_ball_and_zero_where_masked(name, backend, rng):
    H, action, power, full_power, user_mask, antenna_mask = padded_problem(rng, width=WIDTH[name])
    args = (action, H, power, 0.7)
    if backend == "torch":
        args = tuple(torch.as_tensor(x) for x in args)
        full_power, user_mask, antenna_mask = map(
            torch.as_tensor, (full_power, user_mask, antenna_mask)
        )
    W = MAPS[name](*args, full_power=full_power, user_mask=user_mask, antenna_mask=antenna_mask)
    assert type(W) is type(args[1]) and W.dtype == args[1].dtype
    W, full_power = np.asarray(W), np.asarray(full_power)
    user_mask, antenna_mask = np.asarray(user_mask), np.asarray(antenna_mask)
    assert np.isfinite(W).all()
    used = np.asarray(transmit_power(W))
    np.testing.assert_allclose(used[full_power], power[full_power], rtol=1e-12)
    assert (used <= power * (1 + 1e-12)).all()
    assert full_power[1, 0] or used[1, 0] == 0.0  # all -1 in the ball: nothing sent
    assert (W[~np.broadcast_to(antenna_mask[..., :, None], W.shape)] == 0).all()
    assert (W[~np.broadcast_to(user_mask[..., None, :], W.shape)] == 0).all()


@pytest.mark.parametrize("name", ["structure", "power"])
def test_numpy_and_torch_agree(name, rng):
    H, action, power, full_power, user_mask, antenna_mask = padded_problem(rng, width=WIDTH[name])
    expected = MAPS[name](
        action, H, power, 2.0, full_power=full_power, user_mask=user_mask, antenna_mask=antenna_mask
    )
    tensors = map(torch.as_tensor, (action, H, power, full_power, user_mask, antenna_mask))
    action, H, power, full_power, user_mask, antenna_mask = tensors
    W = MAPS[name](
        action, H, power, 2.0, full_power=full_power, user_mask=user_mask, antenna_mask=antenna_mask
    )
    np.testing.assert_allclose(W.numpy(), expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("full_power", [True, False])
def test_simplex_action_inverts_simplex_powers(full_power, rng):
    mask = rng.random((40, 6)) < 0.7
    mask[:, 0] = True
    power = rng.uniform(0.1, 10.0, 40)
    p = rng.exponential(size=(40, 6)) * mask
    p[:5, 1:] = 0.0  # a corner of the simplex
    scale = power / p.sum(-1) if full_power else power * rng.uniform(0, 1, 40) / p.sum(-1)
    p = p * scale[:, None]
    action = simplex_action(p, power, full_power=full_power, user_mask=mask)
    assert (np.abs(action) <= 1).all() and (action[~mask] == -1).all()
    np.testing.assert_allclose(
        simplex_powers(action, power, full_power=full_power, user_mask=mask), p, atol=1e-12
    )
    if not full_power:  # inside the ball the map is one-to-one
        again = simplex_action(
            simplex_powers(action, power, full_power=False), power, full_power=False
        )
        np.testing.assert_allclose(again, action, atol=1e-12)


def test_structure_action_round_trip_reproduces_the_beamformer():
    H = channels(1, 30, 4, 6)
    g = torch.Generator().manual_seed(0)
    p = torch.rand(30, 4, generator=g, dtype=torch.float64)
    p = 3.0 * p / p.sum(-1, keepdim=True)  # inside the ball of P = 5
    dual = torch.rand(30, 4, generator=g, dtype=torch.float64)
    dual = 3.0 * dual / dual.sum(-1, keepdim=True)  # sum lambda = sum p
    expected = unit_columns(structure_directions(H, dual, 0.5)) * p.sqrt()[:, None, :]
    for full_power, budget in ((False, 5.0), (True, 3.0)):
        action = structure_action(p, dual, budget, full_power=full_power)
        W = structure_beamformer(action, H, budget, 0.5, full_power=full_power)
        torch.testing.assert_close(W, expected, rtol=0, atol=1e-12)
    power = torch.full((30,), 3.0, dtype=torch.float64)
    W = power_beamformer(power_action(p, power, full_power=True), H, 3.0, 0.5, full_power=True)
    torch.testing.assert_close(abs2(W).sum(-2), p, rtol=0, atol=1e-12)


def test_single_user_structure_is_mrt():
    H = channels(2, 20, 1, 5)
    a = torch.rand(20, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    W = structure_beamformer(2 * a - 1, H, 4.0, 0.5, full_power=True)
    expected = torch.log2(1 + 4.0 * abs2(H).sum((-2, -1)) / 0.5)
    torch.testing.assert_close(rates(H, W, 0.5)[:, 0], expected, rtol=1e-12, atol=0)


def test_equal_dual_weights_give_the_rzf_directions():
    """``lambda_j = P / K`` turns the structure into RZF (push-through identity): this pins the
    conjugation of ``d_k`` to beamgym's row convention."""
    for users, antennas in ((4, 4), (4, 8), (6, 3)):
        H = channels(3, 20, users, antennas)
        action = torch.rand(20, users, generator=torch.Generator().manual_seed(2)) * 2 - 1
        structure = torch.cat([action, torch.ones(20, users)], -1)
        W = structure_beamformer(structure, H, 10.0, 2.0, full_power=True)
        torch.testing.assert_close(
            W, power_beamformer(action, H, 10.0, 2.0, full_power=True), rtol=0, atol=1e-12
        )


@pytest.mark.parametrize("masked", [False, True])
def test_power_map_at_equal_powers_is_rzf_per_stream(masked):
    H = channels(4, 40, 5, 6)
    mask = torch.ones(40, 5, dtype=torch.bool)
    if masked:
        mask[:, 3] = False
        H = H * mask[..., None]
    rzf = agents.make("rzf").solve(H, 10.0, 0.5, user_mask=mask if masked else None)
    for action in (torch.ones(40, 5), -torch.ones(40, 5)):
        W = power_beamformer(action, H, 10.0, 0.5, full_power=True, user_mask=mask)
        torch.testing.assert_close(W, rzf, rtol=0, atol=1e-12)


def test_beamformer_map_is_the_layouts():
    H, action, power, full_power, user_mask, antenna_mask = padded_problem(
        np.random.default_rng(5), users=3, antennas=4, width=8
    )
    W = ACTIONS["beamformer"].to_beamformer(
        action, H, power, full_power=full_power, user_mask=user_mask, antenna_mask=antenna_mask
    )
    mask = antenna_mask[..., :, None] * user_mask[..., None, :]
    expected = Layout(3, 4).action_to_beamformer(action, power, full_power=full_power, mask=mask)
    np.testing.assert_array_equal(W, expected)


def _wmmse_dual(H: torch.Tensor, W: torch.Tensor, noise: float) -> torch.Tensor:
    """``lambda = sigma2 omega |u|^2 / mu`` of WMMSE's transmitter, with ``u, omega`` of ``W``
    and the multiplier ``mu = Re<W, B - A W> / ||W||^2`` of ``(A + mu I) W = B``."""
    received = H @ W
    u_conj = received.diagonal(0, -2, -1) / (abs2(received).sum(-1) + noise)
    omega = 1 + sinr(H, W, noise)
    A = (H.mH * (omega * abs2(u_conj))[:, None, :]) @ H
    B = H.mH * (omega * u_conj)[:, None, :]
    mu = (W.conj() * (B - A @ W)).sum((-2, -1)).real / transmit_power(W)
    return noise * omega * abs2(u_conj) / mu[:, None]


@pytest.mark.parametrize("antennas", [4, 8])
def test_structure_reaches_the_wmmse_sum_rate(antennas):
    H, power, noise = channels(6, 50, 4, antennas), 10.0, 1.0  # 10 dB
    W = agents.make("wmmse", tolerance=1e-8, max_iterations=3000).solve(H, power, noise)
    dual = _wmmse_dual(H, W, noise)
    torch.testing.assert_close(dual.sum(-1), torch.full_like(dual[:, 0], power))  # duality
    action = structure_action(abs2(W).sum(-2), dual, power, full_power=True)
    rebuilt = structure_beamformer(action, H, power, noise, full_power=True)
    torch.testing.assert_close(
        rates(H, rebuilt, noise).sum(-1), rates(H, W, noise).sum(-1), rtol=1e-6, atol=0
    )


@pytest.mark.parametrize(("users", "antennas"), [(4, 4), (4, 8), (6, 3)])
def test_structure_reaches_the_max_min_rate(users, antennas):
    """The max-min duals are its uplink powers ``q``, recovered here by uplink-downlink
    duality: with unit directions ``u_k`` and ``G_kj = |h_k u_j|^2`` every uplink SINR is the
    balanced level, ``q_k G_kk - gamma sum_{j != k} G_jk q_j = gamma sigma2``."""
    H, power, noise = channels(7, 50, users, antennas), 10.0, 1.0
    result = agents.make("maxmin").run(H, power, noise)
    p = abs2(result.W).sum(-2)
    gains = abs2(H @ (result.W / p.sqrt()[:, None, :]))
    diagonal = torch.diag_embed(gains.diagonal(0, -2, -1))
    level = result.level[:, None, None]
    rhs = noise * result.level[:, None].expand(-1, users)
    q = torch.linalg.solve(diagonal - level * (gains.mT - diagonal), rhs)
    torch.testing.assert_close(q.sum(-1), torch.full_like(q[:, 0], power))
    rebuilt = structure_beamformer(
        structure_action(p, q, power, full_power=True), H, power, noise, full_power=True
    )
    expected = rates(H, result.W, noise).amin(-1)
    torch.testing.assert_close(rates(H, rebuilt, noise).amin(-1), expected, rtol=1e-6, atol=0)


def test_structure_reaches_the_energy_efficiency_optimum_inside_the_ball():
    """Dinkelbach-WMMSE's beamformer spends less than ``P``; its duals (the ridge-shifted
    transmitter's) sum to the power spent, which is why the map scales ``lambda`` to
    ``sum p`` rather than to ``P``."""
    H, power, noise = channels(8, 30, 4, 6), 10.0, 1.0
    W = agents.make("ee").solve(H, power, noise, utility="energy_efficiency")
    used = transmit_power(W)
    assert (used < 0.9 * power).all()
    dual = _wmmse_dual(H, W, noise)
    torch.testing.assert_close(dual.sum(-1), used)
    action = structure_action(abs2(W).sum(-2), dual, power, full_power=False)
    rebuilt = structure_beamformer(action, H, power, noise, full_power=False)

    def efficiency(V):
        return energy_efficiency(rates(H, V, noise), power_used=transmit_power(V))

    torch.testing.assert_close(efficiency(rebuilt), efficiency(W), rtol=1e-6, atol=0)


@pytest.mark.parametrize("name", ["structure", "power"])
def test_gradients_are_finite_at_the_corners(name):
    """All -1, masked users and an active user with an all-zero channel: finite gradients."""
    H = channels(9, 6, 4, 3)
    mask = torch.tensor([True, True, False, True])
    H = H * mask[:, None]
    H[0, 1] = 0.0
    action = torch.rand(6, WIDTH[name] * 4, dtype=torch.float64) * 2 - 1
    action[1] = -1.0
    action.requires_grad_(True)
    for full_power in (True, False):
        W = MAPS[name](action, H, 10.0, full_power=full_power, user_mask=mask)
        (gradient,) = torch.autograd.grad(rates(H, W).sum(), action)
        assert torch.isfinite(gradient).all()
        assert torch.isfinite(torch.view_as_real(W)).all()
