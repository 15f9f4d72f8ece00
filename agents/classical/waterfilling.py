"""Water-filling: the power allocation over parallel channels, shared by ZF-WF and the DPC bound."""

from __future__ import annotations

import torch


def water_filling(inverse_gains: torch.Tensor, power: torch.Tensor) -> torch.Tensor:
    """``p_k = (nu - a_k)^+`` with the water level ``nu`` such that ``sum_k p_k = P``.

    This maximises ``sum_k log(1 + p_k / a_k)`` over ``p >= 0, sum_k p_k <= P`` (Cover &
    Thomas, Elements of Information Theory, 2nd ed., Sec. 9.4). Closed form: with ``a``
    sorted ascending, the number of active channels is the largest ``m`` whose level
    ``nu_m = (P + sum_{i <= m} a_i) / m`` exceeds ``a_m``.

    Args:
        inverse_gains: ``a = noise / gain`` per channel, real ``[B, K]``, > 0; ``inf`` marks
            a channel that must get no power.
        power: ``P``, real ``[B]``.

    Returns:
        real ``[B, K]`` powers summing to ``P`` per row.
    """
    sorted_gains, _ = torch.sort(inverse_gains, dim=-1)
    count = torch.arange(1, inverse_gains.shape[-1] + 1, device=inverse_gains.device)
    finite = torch.where(torch.isinf(sorted_gains), 0.0, sorted_gains)
    levels = (power[:, None] + torch.cumsum(finite, dim=-1)) / count
    active = levels > sorted_gains
    last = active.sum(dim=-1, keepdim=True).clamp_min(1) - 1
    level = torch.gather(levels, -1, last)
    return (level - inverse_gains).clamp_min(0.0)
