"""SALLO-M: the unrolled model (RZF start, gradient ascent, masks, equivariance), its training
schedule (sliding window, curriculum, replay, padded draws), checkpoints and the solver."""

import subprocess
import sys

import pytest
import torch

import agents
from agents.classical.linear import rzf_beamformer
from agents.learned import checkpoint, curriculum, objective, training
from agents.learned.model import Sampler, draw_problem
from agents.learned.sallo import SERVED, Sallo, SalloConfig, with_refinement
from agents.problem import make_problem
from beamgym.downlink import project_power, rates, transmit_power
from beamgym.utilities import UTILITIES, utility

SMALL = {"size": 6, "layers": 2, "embed": 8, "model_dim": 16}
SMALL |= {"heads": 2, "gradient_steps": 2}


def model(**options) -> Sallo:
    torch.manual_seed(0)
    net = Sallo(SalloConfig(**(SMALL | options))).eval()
    for parameter in net.parameters():  # leave the identity start: the outputs mix everything
        parameter.data += 0.05 * torch.randn_like(parameter)
    return net


def problems(generator, batch=6, users=4, antennas=5):
    problem = draw_problem(Sampler(generator), batch, users, antennas, (0.0, 20.0), "sum_rate")
    return problem.H, problem.power, problem.noise_power


def solve(net: Sallo, H, power, noise, window=None, **masks) -> torch.Tensor:
    """``net``'s beamformers for the problems ``(H, power, noise)`` of its own utility."""
    problem = make_problem(H, power, noise, utility=net.config.utility, **masks)
    return net(problem, window=window)


def test_without_steps_the_untrained_model_is_rzf(torch_rng):
    """Every residual branch starts at zero, so an untrained layer proposes its input."""
    torch.manual_seed(0)
    net = Sallo(SalloConfig(**(SMALL | {"gradient_steps": 0}))).eval()
    H, power, noise = problems(torch_rng)
    torch.testing.assert_close(solve(net, H, power, noise), rzf_beamformer(H, power, noise))


def test_the_untrained_gradient_steps_raise_the_sum_rate_of_rzf(torch_rng):
    torch.manual_seed(0)
    net = Sallo(SalloConfig(**SMALL)).eval()
    H, power, noise = problems(torch_rng, batch=200)
    start = rates(H, rzf_beamformer(H, power, noise), noise).sum(-1).mean()
    assert rates(H, solve(net, H, power, noise), noise).sum(-1).mean() > start


@pytest.mark.parametrize("streams, refine", [("both", 0), ("users", 0), ("antennas", 3)])
def test_permuting_users_permutes_the_beamformer(streams, refine, torch_rng):
    net = model(streams=streams, refine_steps=refine)
    H, power, noise = problems(torch_rng)
    order = torch.tensor([2, 0, 3, 1])
    torch.testing.assert_close(
        solve(net, H[:, order], power, noise), solve(net, H, power, noise)[:, :, order]
    )


@pytest.mark.parametrize("name", SERVED)
def test_every_utility_is_feasible_and_rate_utilities_use_the_whole_budget(name, torch_rng):
    net = model(utility=name)
    H, power, noise = problems(torch_rng)
    used = transmit_power(solve(net, H, power, noise))
    if UTILITIES[name].full_power:
        torch.testing.assert_close(used, power)
    else:
        assert bool(torch.all(used <= power * (1 + 1e-5)))


