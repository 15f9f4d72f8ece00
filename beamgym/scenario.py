"""Environment configuration (validated once) and the per-episode draw of a problem instance.

:class:`Scenario` turns the plain keyword arguments of ``gym.make`` into a checked, frozen
description shared by the single and the vector environment; :meth:`Scenario.draw` draws what
changes per episode (K, N, SNR, utility, user weights) for any batch shape and either backend.
Every invalid value raises ``ValueError`` naming the argument and what is allowed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from beamgym.actions import get_action
from beamgym.arrays import Array, namespace
from beamgym.channels import CHANNELS, ChannelModel, make_channel
from beamgym.checks import keywords_of
from beamgym.fading import ChannelTracker, jakes_correlation
from beamgym.layout import TASKS
from beamgym.sampling import Generator, integers, uniform
from beamgym.units import db_to_linear
from beamgym.utilities import UTILITIES, Utility

WEIGHT_MODES = ("equal", "random")

MAX_SIZE = 1024
"""The most users or antennas an environment takes (observations grow with K N)."""

SNR_DB_RANGE = (-100.0, 100.0)
"""Allowed SNRs in dB: every power, SINR and rate stays finite in float32 (the vector env)."""

NOISE_POWER_RANGE = (1e-15, 1e15)
"""Allowed noise powers: with the SNRs above, every budget is a normal float32 number."""

MAX_USER_WEIGHT = 1e6
"""The largest user weight (only the weights' ratios matter; larger ones overflow float32)."""


def _int_range(name: str, value: Any) -> tuple[int, int]:
    pair = value if isinstance(value, Sequence) and not isinstance(value, str) else (value, value)
    ok = len(pair) == 2 and all(isinstance(v, int) and not isinstance(v, bool) for v in pair)
    if not ok or not 1 <= pair[0] <= pair[1] <= MAX_SIZE:
        raise ValueError(
            f"{name} must be an integer in [1, {MAX_SIZE}] or a (min, max) pair of them with "
            f"min <= max, got {value!r}"
        )
    return int(pair[0]), int(pair[1])


def _is_number(value: Any) -> bool:
    """A finite real Python number (bools are not numbers here)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _float_range(name: str, value: Any, low: float, high: float) -> tuple[float, float]:
    pair = value if isinstance(value, Sequence) and not isinstance(value, str) else (value, value)
    ok = len(pair) == 2 and all(_is_number(v) for v in pair)
    if not ok or not low <= pair[0] <= pair[1] <= high:
        raise ValueError(
            f"{name} must be a number in [{low:g}, {high:g}] or a (min, max) pair of them with "
            f"min <= max, got {value!r}"
        )
    return float(pair[0]), float(pair[1])


def _positive(name: str, value: Any, *, upper: float = math.inf, lower: float = 0.0) -> float:
    """A finite number in ``(0, upper]``, or in ``[lower, upper]`` for a positive ``lower``."""
    if not (_is_number(value) and (lower <= value <= upper if lower > 0 else 0 < value <= upper)):
        bracket = f"[{lower:g}" if lower > 0 else "(0"
        raise ValueError(f"{name} must be a finite number in {bracket}, {upper:g}], got {value!r}")
    return float(value)


@dataclass(frozen=True)
class Episode:
    """What is drawn per episode, for a batch ``[...]`` (0-d for the single environment).

    Attributes:
        num_users, num_antennas: int ``[...]`` active sizes.
        user_mask: ``[..., K_max]`` 0/1; antenna_mask: ``[..., N_max]`` 0/1.
        snr_db, power: ``[...]``; ``power = noise_power * 10^(snr_db / 10)``.
        task: int ``[...]``, index into :data:`beamgym.layout.TASKS`.
        weights: ``[..., K_max]`` user weights, zero for inactive users.
    """

    num_users: Array
    num_antennas: Array
    user_mask: Array
    antenna_mask: Array
    snr_db: Array
    power: Array
    task: Array
    weights: Array

    @property
    def channel_mask(self) -> Array:
        """``[..., K_max, N_max]`` 0/1 mask of the active channel entries."""
        return self.user_mask[..., :, None] * self.antenna_mask[..., None, :]


@dataclass(frozen=True)
class Scenario:
    """A validated environment configuration; build it with :meth:`from_kwargs`."""

    users: tuple[int, int]
    antennas: tuple[int, int]
    snr_db: tuple[float, float]
    noise_power: float
    channel: str
    channel_params: Mapping[str, Any]
    utilities: tuple[str, ...]
    user_weights: str | tuple[float, ...]
    amplifier_efficiency: float
    circuit_power: float
    csi_nmse: float
    csi_delay: int
    action: str = "beamformer"

    @classmethod
    def keywords(cls) -> list[str]:
        """The keywords :meth:`from_kwargs` takes (every id's ``gym.make`` keywords)."""
        return keywords_of(cls.from_kwargs)

    @classmethod
    def from_kwargs(
        cls,
        num_users: int | Sequence[int] = 4,
        num_antennas: int | Sequence[int] = 8,
        snr_db: float | Sequence[float] = 10.0,
        noise_power: float = 1.0,
        channel: str = "rayleigh",
        channel_params: Mapping[str, Any] | None = None,
        time_correlation: float | None = None,
        doppler_hz: float | None = None,
        block_duration_s: float = 1e-3,
        utility: str | Sequence[str] = "sum_rate",
        user_weights: str | Sequence[float] = "equal",
        amplifier_efficiency: float = 0.39,
        circuit_power: float = 10.0,
        csi_nmse: float = 0.0,
        csi_delay: int = 0,
        action: str = "beamformer",
    ) -> Scenario:
        """Validate ``gym.make`` keyword arguments (documented on :class:`beamgym.MisoEnv`)."""
        users, antennas = (
            _int_range("num_users", num_users),
            _int_range("num_antennas", num_antennas),
        )
        if not isinstance(channel, str) or channel not in CHANNELS:
            raise ValueError(f"channel must be one of {sorted(CHANNELS)}, got {channel!r}")
        if channel_params is not None and not isinstance(channel_params, Mapping):
            raise ValueError(
                f"channel_params must be a dict of the channel model's arguments, got {channel_params!r}"
            )
        params = dict(channel_params or {})
        given = [
            name
            for name, value in (("time_correlation", time_correlation), ("doppler_hz", doppler_hz))
            if value is not None
        ]
        if "time_correlation" in params:
            given.append("channel_params['time_correlation']")
        if len(given) > 1:
            raise ValueError(f"give one of time_correlation, doppler_hz; got {' and '.join(given)}")
        _positive("block_duration_s", block_duration_s)
        if doppler_hz is not None:
            params["time_correlation"] = jakes_correlation(doppler_hz, block_duration_s)
        elif time_correlation is not None:
            params["time_correlation"] = time_correlation
        single = isinstance(utility, str)
        names = (utility,) if single else tuple(utility) if isinstance(utility, Sequence) else ()
        unknown = [n for n in names if not isinstance(n, str) or n not in TASKS]
        if not names or unknown or len(set(names)) != len(names):
            raise ValueError(
                f"utility must be one of {list(TASKS)} (the tasks of the observation's layout, "
                f"beamgym.layout.TASKS) or a list of distinct ones, got {utility!r}"
            )
        if isinstance(user_weights, str):
            if user_weights not in WEIGHT_MODES:
                raise ValueError(
                    f"user_weights must be one of {WEIGHT_MODES} or {users[1]} numbers >= 0, got {user_weights!r}"
                )
            weights: str | tuple[float, ...] = user_weights
        else:
            weights = tuple(user_weights) if isinstance(user_weights, Sequence) else ()
            if len(weights) != users[1] or not all(
                _is_number(w) and 0 <= w <= MAX_USER_WEIGHT for w in weights
            ):
                raise ValueError(
                    f"user_weights must be one of {WEIGHT_MODES} or {users[1]} numbers in "
                    f"[0, {MAX_USER_WEIGHT:g}], got {user_weights!r}"
                )
        scenario = cls(
            users=users,
            antennas=antennas,
            snr_db=_float_range("snr_db", snr_db, *SNR_DB_RANGE),
            noise_power=_positive(
                "noise_power", noise_power, lower=NOISE_POWER_RANGE[0], upper=NOISE_POWER_RANGE[1]
            ),
            channel=channel,
            channel_params=params,
            utilities=names,
            user_weights=weights,
            amplifier_efficiency=_positive("amplifier_efficiency", amplifier_efficiency, upper=1.0),
            circuit_power=_positive("circuit_power", circuit_power),
            csi_nmse=csi_nmse,
            csi_delay=csi_delay,
            action=get_action(action).name,
        )
        scenario.make_tracker()  # validates channel_params, csi_nmse and csi_delay
        return scenario

    @property
    def max_users(self) -> int:
        return self.users[1]

    @property
    def max_antennas(self) -> int:
        return self.antennas[1]

    @property
    def padded(self) -> bool:
        """Whether K or N varies, so that observations, actions and channels carry padding."""
        return self.users[0] < self.users[1] or self.antennas[0] < self.antennas[1]

    def make_channel(self) -> ChannelModel:
        """The channel model at the largest size (smaller episodes use its first rows/columns)."""
        return make_channel(self.channel, self.max_users, self.max_antennas, **self.channel_params)

    def make_tracker(self) -> ChannelTracker:
        """The channel process plus the CSI the transmitter sees (:class:`ChannelTracker`)."""
        return ChannelTracker(self.make_channel(), self.csi_nmse, self.csi_delay)

    def utility_of(self, task: int) -> Utility:
        """The utility with index ``task`` in :data:`beamgym.layout.TASKS`."""
        return UTILITIES[TASKS[task]]

    def draw(self, rng: Generator, batch_shape: tuple[int, ...] = ()) -> Episode:
        """Draw the per-episode quantities: K, N, SNR and utility uniformly over their ranges
        (the utility uniformly over the configured list), and the user weights."""
        k = self.users[0] + integers(rng, batch_shape, self.users[1] - self.users[0] + 1)
        n = self.antennas[0] + integers(rng, batch_shape, self.antennas[1] - self.antennas[0] + 1)
        xp = namespace(k)
        device = k.device
        user_mask = xp.asarray(
            xp.arange(self.max_users, device=device) < k[..., None], dtype=xp.float32
        )
        antenna_mask = xp.asarray(
            xp.arange(self.max_antennas, device=device) < n[..., None], dtype=xp.float32
        )
        snr_db = uniform(rng, batch_shape, *self.snr_db)
        task_ids = xp.asarray([TASKS.index(u) for u in self.utilities], device=device)
        task = task_ids[integers(rng, batch_shape, len(self.utilities))]
        if self.user_weights == "equal":
            weights = user_mask
        elif self.user_weights == "random":
            raw = uniform(rng, (*batch_shape, self.max_users)) * user_mask
            weights = raw * (k[..., None] / xp.sum(raw, axis=-1, keepdims=True))
        else:
            weights = xp.asarray(self.user_weights, device=device) * user_mask
        return Episode(
            num_users=k,
            num_antennas=n,
            user_mask=user_mask,
            antenna_mask=antenna_mask,
            snr_db=snr_db,
            power=self.noise_power * db_to_linear(snr_db),
            task=task,
            weights=weights,
        )
