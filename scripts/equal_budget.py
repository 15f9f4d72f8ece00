"""The equal-budget comparison of the learned models: every model of :data:`agents.learned.MODELS`
(and ``gnn-vanilla``, the GNN without its Gram-weighted aggregation) trained from scratch with the same samples on one configuration (sum rate, K = N = 8, SNR drawn
from 0-20 dB), scored on the same held-out channels, with learning curves on one validation
set::

    python scripts/equal_budget.py                  # train (resumable), score, summarise
    python scripts/equal_budget.py --only gnn mlp   # some of the models
    python scripts/equal_budget.py --stage summary  # only rewrite the summary and the plot

Everything lands in :data:`FOLDER`: each model's checkpoint ``NAME.pt``, its training record
``NAME.json`` (with the learning curve) and card ``NAME.md``, and the summary ``README.md``
with the plot ``curves.png``.

The budget (decisions): :data:`STEPS` optimiser steps of :data:`BATCH` fresh samples each
(512,000 channels) for every model, the same warm-up and cosine schedule, seed 0, one CPU
thread (the wall times in the summary are of runs that shared the 2-core machine with one
other run). What differs is what makes each model itself: its shipped architecture and its peak
learning rate (those of its shipped checkpoints; the unfolded WMMSE's step sizes want a larger
one). UBERT keeps its shipped RZF input features. SALLO-M is built at its smallest size that
serves K = N = 8 (``--size 8``) with the shipped model's 30 refinement steps; BERT4beam at
N = 8. Each model sees K = N = 8 only, so the fixed-size MLP and BNN are not handicapped by a
size range they cannot serve.

Scoring: ``python -m benchmarks card`` on the ``standard`` leaderboard's 8 x 8 sum-rate
channels (0, 10 and 20 dB, 200 channels each, the leaderboard's seeds), against WMMSE, with
the paired ratio's 95 % interval. The learning curve of every run is the training loop's
(``--curve-every``): the mean sum rate on the same 1,024 validation problems, drawn from a
seed of its own; WMMSE and RZF on those problems are the plot's horizontal lines.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import torch
from matplotlib.figure import Figure

import agents
from agents.learned import MODELS
from agents.learned.checkpoint import TrainingConfig
from agents.learned.objective import achieved_utility
from agents.learned.training import VALIDATION_SAMPLES, validation_problems

FOLDER = Path("agents/learned/checkpoints/equal-budget")
STEPS, BATCH, WARMUP, CURVE_EVERY = 2000, 256, 100, 100

RUNS: dict[str, str] = {
    "mlp": "--model mlp --num-users 8 --num-antennas 8 --learning-rate 1e-3",
    "bnn": "--model bnn --num-users 8 --num-antennas 8 --learning-rate 1e-3",
    "gnn": "--model gnn --users 8 --antennas 8 --learning-rate 1e-3",
    "gnn-vanilla": "--model gnn --no-gram --users 8 --antennas 8 --learning-rate 1e-3",
    "unfolded-wmmse": "--model unfolded-wmmse --users 8 --antennas 8 --learning-rate 1e-2",
    "bert4beam": "--model bert4beam --num-antennas 8 --users 8 --learning-rate 1e-3",
    "ubert": "--model ubert --rzf-features --utilities sum_rate --users 8 --antennas 8 "
    "--learning-rate 2e-3",
    "sallo-m": "--model sallo-m --size 8 --refine-steps 30 --users 8 --antennas 8 "
    "--learning-rate 1e-3",
}
"""Run name -> its model and own training options (the rest of the command is the shared
budget). ``gnn-vanilla`` is the ablation of the GNN's Gram-weighted aggregation."""

SNR_DB = ("0", "10", "20")
REFERENCE_LINES = ("wmmse", "rzf")


def train(name: str) -> None:
    """Train (or resume) ``name``'s equal-budget run; a finished run is left as it is."""
    out = FOLDER / name
    if (FOLDER / f"{name}.pt").exists() and not (FOLDER / f"{name}.train.pt").exists():
        return
    budget = ["--steps", str(STEPS), "--batch-size", str(BATCH), "--warmup", str(WARMUP)]
    command = [sys.executable, "-m", "agents.learned.training", *RUNS[name].split()]
    command += budget + ["--curve-every", str(CURVE_EVERY), "--threads", "1"]
    command += ["--out", str(out), "--resume"]
    subprocess.run(command, check=True)
    (FOLDER / f"{name}.train.pt").unlink(missing_ok=True)


