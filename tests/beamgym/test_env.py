"""Every registered id through Gymnasium's and SB3's checkers, and the environment contract."""

import json
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gymnasium_check_env

from beamgym import ENV_IDS, Layout, utility
from beamgym.downlink import transmit_power
from beamgym.utilities import get_utility

RANGES = {"num_users": (2, 4), "num_antennas": (3, 6), "snr_db": (0.0, 20.0)}
CONFIGS = [(env_id, kwargs) for env_id in ENV_IDS for kwargs in ({}, RANGES)]
CONFIG_IDS = [f"{env_id}-{'range' if kwargs else 'default'}" for env_id, kwargs in CONFIGS]
INFINITE_BOUNDS = "A Box observation space m"  # Gymnasium's notice on the unbounded channel entries


def rollout(env: gym.Env, seed: int, steps: int) -> list:
    obs, _ = env.reset(seed=seed)
    env.action_space.seed(seed)
    trace = [obs]
    for _ in range(steps):
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        trace += [obs, reward, info["channel"], info["beamformer"]]
        if terminated or truncated:
            trace.append(env.reset()[0])
    return trace


@pytest.mark.parametrize(("env_id", "kwargs"), CONFIGS, ids=CONFIG_IDS)
def test_passes_both_env_checkers_without_warnings(env_id, kwargs):
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        env = gym.make(env_id, **kwargs)
        gymnasium_check_env(env.unwrapped)
        sb3_check_env(env.unwrapped)
    unexpected = [str(w.message) for w in caught if INFINITE_BOUNDS not in str(w.message)]
    assert unexpected == []
    bounds = [str(w.message) for w in caught if INFINITE_BOUNDS in str(w.message)]
    assert all("infinity" in message for message in bounds)


@pytest.mark.parametrize(("env_id", "kwargs"), CONFIGS, ids=CONFIG_IDS)
def test_spec_serialises_to_json(env_id, kwargs):
    spec = json.loads(gym.make(env_id, **kwargs).spec.to_json())
    assert spec["id"] == env_id and spec["kwargs"]["utility"] == ENV_IDS[env_id]["utility"]


@pytest.mark.parametrize(("env_id", "kwargs"), CONFIGS, ids=CONFIG_IDS)
def test_seeded_reset_reproduces_the_episode(env_id, kwargs):
    first = rollout(gym.make(env_id, **kwargs), seed=7, steps=12)
    second = rollout(gym.make(env_id, **kwargs), seed=7, steps=12)
    other = rollout(gym.make(env_id, **kwargs), seed=8, steps=12)
    assert len(first) == len(second)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], other[0])


@pytest.mark.parametrize(("env_id", "kwargs"), CONFIGS, ids=CONFIG_IDS)
def test_reward_is_the_utility_of_the_reported_channel_and_beamformer(env_id, kwargs):
    env = gym.make(env_id, **kwargs)
    env.reset(seed=3)
    for _ in range(5):
        _, reward, _, _, info = env.step(env.action_space.sample())
        k, n, layout = info["num_users"], info["num_antennas"], env.unwrapped.layout
        H, W = info["channel"], info["beamformer"]
        assert H.shape == (layout.max_users, layout.max_antennas) and W.shape == H.shape[::-1]
        assert not (H[k:].any() or H[:, n:].any() or W[n:].any() or W[:, k:].any())
        H, W = H[:k, :n], W[:n, :k]
        gains = np.abs(H @ W) ** 2  # the SINR written out again, independently of beamgym.downlink
        signal = np.diag(gains)
        rates = np.log2(1 + signal / (gains.sum(axis=1) - signal + info["noise_power"]))
        np.testing.assert_allclose(info["rates"][:k], rates, rtol=1e-10)
        assert not (info["rates"][k:].any() or info["sinr"][k:].any() or info["weights"][k:].any())
        np.testing.assert_array_equal(info["user_mask"], np.arange(layout.max_users) < k)
        np.testing.assert_array_equal(info["antenna_mask"], np.arange(layout.max_antennas) < n)
        power = np.sum(np.abs(W) ** 2)
        expected = utility(info["utility"], rates, weights=info["weights"][:k], power_used=power)
        assert reward == pytest.approx(float(expected), rel=1e-10)
        assert power <= 10 ** (info["snr_db"] / 10) * (1 + 1e-9)


