"""SALLO-M's training schedule: a sliding window over the layers, a curriculum over problem
sizes with random masking, and replay of earlier stages: the training procedure of SALLO-M
(Zhang, Liu, Wang, arXiv 2510.13077).

A run of ``S`` steps on a model of ``L`` layers with window ``w`` has ``L - w + 1`` *phases*
of equal length; phase ``p`` runs layers ``0..p+w-1`` and trains layers ``p..p+w-1``, with
the loss on the last of them (the author's scheme: deeper layers do not run, earlier ones are
frozen). ``w = 0`` trains every layer in one phase.

Within every phase, a curriculum grows the problems: the size pairs ``(K, N)`` (every
``K`` of ``users`` and ``N`` of ``antennas`` with ``K <= max_load N``) are split into
*stages* by ``max(K, N) <= stages[s]``, which follow each other in equal parts of the
phase, so each newly trained window first meets small problems. A fraction ``replay`` of
every batch is drawn from the earlier stages' pairs (against forgetting them), the rest
from the stage's own new pairs. Decisions (the paper's text was not available): the
curriculum restarts in every phase, and the last stage's own pairs are its new ones only,
so replay keeps the small sizes in every batch until the end.

Every sample has its own ``(K, N)`` in a batch padded to ``M x M`` (the model's ``size``): its users and
antennas sit at random positions (the paper's random masking), the channel of its array is
scattered there in order, and the masks say which entries are active.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from agents.problem import Problem
from beamgym.channels import make_channel
from beamgym.sampling import uniform
from beamgym.units import db_to_linear


def size_pairs(
    users: tuple[int, ...], antennas: tuple[int, ...], max_load: float
) -> tuple[tuple[int, int], ...]:
    """Every ``(K, N)`` with ``K`` in ``users``, ``N`` in ``antennas`` and ``K <= max_load N``."""
    pairs = tuple((k, n) for n in antennas for k in users if k <= max_load * n)
    if not pairs:
        raise ValueError(
            f"no (K, N) pair with K <= max_load N: users {users}, antennas {antennas}, "
            f"max_load {max_load}"
        )
    return pairs


@dataclass(frozen=True)
class Schedule:
    """Which layers train and which sizes are drawn at each step (module docstring)."""

    steps: int
    layers: int
    window: int
    pairs: tuple[tuple[int, int], ...]
    stages: tuple[int, ...] = ()
    replay: float = 0.0

    def __post_init__(self) -> None:
        if not 0 <= self.window <= self.layers:
            raise ValueError(f"window must be in [0, {self.layers}] (layers), got {self.window}")
        if not 0.0 <= self.replay < 1.0:
            raise ValueError(f"replay must be in [0, 1), got {self.replay}")
        if list(self.stages) != sorted(set(self.stages)):
            raise ValueError(f"stages must be increasing sizes, got {self.stages}")
        largest = max(max(pair) for pair in self.pairs)
        if self.stages and self.stages[-1] < largest:
            raise ValueError(
                f"stages must end at the largest size {largest} (max of K and N), got {self.stages}"
            )
        if any(not self.stage_pairs(s) for s in range(len(self.stages))):
            raise ValueError(f"every stage of {self.stages} must add a (K, N) pair")

    @property
    def phases(self) -> int:
        return 1 if self.window == 0 else self.layers - self.window + 1

    def _phase_progress(self, step: int) -> tuple[int, float]:
        """The phase of ``step`` and how far into it ``step`` is, in ``[0, 1)``."""
        position = step * self.phases / self.steps
        phase = min(int(position), self.phases - 1)
        return phase, position - phase

    def window_at(self, step: int) -> tuple[int, int]:
        """``(first, end)``: layers ``0..end-1`` run, ``first..end-1`` train."""
        if self.window == 0:
            return 0, self.layers
        phase, _ = self._phase_progress(step)
        return phase, phase + self.window

    def stage_at(self, step: int) -> int:
        """The curriculum stage of ``step`` (0 without a curriculum)."""
        if not self.stages:
            return 0
        _, progress = self._phase_progress(step)
        return min(int(progress * len(self.stages)), len(self.stages) - 1)

    def stage_pairs(self, stage: int) -> tuple[tuple[int, int], ...]:
        """The pairs new in ``stage`` (every pair without a curriculum)."""
        if not self.stages:
            return self.pairs
        low = self.stages[stage - 1] if stage else 0
        return tuple(p for p in self.pairs if low < max(p) <= self.stages[stage])

    def draw_sizes(
        self, generator: torch.Generator, batch: int, step: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``K [batch]``, ``N [batch]`` for ``step``: the stage's new pairs and, for a share
        ``replay`` of the batch, the earlier stages' pairs."""
        device = generator.device
        stage = self.stage_at(step)
        current = torch.tensor(self.stage_pairs(stage), device=device)
        choice = current[torch.randint(len(current), (batch,), generator=generator, device=device)]
        if stage and self.replay:
            earlier = torch.tensor(
                [p for s in range(stage) for p in self.stage_pairs(s)], device=device
            )
            replayed = earlier[
                torch.randint(len(earlier), (batch,), generator=generator, device=device)
            ]
            take = torch.rand(batch, generator=generator, device=device) < self.replay
            choice = torch.where(take[:, None], replayed, choice)
        return choice[:, 0], choice[:, 1]


