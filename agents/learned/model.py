"""The one interface of the learned models: what the training loop and the solvers call.

A learned model is a :class:`LearnedModel`, an ``nn.Module`` with

* ``Config``: its architecture, a frozen dataclass (stored in every checkpoint);
* ``Draw``: how its training batches are drawn, a dataclass of :class:`Draw`'s fields plus
  its own (sizes, tasks, curriculum), whose fields become the training CLI's options;
* :meth:`~LearnedModel.forward`: beamformers for a :class:`~agents.problem.Problem` batch,
  masks included, plus the keyword ``extras`` its own training passes;
* :meth:`~LearnedModel.draw`: one training :class:`Batch`;
* :meth:`~LearnedModel.loss`: minus the utility relative to RZF
  (:func:`agents.learned.objective.task_loss`), unless the model says otherwise;

and the few facts a solver needs: the utilities a checkpoint serves, the largest problem it
takes and the sizes it was trained on. The training loop (:mod:`agents.learned.training`)
and the solvers (:mod:`agents.learned.solvers`) call only these and never ask which model
they hold; a new model is one file and one line of :data:`agents.learned.checkpoint.MODELS`.
"""

from __future__ import annotations

import math
import typing
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
import torch.distributed as dist
from torch import nn

from agents.learned.objective import task_loss
from agents.problem import Problem
from beamgym.channels import make_channel
from beamgym.checks import check_count, check_number
from beamgym.sampling import uniform
from beamgym.units import db_to_linear


def option(default: Any, help: str, **metadata: Any) -> Any:
    """A dataclass field that is also a command-line option: its default and help text
    (``choices=...`` restricts the values)."""
    return field(default=default, metadata={"help": help, **metadata})


def from_dict(cls: type, values: dict[str, Any]) -> Any:
    """The dataclass ``cls`` from JSON ``values``: lists become tuples for tuple fields."""
    hints = typing.get_type_hints(cls)
    converted = {
        key: tuple(value) if typing.get_origin(hints.get(key)) is tuple else value
        for key, value in values.items()
    }
    return cls(**converted)


def check_sizes(name: str, values: tuple) -> None:
    """``values`` (user or antenna counts) must be a non-empty tuple of positive integers."""
    if not values or any(not isinstance(v, int) or isinstance(v, bool) or v < 1 for v in values):
        raise ValueError(f"{name} must be positive integers, got {values}")


@dataclass(frozen=True)
class Draw:
    """The training-batch options every model shares.

    Attributes:
        users: the user counts K drawn from.
        snr_db: the SNR range, drawn uniformly in dB per sample (``sigma2 = 1``).
    """

    users: tuple[int, ...] = option((2, 4, 6, 8), "the user counts K trained on")
    snr_db: tuple[float, float] = option((0.0, 20.0), "the SNR range in dB, drawn per sample")

    def __post_init__(self) -> None:
        check_sizes("users", self.users)
        if len(self.snr_db) != 2 or self.snr_db[0] > self.snr_db[1]:
            raise ValueError(f"snr_db must be (min, max) with min <= max, got {self.snr_db}")
        for value in self.snr_db:
            check_number("snr_db", value, -math.inf, math.inf)


@dataclass(frozen=True)
class SizesDraw(Draw):
    """The training batches of a model that takes any K and N: every step draws one K of
    ``users`` and one N of ``antennas`` for the whole batch."""

    antennas: tuple[int, ...] = option((8,), "the antenna counts N trained on")

    def __post_init__(self) -> None:
        super().__post_init__()
        check_sizes("antennas", self.antennas)


@dataclass
class Sampler:
    """The random source of one training step on one process.

    Attributes:
        generator: this process's generator (each rank draws its own share of the batch).
        distributed: whether choices made for the whole batch are broadcast from rank 0.
    """

    generator: torch.Generator
    distributed: bool = False

    def shared(self, choices: int, *, always: bool = False) -> int:
        """An index in ``range(choices)``, the same on every rank (rank 0's draw). A single
        choice draws nothing unless ``always``."""
        if choices == 1 and not always:
            return 0
        generator = self.generator
        index = torch.randint(choices, (1,), generator=generator, device=generator.device)
        if self.distributed:
            dist.broadcast(index, 0)
        return int(index)


@dataclass
class Batch:
    """One training batch.

    Attributes:
        problem: the channels and task parameters (complex64, masks included).
        tasks: the utilities trained on in this batch.
        assignment: ``[B]`` index into ``tasks`` of each sample's utility (``None``: all
            samples pay ``tasks[0]``).
        extras: keyword arguments of the model's forward during training.
        status: what the progress bar shows besides the utilities.
    """

    problem: Problem
    tasks: tuple[str, ...]
    assignment: torch.Tensor | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    status: dict[str, Any] = field(default_factory=dict)


