"""Built-in suites and suite files."""

import json

import gymnasium as gym
import pytest

from benchmarks.episodes import draw_channels
from benchmarks.suites import SUITES, SuiteError, get_suite, load_suite, parse_suite

UTILITIES = {"sum_rate", "weighted_sum_rate", "min_rate", "proportional_fair", "energy_efficiency"}


def utility_of(config) -> str:
    return {**gym.registry[config.env_id].kwargs, **config.kwargs}.get("utility", "sum_rate")


@pytest.mark.parametrize("name", ["smoke", "standard"])
def test_the_leaderboard_suites_cover_every_task(name):
    suite = SUITES[name]
    assert {utility_of(c) for c in suite.configurations} == UTILITIES
    assert any(isinstance(c.kwargs["num_users"], list) for c in suite.configurations)
    assert any(c.kwargs.get("channel") == "sparse" for c in suite.configurations)
    assert all(c.env_id in gym.registry for c in suite.configurations)
    assert parse_suite(suite.to_dict()) == suite


def test_standard_suite_is_the_published_grid():
    suite = SUITES["standard"]
    assert all(c.num_channels == 200 for c in suite.configurations)
    grid = {
        (c.kwargs["num_users"], c.kwargs["num_antennas"], c.kwargs["snr_db"])
        for c in suite.configurations
        if utility_of(c) == "sum_rate"
        and c.kwargs["channel"] == "rayleigh"
        and isinstance(c.kwargs["num_users"], int)
    }
    for k, n in ((4, 4), (4, 8), (8, 8), (8, 16), (12, 8)):
        assert {(k, n, snr) for snr in (0.0, 10.0, 20.0)} <= grid


def test_overloading_suite_sweeps_the_load_on_both_channels():
    suite = SUITES["overloading"]
    loads = {
        (c.kwargs["num_antennas"], c.kwargs["num_users"] / c.kwargs["num_antennas"])
        for c in suite.configurations
    }
    for n in (8, 16):
        assert {(n, load) for load in (0.25, 0.5, 0.75, 1.0, 1.25, 1.5)} <= loads
    assert {c.kwargs["channel"] for c in suite.configurations} == {"rayleigh", "sparse"}
    assert {c.kwargs["snr_db"] for c in suite.configurations} == {10.0, 20.0}
    assert {utility_of(c) for c in suite.configurations} == {"sum_rate"}
    assert all(c.env_id in gym.registry for c in suite.configurations)
    assert parse_suite(suite.to_dict()) == suite


def test_toml_and_json_files_define_the_same_suite(tmp_path):
    data = {
        "description": "mine",
        "defaults": {
            "env_id": "MISO-SumRate-v0",
            "seeds": {"start": 5, "count": 3},
            "kwargs": {"num_antennas": 4},
        },
        "configurations": [
            {"name": "a", "kwargs": {"num_users": 2}},
            {"name": "b", "env_id": "MISO-MinRate-v0", "seeds": [9, 1], "blocks": 3},
        ],
    }
    (tmp_path / "mine.json").write_text(json.dumps(data))
    (tmp_path / "mine.toml").write_text(
        'description = "mine"\n[defaults]\nenv_id = "MISO-SumRate-v0"\n'
        "seeds = {start = 5, count = 3}\nkwargs = {num_antennas = 4}\n"
        '[[configurations]]\nname = "a"\nkwargs = {num_users = 2}\n'
        '[[configurations]]\nname = "b"\nenv_id = "MISO-MinRate-v0"\nseeds = [9, 1]\nblocks = 3\n'
    )
    suite = load_suite(tmp_path / "mine.toml")
    assert suite == load_suite(tmp_path / "mine.json") == get_suite(str(tmp_path / "mine.toml"))
    assert suite.name == "mine"
    a, b = suite.configurations
    assert (
        a.kwargs == {"num_antennas": 4, "num_users": 2} and a.seeds == (5, 6, 7) and a.blocks == 10
    )
    assert b.env_id == "MISO-MinRate-v0" and b.seeds == (9, 1) and b.num_channels == 6


@pytest.mark.parametrize(
    "data, message",
    [
        ([], "a suite must be a table"),
        ({"configurations": [{"name": "a", "env_id": "X", "seeds": [1, 1]}]}, "distinct"),
        ({"configurations": [{"name": "a", "env_id": "X", "seeds": [1], "blocks": 0}]}, "blocks"),
        *[
            ({"configurations": [{"name": "a", "env_id": "X", "seeds": seeds}]}, r"2\*\*63 - 1")
            for seeds in ([2**64], [-1], {"start": 2**63 - 1, "count": 2})
        ],
        ({"configurations": [{"name": "a", "env_id": "X", "seeds": [1], "kwargs": 3}]}, "kwargs"),
        ({"configurations": [{"name": "a", "env_id": "X", "seeds": [1]}] * 2}, "unique"),
        ({"defaults": {"name": "a"}, "configurations": [{}]}, "defaults must be a table"),
        (
            {
                "configurations": [
                    {"name": "a", "env_id": "X", "seeds": [1], "kwargs": {"max_episode_steps": 2}}
                ]
            },
            "use blocks",
        ),
    ],
)
def test_malformed_suites_name_the_problem(data, message):
    with pytest.raises(SuiteError, match=message) as error:
        parse_suite(data, "my.json", default_name="mine")
    assert str(error.value).startswith("my.json")


def test_unknown_names_and_extensions():
    with pytest.raises(SuiteError, match=r"one of \['overloading', 'smoke', 'standard'\]"):
        get_suite("smok")
    with pytest.raises(SuiteError, match="must end in .toml or .json"):
        load_suite("suite.yaml")
    with pytest.raises(SuiteError, match="cannot read suite file"):
        load_suite("/no/such/suite.toml")


def test_the_largest_seed_draws_and_is_stored(tmp_path):
    """2**63 - 1 is allowed: it seeds the environment and fits the results' int64."""
    suite = parse_suite(
        {
            "configurations": [
                {
                    "name": "a",
                    "env_id": "MISO-SumRate-v0",
                    "seeds": [2**63 - 1],
                    "blocks": 1,
                    "kwargs": {"num_users": 2, "num_antennas": 2},
                }
            ]
        },
        "my.json",
        default_name="mine",
    )
    assert draw_channels(suite.configurations[0]).seed.tolist() == [2**63 - 1]