def random_positions(generator: torch.Generator, counts: torch.Tensor, size: int) -> torch.Tensor:
    """Bool ``[B, size]`` with ``counts[b]`` True entries at uniformly random positions."""
    keys = torch.rand(len(counts), size, generator=generator, device=generator.device)
    ranks = keys.argsort(-1).argsort(-1)
    return ranks < counts[:, None]


def scatter_leading(values: torch.Tensor, mask: torch.Tensor, dim: int) -> torch.Tensor:
    """Move the leading entries of ``values`` along ``dim`` to the True positions of ``mask``
    ``[B, size]`` in order; zeros elsewhere."""
    source = (mask.cumsum(-1) - 1).clamp_min(0)
    shape = [1, 1, 1]
    shape[0], shape[dim] = mask.shape
    index = source.view(shape).expand_as(values)
    moved = torch.gather(values, dim, index)
    return moved * mask.view(shape)


def draw_padded_problems(
    generator: torch.Generator,
    users: torch.Tensor,
    antennas: torch.Tensor,
    size: int,
    snr_db: tuple[float, float],
    utility: str = "sum_rate",
    channels: tuple[str, ...] = ("rayleigh",),
) -> Problem:
    """A padded batch of ``utility``: ``H [B, M, M]`` (complex64, ``M = size``), ``P [B]``,
    ``sigma2 [B]`` (ones), unit weights, ``user_mask [B, M]``, ``antenna_mask [B, M]`` (bool).

    Sample ``b`` is a ``users[b] x antennas[b]`` channel of a model drawn uniformly from
    ``channels`` (names of :data:`beamgym.channels.CHANNELS`, default parameters), its SNR
    uniform in dB over ``snr_db``; its users and antennas sit at random positions. Every
    model here is prefix-consistent (``beamgym.channels``), so a sample is the leading block
    of an ``M x M`` draw.
    """
    batch, device = len(users), generator.device
    kind = torch.randint(len(channels), (batch,), generator=generator, device=device)
    H = torch.zeros(batch, size, size, dtype=torch.complex64, device=device)
    for index, name in enumerate(channels):
        draw = make_channel(name, size, size).sample(generator, (batch,))
        H = torch.where((kind == index)[:, None, None], draw, H)
    user_mask = random_positions(generator, users, size)
    antenna_mask = random_positions(generator, antennas, size)
    leading = torch.arange(size, device=device)
    H = H * (leading < users[:, None])[:, :, None] * (leading < antennas[:, None])[:, None, :]
    H = scatter_leading(scatter_leading(H, user_mask, 1), antenna_mask, 2)
    snr = uniform(generator, (batch,), *snr_db)
    ones = torch.ones(batch, device=device)
    weights = torch.ones(batch, size, device=device)
    return Problem(
        H, db_to_linear(snr), ones, weights, utility, user_mask=user_mask, antenna_mask=antenna_mask
    )
