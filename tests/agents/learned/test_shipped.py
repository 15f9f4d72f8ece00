"""The shipped learned checkpoints: each one reproduces the numbers of its model card."""

import json

import pytest
import torch

import agents
from agents.learned import CHECKPOINTS
from agents.learned.evaluation import evaluation_channels
from beamgym.downlink import rates, transmit_power
from beamgym.utilities import utility

CARDS = [
    p for p in sorted(CHECKPOINTS.rglob("*.json")) if "evaluation" in json.loads(p.read_text())
]
"""Every card with an evaluation (the from-scratch and ablation baselines have none)."""
AGENT = {"bert4beam": "bert4beam", "ubert": "ubert", "sallo-m": "sallo-m"}


@pytest.mark.parametrize("card_path", CARDS, ids=lambda p: p.stem)
def test_shipped_checkpoint_reproduces_the_first_row_of_its_card(card_path):
    """The model's mean utility on the card's first evaluation cell, recomputed from the same
    seeded channels, equals the recorded one (the reference's is not recomputed: slow)."""
    card = json.loads(card_path.read_text())
    row = card["evaluation"]["rows"][0]
    solver = agents.make(
        AGENT[card["training"]["model"]], checkpoint=str(card_path.with_suffix(""))
    )
    H = evaluation_channels(
        row["antennas"],
        row["users"],
        row["snr_db"],
        card["evaluation"]["channels"],
        row.get("channel", "rayleigh"),
    )
    power = 10.0 ** (row["snr_db"] / 10)
    W = solver.solve(H, power=power, utility=row["utility"])
    value = utility(row["utility"], rates(H, W), power_used=transmit_power(W)).mean()
    assert float(value) == pytest.approx(row["model"], rel=1e-4)
    assert (transmit_power(W) <= power * (1 + 1e-9)).all()


def test_every_shipped_card_has_its_markdown_and_command():
    for card_path in CHECKPOINTS.glob("*.json"):
        card = json.loads(card_path.read_text())
        assert card["command"].startswith("python -m agents.training")
        assert card["evaluation"]["command"].startswith("python -m agents.evaluation")
        text = card_path.with_suffix(".md").read_text()
        assert card["evaluation"]["command"] in text and card["command"] in text


def test_evaluation_channels_are_fixed_by_the_cell():
    a = evaluation_channels(8, 4, 10.0, 5)
    torch.testing.assert_close(a, evaluation_channels(8, 4, 10.0, 5))
    assert not torch.equal(a, evaluation_channels(8, 4, 20.0, 5))
    sparse = evaluation_channels(8, 4, 10.0, 5, "sparse")
    torch.testing.assert_close(sparse, evaluation_channels(8, 4, 10.0, 5, "sparse"))
    assert sparse.dtype == torch.complex128 and not torch.equal(a, sparse)


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
    power = torch.full((3,), 10.0)
    for model in solver.variants:
        W = solver.solve(H, power=10.0, utility=model.config.utility)
        with torch.no_grad():
            direct = model(H.to(torch.complex64), power, torch.ones(3))
        torch.testing.assert_close(W.to(torch.complex64), direct, rtol=1e-4, atol=1e-5)
    assert {("min_rate", 4, 8), ("energy_efficiency", 12, 8)} <= solver.trained_on()
