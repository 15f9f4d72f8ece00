"""Agent specs, line-ups, shards and agents built from factories."""

import gymnasium as gym
import numpy as np
import pytest
import torch

import agents
from agents import count_parameters, rl
from agents.adapters import PolicySolver, SolverPolicy
from benchmarks.episodes import draw_channels
from benchmarks.lineup import (
    CLASSICAL,
    AgentSpec,
    build_agent,
    default_agents,
    line_up,
    parse_agent,
    shard_of,
)
from benchmarks.scoring import evaluate
from benchmarks.suites import Configuration


@pytest.mark.parametrize(
    "text, target, kwargs, label",
    [
        ("wmmse", "wmmse", {}, "wmmse"),
        (
            " wmmse-best( num_random=2 ) ",
            "wmmse-best",
            {"num_random": 2},
            "wmmse-best(num_random=2)",
        ),
        (
            "pkg.mod:make(b='x', a=[1, 2.5])",
            "pkg.mod:make",
            {"a": [1, 2.5], "b": "x"},
            "pkg.mod:make(a=[1, 2.5], b='x')",
        ),
    ],
)
def test_specs_parse_to_a_canonical_label(text, target, kwargs, label):
    spec = parse_agent(text)
    assert (spec.target, dict(spec.kwargs), spec.label) == (target, kwargs, label)
    assert parse_agent(spec.label) == spec


@pytest.mark.parametrize("text", ["", "wmmse(3)", "wmmse(x=y)", "wmmse(**k)", "a b", "wmmse(x=1"])
def test_malformed_specs_raise(text):
    with pytest.raises(ValueError, match="agent spec must be"):
        parse_agent(text)


def test_default_line_up_adds_the_task_reference():
    defaults = default_agents()
    assert defaults[: len(CLASSICAL)] == list(CLASSICAL)
    assert {"wmmse", "wmmse(multiplier='exact')", "wmmse-best"} <= set(CLASSICAL)
    assert not {"maxmin", "pf", "ee"} & set(defaults)
    assert set(rl.shipped()) <= set(defaults)  # RL algorithms join when they have checkpoints
    assert not (set(rl.AGENTS) - set(rl.shipped())) & set(defaults)
    specs = [parse_agent(a) for a in ("zf", "zf", "wmmse(tolerance=0.1)")]
    assert [s.label for s in line_up("min_rate", specs)] == ["zf", "wmmse(tolerance=0.1)", "maxmin"]
    assert [s.label for s in line_up("sum_rate", specs)][-1] == "wmmse"
    assert [s.label for s in line_up(None, specs)] == ["zf", "wmmse(tolerance=0.1)"]


def test_shards_partition_units_deterministically():
    units = [(f"config{c}", f"agent{a}") for c in range(10) for a in range(8)]
    shards = [shard_of(c, a, 3) for c, a in units]
    assert shards == [shard_of(c, a, 3) for c, a in units]
    assert set(shards) == {0, 1, 2} and max(map(shards.count, range(3))) < 40


class MRTModel:
    """A stand-in for a trained stable-baselines3 model with a torch network."""

    def __init__(self, env):
        self.inner = SolverPolicy(agents.make("mrt"), env)
        self.policy = torch.nn.Linear(3, 2)

    def predict(self, obs, deterministic=True):
        return self.inner.predict(obs)


def mrt_model(env):
    return MRTModel(env)


def test_a_policy_factory_is_wrapped_and_scored_like_its_solver():
    config = Configuration("c", "MISO-SumRate-v0", {"num_users": 3, "num_antennas": 4}, (1, 2), 2)
    env = gym.make(config.env_id, **config.kwargs)
    agent = build_agent(AgentSpec(f"{__name__}:mrt_model"), env)
    assert isinstance(agent, PolicySolver) and count_parameters(agent) == 8
    assert count_parameters(agents.make("wmmse")) is None
    channels = draw_channels(config)
    policy, solver = evaluate(agent, channels), evaluate(agents.make("mrt"), channels)
    assert policy.status == solver.status == "ok"
    np.testing.assert_allclose(policy.metrics["utility"], solver.metrics["utility"], rtol=1e-4)


def test_factories_must_return_an_agent():
    env = gym.make("MISO-SumRate-v0")
    with pytest.raises(ValueError, match="must return a solver"):
        build_agent(AgentSpec("builtins:dict"), env)
    with pytest.raises(ValueError, match="callable factory"):
        build_agent(AgentSpec("agents:no_such_thing"), env)


def test_the_readme_example_agent_builds_from_its_spec_and_equals_mrt(torch_rng):
    env = gym.make("MISO-SumRate-v0")
    agent = build_agent(parse_agent("examples.my_agent:ScaledMRT"), env)
    H = torch.randn(5, 3, 4, dtype=torch.complex128, generator=torch_rng)
    torch.testing.assert_close(agent.solve(H, power=7.0), agents.make("mrt").solve(H, power=7.0))
