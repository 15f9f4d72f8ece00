"""The BNN: its output goes through the environments' structure map."""

import torch

import agents
from agents.learned.bnn import Bnn, BnnConfig
from agents.problem import make_problem
from beamgym.downlink import transmit_power


def test_a_zero_output_is_rzf_through_the_shared_structure_map(torch_rng):
    """``a = 0``: equal powers and equal dual weights, which the structure map turns into RZF
    with ``P / K`` per stream (also for a smaller problem than the model's)."""
    net = Bnn(BnnConfig(num_users=4, num_antennas=6)).eval()
    with torch.no_grad():
        net.output.weight.zero_()
        net.output.bias.zero_()
    for users, antennas in ((4, 6), (3, 5)):
        H = torch.randn(5, users, antennas, dtype=torch.complex64, generator=torch_rng)
        power = torch.tensor([1.0, 3.0, 10.0, 30.0, 100.0])
        with torch.no_grad():
            W = net(make_problem(H, power, utility="sum_rate"))
        rzf = agents.make("rzf").solve(H.to(torch.complex128), power=power.double())
        torch.testing.assert_close(W.to(torch.complex128), rzf, rtol=1e-4, atol=1e-5)


def test_energy_efficiency_puts_the_powers_on_the_ball(torch_rng):
    net = Bnn(BnnConfig(num_users=3, num_antennas=4, utility="energy_efficiency")).eval()
    with torch.no_grad():
        net.output.weight.zero_()
        net.output.bias.fill_(-3.0)  # tanh(-3): every power entry near -1, little power
        H = torch.randn(2, 3, 4, dtype=torch.complex64, generator=torch_rng)
        W = net(make_problem(H, torch.tensor([10.0, 10.0]), utility="energy_efficiency"))
    used = transmit_power(W)
    assert (used < 10.0 * 0.01).all() and (used > 0).all()
