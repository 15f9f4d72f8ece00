"""95% confidence intervals for leaderboard means and paired ratios.

The independent unit is the **episode** (one seed): blocks of one episode may be correlated
(``time_correlation``, ``doppler_hz``), so per-channel values are first averaged per episode
and the intervals use the ``n`` episode means ``x_1..x_n``:

* mean: ``x_bar +- t_{0.975, n-1} s / sqrt(n)`` (Student t interval).
* paired ratio of means ``r = a_bar / b_bar`` (agent ``a`` and reference ``b`` on the same
  episodes): delta method, ``r +- t_{0.975, n-1} s_d / (sqrt(n) |b_bar|)`` with
  ``d_i = a_i - r b_i``. An agent compared with itself gets ``r = 1`` with zero width.
* ratio of geometric means ``exp(mean_i l_i)`` of per-episode log-ratios ``l_i``: the t
  interval of the mean log-ratio, exponentiated (proportional fairness, whose utility is a
  sum of log-rates of either sign).

With one episode there is no interval (``None`` bounds). The t quantile is computed exactly
(no SciPy needed): for integer ``nu`` the two-sided probability ``A(t | nu) = P(|T| <= t)`` is
a finite trigonometric sum (Abramowitz & Stegun 26.7.3-4), inverted by bisection.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from benchmarks.episodes import Channels

CONFIDENCE = 0.95


def episode_means(channels: Channels, values: Any) -> np.ndarray:
    """Per-episode means ``[episodes]`` of per-channel ``values [S]``."""
    counts = np.bincount(channels.episode)
    return np.bincount(channels.episode, weights=np.asarray(values, np.float64)) / counts


def _two_sided_probability(t: float, nu: int) -> float:
    """``A(t | nu) = P(|T| <= t)`` for Student's t with ``nu`` degrees of freedom."""
    theta = math.atan(t / math.sqrt(nu))
    c2, s = math.cos(theta) ** 2, math.sin(theta)
    if nu % 2:  # odd: (2/pi) [theta + sin cos (1 + 2/3 cos^2 + 2*4/(3*5) cos^4 + ...)]
        term, total = 1.0, 1.0 if nu > 1 else 0.0
        for j in range(1, (nu - 1) // 2):
            term *= c2 * (2 * j) / (2 * j + 1)
            total += term
        return 2.0 / math.pi * (theta + s * math.cos(theta) * total)
    term, total = 1.0, 1.0  # even: sin (1 + 1/2 cos^2 + 1*3/(2*4) cos^4 + ...)
    for j in range(1, nu // 2):
        term *= c2 * (2 * j - 1) / (2 * j)
        total += term
    return s * total


@cache
def t_quantile(nu: int, confidence: float = CONFIDENCE) -> float:
    """``t`` with ``P(|T| <= t) = confidence`` for ``nu >= 1`` degrees of freedom."""
    low, high = 0.0, 1.0
    while _two_sided_probability(high, nu) < confidence:
        high *= 2.0
    for _ in range(200):
        middle = 0.5 * (low + high)
        if _two_sided_probability(middle, nu) < confidence:
            low = middle
        else:
            high = middle
        if high - low <= 1e-12 * high:
            break
    return 0.5 * (low + high)


@dataclass(frozen=True)
class Interval:
    """An estimate with its 95% interval (``low``/``high`` ``None`` with a single episode)."""

    value: float
    low: float | None
    high: float | None


def _half_width(deviations: np.ndarray, scale: float) -> float | None:
    n = deviations.size
    if n < 2:
        return None
    return t_quantile(n - 1) * float(np.std(deviations, ddof=1)) / (math.sqrt(n) * scale)


def _interval(value: float, half: float | None) -> Interval:
    return (
        Interval(value, None, None) if half is None else Interval(value, value - half, value + half)
    )


def mean_interval(samples: np.ndarray) -> Interval:
    """Mean of the episode means ``samples [n]`` with its t interval."""
    mean = float(np.mean(samples))
    return _interval(mean, _half_width(samples - mean, 1.0))


def log_ratio_interval(log_ratios: np.ndarray) -> Interval:
    """``exp`` of the mean of the episode log-ratios ``[n]``, with the exponentiated t
    interval of that mean."""
    mean = mean_interval(log_ratios)
    low, high = (None, None) if mean.low is None else (math.exp(mean.low), math.exp(mean.high))
    return Interval(math.exp(mean.value), low, high)


def ratio_interval(a: np.ndarray, b: np.ndarray) -> Interval | None:
    """Paired ratio of means ``mean(a) / mean(b)`` over episodes, delta-method interval;
    ``None`` unless ``mean(b) > 0`` (a ratio to a non-positive reference means nothing)."""
    b_mean = float(np.mean(b))
    if not b_mean > 0:
        return None
    ratio = float(np.mean(a)) / b_mean
    return _interval(ratio, _half_width(a - ratio * b, b_mean))
