"""The edge GNN: equivariant over users and antennas (with and without the Gram-weighted
aggregation), any size, energy efficiency's power."""

import pytest
import torch

from agents.learned.gnn import Gnn, GnnConfig
from agents.problem import make_problem
from beamgym.downlink import transmit_power


def gnn(**options) -> Gnn:
    torch.manual_seed(0)
    return Gnn(GnnConfig(hidden=16, layers=3, **options)).eval()


@pytest.mark.parametrize("gram", [True, False])
@pytest.mark.parametrize("utility", ["sum_rate", "energy_efficiency"])
def test_permuting_users_or_antennas_permutes_the_beamformer(utility, gram, torch_rng):
    net = gnn(utility=utility, gram=gram)
    H = torch.randn(4, 3, 5, dtype=torch.complex64, generator=torch_rng)
    power = torch.tensor([1.0, 10.0, 30.0, 100.0])
    users, antennas = torch.randperm(3, generator=torch_rng), torch.randperm(5, generator=torch_rng)
    with torch.no_grad():
        W = net(make_problem(H, power, utility=utility))
        permuted = net(make_problem(H[:, users][:, :, antennas], power, utility=utility))
    torch.testing.assert_close(permuted, W[:, antennas][:, :, users])


def test_one_model_serves_every_size_and_rates_use_the_whole_budget(torch_rng):
    net = gnn()
    for users, antennas in ((1, 1), (2, 8), (12, 8)):
        H = torch.randn(2, users, antennas, dtype=torch.complex64, generator=torch_rng)
        with torch.no_grad():
            W = net(make_problem(H, torch.tensor([5.0, 50.0]), utility="sum_rate"))
        assert W.shape == (2, antennas, users)
        torch.testing.assert_close(transmit_power(W), torch.tensor([5.0, 50.0]))


def test_energy_efficiency_may_transmit_less_than_the_budget(torch_rng):
    net = gnn(utility="energy_efficiency")
    with torch.no_grad():
        net.edges[-1].self_weight.bias[2] = -3.0  # the power output: sigmoid(-3) of the budget
        H = torch.randn(2, 3, 4, dtype=torch.complex64, generator=torch_rng)
        W = net(make_problem(H, torch.tensor([10.0, 10.0]), utility="energy_efficiency"))
    used = transmit_power(W)
    assert (used < 10.0 * 0.2).all() and (used > 0).all()


def test_a_channel_beyond_the_peak_entry_is_served_as_its_equivalent_problem(torch_rng):
    """``(H / c, c^2 P)`` has the same rates as ``(H, P)``: the model's answer to the huge
    channel is the answer to the scaled one, scaled back to the budget."""
    net = gnn()
    H = torch.randn(2, 3, 4, dtype=torch.complex64, generator=torch_rng) * 2e3
    peak = H.abs().amax((1, 2))
    power = torch.tensor([10.0, 20.0])
    with torch.no_grad():
        W = net(make_problem(H, power, utility="sum_rate"))
        scaled = net(make_problem(H / peak[:, None, None], power * peak**2, utility="sum_rate"))
    assert torch.isfinite(torch.view_as_real(W)).all()
    torch.testing.assert_close(W, scaled / peak[:, None, None])
