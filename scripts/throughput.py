"""Environment throughput, run by hand (not a test): ``python scripts/throughput.py``.

Prints, for one configuration (default K = 4, N = 8, MISO-SumRate-v0): steps/s of the single
environment (through ``gym.make``, wrappers included, resets included), samples/s of the
native vector environment at each batch size, and its speed-up over
``gymnasium.vector.SyncVectorEnv`` of the same environment at the same batch size, measured in
the same run. Actions are fixed random arrays, so the figures are the environment's cost alone.
A line is printed after each measurement (at most ``2 --seconds`` apart, the single
environment's ``--single-steps`` excepted); bad input is one line ``error: ...`` and exit
status 2 (``--debug`` shows the traceback).
"""

from __future__ import annotations

import time

import gymnasium as gym
import torch

import beamgym
from agents.storage import CommandLine, run_command
from beamgym.checks import check_count


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


def _parser() -> CommandLine:
    parser = CommandLine(description=__doc__.splitlines()[0])
    parser.add_argument("--env-id", default="MISO-SumRate-v0", choices=sorted(beamgym.ENV_IDS))
    parser.add_argument("--num-users", type=int, default=4)
    parser.add_argument("--num-antennas", type=int, default=8)
    parser.add_argument("--single-steps", type=int, default=20_000)
    parser.add_argument("--num-envs", type=int, nargs="+", default=[1024, 4096])
    parser.add_argument("--seconds", type=float, default=3.0, help="time per vector measurement")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch CPU threads (default: 1, as the benchmarks)"
    )
    return parser


def measure(args) -> None:
    """Print the figures (module docstring) for the parsed command line ``args``."""
    check_count("--single-steps", args.single_steps)
    for num_envs in args.num_envs:
        check_count("--num-envs", num_envs)
    if not 0 < args.seconds < float("inf"):
        raise ValueError(f"--seconds must be a finite number > 0, got {args.seconds}")
    check_count("--threads", args.threads)
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


def main(argv: list[str] | None = None) -> None:
    """Run the command line; exits with status 2 (one line on stderr) on bad input."""
    run_command(_parser(), measure, argv)


if __name__ == "__main__":
    main()
