"""Train an RL baseline: ``python -m agents.rl train ALGO --env ID --env-kwargs JSON --steps S``.

``python -m agents.rl train-shipped`` retrains every checkpoint shipped in
``agents/rl/checkpoints`` with the settings recorded in its ``.json`` (see :data:`SHIPPED`).

A progress bar shows the training steps; each run ends with a line naming the files it
wrote. Bad input is one line ``error: ...`` and exit status 2, before anything is written
(``--debug`` shows the traceback; see :mod:`agents.storage`); an interrupted run writes
nothing and exits with 130."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import Any

import torch

from agents.rl.sb3 import CHECKPOINTS, HYPERPARAMETERS, agent_name, train
from agents.storage import (
    CommandLine,
    check_seed,
    check_writable,
    checkpoint_file,
    device,
    fail,
    json_object,
)
from beamgym.checks import check_count
from beamgym.layout import TASKS
from beamgym.registration import env_id_for

_PPO_TASKS = [("sum_rate", k, n) for k, n in ((4, 4), (4, 8), (8, 8), (8, 16), (12, 8))]
_PPO_TASKS += [(task, 4, 8) for task in TASKS if task != "sum_rate"]
_PPO_TASKS += [(task, 8, 8) for task in ("weighted_sum_rate", "min_rate", "proportional_fair")]
_PPO_TASKS += [("sum_rate", (2, 8), 8)]


def _entry(
    algorithm: str,
    action: str,
    task: str,
    users: int | tuple[int, int],
    antennas: int,
    steps: int,
):
    size = f"{users[0]}to{users[1]}" if isinstance(users, tuple) else users
    kwargs = {
        "num_users": list(users) if isinstance(users, tuple) else users,
        "num_antennas": antennas,
        "snr_db": [0, 20],
    }
    if action != "beamformer":
        kwargs["action"] = action
    name = f"{agent_name(algorithm, action)}-{task}-{size}x{antennas}"
    return name, (algorithm, env_id_for(task), kwargs, steps)


SHIPPED: dict[str, tuple[str, str, dict, int]] = dict(
    [
        _entry("ppo", action, *task, steps=10_000_000)
        for action in ("beamformer", "structure")
        for task in _PPO_TASKS
    ]
    + [
        _entry(algorithm, "structure", "sum_rate", k, n, steps=1_000_000)
        for algorithm in ("sac", "td3", "ddpg")
        for k, n in ((4, 8), (8, 8))
    ]
    + [_entry("sac", "beamformer", "sum_rate", k, n, steps=1_000_000) for k, n in ((4, 8), (8, 8))]
)
"""Checkpoint name -> (algorithm, env id, env kwargs, steps): what ``train-shipped`` trains.

