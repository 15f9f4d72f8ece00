"""The plots of a results folder: one style per agent name, human titles, units, legends
outside the axes, and "% of reference" plots whose points are the report's numbers."""

import io
import json
import re
from dataclasses import replace

import numpy as np
import pytest

import agents
from beamgym.utilities import UTILITIES
from benchmarks.cli import main
from benchmarks.leaderboard import write_leaderboard
from benchmarks.plots import (
    AXIS_LABELS,
    agent_style,
    rates_figure,
    sweep_figure,
    sweeps,
)
from benchmarks.report import collect, summarize
from benchmarks.results import ResultsFolder

SUITE = """
name = "plots"
[defaults]
seeds = {start = 1, count = 2}
blocks = 2
kwargs = {num_users = 2, num_antennas = 3, snr_db = 10.0, channel = "rayleigh"}

[[configurations]]
name = "sum-rate-0dB"
env_id = "MISO-SumRate-v0"
kwargs = {snr_db = 0.0}

[[configurations]]
name = "sum-rate-10dB"
env_id = "MISO-SumRate-v0"

[[configurations]]
name = "sum-rate-K1to4"
env_id = "MISO-SumRate-v0"
kwargs = {num_users = [1, 4]}

[[configurations]]
name = "pf-0dB"
env_id = "MISO-ProportionalFair-v0"
kwargs = {snr_db = 0.0}

[[configurations]]
name = "pf-10dB"
env_id = "MISO-ProportionalFair-v0"
"""
# seeds 1, 2 draw K = 2 and 4 in the range configuration: its K = 2 channels are pooled with
# the fixed-K configuration's; zf is not applicable there (K > N) and sac everywhere.


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("plots")
    (root / "plots.toml").write_text(SUITE)
    out = root / "results"
    command = ["run", "--suite", str(root / "plots.toml"), "--out", str(out)]
    assert main([*command, "--agents", "mrt", "zf", "sac", "--no-progress", "--threads", "1"]) == 0
    return ResultsFolder(out)


@pytest.fixture(scope="module")
def results(folder):
    return collect(folder)


def by_kind(found):
    return {(s.varied, s.utility): s for s in found}


def curves(figure):
    """Per legend label: the data line (Line2D) of its errorbar curve."""
    axes = figure.axes[0]
    return {c.get_label(): c.lines[0] for c in axes.containers}


def style_of(line):
    return (line.get_color(), line.get_marker(), line.get_linestyle())


def test_registered_agents_have_distinct_styles():
    names = agents.available()
    styles = [agent_style(name) for name in names]
    assert len(set(styles)) == len(names)
    assert len({s.color for s in styles}) == min(len(names), 20)
    for label in ("sallo-m(checkpoint='model.pt')", "examples.my_agent:ScaledMRT"):
        assert agent_style(label) not in styles  # a triple of its own, every time
        assert agent_style(label) == agent_style(label)


def test_an_agents_style_does_not_depend_on_the_other_agents(results):
    without_mrt = []
    for entry in results:
        records = [r for r in entry.records if r["agent"] != "mrt"]
        without_mrt.append(
            replace(entry, records=records, rows=summarize(replace(entry, records=records)))
        )
    for found in (sweeps(results), sweeps(without_mrt)):
        lines = curves(sweep_figure(by_kind(found)["snr_db", "sum_rate"]))
        assert style_of(lines["zf"]) == tuple(agent_style("zf"))
        assert style_of(lines["wmmse"]) == tuple(agent_style("wmmse"))
    assert "mrt" in curves(sweep_figure(by_kind(sweeps(results))["snr_db", "sum_rate"]))


