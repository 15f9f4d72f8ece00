"""Every registered agent's beamformers on fixed channels, pinned to a stored file.

The file was written from the code before a refactor; every agent (classical, learned and RL,
with its shipped checkpoints) must still give the same outputs to 1e-6. Regenerate it only
for a deliberate change of behaviour: ``python -m tests.agents.test_pinned_outputs``.

The learned agents are pinned in float64 (``dtype="float64"``, the same code as their float32
default): float32 matrix kernels round differently from one CPU to the next (an AVX-512
machine moved their float32 outputs by 1e-6 and, through SALLO-M's max-min refinement, by
3e-3 from those written on another), so a float32 pin would fail on a correct refactor.
"""

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch

import agents
from beamgym.layout import TASK_LAYOUTS, TASKS
from beamgym.utilities import UTILITIES, Utility

PINNED = Path(__file__).parent / "data" / "pinned_outputs.npz"

SIZES = {"dense": (4, 8), "overloaded": (6, 4)}
"""Name -> (K, N) of the fixed batches; ``padded`` is the dense batch with masks."""


def problems() -> dict[str, dict]:
    """The fixed problems: 3 channels each at 5, 10 and 15 dB, complex128, with user weights
    in [0.5, 1.5) (read by the weighted sum rate and as max-min's SINR targets)."""
    generator = torch.Generator().manual_seed(20261201)
    power = torch.tensor([10**0.5, 10.0, 10**1.5], dtype=torch.float64)
    batches = {}
    for name, (users, antennas) in SIZES.items():
        H = torch.randn(3, users, antennas, dtype=torch.complex128, generator=generator)
        weights = 0.5 + torch.rand(3, users, dtype=torch.float64, generator=generator)
        batches[name] = {"H": H, "power": power, "weights": weights}
    users = torch.tensor([[1, 1, 1, 0], [1, 1, 0, 0], [1, 1, 1, 1]], dtype=torch.bool)
    antennas = torch.ones(3, 8, dtype=torch.bool)
    antennas[0, 6:] = False
    batches["padded"] = batches["dense"] | {"user_mask": users, "antenna_mask": antennas}
    return batches


def outputs() -> dict[str, np.ndarray]:
    """``"<agent>/<utility>/<batch>"`` -> ``W`` for every agent, utility it serves and batch it
    does not decline, plus the DPC capacity of each batch."""
    torch.set_num_threads(1)
    results = {}
    batches = problems()
    for name in agents.available():
        solver = agents.make(name)
        if isinstance(solver, agents.learned.LearnedSolver):
            solver = agents.make(name, dtype="float64")
        for utility in solver.utilities or ("sum_rate",):
            for batch, kwargs in batches.items():
                try:
                    W = solver.solve(**kwargs, utility=utility)
                except agents.NotApplicable:
                    continue
                results[f"{name}/{utility}/{batch}"] = W.numpy()
    for batch in ("dense", "overloaded"):
        capacity = agents.dpc_capacity(batches[batch]["H"], batches[batch]["power"]).capacity
        results[f"dpc/sum_rate/{batch}"] = capacity.numpy()
    return results


@pytest.fixture(scope="module")
def computed() -> dict[str, np.ndarray]:
    threads = torch.get_num_threads()
    try:
        return outputs()
    finally:
        torch.set_num_threads(threads)


def assert_pinned(computed: dict[str, np.ndarray]) -> None:
    """The same keys (no agent, utility or batch gained or lost) and the same values."""
    with np.load(PINNED, allow_pickle=False) as stored:
        assert sorted(computed) == sorted(stored.files)
        moved = {
            key: float(np.abs(computed[key] - stored[key]).max())
            for key in stored.files
            if computed[key].shape != stored[key].shape
            or not np.allclose(computed[key], stored[key], rtol=0, atol=1e-6)
        }
    assert not moved, f"outputs moved (largest difference per key): {moved}"


def test_every_agent_gives_its_pinned_outputs(computed):
    assert_pinned(computed)


def test_registering_a_utility_changes_no_shipped_output(monkeypatch):
    """A utility registered later re-indexes nothing: the observation's task one-hot and
    UBERT's task embedding keep the explicit v0 order, so every agent's outputs stay pinned,
    the observation keeps its size and no environment pays the new utility."""
    size = gym.make("MISO-MultiTask-v0").observation_space.shape
    log_rate = Utility("log_sum_rate", lambda rates, **_: np.log1p(rates.sum(-1)), full_power=True)
    monkeypatch.setitem(UTILITIES, log_rate.name, log_rate)
    assert TASKS == TASK_LAYOUTS["v0"] and log_rate.name not in TASKS
    assert_pinned(outputs())
    assert gym.make("MISO-MultiTask-v0").observation_space.shape == size
    with pytest.raises(ValueError, match="beamgym.layout.TASKS"):
        gym.make("MISO-SumRate-v0", utility=log_rate.name)


if __name__ == "__main__":
    np.savez(PINNED, **outputs())
    print(f"wrote {PINNED}")
