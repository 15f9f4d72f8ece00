"""The solver contract, checked on every registered agent."""

import numpy as np
import pytest
import torch

import agents
from agents import rl
from agents.learned import training
from agents.learned.checkpoint import TrainingConfig
from beamgym.downlink import rates, transmit_power
from beamgym.layout import TASKS

# utility each agent is asked to optimise, and the smallest (K, N) it must handle
TASK = {"ee": "energy_efficiency", "maxmin": "min_rate", "pf": "proportional_fair"}
FAST_CONFIG = {"wmmse-best": {"num_random": 2, "max_iterations": 100}}


def channel(generator: torch.Generator, batch: int, users: int, antennas: int) -> torch.Tensor:
    return torch.randn(batch, users, antennas, dtype=torch.complex128, generator=generator)


@pytest.fixture(scope="session", autouse=True)
def untrained_checkpoints(tmp_path_factory) -> None:
    """Untrained RL policies serving every utility at K <= 4, N <= 5, an untrained
    BERT4beam at N = 5 (the sizes used here), an untrained UBERT serving every utility and an
    untrained SALLO-M padded to 5 x 5 with a refinement: the contract concerns the agent, not how well its model was trained."""
    folder = tmp_path_factory.mktemp("checkpoints")
    small = {"num_antennas": 5, "hidden": 16, "heads": 2, "layers": 1, "feedforward": 32}
    training.train(
        TrainingConfig(model_config=small, steps=0), folder / "bert4beam", progress=False
    )
    FAST_CONFIG["bert4beam"] = {"checkpoint": str(folder / "bert4beam")}
    tiny = {"hidden": 16, "heads": 2, "layers": 1, "feedforward": 32, "rzf_features": True}
    training.train(
        TrainingConfig(
            model="ubert",
            model_config=tiny,
            draw={"utilities": TASKS, "antennas": (5,)},
            steps=0,
        ),
        folder / "ubert",
        progress=False,
    )
    FAST_CONFIG["ubert"] = {"checkpoint": str(folder / "ubert")}
    sallo = {"size": 5, "layers": 1, "embed": 8, "model_dim": 8, "refine_steps": 2}
    training.train(
        TrainingConfig(
            model="sallo-m",
            model_config=sallo,
            draw={"users": (2,), "antennas": (5,)},
            steps=0,
        ),
        folder / "sallo-m",
        progress=False,
    )
    FAST_CONFIG["sallo-m"] = {"checkpoint": str(folder / "sallo-m")}
    for algorithm in rl.HYPERPARAMETERS:
        for action in rl.ACTIONS:
            name = rl.agent_name(algorithm, action)
            checkpoint = rl.Checkpoint(
                algorithm,
                "MISO-MultiTask-v0",
                {"num_users": [1, 4], "num_antennas": [1, 5], "snr_db": [-5, 30], "action": action},
                rl.HYPERPARAMETERS[algorithm],
                steps=0,
                seed=0,
            )
            rl.save(rl.build_model(checkpoint), checkpoint, folder / name)
            FAST_CONFIG[name] = {"checkpoint": str(folder / name)}


def solver_for(name: str) -> agents.Solver:
    return agents.make(name, **FAST_CONFIG.get(name, {}))


def tolerances(name: str) -> dict[str, float]:
    """Agreement expected between two computations of the same beamformer in the agent's
    precision (a float32 network's batched and single products round differently)."""
    return (
        {"rtol": 1e-6, "atol": 1e-8}
        if solver_for(name).dtype == "float64"
        else {"rtol": 1e-4, "atol": 1e-6}
    )


def solve(name: str, H, **kwargs):
    return solver_for(name).solve(H, utility=TASK.get(name), **kwargs)


@pytest.fixture(params=agents.available())
def name(request) -> str:
    return request.param


def test_registry_lists_every_reference_solver():
    expected = {"mrt", "zf", "zf-wf", "rzf", "wmmse", "wmmse-best", "maxmin", "ee", "pf"}
    assert expected <= set(agents.available())


def test_shape_dtype_feasibility(name, torch_rng):
    H = channel(torch_rng, 6, 3, 4)
    power = torch.tensor([0.5, 1.0, 3.0, 10.0, 100.0, 1000.0], dtype=torch.float64)
    W = solve(name, H, power=power)
    assert W.shape == (6, 4, 3) and W.dtype == torch.complex128
    assert torch.isfinite(torch.view_as_real(W)).all()
    assert (transmit_power(W) <= power * (1 + 1e-9)).all()


def test_output_follows_input_dtype_and_numpy(name, torch_rng):
    H = channel(torch_rng, 2, 2, 3)
    assert solve(name, H.to(torch.complex64), power=10.0).dtype == torch.complex64
    W = solve(name, H.numpy(), power=10.0)
    assert isinstance(W, np.ndarray) and W.shape == (2, 3, 2)


