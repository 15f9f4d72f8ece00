"""Learned solvers: the BERT4beam, UBERT and SALLO-M models and their peers (MLP, BNN, GNN,
deep-unfolded WMMSE) behind one interface
(:mod:`agents.learned.model`), their unsupervised training on minus the beamgym utility, and
the shipped checkpoints served as solvers."""

from agents.learned.checkpoint import CHECKPOINTS, MODELS, SEED_MODELS, TrainingConfig, load
from agents.learned.model import Batch, Draw, LearnedModel, Sampler
from agents.learned.solvers import LearnedSolver, shipped

__all__ = [
    "CHECKPOINTS",
    "MODELS",
    "SEED_MODELS",
    "Batch",
    "Draw",
    "LearnedModel",
    "LearnedSolver",
    "Sampler",
    "TrainingConfig",
    "load",
    "shipped",
]
