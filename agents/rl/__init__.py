"""Reinforcement-learning baselines: stable-baselines3 PPO, SAC, TD3 and DDPG trained on
beamgym (:mod:`agents.rl.sb3`), served as solvers, one per action parameterisation
(:mod:`agents.rl.solvers`)."""

from agents.rl.sb3 import (
    ACTIONS,
    CHECKPOINTS,
    HYPERPARAMETERS,
    NUM_ENVS,
    Checkpoint,
    agent_name,
    build_model,
    evaluate,
    load,
    make_env,
    save,
    shipped,
    train,
    validate,
    validate_policy,
    validate_solver,
)
from agents.rl.solvers import AGENTS, RLAgent

__all__ = [
    "ACTIONS",
    "AGENTS",
    "CHECKPOINTS",
    "HYPERPARAMETERS",
    "NUM_ENVS",
    "Checkpoint",
    "RLAgent",
    "agent_name",
    "build_model",
    "evaluate",
    "load",
    "make_env",
    "save",
    "shipped",
    "train",
    "validate",
    "validate_policy",
    "validate_solver",
]
