"""Deep-unfolded WMMSE against the classical WMMSE it unfolds."""

import torch

import agents
from agents.classical.wmmse import initial_beamformer, run_wmmse
from agents.learned.unfolded_wmmse import UnfoldedWmmse, UnfoldedWmmseConfig
from agents.problem import make_problem
from beamgym.downlink import rates


def test_many_pgd_steps_reach_the_exact_wmmse_transmitter_step(torch_rng):
    """One layer of many projected-gradient steps minimises the same quadratic over the same
    ball as WMMSE's closed-form transmitter step, from the same MRT start: the two beamformers
    of one WMMSE iteration agree (K = N, where the power constraint is active)."""
    H = torch.randn(6, 4, 4, dtype=torch.complex128, generator=torch_rng)
    problem = make_problem(H, torch.tensor([1.0, 3.0, 10.0, 30.0, 100.0, 10.0]), utility="sum_rate")
    net = UnfoldedWmmse(UnfoldedWmmseConfig(layers=1, pgd_steps=3000)).double()
    with torch.no_grad():
        W = net(problem)
    exact = run_wmmse(problem, initial_beamformer(problem, "mrt"), max_iterations=1, tolerance=0)
    torch.testing.assert_close(W, exact.W, rtol=1e-4, atol=1e-4)


def test_the_untrained_layers_ascend_the_sum_rate_from_mrt_towards_wmmse(torch_rng):
    H = torch.randn(64, 6, 6, dtype=torch.complex128, generator=torch_rng)
    problem = make_problem(H, torch.full((64,), 10.0, dtype=torch.float64), utility="sum_rate")
    sum_rate = {}
    for name in ("mrt", "wmmse"):
        sum_rate[name] = rates(H, agents.make(name).solve(H, power=problem.power)).sum(-1).mean()
    for layers in (1, 3, 10):
        net = UnfoldedWmmse(UnfoldedWmmseConfig(layers=layers)).double()
        with torch.no_grad():
            sum_rate[layers] = rates(H, net(problem)).sum(-1).mean()
    assert sum_rate["mrt"] < sum_rate[1] < sum_rate[3] < sum_rate[10] <= sum_rate["wmmse"] * 1.001
