"""Models of one array size: the input and output layers are sized for K users and N antennas
(the MLP and the BNN), so each checkpoint is trained and served at its own ``(K, N)``.

A smaller problem is served as the model's with the missing users and antennas silent (zero
channels; :func:`~agents.learned.model.padded_channel`), as the solvers serve every model up
to its limits; the shipped variants of a model cover the sizes it is meant for, and the solver
picks the smallest that fits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agents.learned.model import (
    PEER_UTILITIES,
    Batch,
    Draw,
    LearnedModel,
    Sampler,
    check_utility,
    draw_task,
    option,
)
from beamgym.checks import check_count


@dataclass(frozen=True)
class FixedSizeConfig:
    """The fields every fixed-size architecture starts with."""

    num_users: int = option(8, "K, the users of the model's input and output layers")
    num_antennas: int = option(8, "N, the antennas of the model's input and output layers")
    utility: str = option("sum_rate", "the utility it is trained for", choices=PEER_UTILITIES)

    def __post_init__(self) -> None:
        check_count("num_users", self.num_users)
        check_count("num_antennas", self.num_antennas)
        check_utility(self.utility, PEER_UTILITIES)


class FixedSizeModel(LearnedModel):
    """A model of one ``(K, N)``: trained on problems of exactly that size."""

    config: Any

    @classmethod
    def default_draw(cls, config: FixedSizeConfig) -> Draw:
        return Draw(users=(config.num_users,))

    def check_draw(self, options: Draw, batch_size: int) -> None:
        super().check_draw(options, batch_size)
        if tuple(options.users) != (self.config.num_users,):
            raise ValueError(
                f"users: a {self.name} model of K={self.config.num_users} users trains on "
                f"K={self.config.num_users} only, got {tuple(options.users)}"
            )

    def draw(self, options: Draw, sampler: Sampler, batch: int, step: int, steps: int) -> Batch:
        return draw_task(sampler, options, batch, self.config.utility, self.config.num_antennas)

    def limits(self) -> tuple[float, float]:
        return self.config.num_users, self.config.num_antennas

    def trained_sizes(self, options: Draw) -> tuple[tuple[int, int], ...]:
        return ((self.config.num_users, self.config.num_antennas),)
