"""SALLO-M (Zhang, Liu, Wang, arXiv 2510.13077 v3): a semi-amortized, lifted learning-to-optimize
masked transformer for beamforming at any K and N up to its padded size M = K_max = N_max.

The model is an unrolled optimiser over the pair ``(C, W)``: a *lifted* auxiliary variable
``C [B, K, N]``, initialised to the channel, and the beamformer ``W [B, N, K]``, initialised to
RZF (the paper, and for the layer's details the first author's public code,
github.com/FredZhang0413/ICL_pilot_precoding)::

    C(0) = H,   W(0) = RZF(H) = Pi_P(H^H (H H^H + K sigma2 / P I)^{-1})
    for l = 1..L:                                           L untied layers
        X_u = [Re C; Im C; Re W^T; Im W^T]                  user stream    [B, 4M, M]
        X_a = [Re C^T; Im C^T; Re W; Im W]                  antenna stream [B, 4M, M]
        (C_u, W_u), (C_a, W_a) = Block_u(X_u), Block_a(X_a)
        C(l), W~ = (C_u + C_a^T) / 2, Pi_P((W_u + W_a^T) / 2)           transformer proposal
        W(l) = T steps of  W <- Pi_P(W + eta_lt D(W)),  D(W) = sqrt(P) G / ||G||_F,
               G = dU(H, W)/dW*                     projected gradient ascent on the TRUE U
    refinement (optional, ``refine_steps`` R > 0): from v = 0, R heavy-ball steps
        v <- beta v + eta_r D(W),   W <- Pi_P(W + v)
    Block (one stream, tokens x of width t):
        z = LN(x W_e) + e_type + e_snr;  a = MHSA(z) (key mask)        e -> d_model
        y = x + Collector(a)            Collector: d -> 4t -> 2t -> t, GELU
        (the last linear map of every residual branch starts at zero: an untrained layer
        proposes its input, so the untrained model is RZF followed by the ascent)
        C-part: y + LN_t(MLP(LN_t(y)));  W-part: y + MLP(LN_t(y))       MLP: t -> 4t -> 4t -> t

Training back-propagates through the gradient steps (second order, ``create_graph``), which is
what makes it *semi-amortized*: the network learns proposals that the steps improve most.

Decisions where the paper's text was not available to us (every one is a field of
:class:`SalloConfig`):

* **Sizes.** ``K_max = N_max = M = 16`` (``size``): with a square padding both streams have
  ``4M`` tokens of width ``M`` and run as one batched computation (one weight set per
  stream, :class:`~agents.learned.sallo_layer.PairedLinear`), half the operations of two
  passes. 6 layers, 3 gradient steps each, embedding 32, attention width 64 (the author's 10
  layers of width 768 do not train on a 2-core CPU).
* **Token identity.** Re/Im and C/W tokens are separate (the paper's layout), so a learned
  type embedding (4 vectors) is added after the embedding: attention alone cannot tell
  ``Re c_k`` from ``Im w_k``. The SNR ``10 log10(P / sigma2) / 10`` enters as a learned
  vector scaled by it; C enters at the channel's scale, W as ``W sqrt(K N / P)`` (entries of
  order one whatever the budget).
* **Permutation equivariance over users.** The antenna stream's tokens list the users by
  position, so the paper's model is not equivariant. This one is, by
  canonicalisation: the active users are sorted by channel gain ``||h_k||`` (strongest
  first, padded users last), solved, and the columns of ``W`` put back, so permuting the
  users of ``H`` permutes the columns of ``W`` exactly (ties have probability zero). The
  antenna order is kept: it has a meaning (array geometry) and padded antennas may sit
  anywhere (the training draws them at random positions, the paper's random masking).
* **Steps.** Normalised: ``W <- Pi_P(W + eta sqrt(P) G / ||G||_F)`` with ``G`` the conjugate
  Wirtinger gradient of the utility, from beamgym's closed-form rate gradient
  (:func:`beamgym.downlink.rate_gradient`: one pass instead of an autograd pass, and
  back-propagating through it costs one pass, not a double backward), so ``eta`` is the
  step's length relative to ``||W||_F``. The author's plain step ``eta P G`` (eta =
  1.75e-2, fixed) does not carry across SNRs: near zero forcing the gradient grows with the
  SNR, so a length that gains at 10 dB overshoots at 20 dB; a normalised step's length means
  the same at every SNR. ``eta_lt = step_size exp(a_lt + b_lt snr_db / 10)``: learned per layer and step, and
  with the SNR (``a = b = 0`` at initialisation).
* **Refinement** (not in the paper; ``refine_steps = 0`` is the paper's model). Plain
  normalised ascent is slow where the sum rate is ill-conditioned (K near N at high SNR),
  and heavy-ball (Polyak) momentum is the classical cure: the model may end in R such steps
  with learned lengths ``eta_r = refine_step_size exp(a_r + b_r snr_db / 10)`` (``a = b =
  0`` at initialisation) and a fixed ``momentum`` beta. They run only when the last layer
  does, and cost little beside a layer at large batches (no attention), but add to the
  batch-1 latency. A trained model gains one by fine-tuning (:func:`with_refinement`,
  ``agents.learned.training --init-from``, which can also change the utility); the shipped card
  scores the model against the same layers without a refinement and with an untrained one.
* **Masks.** ``H`` is zeroed outside the active block; padded users and antennas are removed
  from the attention keys of their stream; ``C`` and ``W`` are re-zeroed there after every
  proposal and gradient step, so padded entries take no power and the active users' rates
  are those of the dense sub-problem.
* **Utilities.** The gradient steps need only a differentiable utility, so a model is built
  for any utility of :data:`beamgym.UTILITIES` that needs no per-user weights (``utility``;
  the weights are not an input); padded users are masked out of it. Rate utilities project
  onto the sphere ``||W||_F^2 = P``, energy efficiency onto the ball. For the min rate the
  steps ascend a smooth surrogate, the soft-min with ``t = softmin`` (its subgradient, the
  weakest user's gradient alone, zigzags); training still maximises the min rate itself.
* **Ablations** (the paper's): ``gradient_steps=0`` (no PGA), ``lifted=False`` (C stays H),
  ``streams="users"`` or ``"antennas"`` (one stream); and ``refine_steps=0`` (this one's).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch
from torch import nn
from torch.nn import functional as F

from agents.classical.linear import rzf_beamformer
from agents.learned.budget import snr_feature
from agents.learned.curriculum import Schedule, draw_padded_problems, size_pairs
from agents.learned.model import Batch, Draw, LearnedModel, Sampler, check_sizes, option
from agents.learned.sallo_layer import SalloLayer
from agents.problem import Problem
from beamgym.arrays import abs2
from beamgym.channels import CHANNELS
from beamgym.checks import check_count, check_multiple, check_number
from beamgym.downlink import project_power, rate_gradient, rates, transmit_power
from beamgym.utilities import UTILITIES, utility

STREAMS = ("both", "users", "antennas")
"""Which token streams a layer has: the paper's two, or one of them (ablation)."""

