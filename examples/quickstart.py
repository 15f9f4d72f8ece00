"""Quickstart: every registered environment, a random policy against matched-filter (MRT).

Run: ``python examples/quickstart.py``. MRT is written from the observation alone
(``w_k = h_k^H``, the power projection does the rest), to show how an agent reads the
observation and builds an action with :class:`beamgym.Layout`.
"""

import gymnasium as gym
import numpy as np

import beamgym


def mrt_action(obs: np.ndarray, layout: beamgym.Layout, power: float) -> np.ndarray:
    """Maximum-ratio transmission from the observed channel estimate: W = H^H, scaled to P."""
    H = layout.unpack_observation(obs)["channel"]
    W = beamgym.project_power(H.conj().T, power, full_power=True)
    return layout.beamformer_to_action(W, power).astype(np.float32)


def mean_reward(env: gym.Env, policy, episodes: int = 20) -> float:
    rewards = []
    for seed in range(episodes):
        obs, info = env.reset(seed=seed)
        done = False
        while not done:
            obs, reward, terminated, truncated, info = env.step(policy(obs, info))
            rewards.append(reward)
            done = terminated or truncated
    return float(np.mean(rewards))


def main() -> None:
    print(f"{'env id':<28} {'utility':<20} {'random':>9} {'MRT':>9}")
    for env_id in beamgym.ENV_IDS:
        env = gym.make(env_id)
        layout = env.unwrapped.layout
        env.action_space.seed(0)
        power = env.unwrapped.scenario.noise_power * 10 ** (env.unwrapped.scenario.snr_db[0] / 10)
        random_score = mean_reward(env, lambda obs, info: env.action_space.sample())
        mrt_score = mean_reward(env, lambda obs, info: mrt_action(obs, layout, power))
        print(f"{env_id:<28} {str(env.spec.kwargs['utility'])[:20]:<20} {random_score:>9.3f} {mrt_score:>9.3f}")


if __name__ == "__main__":
    main()
