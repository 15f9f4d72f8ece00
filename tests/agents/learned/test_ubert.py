"""UBERT: equivariance over users and antennas, feasibility per task, masks, task embedding,
multi-task training (uniform and random task sampling), checkpoints and the solver."""

import subprocess
import sys

import pytest
import torch

import agents
from agents.learned import checkpoint, objective, training
from agents.learned.model import Sampler, draw_problem
from agents.learned.ubert import DEFAULT_TASKS, Ubert, UbertConfig
from agents.problem import Problem, make_problem
from beamgym.actions import regularized_directions
from beamgym.downlink import project_power, transmit_power
from beamgym.layout import TASKS
from beamgym.utilities import UTILITIES
from tests.agents.learned.interruption import interrupt_at_draw

SMALL = {"hidden": 16, "heads": 2, "layers": 2, "feedforward": 32}


def model(**options) -> Ubert:
    torch.manual_seed(0)
    return Ubert(UbertConfig(**SMALL, **options)).eval()


VARIANTS = [{}, {"rzf_features": True}, {"power_head": False}]
"""The default model and each option changed."""


def problems(generator, batch=5, users=3, antennas=4):
    problem = draw_problem(Sampler(generator), batch, users, antennas, (0.0, 20.0), "sum_rate")
    return problem.H, problem.power, problem.noise_power


def solve(net, H, power, noise, task: str | torch.Tensor, **masks_and_weights) -> torch.Tensor:
    """``net``'s beamformers for ``(H, power, noise)`` and ``task``: a utility's name (the
    problem's utility) or indices into ``TASKS`` per sample (``tasks=``)."""
    if isinstance(task, str):
        return net(make_problem(H, power, noise, utility=task, **masks_and_weights))
    problem = make_problem(H, power, noise, utility="sum_rate", **masks_and_weights)
    return net(problem, tasks=task)


def config(steps: int, draw: dict | None = None, **changes) -> checkpoint.TrainingConfig:
    settings = {
        "model": "ubert",
        "model_config": SMALL,
        "draw": {"antennas": (3, 4), "users": (2, 3)} | (draw or {}),
        "steps": steps,
        "batch_size": 48,
        "learning_rate": 3e-3,
        "warmup": 5,
        **changes,
    }
    return checkpoint.TrainingConfig(**settings)


@pytest.mark.parametrize("options", VARIANTS, ids=str)
@pytest.mark.parametrize("utility", TASKS)
def test_permuting_users_or_antennas_permutes_the_beamformer(utility, options, torch_rng):
    net = model(**options)
    H, power, noise = problems(torch_rng)
    weights = torch.rand(5, 3, generator=torch_rng)
    users, antennas = torch.tensor([2, 0, 1]), torch.tensor([3, 1, 0, 2])
    W = solve(net, H, power, noise, utility, weights=weights)
    permuted = solve(net, H[:, users], power, noise, utility, weights=weights[:, users])
    torch.testing.assert_close(permuted, W[:, :, users])
    torch.testing.assert_close(
        solve(net, H[:, :, antennas], power, noise, utility, weights=weights), W[:, antennas]
    )


def test_task_ids_per_sample_equal_one_task_per_batch(torch_rng):
    net = model()
    H, power, noise = problems(torch_rng, batch=len(TASKS))
    W = solve(net, H, power, noise, torch.arange(len(TASKS)))
    for t, name in enumerate(TASKS):
        alone = solve(net, H[t : t + 1], power[t : t + 1], noise[t : t + 1], name)
        torch.testing.assert_close(W[t : t + 1], alone)
    assert not torch.allclose(
        solve(net, H, power, noise, "sum_rate"), solve(net, H, power, noise, "min_rate")
    )