def draw_problem(
    sampler: Sampler,
    batch: int,
    users: int,
    antennas: int,
    snr_db: tuple[float, float],
    utility: str,
    channel: str = "rayleigh",
) -> Problem:
    """``batch`` problems of one size: channels of beamgym's ``channel`` model (default
    parameters; i.i.d. CN(0, 1) for ``rayleigh``), complex64, each with its SNR drawn
    uniformly in dB over ``snr_db``, ``sigma2 = 1`` and unit user weights."""
    generator = sampler.generator
    H = make_channel(channel, users, antennas).sample(generator, (batch,))
    snr = uniform(generator, (batch,), *snr_db)
    ones = torch.ones(batch, device=generator.device)
    return Problem(H, db_to_linear(snr), ones, torch.ones(batch, users, device=H.device), utility)


def draw_task(
    sampler: Sampler, options: Draw, batch: int, utility: str, antennas: int | None = None
) -> Batch:
    """A single-task batch: one K of ``options.users`` for the whole batch (drawn even if
    there is one), one N of ``options.antennas`` (a :class:`SizesDraw`) unless ``antennas``
    fixes it, and ``batch`` problems of that size paying ``utility``."""
    users = options.users[sampler.shared(len(options.users), always=True)]
    if antennas is None:
        antennas = options.antennas[sampler.shared(len(options.antennas))]
    problem = draw_problem(sampler, batch, users, antennas, options.snr_db, utility)
    return Batch(problem, (utility,))


PEER_UTILITIES = ("sum_rate", "min_rate", "energy_efficiency")
"""The utilities a single-task peer model (MLP, BNN, GNN) can be trained for: the rates with
the full-power adapter, energy efficiency with a learned fraction of the budget."""


def check_utility(utility: str, allowed: tuple[str, ...]) -> None:
    """``utility`` must be one of ``allowed`` (the utilities a model can be trained for)."""
    if utility not in allowed:
        raise ValueError(f"utility must be one of {list(allowed)}, got {utility!r}")


def padded_channel(problem: Problem, users: int, antennas: int) -> torch.Tensor:
    """``H`` zero-padded to ``[B, users, antennas]``, for a model of a fixed size: a smaller
    problem is the model's with the missing users and antennas silent (zero channels). A
    larger one is a ``ValueError`` naming both sizes."""
    _, k, n = problem.H.shape
    if k > users or n > antennas:
        raise ValueError(
            f"this model has K={users} users and N={antennas} antennas, got H with K={k}, N={n}"
        )
    return nn.functional.pad(problem.H, (0, antennas - n, 0, users - k))


class LearnedModel(nn.Module):
    """Base class of the learned models (module docstring).

    Class attributes:
        name: the registry name, also the agent's (``agents.make(name)``).
        Config: the architecture dataclass; Draw: the training-batch dataclass.
        default_checkpoint: the shipped checkpoint the agent loads by default (a name in
            :data:`agents.learned.CHECKPOINTS`, empty: none shipped).
        variants: a glob of further shipped checkpoints the default agent also loads.
        reads_masks: its forward serves padded batches exactly; otherwise the solver gives
            it each mask pattern as a dense problem.
    """

    name: ClassVar[str] = ""
    reads_masks: ClassVar[bool] = True
    Config: ClassVar[type] = type(None)
    Draw: ClassVar[type] = Draw
    default_checkpoint: ClassVar[str] = ""
    variants: ClassVar[str] = ""

    def __init__(self, config: Any) -> None:
        super().__init__()
        self.config = config

    def forward(self, problem: Problem, **extras: Any) -> torch.Tensor:
        """Feasible beamformers ``[B, N, K]`` for ``problem`` (complex64 or complex128)."""
        raise NotImplementedError

    def draw(self, options: Any, sampler: Sampler, batch: int, step: int, steps: int) -> Batch:
        """The training batch of ``step`` (of ``steps``): ``batch`` samples drawn from
        ``sampler`` as ``options`` (a ``Draw``) say."""
        raise NotImplementedError

    def loss(self, batch: Batch, W: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """The loss to minimise and each task's mean relative utility (for the progress bar)."""
        return task_loss(batch, W)

    @classmethod
    def default_draw(cls, config: Any) -> Any:
        """The training draws of a model of architecture ``config`` unless told otherwise."""
        return cls.Draw()

    def check_draw(self, options: Any, batch_size: int) -> None:
        """Raise ``ValueError`` if ``options`` cannot train this model with ``batch_size``."""
        check_count("batch_size", batch_size)

    def start_from(self, source: LearnedModel) -> None:
        """Take the weights of a trained ``source`` to fine-tune from (``--init-from``);
        raises ``ValueError`` where this model cannot."""
        raise ValueError(f"init_from: a {self.name} run cannot start from a trained model")

    def utilities(self, options: Any) -> tuple[str, ...]:
        """The utilities a model trained with ``options`` serves."""
        return (self.config.utility,)

    def limits(self) -> tuple[float, float]:
        """The largest K and N it takes (``inf``: any)."""
        return math.inf, math.inf

    def trained_sizes(self, options: Any) -> tuple[tuple[int, int], ...]:
        """Every ``(K, N)`` a run with ``options`` drew."""
        return tuple((k, n) for k in options.users for n in options.antennas)
