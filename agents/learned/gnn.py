"""GNN: the edge-update graph neural network for precoding of Peng, Guo and Yang ("Learning
resource allocation policy: vertex-GNN or edge-GNN?", IEEE Trans. Mach. Learn. Commun. Netw.
2, 2024; Zhao, Guo, Yang, "Learning precoding policy: CNN or GNN?", IEEE WCNC 2022), with the
channel-weighted aggregation that Guo and Yang ("A model-based GNN for learning precoding",
arXiv:2212.00860, 2022) derive from the Taylor series of the pseudo-inverse.

The downlink is a bipartite graph of the N antennas and the K users; the edge (k, n) carries
the channel entry ``h_kn`` and, at the output, the beamformer entry ``W[n, k]``. Each layer
updates every edge from itself, the edges it shares an antenna with (the other users of
antenna n) and the edges it shares a user with (user k's other antennas), with weights shared
by all edges, so the model is permutation-equivariant over users and over antennas (permuting
either permutes W's columns or rows) and takes any K and N::

    d_kn^0 = [Re h_kn, Im h_kn, snr_db / 10]                                   [B, K, N, 3]
    c_kn   = d_kn[:F/2] + j d_kn[F/2:]           the features' complex view (input: d_kn)
    G = H H^H / N,  A = H^T H^* / K              the users' and the antennas' Gram matrices
    m_kn   = [sum_k' G_kk' c_k'n, sum_k' G*_kk' c_k'n, sum_n' A_nn' c_kn', sum_n' A*_nn' c_kn']
    d_kn^l = ReLU(d_kn W_self + mean_k' d_k'n W_antenna + mean_n' d_kn' W_user
                  + [Re m_kn, Im m_kn] W_gram + b)                            (l < L)
    W[n, k] = (d_kn^L)_1 + j (d_kn^L)_2          the last layer linear, 2 outputs per edge
    W       = Pi_P(sqrt(P) W)                    the power adapter (rates)
    rho     = sigmoid(mean_kn (d_kn^L)_3)        energy efficiency: a learned budget fraction

Decisions where the papers leave a choice or where beamgym differs:

* **Gram-weighted aggregation.** The vanilla edge GNN (the means only, ``--no-gram``) pools
  every neighbouring edge with the same weight, and Guo and Yang show that it cannot learn the
  pseudo-inverse of the channel well when K and N grow. Their remedy weights each neighbour by
  the channel: a Taylor term of ``(H H^H)^-1`` multiplies by the Gram matrix. We add the four
  Gram-weighted sums above (G and its conjugate, as a real layer cannot conjugate a complex
  weight) to the paper's means, with their own weights. Trained alike (512,000 samples at
  K = N = 8, ``python scripts/equal_budget.py``), the vanilla model reaches 57.6 % of WMMSE's
  sum rate at K = N = 8, 10 dB and this one 91.0 % (RZF: 85.5 %). Their exact layer (which
  neighbour weights, how many Taylor terms) is not followed: this is our reading of the idea,
  on the edge GNN above.
* **Pooling.** The mean over the neighbouring edges, the edge itself included (the papers
  discuss sum, mean and max pooling); the mean keeps the features' scale when K or N change,
  which is what lets one model serve other sizes; the Gram matrices are normalised by the
  active N and K for the same reason.
* **SNR.** The transmit SNR is a feature of every edge, so one model serves an SNR range (the
  papers train at one power).
* **Training.** Unsupervised on minus the beamgym utility relative to RZF, as every learned
  model here; the power adapter and the energy-efficiency fraction are those of BERT4beam.
* **Scale.** The Gram products grow with the fourth power of the channel over the layers, so
  a channel with entries beyond :data:`PEAK_ENTRY` is served as the equivalent problem of
  largest entry 1 (the SNR feature carries the gain); no training channel is near it.
* **Padding.** Padded users and antennas are left out of every mean and get zero entries (and
  zero Gram entries), so a padded batch is served whole and gives the dense problem's
  beamformer.
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

PEAK_ENTRY = 1e3
"""A channel whose largest ``|h_kn|`` exceeds this (far beyond any training draw) is scaled
to a largest entry of 1, its SNR feature raised to match: ``(H / c, c^2 P)`` has the same
rates, and the Gram-weighted layers stay finite."""


@dataclass(frozen=True)
class GnnConfig:
    """Architecture of a :class:`Gnn` model (each field is a training option)."""

    hidden: int = option(64, "F, the edge feature size")
    layers: int = option(6, "L, the edge-update layers (the last one is the output)")
    gram: bool = option(
        True, "weight the aggregations by the channel Gram matrices (no: the vanilla edge GNN)"
    )
    utility: str = option("sum_rate", "the utility it is trained for", choices=PEER_UTILITIES)

    def __post_init__(self) -> None:
        check_count("hidden", self.hidden)
        check_count("layers", self.layers)
        check_utility(self.utility, PEER_UTILITIES)


def complex_view(d: torch.Tensor) -> torch.Tensor:
    """``[..., F]`` real features as complex ones: the first half real parts, the second
    imaginary (``[..., F / 2]``); an odd ``F`` (the input layer's 3) as ``F`` real ones."""
    half = d.shape[-1] // 2
    if d.shape[-1] % 2:
        return torch.complex(d, torch.zeros_like(d))
    return torch.complex(d[..., :half], d[..., half:])


class EdgeUpdate(nn.Module):
    """One edge-update layer on ``[B, K, N, F]`` edges (module docstring): the edge itself,
    the means over the active edges ``mask [B, K, N, 1]`` of the same antenna and of the same
    user and, with ``gram``, the Gram-weighted sums over them (the Gram matrices ``G [B, K,
    K]`` and ``A [B, N, N]`` of :meth:`Gnn.forward`)."""

    def __init__(self, inputs: int, outputs: int, gram: bool) -> None:
        super().__init__()
        self.self_weight = nn.Linear(inputs, outputs)
        self.antenna_weight = nn.Linear(inputs, outputs, bias=False)
        self.user_weight = nn.Linear(inputs, outputs, bias=False)
        complex_features = inputs if inputs % 2 else inputs // 2
        # G c, conj(G) c, c A, c conj(A): 4 complex messages as 8 real blocks
        self.gram_weight = nn.Linear(8 * complex_features, outputs, bias=False) if gram else None

    def forward(
        self,
        d: torch.Tensor,
        mask: torch.Tensor,
        G: torch.Tensor | None,
        A: torch.Tensor | None,
    ) -> torch.Tensor:
        d = d * mask
        over_users = d.sum(1, keepdim=True) / mask.sum(1, keepdim=True).clamp_min(1)
        over_antennas = d.sum(2, keepdim=True) / mask.sum(2, keepdim=True).clamp_min(1)
        out = (
            self.self_weight(d)
            + self.antenna_weight(over_users)  # the other users of the same antenna
            + self.user_weight(over_antennas)  # the same user's other antennas
        )
        if self.gram_weight is None:
            return out
        c = complex_view(d)  # [B, K, N, C]
        messages = [
            torch.einsum("bkj,bjnc->bknc", G, c),  # over the users of antenna n
            torch.einsum("bkj,bjnc->bknc", G.conj(), c),
            torch.einsum("bmn,bknc->bkmc", A, c),  # over the antennas of user k
            torch.einsum("bmn,bknc->bkmc", A.conj(), c),
        ]
        return out + self.gram_weight(
            torch.cat([torch.view_as_real(m).flatten(-2) for m in messages], -1)
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
            EdgeUpdate(a, b, config.gram) for a, b in zip(widths[:-1], widths[1:], strict=True)
        )
        self.full_power = UTILITIES[config.utility].full_power

    def forward(self, problem: Problem) -> torch.Tensor:
        batch, users, antennas = problem.H.shape
        real = problem.H.real.dtype
        mask = torch.ones(batch, users, antennas, 1, dtype=real, device=problem.H.device)
        if problem.user_mask is not None:
            mask = mask * problem.user_mask[:, :, None, None]
        if problem.antenna_mask is not None:
            mask = mask * problem.antenna_mask[:, None, :, None]
        # a channel far outside training is served as the same problem (H / c, c^2 P): the
        # Gram products of its raw entries would overflow
        peak = problem.H.abs().amax((1, 2))
        shrink = torch.where(peak > PEAK_ENTRY, peak, torch.ones_like(peak))
        snr = snr_feature(problem.power, problem.noise_power).to(real)
        snr = snr + 2 * torch.log10(shrink)
        H = problem.H / shrink[:, None, None] * mask[..., 0]  # padded entries zero
        d = torch.cat(
            [H.real[..., None], H.imag[..., None], snr[:, None, None, None].expand_as(mask)], -1
        )
        active_users = mask.sum((1, 3)).amax(1).clamp_min(1)[:, None, None]  # [B, 1, 1]
        active_antennas = mask.sum((2, 3)).amax(1).clamp_min(1)[:, None, None]
        G = A = None  # the Gram matrices, computed only where the layers use them
        if self.config.gram:
            G = H @ H.mH / active_antennas  # the users' (padded entries zero)
            A = H.mT @ H.conj() / active_users  # the antennas'
        for layer in self.edges[:-1]:
            d = torch.relu(layer(d, mask, G, A))
        out = self.edges[-1](d, mask, G, A) * mask
        raw = torch.complex(out[..., 0], out[..., 1]).mT  # [B, N, K]
        logit = None
        if not self.full_power:
            logit = out[..., 2].sum((1, 2)) / mask.sum((1, 2, 3))
        return adapt_power(raw, problem.power, self.full_power, logit)

    def draw(
        self, options: SizesDraw, sampler: Sampler, batch: int, step: int, steps: int
    ) -> Batch:
        return draw_task(sampler, options, batch, self.config.utility)
