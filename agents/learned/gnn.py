"""GNN: the edge-update graph neural network for precoding of Peng, Guo and Yang ("Learning
resource allocation policy: vertex-GNN or edge-GNN?", IEEE Trans. Mach. Learn. Commun. Netw.
2, 2024; Zhao, Guo, Yang, "Learning precoding policy: CNN or GNN?", IEEE WCNC 2022).

The downlink is a bipartite graph of the N antennas and the K users; the edge (k, n) carries
the channel entry ``h_kn`` and, at the output, the beamformer entry ``W[n, k]``. Each layer
updates every edge from itself, the edges it shares an antenna with (the other users of
antenna n) and the edges it shares a user with (user k's other antennas), with weights shared
by all edges, so the model is permutation-equivariant over users and over antennas (permuting
either permutes W's columns or rows) and takes any K and N::

    d_kn^0 = [Re h_kn, Im h_kn, snr_db / 10]                                   [B, K, N, 3]
    d_kn^l = ReLU(d_kn W_self + mean_k' d_k'n W_antenna + mean_n' d_kn' W_user + b)   (l < L)
    W[n, k] = (d_kn^L)_1 + j (d_kn^L)_2          the last layer linear, 2 outputs per edge
    W       = Pi_P(sqrt(P) W)                    the power adapter (rates)
    rho     = sigmoid(mean_kn (d_kn^L)_3)        energy efficiency: a learned budget fraction

Decisions where the papers leave a choice or where beamgym differs:

* **Pooling.** The mean over the neighbouring edges, the edge itself included (the papers
  discuss sum, mean and max pooling); the mean keeps the features' scale when K or N change,
  which is what lets one model serve other sizes.
* **SNR.** The transmit SNR is a feature of every edge, so one model serves an SNR range (the
  papers train at one power).
* **Training.** Unsupervised on minus the beamgym utility relative to RZF, as every learned
  model here; the power adapter and the energy-efficiency fraction are those of BERT4beam.
* **Padding.** Padded users and antennas are left out of every mean and get zero entries, so
  a padded batch is served whole and gives the dense problem's beamformer.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from agents.learned.budget import adapt_power, snr_feature
from agents.learned.model import (
    PEER_UTILITIES,
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
from beamgym.utilities import UTILITIES


@dataclass(frozen=True)
class GnnConfig:
    """Architecture of a :class:`Gnn` model (each field is a training option)."""

    hidden: int = option(64, "F, the edge feature size")
    layers: int = option(6, "L, the edge-update layers (the last one is the output)")
    utility: str = option("sum_rate", "the utility it is trained for", choices=PEER_UTILITIES)

    def __post_init__(self) -> None:
        check_count("hidden", self.hidden)
        check_count("layers", self.layers)
        check_utility(self.utility, PEER_UTILITIES)


class EdgeUpdate(nn.Module):
    """One edge-update layer ``d W_self + mean_k' d W_antenna + mean_n' d W_user + b`` on
    ``[B, K, N, F]`` edges, the means over the active edges ``mask [B, K, N, 1]``."""

    def __init__(self, inputs: int, outputs: int) -> None:
        super().__init__()
        self.self_weight = nn.Linear(inputs, outputs)
        self.antenna_weight = nn.Linear(inputs, outputs, bias=False)
        self.user_weight = nn.Linear(inputs, outputs, bias=False)

    def forward(self, d: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        d = d * mask
        over_users = d.sum(1, keepdim=True) / mask.sum(1, keepdim=True).clamp_min(1)
        over_antennas = d.sum(2, keepdim=True) / mask.sum(2, keepdim=True).clamp_min(1)
        return (
            self.self_weight(d)
            + self.antenna_weight(over_users)  # the other users of the same antenna
            + self.user_weight(over_antennas)  # the same user's other antennas
        )


class Gnn(LearnedModel):
    """The edge GNN (module docstring); any K and N, padded batches served whole."""

    name = "gnn"
    Config = GnnConfig
    Draw = SizesDraw
    default_checkpoint = "gnn"

    def __init__(self, config: GnnConfig) -> None:
        super().__init__(config)
        widths = [3] + [config.hidden] * (config.layers - 1) + [3]
        self.edges = nn.ModuleList(
            EdgeUpdate(a, b) for a, b in zip(widths[:-1], widths[1:], strict=True)
        )
        self.full_power = UTILITIES[config.utility].full_power

    def forward(self, problem: Problem) -> torch.Tensor:
        H = problem.H
        batch, users, antennas = H.shape
        real = H.real.dtype
        mask = torch.ones(batch, users, antennas, 1, dtype=real, device=H.device)
        if problem.user_mask is not None:
            mask = mask * problem.user_mask[:, :, None, None]
        if problem.antenna_mask is not None:
            mask = mask * problem.antenna_mask[:, None, :, None]
        snr = snr_feature(problem.power, problem.noise_power).to(real)
        d = torch.cat(
            [H.real[..., None], H.imag[..., None], snr[:, None, None, None].expand_as(mask)], -1
        )
        for layer in self.edges[:-1]:
            d = torch.relu(layer(d, mask))
        out = self.edges[-1](d, mask) * mask
        raw = torch.complex(out[..., 0], out[..., 1]).mT  # [B, N, K]
        logit = None
        if not self.full_power:
            logit = out[..., 2].sum((1, 2)) / mask.sum((1, 2, 3))
        return adapt_power(raw, problem.power, self.full_power, logit)

    def draw(
        self, options: SizesDraw, sampler: Sampler, batch: int, step: int, steps: int
    ) -> Batch:
        return draw_task(sampler, options, batch, self.config.utility)
