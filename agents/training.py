"""Unsupervised training of the learned solvers: minimise minus the beamgym utility.

Every step draws a fresh batch of i.i.d. CN(0, 1) channels (``sigma2 = 1``): one K drawn
uniformly from the training user counts for the whole batch, and each sample's SNR uniformly (in
dB) from the SNR range. The loss is ``-mean_b U(W_b) / U(W_rzf,b)``: the utility of the
model's beamformers relative to that of RZF on the same channel (no gradient through the
reference), so that every SNR and K weighs alike although their utilities differ tenfold.

Runs are resumable: ``OUT.train.pt`` (weights, optimiser, schedule, step and random state,
loaded with ``weights_only=True``) is written every ``--checkpoint-every`` steps and when the
run is interrupted; ``--resume`` continues from it. At the end the weights go to ``OUT.pt``
and the settings, command, wall time and evaluation to ``OUT.json``.

Data-parallel: under ``torchrun --nproc-per-node P`` each process draws its own share of the
batch and gradients are averaged (``torch.distributed``, gloo on CPU, nccl on GPU).

    python -m agents.training --model bert4beam --utility sum_rate --num-antennas 8 \\
        --users 2 4 6 8 --snr-db 0 20 --steps 20000 --out agents/checkpoints/bert4beam-sum_rate-N8
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

import beamgym
from agents.bert4beam import Bert4beam, Bert4beamConfig, count_parameters
from agents.linear import regularized_directions
from beamgym.downlink import project_power, rates
from beamgym.utilities import utility

MODELS: dict[str, tuple[type, type[nn.Module]]] = {"bert4beam": (Bert4beamConfig, Bert4beam)}
"""Model name -> (config class, module class)."""


@dataclass
class TrainingConfig:
    """Everything that defines a training run (stored in the checkpoint and ``OUT.json``)."""

    model: str = "bert4beam"
    model_config: dict[str, Any] = field(default_factory=dict)
    users: tuple[int, ...] = (2, 4, 6, 8)
    snr_db: tuple[float, float] = (0.0, 20.0)
    steps: int = 20_000
    batch_size: int = 256
    learning_rate: float = 1e-3
    warmup: int = 500
    seed: int = 0

    def build(self) -> nn.Module:
        if self.model not in MODELS:
            raise ValueError(f"model must be one of {sorted(MODELS)}, got {self.model!r}")
        config_cls, model_cls = MODELS[self.model]
        return model_cls(config_cls(**self.model_config))


def draw_problems(
    generator: torch.Generator, batch: int, users: int, antennas: int, snr_db: tuple[float, float]
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``H [batch, K, N]`` i.i.d. CN(0, 1) (complex64), budget ``P`` and noise ``sigma2 = 1``."""
    H = torch.randn(batch, users, antennas, dtype=torch.complex64, generator=generator)
    low, high = snr_db
    snr = low + (high - low) * torch.rand(batch, generator=generator)
    return H, 10.0 ** (snr / 10.0), torch.ones(batch)


def relative_utility(
    name: str, H: torch.Tensor, W: torch.Tensor, power: torch.Tensor, noise: torch.Tensor
) -> torch.Tensor:
    """``U(W) / U(W_rzf)`` ``[B]`` on the same channels (the reference carries no gradient)."""
    with torch.no_grad():
        regularizer = H.shape[-2] * noise / power
        reference = project_power(regularized_directions(H, regularizer), power, full_power=True)
        baseline = utility(name, rates(H, reference, noise), power_used=power)
    value = utility(name, rates(H, W, noise), power_used=beamgym.transmit_power(W))
    return value / baseline


def _learning_rate(step: int, config: TrainingConfig) -> float:
    """Linear warm-up, then cosine decay to 5 % of the peak."""
    if step < config.warmup:
        return config.learning_rate * (step + 1) / config.warmup
    progress = (step - config.warmup) / max(1, config.steps - config.warmup)
    return config.learning_rate * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress)))


def _save(path: Path, payload: dict) -> None:
    """Write atomically: a run killed while saving keeps the previous checkpoint."""
    partial = path.with_name(path.name + ".partial")
    torch.save(payload, partial)
    os.replace(partial, path)