def test_titles_name_the_problem_and_labels_carry_units(results):
    assert set(AXIS_LABELS) == set(UTILITIES) and all("bit/s/Hz" in v for v in AXIS_LABELS.values())
    found = by_kind(sweeps(results))
    assert set(found) == {
        ("snr_db", "sum_rate"),
        ("snr_db", "proportional_fair"),
        ("num_users", "sum_rate"),
    }
    figures = [sweep_figure(s, percent) for s in found.values() for percent in (False, True)]
    figures.append(rates_figure(results[2]))
    for figure in figures:
        axes = figure.axes[0]
        text = axes.get_title()
        assert not re.search(r"\w=\S", text), text  # no key=value slugs
        assert "N = 3" in text and "Rayleigh" in text
        assert ("K = " in text) != ("vs K" in text) and ("dB" in text) != ("vs SNR" in text)
        assert re.search(r"bit/s/Hz|% of ", axes.get_ylabel()) or "bit/s/Hz" in axes.get_xlabel()
    for figure in figures[::3]:  # one of each kind
        figure.savefig(io.BytesIO(), format="png")  # lays the legend out
        axes = figure.axes[0]
        legend, box = axes.get_legend().get_window_extent(), axes.get_window_extent()
        assert legend.x0 >= box.x1  # right of the axes, over no curve
    assert found["snr_db", "sum_rate"].title == "Sum rate vs SNR · K = 2, N = 3 · Rayleigh"
    assert found["num_users", "sum_rate"].title == "Sum rate vs K · N = 3 · Rayleigh · 10 dB"
    assert (
        rates_figure(results[2]).axes[0].get_title().endswith("K = 1–4, N = 3 · Rayleigh · 10 dB")
    )
    snr = sweep_figure(found["snr_db", "proportional_fair"], percent=True).axes[0]
    assert snr.get_xlabel() == "SNR (dB)"
    assert snr.get_ylabel() == "geometric-mean user rate (% of pf)"
    users = sweep_figure(found["num_users", "sum_rate"], percent=True).axes[0]
    assert users.get_ylabel() == "sum rate (% of wmmse)"


def test_percent_plots_are_the_reports_percent_of_reference(folder, results):
    names = {p.name for p in (folder.path / "plots").glob("*.png")}  # written by the run
    families = ["snr-MISO-SumRate-v0", "snr-MISO-ProportionalFair-v0", "users-MISO-SumRate-v0"]
    for family in families:
        assert sum(n.startswith(family) and n.endswith("-percent.png") for n in names) == 1
    found = by_kind(sweeps(results))
    summary = json.loads((folder.path / "summary.json").read_text())["rows"]
    row = {(r["config"], r["agent"]): r for r in summary}
    for utility, config in (("sum_rate", "sum-rate-0dB"), ("proportional_fair", "pf-0dB")):
        line = curves(sweep_figure(found["snr_db", utility], percent=True))["mrt"]
        x, y = line.get_data()
        assert x[0] == 0.0
        assert y[0] == pytest.approx(100 * row[config, "mrt"]["ratio_to_reference"], rel=1e-12)
    # users: mean over the episodes with K users of both sum-rate configurations at 10 dB
    units = folder.units()
    means = {}  # (agent, K) -> per-episode means
    for config in ("sum-rate-10dB", "sum-rate-K1to4"):
        with np.load(folder.channels_path(config)) as data:
            users, episode = data["user_mask"].sum(-1), data["episode"]
        for agent in ("mrt", "wmmse"):
            utility = np.asarray(units[config, agent]["values"]["utility"])
            for e in np.unique(episode):
                k = int(users[episode == e][0])
                means.setdefault((agent, k), []).append(utility[episode == e].mean())
    x, y = curves(sweep_figure(found["num_users", "sum_rate"], percent=True))["mrt"].get_data()
    assert list(x) == [2, 4] and len(means["mrt", 2]) == 3  # K = 2 pools both configurations
    for k, value in zip(x, y, strict=True):
        expected = 100 * np.mean(means["mrt", k]) / np.mean(means["wmmse", k])
        assert value == pytest.approx(expected, rel=1e-12)


def test_params_cell_is_a_dash_without_parameters(folder, results):
    text = (folder.path / "LEADERBOARD.md").read_text()
    cells = [line.split(" | ") for line in text.splitlines() if line.startswith("| `")]
    rows = [c for c in cells if len(c) == 10]  # the configuration tables
    assert {c[-1] for c in rows} == {"ok |", "n/a |"}
    assert all(c[-2] == "–" for c in rows)  # classical agents and n/a rows
    entry = results[0]
    rows = [{**r, "parameters": 1234} if r["agent"] == "mrt" else r for r in entry.rows]
    write_leaderboard(folder, [replace(entry, rows=rows)], {}, str(folder.path))
    assert "| 1234 | ok |" in (folder.path / "LEADERBOARD.md").read_text()
