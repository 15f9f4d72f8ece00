"""Environment throughput, run by hand (not a test): ``python scripts/throughput.py``.

Prints, for one configuration (default K = 4, N = 8, MISO-SumRate-v0): steps/s of the single
environment (through ``gym.make``, wrappers included, resets included), samples/s of the
native vector environment at each batch size, and its speed-up over
``gymnasium.vector.SyncVectorEnv`` of the same environment at the same batch size, measured in
the same run. Actions are fixed random arrays, so the figures are the environment's cost alone.
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import torch

import beamgym  # noqa: F401  (registers the ids)


def single_env_rate(env_id: str, kwargs: dict, steps: int) -> float:
    env = gym.make(env_id, **kwargs)
    action = env.action_space.sample()
    env.reset(seed=0)
    start = time.perf_counter()
    for _ in range(steps):
        _, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            env.reset()
    return steps / (time.perf_counter() - start)


def vector_env_rate(env_id: str, kwargs: dict, num_envs: int, mode: str, seconds: float) -> float:
    envs = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode=mode, **kwargs)
    actions = envs.action_space.sample()
    envs.reset(seed=0)
    envs.step(actions)  # warm-up
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        envs.step(actions)
        steps += 1
    rate = steps * num_envs / (time.perf_counter() - start)
    envs.close()
    return rate


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env-id", default="MISO-SumRate-v0")
    parser.add_argument("--num-users", type=int, default=4)
    parser.add_argument("--num-antennas", type=int, default=8)
    parser.add_argument("--single-steps", type=int, default=20_000)
    parser.add_argument("--num-envs", type=int, nargs="+", default=[1024, 4096])
    parser.add_argument("--seconds", type=float, default=3.0, help="time per vector measurement")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch CPU threads (default: 1, as the benchmarks)"
    )
    args = parser.parse_args(argv)
    if args.threads < 1:
        parser.error(f"--threads must be an integer >= 1, got {args.threads}")
    torch.set_num_threads(args.threads)
    kwargs = {"num_users": args.num_users, "num_antennas": args.num_antennas}

    print(
        f"{args.env_id} K={args.num_users} N={args.num_antennas}, torch threads {torch.get_num_threads()}"
    )
    single = single_env_rate(args.env_id, kwargs, args.single_steps)
    print(f"single env (gym.make, wrappers on):   {single:>12,.0f} steps/s")
    for num_envs in args.num_envs:
        native = vector_env_rate(args.env_id, kwargs, num_envs, "vector_entry_point", args.seconds)
        sync = vector_env_rate(args.env_id, kwargs, num_envs, "sync", args.seconds)
        print(
            f"{num_envs:>5} envs: native {native:>12,.0f} samples/s | SyncVectorEnv {sync:>10,.0f} "
            f"samples/s | speed-up {native / sync:>6.1f}x"
        )


if __name__ == "__main__":
    main()
