"""Evaluate a trained model against its references and write its model card.

    python -m agents.learned.evaluation agents/learned/checkpoints/bert4beam-sum_rate-N8
    python -m agents.learned.evaluation agents/learned/checkpoints/ubert --agent ubert --antennas 4 8 16
    python -m agents.learned.evaluation agents/learned/checkpoints/bert4beam-min_rate-N8 \\
        --baseline runs/bert4beam-min_rate-N8-scratch

For every utility, channel model, N, K and SNR of the grid: ``--channels`` fresh channels
(i.i.d. CN(0, 1) by default, ``--channel-models`` for others; sigma2 = 1) from seeds that no
training run uses (:data:`EVALUATION_SEED`), the model's mean
utility, the reference solver's on the same channels (:data:`agents.registry.REFERENCES`:
single-run WMMSE, the exact max-min optimum, Dinkelbach EE) and their ratio of means. Sizes
(utility, K, N) the model was not trained on are marked unseen; ``--max-load`` leaves out
the pairs with ``K / N`` above it. ``--baseline`` checkpoints (e.g. the same
task trained from scratch, to compare with a fine-tuned model) are scored on the same
channels. The results go into ``PATH.json`` (``evaluation``) and the model card ``PATH.md``,
with the command that produced them. Timings (batch-1 latency and batched time per channel,
model and reference, same machine and run) are recorded as measured, never asserted.
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import statistics
import sys
import time
from pathlib import Path

import torch

import agents
from agents.registry import REFERENCES
from agents.solver import Solver
from beamgym.channels import make_channel
from beamgym.downlink import rates, transmit_power
from beamgym.utilities import utility

EVALUATION_SEED = 2_000_000
"""Base seed of the evaluation channels (training draws from seeds below 1,000,000)."""


def evaluation_channels(
    antennas: int, users: int, snr_db: float, channels: int, model: str = "rayleigh"
) -> torch.Tensor:
    """The fixed evaluation channels ``[channels, K, N]`` (complex128) of one grid cell, of
    the channel ``model`` (a name of :data:`beamgym.channels.CHANNELS`, default parameters)."""
    seed = EVALUATION_SEED + 100_000 * antennas + 1000 * users + int(10 * snr_db)
    generator = torch.Generator().manual_seed(seed)
    if model == "rayleigh":  # the original draw: the shipped cards' channels stay the same
        return torch.randn(channels, users, antennas, dtype=torch.complex128, generator=generator)
    return make_channel(model, users, antennas).sample(generator, (channels,)).to(torch.complex128)


def _mean_utility(name: str, solver: Solver, H: torch.Tensor, power: float) -> float:
    W = solver.solve(H, power=power, utility=name)
    values = utility(name, rates(H, W), power_used=transmit_power(W))
    return float(values.mean())


def _timings(solver: Solver, H: torch.Tensor, power: float, name: str) -> dict[str, float]:
    solver.solve(H[:1], power=power, utility=name)  # warm-up
    single = []
    for _ in range(5):
        start = time.perf_counter()
        solver.solve(H[:1], power=power, utility=name)
        single.append(time.perf_counter() - start)
    start = time.perf_counter()
    solver.solve(H, power=power, utility=name)
    batched = time.perf_counter() - start
    return {"latency_ms": 1e3 * statistics.median(single), "ms_per_channel": 1e3 * batched / len(H)}


def trained_sizes(card: dict) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The user counts and antenna counts a checkpoint's card says it was trained on."""
    training = card["training"]
    antennas = training.get("antennas") or [training["model_config"]["num_antennas"]]
    return tuple(training["users"]), tuple(antennas)


