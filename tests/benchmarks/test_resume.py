"""Resume and shards: a killed run, resumed, and sharded runs, merged, give the same rows."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.cli import main
from benchmarks.results import ResultsFolder
from tests.benchmarks.conftest import TINY_SUITE
from tests.benchmarks.helpers import KILL_MARKER, comparable

ROOT = Path(__file__).resolve().parents[2]
AGENTS = ["mrt", "tests.benchmarks.helpers:kill_once", "zf"]


def command(suite: Path, out: Path, *extra: str) -> list[str]:
    options = ["--no-progress", "--no-report", "--threads", "1"]
    return ["run", "--suite", str(suite), "--out", str(out), "--agents", *AGENTS, *options, *extra]


@pytest.fixture(scope="module")
def whole(tmp_path_factory):
    """The suite file and the units of an uninterrupted run."""
    root = tmp_path_factory.mktemp("resume")
    suite = root / "tiny.toml"
    suite.write_text(TINY_SUITE)
    assert main(command(suite, root / "whole")) == 0
    units = ResultsFolder(root / "whole").units()
    assert len(units) == 8  # 2 configurations x (3 agents + the reference: wmmse, maxmin)
    return suite, units


def test_killed_run_resumes_to_the_same_rows(whole, tmp_path):
    suite, units = whole
    out = tmp_path / "killed"
    environment = {**os.environ, KILL_MARKER: str(tmp_path / "killed-once")}
    process = subprocess.run(
        [sys.executable, "-m", "benchmarks", *command(suite, out)],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        timeout=300,
    )
    assert process.returncode == -signal.SIGKILL, process.stderr.decode()
    finished = ResultsFolder(out).records()
    assert 0 < len(finished) < len(units)
    with (out / "units.jsonl").open("a") as f:  # a record cut short by a kill while writing
        f.write('{"config": "max-min", "agent": "zf", "sta')
    assert main(command(suite, out)) == 0
    resumed = ResultsFolder(out)
    assert resumed.records()[: len(finished)] == finished  # nothing redone, nothing lost
    assert len(resumed.records()) == len(units)
    assert comparable(resumed.units()) == comparable(units)


def test_shards_merge_to_the_same_rows(whole, tmp_path):
    suite, units = whole
    shards = [tmp_path / f"shard{i}" for i in (1, 2)]
    for i, out in enumerate(shards, 1):
        assert main(command(suite, out, "--shard", f"{i}/2")) == 0
    parts = [set(ResultsFolder(out).units()) for out in shards]
    assert parts[0] and parts[1] and not parts[0] & parts[1]
    merged = tmp_path / "merged"
    assert main(["merge", "--out", str(merged), *map(str, shards)]) == 0
    assert comparable(ResultsFolder(merged).units()) == comparable(units)
    assert (merged / "LEADERBOARD.md").is_file()
    (merged / "LEADERBOARD.md").unlink()
    assert main(["report", str(merged), "--no-plots"]) == 0
    text = (merged / "LEADERBOARD.md").read_text()
    assert "### `sum-rate`" in text and "### `max-min`" in text
    assert sorted(p.name for p in (merged / "channels").iterdir()) == [
        "max-min.npz",
        "sum-rate.npz",
    ]


def test_merge_refuses_missing_units(whole, tmp_path, capsys):
    suite, _ = whole
    shard = tmp_path / "shard1"
    assert main(command(suite, shard, "--shard", "1/2")) == 0
    assert main(["merge", "--out", str(tmp_path / "merged"), str(shard)]) == 1
    assert "units are missing" in capsys.readouterr().err
    assert not (tmp_path / "merged").exists()


def test_a_rerun_adds_agents_and_keeps_rows(whole, tmp_path):
    suite, units = whole
    out = tmp_path / "grown"
    assert main(command(suite, out)) == 0
    before = ResultsFolder(out).records()
    assert main([*command(suite, out), "--agents", "rzf"]) == 0
    after = ResultsFolder(out)
    assert after.records()[: len(before)] == before
    assert {agent for _, agent in after.units()} == {*AGENTS, "rzf", "wmmse", "maxmin"}