def test_batched_equals_per_sample(name, torch_rng):
    H = channel(torch_rng, 4, 3, 4)
    power = torch.tensor([1.0, 10.0, 100.0, 5.0], dtype=torch.float64)
    batched = solve(name, H, power=power)
    for b in range(4):
        alone = solve(name, H[b : b + 1], power=power[b : b + 1])
        torch.testing.assert_close(batched[b : b + 1], alone, **tolerances(name))


def test_masks_give_the_dense_answer_and_zero_padding(name, torch_rng):
    """A padded sample gets the beamformer of its active sub-problem, zeros elsewhere."""
    H = channel(torch_rng, 3, 4, 5)
    user_mask = torch.tensor([[1, 1, 1, 1], [1, 0, 1, 0], [0, 1, 1, 1]])
    antenna_mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 0, 1, 1, 1]])
    W = solve(name, H, power=10.0, user_mask=user_mask, antenna_mask=antenna_mask)
    for b in range(3):
        users = torch.nonzero(user_mask[b])[:, 0]
        ants = torch.nonzero(antenna_mask[b])[:, 0]
        dense = solve(name, H[b : b + 1][:, users][:, :, ants], power=10.0)
        torch.testing.assert_close(W[b][ants][:, users], dense[0], **tolerances(name))
        inactive = ~(antenna_mask[b][:, None].bool() & user_mask[b][None, :].bool())
        assert (W[b][inactive] == 0).all()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"H": torch.randn(2, 3), "power": 1.0}, "H must be a complex tensor"),
        ({"H": torch.randn(2, 3, 4), "power": 1.0}, "H must be a complex tensor"),
        ({"H": torch.full((1, 2, 2), complex("nan")), "power": 1.0}, "NaN"),
        ({"power": 0.0}, "power must be finite and > 0"),
        ({"power": -1.0}, "power must be finite and > 0"),
        ({"power": float("inf")}, "power must be finite and > 0"),
        ({"power": torch.ones(5)}, "power must be a positive number"),
        ({"power": 1.0, "noise_power": 0.0}, "noise_power must be finite and > 0"),
        ({"power": 1.0, "weights": -torch.ones(2)}, "weights must be finite and >= 0"),
        ({"power": 1.0, "user_mask": torch.zeros(2, 2)}, "at least one active"),
        ({"power": 1.0, "user_mask": torch.ones(2, 3)}, "user_mask must have shape"),
    ],
)
def test_bad_input_is_rejected_with_a_clear_error(name, kwargs, message):
    kwargs = {"H": torch.randn(2, 2, 3, dtype=torch.complex128), **kwargs}
    with pytest.raises(ValueError, match=message):
        solve(name, **kwargs)


def test_unknown_agent_and_config_are_rejected():
    with pytest.raises(ValueError, match="agent must be one of"):
        agents.make("nope")
    with pytest.raises(ValueError, match="unknown keyword .iterations. Allowed: dtype"):
        agents.make("zf", iterations=3)
    with pytest.raises(ValueError, match="dtype must be one of"):
        agents.make("mrt", dtype="float16")


def test_a_utility_the_solver_does_not_optimise_is_rejected():
    with pytest.raises(ValueError, match="optimises utility in"):
        agents.make("wmmse").solve(
            torch.randn(1, 2, 2, dtype=torch.complex128), power=1.0, utility="min_rate"
        )


def test_rates_of_every_solver_are_positive_and_finite(name, torch_rng):
    H = channel(torch_rng, 8, 3, 4)
    W = solve(name, H, power=10.0)
    r = rates(H, W)
    assert torch.isfinite(r).all() and (r >= 0).all() and (r.sum(-1) > 0).all()


def test_config_rebuilds_the_same_solver(name):
    solver = solver_for(name)
    assert agents.make(name, **solver.config()).config() == solver.config()


@pytest.mark.parametrize("power, noise", [(0.1, 0.3), (10**1.5, 1.0), (7, 2)])
def test_python_numbers_keep_their_precision(name, power, noise, torch_rng):
    """A Python float budget is not rounded to float32 on its way in: the full-power
    solvers spend it to float64 precision, and none exceeds it."""
    H = channel(torch_rng, 3, 2, 4)
    W = solve(name, H, power=power, noise_power=noise)
    assert (transmit_power(W) / power - 1 <= 1e-12).all()


@pytest.mark.parametrize("bad", [True, "10", [1.0, 2.0], complex(1, 1), float("nan"), -1.0, 0])
def test_bad_budgets_are_errors_naming_the_parameter(bad, torch_rng):
    H = channel(torch_rng, 3, 2, 4)
    for keyword in ("power", "noise_power"):
        arguments = {"power": 10.0, keyword: bad}
        with pytest.raises(ValueError, match=keyword):
            agents.make("mrt").solve(H, **arguments)


def test_a_misspelt_solver_setting_is_answered_with_the_closest_one(name):
    with pytest.raises(ValueError, match=f"agents.make\\({name!r}\\): unknown keyword 'dtyp'"):
        agents.make(name, dtyp="float64")
    with pytest.raises(ValueError, match="did you mean 'max_iterations'"):
        agents.make("wmmse", max_iter=10)
