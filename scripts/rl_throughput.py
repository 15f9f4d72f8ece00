"""SB3 PPO training throughput, run by hand (not a test): ``python scripts/rl_throughput.py``.

Trains the same PPO (the same hyper-parameters and rollout size, ``--rollout`` environment
steps per update, ``--batch-size`` minibatches, ``--epochs`` passes, an MLP of ``--net-arch``
hidden layers) on
``MISO-SumRate-v0`` at K = 4, N = 8 twice, measured in one run, and prints environment steps
per second of ``model.learn`` for each and their ratio:

* on :class:`agents.rl.vec_env.NativeVecEnv` with ``--native-envs`` copies in one batch;
* on SB3's ``SubprocVecEnv`` with ``--subproc-envs`` processes (SB3's way to parallelise).

Each is timed over ``--updates`` PPO updates after one warm-up update. Bad input is one line
``error: ...`` and exit status 2 (``--debug`` shows the traceback).
"""

from __future__ import annotations

import time

import torch
from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env as sb3_make_vec_env
from stable_baselines3.common.vec_env import SubprocVecEnv

from agents.rl.vec_env import make_vec_env
from agents.storage import CommandLine, run_command
from beamgym.checks import check_count

ENV_ID, CONFIG = "MISO-SumRate-v0", {"num_users": 4, "num_antennas": 8}


def steps_per_second(
    venv, rollout: int, batch_size: int, epochs: int, updates: int, net_arch: list[int]
) -> float:
    """Environment steps per second of PPO's ``learn`` on ``venv`` over ``updates`` updates."""
    model = PPO(
        "MlpPolicy",
        venv,
        n_steps=rollout // venv.num_envs,
        batch_size=batch_size,
        n_epochs=epochs,
        gamma=0.0,
        policy_kwargs={"net_arch": net_arch},
        seed=0,
    )
    model.learn(rollout)  # warm-up: one update
    start = time.perf_counter()
    model.learn(rollout * updates, reset_num_timesteps=False)
    rate = rollout * updates / (time.perf_counter() - start)
    venv.close()
    return rate


def _parser() -> CommandLine:
    parser = CommandLine(description=__doc__.splitlines()[0])
    parser.add_argument("--native-envs", type=int, default=256, help="copies of the native env")
    parser.add_argument("--subproc-envs", type=int, default=2, help="SubprocVecEnv processes")
    parser.add_argument("--rollout", type=int, default=4096, help="env steps per PPO update")
    parser.add_argument("--batch-size", type=int, default=1024, help="PPO minibatch size")
    parser.add_argument("--epochs", type=int, default=4, help="PPO epochs per update")
    parser.add_argument("--updates", type=int, default=3, help="timed updates per run")
    parser.add_argument(
        "--net-arch", type=int, nargs="+", default=[64, 64], help="hidden layer widths"
    )
    parser.add_argument(
        "--threads", type=int, default=1, help="torch CPU threads (default: 1, as the benchmarks)"
    )
    return parser


def measure(args) -> None:
    """Print both rates and their ratio (module docstring)."""
    for name in ("native_envs", "subproc_envs", "rollout", "batch_size", "epochs", "updates"):
        check_count(f"--{name.replace('_', '-')}", getattr(args, name))
    for name in ("native_envs", "subproc_envs"):
        if args.rollout % getattr(args, name):
            raise ValueError(f"--rollout ({args.rollout}) must be a multiple of --{name}")
    for width in args.net_arch:
        check_count("--net-arch", width)
    check_count("--threads", args.threads)
    torch.set_num_threads(args.threads)
    common = (args.rollout, args.batch_size, args.epochs, args.updates, args.net_arch)
    print(
        f"PPO on {ENV_ID} {CONFIG}: rollout {args.rollout}, batch {args.batch_size}, "
        f"{args.epochs} epochs, MLP {args.net_arch}, {args.updates} timed updates, "
        f"torch threads {args.threads}"
    )
    native = steps_per_second(make_vec_env(ENV_ID, args.native_envs, **CONFIG), *common)
    print(f"NativeVecEnv ({args.native_envs} copies): {native:>9,.0f} steps/s", flush=True)
    subproc_env = sb3_make_vec_env(
        ENV_ID, n_envs=args.subproc_envs, env_kwargs=CONFIG, vec_env_cls=SubprocVecEnv
    )
    subproc = steps_per_second(subproc_env, *common)
    print(f"SubprocVecEnv ({args.subproc_envs} processes): {subproc:>9,.0f} steps/s")
    print(f"speed-up: {native / subproc:.1f}x")


def main(argv: list[str] | None = None) -> None:
    """Run the command line; exits with status 2 (one line on stderr) on bad input."""
    run_command(_parser(), measure, argv)


if __name__ == "__main__":
    main()
