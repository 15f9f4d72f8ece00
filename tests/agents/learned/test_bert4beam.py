"""BERT4beam: symmetry, feasibility, masks, adaptation, checkpoints, training and torchrun."""

import json
import subprocess
import sys

import pytest
import torch

import agents
from agents.learned import checkpoint, objective, training
from agents.learned.bert4beam import Bert4beam, Bert4beamConfig, adapt
from agents.learned.model import Sampler, draw_problem
from agents.problem import make_problem
from beamgym.downlink import transmit_power
from tests.agents.learned.interruption import interrupt_at_draw

SMALL = {"hidden": 16, "heads": 2, "layers": 2, "feedforward": 32}


def model(num_antennas: int = 4, utility: str = "sum_rate") -> Bert4beam:
    torch.manual_seed(0)
    return Bert4beam(Bert4beamConfig(num_antennas=num_antennas, utility=utility, **SMALL)).eval()


def problems(generator, batch=5, users=3, antennas=4):
    problem = draw_problem(Sampler(generator), batch, users, antennas, (0.0, 20.0), "sum_rate")
    return problem.H, problem.power, problem.noise_power


def solve(net: Bert4beam, H, power, noise, **masks) -> torch.Tensor:
    """``net``'s beamformers for the problems ``(H, power, noise)`` of its own utility."""
    return net(make_problem(H, power, noise, utility=net.config.utility, **masks))


def config(steps: int, **changes) -> checkpoint.TrainingConfig:
    return checkpoint.TrainingConfig(
        model_config={"num_antennas": 3, **SMALL},
        draw={"users": (2, 3)},
        steps=steps,
        batch_size=32,
        warmup=5,
        **changes,
    )


def test_users_are_permutation_equivariant(torch_rng):
    net = model()
    H, power, noise = problems(torch_rng)
    order = torch.tensor([2, 0, 1])
    W = solve(net, H, power, noise)
    torch.testing.assert_close(solve(net, H[:, order], power, noise), W[:, :, order])


@pytest.mark.parametrize("utility, full", [("sum_rate", True), ("energy_efficiency", False)])
def test_power_adapter_meets_the_budget(utility, full, torch_rng):
    H, power, noise = problems(torch_rng)
    used = transmit_power(solve(model(utility=utility), H, power, noise))
    assert (used <= power * (1 + 1e-5)).all()
    if full:
        torch.testing.assert_close(used, power)


def test_padded_users_get_nothing_and_do_not_change_the_others(torch_rng):
    net = model()
    H, power, noise = problems(torch_rng, batch=2, users=4)
    mask = torch.tensor([[True, True, False, False], [True, True, True, True]])
    W = solve(net, H * mask[:, :, None], power, noise, user_mask=mask)
    assert (W[0, :, 2:] == 0).all()
    torch.testing.assert_close(W[0, :, :2], solve(net, H[:1, :2], power[:1], noise[:1])[0])
    torch.testing.assert_close(W[1], solve(net, H[1:], power[1:], noise[1:])[0])


def test_wrong_antenna_count_and_bad_config_are_clear_errors(torch_rng):
    H, power, noise = problems(torch_rng, antennas=5)
    with pytest.raises(ValueError, match="this model has N=4 antennas, got H with N=5"):
        solve(model(), H, power, noise)
    narrower = solve(model(), H[:, :, :3], power, noise)  # fewer antennas: padded, served
    assert narrower.shape == (5, 3, 3)
    torch.testing.assert_close(transmit_power(narrower), power)
    with pytest.raises(ValueError, match="must be a multiple of heads"):
        Bert4beamConfig(hidden=10, heads=4)
    with pytest.raises(ValueError, match="utility must be one of"):
        Bert4beamConfig(utility="throughput")


def test_adapt_keeps_the_encoder_and_rebuilds_the_modules_for_a_new_n(torch_rng):
    net = model()
    wider = adapt(net, num_antennas=6, utility="energy_efficiency")
    assert wider.config.num_antennas == 6 and wider.config.utility == "energy_efficiency"
    for a, b in zip(net.encoder.parameters(), wider.encoder.parameters(), strict=True):
        torch.testing.assert_close(a, b)
    H, power, noise = problems(torch_rng, antennas=6)
    assert solve(wider, H, power, noise).shape == (5, 6, 3)


def test_checkpoint_round_trip_and_solver(tmp_path, torch_rng):
    out = tmp_path / "tiny"
    trained = training.train(config(3), out, progress=False).eval()
    loaded, card = checkpoint.load(out)
    assert card["training"]["steps"] == 3 and card["parameters"] > 0
    H, power, noise = problems(torch_rng, antennas=3)
    torch.testing.assert_close(solve(loaded, H, power, noise), solve(trained, H, power, noise))
    solver = agents.make("bert4beam", checkpoint=str(out))
    W = solver.solve(H.to(torch.complex128), power=power.double())
    torch.testing.assert_close(W.to(torch.complex64), solve(trained, H, power, noise))
    with pytest.raises(agents.NotApplicable, match="sum_rate models for N <= 3 antennas"):
        solver.solve(torch.randn(1, 2, 4, dtype=torch.complex128), power=1.0)


def test_a_short_training_run_improves_the_utility(tmp_path):
    generator = torch.Generator().manual_seed(123)
    H, power, noise = problems(generator, batch=512, users=3, antennas=3)

    def relative(net):
        with torch.no_grad():
            W = solve(net, H, power, noise)
            return objective.relative_utility("sum_rate", H, W, power, noise)

    before = relative(training.train(config(0), tmp_path / "start", progress=False)).mean()
    after = relative(training.train(config(150), tmp_path / "end", progress=False)).mean()
    assert after > before + 0.05, (before, after)


