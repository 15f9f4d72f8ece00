"""Hyper-parameter search for the RL baselines, recorded: ``python -m agents.rl.search``.

A small search in the manner of the SB3 RL zoo: Optuna's TPE sampler (seeded) proposes
``--trials`` settings from :data:`SPACES`; each trial trains the algorithm with
:func:`agents.rl.sb3.train` for ``--steps`` environment steps on the training seed and is
scored by its final point on the fixed validation set (:func:`agents.rl.sb3.validate`, seeds
disjoint from the leaderboard's). The record, every trial's settings, score and wall time,
the best settings and the command, is written to ``--out`` (JSON); a full training run then
takes the best settings with ``python -m agents.rl train ... --hyperparameters`` and keeps
the record in its checkpoint (``search``)::

    python -m agents.rl.search ppo --env MISO-SumRate-v0 \\
        --env-kwargs '{"num_users": 8, "num_antennas": 8, "snr_db": [0, 20], "action": "structure"}' \\
        --trials 8 --steps 1000000 --out agents/rl/searches/ppo-structure-sum_rate-8x8.json

Dependency: Optuna (the ``search`` extra), the hyper-parameter library of the SB3 zoo; only
this command imports it. Bad input is one line ``error: ...`` and exit status 2.
"""

from __future__ import annotations

import json
import shlex
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from agents.rl.sb3 import HYPERPARAMETERS, train
from agents.storage import CommandLine, check_seed, check_writable, json_object, run_command
from beamgym.checks import check_count

SPACES: dict[str, dict[str, tuple]] = {
    "ppo": {
        "learning_rate": ("log", 1e-4, 3e-3),
        "n_epochs": ("choice", 2, 4, 8),
        "batch_size": ("choice", 1024, 2048, 4096),
        "width": ("choice", 64, 128),
        "log_std_init": ("choice", -1.0, -0.5, 0.0, 0.5),
    },
    "sac": {
        "learning_rate": ("log", 1e-4, 3e-3),
        "batch_size": ("choice", 128, 256, 512),
        "gradient_steps": ("choice", 2, 4, 8),
        "width": ("choice", 64, 128),
    },
    "td3": {
        "learning_rate": ("log", 1e-4, 3e-3),
        "batch_size": ("choice", 128, 256, 512),
        "gradient_steps": ("choice", 2, 4, 8),
        "width": ("choice", 64, 128),
        "action_noise_std": ("choice", 0.05, 0.1, 0.2, 0.4),
    },
}
"""Per algorithm, what a trial samples: ``("log", low, high)`` a log-uniform number,
``("choice", *values)`` one of the values; ``width`` is the size of both hidden layers and
``log_std_init`` PPO's initial log standard deviation of the Gaussian policy (both policy
keywords). The widths stop at 128 and the off-policy gradient steps at 8 per step of the
copies so that every shipped run fits the CPU budget: on one core of the 2-core machine a
256-wide SAC takes about 22 ms per gradient step, four times a 128-wide one, and a 10M-step
PPO run at 256 wide with 8 epochs about 50 minutes. DDPG searches TD3's space."""
SPACES["ddpg"] = SPACES["td3"]


def hyperparameters(algorithm: str, sampled: dict[str, Any]) -> dict[str, Any]:
    """The algorithm's defaults (:data:`HYPERPARAMETERS`) with a trial's sampled values."""
    values = dict(sampled)
    policy = dict(HYPERPARAMETERS[algorithm].get("policy_kwargs", {}))
    if "width" in values:
        width = values.pop("width")
        policy["net_arch"] = [width, width]
    if "log_std_init" in values:
        policy["log_std_init"] = values.pop("log_std_init")
    return {**HYPERPARAMETERS[algorithm], **values, "policy_kwargs": policy}


def search(
    algorithm: str,
    env_id: str,
    env_kwargs: dict[str, Any],
    *,
    trials: int,
    steps: int,
    seed: int = 0,
    command: str = "",
) -> dict[str, Any]:
    """Run the search (module docstring); returns its record."""
    import optuna

    if algorithm not in SPACES:
        raise ValueError(f"algorithm must be one of {sorted(SPACES)}, got {algorithm!r}")
    check_count("trials", trials)
    check_count("steps", steps)
    space, record = SPACES[algorithm], []

    def objective(trial: optuna.Trial) -> float:
        sampled = {
            name: trial.suggest_float(name, spec[1], spec[2], log=True)
            if spec[0] == "log"
            else trial.suggest_categorical(name, list(spec[1:]))
            for name, spec in space.items()
        }
        start = time.perf_counter()
        with tempfile.TemporaryDirectory() as folder:
            checkpoint = train(
                algorithm,
                env_id,
                env_kwargs,
                steps,
                Path(folder) / "trial",
                seed=seed,
                hyperparameters=hyperparameters(algorithm, sampled),
                curve_points=4,
                progress=False,
            )
        value = checkpoint.curve[-1][1]
        record.append(
            {
                "params": sampled,
                "validation_reward": value,
                "steps": checkpoint.steps,
                "wall_time_s": round(time.perf_counter() - start, 1),
            }
        )
        print(f"trial {trial.number}: {value:.4f} with {sampled}", flush=True)
        return value

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
    study.optimize(objective, n_trials=trials)
    return {
        "algorithm": algorithm,
        "env_id": env_id,
        "env_kwargs": env_kwargs,
        "steps_per_trial": steps,
        "seed": seed,
        "sampler": f"optuna {optuna.__version__} TPESampler(seed={seed})",
        "space": {name: list(spec) for name, spec in space.items()},
        "trials": record,
        "best": study.best_params,
        "best_hyperparameters": hyperparameters(algorithm, study.best_params),
        "command": command,
    }


def _parser() -> CommandLine:
    parser = CommandLine(prog="python -m agents.rl.search", description=__doc__.splitlines()[0])
    parser.add_argument("algorithm", choices=sorted(SPACES))
    parser.add_argument("--env", required=True, help="a beamgym id, e.g. MISO-SumRate-v0")
    parser.add_argument("--env-kwargs", default="{}", help="JSON object of gym.make keywords")
    parser.add_argument("--trials", type=int, default=12, help="settings tried (default: 12)")
    parser.add_argument("--steps", type=int, required=True, help="environment steps per trial")
    parser.add_argument(
        "--seed", type=int, default=0, help="training and sampler seed (default: 0)"
    )
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default: 1)")
    parser.add_argument("--out", required=True, help="the record's JSON file")
    return parser


def _run(args) -> None:
    """Check the command line ``args``, search, write the record (module docstring)."""
    kwargs = json_object("--env-kwargs", args.env_kwargs)
    check_seed("--seed", args.seed)
    check_count("--threads", args.threads)
    check_writable("--out", args.out, file=True)
    torch.set_num_threads(args.threads)
    result = search(
        args.algorithm,
        args.env,
        kwargs,
        trials=args.trials,
        steps=args.steps,
        seed=args.seed,
        command="python -m agents.rl.search " + shlex.join(args.argv),
    )
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}: best {result['best']}")


def main(argv: list[str] | None = None) -> None:
    """Run the command line; exits with status 2 (one line on stderr) on bad input."""
    argv = sys.argv[1:] if argv is None else argv
    parser = _parser()
    parser.set_defaults(argv=argv)
    run_command(parser, _run, argv, interrupted="interrupted: nothing written")


if __name__ == "__main__":
    main()
