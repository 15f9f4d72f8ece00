"""The training objective of the learned solvers: a utility relative to a cheap reference.

The loss of a sample is ``-U(W) / U_ref`` where ``U_ref`` is computed from RZF on the same
channel (no gradient). The ratio is near 1 for every SNR, K, N and utility, so a batch that
mixes them weighs each alike although their utilities differ tenfold and their units differ
(bit/s/Hz, bit/s/Hz per unit power, log-rates).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

import beamgym
from agents.classical.linear import rzf_beamformer
from beamgym.downlink import rates
from beamgym.utilities import utility

if TYPE_CHECKING:
    from agents.learned.model import Batch

EE_POWER_FRACTIONS = tuple(2.0**-i for i in range(8))
"""Fractions of the budget tried by the energy-efficiency reference (1 down to 1/128)."""


def active_users(H: torch.Tensor, user_mask: torch.Tensor | None) -> torch.Tensor | int:
    """The number of active users of each problem: ``[B]`` from the mask, else ``K``."""
    return H.shape[-2] if user_mask is None else user_mask.sum(-1)


def reference_utility(
    name: str,
    H: torch.Tensor,
    power: torch.Tensor,
    noise: torch.Tensor,
    weights: torch.Tensor | None = None,
    user_mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """The per-sample normaliser ``U_ref [B]`` of a task's loss, from RZF at full power
    (``H^H (H H^H + K sigma2 / P I)^{-1}``, scaled to ``||W||_F^2 = P``); no gradient.

    | utility | ``U_ref`` |
    |---|---|
    | sum_rate, weighted_sum_rate, proportional_fair | the utility of RZF |
    | min_rate | RZF's *mean* user rate: its own minimum can be ~0 on an ill-conditioned channel, which would give that sample an unbounded weight |
    | energy_efficiency | the best energy efficiency of RZF scaled to ``P``, ``P/2``, ..., ``P/128`` (:data:`EE_POWER_FRACTIONS`): at full power RZF is far from efficient at high SNR |
    """
    with torch.no_grad():
        users = active_users(H, user_mask)
        W = rzf_beamformer(H, power, noise, users)
        user_rates = rates(H, W, noise)
        if name == "min_rate":
            return utility("sum_rate", user_rates, user_mask=user_mask) / users
        if name == "energy_efficiency":
            best = torch.zeros_like(power)
            for fraction in EE_POWER_FRACTIONS:
                scaled_rates = rates(H, W * fraction**0.5, noise)
                value = utility(name, scaled_rates, power_used=power * fraction)
                best = torch.maximum(best, value)
            return best
        return utility(name, user_rates, power_used=power, weights=weights, user_mask=user_mask)


def achieved_utility(
    name: str,
    H: torch.Tensor,
    W: torch.Tensor,
    noise: torch.Tensor,
    weights: torch.Tensor | None = None,
    user_mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """``U(W)`` ``[B]``: the utility ``name`` of beamformers ``W`` on channels ``H``."""
    return utility(
        name,
        rates(H, W, noise),
        power_used=beamgym.transmit_power(W),
        weights=weights,
        user_mask=user_mask,
    )


def relative_utility(
    name: str,
    H: torch.Tensor,
    W: torch.Tensor,
    power: torch.Tensor,
    noise: torch.Tensor,
    weights: torch.Tensor | None = None,
    user_mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """``U(W) / U_ref`` ``[B]`` on the same channels (:func:`reference_utility`).

    ``user_mask [B, K]`` (bool): the active users of padded problems (zero rows of ``H``);
    padded users count in neither utility.

    ``proportional_fair`` (a sum of log-rates, of either sign) uses the ratio of geometric
    mean rates instead, ``exp((U(W) - U_ref) / K)``. Each is 1 at the reference.
    """
    reference = reference_utility(name, H, power, noise, weights, user_mask)
    value = achieved_utility(name, H, W, noise, weights, user_mask)
    if name == "proportional_fair":
        return torch.exp((value - reference) / active_users(H, user_mask))
    return value / reference


def task_loss(batch: Batch, W: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
    """``-mean_t mean_{b in t} U_t(W_b) / U_ref,b``: minus the relative utility
    (:func:`relative_utility`) of each task's samples, every task present weighing alike
    whatever its share of the batch; and each task's mean relative utility.

    Args:
        batch: the problems and which task each sample pays (:class:`~agents.learned.model.Batch`).
        W: the model's beamformers ``[B, N, K]`` for them.
    """
    problem, losses, values = batch.problem, [], {}
    for t, name in enumerate(batch.tasks):
        chosen: torch.Tensor | slice = slice(None)
        if batch.assignment is not None:
            chosen = torch.nonzero(batch.assignment == t)[:, 0]
            if len(chosen) == len(batch.assignment):
                chosen = slice(None)
            elif len(chosen) == 0:
                continue
        value = relative_utility(
            name,
            problem.H[chosen],
            W[chosen],
            problem.power[chosen],
            problem.noise_power[chosen],
            problem.weights[chosen],
            None if problem.user_mask is None else problem.user_mask[chosen],
        ).mean()
        losses.append(value)
        values[name] = value.item()
    return -torch.stack(losses).mean(), values