@pytest.mark.parametrize("power_head", [True, False])
@pytest.mark.parametrize("utility", TASKS)
def test_rate_tasks_use_the_whole_budget_and_energy_efficiency_may_use_less(
    utility, power_head, torch_rng
):
    net = model(power_head=power_head)
    H, power, noise = problems(torch_rng)
    assert (transmit_power(solve(net, H, power, noise, utility)) <= power * (1 + 1e-5)).all()
    with torch.no_grad():
        if power_head:  # a power fraction near 0
            net.output.weight[2] = 0.0
            net.output.bias[2] = -10.0
        else:  # a small raw output: the ball keeps it, the sphere scales it up
            net.output.weight.mul_(1e-3)
            net.output.bias.mul_(1e-3)
    used = transmit_power(solve(net, H, power, noise, utility))
    if UTILITIES[utility].full_power:
        torch.testing.assert_close(used, power)
    else:
        assert (used < 0.01 * power).all()


def test_the_power_of_energy_efficiency_has_a_gradient_at_any_output_scale(torch_rng):
    """The flaw of the projection adapter (module docstring): above the budget the ball
    projection ignores the raw output's norm, so nothing can lower the power; the power
    head's fraction does not depend on that norm."""
    H, power, noise = problems(torch_rng)
    for power_head in (True, False):
        net = model(power_head=power_head)
        with torch.no_grad():
            net.output.weight[:2].mul_(100.0)  # a raw beamformer far above the budget
        used = transmit_power(solve(net, H, power, noise, "energy_efficiency")).sum()
        (gradient,) = torch.autograd.grad(used, net.output.bias)
        assert (gradient.abs().max() > 1e-3) == power_head, gradient


@pytest.mark.parametrize("options", VARIANTS, ids=str)
def test_padded_users_and_antennas_get_nothing_and_do_not_change_the_others(options, torch_rng):
    """A variable-K, variable-N batch: each sample is its dense sub-problem (any garbage in
    the padded entries of H and weights is ignored)."""
    net = model(**options)
    H, power, noise = problems(torch_rng, batch=3, users=4, antennas=5)
    weights = torch.rand(3, 4, generator=torch_rng)
    user_mask = torch.tensor([[1, 1, 1, 1], [1, 0, 1, 0], [0, 1, 1, 1]], dtype=torch.bool)
    antenna_mask = torch.tensor(
        [[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 0, 1, 1, 1]], dtype=torch.bool
    )
    tasks = torch.tensor(
        [TASKS.index(name) for name in ("weighted_sum_rate", "min_rate", "energy_efficiency")]
    )
    W = solve(
        net, H, power, noise, tasks, user_mask=user_mask, antenna_mask=antenna_mask, weights=weights
    )
    for b in range(3):
        users, antennas = torch.nonzero(user_mask[b])[:, 0], torch.nonzero(antenna_mask[b])[:, 0]
        dense = solve(
            net,
            H[b : b + 1][:, users][:, :, antennas],
            power[b : b + 1],
            noise[b : b + 1],
            tasks[b : b + 1],
            weights=weights[b : b + 1, users],
        )
        torch.testing.assert_close(W[b][antennas][:, users], dense[0])
        inactive = ~(antenna_mask[b][:, None] & user_mask[b][None, :])
        assert (W[b][inactive] == 0).all()


def test_weights_enter_only_the_weighted_sum_rate_and_only_by_their_ratios(torch_rng):
    net = model()
    H, power, noise = problems(torch_rng)
    weights = torch.rand(5, 3, generator=torch_rng) + 0.1
    for name in ("sum_rate", "min_rate"):
        torch.testing.assert_close(
            solve(net, H, power, noise, name, weights=weights), solve(net, H, power, noise, name)
        )
    weighted = solve(net, H, power, noise, "weighted_sum_rate", weights=weights)
    torch.testing.assert_close(
        solve(net, H, power, noise, "weighted_sum_rate", weights=7 * weights), weighted
    )
    assert not torch.allclose(weighted, solve(net, H, power, noise, "weighted_sum_rate"))