@pytest.mark.parametrize("refine", [0, 3])
def test_padded_entries_get_no_power_and_the_dense_problem_its_beamformer(refine, torch_rng):
    """Users anywhere and antennas last: exactly the dense solution. Antennas anywhere: zero
    power on the padding, and the active users' rates are those of the active block."""
    net = model(refine_steps=refine)
    H, power, noise = problems(torch_rng, users=3, antennas=4)
    dense = solve(net, H, power, noise)
    users = torch.tensor([False, True, False, True, True])
    antennas = torch.tensor([True, True, True, True, False, False])
    padded = torch.zeros(6, 5, 6, dtype=H.dtype)
    padded[:, users] = torch.nn.functional.pad(H, (0, 2))
    user_mask, antenna_mask = users.expand(6, 5), antennas.expand(6, 6)
    W = solve(net, padded, power, noise, user_mask=user_mask, antenna_mask=antenna_mask)
    torch.testing.assert_close(W[:, :4][:, :, users], dense)
    assert not W[:, :, ~users].any() and not W[:, 4:].any()

    scattered = torch.tensor([False, True, True, False, True, True])
    padded = torch.zeros(6, 5, 6, dtype=H.dtype)
    padded[:, users.nonzero()[:, 0, None], scattered.nonzero()[:, 0]] = H
    W = solve(net, padded, power, noise, user_mask=user_mask, antenna_mask=scattered.expand(6, 6))
    assert not W[:, ~scattered].any() and not W[:, :, ~users].any()
    block = W[:, scattered][:, :, users]
    torch.testing.assert_close(rates(padded, W, noise)[:, users], rates(H, block, noise))


def test_the_refinement_is_heavy_ball_ascent_on_the_layers_output(torch_rng):
    """Recomputed by hand with autograd's gradient (twice the closed form) on the output of
    the same layers without a refinement; a window that stops early runs no refinement."""
    net = model(refine_steps=4, momentum=0.8)
    plain = with_refinement(net, SalloConfig(**SMALL)).eval()
    H, power, noise = problems(torch_rng)
    W, velocity = solve(plain, H, power, noise), 0.0
    snr = torch.log10(power / noise)[:, None, None]
    for a, b in net.refine_eta.detach().T:
        W = W.detach().requires_grad_()
        (gradient,) = torch.autograd.grad(rates(H, W, noise).sum(), W)
        direction = gradient * (
            power.sqrt()[:, None, None] / gradient.norm(dim=(-2, -1), keepdim=True)
        )
        velocity = 0.8 * velocity + 0.01 * torch.exp(a + b * snr) * direction
        W = project_power(W + velocity, power, full_power=True)
    with torch.no_grad():
        torch.testing.assert_close(solve(net, H, power, noise), W.detach())
        torch.testing.assert_close(
            solve(net, H, power, noise, window=(0, 1)), solve(plain, H, power, noise, window=(0, 1))
        )


@pytest.mark.parametrize("name", ["sum_rate", "min_rate"])
def test_the_training_gradient_through_the_steps_is_exact(name, torch_rng):
    """Autograd through the gradient and refinement steps matches central differences (in
    float64): the min rate's soft-min weights are differentiated, not held constant."""
    net = model(utility=name, refine_steps=3).double().train()
    H, power, noise = problems(torch_rng)
    H, power, noise = H.to(torch.complex128), power.double(), noise.double()

    def value() -> torch.Tensor:
        return utility(name, rates(H, solve(net, H, power, noise), noise)).sum()

    (gradient,) = torch.autograd.grad(value(), net.refine_eta)
    with torch.no_grad():
        for index in [(0, 0), (0, 2), (1, 1)]:
            net.refine_eta[index] += 1e-6
            up = value()
            net.refine_eta[index] -= 2e-6
            down = value()
            net.refine_eta[index] += 1e-6
            assert float(gradient[index]) == pytest.approx(float(up - down) / 2e-6, rel=1e-4)


def test_the_untrained_refinement_raises_the_sum_rate_at_high_snr(torch_rng):
    torch.manual_seed(0)
    plain = Sallo(SalloConfig(**SMALL)).eval()
    refined = with_refinement(plain, SalloConfig(**(SMALL | {"refine_steps": 10}))).eval()
    H, _, noise = problems(torch_rng, batch=200, users=5, antennas=5)
    power = torch.full_like(noise, 100.0)
    with torch.no_grad():
        before, after = (
            rates(H, solve(net, H, power, noise), noise).sum(-1).mean() for net in (plain, refined)
        )
    assert after > before * 1.01, (before, after)