The configurations of the ``standard`` benchmark suite, each trained with the SNR drawn from
0-20 dB per episode so that one model serves the suite's 0, 10 and 20 dB rows: PPO for every
(utility, K, N) of the suite with the raw and the structured action (10M environment steps
each), SAC, TD3 and DDPG with the structured action and SAC with the raw one for the sum rate
at K = 4 and 8, N = 8 (1M steps each; their learning curves, in the checkpoints, show where
they flatten). The settings are the best of the search recorded in
``agents/rl/searches/ALGO-ACTION-sum_rate-8x8.json`` where there is one
(:func:`search_record`), else :data:`~agents.rl.sb3.HYPERPARAMETERS`. The searches ran at
K = N = 8, the hardest sum-rate configuration of the suite with K <= N (RZF there reaches
about 84 % of WMMSE at 20 dB, against 98-99 % at K <= N / 2), where the settings matter.
"""

SEEDS = CHECKPOINTS / "seeds"
"""Shipped configurations retrained with other seeds (``train-shipped --seed S``): the spread
over training seeds in the learning-curve plots; no agent serves them."""

SEARCHES = Path(__file__).parent / "searches"
"""The recorded hyper-parameter searches (``python -m agents.rl.search``)."""


def search_record(algorithm: str, action: str) -> dict[str, Any]:
    """The search record of ``(algorithm, action)`` on the sum rate at K = N = 8, or ``{}``."""
    path = SEARCHES / f"{algorithm}-{action}-sum_rate-8x8.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def _parser() -> CommandLine:
    parser = CommandLine(prog="python -m agents.rl", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    one = commands.add_parser("train", help="train one baseline and save its checkpoint")
    one.add_argument("algorithm", choices=sorted(HYPERPARAMETERS))
    one.add_argument("--env", required=True, help="a beamgym id, e.g. MISO-SumRate-v0")
    one.add_argument("--env-kwargs", default="{}", help="JSON object of gym.make keywords")
    one.add_argument("--steps", type=int, required=True, help="environment steps")
    one.add_argument("--out", required=True, help="checkpoint path without suffix")
    one.add_argument(
        "--search",
        help="a search record (python -m agents.rl.search): train with its best settings and "
        "keep the record in the checkpoint",
    )
    one.add_argument(
        "--hyperparameters",
        default="{}",
        help="JSON object of SB3 keywords overriding the algorithm's defaults (HYPERPARAMETERS) "
        "and the search's best settings",
    )
    shipped = commands.add_parser("train-shipped", help="retrain the shipped checkpoints")
    shipped.add_argument("--only", nargs="*", choices=sorted(SHIPPED), default=sorted(SHIPPED))
    for command in (one, shipped):
        command.add_argument(
            "--seed",
            type=int,
            default=0,
            help="training seed, 0 to 2**32 - 1 (default: 0; train-shipped writes another seed's "
            "run to agents/rl/checkpoints/seeds/NAME-seedS)",
        )
        command.add_argument(
            "--device",
            type=device,
            default="cpu",
            help="torch device of the networks (default: cpu)",
        )
        command.add_argument(
            "--resume", action="store_true", help="continue from OUT.train.pt if there is one"
        )
        command.add_argument(
            "--threads", type=int, default=1, help="torch CPU threads (default: 1)"
        )
        command.add_argument(
            "--curve-points",
            type=int,
            default=20,
            help="validation points of the learning curve, one per chunk (default: 20)",
        )
    return parser


def _jobs(args: Any, argv: list[str]) -> list[tuple]:
    """The runs the command line asks for, checked: (algorithm, env id, kwargs, steps, out,
    seed, command, search record)."""
    check_seed("--seed", args.seed)
    if args.command == "train-shipped":
        check_writable("train-shipped", CHECKPOINTS)
        jobs = []
        for name in args.only:
            algorithm, env_id, kwargs, steps = SHIPPED[name]
            command = f"python -m agents.rl train-shipped --only {name}"
            out = CHECKPOINTS / name
            if args.seed:
                command += f" --seed {args.seed}"
                out = SEEDS / f"{name}-seed{args.seed}"
            record = search_record(algorithm, kwargs.get("action", "beamformer"))
            jobs.append((algorithm, env_id, kwargs, steps, out, args.seed, command, record))
        return jobs
    kwargs = json_object("--env-kwargs", args.env_kwargs)
    check_count("--steps", args.steps)
    overrides = json_object("--hyperparameters", args.hyperparameters)
    record = {}
    if args.search:
        try:
            record = json.loads(Path(args.search).read_text())
        except (OSError, json.JSONDecodeError) as error:
            raise ValueError(
                f"--search {args.search}: cannot read a search record ({error})"
            ) from None
        if not isinstance(record, dict) or record.get("algorithm") != args.algorithm:
            raise ValueError(f"--search {args.search} is not a search record of {args.algorithm}")
    args.overrides = overrides
    check_writable("--out", args.out, file=True)
    command = "python -m agents.rl " + shlex.join(argv)
    return [(args.algorithm, args.env, kwargs, args.steps, args.out, args.seed, command, record)]


def main(argv: list[str] | None = None) -> None:
    """Run the command line; exits with status 2 (one line on stderr) on bad input."""
    argv = sys.argv[1:] if argv is None else argv
    args = _parser().parse_args(argv)
    try:
        check_count("--curve-points", args.curve_points)
        check_count("--threads", args.threads)
        torch.set_num_threads(args.threads)
        for algorithm, env_id, kwargs, steps, out, seed, command, record in _jobs(args, argv):
            hyperparameters = {
                **HYPERPARAMETERS[algorithm],
                **record.get("best_hyperparameters", {}),
                **getattr(args, "overrides", {}),
            }
            checkpoint = train(
                algorithm,
                env_id,
                kwargs,
                steps,
                out,
                seed,
                command,
                args.device,
                hyperparameters=hyperparameters,
                search=record,
                curve_points=args.curve_points,
                resume=args.resume,
            )
            print(
                f"wrote {checkpoint_file(out, '.pt')} and {checkpoint_file(out, '.json')}: mean "
                f"reward {checkpoint.evaluation['mean_reward']:.4f} after {checkpoint.steps} "
                f"steps, {checkpoint.wall_time_s:.0f} s"
            )
    except KeyboardInterrupt:
        print(
            "interrupted: the last finished chunk is in OUT.train.pt; add --resume to continue",
            file=sys.stderr,
        )
        raise SystemExit(130) from None
    except Exception as error:
        raise SystemExit(fail(error, args.debug)) from None


if __name__ == "__main__":
    main()
