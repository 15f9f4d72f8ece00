"""Unsupervised training of the learned models: minimise minus the beamgym utility.

The loop is the same for every model (:class:`~agents.learned.model.LearnedModel`): each
step the model draws a fresh batch (its ``draw``: sizes, tasks, channels and curriculum as its
``Draw`` options say; SNRs uniform in dB, ``sigma2 = 1``), computes its beamformers and its
loss, by default ``-mean_b U(W_b) / U_ref,b`` per task: the utility relative to RZF on the same
channel (:func:`agents.learned.objective.relative_utility`, no gradient), so that every SNR,
size and task weighs alike although their utilities differ tenfold and their units differ.
AdamW with linear warm-up and cosine decay to 5 % of the peak, gradients clipped to norm 1;
a non-finite loss stops the run before it touches the weights.

Runs are resumable: ``OUT.train.pt`` (weights, optimiser, step and random state, loaded with
``weights_only=True``) is written every ``--checkpoint-every`` steps and when the run is
interrupted; ``--resume`` continues from it, bit-identically on the same device type. A run
may move between the CPU and a GPU (``--device``): the weights and optimiser follow, but the
two generators' states differ, so the moved run draws a new stream (seeded by the step) and
its card lists the devices in order. At the end the weights go to ``OUT.pt`` and the
settings, command, wall time and parameter count to ``OUT.json``.

Data-parallel: under ``torchrun --nproc-per-node P`` each process draws its own share of the
batch and gradients are averaged (``torch.distributed``, gloo on CPU, nccl on GPU).

The command line takes ``--model`` and, generated from the dataclass fields, the loop's
options (:class:`~agents.learned.checkpoint.TrainingConfig`), the model's architecture
(its ``Config``) and its training draws (its ``Draw``), each with its default and help text
(``--model NAME --help`` lists them). With ``--init-from`` the run fine-tunes a trained
checkpoint (:meth:`~agents.learned.model.LearnedModel.start_from`): its model, architecture
and draws are the defaults, and any option may change what the model allows. A checkpoint
(``--init-from``) is a path without suffix or a shipped one's name (``sallo-m-base``).

Learning curves: with ``--curve-every S`` the model is scored every ``S`` steps (and before
the first) on a fixed validation set (:data:`VALIDATION_SEED`: the run's first utility at its
largest trained size, so every model trained on one configuration meets the same channels),
and ``OUT.json`` lists ``curve``: ``[training samples, mean utility]``.

The progress bar's postfix shows, per utility trained (:data:`PROGRESS_LABELS`), the latest
batch's mean relative utility, the loss's ``U(W) / U_ref`` with the RZF reference
(:func:`~agents.learned.objective.reference_utility`; 1.000 is the reference), and SALLO-M
adds ``layers`` (the layer window trained) and ``stage`` (the curriculum stage). A finished
run prints the files it wrote. Bad input is one line ``error: ...`` and exit status 2
(``--debug`` shows the traceback; see :mod:`agents.storage`); an interrupted run keeps
``OUT.train.pt`` and exits with 130::

    python -m agents.learned.training --model bert4beam --utility sum_rate --num-antennas 8 \\
        --users 2 4 6 8 --snr-db 0 20 --steps 45000 --out agents/learned/checkpoints/bert4beam-sum_rate-N8
    python -m agents.learned.training --init-from agents/learned/checkpoints/bert4beam-sum_rate-N8 \\
        --utility min_rate --steps 9000 --learning-rate 5e-4 --out agents/learned/checkpoints/bert4beam-min_rate-N8
    python -m agents.learned.training --model ubert --rzf-features \\
        --utilities sum_rate min_rate energy_efficiency --users 2 3 4 5 6 7 8 --antennas 4 8 16 \\
        --steps 50000 --batch-size 128 --learning-rate 2e-3 --out agents/learned/checkpoints/ubert
    python -m agents.learned.training --model sallo-m --window 3 --stages 8 12 16 --replay 0.25 \\
        --channels rayleigh sparse --steps 20000 --batch-size 64 --out agents/learned/checkpoints/sallo-m-base
    python -m agents.learned.training --init-from agents/learned/checkpoints/sallo-m-base \\
        --refine-steps 30 --steps 6000 --batch-size 64 --learning-rate 3e-4 \\
        --out agents/learned/checkpoints/sallo-m
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import sys
import time
import typing
from dataclasses import asdict, fields, replace
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

import beamgym
from agents.learned.checkpoint import MODELS, TrainingConfig, load
from agents.learned.model import LearnedModel, Sampler, draw_problem, from_dict
from agents.learned.objective import achieved_utility
from agents.problem import Problem
from agents.solver import count_parameters
from agents.storage import (
    CommandLine,
    check_seed,
    check_writable,
    checkpoint_file,
    device,
    fail,
    read_torch_file,
)
from beamgym.checks import check_count
from beamgym.layout import TASKS

LOOP_OPTIONS = tuple(f.name for f in fields(TrainingConfig) if "help" in f.metadata)
"""The loop's fields that are command-line options (``steps``, ``batch_size``, ...)."""


