"""The agent registry: every solver has a name, ``agents.make(name, **config)`` builds it."""

from __future__ import annotations

from typing import Any

from agents.solver import Solver
from beamgym.checks import check_choice, check_keywords, keywords_of

_FACTORIES: dict[str, type[Solver]] = {}

REFERENCES: dict[str, str] = {
    "sum_rate": "wmmse",
    "weighted_sum_rate": "wmmse",
    "min_rate": "maxmin",
    "proportional_fair": "pf",
    "energy_efficiency": "ee",
}
"""The reference agent of each utility (paired ratios are taken to it): single-run WMMSE for
the (weighted) sum rate, the exact max-min optimum, proportional-fair WMMSE, Dinkelbach EE."""


def register(cls: type[Solver]) -> type[Solver]:
    """Class decorator adding a :class:`Solver` subclass under its ``name``."""
    if not cls.name or cls.name in _FACTORIES:
        raise ValueError(f"agent name must be new and non-empty, got {cls.name!r}")
    _FACTORIES[cls.name] = cls
    return cls


def available() -> list[str]:
    """The registered agent names, sorted."""
    return sorted(_FACTORIES)


def make(name: str, **config: Any) -> Solver:
    """Build the agent ``name`` with its configuration keywords.

    Unknown names and unknown or invalid configuration keywords raise ``ValueError``.
    """
    check_choice("agent", name, _FACTORIES)
    check_keywords(f"agents.make({name!r})", config, keywords_of(_FACTORIES[name]))
    try:
        return _FACTORIES[name](**config)
    except TypeError as error:
        raise ValueError(f"invalid configuration for agent {name!r}: {error}") from None
