"""Train an RL baseline: ``python -m agents.rl train ALGO --env ID --env-kwargs JSON --steps S``.

``python -m agents.rl train-shipped`` retrains every checkpoint shipped in
``agents/rl/checkpoints`` with the settings recorded in its ``.json`` (see :data:`SHIPPED`).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys

from agents.rl.sb3 import CHECKPOINTS, HYPERPARAMETERS, train
from beamgym.layout import TASKS
from beamgym.registration import env_id_for

_PPO_TASKS = [("sum_rate", k, n) for k, n in ((4, 4), (4, 8), (8, 8), (8, 16), (12, 8))]
_PPO_TASKS += [(task, 4, 8) for task in TASKS if task != "sum_rate"]
_PPO_TASKS += [(task, 8, 8) for task in ("weighted_sum_rate", "min_rate", "proportional_fair")]
_PPO_TASKS += [("sum_rate", (2, 8), 8)]


def _entry(algorithm: str, task: str, users: int | tuple[int, int], antennas: int, steps: int):
    size = f"{users[0]}to{users[1]}" if isinstance(users, tuple) else users
    kwargs = {
        "num_users": list(users) if isinstance(users, tuple) else users,
        "num_antennas": antennas,
        "snr_db": [0, 20],
    }
    return f"{algorithm}-{task}-{size}x{antennas}", (algorithm, env_id_for(task), kwargs, steps)


SHIPPED: dict[str, tuple[str, str, dict, int]] = dict(
    [_entry("ppo", *task, steps=200_000) for task in _PPO_TASKS]
    + [_entry("sac", "sum_rate", k, n, steps=40_000) for k, n in ((4, 4), (4, 8))]
)
"""Checkpoint name -> (algorithm, env id, env kwargs, steps): what ``train-shipped`` trains.

The configurations of the ``standard`` benchmark suite, each trained with the SNR drawn from
0-20 dB per episode so that one model serves the suite's 0, 10 and 20 dB rows: PPO for every
(utility, K, N) of the suite (200k steps, a few minutes each on a 2-core CPU), SAC for the
sum rate at K = 4 (40k steps: its gradient step per environment step makes it ~30x slower per
sample). TD3 is available to ``train`` but not shipped.
"""


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="python -m agents.rl", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    one = commands.add_parser("train", help="train one baseline and save its checkpoint")
    one.add_argument("algorithm", choices=sorted(HYPERPARAMETERS))
    one.add_argument("--env", required=True, help="a beamgym id, e.g. MISO-SumRate-v0")
    one.add_argument("--env-kwargs", default="{}", help="JSON object of gym.make keywords")
    one.add_argument("--steps", type=int, required=True, help="environment steps")
    one.add_argument("--seed", type=int, default=0)
    one.add_argument("--out", required=True, help="checkpoint path without suffix")
    shipped = commands.add_parser("train-shipped", help="retrain the shipped checkpoints")
    shipped.add_argument("--only", nargs="*", choices=sorted(SHIPPED), default=sorted(SHIPPED))
    for command in (one, shipped):
        command.add_argument("--device", default="cpu", help="torch device of the networks")
    args = parser.parse_args(argv)
    if args.command == "train":
        try:
            kwargs = json.loads(args.env_kwargs)
        except json.JSONDecodeError as error:
            parser.error(f"--env-kwargs must be a JSON object: {error}")
        if not isinstance(kwargs, dict):
            parser.error("--env-kwargs must be a JSON object")
        command = "python -m agents.rl " + shlex.join(argv)
        jobs = [(args.algorithm, args.env, kwargs, args.steps, args.out, args.seed, command)]
    else:
        jobs = []
        for name in args.only:
            algorithm, env_id, kwargs, steps = SHIPPED[name]
            command = f"python -m agents.rl train-shipped --only {name}"
            jobs.append((algorithm, env_id, kwargs, steps, CHECKPOINTS / name, 0, command))
    for algorithm, env_id, kwargs, steps, out, seed, command in jobs:
        try:
            checkpoint = train(algorithm, env_id, kwargs, steps, out, seed, command, args.device)
        except ValueError as error:  # a bad id, keyword or step count: nothing was written
            parser.error(str(error))
        print(
            f"{out}: mean reward {checkpoint.evaluation['mean_reward']:.4f} after "
            f"{checkpoint.steps} steps, {checkpoint.wall_time_s:.0f} s"
        )


if __name__ == "__main__":
    main()