VALIDATION_SEED, VALIDATION_SAMPLES = 10_000, 1024
"""The fixed validation set of the learning curves (``--curve-every``): ``VALIDATION_SAMPLES``
problems drawn from a generator of its own seeded ``VALIDATION_SEED`` (training draws from the
run's seed, the benchmarks from NumPy's held-out seeds)."""


def validation_problems(model: LearnedModel, options: Any) -> Problem:
    """The learning curve's problems of a run: its first utility at its largest trained size,
    the run's SNR range, on the CPU; the same for every model trained on that size."""
    utility = model.utilities(options)[0]
    users, antennas = max(model.trained_sizes(options))
    sampler = Sampler(torch.Generator().manual_seed(VALIDATION_SEED))
    return draw_problem(sampler, VALIDATION_SAMPLES, users, antennas, options.snr_db, utility)


def validation_utility(model: LearnedModel, problem: Problem) -> float:
    """The mean utility of ``model``'s beamformers on ``problem`` (a point of the curve),
    in evaluation mode and without gradients; the model's mode is restored."""
    device = next(model.parameters()).device
    moved = replace(
        problem,
        **{
            name: getattr(problem, name).to(device)
            for name in ("H", "power", "noise_power", "weights")
        },
    )
    mode = model.training
    model.eval()
    with torch.no_grad():
        W = model(moved).cpu()
    model.train(mode)
    value = achieved_utility(problem.utility, problem.H, W, problem.noise_power, problem.weights)
    return float(value.mean())


def _short(name: str) -> str:
    """``sum_rate`` -> ``sr``, ``energy_efficiency`` -> ``ee``: progress-bar labels."""
    return "".join(word[0] for word in name.split("_"))


PROGRESS_LABELS = {_short(task): task for task in TASKS}
"""The progress bar's label of each utility (``sr``: ``sum_rate``, ...)."""


def _learning_rate(step: int, config: TrainingConfig) -> float:
    """Linear warm-up, then cosine decay to 5 % of the peak."""
    if step < config.warmup:
        return config.learning_rate * (step + 1) / config.warmup
    progress = (step - config.warmup) / max(1, config.steps - config.warmup)
    return config.learning_rate * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress)))


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