DRAWN = tuple(name for name in CHANNELS if name != "file")
"""The channel models training can draw from (every registered one but file replay)."""

SERVED = tuple(name for name in UTILITIES if name != "weighted_sum_rate")
"""The utilities a model can be built for: every one that needs no per-user weights."""

FINE_TUNABLE = (
    "utility",
    "refine_steps",
    "momentum",
    "refine_step_size",
    "softmin",
    "second_order",
)
"""The fields a fine-tuning start (:func:`with_refinement`) may change: none alters a
weight's shape."""


@dataclass(frozen=True)
class SalloConfig:
    """Architecture of a :class:`Sallo` model (module docstring); each field's help text says
    what it sets."""

    size: int = option(16, "M = K_max = N_max, the padded size: it serves K, N <= M")
    utility: str = option(
        "sum_rate", "the utility its steps ascend and training maximises", choices=SERVED
    )
    layers: int = option(6, "L, untied SALLO layers")
    embed: int = option(32, "e, the token embedding width")
    model_dim: int = option(64, "d_model, the attention width")
    heads: int = option(4, "attention heads")
    gradient_steps: int = option(3, "T, projected gradient-ascent steps per layer")
    step_size: float = option(0.02, "the steps' initial length eta")
    lifted: bool = option(True, "the layers update C (no: C stays H, the ablation)")
    streams: str = option("both", "the token streams of a layer", choices=STREAMS)
    second_order: bool = option(True, "back-propagate through the gradient of the steps")
    refine_steps: int = option(0, "R heavy-ball steps after the last layer (0: the paper's)")
    momentum: float = option(0.9, "the refinement's heavy-ball beta")
    refine_step_size: float = option(0.01, "the refinement's initial eta")
    softmin: float = option(10.0, "t of the min rate's soft-min the steps ascend (per bit/s/Hz)")

    def __post_init__(self) -> None:
        if self.utility not in SERVED:
            raise ValueError(
                f"utility must be one of {list(SERVED)} (per-user weights are not an input "
                f"of this model), got {self.utility!r}"
            )
        for name in ("size", "layers", "embed", "model_dim", "heads"):
            check_count(name, getattr(self, name))
        check_count("gradient_steps", self.gradient_steps, minimum=0)
        check_count("refine_steps", self.refine_steps, minimum=0)
        check_number("step_size", self.step_size, 1e-6, 10.0)
        check_number("refine_step_size", self.refine_step_size, 1e-6, 10.0)
        check_number("momentum", self.momentum, 0.0, 1.0, closed=False)
        check_number("softmin", self.softmin, 1e-3, 1e3)
        check_multiple("model_dim", self.model_dim, "heads", self.heads)
        if self.streams not in STREAMS:
            raise ValueError(f"streams must be one of {list(STREAMS)}, got {self.streams!r}")


