"""The RL baselines as solvers: ``agents.make("ppo")`` picks, per problem, a trained
stable-baselines3 policy (:mod:`agents.rl.sb3`) whose environment poses it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import torch

from agents.adapters import PolicySolver
from agents.problem import Problem
from agents.registry import register
from agents.rl.sb3 import ACTIONS, CHECKPOINTS, agent_name, load, make_env, read_checkpoint
from agents.solver import NotApplicable, Solver
from beamgym.layout import TASKS


class RLAgent(Solver):
    """A trained SB3 baseline as a solver; subclasses fix the algorithm and the action
    parameterisation it was trained with (:data:`AGENTS`).

    Padded batches are grouped by mask pattern like every solver's, and each group is padded
    again the way the environment pads (inactive users and antennas last).

    Args:
        checkpoint: the checkpoint to use for every problem, or a folder to pick from: per
            problem, the folder's checkpoint of this algorithm (``ALGO-*.json``) whose
            environment poses it (same utility; K and N in its ranges). Default: the shipped
            ones, :data:`CHECKPOINTS`.
    """

    utilities = TASKS
    config_keys = ("checkpoint",)
    algorithm: ClassVar[str]
    action: ClassVar[str]

    def __init__(self, checkpoint: str | None = None, dtype: str = "float32") -> None:
        super().__init__(dtype)
        self.checkpoint = checkpoint
        folder = CHECKPOINTS if checkpoint is None else Path(checkpoint)
        if folder.is_dir():
            found = sorted(folder.glob(f"{self.algorithm}-*.json"))
            records = {
                path.with_suffix(""): read_checkpoint(path.with_suffix("")) for path in found
            }
            records = {
                path: record for path, record in records.items() if record.agent == self.name
            }
        else:
            records = {folder: read_checkpoint(folder)}
        for path, record in records.items():
            if record.agent != self.name:
                raise ValueError(
                    f"checkpoint {str(path)!r} holds a {record.agent} policy (algorithm "
                    f"{record.algorithm}, action {record.action!r}), not {self.name}"
                )
        self._records = records
        self._scenarios = {path: make_env(r).unwrapped.scenario for path, r in records.items()}
        self._solvers: dict[Path, PolicySolver] = {}

    def _match(self, utility: str, num_users: int, num_antennas: int) -> Path | None:
        """The checkpoint posing this problem; the narrowest environment wins a tie."""
        fits = [
            (
                scenario.users[1] - scenario.users[0],
                scenario.antennas[1] - scenario.antennas[0],
                len(scenario.utilities),
                str(path),
            )
            for path, scenario in self._scenarios.items()
            if utility in scenario.utilities
            and scenario.users[0] <= num_users <= scenario.users[1]
            and scenario.antennas[0] <= num_antennas <= scenario.antennas[1]
        ]
        return Path(min(fits)[-1]) if fits else None

    def supports(self, utility: str, num_users: int, num_antennas: int) -> bool:
        """Whether a checkpoint serves this utility at K users and N antennas."""
        return self._match(utility, num_users, num_antennas) is not None

    def training(self) -> list[dict]:
        """How the checkpoints it has loaded (those its problems needed) were trained: one
        record each, from the checkpoint's ``.json`` (what a leaderboard reports)."""
        records = []
        for path in sorted(self._solvers, key=str):
            checkpoint = self._records[path]
            records.append(
                {
                    "checkpoint": Path(path).name,
                    "algorithm": checkpoint.algorithm,
                    "action": checkpoint.action,
                    "env_id": checkpoint.env_id,
                    "env_kwargs": checkpoint.env_kwargs,
                    "steps": checkpoint.steps,
                    "wall_time_s": checkpoint.wall_time_s,
                    "n_envs": checkpoint.n_envs,
                    "hyperparameters": checkpoint.hyperparameters,
                    "search_trials": len(checkpoint.search.get("trials", [])),
                    "search_steps": checkpoint.search.get("steps_per_trial"),
                    "validation": checkpoint.curve[-1][1] if checkpoint.curve else None,
                }
            )
        return records

    def parameters(self) -> Iterator[torch.nn.Parameter]:
        """The weights of the policies this agent has loaded (those its problems needed)."""
        for solver in self._solvers.values():
            yield from solver.policy.policy.parameters()

    def _solve(self, problem: Problem) -> torch.Tensor:
        path = self._match(problem.utility, problem.num_users, problem.num_antennas)
        if path is None:
            raise NotApplicable(
                f"no {self.name} checkpoint serves utility={problem.utility!r} at "
                f"K={problem.num_users}, N={problem.num_antennas}; train one with "
                "`python -m agents.rl train` (see agents/rl/sb3.py)"
            )
        if path not in self._solvers:
            model, checkpoint = load(path)
            self._solvers[path] = PolicySolver(model, make_env(checkpoint), self.name)
        return self._solvers[path]._solve(problem)


ALGORITHMS = {
    "ppo": "Proximal policy optimisation (Schulman et al. 2017)",
    "sac": "Soft actor-critic (Haarnoja et al. 2018)",
    "td3": "Twin delayed DDPG (Fujimoto et al. 2018)",
    "ddpg": "Deep deterministic policy gradient (Lillicrap et al. 2016)",
}
"""The SB3 algorithms served as agents, with the paper each follows."""


def _agent_class(algorithm: str, action: str) -> type[RLAgent]:
    name = agent_name(algorithm, action)
    doc = (
        f"{ALGORITHMS[algorithm]}, SB3, acting through the environment's "
        f"``action={action!r}``; see :mod:`agents.rl`."
    )
    return type(
        f"{name.title().replace('-', '')}Agent",
        (RLAgent,),
        {"__doc__": doc, "name": name, "algorithm": algorithm, "action": action},
    )


AGENTS = {
    agent_name(algorithm, action): register(_agent_class(algorithm, action))
    for algorithm in ALGORITHMS
    for action in ACTIONS
}
"""Every RL agent by name: one per (algorithm, action parameterisation)."""
