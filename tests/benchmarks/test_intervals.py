"""Confidence intervals: exact t quantiles, mean and paired-ratio intervals."""

import numpy as np
import pytest

import agents
from benchmarks.episodes import draw_channels
from benchmarks.intervals import (
    Interval,
    episode_means,
    log_ratio_interval,
    mean_interval,
    ratio_interval,
    t_quantile,
)
from benchmarks.report import geometric_rate_ratio
from benchmarks.scoring import evaluate
from benchmarks.suites import configuration

# t_{0.975, nu} from standard tables
TABLE = {1: 12.7062047, 2: 4.3026527, 3: 3.1824463, 5: 2.5705818, 19: 2.0930241, 120: 1.9799304}


@pytest.mark.parametrize("nu, expected", sorted(TABLE.items()))
def test_t_quantiles_match_the_tables(nu, expected):
    assert t_quantile(nu) == pytest.approx(expected, abs=1e-7)


def test_mean_interval_is_the_t_interval():
    x = np.array([1.0, 2.0, 4.0, 5.0])
    interval = mean_interval(x)
    half = TABLE[3] * x.std(ddof=1) / 2
    assert interval.value == 3.0
    assert (interval.low, interval.high) == pytest.approx((3.0 - half, 3.0 + half))
    assert mean_interval(np.array([2.0])) == mean_interval(np.array([2.0]))
    assert mean_interval(np.array([2.0])).low is None


def test_paired_ratio_interval():
    rng = np.random.default_rng(0)
    b = rng.uniform(5, 10, 50)
    same = ratio_interval(b, b)
    assert (same.value, same.low, same.high) == (1.0, 1.0, 1.0)
    scaled = ratio_interval(0.9 * b, b)
    assert scaled.value == pytest.approx(0.9) and scaled.high - scaled.low < 1e-12
    noisy = ratio_interval(0.9 * b + rng.normal(0, 0.5, 50), b)
    assert noisy.low < 0.9 < noisy.high and noisy.high - noisy.low < 0.05
    assert ratio_interval(b, -b) is None


def test_proportional_fairness_is_reported_as_a_ratio_of_geometric_mean_rates():
    """``sum_k ln R_k`` is negative when users starve, so its ratio to the reference is the
    ratio of geometric-mean user rates: positive, 1 against itself, from the paired log
    differences."""
    channels = draw_channels(configuration("proportional_fair", 4, 8, 0.0, episodes=3, blocks=2))
    records = [
        {
            "status": "ok",
            "values": {"utility": evaluate(agents.make(n), channels).metrics["utility"]},
        }
        for n in ("mrt", "pf")
    ]
    ratio = geometric_rate_ratio(channels, records[0], records[1])
    own, base = (np.asarray(r["values"]["utility"]) for r in records)
    expected = np.exp(episode_means(channels, (own - base) / 4).mean())
    assert ratio.value == pytest.approx(expected, rel=1e-12) and 0 < ratio.value < 1
    assert ratio.low < ratio.value < ratio.high
    assert geometric_rate_ratio(channels, records[1], records[1]).value == 1.0
    assert log_ratio_interval(np.array([0.0])) == Interval(1.0, None, None)