class _Run:
    """One training run on one process: the distributed set-up, the model, optimiser and
    generator, and where they are saved (``OUT.train.pt``) and resumed from."""

    def __init__(self, config: TrainingConfig, out: str | Path, device: str | torch.device):
        self.config, self.out, self.device = config, out, torch.device(device)
        self.distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
        if self.distributed and self.device.type == "cuda":
            self.device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        if self.distributed and not dist.is_initialized():
            dist.init_process_group("nccl" if self.device.type == "cuda" else "gloo")
        self.rank, self.world = (
            (dist.get_rank(), dist.get_world_size()) if self.distributed else (0, 1)
        )
        torch.manual_seed(config.seed)  # identical initial weights on every rank
        self.model = config.initial_model().to(self.device)
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=config.learning_rate)
        self.generator = torch.Generator(self.device).manual_seed(config.seed * 1000 + self.rank)
        self.state_path = checkpoint_file(out, ".train.pt")
        self.start, self.elapsed, self.devices = 0, 0.0, [self.device.type]
        self.curve: list[list[float]] = []
        """The learning curve: ``[training samples, mean validation utility]`` points."""
        self.began = time.perf_counter()

    def resume(self) -> None:
        """Continue from ``OUT.train.pt`` if there is one (written by the same configuration)."""
        if not self.state_path.is_file():
            return
        state = read_torch_file(self.state_path, "resume state", self.device)
        expected = {"config", "model", "optimizer", "step", "elapsed_s", "devices", "generators"}
        if not expected <= set(state):
            raise ValueError(
                f"resume state {self.state_path} lacks {sorted(expected - set(state))}"
            )
        if TrainingConfig.from_dict(state["config"]) != self.config:
            raise ValueError(
                f"{self.state_path} was written by another configuration; use a new --out"
            )
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.start, self.elapsed, self.devices = state["step"], state["elapsed_s"], state["devices"]
        self.curve = state.get("curve", [])
        if self.devices[-1] == self.device.type:
            self.generator.set_state(state["generators"][self.rank].cpu())
        else:  # CPU and CUDA generators have different states: a new stream, fixed by the step
            self.generator.manual_seed(self.config.seed * 1000 + self.rank + 7919 * self.start)
            self.devices = [*self.devices, self.device.type]

    def wall_time(self) -> float:
        return self.elapsed + time.perf_counter() - self.began

    def save_state(self, step: int, random_state: torch.Tensor) -> None:
        """Save the state before ``step``: ``random_state`` is the generator's then (every
        rank's, gathered on rank 0; nccl gathers on the GPU)."""
        states = [random_state]
        if self.distributed:
            mine = random_state.to(self.device)
            states = [torch.empty_like(mine) for _ in range(self.world)]
            dist.all_gather(states, mine)
        if self.rank == 0:
            self.state_path.parent.mkdir(parents=True, exist_ok=True)
            payload = {
                "config": asdict(self.config),
                "model": self.model.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "generators": [state.cpu() for state in states],
                "step": step,
                "elapsed_s": self.wall_time(),
                "devices": self.devices,
                "curve": self.curve,
            }
            partial = self.state_path.with_name(self.state_path.name + ".partial")
            torch.save(payload, partial)  # then renamed: a kill while saving keeps the last
            os.replace(partial, self.state_path)

    def write(self, options: Any, command: str) -> None:
        """``OUT.pt`` (the weights) and ``OUT.json`` (the card: the model's whole
        configuration, defaults included, the command, wall time and parameter count)."""
        model = self.model.cpu()
        torch.save(model.state_dict(), checkpoint_file(self.out, ".pt"))
        card = {
            "training": asdict(self.config)
            | {"model_config": asdict(model.config), "draw": asdict(options)},
            "command": command,
            "wall_time_s": round(self.wall_time(), 1),
            "devices": self.devices,
            "parameters": count_parameters(model),
            "versions": {"beamgym": beamgym.__version__, "torch": torch.__version__},
        }
        if self.curve:
            card["curve"] = self.curve
        checkpoint_file(self.out, ".json").write_text(json.dumps(card, indent=2) + "\n")


def train(
    config: TrainingConfig,
    out: str | Path,
    *,
    resume: bool = False,
    command: str = "",
    checkpoint_every: int = 500,
    progress: bool = True,
    device: str | torch.device = "cpu",
    curve_every: int = 0,
) -> LearnedModel:
    """Train ``config``'s model on ``device``; returns it (on CPU). Rank 0 also writes
    ``OUT.pt``/``OUT.json``. Under torchrun on CUDA each rank takes GPU ``LOCAL_RANK``.

    With ``curve_every`` > 0, rank 0 scores the model on the fixed validation set
    (:func:`validation_problems`) before the first step and every ``curve_every`` steps, and
    the card's ``curve`` lists ``[training samples, mean utility]``; the validation draws from
    its own generator, so the training stream, and a resumed run, are unchanged."""
    run = _Run(config, out, device)
    model, optimizer, generator = run.model, run.optimizer, run.generator
    options, share = config.options(), config.batch_size // run.world
    model.check_draw(options, share)
    if resume:
        run.resume()
    sampler = Sampler(generator, run.distributed)
    validation = None
    if curve_every and run.rank == 0:
        validation = validation_problems(model, options)
        if not run.curve:
            run.curve.append([0, validation_utility(model, validation)])
    trained = (
        nn.parallel.DistributedDataParallel(model, find_unused_parameters=True)
        if run.distributed
        else model
    )
    bar = None
    if progress and run.rank == 0:
        from tqdm.auto import tqdm

        bar = tqdm(
            total=config.steps, initial=run.start, unit="step", desc=f"training {model.name}"
        )
    last: dict[str, Any] = {}  # the latest relative utility of each task
    step, random_state = run.start, generator.get_state()
    try:
        for step in range(run.start, config.steps):
            random_state = generator.get_state()
            for group in optimizer.param_groups:
                group["lr"] = _learning_rate(step, config)
            batch = model.draw(options, sampler, share, step, config.steps)
            loss, values = model.loss(batch, trained(batch.problem, **batch.extras))
            _update(model, optimizer, loss, step)
            if validation is not None and (step + 1) % curve_every == 0:
                samples = (step + 1) * config.batch_size
                run.curve.append([samples, validation_utility(model, validation)])
            if bar is not None:
                last.update({_short(name): f"{value:.3f}" for name, value in values.items()})
                bar.update()
                bar.set_postfix(last | batch.status)
            if (step + 1) % checkpoint_every == 0:
                run.save_state(step + 1, generator.get_state())
        step = config.steps
    except KeyboardInterrupt:
        run.save_state(step, random_state)
        raise
    finally:
        if bar is not None:
            bar.close()
    run.save_state(step, generator.get_state())
    if run.rank == 0:
        run.write(options, command)
    return model.cpu()