def evaluate(
    solver: Solver,
    utilities: list[str],
    antennas: list[int],
    users: list[int],
    snr_db: list[float],
    channels: int,
    baselines: dict[str, Solver] | None = None,
    channel_models: tuple[str, ...] = ("rayleigh",),
    max_load: float = math.inf,
) -> dict:
    """The evaluation rows (one per utility, channel model, N, K and SNR) and timings.

    Each row holds the mean utility of the model, of the reference and of every baseline on
    the same channels, and their ratios to the reference. Timings are taken for the first
    utility at the largest K and N, 10 dB.
    """
    baselines = baselines or {}
    seen = solver.trained_on()
    cells = [
        (name, model, n, k, snr)
        for name in utilities
        for model in channel_models
        for n in antennas
        for k in users
        if k <= max_load * n
        for snr in snr_db
    ]
    references = {name: agents.make(REFERENCES[name]) for name in utilities}
    rows = []
    for name, model, n, k, snr in cells:
        H = evaluation_channels(n, k, snr, channels, model)
        power = 10.0 ** (snr / 10.0)
        reference_value = _mean_utility(name, references[name], H, power)
        model_value = _mean_utility(name, solver, H, power)
        row = {
            "utility": name,
            "channel": model,
            "antennas": n,
            "users": k,
            "snr_db": snr,
            "seen": (name, k, n) in seen,
            "model": model_value,
            "reference": reference_value,
            "ratio": model_value / reference_value,
        }
        for label, baseline in baselines.items():
            value = _mean_utility(name, baseline, H, power)
            row[label] = {"value": value, "ratio": value / reference_value}
        rows.append(row)
    name = utilities[0]
    n = max(antennas)
    H = evaluation_channels(n, max(k for k in users if k <= max_load * n), 10.0, 1000)
    timings = {
        "setting": f"{name}, K={H.shape[1]}, N={n}, 10 dB, batch 1 and 1000, "
        f"{torch.get_num_threads()} threads",
        "model": _timings(solver, H, 10.0, name),
        REFERENCES[name]: _timings(references[name], H, 10.0, name),
    }
    return {
        "references": {name: REFERENCES[name] for name in utilities},
        "channels": channels,
        "baselines": {
            label: {"checkpoint": b.checkpoint, "steps": b.card["training"]["steps"]}
            for label, b in baselines.items()
        },
        "rows": rows,
        "timings": timings,
    }


def _training_lines(card: dict) -> list[str]:
    training = card["training"]
    users, antennas = trained_sizes(card)
    tasks = training.get("utilities") or [training["model_config"]["utility"]]
    models = training.get("channels", ["rayleigh"])
    channels = "i.i.d. CN(0, 1)" if models == ["rayleigh"] else " and ".join(models)
    sizes = f"K in {list(users)}, N in {list(antennas)}"
    if training["model"] == "sallo-m":
        sizes += f" with K <= {training['max_load']:g} N"
    lines = [
        f"- model: `{training['model']}` {json.dumps(training['model_config'])}",
        f"- parameters: {card['parameters']:,}",
        f"- trained on: {', '.join(tasks)}; {sizes}, SNR "
        f"{training['snr_db'][0]:g}-{training['snr_db'][1]:g} dB, {channels} channels, "
        f"sigma2 = 1",
        f"- training: {training['steps']:,} steps of batch {training['batch_size']}, "
        f"{card['wall_time_s'] / 60:.1f} min on {' then '.join(card.get('devices', ['cpu']))}",
    ]
    if training.get("utilities") and len(tasks) > 1:
        lines.append(f"- task sampling: {training.get('task_sampling', 'uniform')}")
    if training.get("window") or training.get("stages"):
        lines.append(
            f"- schedule: sliding window of {training['window'] or 'all'} layers; curriculum "
            f"stages max(K, N) <= {training['stages'] or 'none'}, replay {training['replay']:g}"
        )
    if training.get("init_from"):
        lines.append(f"- fine-tuned from: `{training['init_from']}`")
    lines += [
        f"- training command: `{card['command']}`",
        f"- versions: {json.dumps(card['versions'])}",
    ]
    return lines


def _table_of(row: dict) -> tuple[str, str, int]:
    """The table an evaluation row goes in: utility, channel model (cards written before
    channel models were recorded are Rayleigh), N."""
    return row["utility"], row.get("channel", "rayleigh"), row["antennas"]


def _ratio_tables(evaluation: dict) -> list[str]:
    """One table per utility, channel model and N: rows K, columns SNR, cells the ratio to the reference in
    percent (model, then each baseline, ``/``-separated); unseen sizes in italics."""
    labels = ["model", *evaluation["baselines"]]
    rows = evaluation["rows"]
    snrs = sorted({row["snr_db"] for row in rows})
    lines: list[str] = []
    for name, model, n in dict.fromkeys(map(_table_of, rows)):
        cells = {
            (row["users"], row["snr_db"]): row for row in rows if _table_of(row) == (name, model, n)
        }
        channel = "" if model == "rayleigh" else f", {model} channel"
        lines += [
            "",
            f"`{name}`{channel}, N = {n}, ratio to `{evaluation['references'][name]}` "
            f"({' / '.join(labels)}):",
            "",
            "| K | " + " | ".join(f"{snr:g} dB" for snr in snrs) + " |",
            "|---|" + "---|" * len(snrs),
        ]
        for k in sorted({k for k, _ in cells}):
            entries = []
            for snr in snrs:
                row = cells[(k, snr)]
                ratios = [row["ratio"]] + [row[label]["ratio"] for label in labels[1:]]
                text = " / ".join(f"{100 * r:.1f}%" for r in ratios)
                entries.append(text if row["seen"] else f"*{text}*")
            lines.append(f"| {k} | " + " | ".join(entries) + " |")
    return lines


