"""UBERT, the multi-task model of BERT4beam (Li et al., arXiv 2509.11056): one model for every
utility, K and N, built on element tokens (one per user-antenna entry) and a task embedding.

One token per channel entry ``h_kn`` (user k, antenna n), a stack of axial attention blocks,
one output entry ``w_nk`` per token::

    t_kn  = [Re h_kn | Im h_kn | snr_db / 10 | a_k / mean_j a_j]         [B, K, N, 4]
    x_kn  = ELU(LayerNorm(t_kn W_in + b_in)) + e_task                     [B, K, N, F]
    x     = Block_L(... Block_1(x))
    Block:  x = LN(x + MHA over users   (k' -> k, same n))   "which users share antenna n"
            x = LN(x + MHA over antennas (n' -> n, same k))  "which entries make user k's beam"
            x = LN(x + FFN(x))                                GELU, post-LN as in BERT
    w_nk  = (x_kn W_re + b_re) + j (x_kn W_im + b_im)                     W [B, N, K]
    rho   = sigmoid(mean_kn (x_kn w_p + b_p))                             power fraction [B]
    W     = sqrt(P) W / ||W||_F                   rate utilities: the whole budget
          = sqrt(rho P) W / ||W||_F               energy efficiency (power_head; see below)

Decisions where the paper's text was not available to us:

* **How a token knows its user and antenna.** Not by an index embedding: by *where it is
  attended from* (axial attention). The tokens of a grid ``[K, N]``
  attend along one axis at a time; the user-axis attention mixes only tokens of the same
  antenna, the antenna-axis attention only tokens of the same user. So token ``(k, n)``
  first gathers its column (what every user sees on antenna n), then its row (user k's
  entries, each holding its own column): after one block it depends on the whole channel,
  and which of it is "my user" or "my antenna" is fixed by the attention pattern, not by a
  label. No table depends on K or N, hence the
  model is permutation-equivariant over users *and* over antennas (permuting users permutes
  the columns of W, permuting antennas its rows; tested) and takes any K and N. The cost is
  ``O(K N (K + N))`` per layer instead of ``O((K N)^2)`` for full attention over the grid.
* **Task embedding.** A learned vector per utility of :data:`beamgym.layout.TASKS` (the order
  of the environments' one-hot task field) is added to every token after the input module.
  Every utility has a row, whether or not a run trains it; a run records which it trained
  (its ``UbertDraw.utilities``) and the solver serves only those.
* **Weights.** The user weights of ``weighted_sum_rate`` enter every token of user k as
  ``a_k`` divided by the active users' mean (the optimum does not change when all weights are
  scaled); they are ones for the other utilities.
* **RZF features (option, off by default).** With ``rzf_features`` every token also carries
  its entry of the RZF beamformer ``H^H (H H^H + K sigma2 / P I)^{-1}`` (scaled to mean
  ``|entry|^2 = 1`` over the active entries), so the network refines a classical solution
  instead of having to compute a matrix inverse by attention. This departs from the paper's
  raw-CSI tokens but keeps both equivariances and the mask exactness (RZF of a padded
  problem is the dense sub-problem's RZF, zeros elsewhere). The ablation card
  ``agents/learned/checkpoints/ablations/ubert-trial.md`` measures it in a short run.
* **SNR, channel scale.** As BERT4beam (:mod:`agents.learned.bert4beam`): ``snr_db / 10`` is a
  feature, the channel enters unscaled.
* **Power adapter.** Rate utilities use the whole budget (sphere). For energy efficiency,
  which may transmit less, the parameter-free ball projection ``Pi_P(sqrt(P) W)`` of
  BERT4beam has a flaw: once ``||W||_F > 1`` the output no longer depends on the norm of
  ``W``, so no gradient can lower the power, and a network initialised above the budget
  stays at full power. With ``power_head`` (default) the power is a separate output instead,
  the fraction ``rho`` from the tokens' pooled third output, differentiable everywhere
  (the same ablation card measures it). ``power_head=False`` gives the paper-style adapter
  for ablations. Either way
  :func:`beamgym.downlink.project_power` makes the result exactly feasible.
* **Padding.** ``user_mask [B, K]`` and ``antenna_mask [B, N]`` remove padded users and antennas
  from the keys of the attention along their axis; their outputs are zero. Every other
  operation is per token, so an active token sees exactly its dense sub-problem.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from torch import nn

from agents.learned.budget import adapt_power, snr_feature
from agents.learned.model import (
    Batch,
    LearnedModel,
    Sampler,
    SizesDraw,
    draw_task,
    option,
)
from agents.problem import Problem
from beamgym.actions import regularized_directions
from beamgym.checks import check_count, check_multiple
from beamgym.layout import TASKS
from beamgym.utilities import UTILITIES

DEFAULT_TASKS: tuple[str, ...] = ("sum_rate", "min_rate", "energy_efficiency")
"""The paper's three tasks: what a UBERT run trains on unless told otherwise."""

