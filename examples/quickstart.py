"""Quickstart: every registered environment, a random policy against matched-filter (MRT).

Run: ``python examples/quickstart.py``. MRT is written from the observation alone
(``w_k = h_k^H``, the power projection does the rest), to show how an agent reads the
observation and builds an action with :class:`beamgym.Layout`.
"""

import gymnasium as gym
import numpy as np

import beamgym


def mrt_policy(env: gym.Env, obs: np.ndarray) -> np.ndarray:
    """Maximum-ratio transmission from the observed channel estimate: W = H^H, scaled to P."""
    layout, scenario = env.unwrapped.layout, env.unwrapped.scenario
    fields = layout.unpack_observation(obs)
    power = scenario.noise_power * beamgym.db_to_linear(fields["snr_db"])
    W = beamgym.project_power(fields["channel"].conj().T, power, full_power=True)
    return layout.beamformer_to_action(W, power).astype(np.float32)


def random_policy(env: gym.Env, obs: np.ndarray) -> np.ndarray:
    return env.action_space.sample()


def mean_reward(env: gym.Env, policy, episodes: int = 20) -> float:
    """Mean reward of ``policy(env, obs)`` over seeded episodes 0, 1, ..."""
    env.action_space.seed(0)
    rewards = []
    for seed in range(episodes):
        obs, _ = env.reset(seed=seed)
        done = False
        while not done:
            obs, reward, terminated, truncated, _ = env.step(policy(env, obs))
            rewards.append(reward)
            done = terminated or truncated
    return float(np.mean(rewards))


def main() -> None:
    print(f"{'env id':<28} {'utility':<20} {'random':>9} {'MRT':>9}")
    for env_id in beamgym.ENV_IDS:
        env = gym.make(env_id)
        name = str(env.spec.kwargs["utility"])[:20]
        scores = [mean_reward(env, policy) for policy in (random_policy, mrt_policy)]
        print(f"{env_id:<28} {name:<20} {scores[0]:>9.3f} {scores[1]:>9.3f}")


if __name__ == "__main__":
    main()
