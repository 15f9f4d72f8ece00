"""The native vector environment (gym.make_vec) against the single environment's contract and
Gymnasium's vector API (autoreset modes, info masks, vector wrappers)."""

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode, SyncVectorEnv
from gymnasium.wrappers.vector import (
    FlattenObservation,
    NormalizeObservation,
    RecordEpisodeStatistics,
)

from beamgym import ENV_IDS, TASKS, Layout, MisoVectorEnv, utility
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
    assert envs.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
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


def test_episodes_truncate_together_after_the_ids_max_episode_steps():
    envs = make("MISO-SumRate-v0", num_envs=3)
    envs.reset(seed=0)
    action = envs.action_space.sample()
    for step in range(1, MAX_EPISODE_STEPS + 2):
        _, rewards, terminated, truncated, _ = envs.step(action)
        assert not terminated.any()
        assert truncated.all() == (step == MAX_EPISODE_STEPS) == truncated.any()
    assert np.all(rewards == 0)  # NEXT_STEP: the step after the truncation is the reset


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
    [
        ({"num_envs": 0}, "num_envs"),
        ({"max_episode_steps": 0}, "max_episode_steps"),
        ({"autoreset_mode": "same-step"}, "autoreset_mode"),
        ({"autoreset_mode": None}, "autoreset_mode"),
    ],
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


# Autoreset modes, against Gymnasium's own SyncVectorEnv of single environments ---------------

STEPS = 3  # blocks per episode in these tests
SIZES = {"num_users": (2, 4), "num_antennas": (3, 5), "snr_db": (0.0, 20.0)}
"""Ranged sizes (the single env's info is padded for SyncVectorEnv to batch it) and a ranged
SNR, which tells the episodes apart: an observation's SNR field names its episode."""
FINAL_KEYS = {"final_obs", "_final_obs", "final_info", "_final_info"}
SHARED_KEYS = ["channel", "beamformer", "rates", "sinr", "power", "weights", "user_mask"]
"""Step-info keys that both environments report, with the same per-copy shapes."""


def native_envs(mode: AutoresetMode, env_id: str = "MISO-MultiTask-v0") -> MisoVectorEnv:
    return gym.make_vec(env_id, num_envs=3, max_episode_steps=STEPS, autoreset_mode=mode, **SIZES)


def gymnasium_envs(mode: AutoresetMode, env_id: str = "MISO-MultiTask-v0") -> SyncVectorEnv:
    return SyncVectorEnv(
        [lambda: gym.make(env_id, max_episode_steps=STEPS, **SIZES) for _ in range(3)],
        autoreset_mode=mode,
    )


def snr_of(obs: np.ndarray) -> np.ndarray:
    return obs[..., Layout(4, 5).slices["snr_db"]][..., 0]


def check_masks(info: dict) -> None:
    """Gymnasium's structure: every key has its all-True mask ``_key`` (recursively)."""
    for key, value in info.items():
        if not key.startswith("_"):
            np.testing.assert_array_equal(info[f"_{key}"], np.ones(3, dtype=bool))
            if isinstance(value, dict):
                check_masks(value)


def autoreset_trace(envs: gym.vector.VectorEnv, steps: int) -> list[tuple]:
    """Per step: terminated, truncated, reward == 0, and which info came back ("reset" for a
    reset's keys, "step" for a step's, "+final" with final_obs/final_info), with the shapes
    of the shared step keys. Checks on the way that each observation belongs to the episode
    its info describes (same SNR) and, under SAME_STEP, that the final ones belong to the
    finished episode. Under DISABLED it resets after each truncation, as a user must."""
    obs, info = envs.reset(seed=0)
    reset_keys = set(info)
    check_masks(info)
    envs.action_space.seed(0)
    trace = []
    for _ in range(steps):
        obs, rewards, terminated, truncated, info = envs.step(envs.action_space.sample())
        check_masks(info)
        np.testing.assert_allclose(snr_of(obs), info["snr_db"], rtol=1e-6)
        kind = "reset" if set(info) - FINAL_KEYS == reset_keys else "step"
        assert kind == "reset" or "channel" in info
        if "final_info" in info:
            kind += "+final"
            final_obs, final_info = info["final_obs"], info["final_info"]
            assert final_obs.dtype == object and final_obs.shape == (3,)
            np.testing.assert_allclose(snr_of(np.stack(final_obs)), final_info["snr_db"], rtol=1e-6)
            assert not np.allclose(final_info["snr_db"], info["snr_db"])
            assert "channel" in final_info
        step_info = info.get("final_info", info)
        shapes = tuple(step_info[key].shape for key in SHARED_KEYS if key in step_info)
        trace.append((*map(tuple, (terminated, truncated, rewards == 0)), kind, shapes))
        if envs.metadata["autoreset_mode"] == AutoresetMode.DISABLED and truncated.any():
            envs.reset(options={"reset_mask": terminated | truncated})
    return trace