def test_bad_tasks_and_config_are_clear_errors(torch_rng):
    H, power, noise = problems(torch_rng)
    weights = torch.ones(5, 3)
    with pytest.raises(ValueError, match="utility must be one of"):
        model()(Problem(H, power, noise, weights, "throughput"))  # past make_problem's check
    with pytest.raises(ValueError, match="task ids must be in"):
        solve(model(), H, power, noise, torch.tensor(len(TASKS)))
    with pytest.raises(ValueError, match="must be a multiple of heads"):
        UbertConfig(hidden=10, heads=4)
    for changes, message in [
        ({"utilities": ()}, "utilities must be distinct names in"),
        ({"utilities": ("sum_rate", "rate")}, "utilities must be distinct names in"),
        ({"utilities": ("sum_rate", "sum_rate")}, "utilities must be distinct"),
        ({"antennas": ()}, "antennas must be positive integers"),
        ({"antennas": (4, 0)}, "antennas must be positive"),
        ({"task_sampling": "round-robin"}, "task_sampling must be one of"),
    ]:
        with pytest.raises(ValueError, match=message):
            config(1, changes).build()
    with pytest.raises(ValueError, match=r"batch_size 2 leaves some of .* no sample"):
        config(1, batch_size=2).build()
    # a BERT4beam run trains its model_config's utility at its num_antennas: its draws
    # have no tasks or antenna counts to set
    bert = {"model": "bert4beam", "model_config": {"num_antennas": 3, **SMALL}}
    for draw in ({"users": (2, 3), "utilities": DEFAULT_TASKS}, {"users": (2,), "antennas": (4,)}):
        with pytest.raises((TypeError, ValueError), match="utilities|antennas"):
            checkpoint.TrainingConfig(**bert, draw=draw, steps=1, batch_size=8).build()


def test_each_task_is_normalised_by_its_reference(torch_rng):
    """RZF scores 1 on the rate utilities it defines the reference of, at most 1 on the max-min
    (whose reference is its mean rate) and on energy efficiency (best of a power grid)."""
    H, power, noise = problems(torch_rng, batch=64, users=4, antennas=4)
    W = project_power(regularized_directions(H, 4 * noise / power), power, full_power=True)
    weights = torch.rand(64, 4, generator=torch_rng)
    for name in TASKS:
        relative = objective.relative_utility(name, H, W, power, noise, weights)
        assert torch.isfinite(relative).all() and (relative > 0).all()
        if name in ("min_rate", "energy_efficiency"):
            assert (relative <= 1 + 1e-5).all() and relative.mean() < 0.99
        else:
            torch.testing.assert_close(relative, torch.ones(64))


def test_checkpoint_round_trip_and_solver(tmp_path, torch_rng):
    out = tmp_path / "tiny"
    trained = training.train(
        config(3, {"utilities": ("sum_rate", "energy_efficiency")}), out, progress=False
    ).eval()
    loaded, card = checkpoint.load(out)
    assert card["training"]["draw"]["utilities"] == ["sum_rate", "energy_efficiency"]
    H, power, noise = problems(torch_rng, antennas=7)  # an N it did not train on
    solver = agents.make("ubert", checkpoint=str(out))
    assert solver.utilities == ("sum_rate", "energy_efficiency")
    for name in solver.utilities:
        torch.testing.assert_close(
            solve(loaded, H, power, noise, name), solve(trained, H, power, noise, name)
        )
        W = solver.solve(H.to(torch.complex128), power=power.double(), utility=name)
        torch.testing.assert_close(W.to(torch.complex64), solve(trained, H, power, noise, name))
    with pytest.raises(ValueError, match="optimises utility in"):
        solver.solve(H, power=10.0, utility="min_rate")


