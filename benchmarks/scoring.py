"""Scoring one agent on one configuration's stored channels.

The agent solves the whole batch at once from what it observes (``Channels.estimate``) with
the configuration's task parameters, and its beamformers are scored with beamgym's physics
(:func:`beamgym.score`) on the **true** channels; no formula is written here.

Outcomes (:class:`Evaluation.status`):

* ``"ok"``;
* ``"not-applicable"``: ``solve`` raised :class:`agents.NotApplicable`, the agents' way of
  declining a valid problem they do not serve (zero forcing with K > N, a policy trained for
  fewer users);
* ``"failed"``: any other exception, or an output that breaks the contract: not a complex
  ``[S, N_max, K_max]`` array, NaN/inf entries, power above the budget (more than
  :data:`POWER_TOLERANCE` relative), or a non-finite utility.

Timing: :func:`benchmarks.timing.timed_solves`, the protocol of every timed figure here
(warm-up, ``time_per_channel_s`` of the batched solve, ``latency_s`` the batch-1 median).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

import agents
from beamgym.utilities import score
from benchmarks.episodes import Channels
from benchmarks.lineup import solved_utility
from benchmarks.timing import timed_solves

POWER_TOLERANCE = 1e-5
"""Largest accepted ``||W||_F^2 / P - 1`` (float32 agents round at ~1e-7)."""


class ContractError(Exception):
    """An agent's output breaks the solver contract."""


@dataclass
class Evaluation:
    """What one agent achieved on one configuration.

    Attributes:
        status: ``"ok"``, ``"not-applicable"`` or ``"failed"``; reason: why, if not ok.
        solved_utility: the utility the agent was asked to optimise.
        metrics: per-channel results when ok (``beamgym.score`` of the true channels):
            ``"utility"`` (the configuration's) ``[S]``, ``"sum_rate"`` ``[S]``,
            ``"power_ratio"`` (``||W||_F^2 / P``) ``[S]``, ``"rates"`` ``[S, K_max]``.
        beamformers: complex128 ``[S, N_max, K_max]`` when ok.
        time_per_channel_s, latency_s: timings when ok.
    """

    status: str
    reason: str | None = None
    solved_utility: str | None = None
    metrics: dict[str, np.ndarray] | None = None
    beamformers: np.ndarray | None = None
    time_per_channel_s: float | None = None
    latency_s: float | None = None


def solve_inputs(
    channels: Channels, index: slice, device: torch.device, utility: str
) -> tuple[torch.Tensor, dict[str, Any]]:
    """``solve``'s arguments for the channels ``index``, as tensors on ``device``: copies, so
    that an agent editing its input in place changes nothing another agent is scored on."""

    def tensor(x: np.ndarray) -> torch.Tensor:
        return torch.tensor(x[index], device=device)

    kwargs: dict[str, Any] = {
        "power": tensor(channels.power),
        "noise_power": tensor(channels.noise_power),
        "utility": utility,
        "weights": tensor(channels.weights),
        "amplifier_efficiency": channels.amplifier_efficiency,
        "circuit_power": channels.circuit_power,
    }
    if channels.padded:
        kwargs.update(
            user_mask=tensor(channels.user_mask), antenna_mask=tensor(channels.antenna_mask)
        )
    return tensor(channels.estimate), kwargs


def check_beamformers(W: Any, channels: Channels) -> np.ndarray:
    """``W`` as complex128 NumPy ``[S, N_max, K_max]``; raises :class:`ContractError`."""
    expected = (channels.num_channels, channels.channel.shape[2], channels.channel.shape[1])
    if isinstance(W, torch.Tensor):
        W = W.detach().cpu().numpy()
    if not isinstance(W, np.ndarray) or not np.iscomplexobj(W) or W.shape != expected:
        described = f"{W.dtype} {W.shape}" if isinstance(W, np.ndarray) else type(W).__name__
        raise ContractError(f"solve must return a complex array {list(expected)}, got {described}")
    W = W.astype(np.complex128)
    if not np.isfinite(W).all():
        raise ContractError("solve returned NaN or infinite beamformer entries")
    return W


def score_channels(channels: Channels, W: np.ndarray) -> dict[str, np.ndarray]:
    """Per-channel metrics of beamformers ``W`` on the true channels (see :class:`Evaluation`)."""
    metrics = score(
        channels.channel,
        W,
        noise_power=channels.noise_power,
        weights=channels.weights,
        user_mask=channels.user_mask if channels.padded else None,
        amplifier_efficiency=channels.amplifier_efficiency,
        circuit_power=channels.circuit_power,
    )
    return {
        "utility": metrics[channels.utility],
        "sum_rate": metrics["sum_rate"],
        "power_ratio": metrics["power"] / channels.power,
        "rates": metrics["rates"],
    }


def evaluate(agent: Any, channels: Channels, device: torch.device | str = "cpu") -> Evaluation:
    """Solve all channels with ``agent`` and score the beamformers (module docstring)."""
    device = torch.device(device)
    utility = solved_utility(agent, channels.utility)
    batch = solve_inputs(channels, slice(None), device, utility)
    one = solve_inputs(channels, slice(0, 1), device, utility)
    try:
        W, timing = timed_solves(
            lambda inputs: agent.solve(inputs[0], **inputs[1]),
            batch,
            one,
            channels.num_channels,
            device,
        )
    except agents.NotApplicable as error:
        return Evaluation("not-applicable", str(error), utility)
    except (Exception, SystemExit) as error:  # the run goes on: its rows are marked failed
        return Evaluation("failed", f"{type(error).__name__}: {error}", utility)
    try:
        W = check_beamformers(W, channels)
        metrics = score_channels(channels, W)
        worst = float(metrics["power_ratio"].max())
        if worst > 1.0 + POWER_TOLERANCE:
            raise ContractError(
                f"beamformers exceed the power budget: max ||W||^2 / P = {worst:.6g} > 1"
            )
        if not np.isfinite(metrics["utility"]).all():
            raise ContractError(f"the {channels.utility} utility is NaN or infinite")
    except ContractError as error:
        return Evaluation("failed", str(error), utility)
    return Evaluation(
        "ok",
        None,
        utility,
        metrics,
        W,
        time_per_channel_s=timing.time_per_channel_s,
        latency_s=timing.latency_s,
    )
