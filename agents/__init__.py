"""agents: every way to produce a beamformer behind one contract.

``agents.make(name, **config)`` builds a :class:`~agents.solver.Solver`;
``solver.solve(H, power=P)`` maps complex channels ``[B, K, N]`` to feasible beamformers
``[B, N, K]``. ``agents.available()`` lists the names; :func:`agents.dpc_capacity` is the
sum-rate ceiling.
"""

from agents import classical, learned, rl  # noqa: F401  (registers the solvers)
from agents.classical import DPCResult, dpc_capacity
from agents.problem import Problem
from agents.registry import available, make, register
from agents.solver import NotApplicable, Solver, count_parameters

__all__ = [
    "DPCResult",
    "NotApplicable",
    "Problem",
    "Solver",
    "available",
    "count_parameters",
    "dpc_capacity",
    "make",
    "register",
]