def test_the_window_trains_its_layers_only_and_runs_none_after_it(torch_rng):
    net = model(layers=3).train()
    H, power, noise = problems(torch_rng)
    W = solve(net, H, power, noise, window=(1, 2))
    rates(H, W, noise).sum().backward()
    grads = [any(p.grad is not None for p in block.parameters()) for block in net.blocks]
    assert grads == [False, True, False]


def test_first_and_second_order_training_give_different_gradients(torch_rng):
    H, power, noise = problems(torch_rng)
    grads = []
    for second_order in (True, False):
        net = model(second_order=second_order).train()
        rates(H, solve(net, H, power, noise), noise).sum().backward()
        grads.append(net.blocks[0].streams.qkv.weight.grad)
    assert not torch.allclose(grads[0], grads[1])


def test_bad_config_and_sizes_are_clear_errors(torch_rng):
    for bad, field in [
        ({"streams": "both-ways"}, "streams"),
        ({"gradient_steps": -1}, "gradient_steps"),
        ({"step_size": 0.0}, "step_size"),
        ({"refine_steps": -1}, "refine_steps"),
        ({"refine_step_size": 0.0}, "refine_step_size"),
        ({"momentum": 1.0}, "momentum"),
        ({"model_dim": 10, "heads": 4}, "model_dim"),
        ({"utility": "throughput"}, "utility"),
        ({"utility": "weighted_sum_rate"}, "weights are not an input"),
    ]:
        with pytest.raises(ValueError, match=field):
            SalloConfig(**bad)
    H, power, noise = problems(torch_rng, users=7)
    with pytest.raises(ValueError, match="K <= 6"):
        solve(model(), H, power, noise)


def test_schedule_slides_the_window_and_grows_the_sizes_within_each_phase():
    pairs = curriculum.size_pairs((2, 4, 6), (2, 4, 6), max_load=1.0)
    assert (6, 4) not in pairs and (4, 6) in pairs
    schedule = curriculum.Schedule(
        steps=12, layers=4, window=2, pairs=pairs, stages=(2, 4, 6), replay=0.5
    )
    assert schedule.phases == 3
    assert [schedule.window_at(s) for s in (0, 3, 4, 11)] == [(0, 2), (0, 2), (1, 3), (2, 4)]
    assert [schedule.stage_at(s) for s in range(4)] == [0, 0, 1, 2]
    assert schedule.stage_pairs(0) == ((2, 2),)
    assert set(schedule.stage_pairs(2)) == {(2, 6), (4, 6), (6, 6)}
    generator = torch.Generator().manual_seed(0)
    users, antennas = schedule.draw_sizes(generator, 4000, step=3)
    new = antennas == 6
    assert bool(torch.all(new | (antennas <= 4)))
    assert 0.45 < float((~new).float().mean()) < 0.55  # the replayed share
    for bad in [{"window": 5}, {"replay": 1.0}, {"stages": (4, 2, 6)}, {"stages": (2, 4)}]:
        with pytest.raises(ValueError, match=next(iter(bad))):
            curriculum.Schedule(**({"steps": 12, "layers": 4, "window": 2, "pairs": pairs} | bad))


def test_padded_draws_put_each_array_at_random_positions_in_order():
    generator = torch.Generator().manual_seed(0)
    users, antennas = torch.tensor([2, 5, 3]), torch.tensor([4, 1, 6])
    problem = curriculum.draw_padded_problems(
        generator, users, antennas, 6, (10.0, 10.0), "min_rate", ("sparse",)
    )
    H, power, noise = problem.H, problem.power, problem.noise_power
    user_mask, antenna_mask = problem.user_mask, problem.antenna_mask
    assert H.shape == (3, 6, 6) and H.dtype == torch.complex64 and problem.utility == "min_rate"
    torch.testing.assert_close(noise, torch.ones(3))
    torch.testing.assert_close(problem.weights, torch.ones(3, 6))
    torch.testing.assert_close(user_mask.sum(-1), users)
    torch.testing.assert_close(antenna_mask.sum(-1), antennas)
    active = user_mask[:, :, None] & antenna_mask[:, None, :]
    assert not H[~active].any() and bool(H[active].abs().gt(0).all())
    torch.testing.assert_close(power, torch.full((3,), 10.0))
    values = torch.arange(1.0, 7.0).expand(2, 3, 6)
    mask = torch.tensor([[False, True, True, False, True, False], [True] * 3 + [False] * 3])
    moved = curriculum.scatter_leading(values, mask, 2)
    torch.testing.assert_close(moved[0, 0], torch.tensor([0.0, 1, 2, 0, 3, 0]))
    torch.testing.assert_close(moved[1, 2], torch.tensor([1.0, 2, 3, 0, 0, 0]))