def _add_options(group: Any, cls: type, defaults: Any, names: tuple[str, ...] | None = None):
    """One option per field of the dataclass ``cls`` (or of ``names``): its flag, type,
    help text and, shown in the help, its default (read from ``defaults``)."""
    hints = typing.get_type_hints(cls)
    for entry in fields(cls):
        if names is not None and entry.name not in names:
            continue
        kind, default = hints[entry.name], getattr(defaults, entry.name)
        shown = " ".join(map(str, default)) if isinstance(default, tuple) else default
        keywords: dict[str, Any] = {
            "dest": entry.name,
            "default": None,
            "help": f"{entry.metadata.get('help', '')} (default: {shown})".replace("%", "%%"),
        }
        if kind is bool:
            keywords["action"] = argparse.BooleanOptionalAction
        elif typing.get_origin(kind) is tuple:
            items = typing.get_args(kind)
            keywords["type"] = items[0]
            keywords["nargs"] = "*" if items[-1] is Ellipsis else len(items)
            keywords["metavar"] = items[0].__name__.upper()
        else:
            keywords["type"] = kind
        if "choices" in entry.metadata:
            keywords["choices"] = entry.metadata["choices"]
        group.add_argument("--" + entry.name.replace("_", "-"), **keywords)


def _start(argv: list[str]) -> tuple[type[LearnedModel], Any, str]:
    """The model class, its default architecture (the fine-tuned checkpoint's with
    ``--init-from``) and that checkpoint's path, from ``--model`` and ``--init-from``."""
    first = CommandLine(prog="python -m agents.learned.training", add_help=False)
    first.add_argument("--model", choices=sorted(MODELS))
    first.add_argument("--init-from", default="")
    known, _ = first.parse_known_args(argv)
    if not known.init_from:
        cls = MODELS[known.model or "bert4beam"]
        return cls, cls.Config(), ""  # the draws' defaults follow the architecture
    try:
        source, _ = load(known.init_from)
    except ValueError as error:
        first.error(f"--init-from: {error}")
    if known.model not in (None, source.name):
        first.error(f"--init-from: {known.init_from} holds a {source.name}, not a {known.model}")
    return type(source), source.config, known.init_from


def _parser(cls: type[LearnedModel], architecture: Any) -> CommandLine:
    labels = ", ".join(f"{label} = {task}" for label, task in PROGRESS_LABELS.items())
    parser = CommandLine(
        prog="python -m agents.learned.training",
        description=__doc__.split("\n\n")[0],
        epilog=f"The progress bar shows, per utility trained ({labels}), the latest batch's "
        "mean utility relative to the RZF reference on the same channels (1.000: as good as "
        "the reference; see agents.learned.objective); sallo-m adds layers (the layer window "
        "trained) and stage (the curriculum stage).",
    )
    parser.add_argument(
        "--model",
        choices=sorted(MODELS),
        default=cls.name,
        help="the learned model to train (default: %(default)s)",
    )
    parser.add_argument(
        "--init-from",
        metavar="CHECKPOINT",
        default="",
        help="fine-tune: start from this trained checkpoint (path without suffix, or a shipped "
        "one's name); its model and architecture are the defaults",
    )
    _add_options(
        parser.add_argument_group("training loop"), TrainingConfig, TrainingConfig(), LOOP_OPTIONS
    )
    _add_options(parser.add_argument_group(f"{cls.name} architecture"), cls.Config, architecture)
    draws = cls.default_draw(architecture)
    _add_options(parser.add_argument_group(f"{cls.name} training draws"), cls.Draw, draws)
    run = parser.add_argument_group("run")
    run.add_argument(
        "--out",
        required=True,
        help="checkpoint path without suffix: the run writes OUT.pt, OUT.json and its resume "
        "state OUT.train.pt",
    )
    run.add_argument("--resume", action="store_true", help="continue from OUT.train.pt")
    run.add_argument(
        "--checkpoint-every", type=int, default=500, help="steps between saves (default: 500)"
    )
    run.add_argument(
        "--curve-every",
        type=int,
        default=0,
        help="steps between the learning curve's points on the fixed validation set "
        "(default: 0, no curve)",
    )
    run.add_argument(
        "--device", type=device, default="cpu", help="torch device, e.g. cuda (default: cpu)"
    )
    run.add_argument("--threads", type=int, default=1, help="torch CPU threads (default: 1)")
    return parser


