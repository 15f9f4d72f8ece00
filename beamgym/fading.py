"""Time variation and CSI imperfection of the channel seen by the transmitter.

* :func:`jakes_correlation`: the lag-1 correlation of Clarke/Jakes fading,
  ``rho = J0(2 pi f_D T)``, which drives the Gauss-Markov channel processes in
  :mod:`beamgym.channels`.
* :class:`ChannelTracker`: runs a channel process and hands the environment both the true
  channel (which the reward uses) and the transmitter's estimate (which the agent sees),
  with an estimation error of given NMSE and a feedback delay in blocks.
"""

from __future__ import annotations

import math
from collections import deque

import torch

from beamgym.arrays import Array, namespace
from beamgym.channels import ChannelModel, ChannelState
from beamgym.checks import check_count, check_number
from beamgym.sampling import Generator, complex_normal

J0_FIRST_ZERO = 2.404825557695773
"""First zero of the Bessel function J0."""


def jakes_correlation(doppler_hz: float, block_duration_s: float) -> float:
    """Correlation between channels one block apart under Clarke/Jakes fading.

    ``rho = J0(2 pi f_D T)`` (Jakes 1974; the Gauss-Markov fit of, e.g., Kim et al., IEEE
    TWC 2011). Beyond the first zero of J0 (``f_D T > 0.383``) the correlation oscillates
    around zero and a first-order Gauss-Markov process no longer describes the channel, so
    such settings raise ``ValueError`` (use ``time_correlation=0``, i.i.d. blocks, instead).
    """
    check_number("doppler_hz", doppler_hz, 0.0, math.inf)
    check_number("block_duration_s", block_duration_s, 0.0, math.inf)
    x = 2 * math.pi * doppler_hz * block_duration_s
    if x >= J0_FIRST_ZERO:
        raise ValueError(
            f"doppler_hz * block_duration_s = {doppler_hz * block_duration_s:.3g} is past the first "
            f"zero of the Jakes correlation; it must be below {J0_FIRST_ZERO / (2 * math.pi):.3f}"
        )
    return float(torch.special.bessel_j0(torch.tensor(x, dtype=torch.float64)))


MAX_CSI_NMSE = 100.0
"""The largest estimation-error variance relative to the channel gain."""

MAX_CSI_DELAY = 1000
"""The longest feedback delay in blocks."""


class ChannelTracker:
    """The true channel and the transmitter's estimate of it, block by block.

    The estimate of block t is ``H_hat_t = H_{t-d} + E_t`` with feedback delay ``d = csi_delay``
    blocks and ``E_t`` with independent ``CN(0, csi_nmse * beta_k)`` entries in row k, where
    ``beta_k = E|h_kn|^2`` is user k's large-scale gain; so
    ``E|h_hat_kn - h_kn|^2 / E|h_kn|^2 = csi_nmse`` when ``d = 0``. The delayed channel comes
    from the same process, so outdated CSI is only as useful as the time correlation allows.

    Args:
        model: the channel process.
        csi_nmse: normalised estimation-error variance in ``[0, MAX_CSI_NMSE]`` (0: perfect
            estimate; beyond 100 the estimate is noise, and its entries would overflow).
        csi_delay: feedback delay in blocks, an integer in ``[0, MAX_CSI_DELAY]`` (each
            reset keeps that many blocks of history).
    """

    def __init__(self, model: ChannelModel, csi_nmse: float = 0.0, csi_delay: int = 0) -> None:
        check_number("csi_nmse", csi_nmse, 0.0, MAX_CSI_NMSE)
        check_count("csi_delay", csi_delay, 0, MAX_CSI_DELAY)
        self.model, self.csi_nmse, self.csi_delay = model, float(csi_nmse), csi_delay
        self._state: ChannelState | None = None
        self._history: deque[tuple[Array, Array | float]] = deque(maxlen=csi_delay + 1)

    def reset(self, rng: Generator, batch_shape: tuple[int, ...] = ()) -> tuple[Array, Array]:
        """Start new episodes; returns ``(H_true, H_estimate)``, complex ``[*batch, K, N]``."""
        self._state = self.model.reset(rng, batch_shape)
        self._history.clear()
        self._remember()
        for _ in range(self.csi_delay):  # the feedback pipeline is full from the first block
            self._state = self.model.step(rng, self._state)
            self._remember()
        return self._observe(rng)

    def step(self, rng: Generator) -> tuple[Array, Array]:
        """Move to the next block; returns ``(H_true, H_estimate)``."""
        if self._state is None:
            raise RuntimeError("call reset() before step()")
        self._state = self.model.step(rng, self._state)
        self._remember()
        return self._observe(rng)

    def _remember(self) -> None:
        self._history.append(
            (self.model.channel(self._state), self.model.average_gain(self._state))
        )

    def _observe(self, rng: Generator) -> tuple[Array, Array]:
        true_channel = self._history[-1][0]
        if self.csi_delay == 0 and self.csi_nmse == 0.0:
            return true_channel, true_channel
        stale, gain = self._history[0]
        if self.csi_nmse == 0.0:
            return true_channel, stale
        if isinstance(gain, float):
            std = math.sqrt(self.csi_nmse * gain)
        else:
            std = namespace(gain).sqrt(self.csi_nmse * gain)[..., None]  # [..., K, 1]
        return true_channel, stale + std * complex_normal(rng, tuple(stale.shape))
