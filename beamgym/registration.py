"""The registered environment ids: one class, one configuration per id.

Every id accepts every keyword of :class:`beamgym.env.MisoEnv` through ``gym.make`` (and of
:class:`beamgym.vector_env.MisoVectorEnv` through ``gym.make_vec``), overriding the defaults
below. Kwargs are plain values, so ``env.spec.to_json()`` records the exact configuration.
"""

from __future__ import annotations

import gymnasium as gym

from beamgym.layout import TASKS

MAX_EPISODE_STEPS = 10
"""Coherence blocks per episode of every registered id (override with ``max_episode_steps``)."""

ENV_IDS: dict[str, dict[str, object]] = {
    "MISO-SumRate-v0": {"utility": "sum_rate"},
    "MISO-WeightedSumRate-v0": {"utility": "weighted_sum_rate", "user_weights": "random"},
    "MISO-MinRate-v0": {"utility": "min_rate"},
    "MISO-ProportionalFair-v0": {"utility": "proportional_fair"},
    "MISO-EnergyEfficiency-v0": {"utility": "energy_efficiency"},
    "MISO-MultiTask-v0": {"utility": list(TASKS), "user_weights": "random"},
}
"""Registered ids and the keyword arguments that distinguish them (defaults otherwise:
K = 4, N = 8, 10 dB, i.i.d. Rayleigh, noise power 1)."""


def env_id_for(utility: str) -> str:
    """The registered id that pays ``utility`` alone (``MISO-SumRate-v0`` for ``sum_rate``),
    read from :data:`ENV_IDS`; a utility without one raises ``ValueError``."""
    ids = {
        kwargs["utility"]: env_id
        for env_id, kwargs in ENV_IDS.items()
        if isinstance(kwargs["utility"], str)
    }
    if utility not in ids:
        raise ValueError(
            f"utility must be one of {sorted(ids)} (a single-task id's), got {utility!r}"
        )
    return ids[utility]


def register_envs() -> None:
    """Register every id in :data:`ENV_IDS` (idempotent)."""
    for env_id, kwargs in ENV_IDS.items():
        if env_id in gym.registry:
            continue
        gym.register(
            id=env_id,
            entry_point="beamgym.env:MisoEnv",
            vector_entry_point="beamgym.vector_env:MisoVectorEnv",
            max_episode_steps=MAX_EPISODE_STEPS,
            kwargs=kwargs,
        )