def config(steps: int, draw: dict | None = None, **changes) -> checkpoint.TrainingConfig:
    settings = {
        "model": "sallo-m",
        "model_config": SMALL | {"size": 4},
        "draw": {
            "users": (2, 3, 4),
            "antennas": (2, 3, 4),
            "window": 1,
            "stages": (3, 4),
            "replay": 0.25,
        }
        | (draw or {}),
        "steps": steps,
        "batch_size": 64,
        "learning_rate": 3e-3,
        "warmup": 5,
        **changes,
    }
    return checkpoint.TrainingConfig(**settings)


def test_checkpoint_round_trip_and_solver(tmp_path, torch_rng):
    net = training.train(config(0), tmp_path / "sallo", progress=False)
    loaded, card = checkpoint.load(tmp_path / "sallo")
    H, power, noise = problems(torch_rng, users=3, antennas=4)
    with torch.no_grad():
        torch.testing.assert_close(
            solve(loaded, H, power, noise), solve(net.eval(), H, power, noise)
        )
    solver = agents.make("sallo-m", checkpoint=str(tmp_path / "sallo"))
    W = solver.solve(H.to(torch.complex128), power=power.double())
    torch.testing.assert_close(
        W.to(torch.complex64), solve(loaded, H, power, noise), rtol=1e-4, atol=1e-5
    )
    assert (solver.model.config.utility, 3, 4) in solver.trained_on()
    with pytest.raises(agents.NotApplicable, match="N <= 4"):
        solver.solve(torch.randn(2, 3, 5, dtype=torch.complex128), power=10.0)


def mean_relative(net: Sallo) -> float:
    """The mean sum rate relative to RZF on fixed padded 2-4 x 2-4 problems."""
    generator = torch.Generator().manual_seed(123)
    sizes = torch.randint(2, 5, (2, 512), generator=generator)
    problem = curriculum.draw_padded_problems(
        generator, sizes[0], sizes[1], 4, (0.0, 20.0), "sum_rate"
    )
    with torch.no_grad():
        W = net.eval()(problem)
    H, power, noise = problem.H, problem.power, problem.noise_power
    relative = objective.relative_utility(
        "sum_rate", H, W, power, noise, user_mask=problem.user_mask
    )
    return float(relative.mean())


def test_a_short_run_improves_the_sum_rate(tmp_path):
    before = mean_relative(training.train(config(0), tmp_path / "start", progress=False))
    after = mean_relative(
        training.train(config(60, {"window": 0}), tmp_path / "end", progress=False)
    )
    assert after > before + 0.01, (before, after)


def test_cli_trains_sallo_and_rejects_other_models_flags(tmp_path, capsys):
    out = tmp_path / "cli"
    training.main(
        ["--model", "sallo-m", "--size", "3", "--layers", "2"]
        + ["--embed", "8", "--model-dim", "8", "--heads", "2", "--gradient-steps", "1"]
        + ["--window", "1", "--stages", "2", "3", "--replay", "0.5", "--users", "2", "3"]
        + ["--antennas", "2", "3", "--no-second-order", "--no-lifted"]
        + ["--steps", "3", "--batch-size", "8", "--warmup", "1", "--out", str(out)]
    )
    model, card = checkpoint.load(out)
    draw = card["training"]["draw"]
    assert draw["antennas"] == [2, 3] and draw["stages"] == [2, 3] and draw["replay"] == 0.5
    assert (model.config.size, model.config.second_order, model.config.lifted) == (3, False, False)
    for arguments in (
        ["--model", "sallo-m", "--num-antennas", "8"],
        ["--model", "sallo-m", "--rzf-features"],
        ["--model", "sallo-m", "--hidden", "8"],
        ["--model", "bert4beam", "--window", "2"],
    ):
        with pytest.raises(SystemExit) as exit_:
            training.main([*arguments, "--out", str(out)])
        assert exit_.value.code == 2
        assert f"unrecognized arguments: {arguments[2]}" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        training.main(["--model", "sallo-m", "--users", "20", "--out", str(out)])
    assert exit_.value.code == 2
    assert "K, N <= 16" in capsys.readouterr().err


