"""Model cards: a trained checkpoint scored by the leaderboard's own harness.

    python -m benchmarks card agents/learned/checkpoints/bert4beam-sum_rate-N8
    python -m benchmarks card agents/learned/checkpoints/sallo-m --antennas 4 8 16 \\
        --users 2 4 8 12 16 --max-load 1.5 --channel-models rayleigh sparse \\
        --baselines agents/learned/checkpoints/sallo-m-base

A card's grid (every utility, channel model, N, K and SNR asked for, with ``K <= max_load
N``) is a suite (:func:`card_suite`) whose configurations are named, seeded and drawn exactly
as the built-in suites' (:func:`benchmarks.suites.configuration`): the channels come from the
beamgym environment paying the utility, reset with the held-out seeds from
:data:`~benchmarks.suites.TEST_SEED_BASE`. Training draws from torch generators
(:mod:`agents.learned.training`), the environments from NumPy's, so no training channel is
a card's. A cell that is also a leaderboard configuration holds the leaderboard's channels
and number. The runner scores the checkpoint, each baseline checkpoint and the task's reference on
them (:func:`benchmarks.runner.run`, resumable: the results folder keeps finished units),
with the leaderboard's scoring and timing (:mod:`benchmarks.scoring`, :mod:`benchmarks.timing`);
the model's FLOPs per channel on the timed configuration and the fraction of the machine's
float32 matrix-product rate they reach at its batched time (:func:`flop_efficiency`) are
measured in the same process. The card is written
from the folder's summary: the ``evaluation`` of ``PATH.json`` and the Markdown ``PATH.md``,
with the command that produced them at its top.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import torch

import agents
from agents.learned.checkpoint import TrainingConfig, read_card
from agents.registry import REFERENCES
from agents.storage import checkpoint_file
from benchmarks.lineup import AgentSpec, solved_utility
from benchmarks.report import ConfigResults, collect
from benchmarks.results import ResultsFolder
from benchmarks.runner import run
from benchmarks.scoring import solve_inputs
from benchmarks.suites import Suite, configuration
from benchmarks.timing import LATENCY_CALLS, flops_per_channel, matmul_throughput


class UnitsFailed(RuntimeError):
    """Some units of a card failed (their rows say why): the card is not written."""


EPISODES, BLOCKS = 20, 10
"""A card cell's episodes and blocks: the leaderboard's 200 channels per configuration."""

FLOP_CHANNELS = 64
"""Channels of the solve whose FLOPs a card counts (the count per channel does not depend on
it)."""


def agent_spec(checkpoint: str) -> AgentSpec:
    """The agent serving a checkpoint: its model's name with ``checkpoint=PATH``."""
    return AgentSpec(read_card(checkpoint)["training"]["model"], {"checkpoint": checkpoint})


def _solver(spec: AgentSpec) -> agents.Solver:
    return agents.make(spec.target, **spec.kwargs)


def card_suite(
    name: str,
    utilities: list[str],
    channel_models: list[str],
    antennas: list[int],
    users: list[int],
    snr_db: list[float],
    max_load: float = math.inf,
    episodes: int = EPISODES,
    blocks: int = BLOCKS,
) -> Suite:
    """The card's grid as a suite (module docstring)."""
    configurations = tuple(
        configuration(utility, k, n, snr, episodes=episodes, blocks=blocks, channel=channel)
        for utility in utilities
        for channel in channel_models
        for n in antennas
        for k in users
        if k <= max_load * n
        for snr in snr_db
    )
    if not configurations:
        raise ValueError(f"no (K, N) with K <= max_load N: users {users}, antennas {antennas}")
    return Suite(f"card-{name}", configurations, f"the model card of {name}")