def score(name: str) -> None:
    """Write ``name``'s card on the leaderboard's 8 x 8 sum-rate channels."""
    command = [sys.executable, "-m", "benchmarks", "card", str(FOLDER / name)]
    command += ["--utilities", "sum_rate", "--antennas", "8", "--users", "8"]
    command += ["--snr-db", *SNR_DB, "--out", f"results/cards/equal-budget/{name}"]
    command += ["--no-progress", "--threads", "1"]
    subprocess.run(command, check=True)


def reference_curves() -> dict[str, float]:
    """WMMSE's and RZF's mean sum rate on the learning curves' validation problems."""
    config = TrainingConfig.from_dict(_card("sallo-m")["training"])
    model = MODELS[config.model](MODELS[config.model].Config(**config.model_config))
    problem = validation_problems(model, config.options())
    lines = {}
    for name in REFERENCE_LINES:
        W = agents.make(name).solve(problem.H, problem.power, problem.noise_power)
        value = achieved_utility(problem.utility, problem.H, W, problem.noise_power)
        lines[name] = float(value.mean())
    return lines


def _card(name: str) -> dict:
    return json.loads((FOLDER / f"{name}.json").read_text())


def summary(names: list[str]) -> str:
    """The summary table (Markdown) and the learning-curve plot ``curves.png``."""
    lines = [
        "# Equal-budget comparison of the learned models",
        "",
        "Written by `python scripts/equal_budget.py` (its docstring states the budget and the "
        f"decisions): every model trained from scratch on sum rate, K = N = 8, SNR drawn from "
        f"0-20 dB, {STEPS:,} steps of batch {BATCH} ({STEPS * BATCH:,} samples), seed 0, one "
        "CPU thread; scored on the `standard` leaderboard's 8 x 8 sum-rate channels (200 per "
        "SNR), % of WMMSE with the paired ratio's 95 % interval. Training wall times are of "
        "runs that shared the 2-core CPU with one other run.",
        "",
        "| model | parameters | training (min) | " + " | ".join(f"{s} dB" for s in SNR_DB) + " |",
        "|---|---|---|" + "---|" * len(SNR_DB),
    ]
    for name in names:
        card = _card(name)
        rows = {row["snr_db"]: row for row in card["evaluation"]["rows"]}
        cells = [
            f"{100 * r['ratio']:.1f} ({100 * r['ratio_low']:.1f}-{100 * r['ratio_high']:.1f})"
            for r in (rows[float(s)] for s in SNR_DB)
        ]
        lines.append(
            f"| `{name}` | {card['parameters']:,} | {card['wall_time_s'] / 60:.1f} | "
            + " | ".join(cells)
            + " |"
        )
    lines += [
        "",
        f"Learning curves (`curves.png`): the mean sum rate on {VALIDATION_SAMPLES:,} fixed "
        "validation problems against the training samples seen; WMMSE and RZF on the same "
        "problems as horizontal lines.",
        "",
        "![learning curves](curves.png)",
    ]
    figure = Figure(figsize=(7, 4.5))
    axes = figure.subplots()
    for name in names:
        samples, values = zip(*_card(name)["curve"], strict=True)
        axes.plot(samples, values, label=name)
    for (name, value), style in zip(reference_curves().items(), ("--", ":"), strict=True):
        axes.axhline(value, color="black", linestyle=style, linewidth=1, label=name)
    axes.set_xlabel("training samples")
    axes.set_ylabel("mean sum rate (bit/s/Hz), validation set")
    axes.set_title("Equal budget: sum rate, K = N = 8, 0-20 dB")
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8, ncols=2)
    figure.tight_layout()
    figure.savefig(FOLDER / "curves.png", dpi=120)
    text = "\n".join(lines) + "\n"
    (FOLDER / "README.md").write_text(text)
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", choices=list(RUNS), default=list(RUNS))
    parser.add_argument("--stage", choices=("all", "train", "score", "summary"), default="all")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    FOLDER.mkdir(parents=True, exist_ok=True)
    for name in args.only:
        if args.stage in ("all", "train"):
            train(name)
        if args.stage in ("all", "score"):
            score(name)
    if args.stage in ("all", "summary"):
        print(summary([name for name in RUNS if (FOLDER / f"{name}.json").exists()]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
