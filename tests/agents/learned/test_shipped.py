"""The shipped learned checkpoints: each reproduces its model card, and a card cell is the
leaderboard cell of the same configuration."""

import json
from pathlib import Path

import pytest
import torch

import agents
from agents.learned import CHECKPOINTS
from agents.problem import make_problem
from benchmarks.card import agent_spec
from benchmarks.episodes import draw_channels
from benchmarks.intervals import episode_means
from benchmarks.lineup import build_agent
from benchmarks.scoring import evaluate
from benchmarks.suites import SUITES, configuration

CARDS = [
    p for p in sorted(CHECKPOINTS.rglob("*.json")) if "evaluation" in json.loads(p.read_text())
]
"""Every card with an evaluation (the from-scratch and ablation baselines have none)."""

LEADERBOARD = Path(__file__).parents[3] / "leaderboard" / "summary.json"


def card_mean(card_path: Path, row: dict) -> float:
    """The checkpoint's mean utility on a card row's configuration, recomputed through the
    benchmark harness (the reference's is not recomputed: slow)."""
    config = configuration(
        row["utility"],
        row["users"],
        row["antennas"],
        row["snr_db"],
        episodes=20,
        blocks=10,
        channel=row["channel"],
    )
    assert config.name == row["config"]
    channels = draw_channels(config)
    agent = build_agent(agent_spec(str(card_path.with_suffix(""))), None)
    outcome = evaluate(agent, channels)
    assert outcome.status == "ok", outcome.reason
    return float(episode_means(channels, outcome.metrics["utility"]).mean())


@pytest.mark.parametrize("card_path", CARDS, ids=lambda p: p.stem)
def test_shipped_checkpoint_reproduces_the_first_row_of_its_card(card_path):
    """To 1e-6: the float32 networks round differently on another CPU (AVX2 against AVX-512
    moved a card's mean by 6e-9 relative); a changed model, channel or score moves far more."""
    row = json.loads(card_path.read_text())["evaluation"]["rows"][0]
    assert card_mean(card_path, row) == pytest.approx(row["model"], rel=1e-6)


def test_every_shipped_card_has_its_markdown_and_commands():
    for card_path in CHECKPOINTS.glob("*.json"):
        card = json.loads(card_path.read_text())
        assert card["command"].startswith("python -m agents.learned.training")
        assert card["evaluation"]["command"].startswith("python -m benchmarks card ")
        text = card_path.with_suffix(".md").read_text()
        assert card["evaluation"]["command"] in text and card["command"] in text


@pytest.mark.parametrize(
    "checkpoint, agent",
    [("bert4beam-sum_rate-N8", "bert4beam"), ("ubert", "ubert"), ("sallo-m", "sallo-m")],
)
def test_a_card_cell_equals_the_leaderboard_cell_of_the_same_configuration(checkpoint, agent):
    """The default agent answers ``sum_rate-rayleigh-K4-N8-10dB`` with this checkpoint, and the
    card and the committed leaderboard score it on the same channels with the same code."""
    name = "sum_rate-rayleigh-K4-N8-10dB"
    assert name in {c.name for c in SUITES["standard"].configurations}
    rows = json.loads((CHECKPOINTS / f"{checkpoint}.json").read_text())["evaluation"]["rows"]
    cell = next(row for row in rows if row["config"] == name)
    board = json.loads(LEADERBOARD.read_text())["rows"]
    entry = next(row for row in board if row["config"] == name and row["agent"] == agent)
    # to 1e-6, not exactly: the two files may come from different CPUs, whose float32 kernels
    # round differently (see test_shipped_checkpoint_reproduces_the_first_row_of_its_card)
    assert cell["model"] == pytest.approx(entry["mean"], rel=1e-6)
    assert cell["ratio"] == pytest.approx(entry["ratio_to_reference"], rel=1e-6)


def test_the_default_sallo_m_answers_each_utility_with_its_own_model(torch_rng):
    """``sallo-m`` loads the sum-rate model and its ``sallo-m-<utility>`` variants, never the
    pretrained ``sallo-m-base``; each utility's problems go to its model."""
    solver = agents.make("sallo-m")
    assert [m.config.utility for m in solver.variants] == [
        "sum_rate",
        "energy_efficiency",
        "min_rate",
    ]
    H = torch.randn(3, 5, 7, dtype=torch.complex128, generator=torch_rng)
    for model in solver.variants:
        utility = model.config.utility
        W = solver.solve(H, power=10.0, utility=utility)
        problem = make_problem(H.to(torch.complex64), 10.0, utility=utility)
        with torch.no_grad():
            direct = model(problem)
        torch.testing.assert_close(W.to(torch.complex64), direct, rtol=1e-4, atol=1e-5)
    assert {("min_rate", 4, 8), ("energy_efficiency", 12, 8)} <= solver.trained_on()
