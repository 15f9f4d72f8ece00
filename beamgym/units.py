"""Unit conversions. Names carry units: ``power`` is linear, ``*_db`` is in decibels."""

from __future__ import annotations

import math


def db_to_linear(value_db: float) -> float:
    """``10^(x / 10)``."""
    return 10.0 ** (value_db / 10.0)


def linear_to_db(value: float) -> float:
    """``10 log10(x)`` for ``x > 0``."""
    return 10.0 * math.log10(value)
