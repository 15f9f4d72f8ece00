"""The exact max-min rate beamformer under a total power budget (no convex solver).

``max_W min_k SINR_k / b_k`` s.t. ``||W||_F^2 <= P`` (``b_k = 1``: max-min rate) is solved
exactly through uplink-downlink duality (Schubert & Boche, IEEE TVT 53(1), 2004; Wiesel,
Eldar, Shamai, IEEE TSP 54(1), 2006) with the nonlinear Perron-Frobenius fixed point whose
convergence Cai, Quek, Tan prove (IEEE TSP 59(8), 2011):

1. virtual uplink powers ``q`` (start ``P / K``): ``S = sigma2 I + H^H diag(q) H``,
   ``g_k = c_k / (1 - q_k c_k)`` with ``c_k = h_k^H S^-1 h_k``, ``I_k = b_k / g_k``,
   ``q <- P I / sum_j I_j``, until ``max_k |dq_k| < 1e-10 P``;
2. balanced level ``gamma* = P / sum_k I_k``; downlink directions ``u_k = S^-1 h_k / ||.||``
   (the uplink MMSE receivers);
3. downlink powers from the K x K linear system
   ``p_k G_kk - gamma* b_k sum_{j != k} p_j G_kj = gamma* b_k sigma2``, ``G_kj = |h_k^H u_j|^2``.

Then every ``SINR_k = gamma* b_k`` and ``sum_k p_k = P`` (duality). Any K, N (for K > N the
fixed point needs more iterations, up to ~170 measured).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from agents.problem import Problem
from agents.registry import register
from agents.solver import Solver
from beamgym.arrays import abs2
from beamgym.checks import check_count


def _uplink(
    H: torch.Tensor, q: torch.Tensor, noise: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(S^-1 H^H [b, N, K], c [b, K])`` for uplink powers ``q``."""
    eye = torch.eye(H.shape[-1], dtype=H.dtype, device=H.device)
    S = noise[:, None, None] * eye + (H.mH * q[:, None, :]) @ H
    receivers = torch.linalg.solve(S, H.mH)
    c = (H * receivers.mT).sum(-1).real
    return receivers, c


@dataclass
class MaxMinResult:
    """The output of :meth:`MaxMin.run`.

    Attributes:
        W: complex ``[B, N, K]``.
        level: the balanced SINR level ``gamma* [B]``: ``SINR_k = gamma* b_k`` for every user.
        iterations: fixed-point iterations each sample ran ``[B]``.
    """

    W: torch.Tensor
    level: torch.Tensor
    iterations: torch.Tensor


@register
class MaxMin(Solver):
    """Exact max-min (weighted) SINR beamforming: every user gets ``SINR_k = gamma* b_k``.

    ``weights`` passed to ``solve`` are the SINR targets' shape ``b`` (default ones). Uses
    the full power. :meth:`run` returns the level ``gamma*`` and the iterations too.

    Args:
        tolerance: stop when ``max_k |dq_k| < tolerance * P``.
        max_iterations: cap of the fixed point.
        dtype: ``"float64"`` or ``"float32"``.
    """

    name = "maxmin"
    utilities = ("min_rate",)
    config_keys = ("tolerance", "max_iterations")

    def __init__(
        self, tolerance: float = 1e-10, max_iterations: int = 1000, dtype: str = "float64"
    ) -> None:
        super().__init__(dtype)
        if not (isinstance(tolerance, int | float) and 0 < tolerance < 1):
            raise ValueError(f"tolerance must be a number in (0, 1), got {tolerance!r}")
        check_count("max_iterations", max_iterations)
        self.tolerance, self.max_iterations = float(tolerance), max_iterations

    def run(
        self, H: torch.Tensor, power: object, noise_power: object = 1.0, *, weights: object = None
    ) -> MaxMinResult:
        """The whole :class:`MaxMinResult` of ``solve(H, power, noise_power, weights=weights)``
        on a dense batch (torch ``H [B, K, N]``), in the solver's precision."""
        return self._run(self.problem(H, power, noise_power, weights=weights).to(self.precision))

    def _solve(self, problem: Problem) -> torch.Tensor:
        return self._run(problem).W

    def _run(self, problem: Problem) -> MaxMinResult:
        H, P, noise = problem.H, problem.power, problem.noise_power
        silent = torch.nonzero((H == 0).all(-1)).tolist()
        if silent:
            sample, user = silent[0]
            raise ValueError(
                f"H[{sample}, {user}] (user {user} of sample {sample}) is all zero: its rate is 0 "
                "whatever the beamformer, so every beamformer is max-min optimal; mark such "
                "users inactive with user_mask"
            )
        targets = problem.weights.clamp_min(torch.finfo(P.dtype).tiny)
        batch, users = problem.batch_size, problem.num_users
        q = (P / users)[:, None].expand(batch, users).clone()
        iterations = torch.zeros(batch, dtype=torch.long, device=H.device)
        active = torch.arange(batch, device=H.device)
        for _ in range(self.max_iterations):
            _, c = _uplink(H[active], q[active], noise[active])
            interference = targets[active] * (1.0 - q[active] * c) / c
            fresh = P[active, None] * interference / interference.sum(-1, keepdim=True)
            moved = (fresh - q[active]).abs().amax(-1)
            q[active] = fresh
            iterations[active] += 1
            active = active[moved >= self.tolerance * P[active]]
            if active.numel() == 0:
                break
        receivers, c = _uplink(H, q, noise)
        gamma = P / (targets * (1.0 - q * c) / c).sum(-1)
        directions = receivers / torch.linalg.vector_norm(receivers, dim=-2, keepdim=True)
        gains = abs2(H @ directions)  # G_kj = |h_k^H u_j|^2
        level = (gamma[:, None] * targets)[:, :, None]
        diagonal = torch.diag_embed(gains.diagonal(0, -2, -1))
        system = diagonal - level * (gains - diagonal)
        rhs = (gamma[:, None] * targets * noise[:, None]).to(H.dtype)
        powers = torch.linalg.solve(system.to(H.dtype), rhs).real.clamp_min(0.0)
        return MaxMinResult(directions * torch.sqrt(powers)[:, None, :], gamma, iterations)
