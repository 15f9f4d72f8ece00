"""WMMSE (Shi, Razaviyayn, Luo, He, IEEE TSP 59(9), 2011), batched in torch, with exact ``mu``.

Weighted sum rate ``sum_k a_k R_k`` under ``||W||_F^2 <= P`` through the equivalent weighted
MSE problem; block-coordinate ascent with three closed-form blocks per iteration (in
beamgym's convention, ``(HW)_kj`` is what user k receives of stream j, ``T_k`` its total
received power plus noise):

1. receiver and MSE weight: ``u_k^* = (HW)_kk / T_k``, ``omega_k = T_k / (T_k - |(HW)_kk|^2)
   = 1 + SINR_k``;
2. transmitter: ``W = (A + (rho + mu) I)^{-1} H^H diag(a omega u^*)`` with
   ``A = H^H diag(a omega |u|^2) H`` and ``rho`` an optional ridge (0 for the sum rate;
   the Dinkelbach energy-efficiency loop uses it, :mod:`agents.classical.energy`);
3. ``mu >= 0`` is the power constraint's multiplier: ``mu = 0`` if that already meets the
   budget (with the pseudo-inverse when ``A`` is singular, ``K < N``), otherwise the root of
   ``P(mu) = sum_n phi_n / (lambda_n + rho + mu)^2 = P`` over the eigen-decomposition
   ``A = U diag(lambda) U^H``, ``phi_n = ||(U^H B)_n||^2``, found to relative power error
   1e-12 by a monotone Newton iteration
   (:func:`_power_multiplier`) rather than Shi et al.'s bisection, which cost 60 % of an
   iteration.

The objective ``sum_k a_k log2(omega_k) - rho ||W||_F^2 / ln 2`` never decreases (Shi et al.,
Thm. 3). Each sample stops on its own when the objective changes by less than
``tolerance`` (bit/s/Hz); converged samples leave the batch, so the cost follows the slowest
sample only for the samples still running.

The closed-form multiplier of Christensen, Agarwal, Carvalho and Cioffi (IEEE TWC 7(12),
2008) replaces step 3 by ``mu = sigma2 sum_k a_k omega_k |u_k|^2 / P``, one Cholesky solve and
a scaling onto the budget (:func:`_closed_form_transmitter`); it is what :class:`WMMSE` runs by
default, on the CPU as the compiled loop of :mod:`agents.classical.wmmse_compiled` (which needs
no eigen-decomposition, so no torch operation per iteration). The exact multiplier needs the
eigen-decomposition for its root search, so its batched path keeps one ``eigh`` per iteration.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch

from agents.classical import wmmse_compiled
from agents.classical.linear import rzf_beamformer
from agents.problem import Problem
from agents.registry import register
from agents.solver import Solver
from beamgym.arrays import abs2
from beamgym.checks import check_choice, check_count, check_number
from beamgym.downlink import project_power
from beamgym.utilities import RATE_FLOOR, proportional_fair, weighted_sum_rate

INITS = ("rzf", "mrt", "random")
MULTIPLIERS = ("exact", "closed-form")
BACKENDS = ("auto", "torch", "compiled")

WeightRule = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


def _power_multiplier(
    eigenvalues: torch.Tensor,
    phi: torch.Tensor,
    power: torch.Tensor,
    start: torch.Tensor,
    max_steps: int = 30,
) -> torch.Tensor:
    """``mu >= 0`` with ``P(mu) = sum_n phi_n / (lambda_n + mu)^2 = P``, or 0 if ``P(0) <= P``.

    ``P(0)`` uses the pseudo-inverse (directions with ``lambda_n = 0`` are dropped). The root
    is found by Newton's method on ``1 / sqrt(P(mu)) = 1 / sqrt(P)``, the secular equation
    of trust-region methods (More & Sorensen, SIAM J. Sci. Stat. Comput. 4(3), 1983), from
    ``start`` (the previous WMMSE iteration's ``mu``, which is close). The left side is
    concave and increasing in ``mu``: from a start above the root the first step lands at or
    below it (clamped at 0, which is below it), and from there the iterates rise
    monotonically and converge quadratically; each sample stops at a relative power error of
    ``1e-12``. This is exact like the bisection of Shi et al. and several times cheaper.

    Args:
        eigenvalues: ``lambda + rho`` ``[b, N]``, >= 0; phi: ``[b, N]``; power, start: ``[b]``.
    """
    null = eigenvalues <= eigenvalues.amax(-1, keepdim=True) * (
        eigenvalues.shape[-1] * torch.finfo(eigenvalues.dtype).eps
    )
    unconstrained = torch.where(null, 0.0, phi / torch.where(null, 1.0, eigenvalues) ** 2).sum(-1)
    mu = torch.zeros_like(power)
    rows = torch.nonzero(unconstrained > power)[:, 0]
    if rows.numel() == 0:
        return mu
    lam, ph, p, m = eigenvalues[rows], phi[rows], power[rows], start[rows].clamp_min(0.0)
    for _ in range(max_steps):
        inverse = torch.where(null[rows] & (m[:, None] == 0.0), 0.0, 1.0 / (lam + m[:, None]))
        weighted = ph * inverse.square()
        spent = weighted.sum(-1)
        if bool(((spent / p - 1.0).abs() <= 1e-12).all()):
            break
        slope = 2.0 * (weighted * inverse).sum(-1)  # -dP/dmu
        m = (m + 2.0 * spent * (torch.sqrt(spent / p) - 1.0) / slope).clamp_min(0.0)
    mu[rows] = m
    return mu


@dataclass
class WMMSEResult:
    """The output of :func:`run_wmmse`.

    Attributes:
        W: complex ``[B, N, K]``.
        objective: final objective ``[B]`` (bit/s/Hz; minus the ridge term if any).
        iterations: iterations each sample ran ``[B]``.
        converged: whether each sample met the tolerance ``[B]``.
        history: objective per iteration ``[T, B]`` (NaN after a sample stopped), if asked.
    """

    W: torch.Tensor
    objective: torch.Tensor
    iterations: torch.Tensor
    converged: torch.Tensor
    history: torch.Tensor | None = None


def receiver_step(
    H: torch.Tensor, W: torch.Tensor, noise: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(omega, u^*, |u|^2)`` ``[b, K]`` of beamformers ``W``: the WMMSE receiver step
    (``noise [b]``)."""
    received = H @ W
    gains = abs2(received)
    signal = gains.diagonal(0, -2, -1)
    # the noise added after the signal is taken out, not as total - signal: at SINRs beyond
    # 1 / eps the noise is lost in the total, the difference is 0 and omega infinite
    rest = (gains.sum(-1) - signal) + noise[:, None]
    total = rest + signal
    omega = total / rest
    u_conj = received.diagonal(0, -2, -1) / total
    return omega, u_conj, abs2(u_conj)


def transmitter_terms(
    H: torch.Tensor,
    weights: torch.Tensor,
    omega: torch.Tensor,
    u_conj: torch.Tensor,
    u_abs2: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``A = H^H diag(a omega |u|^2) H`` ``[b, N, N]`` and ``B = H^H diag(a omega u^*)``
    ``[b, N, K]``: the weighted MSE at fixed receivers is ``tr(W^H A W) - 2 Re tr(B^H W)``
    plus a constant, with gradient ``2 (A W - B)`` in ``W``."""
    Hh = H.mH
    A = (Hh * (weights * omega * u_abs2)[:, None, :]) @ H
    return A, Hh * (weights * omega * u_conj)[:, None, :]


def _transmitter(
    H: torch.Tensor,
    weights: torch.Tensor,
    omega: torch.Tensor,
    u_conj: torch.Tensor,
    u_abs2: torch.Tensor,
    power: torch.Tensor,
    ridge: torch.Tensor,
    start: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The exact transmitter block ``(A + (rho + mu) I)^{-1} H^H diag(a omega u^*)`` and ``mu``.

    ``start`` ``[b]`` is where the search for ``mu`` begins (:func:`_power_multiplier`).
    """
    A, B = transmitter_terms(H, weights, omega, u_conj, u_abs2)
    eigenvalues, U = torch.linalg.eigh(A)
    Z = U.mH @ B
    shifted = eigenvalues.clamp_min(0.0) + ridge[:, None]
    mu = _power_multiplier(shifted, abs2(Z).sum(-1), power, start)
    total = shifted + mu[:, None]
    null = total <= shifted.amax(-1, keepdim=True) * (
        total.shape[-1] * torch.finfo(total.dtype).eps
    )
    scale = torch.where(null, 0.0, 1.0 / torch.where(null, 1.0, total))
    return U @ (Z * scale[:, :, None]), mu


def _closed_form_transmitter(
    H: torch.Tensor,
    weights: torch.Tensor,
    omega: torch.Tensor,
    u_conj: torch.Tensor,
    u_abs2: torch.Tensor,
    noise: torch.Tensor,
    power: torch.Tensor,
    ridge: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The transmitter block with the closed-form multiplier of Christensen, Agarwal, Carvalho
    and Cioffi (IEEE TWC 7(12), 2008), ``mu = sigma2 sum_k a_k omega_k |u_k|^2 / P``: one
    Cholesky solve ``(A + (rho + mu) I) W = H^H diag(a omega u^*)``, then ``W`` scaled onto
    the budget. No eigen-decomposition and no root search, but the scaling leaves the
    block-coordinate ascent, so the objective need not rise at every iteration."""
    A, B = transmitter_terms(H, weights, omega, u_conj, u_abs2)
    mu = noise * (weights * omega * u_abs2).sum(-1) / power
    shift = (ridge + mu)[:, None, None] * torch.eye(A.shape[-1], dtype=A.dtype, device=A.device)
    W = torch.cholesky_solve(B, torch.linalg.cholesky(A + shift))
    return project_power(W, power, full_power=True), mu


def initial_beamformer(
    problem: Problem, init: str, generator: torch.Generator | None = None
) -> torch.Tensor:
    """A start ``[B, N, K]`` with ``||W||_F^2 = P``: ``"rzf"``, ``"mrt"`` or ``"random"``.

    ``"random"`` draws one CN(0, 1) matrix from ``generator`` for the whole batch, so that a
    sample's start, and hence its result, does not depend on the batch it is solved in.
    """
    H = problem.H
    if init == "rzf":
        return rzf_beamformer(H, problem.power, problem.noise_power)
    if init == "mrt":
        directions = H.mH
    elif init == "random":  # one draw shared by the batch: a sample's start ignores its batch
        shape = (problem.num_antennas, problem.num_users)
        draw = torch.randn(shape, dtype=H.dtype, device=H.device, generator=generator)
        directions = draw.expand(problem.batch_size, *shape)
    else:
        raise ValueError(f"init must be one of {list(INITS)}, got {init!r}")
    return project_power(directions, problem.power, full_power=True)


def run_wmmse(
    problem: Problem,
    W: torch.Tensor | None,
    *,
    max_iterations: int,
    tolerance: float,
    ridge: torch.Tensor | None = None,
    weight_rule: WeightRule | None = None,
    record_history: bool = False,
    multiplier: str = "exact",
    backend: str = "auto",
) -> WMMSEResult:
    """Iterate WMMSE from ``W`` on every sample of ``problem``.

    Args:
        problem: weights ``a`` are ``problem.weights``.
        W: start ``[B, N, K]``, feasible; ``None``: RZF at full power (computed inside the
            compiled loop when that runs).
        max_iterations: transmitter updates per sample at most.
        tolerance: a sample stops when its objective changes by less than this (bit/s/Hz).
        ridge: ``rho`` ``[B]`` (default 0).
        weight_rule: if given, maps the current rates ``[b, K]`` to ``(weights, utility)``:
            the weights are re-set before every transmitter update (Shi et al. 2011, Sec. IV:
            a concave utility ``U(R)`` is maximised with ``a_k = U'(R_k)``) and the utility
            ``[b]`` replaces the weighted sum rate as the objective.
        record_history: keep the objective of every iteration.
        multiplier: ``"exact"`` (:func:`_transmitter`, the objective never decreases) or
            ``"closed-form"`` (:func:`_closed_form_transmitter`).
        backend: ``"torch"`` (any device and precision, differentiable operations, the
            history), ``"compiled"`` (:mod:`agents.classical.wmmse_compiled`: closed-form
            multiplier, float64 on the CPU, no history) or ``"auto"``, the compiled loop
            wherever it applies and numba is installed, torch otherwise.
    """
    check_choice("multiplier", multiplier, MULTIPLIERS)
    check_choice("backend", backend, BACKENDS)
    compilable = (
        wmmse_compiled.AVAILABLE
        and multiplier == "closed-form"
        and not record_history
        and problem.H.device.type == "cpu"
        and problem.H.dtype == torch.complex128
    )
    if backend == "compiled" and not compilable:
        raise ValueError(
            "backend='compiled' needs multiplier='closed-form', float64 on the CPU, no history "
            "and numba (pip install 'beamgym[fast]')"
        )
    if backend != "torch" and compilable:
        return _run_compiled(problem, W, max_iterations, tolerance, ridge, weight_rule)
    if W is None:
        W = initial_beamformer(problem, "rzf")
    batch = problem.batch_size
    ridge = torch.zeros_like(problem.power) if ridge is None else ridge
    W = W.clone()
    objective = torch.full_like(problem.power, -math.inf)
    iterations = torch.zeros(batch, dtype=torch.long, device=W.device)
    converged = torch.zeros(batch, dtype=torch.bool, device=W.device)
    mu = torch.zeros_like(problem.power)
    history = []
    active = torch.arange(batch, device=W.device)
    for _ in range(max_iterations + 1):
        H, noise, weights = problem.H[active], problem.noise_power[active], problem.weights[active]
        omega, u_conj, u_abs2 = receiver_step(H, W[active], noise)
        rates = torch.log2(omega)
        if weight_rule is not None:
            weights, value = weight_rule(rates)
        else:
            value = weighted_sum_rate(rates, weights=weights)
        value = value - ridge[active] * abs2(W[active]).sum((-2, -1)) / math.log(2)
        done = (value - objective[active]).abs() < tolerance
        objective[active] = value
        converged[active] = done
        if record_history:
            row = torch.full_like(problem.power, math.nan)
            row[active] = value
            history.append(row)
        running = ~done & (iterations[active] < max_iterations)
        active = active[running]
        if active.numel() == 0:
            break
        receivers = (H[running], weights[running], omega[running], u_conj[running])
        if multiplier == "exact":
            W[active], mu[active] = _transmitter(
                *receivers, u_abs2[running], problem.power[active], ridge[active], mu[active]
            )
        else:
            W[active], mu[active] = _closed_form_transmitter(
                *receivers, u_abs2[running], noise[running], problem.power[active], ridge[active]
            )
        iterations[active] += 1
    return WMMSEResult(
        W, objective, iterations, converged, torch.stack(history) if history else None
    )


def _run_compiled(
    problem: Problem,
    W: torch.Tensor | None,
    max_iterations: int,
    tolerance: float,
    ridge: torch.Tensor | None,
    weight_rule: WeightRule | None,
) -> WMMSEResult:
    """:func:`run_wmmse` through :func:`wmmse_compiled.compiled_wmmse` (float64 CPU)."""
    if weight_rule not in (None, _proportional_fair_weights):
        raise ValueError("the compiled WMMSE knows the proportional-fair weight rule only")

    def array(x: torch.Tensor) -> np.ndarray:
        return np.ascontiguousarray(x.detach().numpy())

    power = array(problem.power)
    W, objective, iterations, converged = wmmse_compiled.compiled_wmmse(
        array(problem.H),
        None if W is None else array(W),
        array(problem.weights),
        array(problem.noise_power),
        power,
        np.zeros_like(power) if ridge is None else array(ridge),
        max_iterations=max_iterations,
        tolerance=tolerance,
        fair=weight_rule is _proportional_fair_weights,
        rate_floor=RATE_FLOOR,
    )
    return WMMSEResult(*map(torch.from_numpy, (W, objective, iterations, converged)))


def _check_budget(max_iterations: object, tolerance: object) -> None:
    check_count("max_iterations", max_iterations)
    check_number("tolerance", tolerance, 0.0, math.inf)


@register
class WMMSE(Solver):
    """Single-run WMMSE for the (weighted) sum rate: the practical reference.

    Defaults: RZF start, at most 300 iterations, stop when the weighted sum rate changes by
    less than 1e-5 bit/s/Hz, float64, Christensen et al.'s closed-form multiplier, compiled
    on the CPU when numba is installed (:func:`run_wmmse`). The closed form is the default by
    measurement: on the 25 (weighted) sum-rate cells of the ``standard`` suite its mean is
    at least 0.9993 of the exact multiplier's (often above it), and it is 2-4x faster per
    channel in torch; ``multiplier="exact"``, whose objective never decreases, stands beside
    it on the leaderboard. :meth:`run` returns the whole :class:`WMMSEResult` (iterations
    used, converged flags, and on request the objective history) instead of the beamformers
    alone.

    Args:
        init: ``"rzf"``, ``"mrt"`` or ``"random"``.
        max_iterations, tolerance: the iteration budget and stopping rule.
        seed: seed of the random start.
        multiplier: the power multiplier, ``"closed-form"`` or ``"exact"``.
        backend: ``"auto"``, ``"torch"`` or ``"compiled"`` (:func:`run_wmmse`).
        dtype: ``"float64"`` or ``"float32"``.
    """

    name = "wmmse"
    utilities = ("sum_rate", "weighted_sum_rate")
    config_keys = ("init", "max_iterations", "tolerance", "seed", "multiplier", "backend")
    weight_rule: ClassVar[WeightRule | None] = None

    def __init__(
        self,
        init: str = "rzf",
        max_iterations: int = 300,
        tolerance: float = 1e-5,
        seed: int = 0,
        multiplier: str = "closed-form",
        backend: str = "auto",
        dtype: str = "float64",
    ) -> None:
        super().__init__(dtype)
        check_choice("init", init, INITS)
        check_choice("multiplier", multiplier, MULTIPLIERS)
        check_choice("backend", backend, BACKENDS)
        _check_budget(max_iterations, tolerance)
        self.init, self.max_iterations, self.tolerance = init, max_iterations, float(tolerance)
        self.seed, self.multiplier, self.backend = seed, multiplier, backend

    def run(
        self,
        H: torch.Tensor,
        power: object,
        noise_power: object = 1.0,
        *,
        weights: object = None,
        record_history: bool = False,
    ) -> WMMSEResult:
        """The whole :class:`WMMSEResult` of ``solve(H, power, noise_power, weights=weights)``
        on a dense batch (torch ``H [B, K, N]``), in the solver's precision; with
        ``record_history`` the objective of every iteration too."""
        problem = self.problem(H, power, noise_power, weights=weights).to(self.precision)
        return self._run(problem, record_history)

    def _run(self, problem: Problem, record_history: bool = False) -> WMMSEResult:
        generator = torch.Generator(problem.H.device).manual_seed(self.seed)
        start = None if self.init == "rzf" else initial_beamformer(problem, self.init, generator)
        return run_wmmse(
            problem,
            start,
            max_iterations=self.max_iterations,
            tolerance=self.tolerance,
            weight_rule=self.weight_rule,
            record_history=record_history,
            multiplier=self.multiplier,
            backend=self.backend,
        )

    def _solve(self, problem: Problem) -> torch.Tensor:
        return self._run(problem).W


@register
class WMMSEBest(Solver):
    """The strong WMMSE reference: best of several starts per sample.

    Starts: RZF, MRT and ``num_random`` CN(0, 1) matrices (default 10), each run for at most
    500 iterations with tolerance 1e-6; the start with the highest weighted sum rate wins.
    WMMSE converges to a stationary point that depends on its start, so restarts can only
    help; the leaderboard reports the ratio to this reference too.
    """

    name = "wmmse-best"
    utilities = ("sum_rate", "weighted_sum_rate")
    config_keys = ("num_random", "max_iterations", "tolerance", "seed")

    def __init__(
        self,
        num_random: int = 10,
        max_iterations: int = 500,
        tolerance: float = 1e-6,
        seed: int = 0,
        dtype: str = "float64",
    ) -> None:
        super().__init__(dtype)
        check_count("num_random", num_random, minimum=0)
        _check_budget(max_iterations, tolerance)
        self.num_random, self.max_iterations, self.tolerance = (
            num_random,
            max_iterations,
            float(tolerance),
        )
        self.seed = seed

    def _solve(self, problem: Problem) -> torch.Tensor:
        generator = torch.Generator(problem.H.device).manual_seed(self.seed)
        inits = ["rzf", "mrt"] + ["random"] * self.num_random
        starts = torch.stack([initial_beamformer(problem, init, generator) for init in inits])
        repeats = len(inits)
        stacked = Problem(
            H=problem.H.repeat(repeats, 1, 1),
            power=problem.power.repeat(repeats),
            noise_power=problem.noise_power.repeat(repeats),
            weights=problem.weights.repeat(repeats, 1),
            utility=problem.utility,
        )
        result = run_wmmse(
            stacked,
            starts.flatten(0, 1),
            max_iterations=self.max_iterations,
            tolerance=self.tolerance,
        )
        best = result.objective.view(repeats, -1).argmax(0)
        return result.W.view(repeats, *problem.H.shape[:1], *result.W.shape[1:])[
            best, torch.arange(problem.batch_size, device=best.device)
        ]


def _proportional_fair_weights(rates: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``a_k = 1 / R_k`` (normalised to mean 1) and the utility ``sum_k ln R_k``."""
    inverse = 1.0 / rates.clamp_min(RATE_FLOOR)
    return inverse / inverse.mean(-1, keepdim=True), proportional_fair(rates)


@register
class ProportionalFair(WMMSE):
    """Proportional fairness ``sum_k ln R_k`` by WMMSE with weights re-set every iteration.

    Shi et al. (2011, Sec. IV) maximise a concave utility of the rates with WMMSE by setting
    the weights to the utility's gradient, here ``a_k = 1 / R_k`` (rescaling all weights
    does not change the update). Stops when the utility changes by less than ``tolerance``
    (nats); same defaults as :class:`WMMSE`.
    """

    name = "pf"
    utilities = ("proportional_fair",)
    weight_rule = staticmethod(_proportional_fair_weights)
