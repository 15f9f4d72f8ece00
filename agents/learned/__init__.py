"""Learned solvers: the BERT4beam, UBERT and SALLO-M models, their unsupervised training on
minus the beamgym utility, and the shipped checkpoints served as solvers."""

from agents.learned.checkpoint import MODELS, TrainingConfig, load
from agents.learned.solvers import (
    CHECKPOINTS,
    Bert4beamSolver,
    LearnedSolver,
    SalloSolver,
    UbertSolver,
    shipped,
)

__all__ = [
    "CHECKPOINTS",
    "MODELS",
    "Bert4beamSolver",
    "LearnedSolver",
    "SalloSolver",
    "TrainingConfig",
    "UbertSolver",
    "load",
    "shipped",
]
