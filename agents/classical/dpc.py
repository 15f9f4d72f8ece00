"""The DPC sum capacity: the ceiling of every sum-rate number, with its certificate.

With dirty-paper coding the MISO broadcast channel's sum capacity equals that of the dual
multiple-access channel under the same total power (Vishwanath, Jindal, Goldsmith, IEEE T-IT
49(10), 2003):

    ``C(H, P) = max_{p >= 0, sum p = P} log2 det(I + sigma^-2 sum_k p_k h_k h_k^H)``

with ``h_k^H`` row k of ``H``. It is computed by sum-power iterative water-filling (Jindal et
al., IEEE T-IT 51(4), 2005) in its MISO form, where every user's covariance is a scalar: with
``S = I + sigma^-2 H^H diag(p) H`` and ``c_k = sigma^-2 h_k^H S^-1 h_k``, user k's gain with
its own signal removed is ``g_k = c_k / (1 - p_k c_k)``; the powers are water-filled over
``1 / g_k``, taken as they are for the first 5 iterations and averaged with weight ``1/K``
afterwards (which provably converges).

Certificate: the objective ``f`` is concave with ``df/dp_k = c_k / ln 2``, so for any feasible
``p``, ``C <= f(p) + (P max_k c_k - sum_k c_k p_k) / ln 2`` (a Frank-Wolfe gap). Each sample
stops when its gap is below ``tolerance``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from agents.classical.waterfilling import water_filling
from agents.problem import make_problem
from beamgym.arrays import abs2

PLAIN_ITERATIONS = 5
"""Iterations with the plain update before the averaged one (Jindal et al.'s released code)."""


@dataclass
class DPCResult:
    """Per-sample DPC sum capacity.

    Attributes:
        capacity: ``f(p)`` in bit/s/Hz ``[B]``, an achievable sum rate within ``gap`` of the
            capacity.
        gap: the certificate ``[B]``: ``capacity <= C <= capacity + gap``.
        powers: the dual uplink powers ``p`` ``[B, K]``.
        iterations: water-filling iterations used ``[B]``.
    """

    capacity: torch.Tensor
    gap: torch.Tensor
    powers: torch.Tensor
    iterations: torch.Tensor

    @property
    def upper_bound(self) -> torch.Tensor:
        """``capacity + gap``: no transmit scheme exceeds this sum rate."""
        return self.capacity + self.gap


def _dual_uplink(H: torch.Tensor, p: torch.Tensor, noise: torch.Tensor):
    """``(f(p), c)``: the objective ``[b]`` in bits and ``c_k = sigma^-2 h_k^H S^-1 h_k`` ``[b, K]``."""
    eye = torch.eye(H.shape[-1], dtype=H.dtype, device=H.device)
    S = eye + (H.mH * (p / noise[:, None])[:, None, :]) @ H
    L, info = torch.linalg.cholesky_ex(S)
    if bool(info.any()):
        snr = float((p.sum(-1) * abs2(H).sum((-2, -1)) / noise).amax())
        raise ValueError(
            f"the DPC bound cannot be computed in float64 at a received SNR of "
            f"{10 * math.log10(snr):.0f} dB (power * ||H||^2 / noise_power): the dual uplink "
            "covariance is numerically singular; lower power or raise noise_power"
        )
    Y = torch.linalg.solve_triangular(L, H.mH, upper=False)
    c = abs2(Y).sum(-2) / noise[:, None]
    logdet = 2.0 * torch.log(L.diagonal(0, -2, -1).real).sum(-1)
    return logdet / math.log(2), c


def dpc_capacity(
    H: torch.Tensor,
    power: object,
    noise_power: object = 1.0,
    *,
    tolerance: float = 1e-6,
    max_iterations: int = 2000,
) -> DPCResult:
    """DPC sum capacity of each channel by sum-power iterative water-filling, with certificate.

    Args:
        H: complex ``[B, K, N]``.
        power: ``P``, a number or ``[B]``.
        noise_power: ``sigma2``, a number or ``[B]``.
        tolerance: stop a sample when its certificate gap is below this (bit/s/Hz).
        max_iterations: cap; K <= N needs a few to 50, overloaded cases (K > N) hundreds.

    Returns:
        :class:`DPCResult` (float64). At K = 1 the capacity is ``log2(1 + P ||h||^2 / sigma2)``.
    """
    problem = make_problem(H, power, noise_power, utility="sum_rate")
    problem = problem.to(torch.float64)
    H, P, noise = problem.H, problem.power, problem.noise_power
    batch, users = problem.batch_size, problem.num_users
    p = (P / users)[:, None].expand(batch, users).clone()
    capacity = torch.zeros_like(P)
    gap = torch.full_like(P, math.inf)
    iterations = torch.zeros(batch, dtype=torch.long, device=H.device)
    active = torch.arange(batch, device=H.device)
    for step in range(max_iterations + 1):
        value, c = _dual_uplink(H[active], p[active], noise[active])
        certificate = (P[active] * c.amax(-1) - (c * p[active]).sum(-1)) / math.log(2)
        capacity[active], gap[active] = value, certificate.clamp_min(0.0)
        running = (certificate >= tolerance) & (step < max_iterations)
        active, c = active[running], c[running]
        if active.numel() == 0:
            break
        current = p[active]
        gains = c / (1.0 - current * c)
        fresh = water_filling(1.0 / gains, P[active])
        p[active] = fresh if step < PLAIN_ITERATIONS else current + (fresh - current) / users
        iterations[active] += 1
    return DPCResult(capacity, gap, p, iterations)