def test_fine_tuning_adds_a_refinement_or_changes_the_utility(tmp_path, capsys):
    base = training.train(config(3), tmp_path / "base", progress=False)
    arguments = ["--model", "sallo-m", "--init-from", str(tmp_path / "base"), "--refine-steps", "2"]
    arguments += ["--utility", "energy_efficiency"]
    arguments += ["--users", "2", "3", "--antennas", "2", "3", "--steps", "2", "--batch-size", "8"]
    training.main([*arguments, "--warmup", "1", "--out", str(tmp_path / "tuned")])
    tuned, card = checkpoint.load(tmp_path / "tuned")
    assert (tuned.config.refine_steps, tuned.config.utility) == (2, "energy_efficiency")
    assert card["training"]["init_from"] == str(tmp_path / "base")
    assert tuned.config.embed == base.config.embed and tuned.refine_eta.shape == (2, 2)
    start = config(0, init_from=str(tmp_path / "base"))
    start.model_config = start.model_config | {"refine_steps": 2}
    for a, b in zip(
        base.blocks.parameters(), start.initial_model().blocks.parameters(), strict=True
    ):
        torch.testing.assert_close(a, b)
    with pytest.raises(ValueError, match="can only gain a refinement"):
        with_refinement(base, SalloConfig(**(SMALL | {"size": 4, "embed": 16})))
    training.train(training_bert4beam(), tmp_path / "bert", progress=False)
    with pytest.raises(SystemExit) as exit_:
        training.main(
            [*arguments[:2], "--init-from", str(tmp_path / "bert"), "--out", str(tmp_path / "x")]
        )
    assert exit_.value.code == 2
    assert "holds a bert4beam, not a sallo-m" in capsys.readouterr().err


def training_bert4beam() -> checkpoint.TrainingConfig:
    return checkpoint.TrainingConfig(
        model="bert4beam",
        model_config={"num_antennas": 3, "hidden": 8, "heads": 2, "layers": 1, "feedforward": 8},
        draw={"users": (2,)},
        steps=0,
        batch_size=8,
    )


def test_torchrun_two_processes_on_gloo(tmp_path):
    out = tmp_path / "ddp"
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2"]
    command += ["--master-port", "29521", "-m", "agents.learned.training", "--model", "sallo-m"]
    command += ["--size", "3", "--layers", "2", "--embed", "8"]
    command += ["--model-dim", "8", "--heads", "2", "--gradient-steps", "1", "--window", "1"]
    command += ["--users", "2", "3", "--antennas", "2", "3"]
    command += ["--steps", "4", "--batch-size", "16", "--warmup", "2"]
    result = subprocess.run(
        command + ["--out", str(out)], capture_output=True, text=True, timeout=240
    )
    assert result.returncode == 0, result.stderr[-2000:]
    _, card = checkpoint.load(out)
    assert card["training"]["steps"] == 4


@pytest.mark.parametrize("name", ["energy_efficiency", "min_rate"])
def test_the_untrained_steps_ascend_the_models_own_utility(name, torch_rng):
    """The gradient steps follow the model's utility (the min rate through its soft-min)."""
    torch.manual_seed(0)
    net = Sallo(SalloConfig(**(SMALL | {"utility": name, "refine_steps": 10}))).eval()
    H, power, noise = problems(torch_rng, batch=200)
    W0 = rzf_beamformer(H, power, noise)

    def value(W):
        return utility(name, rates(H, W, noise), power_used=transmit_power(W)).mean()

    assert value(solve(net, H, power, noise)) > value(W0)