def test_rate_utilities_spend_the_whole_budget_and_energy_efficiency_may_not():
    env = gym.make("MISO-SumRate-v0", snr_db=20.0)
    env.reset(seed=0)
    small_action = np.full(env.action_space.shape, 1e-3, dtype=np.float32)
    assert env.step(small_action)[4]["power"] == pytest.approx(100.0)
    env = gym.make("MISO-EnergyEfficiency-v0", snr_db=20.0)
    env.reset(seed=0)
    assert env.step(small_action)[4]["power"] < 1.0


def test_padded_entries_are_zero_and_masks_describe_them():
    env = gym.make("MISO-SumRate-v0", num_users=(2, 4), num_antennas=(3, 6))
    layout = Layout(4, 6)
    for seed in range(10):
        obs, info = env.reset(seed=seed)
        fields = layout.unpack_observation(obs)
        k, n = info["num_users"], info["num_antennas"]
        np.testing.assert_array_equal(fields["user_mask"], np.arange(4) < k)
        np.testing.assert_array_equal(fields["antenna_mask"], np.arange(6) < n)
        assert np.all(fields["channel"][k:] == 0) and np.all(fields["channel"][:, n:] == 0)
        assert np.all(fields["channel"][:k, :n] != 0)


def test_observation_carries_the_channel_estimate_of_the_next_block():
    env = gym.make("MISO-SumRate-v0", num_users=3, num_antennas=4)
    layout = Layout(3, 4)
    obs, _ = env.reset(seed=0)
    _, _, _, _, info = env.step(env.action_space.sample())
    np.testing.assert_allclose(
        layout.unpack_observation(obs)["channel"], info["channel"], atol=1e-6
    )