def default_grid(checkpoint: str) -> dict[str, Any]:
    """The grid a card covers unless told otherwise: every utility the checkpoint serves, its
    training antenna counts, K from 2 to 8, 0/10/20 dB, i.i.d. Rayleigh."""
    solver = _solver(agent_spec(checkpoint))
    trained = sorted({n for _, _, n in solver.trained_on()})
    return {
        "utilities": list(solver.utilities),
        "channel_models": ["rayleigh"],
        "antennas": trained,
        "users": list(range(2, 9)),
        "snr_db": [0.0, 10.0, 20.0],
    }


def run_card(
    checkpoint: str,
    grid: dict[str, Any],
    *,
    baselines: list[str],
    out: str,
    command: str,
    max_load: float = math.inf,
    progress: bool = True,
) -> str:
    """Score ``checkpoint`` (and its ``baselines``) on ``grid`` into the results folder
    ``out`` and write its card; returns the Markdown. Raises ``ValueError`` for a
    checkpoint or grid that cannot be scored (the card is not written then; nothing at all
    unless the model declined a configuration, which only its units tell) and
    :class:`UnitsFailed` if units failed."""
    specs = [agent_spec(checkpoint)] + [agent_spec(path) for path in baselines]
    solver = _solver(specs[0])
    unknown = sorted(set(grid["utilities"]) - set(solver.utilities))
    if unknown:
        raise ValueError(
            f"--utilities: {checkpoint} serves {list(solver.utilities)}, not {unknown}"
        )
    suite = card_suite(Path(checkpoint).name, max_load=max_load, **grid)
    outcome = run(suite, out, specs, progress=progress, command=command)
    units = outcome.folder.units().values()
    failed = [r for r in units if r["status"] == "failed"]
    if failed:
        raise UnitsFailed(
            f"{len(failed)} units failed, e.g. {failed[0]['config']} / {failed[0]['agent']}: "
            f"{failed[0]['reason']}; the card is not written"
        )
    declined = [r for r in units if r["status"] != "ok" and r["agent"] == specs[0].label]
    if declined:
        raise ValueError(
            f"{checkpoint} does not serve {len(declined)} of the grid's configurations, e.g. "
            f"{declined[0]['config']}: {declined[0]['reason']}; choose --utilities, --antennas "
            "and --users it serves (the card is not written)"
        )
    results = collect(ResultsFolder(out))
    evaluation = evaluation_of(results, specs, solver.trained_on())
    evaluation["efficiency"] = flop_efficiency(solver, specs[0].label, largest(results))
    evaluation["command"] = command
    card = read_card(checkpoint) | {"evaluation": evaluation}
    checkpoint_file(checkpoint, ".json").write_text(json.dumps(card, indent=2) + "\n")
    text = model_card(Path(checkpoint).name, card)
    checkpoint_file(checkpoint, ".md").write_text(text)
    return text


def evaluation_of(
    results: list[ConfigResults], specs: list[AgentSpec], trained: set[tuple[str, int, int]]
) -> dict[str, Any]:
    """The card's evaluation: one row per configuration (the model's and the reference's
    mean utility, their paired ratio with its 95 % interval, each baseline's mean and ratio)
    and the timings of the largest configuration."""
    labels = {spec.label: Path(spec.kwargs["checkpoint"]).name for spec in specs}
    model = specs[0].label
    rows = []
    for entry in results:
        summary = {row["agent"]: row for row in entry.rows}
        kwargs, own = entry.config.kwargs, summary[model]
        utility = own["utility"]
        reference = summary[REFERENCES[utility]]
        rows.append(
            {
                "config": entry.config.name,
                "utility": utility,
                "channel": kwargs["channel"],
                "antennas": kwargs["num_antennas"],
                "users": kwargs["num_users"],
                "snr_db": kwargs["snr_db"],
                "seen": (utility, kwargs["num_users"], kwargs["num_antennas"]) in trained,
                "model": own["mean"],
                "reference": reference["mean"],
                "ratio": own["ratio_to_reference"],
                "ratio_low": own["ratio_to_reference_low"],
                "ratio_high": own["ratio_to_reference_high"],
                "baselines": {
                    labels[spec.label]: {
                        "value": summary[spec.label]["mean"],
                        "ratio": summary[spec.label]["ratio_to_reference"],
                    }
                    for spec in specs[1:]
                },
            }
        )
    timed_entry = largest(results)
    timed = {row["agent"]: row for row in timed_entry.rows}
    return {
        "references": {row["utility"]: REFERENCES[row["utility"]] for row in rows},
        "channels": timed_entry.config.num_channels,
        "seeds": [min(timed_entry.config.seeds), max(timed_entry.config.seeds)],
        "baselines": {labels[s.label]: s.kwargs["checkpoint"] for s in specs[1:]},
        "rows": rows,
        "timings": {
            "setting": f"`{timed_entry.config.name}`, batch 1 (median of {LATENCY_CALLS}) and "
            f"{timed_entry.config.num_channels}",
            **{
                labels.get(agent, agent): {
                    "latency_ms": row["latency_ms"],
                    "ms_per_channel": row["time_per_channel_ms"],
                }
                for agent, row in timed.items()
            },
        },
    }