def test_cli_rejects_bad_arguments(capsys):
    with pytest.raises(SystemExit) as exit_:
        training.main(["--users", "3", "0", "--out", "x"])
    assert exit_.value.code == 2
    assert "users must be positive integers" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        training.main(["--hidden", "10", "--heads", "4", "--out", "x"])
    assert exit_.value.code == 2
    assert "must be a multiple of heads" in capsys.readouterr().err


def test_torchrun_two_processes_on_gloo(tmp_path):
    out = tmp_path / "ddp"
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2"]
    command += ["--master-port", "29517", "-m", "agents.learned.training", "--steps", "4"]
    command += ["--hidden", "16", "--heads", "2", "--layers", "1", "--feedforward", "32"]
    command += ["--num-antennas", "3", "--batch-size", "16", "--warmup", "2", "--out", str(out)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-2000:]
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["training"]["steps"] == 4 and "torch.distributed" not in result.stderr
    checkpoint.load(out)


@pytest.mark.parametrize("utility, antennas", [("min_rate", 3), ("energy_efficiency", 5)])
def test_fine_tuning_starts_from_the_adapted_checkpoint(tmp_path, utility, antennas):
    pretrained = training.train(config(3), tmp_path / "pre", progress=False)
    tuned = config(0, init_from=str(tmp_path / "pre"))
    tuned.model_config = {**tuned.model_config, "num_antennas": antennas, "utility": utility}
    model = training.train(tuned, tmp_path / "tuned", progress=False)
    for a, b in zip(pretrained.encoder.parameters(), model.encoder.parameters(), strict=True):
        torch.testing.assert_close(a, b)
    card = json.loads((tmp_path / "tuned.json").read_text())
    assert card["training"]["init_from"] == str(tmp_path / "pre")
    assert checkpoint.load(tmp_path / "tuned")[0].config.utility == utility  # source not needed
    wider = config(0, init_from=str(tmp_path / "pre"))
    wider.model_config = {**wider.model_config, "hidden": 32}
    with pytest.raises(ValueError, match="cannot become"):
        wider.initial_model()


def test_cli_fine_tunes_with_the_checkpoints_architecture(tmp_path):
    training.train(config(2), tmp_path / "pre", progress=False)
    arguments = ["--init-from", str(tmp_path / "pre"), "--utility", "min_rate"]
    arguments += ["--steps", "2", "--warmup", "1", "--batch-size", "8", "--users", "2"]
    training.main([*arguments, "--out", str(tmp_path / "tuned")])
    config_ = checkpoint.load(tmp_path / "tuned")[0].config
    assert (config_.hidden, config_.num_antennas, config_.utility) == (16, 3, "min_rate")


def test_energy_efficiency_learns_to_transmit_less(torch_rng):
    """The learned power fraction has a gradient towards lower power where the ball
    projection has none (the model's output starts outside the ball)."""
    net = model(utility="energy_efficiency").train()
    H, power, noise = problems(torch_rng)
    used = transmit_power(solve(net, H, power, noise))
    used.sum().backward()
    assert net.power.weight.grad.abs().sum() > 0
    optimizer = torch.optim.Adam(net.parameters(), lr=0.05)
    for _ in range(30):
        optimizer.zero_grad()
        (transmit_power(solve(net, H, power, noise)) / power).mean().backward()
        optimizer.step()
    assert (transmit_power(solve(net, H, power, noise)) < 0.2 * power).all()


def test_a_run_moved_between_devices_resumes_with_a_new_stream(tmp_path, monkeypatch):
    """A state written on another device type (here: marked so) resumes its weights and
    step; only the random stream is new, and the card lists both devices."""
    interrupt_at_draw(monkeypatch, 3)
    with pytest.raises(KeyboardInterrupt):
        training.train(config(4), tmp_path / "moved", progress=False)
    monkeypatch.undo()
    path = tmp_path / "moved.train.pt"
    state = torch.load(path, weights_only=True)
    state["devices"] = ["cuda"]
    torch.save(state, path)
    training.train(config(4), tmp_path / "moved", resume=True, progress=False)
    assert json.loads((tmp_path / "moved.json").read_text())["devices"] == ["cuda", "cpu"]


def test_the_default_agent_answers_with_the_fitting_shipped_model(torch_rng):
    """Each problem goes to the shipped model of its utility with the smallest N that fits."""
    from agents.learned import CHECKPOINTS

    default = agents.make("bert4beam")
    assert set(default.utilities) == {"sum_rate", "min_rate", "energy_efficiency"}
    H = torch.randn(2, 3, 12, dtype=torch.complex128, generator=torch_rng)
    wide = agents.make("bert4beam", checkpoint=str(CHECKPOINTS / "bert4beam-sum_rate-N16"))
    torch.testing.assert_close(default.solve(H, power=10.0), wide.solve(H, power=10.0))
    small = H[:, :, :6]
    efficient = agents.make(
        "bert4beam", checkpoint=str(CHECKPOINTS / "bert4beam-energy_efficiency-N8")
    )
    torch.testing.assert_close(
        default.solve(small, power=10.0, utility="energy_efficiency"),
        efficient.solve(small, power=10.0),
    )
    with pytest.raises(agents.NotApplicable, match="min_rate models for N <= 8"):
        default.solve(H, power=10.0, utility="min_rate")
