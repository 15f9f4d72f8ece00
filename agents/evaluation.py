"""Evaluate a trained model against its reference and write its model card.

    python -m agents.evaluation agents/checkpoints/bert4beam-sum_rate-N8

For every (K, SNR) of the grid: ``--channels`` fresh i.i.d. CN(0, 1) channels (sigma2 = 1)
from seeds that no training run uses (:data:`EVALUATION_SEED`), the model's mean utility,
the reference solver's on the same channels and their ratio of means; K values outside the
training set are marked unseen. The results go into ``PATH.json`` (``evaluation``) and the
model card ``PATH.md``, with the command that produced them. Timings (batch-1 latency and
batched time per channel, model and reference, same machine and run) are recorded as
measured, never asserted.
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import sys
import time
from pathlib import Path

import torch

import agents
from agents.registry import REFERENCES
from agents.solver import Solver
from beamgym.downlink import rates, transmit_power
from beamgym.utilities import utility

EVALUATION_SEED = 2_000_000
"""Base seed of the evaluation channels (training draws from seeds below 1,000,000)."""


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


def evaluate(
    solver: Solver,
    num_antennas: int,
    users: list[int],
    snr_db: list[float],
    channels: int,
    trained_users: tuple[int, ...] = (),
) -> dict:
    """The evaluation table (rows per K and SNR) and timings at the largest K, 10 dB."""
    name = solver.utilities[0]
    reference = agents.make(REFERENCES[name])
    rows = []
    for k in users:
        for snr in snr_db:
            generator = torch.Generator().manual_seed(EVALUATION_SEED + 1000 * k + int(10 * snr))
            H = torch.randn(channels, k, num_antennas, dtype=torch.complex128, generator=generator)
            power = 10.0 ** (snr / 10.0)
            model_value = _mean_utility(name, solver, H, power)
            reference_value = _mean_utility(name, reference, H, power)
            rows.append(
                {
                    "users": k,
                    "snr_db": snr,
                    "seen": k in trained_users,
                    "model": model_value,
                    "reference": reference_value,
                    "ratio": model_value / reference_value,
                }
            )
    generator = torch.Generator().manual_seed(EVALUATION_SEED)
    H = torch.randn(1000, max(users), num_antennas, dtype=torch.complex128, generator=generator)
    timings = {
        "setting": f"K={max(users)}, N={num_antennas}, 10 dB, batch 1 and 1000, {torch.get_num_threads()} threads",
        "model": _timings(solver, H, 10.0, name),
        REFERENCES[name]: _timings(reference, H, 10.0, name),
    }
    return {
        "utility": name,
        "reference": REFERENCES[name],
        "channels": channels,
        "rows": rows,
        "timings": timings,
    }


def model_card(path: Path, card: dict) -> str:
    """The Markdown model card of checkpoint ``path`` from its ``.json`` contents."""
    training, evaluation = card["training"], card.get("evaluation")
    lines = [
        f"# Model card: `{path.name}`",
        "",
        f"- model: `{training['model']}` {json.dumps(training['model_config'])}",
        f"- parameters: {card['parameters']:,}",
        f"- trained: {training['steps']:,} steps of batch {training['batch_size']}, K in "
        f"{list(training['users'])}, SNR {training['snr_db'][0]:g}-{training['snr_db'][1]:g} dB, "
        f"i.i.d. CN(0, 1) channels, sigma2 = 1; wall time {card['wall_time_s'] / 60:.1f} min",
        f"- training command: `{card['command']}`",
        f"- versions: {json.dumps(card['versions'])}",
    ]
    if evaluation:
        reference = evaluation["reference"]
        lines += [
            "",
            f"## Evaluation: `{evaluation['utility']}` vs `{reference}`",
            "",
            f"Command: `{evaluation['command']}`. {evaluation['channels']} fresh channels per "
            "row; ratio of means.",
            "",
            "| K | SNR (dB) | in training | model | reference | ratio |",
            "|---|---|---|---|---|---|",
        ]
        for row in evaluation["rows"]:
            lines.append(
                f"| {row['users']} | {row['snr_db']:g} | {'yes' if row['seen'] else 'no'} | "
                f"{row['model']:.4f} | {row['reference']:.4f} | {100 * row['ratio']:.1f}% |"
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
        prog="python -m agents.evaluation", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("checkpoint", help="checkpoint path without suffix")
    parser.add_argument("--agent", default="bert4beam", help="the registered learned agent")
    parser.add_argument("--users", type=int, nargs="+", default=[2, 3, 4, 5, 6, 7, 8])
    parser.add_argument("--snr-db", type=float, nargs="+", default=[0.0, 10.0, 20.0])
    parser.add_argument("--channels", type=int, default=500)
    args = parser.parse_args(argv)
    path = Path(args.checkpoint)
    solver = agents.make(args.agent, checkpoint=str(path))
    card = solver.card
    evaluation = evaluate(
        solver,
        solver.model.config.num_antennas,
        args.users,
        args.snr_db,
        args.channels,
        tuple(card["training"]["users"]),
    )
    evaluation["command"] = "python -m agents.evaluation " + shlex.join(argv)
    card["evaluation"] = evaluation
    path.with_suffix(".json").write_text(json.dumps(card, indent=2) + "\n")
    text = model_card(path, card)
    path.with_suffix(".md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