def sort_users(H: torch.Tensor, users: torch.Tensor) -> torch.Tensor:
    """The canonical user order ``[B, K]``: active users by decreasing ``||h_k||``, then the
    padded ones (the model's permutation equivariance, module docstring)."""
    gain = abs2(H).sum(-1)
    key = torch.where(users, gain, torch.full_like(gain, -1.0))
    return torch.argsort(key, dim=-1, descending=True, stable=True)


@dataclass(frozen=True)
class SalloDraw(Draw):
    """SALLO-M's training batches (:mod:`agents.learned.curriculum`): every sample has its
    own ``(K, N)`` with ``K <= max_load N``, from the sliding-window and curriculum
    schedule, padded to the model's ``size`` with users and antennas at random positions,
    its channel from one of ``channels``; the loss is at the window's last layer."""

    users: tuple[int, ...] = option(tuple(range(2, 17)), "the user counts K trained on (2..size)")
    antennas: tuple[int, ...] = option(tuple(range(2, 17)), "the antenna counts N (2..size)")
    window: int = option(0, "the sliding window over the layers (0: all at once)")
    stages: tuple[int, ...] = option((), "curriculum stages: the largest max(K, N) of each")
    replay: float = option(0.0, "the share of every batch drawn from earlier stages")
    max_load: float = option(1.5, "the largest K / N drawn")
    channels: tuple[str, ...] = option(("rayleigh",), "the channel models drawn", choices=DRAWN)

    def __post_init__(self) -> None:
        super().__post_init__()
        check_sizes("antennas", self.antennas)
        check_number("max_load", self.max_load, 1e-6, math.inf)
        unknown = [name for name in self.channels if name not in DRAWN]
        if not self.channels or unknown:
            raise ValueError(f"channels must be names in {list(DRAWN)}, got {self.channels}")