def largest(results: list[ConfigResults]) -> ConfigResults:
    """The configuration a card times: the most channels, then the largest N and K."""
    return max(results, key=lambda e: (e.config.num_channels, *_size(e), e.config.name))


def flop_efficiency(solver: agents.Solver, label: str, entry: ConfigResults) -> dict[str, Any]:
    """FLOPs per channel of ``solver`` on ``entry``'s channels (:data:`FLOP_CHANNELS` of them,
    counted by :func:`benchmarks.timing.flops_per_channel`), the rate they reach at the
    ``label`` row's batched time per channel, and its fraction of this machine's float32
    matrix-product rate (:func:`benchmarks.timing.matmul_throughput`, same threads)."""
    channels = entry.channels
    count = min(FLOP_CHANNELS, channels.num_channels)
    utility = solved_utility(solver, channels.utility)
    H, kwargs = solve_inputs(channels, slice(0, count), torch.device("cpu"), utility)
    flops = flops_per_channel(lambda x: solver.solve(x, **kwargs), H, count)
    seconds = 1e-3 * next(r for r in entry.rows if r["agent"] == label)["time_per_channel_ms"]
    peak = matmul_throughput()
    return {
        "config": entry.config.name,
        "mflop_per_channel": flops / 1e6,
        "gflops": flops / seconds / 1e9,
        "matmul_gflops": peak / 1e9,
        "fraction_of_matmul": flops / seconds / peak,
        "threads": torch.get_num_threads(),
    }


def _size(entry: ConfigResults) -> tuple[int, int]:
    kwargs = entry.config.kwargs
    return kwargs["num_antennas"], kwargs["num_users"]


def _training_lines(card: dict) -> list[str]:
    training = card["training"]
    config = TrainingConfig.from_dict(training)
    lines = [
        f"- model: `{config.model}` {json.dumps(config.model_config)}",
        f"- parameters: {card['parameters']:,}",
        f"- training draws: {json.dumps(config.draw)}",
        f"- training: {config.steps:,} steps of batch {config.batch_size}, learning rate "
        f"{config.learning_rate:g}, {card['wall_time_s'] / 60:.1f} min on "
        f"{' then '.join(card.get('devices', ['cpu']))}",
    ]
    if config.init_from:
        lines.append(f"- fine-tuned from: `{config.init_from}`")
    lines.append(f"- training command: `{card['command']}`")
    if card.get("command_as_run"):
        lines.append(
            f"  (converted once to the current command line; as run: `{card['command_as_run']}`)"
        )
    lines.append(f"- versions: {json.dumps(card['versions'])}")
    return lines


def _table_of(row: dict) -> tuple[str, str, int]:
    return row["utility"], row["channel"], row["antennas"]


def _percent(ratio: float | None) -> str:
    return "n/a" if ratio is None else f"{100 * ratio:.1f}%"


