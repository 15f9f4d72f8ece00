"""A trained model on disk: the configuration that defines its run, and loading it.

A checkpoint ``PATH`` is two files written by :mod:`agents.learned.training`: ``PATH.pt``, the
weights only (read with ``weights_only=True``), and ``PATH.json``, its card: the
:class:`TrainingConfig` (``training``), the command, wall time, devices, parameter count and,
once evaluated (:mod:`agents.learned.evaluation`), the evaluation. The model is rebuilt from the
configuration, so nothing in a checkpoint is executed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from agents.learned.bert4beam import Bert4beam, Bert4beamConfig, adapt
from agents.learned.curriculum import Schedule, size_pairs
from agents.learned.sallo import Sallo, SalloConfig, with_refinement
from agents.learned.ubert import Ubert, UbertConfig
from beamgym.channels import CHANNELS
from beamgym.utilities import UTILITIES

MODELS: dict[str, tuple[type, type[nn.Module]]] = {
    "bert4beam": (Bert4beamConfig, Bert4beam),
    "ubert": (UbertConfig, Ubert),
    "sallo-m": (SalloConfig, Sallo),
}
"""Model name -> (config class, module class). A module class with ``multitask = True`` is
called as ``model(H, power, noise, task_ids, weights=...)``; one with ``padded = True``
(SALLO-M) as ``model(H, power, noise, user_mask, antenna_mask, window=...)`` on batches
padded to its ``size x size``; any other as ``model(H, power, noise)`` with its
config's ``utility`` and ``num_antennas``."""