def _check(config: TrainingConfig, args: argparse.Namespace) -> None:
    """The run's settings that the model does not check itself; ``ValueError`` naming the
    option otherwise."""
    check_count("--steps", config.steps, minimum=0)
    check_count("--batch-size", config.batch_size)
    if not (math.isfinite(config.learning_rate) and config.learning_rate > 0):
        raise ValueError(f"--learning-rate must be a finite number > 0, got {config.learning_rate}")
    check_count("--warmup", config.warmup, minimum=0)
    check_seed("--seed", config.seed)
    check_count("--checkpoint-every", args.checkpoint_every)
    check_count("--curve-every", args.curve_every, minimum=0)
    check_count("--threads", args.threads)
    check_writable("--out", args.out, file=True)


def _chosen(
    args: argparse.Namespace, cls: type, defaults: Any, names: tuple[str, ...] | None = None
) -> dict[str, Any]:
    """Every field of ``cls`` (or of ``names``): the command line's value where given, else
    the default."""
    values = {}
    for entry in fields(cls):
        if names is None or entry.name in names:
            given = getattr(args, entry.name)
            value = getattr(defaults, entry.name) if given is None else given
            values[entry.name] = tuple(value) if isinstance(value, list) else value
    return values


def config_from_argv(argv: list[str]) -> tuple[TrainingConfig, argparse.Namespace]:
    """The run's configuration and the parsed command line; a bad option exits with status 2
    and a line naming it."""
    cls, architecture, init_from = _start(argv)
    args = _parser(cls, architecture).parse_args(argv)
    model_config = _chosen(args, cls.Config, architecture)
    try:
        draws = cls.default_draw(from_dict(cls.Config, model_config))
        config = TrainingConfig(
            model=cls.name,
            model_config=model_config,
            draw=_chosen(args, cls.Draw, draws),
            init_from=init_from,
            **_chosen(args, TrainingConfig, TrainingConfig(), LOOP_OPTIONS),
        )
        _check(config, args)
        config.initial_model()
    except ValueError as error:
        raise SystemExit(fail(error, args.debug)) from None
    return config, args


def main(argv: list[str] | None = None) -> None:
    """Run the command line (module docstring); exits with status 2 on bad input, 1 if the
    loss became non-finite, 130 if interrupted."""
    argv = sys.argv[1:] if argv is None else argv
    config, args = config_from_argv(argv)
    torch.set_num_threads(args.threads)
    command = "python -m agents.learned.training " + shlex.join(argv)
    files = [checkpoint_file(args.out, suffix) for suffix in (".pt", ".json", ".train.pt")]
    try:
        train(
            config,
            args.out,
            resume=args.resume,
            command=command,
            checkpoint_every=args.checkpoint_every,
            device=args.device,
            curve_every=args.curve_every,
        )
        if not dist.is_initialized() or dist.get_rank() == 0:
            print(f"wrote {files[0]} and {files[1]}; the resume state is {files[2]}")
    except KeyboardInterrupt:
        print(f"interrupted: the state is in {files[2]}; add --resume to continue", file=sys.stderr)
        raise SystemExit(130) from None
    except FloatingPointError as error:  # a non-finite loss: the run's outcome, not bad input
        raise SystemExit(fail(error, args.debug, status=1)) from None
    except Exception as error:
        raise SystemExit(fail(error, args.debug)) from None
    finally:
        if dist.is_initialized():  # every rank leaves together: no teardown while one writes
            dist.barrier()
            dist.destroy_process_group()


if __name__ == "__main__":
    main()
