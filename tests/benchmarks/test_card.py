"""Model cards through the benchmark harness: ``python -m benchmarks card``."""

import json

import pytest

from agents.learned import training
from agents.learned.checkpoint import TrainingConfig
from benchmarks.card import agent_spec, card_suite
from benchmarks.cli import main
from benchmarks.report import collect
from benchmarks.results import ResultsFolder
from benchmarks.runner import run
from benchmarks.suites import Suite, configuration

TINY = {"num_antennas": 3, "hidden": 16, "heads": 2, "layers": 1, "feedforward": 32}


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """A BERT4beam trained 2 steps on K = 2 and an untrained one, N = 3."""
    folder = tmp_path_factory.mktemp("card")
    for name, steps in (("tiny", 2), ("untrained", 0)):
        config = TrainingConfig(model_config=TINY, draw={"users": (2,)}, steps=steps, batch_size=8)
        training.train(config, folder / name, progress=False)
    return folder


def test_the_card_scores_the_grid_with_baselines_and_marks_unseen_sizes(checkpoints, capsys):
    tiny, untrained = str(checkpoints / "tiny"), str(checkpoints / "untrained")
    out = str(checkpoints / "results")
    arguments = ["card", tiny, "--users", "2", "3", "--snr-db", "10", "--out", out]
    assert main([*arguments, "--baselines", untrained, tiny, "--no-progress"]) == 0
    card = json.loads((checkpoints / "tiny.json").read_text())
    evaluation = card["evaluation"]
    assert evaluation["command"].startswith("python -m benchmarks card ")
    rows = evaluation["rows"]
    assert [(row["config"], row["seen"]) for row in rows] == [
        ("sum_rate-rayleigh-K2-N3-10dB", True),
        ("sum_rate-rayleigh-K3-N3-10dB", False),
    ]
    for row in rows:
        assert row["ratio"] == pytest.approx(row["model"] / row["reference"], rel=1e-12)
        assert row["ratio_low"] < row["ratio"] < row["ratio_high"]
        assert 0 < row["ratio"] < 1.01  # a barely trained model does not beat WMMSE
        assert row["baselines"]["tiny"]["value"] == row["model"]  # itself, same channels
        assert row["baselines"]["untrained"]["value"] != row["model"]
    text = (checkpoints / "tiny.md").read_text()
    assert evaluation["command"] in text and card["command"] in text
    first, second = rows
    untrained_first = f"{100 * first['baselines']['untrained']['ratio']:.1f}%"
    assert f"| 2 | {100 * first['ratio']:.1f}% / {untrained_first} /" in text
    assert f"| 3 | *{100 * second['ratio']:.1f}%" in text  # a K not in training
    assert "| `wmmse` |" in text  # the timings of the reference too


def test_a_card_cell_equals_a_suite_run_of_the_same_configuration(checkpoints):
    """Same name, seeds and channels as any suite's configuration: the same number."""
    rows = json.loads((checkpoints / "tiny.json").read_text())["evaluation"]["rows"]
    config = configuration("sum_rate", 2, 3, 10.0, episodes=20, blocks=10)
    spec = agent_spec(str(checkpoints / "tiny"))
    out = checkpoints / "suite-run"
    run(Suite("plain", (config,)), str(out), [spec], progress=False)
    summary = {row["agent"]: row for row in collect(ResultsFolder(out))[0].rows}
    assert summary[spec.label]["mean"] == rows[0]["model"]
    assert summary["wmmse"]["mean"] == rows[0]["reference"]


def test_running_the_card_again_resumes_its_folder(checkpoints, capsys):
    tiny, out = str(checkpoints / "tiny"), str(checkpoints / "again")
    arguments = ["card", tiny, "--users", "2", "--snr-db", "0", "--out", out, "--no-progress"]
    assert main(arguments) == 0
    first = json.loads((checkpoints / "tiny.json").read_text())["evaluation"]["rows"]
    records = ResultsFolder(out).records()
    assert main(arguments) == 0
    assert ResultsFolder(out).records() == records  # nothing ran twice
    assert json.loads((checkpoints / "tiny.json").read_text())["evaluation"]["rows"] == first


def test_bad_card_requests_exit_with_status_2(checkpoints, capsys):
    tiny = str(checkpoints / "tiny")
    assert main(["card", tiny, "--utilities", "min_rate", "--out", "x"]) == 2
    assert "serves ['sum_rate']" in capsys.readouterr().err
    assert main(["card", str(checkpoints / "absent"), "--out", "x"]) == 2
    assert "absent.json" in capsys.readouterr().err
    with pytest.raises(ValueError, match="no \\(K, N\\)"):
        card_suite("x", ["sum_rate"], ["rayleigh"], [2], [4], [10.0], max_load=1.0)
