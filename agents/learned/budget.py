"""The power budget as the learned models see it (the SNR feature) and meet it (the power
adapter), shared by every model."""

from __future__ import annotations

import torch

from beamgym.downlink import project_power, transmit_power


def snr_feature(power: torch.Tensor, noise_power: torch.Tensor) -> torch.Tensor:
    """``10 log10(P / sigma2) / 10`` ``[B]``: the SNR as the models see it."""
    return torch.log10(power / noise_power)


def adapt_power(
    raw: torch.Tensor,
    power: torch.Tensor,
    full_power: bool | torch.Tensor,
    power_logit: torch.Tensor | None = None,
) -> torch.Tensor:
    """The power adapter of the learned models: feasible ``W [B, N, K]`` from ``raw``.

    ``W = Pi_P(sqrt(P) raw)`` (:func:`~beamgym.downlink.project_power`, onto the sphere where
    ``full_power``, else the ball). With ``power_logit [B]`` the samples that may transmit
    less use the learned fraction ``rho = sigmoid(logit)`` of the budget instead,
    ``W = sqrt(rho P) raw / ||raw||_F``.

    Args:
        raw: ``[B, N, K]``; power: ``[B]``; full_power: one bool or ``[B]`` per sample.
    """
    full_power = torch.as_tensor(full_power, device=raw.device)
    budget = power.to(raw.real.dtype)
    if power_logit is not None:
        budget = torch.where(full_power, budget, budget * torch.sigmoid(power_logit))
        raw = raw / transmit_power(raw).clamp_min(1e-30).sqrt()[:, None, None]
    return project_power(raw * budget.sqrt()[:, None, None], power, full_power=full_power)
