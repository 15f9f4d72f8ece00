"""Every registered learned model (``agents.learned.checkpoint.MODELS``) through the one
interface: a short training run improves its utility, its checkpoint round-trips exactly, it
is an agent serving feasible beamformers, and the training command line has its options."""

import json
import re
import typing
from dataclasses import asdict, fields

import pytest
import torch

import agents
from agents.learned import objective, training
from agents.learned.checkpoint import MODELS, TrainingConfig, load
from agents.learned.fixed_size import FixedSizeModel
from agents.learned.model import LearnedModel, Sampler, draw_problem, from_dict
from agents.problem import make_problem
from beamgym.downlink import rates, transmit_power
from beamgym.utilities import utility
from tests.agents.learned.interruption import interrupt_at_draw

SMALL: dict[str, tuple[dict, dict]] = {
    "bert4beam": (
        {"num_antennas": 3, "hidden": 16, "heads": 2, "layers": 1, "feedforward": 32},
        {"users": (2, 3)},
    ),
    "ubert": (
        {"hidden": 16, "heads": 2, "layers": 1, "feedforward": 32},
        {"users": (2, 3), "antennas": (3,)},
    ),
    "sallo-m": (
        {"size": 4, "layers": 2, "embed": 8, "model_dim": 8, "gradient_steps": 1},
        {"users": (2, 3), "antennas": (3, 4)},
    ),
    "mlp": ({"num_users": 3, "num_antennas": 4, "hidden": 16, "depth": 2}, {"users": (3,)}),
    "bnn": ({"num_users": 3, "num_antennas": 4, "filters": 2, "hidden": 16}, {"users": (3,)}),
    "gnn": ({"hidden": 8, "layers": 3}, {"users": (2, 3), "antennas": (3, 4)}),
    "unfolded-wmmse": ({"layers": 2, "pgd_steps": 2}, {"users": (2, 3), "antennas": (3, 4)}),
}
"""A small ``(model_config, draw)`` of each registered model: a few seconds of training."""

STEPS = 200
"""The steps of the run that must improve the utility (about a second each on 2 CPU cores)."""

MARGIN = 0.01
"""The least gain of the mean relative utility over those steps. SALLO-M starts above RZF
(its untrained layers are RZF and gradient ascent) and gains about 0.02 here; the others
start far below it and gain about 0.4."""

REGISTERED = pytest.mark.parametrize("cls", list(MODELS.values()), ids=list(MODELS))


def small(cls: type[LearnedModel]) -> tuple[dict, dict]:
    if cls.name not in SMALL:
        pytest.fail(
            f"the registered model {cls.name!r} has no small setting: add its "
            f"(model_config, draw) to SMALL in {__file__}"
        )
    return SMALL[cls.name]


def config(cls: type[LearnedModel], steps: int) -> TrainingConfig:
    model_config, draw = small(cls)
    return TrainingConfig(
        model=cls.name,
        model_config=model_config,
        draw=draw,
        steps=steps,
        batch_size=32,
        learning_rate=1e-2,
        warmup=5,
    )


def fixed_problems(config: TrainingConfig, batch: int = 256):
    """Problems of the run's first utility at its largest trained size, drawn with a fixed
    generator, and that utility."""
    model, options = config.build(), config.options()
    utility = model.utilities(options)[0]
    users, antennas = max(model.trained_sizes(options))
    sampler = Sampler(torch.Generator().manual_seed(123))
    return draw_problem(sampler, batch, users, antennas, options.snr_db, utility), utility


def beamformers(model: LearnedModel, problem) -> torch.Tensor:
    with torch.no_grad():
        return model.eval()(problem)


def mean_relative(model: LearnedModel, problem, utility: str) -> float:
    W = beamformers(model, problem)
    relative = objective.relative_utility(
        utility,
        problem.H,
        W,
        problem.power,
        problem.noise_power,
        problem.weights,
        problem.user_mask,
    )
    return float(relative.mean())


