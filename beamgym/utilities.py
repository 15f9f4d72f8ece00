"""System utilities: what a beamformer is scored on, written once for every consumer.

The environment pays :func:`utility` as reward, the learned solvers train on minus it, and the
leaderboard reports it. Every function maps per-user rates ``[..., K]`` (bit/s/Hz, from
:func:`beamgym.downlink.rates`) to a utility ``[...]`` and shares one keyword signature, so
the registry can call any of them:

* ``user_mask``: ``[..., K]`` of 0/1 (or bool); inactive (padded) users are ignored. ``None``
  means all users are active.
* ``weights``: ``[..., K]`` non-negative user weights (``weighted_sum_rate`` only).
* ``power_used``: ``[...]`` transmit power ``||W||_F^2`` (``energy_efficiency`` only).
* ``amplifier_efficiency``, ``circuit_power``: the energy-efficiency power model.

| name | utility |
|---|---|
| ``sum_rate`` | ``sum_k R_k`` |
| ``weighted_sum_rate`` | ``sum_k a_k R_k`` |
| ``min_rate`` | ``min_k R_k`` over active users |
| ``proportional_fair`` | ``sum_k ln(max(R_k, RATE_FLOOR))`` over active users |
| ``energy_efficiency`` | ``sum_k R_k / (||W||_F^2 / eta + P_c)`` |
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from beamgym.arrays import Array, at_least, namespace
from beamgym.downlink import rate_from_sinr, sinr, transmit_power

DEFAULT_AMPLIFIER_EFFICIENCY = 0.39
"""Power-amplifier efficiency eta of the BS (Bjornson et al., IEEE TWC 2015, Table 2)."""

DEFAULT_CIRCUIT_POWER = 10.0
"""Static circuit power P_c, linear, in the unit of the noise power (10 dB above sigma2)."""

RATE_FLOOR = 1e-6
"""Rates below this count as this in ``proportional_fair``, so ``R_k = 0`` gives a finite log."""


def _active(rates: Array, user_mask: Array | None) -> Array:
    return rates if user_mask is None else rates * user_mask


def sum_rate(rates: Array, *, user_mask: Array | None = None, **_: object) -> Array:
    """``sum_k R_k`` over active users."""
    return _active(rates, user_mask).sum(axis=-1)


def weighted_sum_rate(
    rates: Array, *, weights: Array | None = None, user_mask: Array | None = None, **_: object
) -> Array:
    """``sum_k a_k R_k`` over active users; ``weights=None`` means all ones."""
    weighted = _active(rates, user_mask) if weights is None else _active(rates * weights, user_mask)
    return weighted.sum(axis=-1)


def min_rate(rates: Array, *, user_mask: Array | None = None, **_: object) -> Array:
    """``min_k R_k`` over active users (max-min fairness objective)."""
    xp = namespace(rates)
    if user_mask is not None:
        rates = xp.where(user_mask > 0, rates, xp.inf)
    return xp.amin(rates, axis=-1)


def proportional_fair(rates: Array, *, user_mask: Array | None = None, **_: object) -> Array:
    """``sum_k ln(max(R_k, RATE_FLOOR))`` over active users (natural log)."""
    xp = namespace(rates)
    return _active(xp.log(at_least(rates, RATE_FLOOR)), user_mask).sum(axis=-1)


def energy_efficiency(
    rates: Array,
    *,
    power_used: Array,
    user_mask: Array | None = None,
    amplifier_efficiency: float = DEFAULT_AMPLIFIER_EFFICIENCY,
    circuit_power: float = DEFAULT_CIRCUIT_POWER,
    **_: object,
) -> Array:
    """``sum_k R_k / (||W||_F^2 / eta + P_c)`` in bit/s/Hz per unit power (Bjornson 2015, eq. (6)).

    The optimum often transmits below the budget, so solvers and the environment must be able
    to (see :func:`beamgym.downlink.project_power`).
    """
    consumed = power_used / amplifier_efficiency + circuit_power
    return sum_rate(rates, user_mask=user_mask) / consumed


@dataclass(frozen=True)
class Utility:
    """A registered utility.

    Attributes:
        name: registry key.
        fn: ``fn(rates, *, user_mask, weights, power_used, amplifier_efficiency, circuit_power)``.
        full_power: whether transmitting the whole budget is optimal (true for every utility
            that grows when all beamformers are scaled up together).
    """

    name: str
    fn: Callable[..., Array]
    full_power: bool


UTILITIES: dict[str, Utility] = {
    u.name: u
    for u in (
        Utility("sum_rate", sum_rate, full_power=True),
        Utility("weighted_sum_rate", weighted_sum_rate, full_power=True),
        Utility("min_rate", min_rate, full_power=True),
        Utility("proportional_fair", proportional_fair, full_power=True),
        Utility("energy_efficiency", energy_efficiency, full_power=False),
    )
}


def get_utility(name: str) -> Utility:
    """Look a utility up by name; unknown names raise ``ValueError`` listing the valid ones."""
    if not isinstance(name, str) or name not in UTILITIES:
        raise ValueError(f"utility must be one of {sorted(UTILITIES)}, got {name!r}")
    return UTILITIES[name]


def utility(name: str, rates: Array, **kwargs: object) -> Array:
    """Evaluate the utility ``name`` on ``rates [..., K]``; see the module docstring for kwargs."""
    return get_utility(name).fn(rates, **kwargs)


def score(
    H: Array,
    W: Array,
    *,
    noise_power: Array | float = 1.0,
    weights: Array | None = None,
    user_mask: Array | None = None,
    amplifier_efficiency: float = DEFAULT_AMPLIFIER_EFFICIENCY,
    circuit_power: float = DEFAULT_CIRCUIT_POWER,
) -> dict[str, Array]:
    """Everything a beamformer achieves on a channel, for the environments' ``info`` and reports.

    Args:
        H: complex ``[..., K, N]``; W: complex ``[..., N, K]``; noise_power: scalar or ``[...]``.
        weights, user_mask: ``[..., K]`` (see the module docstring).

    Returns:
        ``"sinr"`` and ``"rates"`` ``[..., K]``, ``"power"`` ``[...]`` (``||W||_F^2``), and the
        value ``[...]`` of every registered utility under its name.
    """
    sinr_values = sinr(H, W, noise_power)
    user_rates = rate_from_sinr(sinr_values)
    power_used = transmit_power(W)
    result = {"sinr": sinr_values, "rates": user_rates, "power": power_used}
    for name, entry in UTILITIES.items():
        result[name] = entry.fn(
            user_rates,
            user_mask=user_mask,
            weights=weights,
            power_used=power_used,
            amplifier_efficiency=amplifier_efficiency,
            circuit_power=circuit_power,
        )
    return result
