"""BERT4beam (Li, Lu, Chen, Ai, Ding, Niyato, arXiv 2509.11056): beamforming as token learning.

One token per user, a stack of bidirectional (BERT) encoder blocks, one beamformer per user
(``research/bert4beam.md`` §3-4)::

    t_k   = [Re h_k | Im h_k | snr_db / 10]                      [B, K, 2N + 1]
    x     = ELU(LayerNorm(t W_in + b_in))                        [B, K, F]
    x     = TEB_L(... TEB_1(x))     post-LN blocks: MHA + GELU FFN, no positional encoding
    w_k   = (x_k W_re + b_re) + j (x_k W_im + b_im)              [B, K, N] -> W [B, N, K]
    W     = Pi_P(sqrt(P) W)                                      the power adapter (rates)
    rho   = sigmoid(mean_k (x_k w_p + b_p))                      energy efficiency only:
    W     = sqrt(rho P) W / ||W||_F                              a learned power fraction

Decisions where the paper's text was not available (each listed as open in the digest):

* **SNR.** The transmit SNR ``10 log10(P / sigma2)`` is a feature of every token (scaled by
  1/10), so one model serves an SNR range; the channel itself enters unscaled.
* **Power adapter.** For the rate utilities (full power is optimal for them) it is
  parameter-free: ``Pi_P`` is :func:`beamgym.downlink.project_power` onto the sphere
  ``||W||_F^2 = P``. Energy efficiency may transmit less. The paper-style ball projection
  ``Pi_P(sqrt(P) W)`` cannot learn that: once ``||W||_F > 1`` the output does not depend on
  the norm, no gradient lowers the power, and a network initialised above the budget stays
  at full power (UBERT's one-minute trial: 0.19 of Dinkelbach at 20 dB against 0.82 with a
  learned power). So an energy-efficiency model has one more output, the fraction ``rho``
  of the budget, pooled over the users' tokens, as UBERT (:mod:`agents.learned.ubert`).
* **Varying K.** No positional encoding, so the model is permutation-equivariant over users
  and takes any K; padded users are excluded from attention by a key-padding mask and get
  zero beamformers.
* **Adaptation** (paper: "re-configuring the input and output module"): the input and
  output modules depend on N and the power adapter on the utility; :func:`adapt` keeps the
  encoder and builds new ones for another N or utility, then the whole model is fine-tuned.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import torch
from torch import nn

from agents.learned.budget import adapt_power, snr_feature
from beamgym.checks import check_count, check_multiple
from beamgym.utilities import UTILITIES


@dataclass(frozen=True)
class Bert4beamConfig:
    """Architecture of a :class:`Bert4beam` model.

    Attributes:
        num_antennas: N, the token width is ``2N + 1``.
        utility: the utility it is trained for (sets the power adapter).
        hidden: F, the token feature size; heads: attention heads; layers: encoder blocks;
        feedforward: the FFN's inner size.
    """

    num_antennas: int = 8
    utility: str = "sum_rate"
    hidden: int = 128
    heads: int = 4
    layers: int = 4
    feedforward: int = 512

    def __post_init__(self) -> None:
        if self.utility not in UTILITIES:
            raise ValueError(f"utility must be one of {list(UTILITIES)}, got {self.utility!r}")
        for name in ("num_antennas", "hidden", "heads", "layers", "feedforward"):
            check_count(name, getattr(self, name))
        check_multiple("hidden", self.hidden, "heads", self.heads)

    def to_dict(self) -> dict:
        return asdict(self)


class Bert4beam(nn.Module):
    """The single-task model (see the module docstring); ``forward`` returns feasible ``W``."""

    def __init__(self, config: Bert4beamConfig) -> None:
        super().__init__()
        self.config = config
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

    def forward(
        self,
        H: torch.Tensor,
        power: torch.Tensor,
        noise_power: torch.Tensor,
        user_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Beamformers ``[B, N, K]`` for channels ``H [B, K, N]``.

        Args:
            H: complex64 channels; power, noise_power: ``[B]``; user_mask: bool ``[B, K]``
                (``None``: all users active).
        """
        batch, users, antennas = H.shape
        if antennas != self.config.num_antennas:
            raise ValueError(
                f"this model has N={self.config.num_antennas} antennas, got H with N={antennas}"
            )
        snr = snr_feature(power, noise_power)[:, None, None].expand(batch, users, 1)
        tokens = torch.cat([H.real, H.imag, snr.to(H.real.dtype)], dim=-1)
        padding = None if user_mask is None else ~user_mask
        features = self.encoder(self.input(tokens), src_key_padding_mask=padding)
        out = self.output(features)
        raw = torch.complex(out[..., :antennas], out[..., antennas:]).mT
        logit = None
        if user_mask is not None:
            raw = raw * user_mask[:, None, :]
        if self.power is not None:
            active = torch.ones_like(features[..., 0]) if user_mask is None else user_mask
            per_user = self.power(features)[..., 0] * active
            logit = per_user.sum(-1) / active.sum(-1)
        return adapt_power(raw, power, self.full_power, logit)


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