def canonical(config: TrainingConfig) -> TrainingConfig:
    """``config`` with every field of its model's Config and Draw, as the dataclasses hold
    them (a card's JSON has lists where they have tuples)."""
    cls = config.model_class()
    model_config = asdict(from_dict(cls.Config, config.model_config))
    return TrainingConfig(
        **(asdict(config) | {"model_config": model_config, "draw": asdict(config.options())})
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> dict[str, tuple[LearnedModel, TrainingConfig, str]]:
    """A few steps of every registered model: the model, its configuration and checkpoint."""
    folder, runs = tmp_path_factory.mktemp("models"), {}
    for name, cls in MODELS.items():
        if name in SMALL:
            run = config(cls, steps=3)
            out = folder / name
            runs[name] = (training.train(run, out, progress=False), run, str(out))
    return runs


def test_every_registered_model_has_a_small_setting():
    missing = sorted(set(MODELS) - set(SMALL))
    assert not missing, f"add a small (model_config, draw) to SMALL for {missing}"
    assert not set(SMALL) - set(MODELS), "SMALL names a model that is not registered"


@REGISTERED
def test_a_short_training_run_improves_the_relative_utility(cls, tmp_path):
    problem, utility = fixed_problems(config(cls, 0))
    start = training.train(config(cls, 0), tmp_path / "start", progress=False)
    end = training.train(config(cls, STEPS), tmp_path / "end", progress=False)
    before, after = mean_relative(start, problem, utility), mean_relative(end, problem, utility)
    assert after > before + MARGIN, (cls.name, utility, before, after)


@REGISTERED
def test_a_checkpoint_round_trips_exactly(cls, trained):
    small(cls)
    model, run, out = trained[cls.name]
    loaded, card = load(out)
    assert type(loaded) is cls and loaded.config == model.config
    problem, _ = fixed_problems(run, batch=16)
    assert torch.equal(beamformers(loaded, problem), beamformers(model, problem))
    stored = card["training"]
    assert set(stored["model_config"]) == {f.name for f in fields(cls.Config)}  # the whole model
    assert set(stored["draw"]) == {f.name for f in fields(cls.Draw)}
    assert canonical(TrainingConfig.from_dict(stored)) == canonical(run)


@REGISTERED
def test_resume_after_an_interruption_gives_the_same_weights(cls, tmp_path, monkeypatch):
    run = config(cls, steps=6)
    whole = training.train(run, tmp_path / "whole", progress=False, curve_every=2)
    interrupt_at_draw(monkeypatch, 4)
    with pytest.raises(KeyboardInterrupt):
        training.train(run, tmp_path / "split", progress=False, curve_every=2)
    monkeypatch.undo()
    assert torch.load(tmp_path / "split.train.pt", weights_only=True)["step"] == 3
    resumed = training.train(run, tmp_path / "split", resume=True, progress=False, curve_every=2)
    for a, b in zip(whole.parameters(), resumed.parameters(), strict=True):
        torch.testing.assert_close(a, b)
    curves = [
        json.loads((tmp_path / f"{name}.json").read_text())["curve"] for name in ("whole", "split")
    ]
    assert [samples for samples, _ in curves[0]] == [0, 64, 128, 192]  # batch 32, every 2 steps
    assert curves[0] == curves[1]  # the curve is kept across the interruption
    problem = training.validation_problems(whole, run.options())  # the last point, as an agent
    solver = agents.make(cls.name, checkpoint=str(tmp_path / "whole"))
    W = solver.solve(
        problem.H, power=problem.power, noise_power=problem.noise_power, utility=problem.utility
    )
    value = utility(problem.utility, rates(problem.H, W), power_used=transmit_power(W))
    assert float(value.mean()) == pytest.approx(curves[0][-1][1], rel=1e-5)
    with pytest.raises(ValueError, match="another configuration"):
        training.train(config(cls, steps=7), tmp_path / "split", resume=True, progress=False)


@REGISTERED
def test_every_registered_model_is_an_agent_with_feasible_beamformers(cls, trained, torch_rng):
    small(cls)
    _, run, out = trained[cls.name]
    solver = agents.make(cls.name, checkpoint=out)
    problem, utility = fixed_problems(run, batch=8)
    _, users, antennas = problem.H.shape
    H = torch.randn(8, users, antennas, dtype=torch.complex128, generator=torch_rng)
    power = torch.logspace(-1, 3, 8, dtype=torch.float64)
    W = solver.solve(H, power=power, utility=utility)
    assert W.shape == (8, antennas, users) and W.dtype == torch.complex128
    assert torch.isfinite(torch.view_as_real(W)).all()
    assert (transmit_power(W) <= power * (1 + 1e-6)).all()


def flags(cls: type) -> set[str]:
    """The command-line flags of the dataclass ``cls``'s fields: ``--name`` (underscores as
    dashes), and ``--no-name`` for a bool."""
    hints = typing.get_type_hints(cls)
    names = set()
    for entry in fields(cls):
        flag = "--" + entry.name.replace("_", "-")
        names |= {flag, "--no-" + flag[2:]} if hints[entry.name] is bool else {flag}
    return names


@REGISTERED
def test_the_training_command_line_has_an_option_per_field(cls, capsys):
    with pytest.raises(SystemExit) as exit_:
        training.main(["--model", cls.name, "--help"])
    assert exit_.value.code == 0
    listed = set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", capsys.readouterr().out))
    own = flags(cls.Config) | flags(cls.Draw)
    assert own <= listed, sorted(own - listed)
    assert {"--steps", "--batch-size", "--learning-rate", "--warmup", "--seed"} <= listed
    others = set().union(*(flags(c.Config) | flags(c.Draw) for c in MODELS.values())) - own
    assert not others & listed, sorted(others & listed)  # no other model's options


def untrained(cls: type[LearnedModel]) -> LearnedModel:
    torch.manual_seed(0)
    return TrainingConfig(model=cls.name, model_config=small(cls)[0]).build().eval()


@pytest.mark.parametrize("cls", [c for c in MODELS.values() if c.reads_masks], ids=lambda c: c.name)
def test_a_padded_batch_gives_each_sample_its_dense_problems_beamformer(cls, torch_rng):
    """Every model that reads masks (the solver hands it padded batches whole): padded users
    and antennas get zero entries, whatever their channel holds, and the active part is the
    dense sub-problem's beamformer."""
    net = untrained(cls)
    utility = net.utilities(TrainingConfig(model=cls.name, model_config=small(cls)[0]).options())
    H = torch.randn(3, 3, 4, dtype=torch.complex64, generator=torch_rng)
    power, noise = torch.tensor([1.0, 10.0, 100.0]), torch.ones(3)
    user_mask = torch.tensor([[1, 1, 1], [1, 0, 1], [0, 1, 1]], dtype=torch.bool)
    antenna_mask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 1], [1, 0, 1, 1]], dtype=torch.bool)
    padded = make_problem(
        H, power, noise, utility=utility[0], user_mask=user_mask, antenna_mask=antenna_mask
    )
    W = beamformers(net, padded)
    for b in range(3):
        users, antennas = torch.nonzero(user_mask[b])[:, 0], torch.nonzero(antenna_mask[b])[:, 0]
        dense = make_problem(
            H[b : b + 1][:, users][:, :, antennas],
            power[b : b + 1],
            noise[b : b + 1],
            utility=utility[0],
        )
        torch.testing.assert_close(W[b][antennas][:, users], beamformers(net, dense)[0])
        assert (W[b][~(antenna_mask[b][:, None] & user_mask[b][None, :])] == 0).all()


@pytest.mark.parametrize(
    "cls", [c for c in MODELS.values() if issubclass(c, FixedSizeModel)], ids=lambda c: c.name
)
def test_a_fixed_size_model_serves_smaller_problems_and_names_the_size_of_larger(cls, torch_rng):
    net = untrained(cls)
    users, antennas = net.config.num_users, net.config.num_antennas
    for k, n in ((users, antennas), (users - 1, antennas), (users, antennas - 1)):
        H = torch.randn(4, k, n, dtype=torch.complex64, generator=torch_rng)
        W = beamformers(net, make_problem(H, torch.full((4,), 10.0), utility="sum_rate"))
        assert W.shape == (4, n, k)
        torch.testing.assert_close(transmit_power(W), torch.full((4,), 10.0))
    H = torch.randn(4, users + 1, antennas, dtype=torch.complex64, generator=torch_rng)
    with pytest.raises(ValueError, match=f"K={users} users and N={antennas} antennas"):
        beamformers(net, make_problem(H, torch.full((4,), 10.0), utility="sum_rate"))
    with pytest.raises(ValueError, match="users: a .* trains on"):
        TrainingConfig(
            model=cls.name, model_config=small(cls)[0], draw={"users": (users, users + 1)}
        ).build()
