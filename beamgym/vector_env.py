"""The native vector environment: every copy of :class:`beamgym.env.MisoEnv` in one torch batch."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space

from beamgym.checks import check_count, check_keywords
from beamgym.env import action_space, check_action, observation_space
from beamgym.layout import TASKS, Layout
from beamgym.scenario import Episode, Scenario
from beamgym.utilities import UTILITIES, score

_FULL_POWER = torch.tensor([UTILITIES[name].full_power for name in TASKS])


class MisoVectorEnv(gym.vector.VectorEnv):
    """``num_envs`` MU-MISO beamforming environments stepped as one batch.

    Same configuration keywords, spaces, physics and rewards as :class:`beamgym.env.MisoEnv`
    (one observation/action row per copy); built by ``gym.make_vec(id, num_envs=...)``.
    Channels are drawn and scored in torch (complex64) on ``device``; observations, rewards
    and info are returned as NumPy arrays. Seeding: ``reset(seed=s)`` seeds one torch
    generator for the whole batch, so the batch is reproducible, but its channels differ from
    those of single environments seeded ``s, s+1, ...``.

    Episodes run in lockstep: every copy starts at ``reset`` and is truncated after
    ``max_episode_steps`` blocks (no copy ever terminates earlier). Autoreset is
    ``AutoresetMode.SAME_STEP``: the step that truncates returns the first observation of the
    next episodes, with the last ones in ``info["final_obs"]`` (mask ``info["_final_obs"]``).

    ``info`` holds batched, padded arrays: ``"channel"`` ``[B, K_max, N_max]``,
    ``"beamformer"`` ``[B, N_max, K_max]``, ``"rates"``/``"sinr"``/``"weights"``/
    ``"user_mask"`` ``[B, K_max]``, ``"antenna_mask"`` ``[B, N_max]``, and ``[B]`` arrays
    ``"power"``, ``"snr_db"``, ``"num_users"``, ``"num_antennas"``, ``"task"`` (index into
    :data:`beamgym.layout.TASKS`) and every utility by name.

    Args:
        num_envs: batch size B.
        max_episode_steps: blocks per episode (``None``: never truncate).
        device: torch device the batch lives on.
        **kwargs: the configuration of :class:`beamgym.env.MisoEnv`.
    """

    metadata = {"render_modes": [], "autoreset_mode": AutoresetMode.SAME_STEP}

    def __init__(
        self,
        num_envs: int = 1,
        max_episode_steps: int | None = None,
        device: str = "cpu",
        render_mode: str | None = None,
        **kwargs: Any,
    ) -> None:
        check_count("num_envs", num_envs)
        if max_episode_steps is not None and (
            not isinstance(max_episode_steps, int) or max_episode_steps < 1
        ):
            raise ValueError(
                f"max_episode_steps must be None or a positive integer, got {max_episode_steps!r}"
            )
        if render_mode is not None:
            raise ValueError(
                f"render_mode must be None for the vector environment, got {render_mode!r}"
            )
        self.num_envs, self.max_episode_steps, self.device = (
            num_envs,
            max_episode_steps,
            torch.device(device),
        )
        self.render_mode = None
        own = ["num_envs", "max_episode_steps", "device", "render_mode"]
        check_keywords("gym.make_vec", kwargs, own + Scenario.keywords())
        self.scenario = Scenario.from_kwargs(**kwargs)
        self.layout = Layout(self.scenario.max_users, self.scenario.max_antennas)
        self.tracker = self.scenario.make_tracker()
        self.single_observation_space = observation_space(self.scenario, self.layout)
        self.single_action_space = action_space(self.layout)
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self._generator: torch.Generator | None = None
        self._episode: Episode | None = None
        self._full_power = _FULL_POWER.to(self.device)
        self._padded = self.scenario.padded

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        if seed is not None or self._generator is None:
            self._generator = torch.Generator(self.device)
            self._generator.manual_seed(int(self.np_random.integers(2**63)))
        obs = self._start_episodes()
        return obs, self._episode_info()

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]:
        if self._episode is None:
            raise RuntimeError("call reset() before step()")
        ep, scenario = self._episode, self.scenario
        actions = torch.as_tensor(
            check_action(actions, self.layout, (self.num_envs,), np.float32), device=self.device
        )
        mask = ep.beam_mask if self._padded else None
        W = self.layout.action_to_beamformer(
            actions, ep.power, full_power=self._episode_full_power, mask=mask
        )
        metrics = score(
            self._channel,
            W,
            noise_power=scenario.noise_power,
            weights=ep.weights,
            user_mask=ep.user_mask if self._padded else None,
            amplifier_efficiency=scenario.amplifier_efficiency,
            circuit_power=scenario.circuit_power,
        )
        if len(scenario.utilities) == 1:
            rewards = metrics[scenario.utilities[0]]
        else:
            rewards = torch.stack([metrics[name] for name in TASKS]).gather(0, ep.task[None])[0]
        info = self._episode_info()
        info.update({name: _numpy(value) for name, value in metrics.items()})
        info.update(channel=_numpy(self._channel), beamformer=_numpy(W))
        self._steps += 1
        truncated = self.max_episode_steps is not None and self._steps >= self.max_episode_steps
        self._set_channels(*self.tracker.step(self._generator))
        obs = self._observation()
        if truncated:
            info.update(final_obs=obs, _final_obs=np.ones(self.num_envs, dtype=bool))
            obs = self._start_episodes()
        terminations = np.zeros(self.num_envs, dtype=bool)
        truncations = np.full(self.num_envs, truncated)
        return obs, _numpy(rewards).astype(np.float64), terminations, truncations, info

    def _start_episodes(self) -> np.ndarray:
        self._episode = ep = self.scenario.draw(self._generator, (self.num_envs,))
        self._context = self.layout.pack_context(
            ep.snr_db, ep.user_mask, ep.antenna_mask, ep.weights, ep.task
        )
        self._steps = 0
        self._episode_full_power = (  # a plain bool when every copy has the same utility
            self._full_power[ep.task]
            if len(self.scenario.utilities) > 1
            else UTILITIES[self.scenario.utilities[0]].full_power
        )
        fields = (
            "num_users",
            "num_antennas",
            "snr_db",
            "task",
            "weights",
            "user_mask",
            "antenna_mask",
        )
        self._episode_arrays = {name: _numpy(getattr(ep, name)) for name in fields}
        self._set_channels(*self.tracker.reset(self._generator, (self.num_envs,)))
        return self._observation()

    def _set_channels(self, true_channel: torch.Tensor, estimate: torch.Tensor) -> None:
        if self._padded:
            mask = self._episode.channel_mask
            true_channel, estimate = true_channel * mask, estimate * mask
        self._channel, self._estimate = true_channel, estimate

    def _observation(self) -> np.ndarray:
        return _numpy(self.layout.pack_observation(self._estimate, self._context))

    def _episode_info(self) -> dict[str, np.ndarray]:
        """The per-episode info entries, fresh copies (converted once per episode)."""
        return {name: value.copy() for name, value in self._episode_arrays.items()}


def _numpy(x: torch.Tensor) -> np.ndarray:
    return x.detach().cpu().numpy()
