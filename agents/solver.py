"""The one contract every agent satisfies: ``W = solver.solve(H, power=P, ...)``.

A solver maps a batch of channels and task parameters to feasible beamformers::

    W = agents.make("wmmse").solve(H, power=P)      # H complex [B, K, N] -> W complex [B, N, K]

:meth:`Solver.solve` validates the input (:func:`agents.problem.make_problem`), handles padded
batches, and guarantees the output contract; subclasses implement the one hook
:meth:`Solver._solve` on a validated :class:`~agents.problem.Problem`.

Padded batches: ``user_mask [B, K]`` and ``antenna_mask [B, N]`` (0/1 or bool) mark the
active users and antennas of each sample, and travel in the problem. A solver that reads
them (``handles_masks``, the learned models) gets the padded problem; for any other the
samples are grouped by mask pattern and each group is solved as a dense problem of its
active size, so a padded sample gets exactly the beamformer it would get alone. Either way
inactive rows and columns of ``W`` are zero.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, ClassVar

import numpy as np
import torch

from agents.problem import Problem, make_problem
from beamgym.downlink import project_power
from beamgym.utilities import DEFAULT_AMPLIFIER_EFFICIENCY, DEFAULT_CIRCUIT_POWER

_PRECISIONS = {"float32": torch.float32, "float64": torch.float64}


class NotApplicable(ValueError):
    """A solver declines a valid problem outside what it serves: zero forcing with K > N, a
    trained policy without a model for this utility or size. Benchmarks report such a
    problem as not applicable rather than as a failure."""


class Solver:
    """Base class of every agent.

    Class attributes:
        name: registry name.
        handles_masks: ``_solve`` reads the problem's masks itself (learned models) instead
            of getting dense groups (module docstring).
        config_keys: the attributes that, with ``dtype``, make up :meth:`config`.

    Attributes:
        utilities: the utilities the solver optimises (a class attribute, or set in
            ``__init__`` by solvers whose checkpoints decide it); ``None`` for
            utility-agnostic closed forms. The first entry is the default of
            ``solve(utility=...)``.

    Args:
        dtype: real precision of the computation, ``"float64"`` (default) or ``"float32"``;
            the output has the dtype of ``H`` whatever this is.
    """

    name: ClassVar[str] = ""
    utilities: tuple[str, ...] | None = None
    handles_masks: ClassVar[bool] = False
    config_keys: ClassVar[tuple[str, ...]] = ()

    def __init__(self, dtype: str = "float64") -> None:
        if dtype not in _PRECISIONS:
            raise ValueError(f"dtype must be one of {sorted(_PRECISIONS)}, got {dtype!r}")
        self.dtype = dtype

    def config(self) -> dict[str, Any]:
        """The keyword arguments that rebuild this solver with ``agents.make(name, **config)``."""
        return {**{key: getattr(self, key) for key in self.config_keys}, "dtype": self.dtype}

    def solve(
        self,
        H: torch.Tensor | np.ndarray,
        power: Any,
        noise_power: Any = 1.0,
        *,
        utility: str | None = None,
        weights: Any = None,
        user_mask: Any = None,
        antenna_mask: Any = None,
        amplifier_efficiency: float = DEFAULT_AMPLIFIER_EFFICIENCY,
        circuit_power: float = DEFAULT_CIRCUIT_POWER,
    ) -> torch.Tensor | np.ndarray:
        """Beamformers for a batch of problems.

        Args:
            H: complex ``[B, K, N]`` channels (torch tensor on any device, or NumPy array).
            power: budget ``P`` (linear), a number or ``[B]``.
            noise_power: ``sigma2`` (linear), a number or ``[B]``; default 1.
            utility: what to optimise; default the solver's first utility (``sum_rate`` for
                utility-agnostic solvers). A utility the solver does not optimise raises.
            weights: user weights ``[K]`` or ``[B, K]`` (weighted sum rate, weighted max-min).
            user_mask, antenna_mask: ``[B, K]`` / ``[B, N]`` active entries of padded batches.
            amplifier_efficiency, circuit_power: the energy-efficiency power model.

        Returns:
            complex ``[B, N, K]`` of ``H``'s type, dtype and device, with
            ``||W||_F^2 <= P`` per sample and zeros on inactive users and antennas.
        """
        problem = self.problem(
            H,
            power,
            noise_power,
            utility=utility,
            weights=weights,
            user_mask=user_mask,
            antenna_mask=antenna_mask,
            amplifier_efficiency=amplifier_efficiency,
            circuit_power=circuit_power,
        )
        output_dtype, budget = problem.H.dtype, problem.power
        problem = problem.to(self.precision)
        if problem.padded and not self.handles_masks:
            W = self._solve_by_pattern(problem)
        else:
            W = self._solve(problem)
        W = project_power(W.to(output_dtype), budget)  # in the output precision: exact there
        if not bool(torch.isfinite(torch.view_as_real(W)).all()):
            raise RuntimeError(f"solver {self.name!r} produced a non-finite beamformer")
        return W.numpy() if isinstance(H, np.ndarray) else W

    def problem(
        self, H: torch.Tensor | np.ndarray, power: Any, noise_power: Any = 1.0, **kwargs: Any
    ) -> Problem:
        """The validated :class:`Problem` of :meth:`solve`'s arguments (in ``H``'s precision,
        with the solver's default utility); raises ``ValueError`` naming a bad argument."""
        kwargs["utility"] = self._utility(kwargs.get("utility"))
        return make_problem(H, power, noise_power, **kwargs)

    @property
    def precision(self) -> torch.dtype:
        """The real dtype the solver computes in (``dtype``)."""
        return _PRECISIONS[self.dtype]

    def _utility(self, utility: str | None) -> str:
        if utility is None:
            return self.utilities[0] if self.utilities else "sum_rate"
        if self.utilities is not None and utility not in self.utilities:
            raise ValueError(
                f"solver {self.name!r} optimises utility in {list(self.utilities)}, got {utility!r}"
            )
        return utility

    def _solve_by_pattern(self, problem: Problem) -> torch.Tensor:
        """Solve each mask pattern of a padded batch as a dense problem of its active size."""
        batch, num_users, num_antennas = problem.H.shape
        device = problem.H.device
        users, antennas = problem.user_mask, problem.antenna_mask
        if users is None:
            users = torch.ones(batch, num_users, dtype=torch.bool, device=device)
        if antennas is None:
            antennas = torch.ones(batch, num_antennas, dtype=torch.bool, device=device)
        dense = replace(problem, user_mask=None, antenna_mask=None)
        patterns, group = torch.unique(torch.cat([users, antennas], 1), dim=0, return_inverse=True)
        W = problem.H.new_zeros(batch, num_antennas, num_users)
        for g, pattern in enumerate(patterns):
            index = torch.nonzero(group == g)[:, 0]
            active_users = torch.nonzero(pattern[:num_users])[:, 0]
            active_antennas = torch.nonzero(pattern[num_users:])[:, 0]
            part = self._solve(dense.select(index, active_users, active_antennas))
            W[index[:, None, None], active_antennas[None, :, None], active_users[None, None, :]] = (
                part.to(W.dtype)
            )
        return W

    def _solve(self, problem: Problem) -> torch.Tensor:
        """Beamformers ``[B, N, K]`` for a problem in the solver's precision, feasible up to
        rounding; dense unless ``handles_masks``."""
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({args})"


def count_parameters(agent: Any) -> int | None:
    """Parameter count of a learned agent or model, ``None`` for one without parameters.

    Looks for torch parameters (a ``parameters()`` method) on the agent, then on its
    ``model``, ``policy`` and ``policy.policy`` attributes (an SB3 model wrapped by
    :class:`~agents.adapters.PolicySolver` keeps its network at ``policy.policy``).
    """
    policy = getattr(agent, "policy", None)
    for holder in (agent, getattr(agent, "model", None), policy, getattr(policy, "policy", None)):
        parameters = getattr(holder, "parameters", None)
        if callable(parameters):
            unique = {id(p): p for p in parameters()}
            return sum(p.numel() for p in unique.values())
    return None
