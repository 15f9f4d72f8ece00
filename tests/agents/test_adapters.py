"""Solvers act in environments and trained policies act as solvers."""

import gymnasium as gym
import numpy as np
import pytest
import torch

import agents
from agents.adapters import PolicySolver, SolverPolicy
from beamgym.downlink import rates


def test_solver_policy_earns_the_solvers_rate_in_the_environment():
    env = gym.make("MISO-SumRate-v0", num_users=3, num_antennas=4, snr_db=10.0)
    policy = SolverPolicy(agents.make("wmmse"), env)
    obs, _ = env.reset(seed=3)
    action, _ = policy.predict(obs)
    _, reward, _, _, info = env.step(action)
    H = torch.as_tensor(info["channel"])[None]
    direct = rates(H, agents.make("wmmse").solve(H, power=10.0)).sum().item()
    assert reward == pytest.approx(direct, rel=1e-4)


def test_solver_policy_handles_padded_multitask_batches():
    envs = gym.make_vec("MISO-MultiTask-v0", num_envs=16, num_users=(2, 4), num_antennas=(3, 5))
    policy = SolverPolicy(agents.make("rzf"), envs)
    obs, _ = envs.reset(seed=0)
    actions, _ = policy.predict(obs)
    assert actions.shape == envs.action_space.shape and np.abs(actions).max() <= 1.0
    _, rewards, _, _, info = envs.step(actions)
    assert np.isfinite(rewards).all() and (info["rates"] * (1 - info["user_mask"]) == 0).all()


class MRTPolicy:
    """A stand-in for a trained model: predicts the MRT action from the observation."""

    def __init__(self, env):
        self.inner = SolverPolicy(agents.make("mrt"), env)

    def predict(self, obs, deterministic=True):
        return self.inner.predict(obs)


def test_policy_solver_reproduces_the_policy_beamformer(torch_rng):
    env = gym.make("MISO-SumRate-v0", num_users=(1, 3), num_antennas=(2, 4))
    solver = PolicySolver(MRTPolicy(env), env)
    H = torch.randn(5, 2, 3, dtype=torch.complex128, generator=torch_rng)
    W = solver.solve(H, power=10.0)
    expected = agents.make("mrt").solve(H, power=10.0)
    torch.testing.assert_close(W, expected, rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="at most K=3"):
        solver.solve(torch.randn(1, 4, 3, dtype=torch.complex128), power=1.0)


def test_a_trained_sb3_model_acts_as_a_solver(torch_rng):
    sb3 = pytest.importorskip("stable_baselines3")
    env = gym.make("MISO-SumRate-v0", num_users=2, num_antennas=2)
    model = sb3.PPO("MlpPolicy", env, n_steps=32, batch_size=32, seed=0).learn(64)
    W = PolicySolver(model, env, name="ppo").solve(
        torch.randn(4, 2, 2, dtype=torch.complex128, generator=torch_rng), power=10.0
    )
    assert W.shape == (4, 2, 2)
    torch.testing.assert_close(
        (W.abs() ** 2).sum((-1, -2)), torch.full((4,), 10.0, dtype=torch.float64), rtol=1e-5, atol=0
    )


def test_non_beamgym_environments_are_rejected():
    with pytest.raises(ValueError, match="beamgym environment"):
        SolverPolicy(agents.make("mrt"), gym.make("CartPole-v1"))


class ConstantPolicy:
    """Acts the same whatever it observes."""

    def __init__(self, action: np.ndarray) -> None:
        self.action = action

    def predict(self, obs, state=None, episode_start=None, deterministic=True):
        return np.broadcast_to(self.action, (len(obs), *self.action.shape)).copy(), None


@pytest.mark.parametrize("action", ["structure", "power"])
def test_a_policy_of_a_structured_environment_acts_through_its_map(action, torch_rng):
    """The solver applies the environment's own map to the channel it packed: equal powers
    (and equal dual weights) are RZF with P / K per stream."""
    env = gym.make("MISO-SumRate-v0", num_users=3, num_antennas=4, action=action)
    solver = PolicySolver(ConstantPolicy(np.ones(env.action_space.shape, np.float32)), env)
    H = torch.randn(5, 3, 4, dtype=torch.complex128, generator=torch_rng)
    W = solver.solve(H, power=10.0)
    torch.testing.assert_close(W, agents.make("rzf").solve(H, 10.0), rtol=1e-4, atol=1e-5)


def test_a_solver_cannot_act_through_a_structured_action():
    env = gym.make("MISO-SumRate-v0", action="power")
    with pytest.raises(ValueError, match="action='beamformer' environments only"):
        SolverPolicy(agents.make("mrt"), env)