def model_card(path: Path, card: dict) -> str:
    """The Markdown model card of checkpoint ``path`` from its ``.json`` contents."""
    lines = [f"# Model card: `{path.name}`", "", *_training_lines(card)]
    evaluation = card.get("evaluation")
    if evaluation:
        lines += [
            "",
            "## Evaluation",
            "",
            f"Command: `{evaluation['command']}`. {evaluation['channels']} fresh channels per "
            "cell; ratio of mean utilities. Sizes in *italics* were not in training.",
        ]
        for label, baseline in evaluation["baselines"].items():
            lines.append(
                f"Baseline `{label}`: `{baseline['checkpoint']}`, {baseline['steps']:,} steps."
            )
        lines += _ratio_tables(evaluation)
        lines += ["", "Mean utilities (model, reference):", ""]
        lines += ["| utility | channel | N | K | SNR (dB) | model | reference |"]
        lines += ["|---|---|---|---|---|---|---|"]
        for row in evaluation["rows"]:
            lines.append(
                f"| {row['utility']} | {row.get('channel', 'rayleigh')} | {row['antennas']} | "
                f"{row['users']} | {row['snr_db']:g} | {row['model']:.4f} | "
                f"{row['reference']:.4f} |"
            )
        timings = evaluation["timings"]
        lines += ["", f"Timings ({timings['setting']}):", ""]
        lines += ["| solver | batch-1 latency (ms) | time per channel at batch 1000 (ms) |"]
        lines += ["|---|---|---|"]
        for solver, values in timings.items():
            if solver != "setting":
                lines.append(
                    f"| {solver} | {values['latency_ms']:.2f} | {values['ms_per_channel']:.4f} |"
                )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(
        prog="python -m agents.learned.evaluation", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("checkpoint", help="checkpoint path without suffix")
    parser.add_argument("--agent", default="bert4beam", help="the registered learned agent")
    parser.add_argument("--utilities", nargs="+", help="default: every utility it serves")
    parser.add_argument("--antennas", type=int, nargs="+", help="default: its training N")
    parser.add_argument("--users", type=int, nargs="+", default=[2, 3, 4, 5, 6, 7, 8])
    parser.add_argument("--snr-db", type=float, nargs="+", default=[0.0, 10.0, 20.0])
    parser.add_argument("--channels", type=int, default=500)
    parser.add_argument(
        "--channel-models", nargs="+", default=["rayleigh"], help="default rayleigh (i.i.d.)"
    )
    parser.add_argument("--max-load", type=float, default=math.inf, help="largest K / N scored")
    parser.add_argument(
        "--baseline",
        nargs="+",
        default=[],
        metavar="CHECKPOINT",
        help="other checkpoints of the same agent scored on the same channels",
    )
    args = parser.parse_args(argv)
    path = Path(args.checkpoint)
    try:
        solver = agents.make(args.agent, checkpoint=str(path))
        baselines = {Path(p).name: agents.make(args.agent, checkpoint=p) for p in args.baseline}
    except (OSError, ValueError) as error:
        parser.error(str(error))
    utilities = args.utilities or list(solver.utilities)
    unknown = sorted(set(utilities) - set(solver.utilities))
    if unknown:
        parser.error(
            f"--utilities: {args.checkpoint} serves {list(solver.utilities)}, not {unknown}"
        )
    card = solver.card
    evaluation = evaluate(
        solver,
        utilities,
        args.antennas or list(trained_sizes(card)[1]),
        args.users,
        args.snr_db,
        args.channels,
        baselines,
        tuple(args.channel_models),
        args.max_load,
    )
    evaluation["command"] = "python -m agents.learned.evaluation " + shlex.join(argv)
    card["evaluation"] = evaluation
    path.with_suffix(".json").write_text(json.dumps(card, indent=2) + "\n")
    text = model_card(path, card)
    path.with_suffix(".md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
