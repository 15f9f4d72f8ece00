"""Argument checks shared by the configuration code: each raises ``ValueError`` naming the
argument and what is allowed."""

from __future__ import annotations

import difflib
import inspect
import math
from collections.abc import Callable, Iterable


def check_number(name: str, value: object, low: float, high: float, *, closed: bool = True) -> None:
    """``value`` must be a finite real number in ``[low, high]`` (``[low, high)`` if not closed)."""
    number = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not (number and (low <= value <= high if closed else low <= value < high)):
        bracket = "]" if closed else ")"
        raise ValueError(
            f"{name} must be a finite number in [{low}, {high}{bracket}, got {value!r}"
        )


def check_count(name: str, value: object, minimum: int = 1, maximum: int | None = None) -> None:
    """``value`` must be an integer in ``[minimum, maximum]`` (bools are rejected)."""
    integer = isinstance(value, int) and not isinstance(value, bool)
    if not integer or value < minimum or (maximum is not None and value > maximum):
        allowed = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
        raise ValueError(f"{name} must be an integer {allowed}, got {value!r}")


def check_multiple(name: str, value: int, of_name: str, of: int) -> None:
    """``value`` must be a multiple of ``of`` (an attention width of its number of heads)."""
    if value % of:
        raise ValueError(f"{name} ({value}) must be a multiple of {of_name} ({of})")


def keywords_of(function: Callable) -> list[str] | None:
    """The keyword parameters ``function`` (or a class's ``__init__``) takes; ``None`` if it
    takes any (``**kwargs``)."""
    parameters = inspect.signature(function).parameters.values()
    if any(p.kind == p.VAR_KEYWORD for p in parameters):
        return None
    return [p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]


def check_choice(name: str, value: object, allowed: Iterable[str]) -> None:
    """``value`` must be one of ``allowed``: otherwise ``ValueError`` with the closest one."""
    allowed = sorted(allowed)
    if isinstance(value, str) and value in allowed:
        return
    close = difflib.get_close_matches(value, allowed, n=1) if isinstance(value, str) else []
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ValueError(f"{name} must be one of {allowed}, got {value!r}{hint}")


def check_keywords(owner: str, given: Iterable[str], allowed: Iterable[str] | None) -> None:
    """Every name in ``given`` must be in ``allowed`` (``None``: anything is): a misspelt one
    raises ``ValueError`` with the closest allowed name and the list of them."""
    if allowed is None:
        return
    allowed = sorted(allowed)
    for name in given:
        if name not in allowed:
            close = difflib.get_close_matches(name, allowed, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ValueError(
                f"{owner}: unknown keyword {name!r}{hint} Allowed: {', '.join(allowed)}"
            )
