"""A trained model on disk: the registry of learned models, the configuration that defines a
training run, and loading a checkpoint.

A checkpoint ``PATH`` is two files written by :mod:`agents.learned.training`: ``PATH.pt``, the
weights only (read with ``weights_only=True``), and ``PATH.json``, its card: the
:class:`TrainingConfig` (``training``), the command, wall time, devices, parameter count and,
once evaluated (``python -m benchmarks card``), the evaluation. The model is rebuilt from the
configuration, so nothing in a checkpoint is executed: the model's name only selects an entry
of :data:`MODELS`. Paths are ``PATH`` plus the suffix, never ``PATH`` with its last suffix
replaced, so ``runs/exp.lr1`` and ``runs/exp.lr2`` are two checkpoints. A relative ``PATH``
is looked up from the current directory, then among the shipped checkpoints
(:data:`CHECKPOINTS`), so ``sallo-m`` or ``ablations/ubert-trial`` names a shipped one from
any directory (:func:`agents.storage.locate`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from agents.learned.bert4beam import Bert4beam
from agents.learned.bnn import Bnn
from agents.learned.gnn import Gnn
from agents.learned.mlp import Mlp
from agents.learned.model import LearnedModel, from_dict, option
from agents.learned.sallo import Sallo
from agents.learned.ubert import Ubert
from agents.learned.unfolded_wmmse import UnfoldedWmmse
from agents.storage import checkpoint_file, load_weights, locate, read_metadata

CHECKPOINTS = Path(__file__).parent / "checkpoints"
"""The shipped checkpoints of the learned models."""

MODELS: dict[str, type[LearnedModel]] = {
    cls.name: cls for cls in (Bert4beam, Ubert, Sallo, Mlp, Bnn, Gnn, UnfoldedWmmse)
}
"""The learned models by name. A new model is its file and one entry here: the training
command line, the checkpoints and the agent of the same name follow from its class."""

SEED_MODELS = ("bert4beam", "ubert", "sallo-m")
"""The models of the seed papers; the others of :data:`MODELS` are the existing AI models
those papers claim to outperform (their peers on the leaderboard)."""


@dataclass
class TrainingConfig:
    """Everything that defines a training run (stored in the checkpoint and ``OUT.json``).

    ``model_config`` holds the fields of the model's ``Config`` and ``draw`` those of its
    ``Draw`` (both as plain values; missing ones take their defaults). The other fields are
    the loop's, each an option of the training command line.
    """

    model: str = "bert4beam"
    model_config: dict[str, Any] = field(default_factory=dict)
    draw: dict[str, Any] = field(default_factory=dict)
    steps: int = option(20_000, "optimiser steps")
    batch_size: int = option(256, "samples per step, shared among the processes of a torchrun")
    learning_rate: float = option(1e-3, "the peak learning rate (AdamW, gradients clipped to 1)")
    warmup: int = option(500, "steps of linear warm-up; then cosine decay to 5 % of the peak")
    seed: int = option(0, "seed of the initial weights and of every training draw")
    init_from: str = ""
    """Fine-tuning: a trained checkpoint (path without suffix) whose weights start the run
    (:meth:`LearnedModel.start_from`); empty: a fresh initialisation."""

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainingConfig:
        """The configuration stored in a checkpoint or card."""
        return cls(**values)

    def model_class(self) -> type[LearnedModel]:
        if self.model not in MODELS:
            raise ValueError(f"model must be one of {sorted(MODELS)}, got {self.model!r}")
        return MODELS[self.model]

    def options(self) -> Any:
        """The model's ``Draw`` options of this run, validated; a missing field takes the
        default of the run's architecture (:meth:`LearnedModel.default_draw`)."""
        cls = self.model_class()
        defaults = asdict(cls.default_draw(from_dict(cls.Config, self.model_config)))
        return from_dict(cls.Draw, defaults | self.draw)

    def build(self) -> LearnedModel:
        """The untrained model; raises ``ValueError`` naming a bad setting."""
        cls = self.model_class()
        model = cls(from_dict(cls.Config, self.model_config))
        model.check_draw(self.options(), self.batch_size)
        return model

    def initial_model(self) -> LearnedModel:
        """The model a run starts from: :meth:`build`, with ``init_from``'s weights if set."""
        model = self.build()
        if self.init_from:
            source, _ = load(self.init_from)
            model.start_from(source)
        return model


def read_card(path: str | Path) -> dict:
    """The card ``PATH.json`` of a learned checkpoint (found as the module docstring says), its
    training configuration checked; ``ValueError`` naming the file otherwise."""
    path = locate(path, CHECKPOINTS)
    card = read_metadata(path)
    training = card.get("training")
    if not isinstance(training, dict) or training.get("model") not in MODELS:
        raise ValueError(
            f"{checkpoint_file(path, '.json')} is not a learned checkpoint's card: its "
            f"training.model must be one of {sorted(MODELS)}"
        )
    return card


def load(path: str | Path) -> tuple[LearnedModel, dict]:
    """A trained model from ``PATH.pt`` (weights only) and ``PATH.json`` (its card), found as
    the module docstring says; ``ValueError`` naming the file for anything that is not a
    checkpoint of this kind."""
    path = locate(path, CHECKPOINTS)
    card = read_card(path)
    try:
        model = TrainingConfig.from_dict(card["training"]).build()
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"{checkpoint_file(path, '.json')}: its training configuration does not build a "
            f"model: {error}"
        ) from None
    load_weights(model, path)
    return model.eval(), card
