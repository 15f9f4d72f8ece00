"""BNN: the beamforming prediction network of Xia, Zheng, Zhu, Zhang, Wang, Petropulu, "A deep
learning framework for optimization of MISO downlink beamforming", IEEE Trans. Commun. 68(3),
2020: a CNN predicts the parameters of the optimal beamforming structure and a fixed map
turns them into the beamformer.

The structure (Bjornson, Bengtsson, Ottersten, 2014) gives every Pareto-optimal beamformer as
``w_k = sqrt(p_k) d_k / ||d_k||``, ``d_k = (I + H^H diag(lambda) H / sigma2)^{-1} h_k^H``, with
powers ``p`` and dual (virtual uplink) powers ``lambda``; the network predicts both, and the
map is :func:`beamgym.actions.structure_beamformer`, the one the environments' structured
action uses. One model per ``(K, N)`` (:mod:`agents.learned.fixed_size`)::

    x = [Re H ; Im H]                                        [B, 2, K, N] (two channels)
    x = ReLU(BN(conv3x3(x)))  c = 1..C                       C conv layers of M filters
    z = ReLU(BN([flatten(x) | snr_db / 10] W_1 + b_1))       [B, F]
    a = tanh(z W_2 + b_2)                                    [B, 2K] in [-1, 1]
    W = structure_beamformer(a, H, P, sigma2)                p on the sphere (rates) or the
                                                             ball (energy efficiency)

Deviations from the paper:

* **Training.** The paper trains supervised on optimal ``(p, lambda)`` labels; here, like
  every learned model of this package, unsupervised on minus the utility relative to RZF,
  through the structure map (it is differentiable).
* **Output map.** The paper's "scaled softmax" output layer puts ``p`` and ``lambda`` on their
  simplices; here ``tanh`` and the map's documented simplex maps do, so that the model and the
  environment share one implementation. ``a = 0`` (the untrained output's neighbourhood) is
  equal powers and equal dual weights: RZF.
* **SNR.** An input of the dense layer, so one model serves an SNR range (the paper trains
  per power budget).
* **Sizes.** 2 conv layers of 8 filters and a dense layer of 256 by default.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from agents.learned.budget import snr_feature
from agents.learned.fixed_size import FixedSizeConfig, FixedSizeModel
from agents.learned.model import option, padded_channel
from agents.problem import Problem
from beamgym.actions import structure_beamformer
from beamgym.checks import check_count
from beamgym.utilities import UTILITIES


@dataclass(frozen=True)
class BnnConfig(FixedSizeConfig):
    """Architecture of a :class:`Bnn` model (each field is a training option)."""

    filters: int = option(8, "M, the filters of each conv layer")
    conv_layers: int = option(2, "C, the 3x3 conv layers")
    hidden: int = option(256, "F, the width of the dense layer")

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("filters", "conv_layers", "hidden"):
            check_count(name, getattr(self, name))


class Bnn(FixedSizeModel):
    """The structure-predicting CNN (module docstring)."""

    name = "bnn"
    Config = BnnConfig
    default_checkpoint = "bnn-sum_rate-8x8"
    variants = "bnn-*.json"
    reads_masks = False

    def __init__(self, config: BnnConfig) -> None:
        super().__init__(config)
        layers, channels = [], 2
        for _ in range(config.conv_layers):
            layers += [
                nn.Conv2d(channels, config.filters, 3, padding=1),
                nn.BatchNorm2d(config.filters),
                nn.ReLU(),
            ]
            channels = config.filters
        self.convolutions = nn.Sequential(*layers)
        features = channels * config.num_users * config.num_antennas + 1
        self.dense = nn.Sequential(
            nn.Linear(features, config.hidden), nn.BatchNorm1d(config.hidden), nn.ReLU()
        )
        self.output = nn.Linear(config.hidden, 2 * config.num_users)
        self.full_power = UTILITIES[config.utility].full_power

    def forward(self, problem: Problem) -> torch.Tensor:
        users = self.config.num_users
        H = padded_channel(problem, users, self.config.num_antennas)
        snr = snr_feature(problem.power, problem.noise_power).to(H.real.dtype)
        x = self.convolutions(torch.stack([H.real, H.imag], 1))
        action = torch.tanh(self.output(self.dense(torch.cat([x.flatten(1), snr[:, None]], -1))))
        k = problem.num_users
        action = torch.cat([action[:, :k], action[:, users : users + k]], -1)
        return structure_beamformer(
            action, problem.H, problem.power, problem.noise_power, full_power=self.full_power
        )