def _ratio_tables(evaluation: dict) -> list[str]:
    """One table per utility, channel model and N: rows K, columns SNR, cells the ratio to
    the reference in percent (model, then each baseline, ``/``-separated); sizes not
    trained on in italics."""
    labels = ["model", *evaluation["baselines"]]
    rows = evaluation["rows"]
    snrs = sorted({row["snr_db"] for row in rows})
    lines: list[str] = []
    for name, channel, n in dict.fromkeys(map(_table_of, rows)):
        cells = {(r["users"], r["snr_db"]): r for r in rows if _table_of(r) == (name, channel, n)}
        lines += [
            "",
            f"`{name}`, {channel} channel, N = {n}, ratio to `{evaluation['references'][name]}` "
            f"({' / '.join(labels)}):",
            "",
            "| K | " + " | ".join(f"{snr:g} dB" for snr in snrs) + " |",
            "|---|" + "---|" * len(snrs),
        ]
        for k in sorted({k for k, _ in cells}):
            entries = []
            for snr in snrs:
                row = cells.get((k, snr))
                if row is None:
                    entries.append("")
                    continue
                ratios = [row["ratio"]] + [row["baselines"][b]["ratio"] for b in labels[1:]]
                text = " / ".join(map(_percent, ratios))
                entries.append(text if row["seen"] else f"*{text}*")
            lines.append(f"| {k} | " + " | ".join(entries) + " |")
    return lines


def model_card(name: str, card: dict) -> str:
    """The Markdown model card of checkpoint ``name`` from its ``.json`` contents."""
    lines = [f"# Model card: `{name}`", "", *_training_lines(card)]
    evaluation = card.get("evaluation")
    if evaluation:
        low, high = evaluation["seeds"]
        lines += [
            "",
            "## Evaluation",
            "",
            f"Command: `{evaluation['command']}`.",
            "",
            f"Every cell is a benchmark configuration: {evaluation['channels']} channels "
            f"({EPISODES} episodes x {BLOCKS} blocks, environment seeds {low:,}-{high:,}) drawn "
            "by the beamgym environment that pays the utility, the leaderboard's seeds and "
            "scoring; ratio of mean utilities (paired) to the task's reference. Sizes in "
            "*italics* were not in training.",
        ]
        for label, path in evaluation["baselines"].items():
            lines.append(f"Baseline `{label}`: `{path}`.")
        lines += _ratio_tables(evaluation)
        lines += ["", "Mean utilities and the paired ratio's 95 % interval:", ""]
        lines += ["| configuration | model | reference | ratio (95 % interval) |"]
        lines += ["|---|---|---|---|"]
        for row in evaluation["rows"]:
            interval = (
                f"{_percent(row['ratio'])} ({_percent(row['ratio_low'])}-"
                f"{_percent(row['ratio_high'])})"
            )
            lines.append(
                f"| `{row['config']}` | {row['model']:.4f} | {row['reference']:.4f} | {interval} |"
            )
        timings = evaluation["timings"]
        lines += ["", f"Timings ({timings['setting']} channels; the leaderboard's protocol):", ""]
        lines += ["| solver | batch-1 latency (ms) | time per channel, batched (ms) |"]
        lines += ["|---|---|---|"]
        for solver, values in timings.items():
            if solver != "setting":
                lines.append(
                    f"| `{solver}` | {values['latency_ms']:.2f} | {values['ms_per_channel']:.4f} |"
                )
        efficiency = evaluation.get("efficiency")
        if efficiency:
            lines += [
                "",
                f"FLOPs (`torch.utils.flop_counter`: matrix products and attention) per channel "
                f"on `{efficiency['config']}`: {efficiency['mflop_per_channel']:.3f} MFLOP; at "
                f"the batched time above that is {efficiency['gflops']:.2f} GFLOP/s, "
                f"{100 * efficiency['fraction_of_matmul']:.2f} % of this machine's float32 "
                f"matrix-product rate ({efficiency['matmul_gflops']:.1f} GFLOP/s, "
                f"{efficiency['threads']} thread(s)).",
            ]
    return "\n".join(lines) + "\n"
