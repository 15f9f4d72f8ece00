"""stable-baselines3 on beamgym's native vector environment: every copy in one torch batch.

SB3 drives its environments through a ``VecEnv`` (``reset``, ``step_async``/``step_wait``,
``seed``, attribute access), and its own ``DummyVecEnv`` and ``SubprocVecEnv`` step one
Gymnasium environment per copy: about 1.5k steps/s here, where the native
:class:`beamgym.vector_env.MisoVectorEnv` draws and scores a million channels a second.
:class:`NativeVecEnv` is that ``VecEnv`` over the native environment, so every SB3 algorithm,
wrapper (``VecNormalize``, ``VecMonitor``), callback and ``evaluate_policy`` runs on it::

    from stable_baselines3 import PPO
    from agents.rl.vec_env import make_vec_env

    venv = make_vec_env("MISO-SumRate-v0", n_envs=256, num_users=4, num_antennas=8)
    PPO("MlpPolicy", venv, n_steps=32, batch_size=2048, gamma=0.0).learn(1_000_000)

Semantics, SB3's: ``step`` returns ``(obs, rewards, dones, infos)`` with float32 rewards; a
copy whose episode ended is reset at once, ``obs`` is the new episode's first observation and
``infos[i]`` holds ``"terminal_observation"`` (the last one) and ``"TimeLimit.truncated"``
(always ``True``: a beamgym episode ends only at its time limit). The native environment runs
without a time limit of its own and this adapter counts the blocks, so the two never disagree
and the native environment's autoreset mode does not matter. Episodes run in lockstep: every
copy ends after ``max_episode_steps`` blocks (the id's, 10 by default).

It imports stable-baselines3 (the ``sb3`` extra), so it is imported from here, not from
:mod:`agents.rl`. Seeding: ``seed(s)`` (as SB3 calls it for ``PPO(..., seed=s)``) seeds the next ``reset``; the
native environment has one generator for the whole batch, so ``s`` alone decides every copy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.vec_env.base_vec_env import VecEnv, VecEnvIndices

import beamgym
from beamgym.checks import check_count
from beamgym.vector_env import MisoVectorEnv


class NativeVecEnv(VecEnv):
    """An SB3 ``VecEnv`` of ``n_envs`` copies of ``env_id`` (module docstring).

    Args:
        env_id: a beamgym id (:data:`beamgym.ENV_IDS`).
        n_envs: number of copies, stepped as one batch.
        max_episode_steps: blocks per episode (default: the id's).
        device: torch device of the native environment.
        **kwargs: the environment's configuration keywords, as for ``gym.make``.
    """

    def __init__(
        self,
        env_id: str,
        n_envs: int,
        max_episode_steps: int | None = None,
        device: str = "cpu",
        **kwargs: Any,
    ) -> None:
        if env_id not in beamgym.ENV_IDS:
            raise ValueError(f"env_id must be one of {sorted(beamgym.ENV_IDS)}, got {env_id!r}")
        check_count("n_envs", n_envs)
        steps = (
            gym.spec(env_id).max_episode_steps if max_episode_steps is None else max_episode_steps
        )
        check_count("max_episode_steps", steps)
        env = gym.make_vec(env_id, num_envs=n_envs, max_episode_steps=None, device=device, **kwargs)
        assert isinstance(env, MisoVectorEnv)
        self.env, self.max_episode_steps = env, steps
        super().__init__(n_envs, env.single_observation_space, env.single_action_space)
        self._actions: np.ndarray | None = None
        self._steps = 0

    def reset(self) -> np.ndarray:
        obs, _ = self.env.reset(seed=self._seeds[0])
        self._reset_seeds()
        self._reset_options()
        self._steps = 0
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions

    def step_wait(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict[str, Any]]]:
        if self._actions is None:
            raise RuntimeError("call step_async(actions) before step_wait()")
        obs, rewards, _, _, _ = self.env.step(self._actions)
        self._actions = None
        self._steps += 1
        done = self._steps >= self.max_episode_steps
        infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        if done:
            for info, last in zip(infos, obs, strict=True):
                info.update({"terminal_observation": last, "TimeLimit.truncated": True})
            obs, _ = self.env.reset()
            self._steps = 0
        dones = np.full(self.num_envs, done)
        return obs, rewards.astype(np.float32), dones, infos

    def close(self) -> None:
        self.env.close()

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        """The native environment's attribute, once per index (the copies share one object)."""
        return [getattr(self.env, attr_name) for _ in self._get_indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        if list(self._get_indices(indices)) != list(range(self.num_envs)):
            raise ValueError("set_attr applies to every copy at once: pass indices=None")
        setattr(self.env, attr_name, value)

    def env_method(
        self,
        method_name: str,
        *method_args: Any,
        indices: VecEnvIndices = None,
        **method_kwargs: Any,
    ) -> list[Any]:
        """Call the native environment's method once; its result is given for every index."""
        result = getattr(self.env, method_name)(*method_args, **method_kwargs)
        return [result for _ in self._get_indices(indices)]

    def env_is_wrapped(
        self, wrapper_class: type[gym.Wrapper], indices: VecEnvIndices = None
    ) -> list[bool]:
        return [False for _ in self._get_indices(indices)]

    def get_images(self) -> Sequence[np.ndarray | None]:
        return [None for _ in range(self.num_envs)]


def make_vec_env(env_id: str, n_envs: int, **kwargs: Any) -> NativeVecEnv:
    """:class:`NativeVecEnv` of ``n_envs`` copies of ``env_id`` (keywords: its arguments and
    the environment's configuration)."""
    return NativeVecEnv(env_id, n_envs, **kwargs)