def test_beamformer_to_action_round_trips_through_the_environment(rng):
    env = gym.make("MISO-EnergyEfficiency-v0", num_users=3, num_antennas=4, snr_db=10.0)
    env.reset(seed=0)
    W = rng.standard_normal((4, 3)) + 1j * rng.standard_normal((4, 3))
    W *= np.sqrt(3.0 / transmit_power(W))  # a feasible beamformer below the budget of 10
    action = Layout(3, 4).beamformer_to_action(W, 10.0)
    assert np.all(np.abs(action) <= 1)
    np.testing.assert_allclose(
        env.step(action.astype(np.float32))[4]["beamformer"], W, rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize("scale", [1e-30, 1e-45, 1.0])
def test_any_nonzero_action_spends_the_whole_budget_on_a_rate_utility(scale):
    env = gym.make("MISO-SumRate-v0", num_users=3, num_antennas=4, snr_db=10.0)
    env.reset(seed=0)
    action = np.full(env.action_space.shape, scale, dtype=np.float32)
    W = env.step(action)[4]["beamformer"]
    np.testing.assert_allclose(transmit_power(W), 10.0, rtol=1e-12)


def test_multitask_announces_the_utility_it_pays():
    env = gym.make("MISO-MultiTask-v0")
    seen = set()
    for seed in range(40):
        obs, info = env.reset(seed=seed)
        task = Layout(4, 8).unpack_observation(obs)["task"]
        assert (
            task.sum() == 1
            and list(ENV_IDS["MISO-MultiTask-v0"]["utility"])[int(task.argmax())] == info["utility"]
        )
        seen.add(info["utility"])
    assert seen == set(ENV_IDS["MISO-MultiTask-v0"]["utility"])


def test_ansi_render_shows_one_row_per_user():
    env = gym.make("MISO-SumRate-v0", num_users=3, render_mode="ansi")
    env.reset(seed=0)
    env.step(env.action_space.sample())
    table = env.render()
    assert (
        "SINR" in table
        and len([line for line in table.splitlines() if line.strip()[:1].isdigit()]) == 3
    )


@pytest.mark.parametrize(
    ("kwargs", "names"),
    [
        ({"num_users": 0}, "num_users"),
        ({"num_users": (5, 3)}, "num_users"),
        ({"num_antennas": -1}, "num_antennas"),
        ({"num_antennas": 2.5}, "num_antennas"),
        ({"snr_db": float("nan")}, "snr_db"),
        ({"snr_db": (20.0, 0.0)}, "snr_db"),
        ({"noise_power": 0.0}, "noise_power"),
        ({"channel": "awgn"}, "rayleigh"),
        ({"channel": "correlated", "channel_params": {"correlation": 1.5}}, "correlation"),
        ({"channel_params": {"nonsense": 1}}, "nonsense"),
        ({"utility": "rate"}, "sum_rate"),
        ({"user_weights": [1.0, 2.0]}, "user_weights"),
        ({"user_weights": "skewed"}, "user_weights"),
        ({"amplifier_efficiency": 1.5}, "amplifier_efficiency"),
        ({"circuit_power": -1.0}, "circuit_power"),
        ({"csi_nmse": -0.1}, "csi_nmse"),
        ({"csi_delay": 1.5}, "csi_delay"),
        ({"time_correlation": 1.0}, "time_correlation"),
        ({"doppler_hz": 1000.0}, "doppler"),
        ({"channel": "file", "channel_params": {"path": "missing.npy"}}, "missing.npy"),
    ],
)
def test_invalid_configuration_names_the_parameter(kwargs, names):
    with pytest.raises(ValueError, match=names):
        gym.make("MISO-SumRate-v0", **kwargs)


@pytest.mark.parametrize(
    "bad",
    [np.zeros(3), np.full(64, np.nan), np.full(64, np.inf), np.ones(64, complex), "abc", None],
    ids=["shape", "nan", "inf", "complex", "string", "none"],
)
def test_invalid_action_raises_instead_of_a_nan_reward(bad):
    env = gym.make("MISO-SumRate-v0")
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action"):
        env.step(bad)


def test_step_before_reset_is_an_error():
    with pytest.raises(RuntimeError, match="reset"):
        gym.make("MISO-SumRate-v0").unwrapped.step(np.zeros(64, dtype=np.float32))


@pytest.mark.parametrize("algo", ["PPO", "SAC"])
def test_stable_baselines3_learns_on_the_unchanged_env(algo):
    import stable_baselines3

    env = gym.make("MISO-SumRate-v0")
    kwargs = (
        {"n_steps": 32, "batch_size": 32}
        if algo == "PPO"
        else {"learning_starts": 16, "batch_size": 16}
    )
    model = getattr(stable_baselines3, algo)(
        "MlpPolicy", env, policy_kwargs={"net_arch": [16]}, seed=0, **kwargs
    )
    model.learn(64)
    action, _ = model.predict(env.reset(seed=0)[0], deterministic=True)
    assert env.action_space.contains(action)


VECTOR_SIZES = {"num_users": (2, 6), "num_antennas": (4, 8)}


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_gymnasiums_vector_envs_batch_ranged_sizes(mode):
    """Padded info has the same shapes in every episode, so Gymnasium's own vector envs batch
    it: several episodes (10 blocks each) of every id with K and N drawn per episode."""
    for env_id in ENV_IDS:
        envs = gym.make_vec(env_id, num_envs=2, vectorization_mode=mode, **VECTOR_SIZES)
        envs.reset(seed=0)
        sizes = set()
        for _ in range(4 * 11):  # 4 episodes of NEXT_STEP autoreset: 10 blocks and a reset
            _, rewards, _, _, info = envs.step(envs.action_space.sample())
            assert np.isfinite(rewards).all() and info["weights"].shape == (2, 6)
            np.testing.assert_array_equal(
                info["antenna_mask"], np.arange(8) < info["num_antennas"][:, None]
            )
            if "channel" in info:
                assert info["channel"].shape == (2, 6, 8) and info["rates"].shape == (2, 6)
                sizes.update(zip(info["num_users"], info["num_antennas"], strict=True))
        envs.close()
        assert len(sizes) > 1, sizes


def test_an_unsupported_render_mode_warns_and_renders_nothing():
    """As for Gymnasium's own environments: gym.make warns, and so does the environment
    (constructed directly too), which then renders nothing."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        env = gym.make("MISO-SumRate-v0", render_mode="rgb_array")
    messages = [str(w.message) for w in caught]
    assert any("not in the possible render_modes" in m for m in messages), messages
    assert any("render_mode='rgb_array' is not supported" in m for m in messages), messages
    assert env.unwrapped.render_mode is None
    env.reset(seed=0)
    assert env.unwrapped.render() is None


@pytest.mark.filterwarnings("ignore:.*render_mode='rgb_array'")
def test_stable_baselines3_make_vec_env_trains_and_evaluates_every_id():
    """SB3's make_vec_env asks for render_mode="rgb_array". Four SubprocVecEnv workers on one
    id (their start-up costs seconds), DummyVecEnv on the others. SB3 starts workers from a
    forkserver, which imports the main module but not this test's: the "beamgym:" prefix
    makes Gymnasium import beamgym (and register the ids) there."""
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.evaluation import evaluate_policy
    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

    for env_id in ENV_IDS:
        if env_id == "MISO-SumRate-v0":
            venv = make_vec_env(f"beamgym:{env_id}", n_envs=4, seed=0, vec_env_cls=SubprocVecEnv)
        else:
            venv = make_vec_env(env_id, n_envs=4, seed=0, vec_env_cls=DummyVecEnv)
        assert venv.render_mode is None
        model = PPO("MlpPolicy", venv, n_steps=32, batch_size=32, n_epochs=1, seed=0)
        model.learn(64)
        mean, std = evaluate_policy(model, venv, n_eval_episodes=2)
        venv.close()
        assert np.isfinite(mean) and np.isfinite(std)


ACTIONS = ["structure", "power"]
"""The parameterisations besides the default ``"beamformer"`` (:mod:`beamgym.actions`)."""


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize(("env_id", "kwargs"), CONFIGS, ids=CONFIG_IDS)
def test_every_action_parameterisation_passes_the_checkers_and_stays_feasible(
    env_id, kwargs, action
):
    """Single and native vector env alike: the Box of the parameterisation, feasible
    beamformers (the whole budget for the rate utilities, at most it for energy efficiency),
    nothing on padded users or antennas."""
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    env = gym.make(env_id, action=action, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the notices on the unbounded channel, tested above
        gymnasium_check_env(env.unwrapped)
        sb3_check_env(env.unwrapped)
    k_max = env.unwrapped.layout.max_users
    assert env.action_space.shape == ((2 * k_max,) if action == "structure" else (k_max,))
    envs = gym.make_vec(env_id, num_envs=4, action=action, **kwargs)
    assert envs.single_action_space == env.action_space
    env.reset(seed=0)
    envs.reset(seed=0)
    for _ in range(3):
        single = env.step(env.action_space.sample())[4]
        batch = envs.step(envs.action_space.sample())[4]
        full_power = get_utility(single["utility"]).full_power
        for info, rtol in ((single, 1e-9), (batch, 1e-5)):
            power = np.abs(np.asarray(info["beamformer"])) ** 2
            spent, budget = power.sum(axis=(-2, -1)), np.asarray(info["power"])
            assert np.all(spent <= budget * (1 + rtol))
            if info is single and full_power:
                assert spent == pytest.approx(budget, rel=rtol)
            users = np.asarray(info["user_mask"])[..., None, :]
            antennas = np.asarray(info["antenna_mask"])[..., :, None]
            assert np.all(power * (1 - users * antennas) == 0)


def test_the_structured_action_at_the_wmmse_solution_earns_its_sum_rate():
    """The environment applies the structure map to the channel it showed: WMMSE's powers and
    dual weights (from its fixed point, as :mod:`beamgym.actions` documents) earn WMMSE's sum
    rate as the reward."""
    import torch

    import agents
    from agents.classical.wmmse import receiver_step, transmitter_terms
    from beamgym.actions import structure_action
    from beamgym.downlink import rates

    env = gym.make("MISO-SumRate-v0", num_users=4, num_antennas=6, snr_db=10.0, action="structure")
    power, noise = 10.0, torch.ones(1, dtype=torch.float64)
    for seed in range(3):
        obs, _ = env.reset(seed=seed)
        H = torch.as_tensor(Layout(4, 6).unpack_observation(obs)["channel"], dtype=torch.complex128)
        W = agents.make("wmmse", tolerance=1e-9).solve(H[None], power)
        omega, u_conj, u_abs2 = receiver_step(H[None], W, noise)
        A, B = transmitter_terms(H[None], torch.ones_like(omega), omega, u_conj, u_abs2)
        mu = (W.conj() * (B - A @ W)).sum().real / (W.abs() ** 2).sum()
        dual = omega * u_abs2 / mu
        p = (W.abs() ** 2).sum(-2)
        action = structure_action(p, power * dual / dual.sum(), power, full_power=True)
        reward = env.step(action[0].numpy().astype(np.float32))[1]
        assert reward == pytest.approx(float(rates(H, W[0]).sum()), rel=1e-5)
