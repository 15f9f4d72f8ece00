"""Trained models as solvers: ``agents.make("bert4beam").solve(H, power=P)``,
``agents.make("ubert").solve(H, power=P, utility="min_rate")``.

A :class:`LearnedSolver` loads a checkpoint written by :mod:`agents.learned.training` (``PATH.pt``
holds only weights, read with ``weights_only=True``; ``PATH.json`` the configuration and
model card) and runs the model in float32 on ``H``'s device.

BERT4beam is one model per utility and N (its fine-tuned variants, :func:`adapt`). Without a
``checkpoint`` the agent loads every shipped ``bert4beam-*`` checkpoint and answers each
problem with the model of its utility with the smallest N that fits. A model serves any K
(it is permutation-equivariant over users) and N up to its ``num_antennas``: a smaller
array is served as the model's array with the missing antennas last and silent (zero
channel, zero beamformer rows), as a padded observation would be; a problem that no model
fits is not applicable. Padded batches are grouped by mask pattern like every
solver's, so a padded sample gets exactly the beamformer of its active sub-problem.

SALLO-M serves its utility at any K and N up to its padded size ``M`` (larger
problems are not applicable) and reads padded batches itself: the masks go to the model,
whose padded entries take no power. It runs under ``torch.no_grad`` rather than
``inference_mode``: the gradient steps of utilities other than the sum rate take their
slopes from autograd at inference too.

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

from agents.learned.checkpoint import TrainingConfig, load
from agents.learned.curriculum import size_pairs
from agents.problem import Problem
from agents.registry import register
from agents.solver import NotApplicable, Solver
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
    variant_pattern = ""
    """Shipped cards (``CHECKPOINTS`` glob) loaded beside the default when no checkpoint is given."""

    def __init__(self, checkpoint: str | None = None, dtype: str = "float32") -> None:
        super().__init__(dtype)
        self.checkpoint = checkpoint or str(CHECKPOINTS / self.default_checkpoint)
        self.model, self.card = load(self.checkpoint)
        self.variants, self.cards = [self.model], [self.card]
        """The models it chooses from (the checkpoint's, or every shipped variant), and cards."""
        if checkpoint is None and self.variant_pattern:
            for path in sorted(CHECKPOINTS.glob(self.variant_pattern)):
                if path.with_suffix("") != Path(self.checkpoint):
                    model, card = load(path.with_suffix(""))
                    self.variants.append(model)
                    self.cards.append(card)
        served = [
            TrainingConfig.from_dict(card["training"]).utilities or [model.config.utility]
            for model, card in zip(self.variants, self.cards, strict=True)
        ]  # a multi-task model serves what it trained on, any other its config's utility
        self.utilities = tuple(dict.fromkeys(name for names in served for name in names))
        self._placement = (torch.device("cpu"), torch.float32)

    def _on(self, model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
        """``model`` on ``device`` in the solver's precision. The models move together and only
        when either changes (``Module.to`` walks every parameter: a third of the batch-1
        latency if repeated)."""
        placement = (device, torch.float64 if self.dtype == "float64" else torch.float32)
        if placement != self._placement:
            for variant in self.variants:
                variant.to(device=placement[0], dtype=placement[1])
            self._placement = placement
        return model

    def parameters(self):
        return (p for model in self.variants for p in model.parameters())

    def trained_on(self) -> set[tuple[str, int, int]]:
        """Every (utility, K, N) that one of its models was trained on; any other size it
        serves is generalisation (the leaderboard's generalisation table)."""
        sizes = set()
        for model, card in zip(self.variants, self.cards, strict=True):
            config = TrainingConfig.from_dict(card["training"])
            utilities = config.utilities or (model.config.utility,)
            antennas = config.antennas or (model.config.num_antennas,)
            pairs = self._trained_pairs(config, antennas)
            sizes |= {(u, k, n) for u in utilities for k, n in pairs}
        return sizes

    def _trained_pairs(
        self, config: TrainingConfig, antennas: tuple[int, ...]
    ) -> tuple[tuple[int, int], ...]:
        """The (K, N) a run drew: every training K with every N."""
        return tuple((k, n) for k in config.users for n in antennas)

    def _solve(self, problem: Problem) -> torch.Tensor:
        fitting = [
            model
            for model in self.variants
            if model.config.utility == problem.utility
            and model.config.num_antennas >= problem.num_antennas
        ]
        if not fitting:
            sizes = [
                m.config.num_antennas for m in self.variants if m.config.utility == problem.utility
            ]
            raise NotApplicable(
                f"{self.name} has {problem.utility} models for N <= {max(sizes)} antennas, "
                f"got N={problem.num_antennas}"
            )
        model = min(fitting, key=lambda m: m.config.num_antennas)
        missing = model.config.num_antennas - problem.num_antennas
        H = torch.nn.functional.pad(problem.H, (0, missing))
        model = self._on(model, H.device)
        with torch.inference_mode():
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
    """BERT4beam (:mod:`agents.learned.bert4beam`); default: every shipped model (module docstring),
    led by the pretrained sum-rate model at N = 8."""

    name = "bert4beam"
    default_checkpoint = "bert4beam-sum_rate-N8"
    variant_pattern = "bert4beam-*.json"


@register
class UbertSolver(LearnedSolver):
    """UBERT (:mod:`agents.learned.ubert`), one model for every utility it was trained on, any K and N;
    default: the shipped checkpoint ``ubert``."""

    name = "ubert"
    default_checkpoint = "ubert"
    handles_masks = True

    def _solve(self, problem: Problem) -> torch.Tensor:
        model = self._on(self.model, problem.H.device)
        with torch.inference_mode():
            return model(
                problem.H,
                problem.power,
                problem.noise_power,
                problem.utility,
                user_mask=problem.user_mask,
                antenna_mask=problem.antenna_mask,
                weights=problem.weights,
            )


@register
class SalloSolver(LearnedSolver):
    """SALLO-M (:mod:`agents.learned.sallo`), one model per utility for any K and N up to its padded
    size; default: the shipped ``sallo-m`` (sum rate) and its fine-tuned variants
    ``sallo-m-<utility>``, each problem answered by the model of its utility."""

    name = "sallo-m"
    default_checkpoint = "sallo-m"
    variant_pattern = "sallo-m-*_*.json"
    """``sallo-m-<utility>``: every utility's name has an underscore, and ``sallo-m-base`` (the
    pretrained start of the fine-tuned models) is not a variant."""
    handles_masks = True

    def _trained_pairs(
        self, config: TrainingConfig, antennas: tuple[int, ...]
    ) -> tuple[tuple[int, int], ...]:
        """Only the pairs with ``K <= max_load N``: the run drew no others."""
        return size_pairs(config.users, antennas, config.max_load)

    def _solve(self, problem: Problem) -> torch.Tensor:
        model = next(m for m in self.variants if m.config.utility == problem.utility)
        size = model.config.size
        if max(problem.num_users, problem.num_antennas) > size:
            raise NotApplicable(
                f"{self.name} serves K, N <= {size}, got K={problem.num_users} users "
                f"and N={problem.num_antennas} antennas"
            )
        model = self._on(model, problem.H.device)
        with torch.no_grad():
            return model(
                problem.H,
                problem.power,
                problem.noise_power,
                problem.user_mask,
                problem.antenna_mask,
            )
