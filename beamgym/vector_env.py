"""The native vector environment: every copy of :class:`beamgym.env.MisoEnv` in one torch batch."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium import logger
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space

from beamgym.actions import get_action
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
    ``max_episode_steps`` blocks (no copy ever terminates earlier). The end of an episode
    follows Gymnasium 1.x's ``autoreset_mode`` (https://farama.org/Vector-Autoreset-Mode),
    exactly as :class:`gymnasium.vector.SyncVectorEnv` does; the mode is declared in
    ``self.metadata["autoreset_mode"]``:

    * ``AutoresetMode.NEXT_STEP`` (default): the truncating step returns the episodes' last
      observations; the following ``step`` applies no action (its actions are checked, then
      ignored), starts the next episodes and returns their first observations, rewards 0,
      ``terminated`` and ``truncated`` False and the reset info.
    * ``AutoresetMode.SAME_STEP``: the truncating step starts the next episodes and returns
      their first observations. Its info is the new episodes' reset info plus
      ``"final_obs"`` (object array of the last observations), ``"final_info"`` (the info of
      that step, describing the finished episodes) and their masks ``"_final_obs"``,
      ``"_final_info"``.
    * ``AutoresetMode.DISABLED``: nothing is reset automatically; stepping truncated episodes
      raises ``RuntimeError`` until ``reset()`` is called. Gymnasium's partial reset
      ``reset(options={"reset_mask": mask})`` is accepted with an all-True mask only (the
      copies truncate together, so they are reset together); any other mask raises
      ``ValueError``.

    ``info`` holds batched, padded arrays, each key ``key`` with its mask ``"_key"`` (all True:
    every copy reports every key), as Gymnasium's vector envs build them. ``reset`` (and an
    autoreset) returns the episode entries ``"num_users"``, ``"num_antennas"``, ``"snr_db"``,
    ``"task"`` (index into :data:`beamgym.layout.TASKS`) ``[B]``, ``"weights"``/
    ``"user_mask"`` ``[B, K_max]`` and ``"antenna_mask"`` ``[B, N_max]``; ``step`` adds
    ``"channel"`` ``[B, K_max, N_max]``, ``"beamformer"`` ``[B, N_max, K_max]``,
    ``"rates"``/``"sinr"`` ``[B, K_max]``, ``"power"`` ``[B]`` and every utility by name.

    Args:
        num_envs: batch size B.
        max_episode_steps: blocks per episode (``None``: never truncate).
        device: torch device the batch lives on.
        autoreset_mode: an :class:`gymnasium.vector.AutoresetMode` or its value
            (``"NextStep"``, ``"SameStep"``, ``"Disabled"``; a value keeps
            ``env.spec.to_json()`` working).
        render_mode: the vector environment does not render; any value other than ``None``
            draws a warning (as ``gym.make`` gives for an unsupported mode) and is ignored.
        **kwargs: the configuration of :class:`beamgym.env.MisoEnv`.
    """

    metadata = {"render_modes": [], "autoreset_mode": AutoresetMode.NEXT_STEP}
    """The class's defaults; each instance declares its own ``autoreset_mode``."""

    def __init__(
        self,
        num_envs: int = 1,
        max_episode_steps: int | None = None,
        device: str = "cpu",
        autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
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
        self.autoreset_mode = _autoreset_mode(autoreset_mode)
        self.metadata = {**MisoVectorEnv.metadata, "autoreset_mode": self.autoreset_mode}
        if render_mode is not None:
            logger.warn(
                f"render_mode={render_mode!r} is not supported by the vector environment "
                "(render_modes: []); it is ignored and render_mode is None"
            )
        self.num_envs, self.max_episode_steps, self.device = (
            num_envs,
            max_episode_steps,
            torch.device(device),
        )
        self.render_mode = None
        own = ["num_envs", "max_episode_steps", "device", "autoreset_mode", "render_mode"]
        check_keywords("gym.make_vec", kwargs, own + Scenario.keywords())
        self.scenario = Scenario.from_kwargs(**kwargs)
        self.layout = Layout(self.scenario.max_users, self.scenario.max_antennas)
        self.tracker = self.scenario.make_tracker()
        self.single_observation_space = observation_space(self.scenario, self.layout)
        self.single_action_space = action_space(self.scenario, self.layout)
        self._to_beamformer = get_action(self.scenario.action).to_beamformer
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self._generator: torch.Generator | None = None
        self._episode: Episode | None = None
        self._ended = False  # the last step truncated the episodes and nothing reset them yet
        self._full_power = _FULL_POWER.to(self.device)
        self._padded = self.scenario.padded

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict]:
        """Start new episodes in every copy; ``options["reset_mask"]``, if given, must be an
        all-True bool array ``[B]`` (see the class docstring)."""
        if options is not None and "reset_mask" in options:
            self._check_reset_mask(options["reset_mask"])
        super().reset(seed=seed)
        if seed is not None or self._generator is None:
            self._generator = torch.Generator(self.device)
            self._generator.manual_seed(int(self.np_random.integers(2**63)))
        obs = self._start_episodes()
        return obs, self._reset_info()

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]:
        if self._episode is None:
            raise RuntimeError("call reset() before step()")
        actions = torch.as_tensor(
            check_action(actions, self.single_action_space, (self.num_envs,), np.float32),
            device=self.device,
        )
        not_done = np.zeros(self.num_envs, dtype=bool)
        if self._ended:
            if self.autoreset_mode == AutoresetMode.DISABLED:
                raise RuntimeError(
                    f"the episodes were truncated after max_episode_steps={self.max_episode_steps} "
                    "blocks and autoreset_mode is AutoresetMode.DISABLED: call reset() before step()"
                )
            obs = self._start_episodes()  # NEXT_STEP: this step is the reset, actions unused
            return obs, np.zeros(self.num_envs), not_done, not_done.copy(), self._reset_info()
        ep, scenario = self._episode, self.scenario
        W = self._to_beamformer(
            actions,
            self._estimate,  # what the observation showed: the map may read the channel
            ep.power,
            self.scenario.noise_power,
            full_power=self._episode_full_power,
            user_mask=ep.user_mask if self._padded else None,
            antenna_mask=ep.antenna_mask if self._padded else None,
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
        info = self._with_masks(info)
        self._steps += 1
        truncated = self.max_episode_steps is not None and self._steps >= self.max_episode_steps
        self._set_channels(*self.tracker.step(self._generator))
        obs = self._observation()
        if truncated and self.autoreset_mode == AutoresetMode.SAME_STEP:
            final_obs = np.empty(self.num_envs, dtype=object)
            for b in range(self.num_envs):
                final_obs[b] = obs[b]
            obs = self._start_episodes()
            info = {
                **self._reset_info(),
                **self._with_masks({"final_obs": final_obs, "final_info": info}),
            }
        else:
            self._ended = truncated
        truncations = np.full(self.num_envs, truncated)
        return obs, _numpy(rewards).astype(np.float64), not_done, truncations, info

    def _check_reset_mask(self, reset_mask: Any) -> None:
        """Gymnasium's checks of a partial reset's mask, plus: every copy (lockstep)."""
        shape = (self.num_envs,)
        if not (
            isinstance(reset_mask, np.ndarray)
            and reset_mask.dtype == np.bool_
            and reset_mask.shape == shape
        ):
            raise ValueError(
                f"options['reset_mask'] must be a NumPy bool array of shape {shape}, got {reset_mask!r}"
            )
        if not reset_mask.all():
            raise ValueError(
                f"options['reset_mask'] must be all True: the {self.num_envs} copies of "
                "MisoVectorEnv run in lockstep (they start together and truncate at the same "
                f"step), so they are reset together; got reset_mask={reset_mask}"
            )

    def _start_episodes(self) -> np.ndarray:
        self._episode = ep = self.scenario.draw(self._generator, (self.num_envs,))
        self._context = self.layout.pack_context(
            ep.snr_db, ep.user_mask, ep.antenna_mask, ep.weights, ep.task
        )
        self._steps, self._ended = 0, False
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

    def _reset_info(self) -> dict[str, np.ndarray]:
        """The info of a reset: the per-episode entries with their masks."""
        return self._with_masks(self._episode_info())

    def _with_masks(self, info: dict[str, Any]) -> dict[str, Any]:
        """``info`` with Gymnasium's mask ``"_key"`` (all True) after every key ``"key"``."""
        masked = {}
        for name, value in info.items():
            masked[name], masked[f"_{name}"] = value, np.ones(self.num_envs, dtype=bool)
        return masked


def _autoreset_mode(value: AutoresetMode | str) -> AutoresetMode:
    """``value`` as an :class:`AutoresetMode` (given as one or as its string value)."""
    if isinstance(value, AutoresetMode):
        return value
    allowed = [mode.value for mode in AutoresetMode]
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(
            f"autoreset_mode must be a gymnasium.vector.AutoresetMode or one of {allowed}, "
            f"got {value!r}"
        )
    return AutoresetMode(value)


def _numpy(x: torch.Tensor) -> np.ndarray:
    return x.detach().cpu().numpy()
