"""Unit conversions. Names carry units: ``power`` is linear, ``*_db`` is in decibels.

Both work on Python numbers, NumPy arrays and torch tensors alike (the result has the
input's type), so every conversion in the project is one of these two.
"""

from __future__ import annotations

import math

from beamgym.arrays import Array, namespace


def db_to_linear(value_db: Array | float) -> Array | float:
    """``10^(x / 10)``."""
    return 10.0 ** (value_db / 10.0)


def linear_to_db(value: Array | float) -> Array | float:
    """``10 log10(x)`` for ``x > 0``."""
    if isinstance(value, int | float):
        return 10.0 * math.log10(value)
    return 10.0 * namespace(value).log10(value)
