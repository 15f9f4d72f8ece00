"""Every registered agent through a table of bad ``solve`` arguments: each is refused with a
``ValueError`` that names the argument, before any solver runs (never an error from inside
torch or NumPy, never a NaN beamformer)."""

import functools
import math

import numpy as np
import pytest
import torch

import agents
from beamgym.downlink import MAX_CHANNEL_ENTRY
from tests.agents.test_contract import solver_for

GOOD_H = torch.randn(2, 3, 4, dtype=torch.complex128, generator=torch.Generator().manual_seed(0))
NAN, INF = math.nan, math.inf

BAD = [  # (the argument the message must name, the arguments changed)
    *[("H", {"H": v}) for v in ("abc", np.ones((2, 3, 4)), GOOD_H[0], [[1j]], GOOD_H[:0])],
    ("H", {"H": GOOD_H * NAN}),
    ("H", {"H": GOOD_H * INF}),
    ("H", {"H": GOOD_H * 1e150}),  # made eigh fail in wmmse, NaN in the learned models
    *[("power", {"power": v}) for v in ("10", True, -1.0, 0, NAN, INF, [1.0, 2.0, 3.0], 1j)],
    *[("noise_power", {"noise_power": v}) for v in ("1", False, -1.0, 0.0, NAN, [1.0] * 3)],
    *[("utility", {"utility": v}) for v in ("nope", 5, ["sum_rate"])],
    *[("weights", {"weights": v}) for v in (np.ones(5), -np.ones(3), np.full(3, NAN), "x")],
    *[("user_mask", {"user_mask": v}) for v in (np.ones((2, 2)), np.full((2, 3), 2), "x")],
    ("user_mask", {"user_mask": np.zeros((2, 3))}),
    *[("antenna_mask", {"antenna_mask": v}) for v in (np.ones(4), np.zeros((2, 4)), "x")],
    *[("amplifier_efficiency", {"amplifier_efficiency": v}) for v in (0, 2.0, NAN, "x", True)],
    *[("circuit_power", {"circuit_power": v}) for v in (0, -1.0, INF, "x")],
]


@functools.cache
def cached_solver(name: str) -> agents.Solver:
    """One solver per agent for the whole table (refusals change no solver's state)."""
    return solver_for(name)


def label(case) -> str:
    name, change = case
    value = next(iter(change.values()))
    return f"{name}={type(value).__name__}:{str(value)[:12]}"


@pytest.mark.parametrize("case", BAD, ids=label)
@pytest.mark.parametrize("name", agents.available())
def test_a_bad_argument_is_refused_naming_it(name, case):
    argument, change = case
    arguments = {"H": GOOD_H, "power": 10.0} | change
    solver = cached_solver(name)
    with pytest.raises(ValueError) as error:
        solver.solve(**arguments)
    assert argument in str(error.value), str(error.value)


@pytest.mark.parametrize(
    "scale, power, noise_power",
    [(MAX_CHANNEL_ENTRY / 3, 1e25, 1e15), (1e-150, 10.0, 1.0), (1.0, 1e10, 1.0), (1.0, 1e-10, 1.0)],
    ids=["largest-channel-and-budget", "tiny-channel", "100-dB", "minus-100-dB"],
)
@pytest.mark.parametrize("name", agents.available())
def test_the_extremes_allowed_give_a_finite_feasible_beamformer(name, scale, power, noise_power):
    """Inside the bounds every agent answers with a feasible finite beamformer (or declines
    the problem), whatever its utility."""
    solver = cached_solver(name)
    for utility in solver.utilities or ("sum_rate",):
        try:
            W = solver.solve(GOOD_H * scale, power, noise_power, utility=utility)
        except agents.NotApplicable:
            continue
        assert torch.isfinite(torch.view_as_real(W)).all(), utility
        assert float(torch.linalg.matrix_norm(W).square().amax()) <= power * (1 + 1e-9), utility
