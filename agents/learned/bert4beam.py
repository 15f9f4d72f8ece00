"""BERT4beam (Li, Lu, Chen, Ai, Ding, Niyato, arXiv 2509.11056): beamforming as token learning.

One token per user, a stack of bidirectional (BERT) encoder blocks, one beamformer per user
(the paper's tokenisation and architecture)::

    t_k   = [Re h_k | Im h_k | snr_db / 10]                      [B, K, 2N + 1]
    x     = ELU(LayerNorm(t W_in + b_in))                        [B, K, F]
    x     = TEB_L(... TEB_1(x))     post-LN blocks: MHA + GELU FFN, no positional encoding
    w_k   = (x_k W_re + b_re) + j (x_k W_im + b_im)              [B, K, N] -> W [B, N, K]
    W     = Pi_P(sqrt(P) W)                                      the power adapter (rates)
    rho   = sigmoid(mean_k (x_k w_p + b_p))                      energy efficiency only:
    W     = sqrt(rho P) W / ||W||_F                              a learned power fraction

Decisions where the paper's text was not available to us:

* **SNR.** The transmit SNR ``10 log10(P / sigma2)`` is a feature of every token (scaled by
  1/10), so one model serves an SNR range; the channel itself enters unscaled.
* **Power adapter.** For the rate utilities (full power is optimal for them) it is
  parameter-free: ``Pi_P`` is :func:`beamgym.downlink.project_power` onto the sphere
  ``||W||_F^2 = P``. Energy efficiency may transmit less. The paper-style ball projection
  ``Pi_P(sqrt(P) W)`` cannot learn that: once ``||W||_F > 1`` the output does not depend on
  the norm, no gradient lowers the power, and a network initialised above the budget stays
  at full power. So an energy-efficiency model has one more output, the fraction ``rho``
  of the budget, pooled over the users' tokens, as UBERT (:mod:`agents.learned.ubert`).
* **Varying K.** No positional encoding, so the model is permutation-equivariant over users
  and takes any K; padded users are excluded from attention by a key-padding mask and get
  zero beamformers.
* **Adaptation** (paper: "re-configuring the input and output module"): the input and
  output modules depend on N and the power adapter on the utility; :func:`adapt` keeps the
  encoder and builds new ones for another N or utility, then the whole model is fine-tuned.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch
from torch import nn

from agents.learned.budget import adapt_power, snr_feature
from agents.learned.model import (
    Batch,
    Draw,
    LearnedModel,
    Sampler,
    check_utility,
    draw_task,
    option,
)
from agents.problem import Problem
from beamgym.checks import check_count, check_multiple
from beamgym.downlink import project_power
from beamgym.utilities import UTILITIES


@dataclass(frozen=True)
class Bert4beamConfig:
    """Architecture of a :class:`Bert4beam` model; each field's help text says what it sets
    (every field is an option of the training command line)."""

    num_antennas: int = option(8, "N, the antennas it serves at most (token width 2N + 1)")
    utility: str = option("sum_rate", "the utility it is trained for", choices=tuple(UTILITIES))
    hidden: int = option(128, "F, the token feature size")
    heads: int = option(4, "attention heads")
    layers: int = option(4, "encoder blocks")
    feedforward: int = option(512, "the FFN's inner size")

    def __post_init__(self) -> None:
        check_utility(self.utility, tuple(UTILITIES))
        for name in ("num_antennas", "hidden", "heads", "layers", "feedforward"):
            check_count(name, getattr(self, name))
        check_multiple("hidden", self.hidden, "heads", self.heads)


class Bert4beam(LearnedModel):
    """The single-task model (see the module docstring); ``forward`` returns feasible ``W``.

    It serves its utility at any K and at N up to ``num_antennas``: a smaller array is the
    model's array with the missing antennas last and silent (zero channel, zero beamformer
    rows), as a padded observation would be. Training draws one K of ``users`` per step
    for the whole batch, at the model's N.
    """

    name = "bert4beam"
    Config = Bert4beamConfig
    default_checkpoint = "bert4beam-sum_rate-N8"
    variants = "bert4beam-*.json"
    reads_masks = False  # a padded antenna would not be silent: the solver groups by pattern

    def __init__(self, config: Bert4beamConfig) -> None:
        super().__init__(config)
        self.input = nn.Sequential(
            nn.Linear(2 * config.num_antennas + 1, config.hidden),
            nn.LayerNorm(config.hidden),
            nn.ELU(),
        )
        block = nn.TransformerEncoderLayer(
            config.hidden,
            config.heads,
            config.feedforward,
            dropout=0.0,
            activation="gelu",
            batch_first=True,
        )
        self.encoder = nn.TransformerEncoder(block, config.layers, enable_nested_tensor=False)
        self.output = nn.Linear(config.hidden, 2 * config.num_antennas)
        self.full_power = UTILITIES[config.utility].full_power
        self.power = None if self.full_power else nn.Linear(config.hidden, 1)

    def forward(self, problem: Problem) -> torch.Tensor:
        """Beamformers ``[B, N, K]`` for ``problem`` (``N <= num_antennas``; its user mask,
        if any, is a key-padding mask of the attention)."""
        batch, users, antennas = problem.H.shape
        width = self.config.num_antennas
        if antennas > width:
            raise ValueError(f"this model has N={width} antennas, got H with N={antennas}")
        H = nn.functional.pad(problem.H, (0, width - antennas))
        power, user_mask = problem.power, problem.user_mask
        snr = snr_feature(power, problem.noise_power)[:, None, None].expand(batch, users, 1)
        tokens = torch.cat([H.real, H.imag, snr.to(H.real.dtype)], dim=-1)
        padding = None if user_mask is None else ~user_mask
        features = self.encoder(self.input(tokens), src_key_padding_mask=padding)
        out = self.output(features)
        raw = torch.complex(out[..., :width], out[..., width:]).mT
        logit = None
        if user_mask is not None:
            raw = raw * user_mask[:, None, :]
        if self.power is not None:
            active = torch.ones_like(features[..., 0]) if user_mask is None else user_mask
            per_user = self.power(features)[..., 0] * active
            logit = per_user.sum(-1) / active.sum(-1)
        W = adapt_power(raw, power, self.full_power, logit)[:, :antennas]
        return project_power(W, power, full_power=self.full_power)  # the silent rows dropped

    def draw(self, options: Draw, sampler: Sampler, batch: int, step: int, steps: int) -> Batch:
        return draw_task(sampler, options, batch, self.config.utility, self.config.num_antennas)

    def start_from(self, source: LearnedModel) -> None:
        """The paper's adaptation (:func:`adapt`) of a trained BERT4beam to this model's N
        and utility; every other setting must match."""
        if not isinstance(source, Bert4beam):
            raise ValueError(f"init_from: a bert4beam run cannot start from a {source.name}")
        adapted = adapt(source, self.config.num_antennas, self.config.utility)
        if adapted.config != self.config:
            raise ValueError(
                f"init_from: the checkpoint has the architecture {source.config}, "
                f"which cannot become {self.config}"
            )
        self.load_state_dict(adapted.state_dict())

    def limits(self) -> tuple[float, float]:
        return math.inf, self.config.num_antennas

    def trained_sizes(self, options: Draw) -> tuple[tuple[int, int], ...]:
        return tuple((k, self.config.num_antennas) for k in options.users)


def adapt(
    model: Bert4beam, num_antennas: int | None = None, utility: str | None = None
) -> Bert4beam:
    """A copy of ``model`` for another antenna count and/or utility.

    The encoder blocks are copied (pretrained); the input and output modules are kept when N
    is unchanged and newly initialised otherwise; the utility only changes the power adapter
    (an energy-efficiency model's power output is new unless ``model`` has one).
    Fine-tune the result on the new task (all parameters train).
    """
    config = replace(
        model.config,
        num_antennas=num_antennas or model.config.num_antennas,
        utility=utility or model.config.utility,
    )
    adapted = Bert4beam(config)
    adapted.encoder.load_state_dict(model.encoder.state_dict())
    if config.num_antennas == model.config.num_antennas:
        adapted.input.load_state_dict(model.input.state_dict())
        adapted.output.load_state_dict(model.output.state_dict())
    if adapted.power is not None and model.power is not None:
        adapted.power.load_state_dict(model.power.state_dict())
    return adapted
