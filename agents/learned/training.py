"""Unsupervised training of the learned solvers: minimise minus the beamgym utility.

Every step draws a fresh batch of i.i.d. CN(0, 1) channels (``sigma2 = 1``): one K drawn
uniformly from the training user counts for the whole batch (and, for UBERT, one N from the
training antenna counts), and each sample's SNR uniformly (in dB) from the SNR range. The
loss is ``-mean_b U(W_b) / U_ref,b``: the utility of the model's beamformers relative to a
cheap reference on the same channel (:func:`reference_utility`, RZF-based, no gradient), so
that every SNR and K weighs alike although their utilities differ tenfold.

Multi-task models (UBERT, :mod:`agents.learned.ubert`) train on several utilities at once
(``--utilities``). Each task's loss is normalised by its own reference, as above, so the
tasks' losses are all near -1 however different their units (bit/s/Hz, bit/s/Hz per unit
power, log-rates), and the loss is the equal-weight mean of the per-task losses. Task
sampling (``--task-sampling``):

* ``uniform`` (default; the paper's "uniform sampling"): every step splits its batch into
  equal shares, one per task (stratified), so every update sees every task;
* ``random`` (the ablation): every step draws one task uniformly at random for its whole
  batch.

The user weights of ``weighted_sum_rate`` are drawn i.i.d. uniform in (0, 1] per user.

SALLO-M (:mod:`agents.learned.sallo`) draws differently: every sample has its own (K, N) from the
run's sliding-window and curriculum schedule (:mod:`agents.learned.curriculum`), padded to the
model's size with users and antennas at random positions, from the ``--channels`` models;
the loss is its utility relative to RZF on the active block, at the window's last layer.

Runs are resumable: ``OUT.train.pt`` (weights, optimiser, schedule, step and random state,
loaded with ``weights_only=True``) is written every ``--checkpoint-every`` steps and when the
run is interrupted; ``--resume`` continues from it, bit-identically on the same device type.
A run may move between the CPU and a GPU (``--device``): the weights and optimiser follow,
but the two generators' states differ, so the moved run draws a new stream (seeded by the
step) and its card lists the devices in order. At the end the weights go to ``OUT.pt`` and
the settings, command, wall time and evaluation to ``OUT.json``.

Data-parallel: under ``torchrun --nproc-per-node P`` each process draws its own share of the
batch and gradients are averaged (``torch.distributed``, gloo on CPU, nccl on GPU).

    python -m agents.learned.training --model bert4beam --utility sum_rate --num-antennas 8 \\
        --users 2 4 6 8 --snr-db 0 20 --steps 45000 --out agents/learned/checkpoints/bert4beam-sum_rate-N8
    python -m agents.learned.training --init-from agents/learned/checkpoints/bert4beam-sum_rate-N8 \\
        --utility min_rate --steps 9000 --lr 5e-4 --out agents/learned/checkpoints/bert4beam-min_rate-N8
    python -m agents.learned.training --model ubert --rzf-features \\
        --utilities sum_rate min_rate energy_efficiency --users 2 3 4 5 6 7 8 --antennas 4 8 16 \\
        --steps 50000 --batch-size 128 --lr 2e-3 --out agents/learned/checkpoints/ubert
    python -m agents.learned.training --model sallo-m --window 3 --stages 8 12 16 --replay 0.25 \\
        --channels rayleigh sparse --steps 20000 --batch-size 64 --out agents/learned/checkpoints/sallo-m-base
    python -m agents.learned.training --model sallo-m --init-from agents/learned/checkpoints/sallo-m-base \\
        --refine-steps 30 --channels rayleigh sparse --steps 6000 --batch-size 64 --lr 3e-4 \\
        --out agents/learned/checkpoints/sallo-m

Fine-tuning (``--init-from``): the run starts from a trained BERT4beam passed through
:func:`agents.learned.bert4beam.adapt` for its N and utility (the paper's adaptation), or from a
trained SALLO-M given a refinement (``--refine-steps``) or another ``--utility``
(:func:`agents.learned.sallo.with_refinement`), keeping the checkpoint's architecture; all
parameters train.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import sys
import time
from dataclasses import asdict
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn

import beamgym
from agents.learned.checkpoint import MODELS, TASK_SAMPLING, TrainingConfig, load
from agents.learned.curriculum import Schedule, draw_padded_problems
from agents.learned.objective import relative_utility
from agents.learned.sallo import STREAMS
from agents.learned.ubert import DEFAULT_TASKS
from agents.solver import count_parameters
from beamgym.layout import TASKS
from beamgym.units import db_to_linear

DEFAULT_ANTENNAS = (4, 8, 16)
"""The antenna counts a UBERT run trains on unless told otherwise (the CLI's default)."""


def draw_problems(
    generator: torch.Generator, batch: int, users: int, antennas: int, snr_db: tuple[float, float]
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``H [batch, K, N]`` i.i.d. CN(0, 1) (complex64), budget ``P`` and noise ``sigma2 = 1``,
    on the generator's device."""
    device = generator.device
    H = torch.randn(
        batch, users, antennas, dtype=torch.complex64, generator=generator, device=device
    )
    low, high = snr_db
    snr = low + (high - low) * torch.rand(batch, generator=generator, device=device)
    return H, db_to_linear(snr), torch.ones(batch, device=device)


def _draw(
    choices: int, generator: torch.Generator, distributed: bool, *, always: bool = False
) -> int:
    """An index in ``range(choices)``, the same on every rank (rank 0's draw). A single
    choice draws nothing unless ``always`` (the user count always did: old runs resume)."""
    if choices == 1 and not always:
        return 0
    index = torch.randint(choices, (1,), generator=generator, device=generator.device)
    if distributed:
        dist.broadcast(index, 0)
    return int(index)


def _short(name: str) -> str:
    """``sum_rate`` -> ``sr``, ``energy_efficiency`` -> ``ee``: progress-bar labels."""
    return "".join(word[0] for word in name.split("_"))


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


def _update(
    model: nn.Module, optimizer: torch.optim.Optimizer, loss: torch.Tensor, step: int
) -> None:
    """One optimiser step on ``loss`` (gradients clipped to norm 1); a non-finite loss stops
    the run before it touches the weights."""
    if not torch.isfinite(loss):
        raise FloatingPointError(f"non-finite loss at step {step}; last checkpoint kept")
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()


def _unwrapped(trained: nn.Module) -> nn.Module:
    """The model inside a ``DistributedDataParallel`` wrapper (or the model itself)."""
    return trained.module if isinstance(trained, nn.parallel.DistributedDataParallel) else trained


def _task_loss(
    trained: nn.Module,
    config: TrainingConfig,
    generator: torch.Generator,
    distributed: bool,
    batch: int,
    tasks: tuple[str, ...],
    antenna_counts: tuple[int, ...],
) -> tuple[torch.Tensor, dict[str, float]]:
    """BERT4beam's and UBERT's loss at one step, and each task's mean relative utility: one
    K (and N) for the whole (distributed) batch, its samples shared among the tasks
    (``task_sampling``), every task present weighing alike."""
    model = _unwrapped(trained)
    device = generator.device
    users = config.users[_draw(len(config.users), generator, distributed, always=True)]
    antennas = antenna_counts[_draw(len(antenna_counts), generator, distributed)]
    H, power, noise = draw_problems(generator, batch, users, antennas, config.snr_db)
    if config.task_sampling == "uniform":
        assignment = torch.arange(batch, device=device) % len(tasks)
    else:
        task = _draw(len(tasks), generator, distributed)
        assignment = torch.full((batch,), task, device=device)
    weights = None
    if "weighted_sum_rate" in tasks:
        weights = 1.0 - torch.rand(batch, users, generator=generator, device=device)
        weighted = assignment == tasks.index("weighted_sum_rate")
        weights = torch.where(weighted[:, None], weights, torch.ones_like(weights))
    if getattr(model, "multitask", False):
        task_index = torch.tensor([TASKS.index(name) for name in tasks], device=device)
        W = trained(H, power, noise, task_index[assignment], weights=weights)
    else:
        W = trained(H, power, noise)
    losses, values = [], {}
    for t, name in enumerate(tasks):
        chosen = torch.nonzero(assignment == t)[:, 0]
        if len(chosen) == len(assignment):
            chosen = slice(None)
        elif len(chosen) == 0:
            continue
        part = None if weights is None else weights[chosen]
        value = relative_utility(
            name, H[chosen], W[chosen], power[chosen], noise[chosen], part
        ).mean()
        losses.append(value)
        values[name] = value.item()
    return -torch.stack(losses).mean(), values


def _padded_loss(
    trained: nn.Module,
    schedule: Schedule,
    config: TrainingConfig,
    generator: torch.Generator,
    batch: int,
    step: int,
) -> torch.Tensor:
    """SALLO-M's loss at ``step``: minus the relative utility of the window's last layer on a
    padded batch of the step's curriculum sizes (:mod:`agents.learned.curriculum`)."""
    model = _unwrapped(trained)
    users, antennas = schedule.draw_sizes(generator, batch, step)
    H, power, noise, user_mask, antenna_mask = draw_padded_problems(
        generator,
        users,
        antennas,
        model.config.size,
        config.snr_db,
        config.channels,
    )
    W = trained(H, power, noise, user_mask, antenna_mask, window=schedule.window_at(step))
    name = model.config.utility
    return -relative_utility(name, H, W, power, noise, user_mask=user_mask).mean()


def train(
    config: TrainingConfig,
    out: str | Path,
    *,
    resume: bool = False,
    command: str = "",
    checkpoint_every: int = 500,
    progress: bool = True,
    device: str | torch.device = "cpu",
) -> nn.Module:
    """Train ``config``'s model on ``device``; returns it (on CPU). Rank 0 also writes
    ``OUT.pt``/``OUT.json``. Under torchrun on CUDA each rank takes GPU ``LOCAL_RANK``."""
    out = Path(out)
    device = torch.device(device)
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    if distributed and device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    if distributed and not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    rank, world = (dist.get_rank(), dist.get_world_size()) if distributed else (0, 1)
    torch.manual_seed(config.seed)  # identical initial weights on every rank
    model = config.initial_model().to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate)
    generator = torch.Generator(device).manual_seed(config.seed * 1000 + rank)
    state_path = out.with_name(out.name + ".train.pt")
    start, elapsed, devices = 0, 0.0, [device.type]
    if resume and state_path.is_file():
        state = torch.load(state_path, weights_only=True, map_location=device)
        if TrainingConfig.from_dict(state["config"]) != config:
            raise ValueError(f"{state_path} was written by another configuration; use a new --out")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        start, elapsed = state["step"], state["elapsed_s"]
        devices = state.get("devices", ["cpu"])
        if devices[-1] == device.type:
            generator.set_state(state["generators"][rank].cpu())
        else:  # CPU and CUDA generators have different states: a new stream, fixed by the step
            generator.manual_seed(config.seed * 1000 + rank + 7919 * start)
            devices = [*devices, device.type]
    padded = getattr(model, "padded", False)
    schedule = config.schedule(model) if padded else None
    trained = (
        nn.parallel.DistributedDataParallel(model, find_unused_parameters=padded)
        if distributed
        else model
    )
    multitask = getattr(model, "multitask", False)
    tasks = config.tasks(model)
    antenna_counts = config.antenna_counts(model)
    share = config.batch_size // world
    if multitask and config.task_sampling == "uniform" and share < len(tasks):
        raise ValueError(f"batch_size {config.batch_size} leaves some of {tasks} no sample")
    last = dict.fromkeys(tasks, float("nan"))  # the latest relative utility of each task

    def checkpoint(step: int, random_state: torch.Tensor) -> None:
        """Save the state before ``step``: ``random_state`` is the generator's then."""
        generators = [random_state]
        if distributed:  # nccl gathers on the GPU
            mine = random_state.to(device)
            generators = [torch.empty_like(mine) for _ in range(world)]
            dist.all_gather(generators, mine)
            generators = [state.cpu() for state in generators]
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
                    "devices": devices,
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
            for group in optimizer.param_groups:
                group["lr"] = _learning_rate(step, config)
            status = {}
            if padded:
                loss = _padded_loss(trained, schedule, config, generator, share, step)
                last[tasks[0]] = -loss.item()
                first, end = schedule.window_at(step)
                status = {"layers": f"{first}-{end - 1}", "stage": schedule.stage_at(step)}
            else:
                loss, values = _task_loss(
                    trained, config, generator, distributed, share, tasks, antenna_counts
                )
                last.update(values)
            _update(model, optimizer, loss, step)
            if bar is not None:
                bar.update()
                postfix = {_short(name): f"{value:.3f}" for name, value in last.items()}
                bar.set_postfix(postfix | status)
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
        model.cpu()
        torch.save(model.state_dict(), out.with_suffix(".pt"))
        card = {  # the model's whole configuration, defaults included
            "training": asdict(config) | {"model_config": model.config.to_dict()},
            "command": command,
            "wall_time_s": round(wall, 1),
            "devices": devices,
            "parameters": count_parameters(model),
            "versions": {"beamgym": beamgym.__version__, "torch": torch.__version__},
        }
        out.with_suffix(".json").write_text(json.dumps(card, indent=2) + "\n")
    return model.cpu()


FLAGS: dict[str, tuple[str, tuple[str, ...]]] = {
    "utility": ("--utility", ("bert4beam", "sallo-m")),
    "num_antennas": ("--num-antennas", ("bert4beam",)),
    "init_from": ("--init-from", ("bert4beam", "sallo-m")),
    "utilities": ("--utilities", ("ubert",)),
    "antennas": ("--antennas", ("ubert", "sallo-m")),
    "rzf_features": ("--rzf-features", ("ubert",)),
    "power_head": ("--no-power-head", ("ubert",)),
    "size": ("--size", ("sallo-m",)),
    "embed": ("--embed", ("sallo-m",)),
    "model_dim": ("--model-dim", ("sallo-m",)),
    "gradient_steps": ("--gradient-steps", ("sallo-m",)),
    "step_size": ("--step-size", ("sallo-m",)),
    "lifted": ("--no-lifted", ("sallo-m",)),
    "streams": ("--streams", ("sallo-m",)),
    "second_order": ("--first-order", ("sallo-m",)),
    "refine_steps": ("--refine-steps", ("sallo-m",)),
    "momentum": ("--momentum", ("sallo-m",)),
    "refine_step_size": ("--refine-step-size", ("sallo-m",)),
    "window": ("--window", ("sallo-m",)),
    "stages": ("--stages", ("sallo-m",)),
    "replay": ("--replay", ("sallo-m",)),
    "max_load": ("--max-load", ("sallo-m",)),
    "channels": ("--channels", ("sallo-m",)),
    "hidden": ("--hidden", ("bert4beam", "ubert")),
    "feedforward": ("--feedforward", ("bert4beam", "ubert")),
}
"""Model-specific options: destination -> (flag, the models it applies to)."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m agents.learned.training", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--model", default="bert4beam", choices=sorted(MODELS))
    single = parser.add_argument_group("bert4beam (one utility, one N)")
    single.add_argument("--utility", choices=list(beamgym.UTILITIES), help="default sum_rate")
    single.add_argument("--num-antennas", type=int, help="N; default 8")
    single.add_argument(
        "--init-from",
        metavar="CHECKPOINT",
        help="fine-tune: start from this trained bert4beam (path without suffix), adapted to "
        "--num-antennas and --utility, or sallo-m, given --refine-steps or --utility; its architecture "
        "is kept",
    )
    multi = parser.add_argument_group("ubert (multi-task)")
    multi.add_argument(
        "--utilities",
        nargs="+",
        choices=list(beamgym.UTILITIES),
        help=f"the tasks; default {' '.join(DEFAULT_TASKS)}",
    )
    multi.add_argument(
        "--antennas",
        type=int,
        nargs="+",
        help="the antenna counts N trained on; default "
        f"{' '.join(map(str, DEFAULT_ANTENNAS))} (ubert), 2 to 16 (sallo-m)",
    )
    multi.add_argument("--task-sampling", choices=TASK_SAMPLING, default="uniform")
    multi.add_argument(
        "--rzf-features",
        action="store_true",
        default=None,
        help="tokens also carry the RZF beamformer's entries (agents.learned.ubert)",
    )
    multi.add_argument(
        "--no-power-head",
        dest="power_head",
        action="store_false",
        default=None,
        help="energy efficiency's power from the raw output's norm (paper-style adapter)",
    )
    sallo = parser.add_argument_group("sallo-m (padded; any K, N up to its maximum)")
    for name in ("size", "embed", "model-dim", "gradient-steps", "refine-steps"):
        sallo.add_argument(f"--{name}", type=int, help="default: the model's own")
    sallo.add_argument("--step-size", type=float, help="initial eta; default: the model's own")
    sallo.add_argument("--refine-step-size", type=float, help="the refinement's initial eta")
    sallo.add_argument("--momentum", type=float, help="the refinement's heavy-ball beta")
    sallo.add_argument("--no-lifted", dest="lifted", action="store_false", default=None)
    sallo.add_argument("--streams", choices=STREAMS)
    sallo.add_argument("--first-order", dest="second_order", action="store_false", default=None)
    sallo.add_argument("--window", type=int, help="sliding window over layers; default 0 (all)")
    sallo.add_argument("--stages", type=int, nargs="+", help="curriculum stage sizes max(K, N)")
    sallo.add_argument("--replay", type=float, help="share of a batch from earlier stages")
    sallo.add_argument("--max-load", type=float, help="largest K / N drawn; default 1.5")
    sallo.add_argument("--channels", nargs="+", help="channel models drawn; default rayleigh")
    for name in ("hidden", "heads", "layers", "feedforward"):
        parser.add_argument(f"--{name}", type=int, help="default: the model's own")
    parser.add_argument(
        "--users", type=int, nargs="+", help="the user counts K trained on; default 2 4 6 8"
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
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cuda; default cpu")
    parser.add_argument("--out", required=True, help="checkpoint path without suffix")
    return parser


def _config(args: argparse.Namespace, parser: argparse.ArgumentParser) -> TrainingConfig:
    """The run's configuration from the command line; ``parser.error`` on a bad option."""
    for key, (flag, models) in FLAGS.items():
        if getattr(args, key) is not None and args.model not in models:
            parser.error(
                f"{flag} does not apply to --model {args.model} (only {', '.join(models)})"
            )
    if args.users is not None and min(args.users) < 1:
        parser.error(f"--users must be positive integers, got {args.users}")
    config_cls, model_cls = MODELS[args.model]
    defaults = config_cls().to_dict()  # every key stored: the card states the whole model
    if args.init_from:
        try:
            source = load(args.init_from)[0]
        except (OSError, ValueError) as error:
            parser.error(f"--init-from: {error}")
        if not isinstance(source, model_cls):
            parser.error(f"--init-from: {args.init_from} is not a {args.model} checkpoint")
        defaults = source.config.to_dict()
    model_config = {
        key: default if getattr(args, key, None) is None else getattr(args, key)
        for key, default in defaults.items()
    }
    padded = getattr(model_cls, "padded", False)
    utilities, antennas = (), ()
    if getattr(model_cls, "multitask", False):
        utilities = tuple(args.utilities or DEFAULT_TASKS)
        antennas = tuple(args.antennas or DEFAULT_ANTENNAS)
    elif padded:
        antennas = tuple(args.antennas or range(2, model_config["size"] + 1))
    default_users = range(2, model_config["size"] + 1) if padded else (2, 4, 6, 8)
    sallo = {
        key: getattr(args, key)
        for key in ("window", "stages", "replay", "max_load", "channels")
        if getattr(args, key) is not None
    }
    return TrainingConfig(
        model=args.model,
        model_config=model_config,
        utilities=utilities,
        antennas=antennas,
        task_sampling=args.task_sampling,
        users=tuple(args.users or default_users),
        snr_db=tuple(args.snr_db),
        steps=args.steps,
        batch_size=args.batch_size,
        learning_rate=args.lr,
        warmup=args.warmup,
        seed=args.seed,
        init_from=args.init_from or "",
        **{key: tuple(v) if isinstance(v, list) else v for key, v in sallo.items()},
    )


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    parser = _parser()
    args = parser.parse_args(argv)
    config = _config(args, parser)
    try:
        config.build()
        device = torch.device(args.device)
    except (ValueError, RuntimeError) as error:
        parser.error(str(error))
    if device.type == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: torch sees no CUDA device here")
    command = "python -m agents.learned.training " + shlex.join(argv)
    try:
        train(
            config,
            args.out,
            resume=args.resume,
            command=command,
            checkpoint_every=args.checkpoint_every,
            device=device,
        )
    finally:
        if dist.is_initialized():  # every rank leaves together: no teardown while one writes
            dist.barrier()
            dist.destroy_process_group()


if __name__ == "__main__":
    main()
