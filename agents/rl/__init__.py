"""Reinforcement-learning baselines: stable-baselines3 PPO, SAC and TD3 trained on beamgym
(:mod:`agents.rl.sb3`), served as solvers (:mod:`agents.rl.solvers`)."""

from agents.rl.sb3 import (
    CHECKPOINTS,
    HYPERPARAMETERS,
    NUM_ENVS,
    Checkpoint,
    build_model,
    evaluate,
    load,
    make_env,
    save,
    shipped,
    train,
)
from agents.rl.solvers import PPOAgent, RLAgent, SACAgent, TD3Agent

__all__ = [
    "CHECKPOINTS",
    "HYPERPARAMETERS",
    "NUM_ENVS",
    "Checkpoint",
    "PPOAgent",
    "RLAgent",
    "SACAgent",
    "TD3Agent",
    "build_model",
    "evaluate",
    "load",
    "make_env",
    "save",
    "shipped",
    "train",
]