class Sallo(LearnedModel):
    """The SALLO-M model (module docstring); ``forward`` returns feasible ``W [B, N, K]``.
    Trained on batches padded to ``size x size``, it serves its utility at any
    ``K, N <= size`` and reads padded batches itself (its padded entries take no power)."""

    name = "sallo-m"
    Config = SalloConfig
    Draw = SalloDraw
    default_checkpoint = "sallo-m"
    variants = "sallo-m-*_*.json"
    """``sallo-m-<utility>``: every utility's name has an underscore, and ``sallo-m-base`` (the
    pretrained start of the fine-tuned models) is not a variant."""

    def __init__(self, config: SalloConfig) -> None:
        super().__init__(config)
        self.blocks = nn.ModuleList(SalloLayer(config) for _ in range(config.layers))
        self.log_steps = nn.Parameter(torch.zeros(config.layers, config.gradient_steps))
        self.snr_steps = nn.Parameter(torch.zeros(config.layers, config.gradient_steps))
        if config.refine_steps:  # absent at 0: the paper's model, and checkpoints without one
            self.refine_eta = nn.Parameter(torch.zeros(2, config.refine_steps))
        self.full_power = UTILITIES[config.utility].full_power

    def forward(self, problem: Problem, window: tuple[int, int] | None = None) -> torch.Tensor:
        """Beamformers ``[B, N, K]`` for ``problem`` with ``K, N <= size`` (masks included).

        Args:
            problem: complex64 channels and their budgets (the model's own utility is
                optimised whatever ``problem.utility`` says).
            window: ``(first, end)``: run layers ``0..end-1`` and let gradients reach only
                layers ``first..end-1`` (sliding-window training); default all layers.
        """
        H, power, noise_power = problem.H, problem.power, problem.noise_power
        user_mask, antenna_mask = problem.user_mask, problem.antenna_mask
        batch, num_users, num_antennas = H.shape
        config = self.config
        if num_users > config.size or num_antennas > config.size:
            raise ValueError(
                f"this model serves K <= {config.size} users and N <= {config.size} antennas, "
                f"got H with K={num_users}, N={num_antennas}"
            )
        if user_mask is None:
            user_mask = torch.ones(batch, num_users, dtype=torch.bool, device=H.device)
        if antenna_mask is None:
            antenna_mask = torch.ones(batch, num_antennas, dtype=torch.bool, device=H.device)
        order = sort_users(H, user_mask)
        users = torch.gather(user_mask, 1, order)
        H = torch.gather(H, 1, order[:, :, None].expand_as(H))
        H = F.pad(H, (0, config.size - num_antennas, 0, config.size - num_users))
        users = F.pad(users, (0, config.size - num_users))
        antennas = F.pad(antenna_mask, (0, config.size - num_antennas))
        # the smallest square block holding every active entry: the rest is padding in every
        # sample, and leaving it out changes nothing (masked keys, per-token maps) but the cost
        used = max(int(users.sum(-1).max()), int(torch.nonzero(antennas)[:, 1].max()) + 1)
        H, users, antennas = H[:, :used, :used], users[:, :used], antennas[:, :used]
        active = users[:, :, None] & antennas[:, None, :]  # [B, S, S]
        H = H * active
        W = self._optimise(H, power, noise_power, users, antennas, active, window)
        # back to [B, N, K]: crop or zero-pad (negative padding crops)
        W = F.pad(W, (0, num_users - W.shape[-1], 0, num_antennas - W.shape[-2]))
        return torch.empty_like(W).scatter_(2, order[:, None, :].expand_as(W), W)

    @classmethod
    def default_draw(cls, config: SalloConfig) -> SalloDraw:
        """Every K and N from 2 to the padded size."""
        sizes = tuple(range(2, config.size + 1))
        return SalloDraw(users=sizes, antennas=sizes)

    def schedule(self, options: SalloDraw, steps: int) -> Schedule:
        """The sliding window and curriculum of a run of ``steps`` with ``options``."""
        return Schedule(
            steps=steps,
            layers=self.config.layers,
            window=options.window,
            pairs=size_pairs(options.users, options.antennas, options.max_load),
            stages=options.stages,
            replay=options.replay,
        )

    def draw(
        self, options: SalloDraw, sampler: Sampler, batch: int, step: int, steps: int
    ) -> Batch:
        schedule = self.schedule(options, steps)
        users, antennas = schedule.draw_sizes(sampler.generator, batch, step)
        problem = draw_padded_problems(
            sampler.generator,
            users,
            antennas,
            self.config.size,
            options.snr_db,
            self.config.utility,
            options.channels,
        )
        first, end = window = schedule.window_at(step)
        status = {"layers": f"{first}-{end - 1}", "stage": schedule.stage_at(step)}
        return Batch(problem, (self.config.utility,), extras={"window": window}, status=status)

    def check_draw(self, options: SalloDraw, batch_size: int) -> None:
        super().check_draw(options, batch_size)
        size = self.config.size
        if max(options.users) > size or max(options.antennas) > size:
            raise ValueError(
                f"users/antennas: the model serves K, N <= {size}, "
                f"got {options.users} and {options.antennas}"
            )
        self.schedule(options, steps=1)  # validates the window and the curriculum

    def start_from(self, source: LearnedModel) -> None:
        """A trained SALLO-M's weights (:func:`with_refinement`)."""
        if not isinstance(source, Sallo):
            raise ValueError(f"init_from: a sallo-m run cannot start from a {source.name}")
        self.load_state_dict(with_refinement(source, self.config).state_dict())

    def limits(self) -> tuple[float, float]:
        return self.config.size, self.config.size

    def trained_sizes(self, options: SalloDraw) -> tuple[tuple[int, int], ...]:
        """Only the pairs with ``K <= max_load N``: the run drew no others."""
        return size_pairs(options.users, options.antennas, options.max_load)

    def _optimise(
        self,
        H: torch.Tensor,
        power: torch.Tensor,
        noise: torch.Tensor,
        users: torch.Tensor,
        antennas: torch.Tensor,
        active: torch.Tensor,
        window: tuple[int, int] | None,
    ) -> torch.Tensor:
        """The unrolled layers on the padded, masked problem (``[B, S, S]``, ``S <= M``)."""
        first, end = window or (0, self.config.layers)
        count = (users.sum(-1) * antennas.sum(-1)).to(power.dtype)
        scale = (count / power).sqrt()[:, None, None]  # W at token scale: entries ~ 1
        snr = snr_feature(power, noise).to(H.real.dtype)
        W = rzf_beamformer(H, power, noise, users.sum(-1))
        C = H
        for layer in range(end):
            trained = layer >= first
            with torch.set_grad_enabled(trained and torch.is_grad_enabled()):
                C_new, W_new = self.blocks[layer](C, W * scale, snr, users, antennas)
                if self.config.lifted:
                    C = C_new * active
                W = project_power(W_new * active.mT / scale, power, full_power=self.full_power)
                log_eta = self.log_steps[layer, :, None] + self.snr_steps[layer, :, None] * snr
                W = self._ascend(H, W, power, noise, users, active, trained, log_eta)
            if not trained:
                C, W = C.detach(), W.detach()
        if end == self.config.layers and self.config.refine_steps:
            log_eta = self.refine_eta[0, :, None] + self.refine_eta[1, :, None] * snr
            W = self._ascend(H, W, power, noise, users, active, True, log_eta, refine=True)
        return W

    def _ascend(
        self,
        H: torch.Tensor,
        W: torch.Tensor,
        power: torch.Tensor,
        noise: torch.Tensor,
        users: torch.Tensor,
        active: torch.Tensor,
        trained: bool,
        log_eta: torch.Tensor,
        refine: bool = False,
    ) -> torch.Tensor:
        """Projected ascent steps on the true ``U``, one per row of ``log_eta [T, B]``:
        ``v <- beta v + eta D(W)``, ``W <- Pi_P(W + v)`` from ``v = 0``, with the direction
        ``D(W) = sqrt(P) G / ||G||_F``, ``G = dU/dW*`` (zero on padded entries), so a step
        has length ``eta`` relative to ``||W||_F``. A layer's steps are plain (``beta = 0``,
        ``eta = step_size exp(log_eta)``); the refinement's are heavy-ball (Polyak's
        momentum, ``beta = momentum``, ``eta = refine_step_size exp(log_eta)``)."""
        config = self.config
        base, momentum = (
            (config.refine_step_size, config.momentum) if refine else (config.step_size, 0.0)
        )
        velocity = 0.0
        for row in log_eta:
            point = W if (trained and self.training and config.second_order) else W.detach()
            rate_weights, power_weight = self._utility_slopes(H, point, noise, users)
            gradient = rate_gradient(H, point, noise, rate_weights) * active.mT
            if power_weight is not None:
                gradient = gradient + power_weight[:, None, None] * point
            norm = torch.linalg.vector_norm(gradient, dim=(-2, -1)).clamp_min(1e-12)
            direction = gradient * (power.sqrt() / norm)[:, None, None]
            step = (base * row.exp())[:, None, None] * direction
            velocity = momentum * velocity + step if momentum else step
            W = project_power(W + velocity, power, full_power=self.full_power)
        return W

    def _utility_slopes(
        self, H: torch.Tensor, W: torch.Tensor, noise: torch.Tensor, users: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``dU/dR_k [B, K]`` and ``dU/d||W||^2 [B]`` (``None`` when ``U`` ignores the power),
        so that ``dU/dW* = sum_k dU/dR_k dR_k/dW* + dU/d||W||^2 W``. The sum rate's are the
        user mask. The min rate's are those of its smooth surrogate
        ``-log sum_k exp(-t R_k) / t`` (``t = softmin``), ``softmax(-t R)`` over the active
        users (the subgradient, the weakest user's alone, zigzags between users); training
        differentiates through them, as they move fast with ``W``. Any other utility's come
        from autograd on the utility alone and are held constant in the second-order term."""
        if self.config.utility == "sum_rate":
            return users.to(H.real.dtype), None
        if self.config.utility == "min_rate":
            user_rates = rates(H, W, noise).masked_fill(~users, torch.inf)
            return torch.softmax(-self.config.softmin * user_rates, dim=-1), None
        with torch.enable_grad():
            user_rates = rates(H, W.detach(), noise).requires_grad_()
            used = transmit_power(W.detach()).requires_grad_()
            value = utility(self.config.utility, user_rates, user_mask=users, power_used=used)
            slopes = torch.autograd.grad(value.sum(), (user_rates, used), allow_unused=True)
        return slopes


def with_refinement(source: Sallo, config: SalloConfig) -> Sallo:
    """A model of ``config`` holding ``source``'s weights, where the two differ at most in
    :data:`FINE_TUNABLE`: the start of fine-tuning a trained model with a refinement added (its
    step lengths start at their initialisation) or for another utility (the steps ascend
    it), or the same layers without their refinement. Raises ``ValueError`` for any other
    difference."""
    same = replace(source.config, **{name: getattr(config, name) for name in FINE_TUNABLE})
    theirs = source.config.refine_steps
    resized = theirs and config.refine_steps not in (0, theirs)  # would leave eta undefined
    if same != config or resized:
        raise ValueError(
            f"a SALLO-M model {source.config} can only gain a refinement, keep its own "
            f"{theirs} steps or lose them, and change {list(FINE_TUNABLE)}; not become {config}"
        )
    model = Sallo(config)
    weights = source.state_dict()
    if not config.refine_steps:
        weights.pop("refine_eta", None)
    missing, _ = model.load_state_dict(weights, strict=False)
    assert set(missing) <= {"refine_eta"}, missing  # the configs agree on everything else
    return model
