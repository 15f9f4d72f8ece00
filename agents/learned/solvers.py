"""Trained models as solvers: ``agents.make("bert4beam").solve(H, power=P)``,
``agents.make("ubert").solve(H, power=P, utility="min_rate")``.

Every model of :data:`agents.learned.checkpoint.MODELS` is an agent of the same name: a
:class:`LearnedSolver` that loads a checkpoint written by :mod:`agents.learned.training`
(``PATH.pt`` holds only weights, read with ``weights_only=True``; ``PATH.json`` the
configuration and model card) and runs the model in float32 on ``H``'s device, under
``torch.no_grad`` (not ``inference_mode``: SALLO-M's gradient steps take slopes from autograd
at inference too).

Without a ``checkpoint`` the agent loads the model's shipped default and its shipped
variants (the model class's ``default_checkpoint`` and ``variants``) and answers each
problem with a model that serves its utility and fits its size, the one with the smallest
antenna limit if several do, then the smallest user limit (BERT4beam: one model per utility
and N; the MLP and the BNN: one per utility, K and N); a problem that no model fits is not
applicable. A model that reads masks (UBERT, SALLO-M, the GNN, unfolded WMMSE) gets padded
batches whole; any other is given each mask pattern as a dense problem, like every solver.

A model serves any size up to its limits, also sizes it was not trained on: declining them
would be a policy, not a limit. :meth:`LearnedSolver.trained_on` lists the trained ones, so
that benchmarks can mark the others as generalisation.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import torch

from agents.learned.checkpoint import CHECKPOINTS, MODELS, TrainingConfig, load
from agents.learned.model import LearnedModel
from agents.problem import Problem
from agents.registry import register
from agents.solver import NotApplicable, Solver, count_parameters


class LearnedSolver(Solver):
    """A trained model as a solver; one subclass per model of :data:`MODELS` (``model_class``).

    Args:
        checkpoint: path of a checkpoint without suffix (default: the shipped ones).
        dtype: precision of the network, ``"float32"`` (default).
    """

    config_keys = ("checkpoint",)
    model_class: ClassVar[type[LearnedModel]]

    def __init__(self, checkpoint: str | None = None, dtype: str = "float32") -> None:
        super().__init__(dtype)
        cls = self.model_class
        if checkpoint is None and not cls.default_checkpoint:
            raise ValueError(f"{self.name} ships no checkpoint: give checkpoint=PATH")
        self.checkpoint = checkpoint or str(CHECKPOINTS / cls.default_checkpoint)
        paths = [Path(self.checkpoint)]
        if checkpoint is None and cls.variants:
            paths += [
                path.with_suffix("")
                for path in sorted(CHECKPOINTS.glob(cls.variants))
                if path.with_suffix("") != paths[0]
            ]
        self.paths, self.variants, self.cards, self.options = paths, [], [], []
        """The checkpoints and models it chooses from, with their cards and training draws."""
        for path in paths:
            model, card = load(path)
            if not isinstance(model, cls):
                raise ValueError(f"checkpoint {path} holds a {model.name}, not a {self.name}")
            self.variants.append(model)
            self.cards.append(card)
            self.options.append(TrainingConfig.from_dict(card["training"]).options())
        self.model, self.card = self.variants[0], self.cards[0]
        self.utilities = tuple(
            dict.fromkeys(
                name
                for model, options in zip(self.variants, self.options, strict=True)
                for name in model.utilities(options)
            )
        )
        self._placement = (torch.device("cpu"), torch.float32)

    def _on(self, model: LearnedModel, device: torch.device) -> LearnedModel:
        """``model`` on ``device`` in the solver's precision. The models move together and only
        when either changes (``Module.to`` walks every parameter: a third of the batch-1
        latency if repeated)."""
        placement = (device, self.precision)
        if placement != self._placement:
            for variant in self.variants:
                variant.to(device=placement[0], dtype=placement[1])
            self._placement = placement
        return model

    def parameters(self) -> Iterator[torch.nn.Parameter]:
        return (p for model in self.variants for p in model.parameters())

    def trained_on(self) -> set[tuple[str, int, int]]:
        """Every (utility, K, N) that one of its models was trained on; any other size it
        serves is generalisation (the leaderboard's generalisation table)."""
        return {
            (utility, k, n)
            for model, options in zip(self.variants, self.options, strict=True)
            for utility in model.utilities(options)
            for k, n in model.trained_sizes(options)
        }

    def training(self) -> list[dict]:
        """How each of its models was trained, from its card (what a leaderboard's
        fair-comparison table reports): one record per loaded checkpoint."""
        records = []
        for path, model, card in zip(self.paths, self.variants, self.cards, strict=True):
            run = card["training"]
            records.append(
                {
                    "checkpoint": Path(path).name,
                    "model": model.name,
                    "parameters": count_parameters(model),
                    "steps": run["steps"],
                    "batch_size": run["batch_size"],
                    "samples": run["steps"] * run["batch_size"],
                    "init_from": run.get("init_from") or None,
                    "wall_time_s": card.get("wall_time_s"),
                    "devices": card.get("devices") or ["cpu"],
                }
            )
        return records

    def _solve(self, problem: Problem) -> torch.Tensor:
        serving = [
            (model, model.limits())
            for model, options in zip(self.variants, self.options, strict=True)
            if problem.utility in model.utilities(options)
        ]
        users, antennas = problem.num_users, problem.num_antennas
        fitting = [
            (model, limits)
            for model, limits in serving
            if users <= limits[0] and antennas <= limits[1]
        ]
        if not fitting:
            k_limit, n_limit = max(limits for _, limits in serving)
            bounds = [f"K <= {k_limit} users"] if k_limit < math.inf else []
            bounds += [f"N <= {n_limit} antennas"] if n_limit < math.inf else []
            bounds = " and ".join(bounds)
            raise NotApplicable(
                f"{self.name} has {problem.utility} models for {bounds}, "
                f"got K={users}, N={antennas}"
            )
        smallest = min(fitting, key=lambda entry: entry[1][::-1])[0]  # fewest antennas, users
        model = self._on(smallest, problem.H.device)
        with torch.no_grad():
            return model(problem)


def shipped() -> dict[str, bool]:
    """Each learned agent's name and whether its default checkpoint is in the repository."""
    return {
        name: bool(cls.default_checkpoint)
        and (CHECKPOINTS / f"{cls.default_checkpoint}.pt").is_file()
        for name, cls in MODELS.items()
    }


for _model in MODELS.values():
    register(
        type(
            f"{_model.__name__}Solver",
            (LearnedSolver,),
            {
                "name": _model.name,
                "model_class": _model,
                "handles_masks": _model.reads_masks,
                "__doc__": f"The trained {_model.name} models as a solver ({_model.__module__}).",
            },
        )
    )
