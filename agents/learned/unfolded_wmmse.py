"""Deep-unfolded WMMSE (Pellaco, Bengtsson, Jalden, "Deep unfolding of the weighted MMSE
beamforming algorithm", arXiv 2006.08448, 2020; "Matrix-inverse-free deep unfolding of the
weighted MMSE beamforming algorithm", IEEE Open J. Commun. Soc. 2022).

WMMSE (Shi, Razaviyayn, Luo, He, IEEE TSP 2011) with its transmitter step, a matrix inverse
and a bisection on the power multiplier, replaced by a few projected-gradient steps whose step
sizes are learned; each WMMSE iteration is a layer. In beamgym's convention (user k receives
``h_k w_j`` from stream j, ``H`` rows ``h_k``), layer ``l`` computes from the current ``W``::

    u_k     = h_k w_k / T_k,   T_k = sum_j |h_k w_j|^2 + sigma2      MMSE receivers
    omega_k = T_k / (T_k - |h_k w_k|^2)                              MSE weights (1 + SINR_k)
    A       = H^H diag(a omega |u|^2) H                              [N, N]
    W      <- Pi_P(W - mu_ls 2 (A W - H^H diag(a omega u)))          s = 1..S PGD steps
    mu_ls   = eta_ls / tr(A)

where ``a`` are the user weights and ``Pi_P`` projects onto the ball ``||W||_F^2 <= P``; the
gradient is that of the WMMSE objective ``sum_k a_k omega_k e_k(W)`` in ``W`` at fixed
``u, omega`` (``e_k`` user k's MSE). The start is maximum-ratio transmission scaled to the
budget (``W = sqrt(P) H^H / ||H||_F``, the reference code's initialisation), and the output is
scaled onto the sphere ``||W||_F^2 = P`` (full power is optimal for the weighted sum rate).
The learned parameters are the ``L x S`` step sizes ``eta``: the model takes any K and N.

Deviations from the paper, each a choice where it was silent or where beamgym differs:

* **Step-size scale.** The paper learns ``mu`` itself at one transmit power. Here one model
  serves an SNR range, so ``mu = eta / tr(A)``: ``tr(A)`` bounds the largest eigenvalue of the
  quadratic's curvature, so ``eta < 1`` is a descent step at every SNR, K and N, and the
  learned ``eta`` do not depend on the scale of ``H`` or ``P``. ``eta`` starts at 0.5.
* **Objective.** The paper trains on the sum over layers of the weighted sum rate; here the
  shared objective (minus the final layer's sum rate relative to RZF,
  :func:`agents.learned.objective.task_loss`), like every other learned model.
* **Sizes.** 5 layers of 4 PGD steps by default (the reference code's 4 steps per layer; the
  paper reports several layer counts). Users with a zero channel (padded ones) keep a zero
  beamformer, padded antennas zero rows, so padded batches are served whole.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from agents.classical.wmmse import receiver_step, transmitter_terms
from agents.learned.model import (
    Batch,
    LearnedModel,
    Sampler,
    SizesDraw,
    check_utility,
    draw_task,
    option,
)
from agents.problem import Problem
from beamgym.checks import check_count
from beamgym.downlink import project_power

UTILITIES = ("sum_rate", "weighted_sum_rate")
"""What WMMSE maximises: the (weighted) sum rate."""


@dataclass(frozen=True)
class UnfoldedWmmseConfig:
    """Architecture of an :class:`UnfoldedWmmse` model (each field is a training option)."""

    layers: int = option(5, "L, the unfolded WMMSE iterations")
    pgd_steps: int = option(4, "S, projected-gradient steps per layer")
    utility: str = option("sum_rate", "the utility it is trained for", choices=UTILITIES)

    def __post_init__(self) -> None:
        check_count("layers", self.layers)
        check_count("pgd_steps", self.pgd_steps)
        check_utility(self.utility, UTILITIES)


class UnfoldedWmmse(LearnedModel):
    """WMMSE unfolded into ``layers`` layers of ``pgd_steps`` learned PGD steps (module
    docstring); any K and N, masks served by construction."""

    name = "unfolded-wmmse"
    Config = UnfoldedWmmseConfig
    Draw = SizesDraw
    default_checkpoint = "unfolded-wmmse"

    def __init__(self, config: UnfoldedWmmseConfig) -> None:
        super().__init__(config)
        self.step_sizes = nn.Parameter(torch.full((config.layers, config.pgd_steps), 0.5))

    def forward(self, problem: Problem) -> torch.Tensor:
        H, power = problem.H, problem.power
        noise, weights = problem.noise_power, problem.weights
        if problem.user_mask is not None:
            H = H * problem.user_mask[:, :, None]
        if problem.antenna_mask is not None:
            H = H * problem.antenna_mask[:, None, :]
        W = project_power(H.mH, power, full_power=True)  # maximum-ratio transmission
        for layer in self.step_sizes.to(H.real.dtype):
            A, B = transmitter_terms(H, weights, *receiver_step(H, W, noise))
            trace = torch.diagonal(A, dim1=-2, dim2=-1).real.sum(-1).clamp_min(1e-30)
            for eta in layer:
                step = (eta / trace)[:, None, None]
                W = project_power(W - 2 * step * (A @ W - B), power)
        return project_power(W, power, full_power=True)

    def draw(
        self, options: SizesDraw, sampler: Sampler, batch: int, step: int, steps: int
    ) -> Batch:
        return draw_task(sampler, options, batch, self.config.utility)