def train(
    config: TrainingConfig,
    out: str | Path,
    *,
    resume: bool = False,
    command: str = "",
    checkpoint_every: int = 500,
    progress: bool = True,
) -> nn.Module:
    """Train ``config``'s model; returns it (on rank 0 also writes ``OUT.pt``/``OUT.json``)."""
    out = Path(out)
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    if distributed and not dist.is_initialized():
        dist.init_process_group("gloo")
    rank, world = (dist.get_rank(), dist.get_world_size()) if distributed else (0, 1)
    torch.manual_seed(config.seed)  # identical initial weights on every rank
    model = config.build()
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate)
    generator = torch.Generator().manual_seed(config.seed * 1000 + rank)
    state_path = out.with_name(out.name + ".train.pt")
    start, elapsed = 0, 0.0
    if resume and state_path.is_file():
        state = torch.load(state_path, weights_only=True)
        if state["config"] != asdict(config):
            raise ValueError(f"{state_path} was written by another configuration; use a new --out")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        generator.set_state(state["generators"][rank])
        start, elapsed = state["step"], state["elapsed_s"]
    trained = nn.parallel.DistributedDataParallel(model) if distributed else model
    utility_name = model.config.utility
    antennas = model.config.num_antennas
    share = config.batch_size // world

    def checkpoint(step: int, random_state: torch.Tensor) -> None:
        """Save the state before ``step``: ``random_state`` is the generator's then."""
        generators = [random_state]
        if distributed:
            generators = [torch.empty_like(random_state) for _ in range(world)]
            dist.all_gather(generators, random_state)
        if rank == 0:
            out.parent.mkdir(parents=True, exist_ok=True)
            _save(
                state_path,
                {
                    "config": asdict(config),
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "generators": generators,
                    "step": step,
                    "elapsed_s": elapsed + time.perf_counter() - began,
                },
            )

    bar = None
    if progress and rank == 0:
        from tqdm.auto import tqdm

        bar = tqdm(total=config.steps, initial=start, unit="step", desc=f"training {config.model}")
    began = time.perf_counter()
    step, random_state = start, generator.get_state()
    try:
        for step in range(start, config.steps):
            random_state = generator.get_state()
            pick = torch.randint(len(config.users), (1,), generator=generator)
            users = config.users[int(pick)]
            if distributed:  # one K per step for the whole (distributed) batch
                users_tensor = torch.tensor([users])
                dist.broadcast(users_tensor, 0)
                users = int(users_tensor)
            H, power, noise = draw_problems(generator, share, users, antennas, config.snr_db)
            for group in optimizer.param_groups:
                group["lr"] = _learning_rate(step, config)
            loss = -relative_utility(utility_name, H, trained(H, power, noise), power, noise).mean()
            if not torch.isfinite(loss):
                raise FloatingPointError(f"non-finite loss at step {step}; last checkpoint kept")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            if bar is not None:
                bar.update()
                bar.set_postfix(relative=f"{-loss.item():.4f}")
            if (step + 1) % checkpoint_every == 0:
                checkpoint(step + 1, generator.get_state())
        step = config.steps
    except KeyboardInterrupt:
        checkpoint(step, random_state)
        raise
    finally:
        if bar is not None:
            bar.close()
    checkpoint(step, generator.get_state())
    if rank == 0:
        wall = elapsed + time.perf_counter() - began
        torch.save(model.state_dict(), out.with_suffix(".pt"))
        card = {
            "training": asdict(config),
            "command": command,
            "wall_time_s": round(wall, 1),
            "parameters": count_parameters(model),
            "versions": {"beamgym": beamgym.__version__, "torch": torch.__version__},
        }
        out.with_suffix(".json").write_text(json.dumps(card, indent=2) + "\n")
    return model


def load(path: str | Path) -> tuple[nn.Module, dict]:
    """A trained model from ``PATH.pt`` (weights only) and ``PATH.json`` (its card)."""
    path = Path(path)
    meta = path.with_suffix(".json")
    if not meta.is_file():
        raise ValueError(f"checkpoint must have {meta.name} beside its .pt, not found: {meta}")
    card = json.loads(meta.read_text())
    config = TrainingConfig(**{**card["training"], "users": tuple(card["training"]["users"])})
    model = config.build()
    model.load_state_dict(torch.load(path.with_suffix(".pt"), weights_only=True))
    return model.eval(), card


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(
        prog="python -m agents.training", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--model", default="bert4beam", choices=sorted(MODELS))
    parser.add_argument("--utility", default="sum_rate", choices=list(beamgym.UTILITIES))
    parser.add_argument("--num-antennas", type=int, default=8)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--feedforward", type=int, default=512)
    parser.add_argument(
        "--users", type=int, nargs="+", default=(2, 4, 6, 8), help="the user counts K trained on"
    )
    parser.add_argument(
        "--snr-db", type=float, nargs=2, default=(0.0, 20.0), metavar=("MIN", "MAX")
    )
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--warmup", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--checkpoint-every", type=int, default=500)
    parser.add_argument("--resume", action="store_true", help="continue from OUT.train.pt")
    parser.add_argument("--out", required=True, help="checkpoint path without suffix")
    args = parser.parse_args(argv)
    if min(args.users) < 1:
        parser.error(f"--users must be positive integers, got {args.users}")
    config = TrainingConfig(
        model=args.model,
        model_config={
            "num_antennas": args.num_antennas,
            "utility": args.utility,
            "hidden": args.hidden,
            "heads": args.heads,
            "layers": args.layers,
            "feedforward": args.feedforward,
        },
        users=tuple(args.users),
        snr_db=tuple(args.snr_db),
        steps=args.steps,
        batch_size=args.batch_size,
        learning_rate=args.lr,
        warmup=args.warmup,
        seed=args.seed,
    )
    try:
        config.build()
    except ValueError as error:
        parser.error(str(error))
    command = "python -m agents.training " + shlex.join(argv)
    train(
        config,
        args.out,
        resume=args.resume,
        command=command,
        checkpoint_every=args.checkpoint_every,
    )


if __name__ == "__main__":
    main()
