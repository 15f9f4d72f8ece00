"""Argument checks shared by the configuration code: each raises ``ValueError`` naming the
argument and what is allowed."""

from __future__ import annotations

import math


def check_number(name: str, value: object, low: float, high: float, *, closed: bool = True) -> None:
    """``value`` must be a finite real number in ``[low, high]`` (``[low, high)`` if not closed)."""
    number = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not (number and (low <= value <= high if closed else low <= value < high)):
        bracket = "]" if closed else ")"
        raise ValueError(
            f"{name} must be a finite number in [{low}, {high}{bracket}, got {value!r}"
        )


def check_count(name: str, value: object, minimum: int = 1) -> None:
    """``value`` must be an integer ``>= minimum`` (bools are rejected)."""
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


def check_multiple(name: str, value: int, of_name: str, of: int) -> None:
    """``value`` must be a multiple of ``of`` (an attention width of its number of heads)."""
    if value % of:
        raise ValueError(f"{name} ({value}) must be a multiple of {of_name} ({of})")
