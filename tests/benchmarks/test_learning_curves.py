"""RL model cards: ``python -m benchmarks rl-card`` (training record, curve, seed band)."""

import json

import numpy as np
import pytest

import agents
from agents import rl
from benchmarks.cli import main
from benchmarks.learning_curves import band, seed_runs, write_card

KWARGS = {"num_users": 2, "num_antennas": 2, "snr_db": [0, 20], "action": "structure"}
TINY_PPO = {**rl.HYPERPARAMETERS["ppo"], "n_steps": 2, "batch_size": 256}


def tiny_run(path, seed: int, curve_points: int = 2):
    """A PPO run of two rollouts on the 2x2 structured sum rate, ``curve_points`` points."""
    rollout = rl.NUM_ENVS["ppo"] * TINY_PPO["n_steps"]
    return rl.train(
        "ppo",
        "MISO-SumRate-v0",
        KWARGS,
        2 * rollout,
        path,
        seed=seed,
        hyperparameters=TINY_PPO,
        curve_points=curve_points,
        progress=False,
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A seed-0 run and its seed-1 and seed-2 runs under ``seeds/``."""
    folder = tmp_path_factory.mktemp("rl-card")
    for seed in (0, 1, 2):
        tiny_run(folder / (f"seeds/ppo-tiny-seed{seed}" if seed else "ppo-tiny"), seed)
    return folder


def test_the_card_holds_the_curve_the_references_and_the_band_over_seeds(runs):
    card = write_card(runs / "ppo-tiny")
    text = card.read_text()
    assert (runs / "ppo-tiny-curve.png").stat().st_size > 0
    checkpoints = seed_runs(runs / "ppo-tiny")
    assert [run.seed for run in checkpoints] == [0, 1, 2]
    wmmse = rl.validate_solver(agents.make("wmmse"), checkpoints[0])
    rzf = rl.validate_solver(agents.make("rzf"), checkpoints[0])
    assert f"`wmmse` reaches {wmmse:.4f}" in text and f"`rzf` reaches {rzf:.4f}" in text
    for step, value in checkpoints[0].curve:
        assert f"| {step:,} | {value:.4f} | {100 * value / wmmse:.1f} % |" in text
    steps, points = band(checkpoints)
    curves = np.array([[value for _, value in run.curve] for run in checkpoints])
    np.testing.assert_allclose([p.value for p in points], curves.mean(axis=0))
    assert all(p.low < p.value < p.high for p in points)  # three distinct seeds: a width
    assert f"| {steps[-1]:,} | {points[-1].value:.4f} | {points[-1].low:.4f} – " in text
    assert "The same configuration trained with seeds 0, 1, 2" in text


def test_seed_runs_must_share_the_steps_of_their_curve(runs, tmp_path):
    for name in ("ppo-tiny.pt", "ppo-tiny.json"):
        (tmp_path / name).write_bytes((runs / name).read_bytes())
    tiny_run(tmp_path / "seeds/ppo-tiny-seed1", 1, curve_points=1)
    with pytest.raises(ValueError, match="other steps than"):
        seed_runs(tmp_path / "ppo-tiny")


def test_the_command_writes_cards_and_rejects_an_unknown_checkpoint(runs, capsys):
    assert main(["rl-card", str(runs / "ppo-tiny")]) == 0
    assert capsys.readouterr().out.strip() == f"wrote {runs / 'ppo-tiny.md'}"
    assert main(["rl-card", str(runs / "nothing")]) == 2
    assert "error: checkpoint" in capsys.readouterr().err
    meta = json.loads((runs / "ppo-tiny.json").read_text())
    (runs / "no-curve.json").write_text(json.dumps({**meta, "curve": []}))
    (runs / "no-curve.pt").write_bytes((runs / "ppo-tiny.pt").read_bytes())
    assert main(["rl-card", str(runs / "no-curve")]) == 2
    assert "records no learning curve" in capsys.readouterr().err
    assert meta["search"] == {} and len(meta["curve"]) == 2