def test_resume_after_an_interruption_gives_the_same_weights(tmp_path, monkeypatch):
    settings = {"task_sampling": "random", "utilities": TASKS}  # random tasks and weights
    whole = training.train(config(6, settings), tmp_path / "whole", progress=False)
    interrupt_at_draw(monkeypatch, 4)
    with pytest.raises(KeyboardInterrupt):
        training.train(config(6, settings), tmp_path / "split", progress=False)
    monkeypatch.undo()
    assert torch.load(tmp_path / "split.train.pt", weights_only=True)["step"] == 3
    resumed = training.train(config(6, settings), tmp_path / "split", resume=True, progress=False)
    for a, b in zip(whole.parameters(), resumed.parameters(), strict=True):
        torch.testing.assert_close(a, b)


def mean_relative(net: torch.nn.Module) -> float:
    """The mean over the default tasks of the mean relative utility, K = 3, N = 4."""
    generator = torch.Generator().manual_seed(123)
    H, power, noise = problems(generator, batch=256, users=3, antennas=4)
    with torch.no_grad():
        values = [
            objective.relative_utility(
                name, H, solve(net, H, power, noise, name), power, noise
            ).mean()
            for name in DEFAULT_TASKS
        ]
    return float(torch.stack(values).mean())


@pytest.mark.parametrize("sampling", ["uniform", "random"])
def test_a_short_multi_task_run_improves_every_task_on_average(sampling, tmp_path):
    before = mean_relative(training.train(config(0), tmp_path / "start", progress=False))
    after = mean_relative(
        training.train(config(100, {"task_sampling": sampling}), tmp_path / "end", progress=False)
    )
    assert after > before + 0.2, (before, after)


def test_cli_trains_ubert_and_rejects_the_single_task_flags(tmp_path, capsys):
    out = tmp_path / "cli"
    training.main(
        ["--model", "ubert", "--utilities", "sum_rate", "min_rate", "--antennas", "3", "5"]
        + ["--users", "2", "--hidden", "8", "--heads", "2", "--layers", "1", "--steps", "2"]
        + ["--batch-size", "8", "--task-sampling", "random", "--rzf-features", "--out", str(out)]
    )
    _, card = checkpoint.load(out)
    assert card["training"]["model_config"] == {
        "hidden": 8,
        "heads": 2,
        "layers": 1,
        "feedforward": 128,
        "rzf_features": True,
        "power_head": True,
    }
    draw = card["training"]["draw"]
    assert draw["antennas"] == [3, 5] and draw["task_sampling"] == "random"
    assert draw["utilities"] == ["sum_rate", "min_rate"] and draw["users"] == [2]
    for arguments, flag in [
        (["--model", "ubert", "--num-antennas", "4"], "--num-antennas"),
        (["--utilities", "sum_rate"], "--utilities"),  # the default model, bert4beam
        (["--rzf-features"], "--rzf-features"),
        (["--no-power-head"], "--no-power-head"),
    ]:
        with pytest.raises(SystemExit) as exit_:
            training.main([*arguments, "--out", "x"])
        assert exit_.value.code == 2
        assert f"unrecognized arguments: {flag}" in capsys.readouterr().err


def test_torchrun_two_processes_share_the_random_task_of_each_step(tmp_path):
    out = tmp_path / "ddp"
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2"]
    command += ["--master-port", "29518", "-m", "agents.learned.training", "--model", "ubert"]
    command += ["--utilities", "sum_rate", "min_rate", "weighted_sum_rate", "--antennas", "3", "4"]
    command += ["--task-sampling", "random", "--users", "2", "3", "--steps", "4", "--hidden", "8"]
    command += ["--heads", "2", "--layers", "1", "--batch-size", "16", "--warmup", "2"]
    result = subprocess.run(
        command + ["--out", str(out)], capture_output=True, text=True, timeout=240
    )
    assert result.returncode == 0, result.stderr[-2000:]
    _, card = checkpoint.load(out)
    assert card["training"]["steps"] == 4 and card["training"]["draw"]["task_sampling"] == "random"
