"""Adapters between solvers and environments, so every agent runs everywhere.

* :class:`SolverPolicy`: any solver acts in a beamgym environment. It reads the channel
  estimate, SNR, masks, weights and task from the observation
  (:meth:`beamgym.Layout.unpack_observation`) and returns the action that the environment
  maps back to the solver's beamformer (:meth:`beamgym.Layout.beamformer_to_action`).
* :class:`PolicySolver`: a trained policy (a stable-baselines3 model, or anything with
  ``predict(obs, deterministic=True)``) acts as a solver: the problem is packed into the
  observation of the environment it was trained on and its action is mapped to ``W`` by the
  environment's own action map (``action=`` of :mod:`beamgym.actions`, on the channel it
  observed).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import torch

from agents.problem import Problem
from agents.solver import NotApplicable, Solver
from beamgym.actions import get_action
from beamgym.layout import TASKS, Layout
from beamgym.scenario import Scenario
from beamgym.units import db_to_linear, linear_to_db
from beamgym.utilities import UTILITIES


def _configuration(env: gym.Env | gym.vector.VectorEnv) -> tuple[Layout, Scenario]:
    base = env.unwrapped
    if not (hasattr(base, "layout") and hasattr(base, "scenario")):
        raise ValueError(f"env must be a beamgym environment, got {type(base).__name__}")
    return base.layout, base.scenario


class SolverPolicy:
    """A solver as a policy: ``action, _ = policy.predict(obs)`` (the SB3 signature).

    Args:
        solver: any :class:`~agents.solver.Solver`.
        env: the beamgym environment (single or vector) whose observations it will see.
    """

    def __init__(self, solver: Solver, env: gym.Env | gym.vector.VectorEnv) -> None:
        self.solver = solver
        self.layout, self.scenario = _configuration(env)
        if self.scenario.action != "beamformer":
            raise ValueError(
                f"a solver acts through action='beamformer' environments only, got "
                f"action={self.scenario.action!r} (that map has no inverse for any beamformer)"
            )

    def predict(
        self,
        observation: np.ndarray,
        state: Any = None,
        episode_start: Any = None,
        deterministic: bool = True,
    ) -> tuple[np.ndarray, None]:
        """Actions ``[..., action_dim]`` for observations ``[..., obs_dim]`` (one or a batch)."""
        obs = torch.as_tensor(np.asarray(observation, dtype=np.float64))
        single = obs.ndim == 1
        fields = self.layout.unpack_observation(obs[None] if single else obs)
        power = self.scenario.noise_power * db_to_linear(fields["snr_db"])
        tasks = fields["task"].argmax(-1)
        padded = self.scenario.padded
        actions = torch.zeros(power.shape[0], self.layout.action_dim, dtype=torch.float64)
        for task in torch.unique(tasks).tolist():
            rows = torch.nonzero(tasks == task)[:, 0]
            W = self.solver.solve(
                fields["channel"][rows],
                power[rows],
                self.scenario.noise_power,
                utility=TASKS[task],
                weights=fields["weights"][rows],
                user_mask=fields["user_mask"][rows] if padded else None,
                antenna_mask=fields["antenna_mask"][rows] if padded else None,
                amplifier_efficiency=self.scenario.amplifier_efficiency,
                circuit_power=self.scenario.circuit_power,
            )
            actions[rows] = self.layout.beamformer_to_action(W, power[rows]).clamp(-1.0, 1.0)
        result = actions.numpy().astype(np.float32)
        return (result[0] if single else result), None


class PolicySolver(Solver):
    """A trained policy as a solver, on problems that fit the environment it was trained on.

    ``K`` and ``N`` may be at most the environment's maxima; smaller problems are padded and
    masked exactly as the environment pads them. The utility must be one the environment
    draws (its observation's task one-hot is set accordingly).

    Args:
        policy: an object with ``predict(obs, deterministic=True) -> (action, state)``,
            e.g. a stable-baselines3 model.
        env: the environment (or one configured the same way) the policy was trained on.
        name: the name this solver reports, in its config and its errors.
    """

    handles_masks = True

    def __init__(
        self, policy: Any, env: gym.Env | gym.vector.VectorEnv, name: str = "policy"
    ) -> None:
        super().__init__("float32")
        self.policy, self.name = policy, name  # the instance's: Solver.name is the registry's
        self.layout, self.scenario = _configuration(env)
        self.utilities = tuple(self.scenario.utilities)

    def config(self) -> dict:
        return {"name": self.name}

    def _solve(self, problem: Problem) -> torch.Tensor:
        batch, num_users, num_antennas = problem.H.shape
        users, antennas = problem.user_mask, problem.antenna_mask
        k_max, n_max = self.layout.max_users, self.layout.max_antennas
        if num_users > k_max or num_antennas > n_max:
            raise NotApplicable(
                f"this policy serves at most K={k_max} users and N={n_max} antennas, "
                f"got K={num_users}, N={num_antennas}"
            )
        user_mask = torch.zeros(batch, k_max)
        user_mask[:, :num_users] = 1.0 if users is None else users.float()
        antenna_mask = torch.zeros(batch, n_max)
        antenna_mask[:, :num_antennas] = 1.0 if antennas is None else antennas.float()
        channel = torch.zeros(batch, k_max, n_max, dtype=torch.complex64)
        channel[:, :num_users, :num_antennas] = problem.H.to(torch.complex64).cpu()
        channel = channel * user_mask[:, :, None] * antenna_mask[:, None, :]
        weights = torch.zeros(batch, k_max)
        weights[:, :num_users] = problem.weights.float().cpu()
        snr_db = linear_to_db(problem.power / problem.noise_power).float().cpu()
        task = torch.full((batch,), TASKS.index(problem.utility))
        context = self.layout.pack_context(
            snr_db, user_mask, antenna_mask, weights * user_mask, task
        )
        obs = self.layout.pack_observation(channel, context)
        action, _ = self.policy.predict(obs.numpy(), deterministic=True)
        W = get_action(self.scenario.action).to_beamformer(
            torch.as_tensor(np.asarray(action), dtype=torch.float32).clamp(-1.0, 1.0),
            channel,
            problem.power.float().cpu(),
            problem.noise_power.float().cpu(),
            full_power=UTILITIES[problem.utility].full_power,
            user_mask=user_mask,
            antenna_mask=antenna_mask,
        )
        return W[:, :num_antennas, :num_users].to(problem.H.device)
