"""The SB3 VecEnv over the native vector environment, against SB3's own DummyVecEnv."""

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.env_util import make_vec_env as sb3_make_vec_env
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.vec_env import VecMonitor, VecNormalize

import beamgym
from agents.rl.vec_env import NativeVecEnv, make_vec_env

CONFIG = {"num_users": 2, "num_antennas": 3}


def test_episodes_end_together_at_the_time_limit_with_their_last_observation():
    venv = make_vec_env("MISO-SumRate-v0", n_envs=3, max_episode_steps=4, **CONFIG)
    venv.seed(5)
    venv.reset()
    for step in range(1, 9):
        obs, rewards, dones, infos = venv.step(np.zeros((3, *venv.action_space.shape)))
        assert obs.shape == (3, *venv.observation_space.shape) and rewards.dtype == np.float32
        assert list(dones) == [step % 4 == 0] * 3
        for info in infos:
            assert ("terminal_observation" in info) == (step % 4 == 0)
            assert info.get("TimeLimit.truncated", step % 4 == 0) == (step % 4 == 0)


def test_rewards_are_the_native_environments_and_the_seed_decides_them():
    """The adapter adds nothing to the physics: its rewards are the native env's for the
    same seed and actions, and a second adapter with the same seed repeats them."""
    rng = np.random.default_rng(0)
    actions = rng.uniform(-1, 1, (6, 4, 2 * 2 * 3)).astype(np.float32)

    def rewards_of(make) -> np.ndarray:
        env = make()
        out = []
        for a in actions:
            out.append(np.asarray(env.step(a)[1], dtype=np.float64))
        return np.stack(out)

    def adapter():
        venv = NativeVecEnv("MISO-MinRate-v0", 4, max_episode_steps=100, **CONFIG)
        venv.seed(11)
        venv.reset()
        return venv

    def native():
        env = gym.make_vec("MISO-MinRate-v0", num_envs=4, max_episode_steps=None, **CONFIG)
        env.reset(seed=11)
        return env

    ours = rewards_of(adapter)
    np.testing.assert_allclose(ours, rewards_of(native), rtol=1e-6)
    np.testing.assert_array_equal(ours, rewards_of(adapter))


class Counting(BaseCallback):
    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def _on_step(self) -> bool:
        self.calls += 1
        return True


@pytest.mark.parametrize("env_id", sorted(beamgym.ENV_IDS))
def test_ppo_learns_through_sb3s_wrappers_callbacks_and_evaluation(env_id):
    venv = VecNormalize(VecMonitor(make_vec_env(env_id, n_envs=8, **CONFIG)), norm_reward=False)
    model = PPO("MlpPolicy", venv, n_steps=16, batch_size=64, n_epochs=1, gamma=0.0, seed=0)
    callback = Counting()
    model.learn(256, callback=callback)
    assert callback.calls == 256 // 8
    mean, std = evaluate_policy(model, venv, n_eval_episodes=8)
    assert np.isfinite(mean) and np.isfinite(std)


def test_sb3s_own_make_vec_env_and_ours_give_the_same_spaces():
    native = make_vec_env("MISO-SumRate-v0", n_envs=2, **CONFIG)
    dummy = sb3_make_vec_env("MISO-SumRate-v0", n_envs=2, env_kwargs=CONFIG)
    assert native.observation_space == dummy.observation_space
    assert native.action_space == dummy.action_space


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"env_id": "CartPole-v1", "n_envs": 2}, "env_id must be one of"),
        ({"env_id": "MISO-SumRate-v0", "n_envs": 0}, "n_envs"),
        ({"env_id": "MISO-SumRate-v0", "n_envs": 2, "max_episode_steps": 0}, "max_episode_steps"),
        ({"env_id": "MISO-SumRate-v0", "n_envs": 2, "num_user": 3}, "did you mean 'num_users'"),
    ],
)
def test_bad_arguments_name_themselves(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_vec_env(**kwargs)
