"""MLP: a fully connected network from the channel to the beamformer, trained unsupervised on
minus the utility: the direct approach of, e.g., Huang, Xia, Xiong, Yang, Zheng, Zhu,
"Unsupervised learning-based fast beamforming design for downlink MIMO", IEEE Access 7, 2019.

One model per ``(K, N)`` (:mod:`agents.learned.fixed_size`)::

    x   = [Re vec(H) | Im vec(H) | snr_db / 10]                  [B, 2KN + 1]
    z   = ReLU(BN(z W_i + b_i)),  i = 1..D                       D hidden layers of width F
    W   = reshape(z W_re + b_re) + j reshape(z W_im + b_im)      [B, N, K]
    W   = Pi_P(sqrt(P) W)                                        the power adapter (rates)
    rho = sigmoid(z w_p + b_p)                                   energy efficiency only

Decisions (the paper's layer sizes were not available to us; this is the generic black-box
baseline the issue of fair comparison asks for, not a reproduction of its numbers):

* **Layers.** 3 hidden layers of 512 with batch normalisation and ReLU by default.
* **SNR.** The transmit SNR is an input, so one model serves an SNR range.
* **Power.** The parameter-free power adapter of BERT4beam for the rate utilities, and for
  energy efficiency a learned fraction of the budget (:func:`agents.learned.budget.adapt_power`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from agents.learned.budget import adapt_power, snr_feature
from agents.learned.fixed_size import FixedSizeConfig, FixedSizeModel
from agents.learned.model import option, padded_channel
from agents.problem import Problem
from beamgym.checks import check_count
from beamgym.utilities import UTILITIES


@dataclass(frozen=True)
class MlpConfig(FixedSizeConfig):
    """Architecture of an :class:`Mlp` model (each field is a training option)."""

    hidden: int = option(512, "F, the width of the hidden layers")
    depth: int = option(3, "D, the hidden layers")

    def __post_init__(self) -> None:
        super().__post_init__()
        check_count("hidden", self.hidden)
        check_count("depth", self.depth)


class Mlp(FixedSizeModel):
    """The fully connected model (module docstring)."""

    name = "mlp"
    Config = MlpConfig
    default_checkpoint = "mlp-sum_rate-8x8"
    variants = "mlp-*.json"
    reads_masks = False

    def __init__(self, config: MlpConfig) -> None:
        super().__init__(config)
        entries = config.num_users * config.num_antennas
        layers, width = [], 2 * entries + 1
        for _ in range(config.depth):
            layers += [nn.Linear(width, config.hidden), nn.BatchNorm1d(config.hidden), nn.ReLU()]
            width = config.hidden
        self.hidden = nn.Sequential(*layers)
        self.full_power = UTILITIES[config.utility].full_power
        self.output = nn.Linear(width, 2 * entries + (0 if self.full_power else 1))

    def forward(self, problem: Problem) -> torch.Tensor:
        users, antennas = self.config.num_users, self.config.num_antennas
        H = padded_channel(problem, users, antennas)
        snr = snr_feature(problem.power, problem.noise_power).to(H.real.dtype)
        z = self.hidden(torch.cat([H.real.flatten(1), H.imag.flatten(1), snr[:, None]], -1))
        out = self.output(z)
        entries = users * antennas
        raw = torch.complex(out[:, :entries], out[:, entries : 2 * entries])
        raw = raw.reshape(-1, antennas, users)[:, : problem.num_antennas, : problem.num_users]
        logit = None if self.full_power else out[:, -1]
        return adapt_power(raw, problem.power, self.full_power, logit)