@pytest.mark.parametrize("mode", list(AutoresetMode), ids=lambda mode: mode.value)
def test_each_autoreset_mode_follows_gymnasiums_sync_vector_env(mode):
    native = native_envs(mode)
    assert native.metadata["autoreset_mode"] is mode and native.autoreset_mode is mode
    trace = autoreset_trace(native, 3 * STEPS + 2)
    assert trace == autoreset_trace(gymnasium_envs(mode), 3 * STEPS + 2)
    kinds = [entry[3] for entry in trace]
    if mode == AutoresetMode.NEXT_STEP:  # truncation, then a reset step paying nothing
        assert kinds[STEPS - 1 : STEPS + 1] == ["step", "reset"] and trace[STEPS][2] == (True,) * 3
    elif mode == AutoresetMode.SAME_STEP:
        assert kinds[:STEPS] == ["step"] * (STEPS - 1) + ["reset+final"]
    else:
        assert kinds == ["step"] * len(kinds)


def test_next_and_same_step_play_the_same_episodes():
    """The modes differ only in when the next episode is shown: from one seed, NEXT_STEP's
    truncating observations are SAME_STEP's final_obs and its reset step's are SAME_STEP's."""
    actions = np.zeros((3, Layout(4, 5).action_dim), dtype=np.float32)
    next_step, same_step = (
        native_envs(AutoresetMode.NEXT_STEP),
        native_envs(AutoresetMode.SAME_STEP),
    )
    next_step.reset(seed=3), same_step.reset(seed=3)
    for _ in range(STEPS):
        last, *_ = next_step.step(actions)
        first, _, _, _, info = same_step.step(actions)
    np.testing.assert_array_equal(last, np.stack(info["final_obs"]))
    np.testing.assert_array_equal(next_step.step(actions)[0], first)


def test_disabled_autoreset_refuses_to_step_ended_episodes_and_partial_resets():
    envs = native_envs(AutoresetMode.DISABLED)
    envs.reset(seed=0)
    actions = envs.action_space.sample()
    for _ in range(STEPS):
        envs.step(actions)
    with pytest.raises(RuntimeError, match=r"DISABLED: call reset\(\)"):
        envs.step(actions)
    for mask in (np.array([True, False, True]), np.zeros(3, dtype=bool)):
        with pytest.raises(ValueError, match="reset_mask.*all True.*lockstep"):
            envs.reset(options={"reset_mask": mask})
    for mask in (np.ones(2, dtype=bool), np.ones(3), [True] * 3):
        with pytest.raises(ValueError, match="reset_mask.*bool array of shape"):
            envs.reset(options={"reset_mask": mask})
    envs.reset(options={"reset_mask": np.ones(3, dtype=bool)})
    assert not envs.step(actions)[3].any()


def test_autoreset_mode_is_taken_by_its_value_and_stays_per_instance():
    same_step = gym.make_vec("MISO-SumRate-v0", num_envs=2, autoreset_mode="SameStep")
    assert same_step.metadata["autoreset_mode"] is AutoresetMode.SAME_STEP
    assert gym.make_vec("MISO-SumRate-v0", num_envs=2).metadata["autoreset_mode"] is (
        AutoresetMode.NEXT_STEP
    )
    assert MisoVectorEnv.metadata["autoreset_mode"] is AutoresetMode.NEXT_STEP


OBSERVATION_WRAPPERS = {
    AutoresetMode.NEXT_STEP: [FlattenObservation, NormalizeObservation],
    AutoresetMode.SAME_STEP: [],
    AutoresetMode.DISABLED: [FlattenObservation],
}
"""Gymnasium's observation wrappers that take each mode (NormalizeObservation NEXT_STEP only,
every observation wrapper refuses SAME_STEP)."""


@pytest.mark.parametrize("mode", list(AutoresetMode), ids=lambda mode: mode.value)
def test_gymnasiums_vector_wrappers_accept_the_native_env(mode):
    """RecordEpisodeStatistics counts whole episodes in every mode, over the observation
    wrappers that the mode allows; those refusing a mode refuse SyncVectorEnv alike."""
    envs = native_envs(mode)
    for wrapper in OBSERVATION_WRAPPERS[mode]:
        envs = wrapper(envs)
    envs = RecordEpisodeStatistics(envs)
    envs.reset(seed=0)
    returns, episodes = np.zeros(3), 0
    for _ in range(2 * STEPS + 1):
        obs, rewards, _, truncated, info = envs.step(envs.action_space.sample())
        assert np.isfinite(obs).all()
        returns += rewards
        if truncated.any():
            np.testing.assert_array_equal(info["episode"]["l"], STEPS)
            np.testing.assert_allclose(info["episode"]["r"], returns, rtol=1e-6)
            returns, episodes = np.zeros(3), episodes + 1
            if mode == AutoresetMode.DISABLED:
                envs.reset()
    assert episodes == 2
    for wrapper in {FlattenObservation, NormalizeObservation} - set(OBSERVATION_WRAPPERS[mode]):
        for refused in (native_envs(mode), gymnasium_envs(mode)):
            with pytest.raises(ValueError, match="autoreset_mode"):
                wrapper(refused)


def test_an_unsupported_render_mode_warns():
    with pytest.warns(UserWarning, match="render_mode='rgb_array' is not supported"):
        envs = make("MISO-SumRate-v0", num_envs=2, render_mode="rgb_array")
    assert envs.render_mode is None
