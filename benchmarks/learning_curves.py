"""RL model cards: a shipped RL checkpoint's training record and learning curve.

    python -m benchmarks rl-card                      # every checkpoint in agents/rl/checkpoints
    python -m benchmarks rl-card ppo-structure-sum_rate-8x8

Each card is ``NAME.md`` beside the checkpoint, with the plot ``NAME-curve.png``. The learning
curve is the one training recorded in ``NAME.json``: after every chunk of training the
deterministic policy was scored on a fixed validation set (``VALIDATION_EPISODES`` episodes of
the training environment from ``VALIDATION_SEED``, :func:`agents.rl.sb3.validate`; the
leaderboard's test seeds are others). The card puts beside it the utility's reference agent
(:data:`agents.registry.REFERENCES`) and RZF on the same validation channels
(:func:`agents.rl.sb3.validate_solver`), so each point reads as a share of the reference.

Runs of the same configuration with other training seeds (``python -m agents.rl train-shipped
--only NAME --seed S``, in ``seeds/NAME-seedS`` beside the checkpoint) add a band: at each
point the mean over the seeds with its 95% Student t interval (:func:`mean_interval`), in the
plot and in a table. The curves of all the seeds must share their steps (the same budget and
chunks).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

import agents
from agents.registry import REFERENCES
from agents.rl.sb3 import (
    CHECKPOINTS,
    VALIDATION_EPISODES,
    VALIDATION_SEED,
    Checkpoint,
    read_checkpoint,
    validate_solver,
)
from agents.storage import checkpoint_file, locate
from beamgym.registration import ENV_IDS, MAX_EPISODE_STEPS
from benchmarks.intervals import mean_interval

BASELINE = "rzf"
"""The simple baseline drawn beside the reference (the structured action's starting point)."""


def utility_of(checkpoint: Checkpoint) -> str:
    """The utility the checkpoint's environment pays."""
    return str(ENV_IDS[checkpoint.env_id]["utility"])


def reference_lines(checkpoint: Checkpoint) -> dict[str, float]:
    """Agent name -> its mean utility on the checkpoint's validation set: the reference of the
    utility, then :data:`BASELINE`."""
    names = dict.fromkeys([REFERENCES[utility_of(checkpoint)], BASELINE])
    return {name: validate_solver(agents.make(name), checkpoint) for name in names}


def seed_runs(path: Path) -> list[Checkpoint]:
    """The checkpoint at ``path`` followed by its other-seed runs (``seeds/NAME-seed*``)."""
    runs = [read_checkpoint(path)]
    if not runs[0].curve:
        raise ValueError(f"{path}.json records no learning curve: retrain it (agents.rl.train)")
    for meta in sorted(path.parent.glob(f"seeds/{path.name}-seed*.json")):
        run = read_checkpoint(meta.with_suffix(""))
        if [step for step, _ in run.curve] != [step for step, _ in runs[0].curve]:
            raise ValueError(f"{meta}: its learning curve has other steps than {path}'s")
        runs.append(run)
    return runs


def band(runs: list[Checkpoint]) -> tuple[np.ndarray, list]:
    """Steps ``[points]`` and, per point, the mean over the runs with its 95% interval."""
    values = np.array([[value for _, value in run.curve] for run in runs])
    steps = np.array([step for step, _ in runs[0].curve])
    return steps, [mean_interval(values[:, point]) for point in range(steps.size)]


def curve_figure(name: str, runs: list[Checkpoint], lines: dict[str, float]) -> Figure:
    """Validation utility vs environment steps: the seed-0 curve, the band over seeds when
    there are several, and the reference lines."""
    figure = Figure(figsize=(7.5, 4))
    axes = figure.subplots()
    steps, points = band(runs)
    if len(runs) > 1:
        axes.fill_between(
            steps,
            [point.low for point in points],
            [point.high for point in points],
            alpha=0.25,
            label=f"95% interval over {len(runs)} seeds",
        )
        axes.plot(steps, [point.value for point in points], label="mean over seeds")
    axes.plot(
        steps,
        [value for _, value in runs[0].curve],
        marker="o",
        markersize=3,
        label=f"{runs[0].agent} (seed {runs[0].seed})",
    )
    for (agent, value), style in zip(lines.items(), ("--", ":"), strict=False):
        axes.axhline(value, color="0.3", linestyle=style, linewidth=1, label=agent)
    axes.set_xlabel("environment steps")
    axes.set_ylabel(f"{utility_of(runs[0]).replace('_', ' ')} (validation mean)")
    axes.set_title(name, fontsize=9)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    return figure


def _percent(value: float, reference: float) -> str:
    return f"{100 * value / reference:.1f} %"


def _search_line(checkpoint: Checkpoint) -> str:
    search = checkpoint.search
    if not search:
        return "none: the algorithm's defaults (`agents.rl.sb3.HYPERPARAMETERS`)"
    size = f"K = {search['env_kwargs']['num_users']}, N = {search['env_kwargs']['num_antennas']}"
    best = max(trial["validation_reward"] for trial in search["trials"])
    return (
        f"{len(search['trials'])} trials x {search['steps_per_trial']:,} steps on "
        f"`{search['env_id']}` at {size} ({search['sampler']}); best validation {best:.4f}; "
        f"`{search['command']}`"
    )


def card_markdown(path: Path, runs: list[Checkpoint], lines: dict[str, float]) -> str:
    """The card of the checkpoint at ``path`` (module docstring)."""
    checkpoint, name = runs[0], path.name
    reference, reference_value = next(iter(lines.items()))
    final = checkpoint.curve[-1][1]
    hyper = json.dumps(checkpoint.hyperparameters, sort_keys=True)
    rows = [
        (
            "agent",
            f"`{checkpoint.agent}`: stable-baselines3 {checkpoint.algorithm.upper()}, "
            f"action `{checkpoint.action}`",
        ),
        ("environment", f"`{checkpoint.env_id}` `{json.dumps(checkpoint.env_kwargs)}`"),
        (
            "training",
            f"{checkpoint.steps:,} environment steps on {checkpoint.n_envs} copies, "
            f"seed {checkpoint.seed}, {checkpoint.wall_time_s / 60:.1f} min",
        ),
        ("hyper-parameters", f"`{hyper}`"),
        ("search", _search_line(checkpoint)),
        ("command", f"`{checkpoint.command}`"),
        ("versions", ", ".join(f"{k} {v}" for k, v in checkpoint.versions.items())),
        (
            "final validation",
            f"{final:.4f}: {_percent(final, reference_value)} of `{reference}`"
            + "".join(f", {_percent(final, v)} of `{a}`" for a, v in list(lines.items())[1:]),
        ),
    ]
    out = [
        f"# `{name}`",
        "",
        f"Written by `python -m benchmarks rl-card {name}` from `{name}.json`; the reference "
        "lines are computed on the validation channels when the card is written.",
        "",
        "| | |",
        "|---|---|",
        *(f"| {key} | {value} |" for key, value in rows),
        "",
        "## Learning curve",
        "",
        f"Mean utility per block of the deterministic policy on the validation set "
        f"({VALIDATION_EPISODES} episodes x {MAX_EPISODE_STEPS} blocks of the training environment from seed "
        f"{VALIDATION_SEED}, disjoint from the leaderboard's test seeds) after each chunk of "
        f"training; on the same channels "
        + ", ".join(f"`{agent}` reaches {value:.4f}" for agent, value in lines.items())
        + ".",
        "",
        f"![learning curve]({name}-curve.png)",
        "",
        f"| environment steps | utility | % of `{reference}` |",
        "|---:|---:|---:|",
        *(
            f"| {step:,} | {value:.4f} | {_percent(value, reference_value)} |"
            for step, value in checkpoint.curve
        ),
    ]
    if len(runs) > 1:
        steps, points = band(runs)
        seeds = ", ".join(str(run.seed) for run in runs)
        out += [
            "",
            "## Training seeds",
            "",
            f"The same configuration trained with seeds {seeds} (the others' checkpoints in "
            f"`seeds/`): mean over the seeds with its 95% Student t interval.",
            "",
            f"| environment steps | mean | 95% interval | % of `{reference}` |",
            "|---:|---:|---:|---:|",
            *(
                f"| {step:,} | {p.value:.4f} | {p.low:.4f} – {p.high:.4f} | "
                f"{_percent(p.value, reference_value)} |"
                for step, p in zip(steps, points, strict=True)
            ),
        ]
    return "\n".join(out) + "\n"


def write_card(checkpoint: str | Path) -> Path:
    """Write the card of a checkpoint (a path without suffix, or a shipped name) and its plot
    beside it; returns the Markdown file."""
    path = Path(locate(checkpoint, CHECKPOINTS))
    runs = seed_runs(path)
    lines = reference_lines(runs[0])
    figure = curve_figure(path.name, runs, lines)
    figure.savefig(path.with_name(f"{path.name}-curve.png"), dpi=110, bbox_inches="tight")
    card = checkpoint_file(path, ".md")
    card.write_text(card_markdown(path, runs, lines))
    return card


def shipped_checkpoints() -> list[str]:
    """The names of the checkpoints in :data:`~agents.rl.sb3.CHECKPOINTS`."""
    return sorted(meta.stem for meta in CHECKPOINTS.glob("*.json"))
