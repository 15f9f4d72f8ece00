"""The leaderboard's generalisation tables mark what each learned agent was trained on."""

from types import SimpleNamespace

import agents
from benchmarks.leaderboard import generalisation
from benchmarks.suites import SUITES


def entry(name: str, agent: str, utility: str, ratio: float) -> SimpleNamespace:
    config = SUITES["standard"].configuration(name)
    row = {"agent": agent, "utility": utility, "ratio_to_reference": ratio, "status": "ok"}
    return SimpleNamespace(config=config, rows=[row])


def test_generalisation_marks_sizes_and_utilities_outside_training():
    trained = agents.make("bert4beam").trained_on()
    assert ("sum_rate", 8, 8) in trained and ("sum_rate", 7, 8) not in trained
    results = [
        entry("sum_rate-rayleigh-K8-N8-10dB", "bert4beam", "sum_rate", 0.97),
        entry("sum_rate-rayleigh-K7-N8-10dB", "bert4beam", "sum_rate", 0.98),
        entry("proportional_fair-rayleigh-K4-N8-10dB", "bert4beam", "proportional_fair", 0.9),
        entry("sum_rate-rayleigh-K2to8-N8-10dB", "bert4beam", "sum_rate", 0.99),  # mixed K
        entry("sum_rate-rayleigh-K8-N8-10dB", "wmmse", "sum_rate", 1.0),  # not learned
    ]
    text = "\n".join(generalisation(results))
    assert "| `sum_rate-rayleigh-K8-N8-10dB` | 8 | 8 | yes | 97.0 |" in text
    assert "| `sum_rate-rayleigh-K7-N8-10dB` | 7 | 8 | **no** | 98.0 |" in text
    assert "| `proportional_fair-rayleigh-K4-N8-10dB` | 4 | 8 | **no** | 90.0 |" in text
    assert "K2to8" not in text and "wmmse" not in text
    assert "### `ubert`" not in text  # no rows of it
