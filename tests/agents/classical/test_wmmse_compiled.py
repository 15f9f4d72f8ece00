"""The compiled WMMSE loop against the torch one: the same algorithm written twice (the
compiled one in the users' space through the push-through identity), same iterates."""

import os
import subprocess
import sys

import numpy as np
import pytest
import torch

import agents
from agents.classical import wmmse_compiled
from agents.classical.wmmse import initial_beamformer, run_wmmse

pytest.importorskip("numba")


def problem(generator, batch, users, antennas, power=30.0):
    H = torch.randn(batch, users, antennas, dtype=torch.complex128, generator=generator)
    weights = 0.5 + torch.rand(batch, users, dtype=torch.float64, generator=generator)
    return agents.make("wmmse").problem(H, power, 1.0, weights=weights)


def both(problem, init="rzf", **kwargs):
    """The torch loop from ``initial_beamformer``'s start and the compiled one from its own
    RZF (``init="rzf"``: a second computation of the start) or from the same start."""
    start = initial_beamformer(problem, init)
    options = {"max_iterations": 80, "tolerance": 1e-7, "multiplier": "closed-form", **kwargs}
    own = None if init == "rzf" else start
    return (
        run_wmmse(problem, start, backend="torch", **options),
        run_wmmse(problem, own, backend="compiled", **options),
    )


@pytest.mark.parametrize("users, antennas", [(4, 4), (3, 7), (7, 3), (1, 5), (12, 8)])
@pytest.mark.parametrize("utility", ["weighted_sum_rate", "proportional_fair"])
def test_compiled_loop_follows_the_torch_iterates(users, antennas, utility, torch_rng):
    case = problem(torch_rng, 24, users, antennas)
    rule = agents.make("pf").weight_rule if utility == "proportional_fair" else None
    reference, compiled = both(case, weight_rule=rule)
    torch.testing.assert_close(compiled.W, reference.W, rtol=0, atol=1e-9)
    torch.testing.assert_close(compiled.objective, reference.objective, rtol=0, atol=1e-9)
    assert torch.equal(compiled.iterations, reference.iterations)
    assert torch.equal(compiled.converged, reference.converged)


def test_compiled_loop_starts_from_a_given_beamformer(torch_rng):
    reference, compiled = both(problem(torch_rng, 16, 5, 3), init="mrt")
    torch.testing.assert_close(compiled.W, reference.W, rtol=0, atol=1e-9)
    assert torch.equal(compiled.iterations, reference.iterations)


def test_compiled_loop_keeps_the_ridge(torch_rng):
    case = problem(torch_rng, 16, 4, 6)
    ridge = torch.rand(16, dtype=torch.float64, generator=torch_rng)
    reference, compiled = both(case, ridge=ridge)
    torch.testing.assert_close(compiled.W, reference.W, rtol=0, atol=1e-9)
    torch.testing.assert_close(compiled.objective, reference.objective, rtol=0, atol=1e-9)


def test_auto_uses_the_compiled_loop_where_it_applies_and_torch_elsewhere(torch_rng, monkeypatch):
    H = torch.randn(8, 4, 4, dtype=torch.complex128, generator=torch_rng)
    compiled = agents.make("wmmse", backend="compiled").solve(H, 10.0)
    assert torch.equal(agents.make("wmmse").solve(H, 10.0), compiled)
    monkeypatch.setattr(wmmse_compiled, "AVAILABLE", False)
    torch.testing.assert_close(agents.make("wmmse").solve(H, 10.0), compiled, rtol=0, atol=1e-9)


@pytest.mark.parametrize(
    "config, why",
    [({"multiplier": "exact"}, "closed-form"), ({"dtype": "float32"}, "float64")],
)
def test_compiled_backend_refuses_what_it_does_not_run(config, why, torch_rng):
    H = torch.randn(2, 3, 3, dtype=torch.complex128, generator=torch_rng)
    with pytest.raises(ValueError, match=why):
        agents.make("wmmse", backend="compiled", **config).solve(H, 10.0)
    with pytest.raises(ValueError, match="backend must be one of"):
        agents.make("wmmse", backend="numba")


SOLVE = """
import sys, numpy, torch, agents
H = torch.randn(20, 5, 6, dtype=torch.complex128, generator=torch.Generator().manual_seed(2))
numpy.save(sys.argv[1], agents.make("wmmse").solve(H, 10.0).numpy())
"""


@pytest.mark.slow
def test_fresh_and_cached_compilations_give_the_same_bits(tmp_path):
    """A benchmark resumed in another process must reproduce its rows: the first process
    compiles the loop into an empty cache, the second loads it from there."""
    environment = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    outputs = [tmp_path / f"{run}.npy" for run in ("fresh", "cached")]
    for path in outputs:
        subprocess.run([sys.executable, "-c", SOLVE, str(path)], env=environment, check=True)
    assert any((tmp_path / "cache").rglob("*.nbi"))
    fresh, cached = (np.load(path) for path in outputs)
    assert np.array_equal(fresh, cached)
