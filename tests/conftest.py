"""Shared fixtures: one torch thread for every test, seeded generators for both backends."""

import numpy as np
import pytest
import torch


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture
def torch_rng() -> torch.Generator:
    return torch.Generator().manual_seed(1234)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """One torch thread (set before the module's other fixtures): on a busy 2-core machine
    torch's default of two threads per process made the tests several times slower and
    their run time erratic."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
