"""The solver benchmark's NumPy anchor: a second, independent WMMSE that the torch one must
match in sum rate (it is the speed reference of ``wmmse``, so it must be a real WMMSE)."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

import agents
from beamgym.downlink import rates

SCRIPT = Path(__file__).parents[1] / "scripts" / "solver_benchmark.py"


def closed_form_wmmse():
    spec = importlib.util.spec_from_file_location("solver_benchmark", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.closed_form_wmmse


def test_the_closed_form_anchor_uses_the_whole_budget_and_matches_wmmse():
    H = torch.randn(64, 6, 6, dtype=torch.complex128, generator=torch.Generator().manual_seed(3))
    power = 30.0
    W = closed_form_wmmse()(H.numpy(), power)
    np.testing.assert_allclose(np.sum(np.abs(W) ** 2, axis=(1, 2)), power, rtol=1e-12)
    anchor = rates(H, torch.from_numpy(W)).sum(-1).mean()
    exact = rates(H, agents.make("wmmse", multiplier="exact").solve(H, power)).sum(-1).mean()
    assert abs(float(anchor / exact) - 1) < 5e-3


@pytest.mark.parametrize("backend", ["torch", "compiled"])
def test_wmmse_with_the_closed_form_multiplier_is_the_anchor(backend):
    """The same algorithm written three times (NumPy in the script; torch and the compiled
    loop in ``agents``), from the same RZF start for the same 100 iterations, gives the same
    beamformers."""
    if backend == "compiled":
        pytest.importorskip("numba")
    H = torch.randn(16, 5, 7, dtype=torch.complex128, generator=torch.Generator().manual_seed(4))
    power = 20.0
    solver = agents.make("wmmse", max_iterations=100, tolerance=0.0, backend=backend)
    W = solver.solve(H, power)
    anchor = torch.from_numpy(closed_form_wmmse()(H.numpy(), power))
    torch.testing.assert_close(W, anchor, rtol=1e-8, atol=1e-10)
