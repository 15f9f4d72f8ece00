"""No agent can change what another is scored on."""

import numpy as np
import pytest

import agents
from benchmarks.episodes import draw_channels
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
