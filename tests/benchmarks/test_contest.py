"""No agent can change what another is scored on."""

import os

import numpy as np
import pytest

import agents
from benchmarks.cli import main
from benchmarks.episodes import draw_channels
from benchmarks.results import ResultsFolder, partial_name
from benchmarks.scoring import evaluate
from benchmarks.suites import configuration
from tests.benchmarks.helpers import VandalSolver


def test_an_agent_editing_its_input_in_place_spoils_no_other_agent():
    channels = draw_channels(configuration("sum_rate", 4, 8, 10.0, episodes=2, blocks=3))
    alone = evaluate(agents.make("rzf"), channels).metrics["utility"]
    assert evaluate(VandalSolver(), channels).status == "ok"
    after = evaluate(agents.make("rzf"), channels).metrics["utility"]
    np.testing.assert_array_equal(after, alone)


def test_the_stored_channels_are_read_only():
    channels = draw_channels(configuration("sum_rate", 2, 3, 0.0, episodes=1, blocks=2))
    for name in ("channel", "estimate", "power", "noise_power", "weights", "user_mask"):
        with pytest.raises(ValueError, match="read-only"):
            getattr(channels, name)[...] = 0


def test_a_second_run_into_a_folder_being_written_is_refused(tmp_path, tiny_suite, capsys):
    out = tmp_path / "out"
    arguments = ["run", "--suite", str(tiny_suite), "--out", str(out), "--agents", "mrt"]
    with ResultsFolder(out).lock():  # as another process writing the folder would
        assert main([*arguments, "--no-progress", "--no-report"]) == 2
        assert "another run is writing to" in capsys.readouterr().err
        assert not (out / "run.json").exists()  # refused before anything was written
    assert main([*arguments, "--no-progress", "--no-report"]) == 0


def test_temporary_files_are_named_for_their_process(tmp_path):
    """Two processes writing one file never share a temporary name."""
    assert str(os.getpid()) in partial_name(tmp_path / "run.json").name


def test_a_merge_missing_units_exits_1_and_a_bad_folder_2(tmp_path, tiny_suite, capsys):
    shard = tmp_path / "shard"
    run_args = ["run", "--suite", str(tiny_suite), "--agents", "mrt", "--no-progress"]
    assert main([*run_args, "--out", str(shard), "--shard", "1/2", "--no-report"]) == 0
    assert main(["merge", "--out", str(tmp_path / "merged"), str(shard)]) == 1
    assert "missing" in capsys.readouterr().err
    assert main(["merge", "--out", str(tmp_path / "m2"), str(tmp_path / "nothing")]) == 2
