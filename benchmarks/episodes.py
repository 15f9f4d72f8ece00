"""The channels of a configuration, drawn once from the environment and shared by every agent.

:func:`draw_channels` builds ``gym.make(env_id, max_episode_steps=blocks, **kwargs)``, resets
it with each seed and steps through the episode's blocks with a zero action (the action does
not influence the channels). For every block it keeps

* ``estimate``: what an agent observes, the channel field of the observation
  (:meth:`beamgym.Layout.unpack_observation`). The observation is float32, so the estimate
  has float32 precision; it is stored upcast to complex128 and is what agents are given.
* ``channel``: the true channel from the step's ``info`` (float64), which agents are scored on.
  It equals the estimate up to float32 rounding unless the configuration has imperfect CSI
  (``csi_nmse``, ``csi_delay``).

and, per episode, the power budget ``P = noise_power * 10^(snr_db / 10)`` with ``snr_db`` from
``reset``'s info, the noise power, user weights and the active users and antennas. Shapes are
padded to ``K_max x N_max`` with masks, as the environment pads them, so varying-K
configurations are one batch. For sum-rate configurations the DPC sum capacity of each true
channel (:func:`agents.dpc_capacity`, with its certificate gap) is stored as the ceiling.

:func:`save_channels` / :func:`load_channels` keep a :class:`Channels` as an ``.npz`` of plain
arrays (strings as NumPy unicode arrays), loadable with ``allow_pickle=False``.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, fields, replace
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch

import agents
from beamgym.units import db_to_linear
from benchmarks.results import partial_name
from benchmarks.suites import Configuration


@dataclass(frozen=True)
class Channels:
    """``S = episodes x blocks`` problem instances of one configuration, episode-major.

    Attributes:
        channel: true channels, complex128 ``[S, K_max, N_max]`` (zero where padded).
        estimate: what the agent observes, complex128 ``[S, K_max, N_max]``.
        power, noise_power: ``P`` and ``sigma2``, float64 ``[S]``.
        weights: user weights, float64 ``[S, K_max]`` (zero where padded).
        user_mask: bool ``[S, K_max]``; antenna_mask: bool ``[S, N_max]``.
        seed, episode, block: int64 ``[S]``: the episode's seed, its index, the block index.
        dpc_capacity, dpc_gap: float64 ``[S]`` for sum-rate configurations, else empty.
        utility: the utility the configuration pays.
        amplifier_efficiency, circuit_power: the energy-efficiency power model.
        env_spec: ``env.spec.to_json()`` of the environment the channels came from.

    The arrays are read-only: every agent of a configuration is scored on the same ones, so
    none may change them (agents get copies, :func:`benchmarks.scoring.evaluate`).
    """

    channel: np.ndarray
    estimate: np.ndarray
    power: np.ndarray
    noise_power: np.ndarray
    weights: np.ndarray
    user_mask: np.ndarray
    antenna_mask: np.ndarray
    seed: np.ndarray
    episode: np.ndarray
    block: np.ndarray
    dpc_capacity: np.ndarray
    dpc_gap: np.ndarray
    utility: str
    amplifier_efficiency: float
    circuit_power: float
    env_spec: str

    def __post_init__(self) -> None:
        for entry in fields(self):
            value = getattr(self, entry.name)
            if isinstance(value, np.ndarray):
                value.flags.writeable = False

    @property
    def num_channels(self) -> int:
        return self.channel.shape[0]

    @property
    def padded(self) -> bool:
        """Whether some sample has inactive users or antennas (then solvers get masks)."""
        return not (self.user_mask.all() and self.antenna_mask.all())

    @property
    def num_users(self) -> np.ndarray:
        """Active users per channel ``[S]``."""
        return self.user_mask.sum(-1)


def _pad(x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    out = np.zeros(shape, dtype=x.dtype)
    out[tuple(slice(0, n) for n in x.shape)] = x
    return out


def draw_channels(config: Configuration) -> Channels:
    """Draw the configuration's channels (see the module docstring).

    Raises:
        ValueError: an env id that is not registered, invalid kwargs, or a configuration
            that draws its utility per episode (every configuration must pay one utility).
    """
    if config.env_id not in gym.registry:
        raise ValueError(f"env_id must be a registered Gymnasium id, got {config.env_id!r}")
    env = gym.make(config.env_id, max_episode_steps=config.blocks, **config.kwargs)
    base = env.unwrapped
    scenario, layout = base.scenario, base.layout
    if len(scenario.utilities) != 1:
        raise ValueError(
            f"a configuration must pay one utility, got utility={list(scenario.utilities)}; "
            "give utility=<name> in its kwargs"
        )
    k_max, n_max = layout.max_users, layout.max_antennas
    action = np.zeros(env.action_space.shape, dtype=env.action_space.dtype)
    estimates, truths, infos = [], [], []
    for seed in config.seeds:
        obs, info = env.reset(seed=seed)
        for _ in range(config.blocks):
            estimates.append(layout.unpack_observation(obs)["channel"])
            obs, _, _, _, step = env.step(action)
            truths.append(_pad(step["channel"], (k_max, n_max)))
            infos.append(info)
    env.close()
    noise_power = np.full(len(infos), scenario.noise_power)
    channels = Channels(
        channel=np.stack(truths).astype(np.complex128),
        estimate=np.stack(estimates).astype(np.complex128),
        power=noise_power * db_to_linear(np.array([i["snr_db"] for i in infos])),
        noise_power=noise_power,
        weights=np.stack([_pad(np.asarray(i["weights"], np.float64), (k_max,)) for i in infos]),
        user_mask=np.arange(k_max) < np.array([i["num_users"] for i in infos])[:, None],
        antenna_mask=np.arange(n_max) < np.array([i["num_antennas"] for i in infos])[:, None],
        seed=np.repeat(np.array(config.seeds, dtype=np.int64), config.blocks),
        episode=np.repeat(np.arange(len(config.seeds), dtype=np.int64), config.blocks),
        block=np.tile(np.arange(config.blocks, dtype=np.int64), len(config.seeds)),
        dpc_capacity=np.zeros(0),
        dpc_gap=np.zeros(0),
        utility=scenario.utilities[0],
        amplifier_efficiency=scenario.amplifier_efficiency,
        circuit_power=scenario.circuit_power,
        env_spec=env.spec.to_json(),
    )
    if channels.utility == "sum_rate":
        try:
            capacity, gap = dpc_ceiling(channels)
        except ValueError as error:  # beyond float64 (~170 dB received SNR): no ceiling
            warnings.warn(f"{config.name}: no DPC ceiling: {error}", stacklevel=2)
        else:
            channels = replace(channels, dpc_capacity=capacity, dpc_gap=gap)
    return channels


def dpc_ceiling(channels: Channels) -> tuple[np.ndarray, np.ndarray]:
    """DPC sum capacity and certificate gap of each true channel ``[S]``, solved per
    active (K, N) so that padding does not enter (active users and antennas come first)."""
    capacity, gap = np.zeros(channels.num_channels), np.zeros(channels.num_channels)
    sizes = np.stack([channels.user_mask.sum(-1), channels.antenna_mask.sum(-1)], -1)
    for k, n in np.unique(sizes, axis=0):
        index = np.nonzero((sizes == (k, n)).all(-1))[0]
        result = agents.dpc_capacity(
            torch.from_numpy(channels.channel[index, :k, :n]),
            torch.from_numpy(channels.power[index]),
            torch.from_numpy(channels.noise_power[index]),
        )
        capacity[index], gap[index] = result.capacity.numpy(), result.gap.numpy()
    return capacity, gap


def save_channels(channels: Channels, path: str | Path) -> None:
    """Write ``channels`` to ``path`` (``.npz``) atomically: a reader sees all or nothing."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = partial_name(path).with_suffix(".npz")  # np.savez appends .npz otherwise
    np.savez(partial, **{f.name: np.asarray(getattr(channels, f.name)) for f in fields(Channels)})
    os.replace(partial, path)


def load_channels(path: str | Path) -> Channels:
    """Read channels written by :func:`save_channels` (no pickle)."""
    with np.load(path, allow_pickle=False) as data:
        values = {f.name: data[f.name] for f in fields(Channels)}
    for name in ("utility", "env_spec"):
        values[name] = str(values[name])
    for name in ("amplifier_efficiency", "circuit_power"):
        values[name] = float(values[name])
    return Channels(**values)