TASK_SAMPLING = ("uniform", "random")
"""How a multi-task step shares its batch among the tasks (module docstring)."""


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
    utilities: tuple[str, ...] = ()
    """The tasks: empty for a single-task model (its ``model_config`` names the utility)."""
    antennas: tuple[int, ...] = ()
    """The antenna counts N drawn from: empty for a single-N model (``num_antennas``)."""
    task_sampling: str = "uniform"
    """``uniform`` (stratified shares of every batch) or ``random`` (one task per step)."""
    window: int = 0
    """SALLO-M: the sliding window over layers (:mod:`agents.learned.curriculum`); 0: all at once."""
    stages: tuple[int, ...] = ()
    """SALLO-M: the curriculum, the largest ``max(K, N)`` of each stage; empty: none."""
    replay: float = 0.0
    """SALLO-M: the share of every batch drawn from earlier curriculum stages."""
    max_load: float = 1.5
    """SALLO-M: the largest ``K / N`` drawn."""
    channels: tuple[str, ...] = ("rayleigh",)
    """SALLO-M: the channel models drawn from, one per sample (default parameters)."""
    init_from: str = ""
    """Fine-tuning: a trained checkpoint (path without suffix) whose weights start the run,
    passed through :func:`agents.learned.bert4beam.adapt` for this run's N and utility (BERT4beam)
    or :func:`agents.learned.sallo.with_refinement` for its refinement and utility (SALLO-M);
    empty: a fresh initialisation."""

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainingConfig:
        """The configuration stored in a checkpoint or card: lists become tuples again, and
        fields added since it was written take their defaults (old runs stay resumable)."""
        values = dict(values)
        for key in ("users", "snr_db", "utilities", "antennas", "stages", "channels"):
            if key in values:
                values[key] = tuple(values[key])
        return cls(**values)

    def build(self) -> nn.Module:
        """The untrained model; raises ``ValueError`` naming a bad setting."""
        if self.model not in MODELS:
            raise ValueError(f"model must be one of {sorted(MODELS)}, got {self.model!r}")
        config_cls, model_cls = MODELS[self.model]
        model = model_cls(config_cls(**self.model_config))
        self.tasks(model)
        self.antenna_counts(model)
        if getattr(model, "padded", False):
            self.schedule(model)
        return model

    def initial_model(self) -> nn.Module:
        """The model a run starts from: :meth:`build`, with ``init_from``'s weights if set."""
        model = self.build()
        if not self.init_from:
            return model
        source, _ = load(self.init_from)
        if type(source) is not type(model) or isinstance(model, Ubert):
            raise ValueError(
                f"init_from: a {self.model} run fine-tunes a bert4beam or sallo-m checkpoint "
                f"of its own kind; {self.init_from} holds a {type(source).__name__}"
            )
        if isinstance(model, Sallo):
            return with_refinement(source, model.config)
        adapted = adapt(source, model.config.num_antennas, model.config.utility)
        if adapted.config != model.config:
            raise ValueError(
                f"init_from: {self.init_from} has the architecture {source.config}, "
                f"which cannot become {model.config}"
            )
        model.load_state_dict(adapted.state_dict())
        return model

    def tasks(self, model: nn.Module) -> tuple[str, ...]:
        """The utilities trained on, validated against the model."""
        for name in self.utilities:
            if name not in UTILITIES:
                raise ValueError(f"utilities must be in {list(UTILITIES)}, got {name!r}")
        if len(set(self.utilities)) != len(self.utilities):
            raise ValueError(f"utilities must be distinct, got {self.utilities}")
        if self.task_sampling not in TASK_SAMPLING:
            raise ValueError(
                f"task_sampling must be one of {list(TASK_SAMPLING)}, got {self.task_sampling!r}"
            )
        if getattr(model, "multitask", False):
            if not self.utilities:
                raise ValueError(f"utilities: a {self.model} run must name its tasks")
            return self.utilities
        own = model.config.utility
        if self.utilities not in ((), (own,)):
            raise ValueError(
                f"utilities: {self.model} trains only its model_config's utility {own!r}, "
                f"got {self.utilities}"
            )
        return (own,)

    def antenna_counts(self, model: nn.Module) -> tuple[int, ...]:
        """The antenna counts N trained on, validated against the model."""
        if any(not isinstance(n, int) or n < 1 for n in self.antennas):
            raise ValueError(f"antennas must be positive integers, got {self.antennas}")
        if getattr(model, "multitask", False) or getattr(model, "padded", False):
            if not self.antennas:
                raise ValueError(f"antennas: a {self.model} run must name its antenna counts")
            return self.antennas
        own = model.config.num_antennas
        if self.antennas not in ((), (own,)):
            raise ValueError(
                f"antennas: {self.model} has N={own} (model_config num_antennas), "
                f"got {self.antennas}"
            )
        return (own,)

    def schedule(self, model: nn.Module) -> Schedule:
        """The sliding window and curriculum of a padded (SALLO-M) run, validated."""
        config = model.config
        if max(self.users) > config.size or max(self.antennas) > config.size:
            raise ValueError(
                f"users/antennas: the model serves K, N <= {config.size}, "
                f"got {self.users} and {self.antennas}"
            )
        drawable = sorted(set(CHANNELS) - {"file"})
        for name in self.channels:
            if name not in drawable:
                raise ValueError(f"channels must be in {drawable}, got {name!r}")
        return Schedule(
            steps=self.steps,
            layers=config.layers,
            window=self.window,
            pairs=size_pairs(self.users, self.antennas, self.max_load),
            stages=self.stages,
            replay=self.replay,
        )


def load(path: str | Path) -> tuple[nn.Module, dict]:
    """A trained model from ``PATH.pt`` (weights only) and ``PATH.json`` (its card)."""
    path = Path(path)
    meta = path.with_suffix(".json")
    if not meta.is_file():
        raise ValueError(f"checkpoint must have {meta.name} beside its .pt, not found: {meta}")
    card = json.loads(meta.read_text())
    config = TrainingConfig.from_dict(card["training"])
    model = config.build()
    model.load_state_dict(torch.load(path.with_suffix(".pt"), weights_only=True))
    return model.eval(), card
