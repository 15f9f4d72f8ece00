"""Random test problems shared by the test modules."""

import math

import numpy as np
import torch


def random_problem(rng: np.random.Generator, batch: tuple[int, ...], users: int, antennas: int):
    """A CN(0, 1) channel ``[*batch, K, N]`` and a random beamformer ``[*batch, N, K]``."""
    shape_h, shape_w = (*batch, users, antennas), (*batch, antennas, users)
    H = (rng.standard_normal(shape_h) + 1j * rng.standard_normal(shape_h)) / np.sqrt(2)
    W = rng.standard_normal(shape_w) + 1j * rng.standard_normal(shape_w)
    return H, W


SIGMAS = 6.0
"""Statistical checks allow this many standard errors: a false alarm is ~1e-9 per check."""


def as_numpy(x) -> np.ndarray:
    """A channel of either backend as complex128 NumPy."""
    return x.numpy().astype(np.complex128) if isinstance(x, torch.Tensor) else np.asarray(x)


def assert_mean_close(samples, expected, sigmas: float = SIGMAS) -> None:
    """The mean of i.i.d. ``samples`` equals ``expected`` within ``sigmas`` standard errors."""
    x = np.asarray(samples).ravel()
    mean = x.mean()
    stderr = math.sqrt(np.mean(np.abs(x - mean) ** 2) / x.size)
    assert abs(mean - expected) <= sigmas * stderr + 1e-12, (mean, expected, stderr)
