"""Bad input: a clear message; the unit marked failed with its reason; the run goes on;
nothing already written is lost."""

import json
import re

import pytest
import torch

from benchmarks.cli import main
from benchmarks.results import ResultsFolder

SUITE = """
name = "mixed"
[defaults]
seeds = [3, 4]
blocks = 2
kwargs = {num_users = 2, num_antennas = 3}

[[configurations]]
name = "good"
env_id = "MISO-SumRate-v0"

[[configurations]]
name = "unknown-id"
env_id = "MISO-NoSuchTask-v0"

[[configurations]]
name = "bad-kwargs"
env_id = "MISO-SumRate-v0"
kwargs = {num_users = 0}
"""

BAD_AGENTS = [
    "tests.benchmarks.helpers:nan_solver",
    "tests.benchmarks.helpers:overpowered(boost=3)",
    "tests.benchmarks.helpers:buggy_solver",
    "tests.benchmarks.helpers:exiting_solver",
    "tests.benchmarks.helpers:exiting_factory",
]


def run(suite, out, *agents: str) -> int:
    args = ["run", "--suite", str(suite), "--out", str(out), "--no-progress", "--threads", "1"]
    return main([*args, "--agents", *agents])


@pytest.mark.parametrize(
    "agent, message",
    [
        ("wmse", r"agent .* must be one of \[.*\], got 'wmse' \(did you mean 'wmmse'\?\)"),
        ("no_such_module:factory", r"cannot import module 'no_such_module' .* from sys.path"),
        ("tests.benchmarks.helpers:no_such_factory", "must name a callable factory"),
    ],
)
def test_an_agent_that_cannot_be_built_stops_the_run_before_anything_runs(
    suite, tmp_path, capsys, agent, message
):
    out = tmp_path / "out"
    assert run(suite, out, "mrt", agent) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and re.search(message, err), err
    assert not out.exists() or not ResultsFolder(out).records()


@pytest.fixture
def suite(tmp_path):
    path = tmp_path / "mixed.toml"
    path.write_text(SUITE)
    return path


def test_failures_are_recorded_and_the_run_goes_on(suite, tmp_path, capsys):
    out = tmp_path / "out"
    assert run(suite, out, "mrt") == 1  # the two bad configurations fail
    kept = ResultsFolder(out).records()
    assert run(suite, out, "mrt", *BAD_AGENTS) == 1
    err = capsys.readouterr().err
    folder = ResultsFolder(out)
    assert folder.records()[: len(kept)] == kept  # nothing already written is lost
    units = folder.units()
    assert units[("good", "mrt")]["status"] == units[("good", "wmmse")]["status"] == "ok"
    reasons = {agent: units[("good", agent)]["reason"] for agent in BAD_AGENTS}
    assert "NaN or infinite beamformer entries" in reasons["tests.benchmarks.helpers:nan_solver"]
    assert "exceed the power budget: max ||W||^2 / P = 3" in reasons[BAD_AGENTS[1]]
    assert "ValueError: index out of range" in reasons["tests.benchmarks.helpers:buggy_solver"]
    assert "SystemExit: 3" in reasons["tests.benchmarks.helpers:exiting_solver"]  # the run went on
    assert "SystemExit: a factory that exits" in reasons[BAD_AGENTS[-1]]
    for agent in BAD_AGENTS:
        assert units[("good", agent)]["status"] == "failed"
        assert f"failed: good / {agent}: " in err
    for (config, _), record in units.items():
        if config == "unknown-id":
            assert record["status"] == "failed"
            assert "env_id must be a registered Gymnasium id" in record["reason"]
        if config == "bad-kwargs":
            assert record["status"] == "failed"
            assert "num_users must be an integer in [1, 1024]" in record["reason"]
    leaderboard = (out / "LEADERBOARD.md").read_text()
    assert "FAILED" in leaderboard and "exceed the power budget" in leaderboard
    summary = json.loads((out / "summary.json").read_text())["rows"]
    failed = [r for r in summary if r["status"] == "failed"]
    assert failed and all(r["mean"] is None and r["reason"] for r in failed)


@pytest.mark.parametrize(
    "text, message",
    [
        ("name = 'x'\n[[configurations]\n", "not valid TOML"),
        ("[[configurations]]\nname = 'a'\nenv_id = 'MISO-SumRate-v0'\n", "needs seeds"),
        ("[[configurations]]\nname = 'a'\nseeds = [1]\n", "env_id must be a Gymnasium id"),
        ("[[configurations]]\nname = 'a b'\nenv_id = 'X'\nseeds = [1]\n", "name must be a string"),
        ("[[configurations]]\nname = 'a'\nenv_id = 'X'\nseeds = 'all'\n", "seeds must be"),
        (
            "[[configurations]]\nname = 'a'\nenv_id = 'X'\nseeds = [1]\nepisodes = 3\n",
            "unknown keys",
        ),
        ("configurations = []\n", "configurations must be a non-empty list"),
    ],
)
def test_malformed_suite_files_stop_before_running(tmp_path, capsys, text, message):
    path = tmp_path / "broken.toml"
    path.write_text(text)
    assert run(path, tmp_path / "out", "mrt") == 2
    err = capsys.readouterr().err
    assert message in err and str(path) in err
    assert not (tmp_path / "out").exists()


def test_unknown_suite_and_usage_errors(tmp_path, capsys):
    assert run("no-such-suite", tmp_path / "out", "mrt") == 2
    assert (
        "suite must be one of ['overloading', 'smoke', 'standard'] or a path"
        in capsys.readouterr().err
    )
    assert run("smoke", tmp_path / "out", "wmmse(max_iterations=)") == 2
    assert "agent spec must be" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "--suite", "smoke", "--out", str(tmp_path), "--shard", "3/2"])
    assert exit_info.value.code == 2
    assert "must be I/N with 1 <= I <= N" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_folder_of_another_suite_is_refused(suite, tmp_path, capsys):
    out = tmp_path / "out"
    assert run(suite, out, "mrt") == 1
    kept = (out / "units.jsonl").read_bytes()
    assert run("smoke", out, "mrt") == 2
    assert "holds results of another suite" in capsys.readouterr().err
    assert (out / "units.jsonl").read_bytes() == kept


def test_help_and_list(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for option in ("--suite", "--out", "--agents", "--device", "--shard", "--threads"):
        assert option in text
    assert main(["list"]) == 0
    text = capsys.readouterr().out
    assert "smoke" in text and "standard" in text and "default agents: mrt zf zf-wf" in text


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_an_unavailable_device_is_refused(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "--suite", "smoke", "--out", str(tmp_path / "out"), "--device", "cuda"])
    assert exit_info.value.code == 2
    assert "torch.cuda.is_available() is False" in capsys.readouterr().err
