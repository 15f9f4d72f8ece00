"""Energy efficiency by Dinkelbach's method with a WMMSE inner loop.

``EE(W) = sum_k R_k / (||W||_F^2 / eta + P_c)`` (:func:`beamgym.utilities.energy_efficiency`)
is a ratio, maximised by Dinkelbach's parametric method (Dinkelbach, Management Science 13(7),
1967; Zappone & Jorswieck, FnT Commun. Inf. Theory 11(3-4), 2015): with ``lambda_0`` the EE of
the start,

    ``W_n = argmax_{||W||^2 <= P} sum_k R_k(W) - lambda_n (||W||_F^2 / eta + P_c)``,
    ``lambda_{n+1} = EE(W_n)``,

until ``F(lambda_n) = sum_k R_k(W_n) - lambda_n (||W_n||^2 / eta + P_c)`` is below the
tolerance. The inner problem is WMMSE with a ridge ``rho = lambda_n ln 2 / eta`` on the
transmitter (He, Huang, Jin, Yang, IEEE TCOM 61(12), 2013), warm-started from ``W_{n-1}``;
because it is solved only to a stationary point, the best iterate per sample is returned.
Defaults: at most 20 Dinkelbach steps of at most 50 WMMSE iterations each.
"""

from __future__ import annotations

import math
from dataclasses import replace

import torch

from agents.classical.wmmse import initial_beamformer, run_wmmse
from agents.problem import Problem
from agents.registry import register
from agents.solver import Solver
from beamgym.checks import check_count, check_number
from beamgym.downlink import rates, transmit_power
from beamgym.utilities import energy_efficiency


def _efficiency(problem: Problem, W: torch.Tensor) -> torch.Tensor:
    return energy_efficiency(
        rates(problem.H, W, problem.noise_power),
        power_used=transmit_power(W),
        amplifier_efficiency=problem.amplifier_efficiency,
        circuit_power=problem.circuit_power,
    )


@register
class EnergyEfficiency(Solver):
    """Dinkelbach-WMMSE for energy efficiency; transmits below the budget when that pays.

    Args:
        outer_iterations: Dinkelbach updates of ``lambda`` at most.
        inner_iterations: WMMSE iterations per Dinkelbach step at most.
        tolerance: stop when ``F(lambda)`` (bit/s/Hz) and the inner objective change are below this.
        dtype: ``"float64"`` or ``"float32"``.
    """

    name = "ee"
    utilities = ("energy_efficiency",)
    config_keys = ("outer_iterations", "inner_iterations", "tolerance")

    def __init__(
        self,
        outer_iterations: int = 20,
        inner_iterations: int = 50,
        tolerance: float = 1e-6,
        dtype: str = "float64",
    ) -> None:
        super().__init__(dtype)
        check_count("outer_iterations", outer_iterations)
        check_count("inner_iterations", inner_iterations)
        check_number("tolerance", tolerance, 0.0, math.inf)
        self.outer_iterations, self.inner_iterations = outer_iterations, inner_iterations
        self.tolerance = float(tolerance)

    def _solve(self, problem: Problem) -> torch.Tensor:
        problem = replace(problem, weights=torch.ones_like(problem.weights))  # EE: unweighted rates
        W = initial_beamformer(problem, "rzf")
        best, best_value = W.clone(), _efficiency(problem, W)
        level = best_value.clone()
        active = torch.arange(problem.batch_size, device=W.device)
        for _ in range(self.outer_iterations):
            part = problem.select(active)
            ridge = level[active] * math.log(2) / problem.amplifier_efficiency
            W_part = run_wmmse(
                part,
                W[active],
                max_iterations=self.inner_iterations,
                tolerance=self.tolerance,
                ridge=ridge,
            ).W
            value = _efficiency(part, W_part)
            better = value > best_value[active]
            best[active[better]], best_value[active[better]] = W_part[better], value[better]
            consumed = transmit_power(W_part) / problem.amplifier_efficiency + problem.circuit_power
            running = (value - level[active]) * consumed >= self.tolerance
            W[active], level[active] = W_part, value
            active = active[running]
            if active.numel() == 0:
                break
        return best
