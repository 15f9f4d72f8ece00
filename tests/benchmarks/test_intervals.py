"""Confidence intervals: exact t quantiles, mean and paired-ratio intervals."""

import numpy as np
import pytest

from benchmarks.intervals import mean_interval, ratio_interval, t_quantile

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
