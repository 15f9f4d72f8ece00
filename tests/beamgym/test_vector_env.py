"""The native vector environment (gym.make_vec) against the single environment's contract."""

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

from beamgym import ENV_IDS, TASKS, MisoVectorEnv, utility
from beamgym.registration import MAX_EPISODE_STEPS
from beamgym.utilities import RATE_FLOOR
from tests.beamgym.test_env import CONFIG_IDS, CONFIGS


def make(env_id: str, num_envs: int = 6, **kwargs) -> MisoVectorEnv:
    return gym.make_vec(env_id, num_envs=num_envs, **kwargs)


@pytest.mark.parametrize(("env_id", "kwargs"), CONFIGS, ids=CONFIG_IDS)
def test_make_vec_builds_the_native_env_with_the_single_env_spaces(env_id, kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        envs = make(env_id, **kwargs)
    single = gym.make(env_id, **kwargs)
    assert isinstance(envs, MisoVectorEnv)
    assert envs.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP
    assert envs.single_observation_space == single.observation_space
    assert envs.single_action_space == single.action_space
    obs, _ = envs.reset(seed=0)
    assert obs.shape == (6, *single.observation_space.shape)
    assert all(single.observation_space.contains(row) for row in obs)


@pytest.mark.parametrize(("env_id", "kwargs"), CONFIGS, ids=CONFIG_IDS)
def test_reward_is_the_utility_of_the_reported_channel_and_beamformer(env_id, kwargs):
    envs = make(env_id, **kwargs)
    envs.reset(seed=1)
    _, rewards, _, _, info = envs.step(envs.action_space.sample())
    for b in range(envs.num_envs):
        k, n = info["num_users"][b], info["num_antennas"][b]
        H = info["channel"][b].astype(np.complex128)
        W = info["beamformer"][b].astype(np.complex128)
        assert (
            np.all(H[k:] == 0)
            and np.all(H[:, n:] == 0)
            and np.all(W[n:] == 0)
            and np.all(W[:, k:] == 0)
        )
        H, W = H[:k, :n], W[:n, :k]
        gains = np.abs(H @ W) ** 2
        rates = np.log2(1 + np.diag(gains) / (gains.sum(axis=1) - np.diag(gains) + 1.0))
        np.testing.assert_allclose(info["rates"][b, :k], rates, rtol=1e-4, atol=1e-6)
        name = TASKS[info["task"][b]]
        expected = utility(
            name, rates, weights=info["weights"][b, :k], power_used=np.sum(np.abs(W) ** 2)
        )
        # float32 rates carry an absolute error ~1e-6 (checked above); ln(R) magnifies it by 1/R
        spread = (
            np.sum(1e-6 / np.maximum(rates, RATE_FLOOR)) if name == "proportional_fair" else 0.0
        )
        assert rewards[b] == pytest.approx(float(expected), rel=1e-4, abs=1e-6 + spread)


def test_seeded_reset_reproduces_the_batch():
    def trace(seed):
        envs = make("MISO-MultiTask-v0", num_users=(2, 4))
        obs, _ = envs.reset(seed=seed)
        actions = (
            np.random.default_rng(seed).uniform(-1, 1, envs.action_space.shape).astype(np.float32)
        )
        return [obs, *envs.step(actions)[:2]]

    for a, b in zip(trace(5), trace(5), strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(trace(5)[0], trace(6)[0])


def test_episodes_truncate_together_and_autoreset_in_the_same_step():
    envs = make("MISO-SumRate-v0", num_envs=3)
    obs, _ = envs.reset(seed=0)
    action = envs.action_space.sample()
    for step in range(1, MAX_EPISODE_STEPS + 1):
        previous = obs
        obs, _, terminated, truncated, info = envs.step(action)
        assert not terminated.any()
        assert truncated.all() == (step == MAX_EPISODE_STEPS)
    np.testing.assert_array_equal(info["_final_obs"], True)
    assert not np.array_equal(info["final_obs"], previous) and not np.array_equal(
        info["final_obs"], obs
    )


def test_tiny_actions_spend_the_whole_budget_and_the_ball_keeps_them_tiny():
    """Sum rate is spent on the sphere (float32 would square 1e-30 to 0); energy efficiency
    on the ball, where a tiny action is a tiny transmission."""
    for env_id, expected in (("MISO-SumRate-v0", 10.0), ("MISO-EnergyEfficiency-v0", 0.0)):
        envs = make(env_id, num_envs=2, num_users=3, num_antennas=4, snr_db=10.0)
        envs.reset(seed=0)
        actions = np.full(envs.action_space.shape, 1e-30, dtype=np.float32)
        W = envs.step(actions)[4]["beamformer"]
        np.testing.assert_allclose((np.abs(W) ** 2).sum(axis=(-2, -1)), expected, rtol=1e-5)


def test_invalid_actions_raise():
    envs = make("MISO-SumRate-v0", num_envs=2)
    envs.reset(seed=0)
    with pytest.raises(ValueError, match="shape"):
        envs.step(np.zeros((3, 64), dtype=np.float32))
    with pytest.raises(ValueError, match="NaN"):
        envs.step(np.full((2, 64), np.nan, dtype=np.float32))


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [({"num_envs": 0}, "num_envs"), ({"max_episode_steps": 0}, "max_episode_steps")],
)
def test_invalid_vector_arguments_raise(kwargs, name):
    with pytest.raises(ValueError, match=name):
        MisoVectorEnv(**kwargs)


def test_channel_statistics_match_the_single_env():
    """Both environments draw CN(0, 1) channels: compare the observed entry power."""
    envs = make("MISO-SumRate-v0", num_envs=4096)
    obs, _ = envs.reset(seed=0)
    power = np.mean(obs[:, :64] ** 2) * 2  # [Re | Im] halves: E|h|^2 = 2 E[Re h]^2
    assert power == pytest.approx(1.0, abs=5 * np.sqrt(2 / obs[:, :64].size) * 2)
    assert set(ENV_IDS) <= set(gym.registry)
