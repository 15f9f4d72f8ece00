"""Trained models as solvers: ``agents.make("bert4beam").solve(H, power=P)``,
``agents.make("ubert").solve(H, power=P, utility="min_rate")``.

A :class:`LearnedSolver` loads a checkpoint written by :mod:`agents.training` (``PATH.pt``
holds only weights, read with ``weights_only=True``; ``PATH.json`` the configuration and
model card) and runs the model in float32 on ``H``'s device.

BERT4beam serves any K (it is permutation-equivariant over users) and N up to the model's
``num_antennas``: a smaller array is served as the model's array with the missing antennas
last and silent (zero channel, zero beamformer rows), as a padded observation would be;
a larger one is not applicable. Padded batches are grouped by mask pattern like every
solver's, so a padded sample gets exactly the beamformer of its active sub-problem.

UBERT serves every utility it was trained on (its card's ``training.utilities``) and any K
and N: no parameter depends on either (element tokens, axial attention, no index table), so
declining a size would be a policy, not a limit; how well it does outside its training
ranges is measured by the evaluation (which marks unseen sizes), not assumed. It reads
padded batches itself (``handles_masks``): the masks go to the attention, which gives the
dense sub-problem's beamformer up to float rounding.
"""

from __future__ import annotations

from pathlib import Path

import torch

from agents.problem import Problem
from agents.registry import register
from agents.solver import NotApplicable, Solver
from agents.training import load
from beamgym.downlink import project_power
from beamgym.utilities import UTILITIES

CHECKPOINTS = Path(__file__).parent / "checkpoints"
"""The shipped checkpoints of the learned models."""


class LearnedSolver(Solver):
    """A trained model; subclasses name the default checkpoint.

    Args:
        checkpoint: path of a checkpoint without suffix (default: the shipped one).
        dtype: precision of the network, ``"float32"`` (default).
    """

    config_keys = ("checkpoint",)
    default_checkpoint = ""

    def __init__(self, checkpoint: str | None = None, dtype: str = "float32") -> None:
        super().__init__(dtype)
        self.checkpoint = checkpoint or str(CHECKPOINTS / self.default_checkpoint)
        self.model, self.card = load(self.checkpoint)

    @property
    def utilities(self) -> tuple[str, ...]:  # type: ignore[override]
        return (self.model.config.utility,)

    def parameters(self):
        return self.model.parameters()

    def _solve(self, problem: Problem) -> torch.Tensor:
        antennas = self.model.config.num_antennas
        if problem.num_antennas > antennas:
            raise NotApplicable(
                f"this {self.name} model serves N <= {antennas} antennas, got N={problem.num_antennas}"
            )
        missing = antennas - problem.num_antennas
        H = torch.nn.functional.pad(problem.H, (0, missing))
        dtype = torch.float64 if self.dtype == "float64" else torch.float32
        model = self.model.to(device=H.device, dtype=dtype)
        with torch.no_grad():
            W = model(H, problem.power, problem.noise_power)
        W = W[:, : problem.num_antennas]  # silent antennas' rows dropped: re-apply the budget
        return project_power(W, problem.power, full_power=UTILITIES[problem.utility].full_power)


def shipped() -> dict[str, bool]:
    """Each learned agent's name and whether its default checkpoint is in the repository."""
    return {
        cls.name: (CHECKPOINTS / cls.default_checkpoint).with_suffix(".pt").is_file()
        for cls in LearnedSolver.__subclasses__()
    }


@register
class Bert4beamSolver(LearnedSolver):
    """BERT4beam (:mod:`agents.bert4beam`); default: the shipped sum-rate model at N = 8."""

    name = "bert4beam"
    default_checkpoint = "bert4beam-sum_rate-N8"


@register
class UbertSolver(LearnedSolver):
    """UBERT (:mod:`agents.ubert`), one model for every utility it was trained on, any K and N;
    default: the shipped checkpoint ``ubert``."""

    name = "ubert"
    default_checkpoint = "ubert"
    handles_masks = True

    @property
    def utilities(self) -> tuple[str, ...]:  # type: ignore[override]
        return tuple(self.card["training"]["utilities"])

    def _solve(self, problem: Problem) -> torch.Tensor:
        return self._solve_masked(problem, None, None)

    def _solve_masked(
        self, problem: Problem, users: torch.Tensor | None, antennas: torch.Tensor | None
    ) -> torch.Tensor:
        dtype = torch.float64 if self.dtype == "float64" else torch.float32
        model = self.model.to(device=problem.H.device, dtype=dtype)
        with torch.no_grad():
            return model(
                problem.H,
                problem.power,
                problem.noise_power,
                problem.utility,
                user_mask=users,
                antenna_mask=antennas,
                weights=problem.weights,
            )