TASK_SAMPLING = ("uniform", "random")
"""How a training step shares its batch among the tasks (:class:`UbertDraw`)."""

FEATURES = 4
"""Features of an element token: Re h, Im h, SNR / 10 dB, normalised user weight (and
Re w_rzf, Im w_rzf with ``rzf_features``)."""


@dataclass(frozen=True)
class UbertConfig:
    """Architecture of a :class:`Ubert` model; nothing depends on K, N or the utility. Each
    field's help text says what it sets (module docstring for the two options)."""

    hidden: int = option(64, "F, the token feature size")
    heads: int = option(4, "attention heads (both axes)")
    layers: int = option(3, "axial blocks")
    feedforward: int = option(128, "the FFN's inner size")
    rzf_features: bool = option(False, "tokens also carry the RZF beamformer's entries")
    power_head: bool = option(True, "energy efficiency's power is a learned budget fraction")

    def __post_init__(self) -> None:
        for name in ("hidden", "heads", "layers", "feedforward"):
            check_count(name, getattr(self, name))
        for name in ("rzf_features", "power_head"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be a bool, got {getattr(self, name)!r}")
        check_multiple("hidden", self.hidden, "heads", self.heads)


@dataclass(frozen=True)
class UbertDraw(SizesDraw):
    """UBERT's training batches: every step draws one K of ``users`` and one N of
    ``antennas`` for the whole batch and shares its samples among the tasks:

    * ``uniform`` (default; the paper's "uniform sampling"): equal shares, one per task
      (stratified), so every update sees every task;
    * ``random`` (the ablation): one task drawn uniformly for the whole batch.

    The user weights of ``weighted_sum_rate`` samples are i.i.d. uniform in (0, 1].
    """

    antennas: tuple[int, ...] = option((4, 8, 16), "the antenna counts N trained on")
    utilities: tuple[str, ...] = option(DEFAULT_TASKS, "the tasks trained on", choices=TASKS)
    task_sampling: str = option("uniform", "how a batch is shared", choices=TASK_SAMPLING)

    def __post_init__(self) -> None:
        super().__post_init__()
        unknown = [name for name in self.utilities if name not in TASKS]
        if not self.utilities or unknown or len(set(self.utilities)) != len(self.utilities):
            raise ValueError(
                f"utilities must be distinct names in {list(TASKS)}, got {self.utilities}"
            )
        if self.task_sampling not in TASK_SAMPLING:
            raise ValueError(
                f"task_sampling must be one of {list(TASK_SAMPLING)}, got {self.task_sampling!r}"
            )


def task_ids(utility: str | torch.Tensor, batch: int, device: torch.device) -> torch.Tensor:
    """Indices into :data:`~beamgym.layout.TASKS` ``[B]`` from a name or an index tensor."""
    if isinstance(utility, str):
        if utility not in TASKS:
            raise ValueError(f"utility must be one of {list(TASKS)}, got {utility!r}")
        return torch.full((batch,), TASKS.index(utility), dtype=torch.long, device=device)
    ids = torch.as_tensor(utility, device=device).long().expand(batch)
    if bool(((ids < 0) | (ids >= len(TASKS))).any()):
        raise ValueError(f"task ids must be in [0, {len(TASKS)}), got {ids.tolist()}")
    return ids


class AxialBlock(nn.Module):
    """Post-LN attention over users, then over antennas, then a GELU FFN, on ``[B, K, N, F]``."""

    def __init__(self, config: UbertConfig) -> None:
        super().__init__()
        f = config.hidden
        self.users = nn.MultiheadAttention(f, config.heads, batch_first=True)
        self.antennas = nn.MultiheadAttention(f, config.heads, batch_first=True)
        self.ffn = nn.Sequential(
            nn.Linear(f, config.feedforward), nn.GELU(), nn.Linear(config.feedforward, f)
        )
        self.norms = nn.ModuleList(nn.LayerNorm(f) for _ in range(3))

    @staticmethod
    def _attend(
        attention: nn.MultiheadAttention, x: torch.Tensor, padding: torch.Tensor | None
    ) -> torch.Tensor:
        """Self-attention along dim 2 of ``x [B, A, L, F]``; ``padding [B, L]`` marks pad keys."""
        batch, rows, length, features = x.shape
        flat = x.reshape(batch * rows, length, features)
        mask = None
        if padding is not None:
            mask = padding[:, None, :].expand(batch, rows, length).reshape(batch * rows, length)
        out, _ = attention(flat, flat, flat, key_padding_mask=mask, need_weights=False)
        return out.reshape(batch, rows, length, features)

    def forward(
        self,
        x: torch.Tensor,
        user_padding: torch.Tensor | None,
        antenna_padding: torch.Tensor | None,
    ) -> torch.Tensor:
        over_users = self._attend(self.users, x.transpose(1, 2), user_padding).transpose(1, 2)
        x = self.norms[0](x + over_users)
        x = self.norms[1](x + self._attend(self.antennas, x, antenna_padding))
        return self.norms[2](x + self.ffn(x))


class Ubert(LearnedModel):
    """The multi-task model (see the module docstring); ``forward`` returns feasible ``W``.
    A checkpoint serves the utilities it was trained on, at any K and N."""

    name = "ubert"
    Config = UbertConfig
    Draw = UbertDraw
    default_checkpoint = "ubert"

    def __init__(self, config: UbertConfig) -> None:
        super().__init__(config)
        self.input = nn.Sequential(
            nn.Linear(FEATURES + 2 * config.rzf_features, config.hidden),
            nn.LayerNorm(config.hidden),
            nn.ELU(),
        )
        self.task = nn.Embedding(len(TASKS), config.hidden)
        self.blocks = nn.ModuleList(AxialBlock(config) for _ in range(config.layers))
        self.output = nn.Linear(config.hidden, 2 + config.power_head)
        self.register_buffer(
            "full_power",
            torch.tensor([UTILITIES[name].full_power for name in TASKS]),
            persistent=False,
        )

    def forward(self, problem: Problem, tasks: torch.Tensor | None = None) -> torch.Tensor:
        """Beamformers ``[B, N, K]`` for ``problem`` (masks included), optimising its utility
        or, with ``tasks`` (indices into :data:`beamgym.layout.TASKS` ``[B]``), each sample's.
        The user weights count for ``weighted_sum_rate`` samples only (only their ratios
        matter); the other tasks' tokens carry ones."""
        H, power, noise_power = problem.H, problem.power, problem.noise_power
        user_mask, antenna_mask = problem.user_mask, problem.antenna_mask
        batch, users, antennas = H.shape
        real = H.real.dtype
        tasks = task_ids(problem.utility if tasks is None else tasks, batch, H.device)
        active = torch.ones(batch, users, dtype=real, device=H.device)
        if user_mask is not None:
            active = user_mask.to(real)
        weighted = (tasks == TASKS.index("weighted_sum_rate"))[:, None]
        weights = torch.where(weighted, problem.weights.to(real) * active, active)
        total = weights.sum(-1, keepdim=True).clamp_min(1e-12)
        weights = weights / total * active.sum(-1, keepdim=True)  # mean 1 over active users
        grid = (batch, users, antennas, 1)
        snr = snr_feature(power, noise_power).to(real)[:, None, None, None].expand(grid)
        features = [H.real, H.imag]
        if self.config.rzf_features:
            rzf = _rzf_entries(H, power, noise_power, user_mask, antenna_mask)
            features += [rzf.real, rzf.imag]
        tokens = torch.cat(
            [f[..., None] for f in features] + [snr, weights[:, :, None, None].expand(grid)],
            dim=-1,
        )
        x = self.input(tokens) + self.task(tasks)[:, None, None, :]
        user_padding = None if user_mask is None else ~user_mask.bool()
        antenna_padding = None if antenna_mask is None else ~antenna_mask.bool()
        for block in self.blocks:
            x = block(x, user_padding, antenna_padding)
        out = self.output(x)  # [B, K, N, 2 (+ 1)]
        active = torch.ones(batch, users, antennas, dtype=real, device=H.device)
        if user_mask is not None:
            active = active * user_mask[:, :, None]
        if antenna_mask is not None:
            active = active * antenna_mask[:, None, :]
        raw = torch.complex(out[..., 0] * active, out[..., 1] * active).mT  # [B, N, K]
        logit = None
        if self.config.power_head:
            logit = (out[..., 2] * active).sum((1, 2)) / active.sum((1, 2))
        return adapt_power(raw, power, self.full_power[tasks], logit)

    def draw(
        self, options: UbertDraw, sampler: Sampler, batch: int, step: int, steps: int
    ) -> Batch:
        tasks, generator = options.utilities, sampler.generator
        problem = draw_task(sampler, options, batch, tasks[0]).problem
        users = problem.num_users
        device = problem.H.device
        if options.task_sampling == "uniform":
            assignment = torch.arange(batch, device=device) % len(tasks)
        else:
            assignment = torch.full((batch,), sampler.shared(len(tasks)), device=device)
        if "weighted_sum_rate" in tasks:
            drawn = 1.0 - torch.rand(batch, users, generator=generator, device=device)
            weighted = assignment == tasks.index("weighted_sum_rate")
            problem = replace(problem, weights=torch.where(weighted[:, None], drawn, 1.0))
        ids = torch.tensor([TASKS.index(name) for name in tasks], device=device)
        return Batch(problem, tasks, assignment, {"tasks": ids[assignment]})

    def check_draw(self, options: UbertDraw, batch_size: int) -> None:
        super().check_draw(options, batch_size)
        if options.task_sampling == "uniform" and batch_size < len(options.utilities):
            raise ValueError(
                f"batch_size {batch_size} leaves some of {options.utilities} no sample"
            )

    def utilities(self, options: UbertDraw) -> tuple[str, ...]:
        return options.utilities


def _rzf_entries(
    H: torch.Tensor,
    power: torch.Tensor,
    noise_power: torch.Tensor,
    user_mask: torch.Tensor | None,
    antenna_mask: torch.Tensor | None,
) -> torch.Tensor:
    """RZF ``[B, K, N]`` (entry ``(k, n)`` is ``w_nk``) of the active sub-problem, scaled to mean
    ``|w|^2 = 1`` over the active entries, zero on padded ones."""
    batch, users, antennas = H.shape
    active = torch.ones(batch, users, antennas, dtype=H.real.dtype, device=H.device)
    if user_mask is not None:
        active = active * user_mask[:, :, None]
    if antenna_mask is not None:
        active = active * antenna_mask[:, None, :]
    H = H * active
    active_users = active.amax(-1).sum(-1)
    regularizer = (active_users * noise_power / power).to(H.real.dtype)
    entries = regularized_directions(H, regularizer).mT
    scale = (entries.abs() ** 2).sum((1, 2)) / active.sum((1, 2))
    return entries / scale.clamp_min(1e-30).sqrt()[:, None, None]
