"""The smoke suite end to end on the classical agents, checked against beamgym's physics."""

import json

import gymnasium as gym
import numpy as np
import pytest
import torch

import agents
from beamgym import score
from benchmarks.cli import main
from benchmarks.results import ResultsFolder
from benchmarks.suites import SUITES

CLASSICAL = ["mrt", "zf", "zf-wf", "rzf", "wmmse", "wmmse-best"]
SUM_RATES = ("sum_rate", "weighted_sum_rate")


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    out = tmp_path_factory.mktemp("smoke") / "results"
    command = ["run", "--suite", "smoke", "--out", str(out), "--agents", *CLASSICAL]
    status = main([*command, "--save-beamformers", "--no-progress", "--threads", "1"])
    assert status == 0
    folder = ResultsFolder(out)
    summary = json.loads((out / "summary.json").read_text())["rows"]
    return folder, folder.units(), {(r["config"], r["agent"]): r for r in summary}


def stored(folder: ResultsFolder, config: str) -> dict[str, np.ndarray]:
    with np.load(folder.channels_path(config), allow_pickle=False) as data:
        return dict(data)


def test_every_unit_ran(smoke):
    _, units, _ = smoke
    suite = SUITES["smoke"]
    references = {"min_rate": "maxmin", "proportional_fair": "pf", "energy_efficiency": "ee"}
    for config in suite.configurations:
        utility = units[(config.name, "mrt")]["utility"]
        expected = CLASSICAL + ([references[utility]] if utility in references else [])
        for agent in expected:
            record = units[(config.name, agent)]
            overloaded = config.kwargs["num_users"] == 6 and agent in ("zf", "zf-wf")
            assert record["status"] == ("not-applicable" if overloaded else "ok"), record["reason"]
    assert "zero forcing needs K <= N" in units[("sum_rate-rayleigh-K6-N4-10dB", "zf")]["reason"]


def test_reference_ratios_and_orderings(smoke):
    _, units, summary = smoke
    for (config, agent), row in summary.items():
        if agent == row["reference"]:
            assert row["ratio_to_reference"] == 1.0
            assert row["ratio_to_reference_low"] == row["ratio_to_reference_high"] == 1.0
        if row["utility"] in SUM_RATES and row["status"] == "ok":
            best = summary[(config, "wmmse-best")]
            assert row["ratio_to_best"] == pytest.approx(row["mean"] / best["mean"])
            if agent in ("zf", "zf-wf"):
                assert row["mean"] <= best["mean"]


def test_sum_rates_stay_below_the_dpc_capacity(smoke):
    folder, units, summary = smoke
    checked = 0
    for (config, agent), record in units.items():
        if record["utility"] != "sum_rate" or record["status"] != "ok":
            continue
        data = stored(folder, config)
        ceiling = data["dpc_capacity"] + data["dpc_gap"]
        assert (np.asarray(record["values"]["sum_rate"]) <= ceiling + 1e-9).all()
        assert summary[(config, agent)]["ratio_to_dpc"] < 1.0
        checked += 1
    assert checked >= 30


def test_rows_equal_a_direct_recomputation(smoke):
    """Score every unit's stored beamformers with beamgym's physics on the stored channels,
    and re-solve them from the stored estimates (but the slow wmmse-best)."""
    folder, units, _ = smoke
    for (config, agent), record in units.items():
        if record["status"] != "ok":
            continue
        data = stored(folder, config)
        padded = not (data["user_mask"].all() and data["antenna_mask"].all())
        masks = {"user_mask": data["user_mask"], "antenna_mask": data["antenna_mask"]}
        with np.load(folder.beamformers_path(config, agent), allow_pickle=False) as saved:
            W = saved["beamformers"]
        if agent != "wmmse-best":
            solved = agents.make(agent, **record["agent_config"]).solve(
                torch.from_numpy(data["estimate"]),
                torch.from_numpy(data["power"]),
                torch.from_numpy(data["noise_power"]),
                utility=record["solved_utility"],
                weights=torch.from_numpy(data["weights"]),
                amplifier_efficiency=float(data["amplifier_efficiency"]),
                circuit_power=float(data["circuit_power"]),
                **({k: torch.from_numpy(v) for k, v in masks.items()} if padded else {}),
            )
            np.testing.assert_array_equal(solved.numpy(), W)
        metrics = score(
            data["channel"],
            W,
            noise_power=data["noise_power"],
            weights=data["weights"],
            user_mask=data["user_mask"] if padded else None,
            amplifier_efficiency=float(data["amplifier_efficiency"]),
            circuit_power=float(data["circuit_power"]),
        )
        values = record["values"]
        np.testing.assert_allclose(values["utility"], metrics[str(data["utility"])], rtol=1e-12)
        np.testing.assert_allclose(values["rates"], metrics["rates"], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(
            values["power_ratio"], metrics["power"] / data["power"], rtol=1e-12
        )


def test_stored_channels_are_the_environments(smoke):
    folder, units, _ = smoke
    config = SUITES["smoke"].configuration("sum_rate-rayleigh-K4-N8-10dB")
    data = stored(folder, config.name)
    env = gym.make(config.env_id, **config.kwargs)
    obs, info = env.reset(seed=config.seeds[1])
    _, _, _, _, step = env.step(env.action_space.sample())
    first = config.blocks  # the second episode's first block
    np.testing.assert_array_equal(data["channel"][first], step["channel"])
    np.testing.assert_allclose(data["estimate"][first], step["channel"], rtol=1e-6, atol=1e-6)
    assert data["power"][first] == pytest.approx(10.0)
    assert json.loads(str(data["env_spec"]))["id"] == config.env_id
    capacity = agents.dpc_capacity(torch.from_numpy(data["channel"]), 10.0).capacity
    np.testing.assert_allclose(data["dpc_capacity"], capacity.numpy())


def test_outputs_record_provenance(smoke):
    folder, units, _ = smoke
    path = folder.path
    leaderboard = (path / "LEADERBOARD.md").read_text()
    assert leaderboard.startswith(f"<!-- Generated by `python -m benchmarks report {path}`")
    assert "sum_rate-rayleigh-K6-N4-10dB" in leaderboard and "n/a" in leaderboard
    summary = (path / "summary.csv").read_text().splitlines()
    assert len(summary) == 1 + len(units)
    episodes = json.loads((path / "episodes.json").read_text())["rows"]
    assert len(episodes) == sum(len(r["seeds"]) for r in units.values())
    for row in episodes[:3]:
        for key in ("beamgym_version", "git_commit", "torch_version", "device", "wall_time_s"):
            assert row[key] not in (None, "")
        assert json.loads(row["env_spec"])["id"].startswith("MISO-")
        assert json.loads(row["agent_config"])["dtype"] == "float64"
    plots = sorted(p.name for p in (path / "plots").glob("*.png"))
    assert any(p.startswith("snr-") for p in plots) and any(p.startswith("users-") for p in plots)
    assert sum(p.startswith("rates-") for p in plots) == len(SUITES["smoke"].configurations)
    assert (path / "plots" / plots[0]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
