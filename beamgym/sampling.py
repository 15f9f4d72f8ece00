"""Random draws for both backends: the one backend-specific corner of the physics.

A generator decides the backend: a ``numpy.random.Generator`` draws float64 / complex128 NumPy
arrays (the single environment, seeded through Gymnasium's ``np_random``); a
``torch.Generator`` draws float32 / complex64 tensors on the generator's device (the vector
environment). Everything downstream of these three functions is backend-generic.
"""

from __future__ import annotations

import math
from typing import TypeAlias

import numpy as np
import torch

from beamgym.arrays import Array

Generator: TypeAlias = np.random.Generator | torch.Generator

_SQRT_HALF = math.sqrt(0.5)


def normal(rng: Generator, shape: tuple[int, ...]) -> Array:
    """Real standard normal ``N(0, 1)`` draws of ``shape``."""
    if isinstance(rng, torch.Generator):
        return torch.randn(shape, generator=rng, device=rng.device)
    return rng.standard_normal(shape)


def complex_normal(rng: Generator, shape: tuple[int, ...]) -> Array:
    """Circularly-symmetric ``CN(0, 1)`` draws of ``shape``: real and imaginary variance 1/2."""
    if isinstance(rng, torch.Generator):
        return torch.randn(shape, generator=rng, device=rng.device, dtype=torch.complex64)
    return rng.standard_normal((*shape, 2)).view(np.complex128)[..., 0] * _SQRT_HALF


def uniform(rng: Generator, shape: tuple[int, ...], low: float = 0.0, high: float = 1.0) -> Array:
    """Uniform draws on ``[low, high)``."""
    if isinstance(rng, torch.Generator):
        return low + (high - low) * torch.rand(shape, generator=rng, device=rng.device)
    return rng.uniform(low, high, shape)


def integers(rng: Generator, shape: tuple[int, ...], high: int) -> Array:
    """Uniform integers on ``[0, high)`` (int64)."""
    if isinstance(rng, torch.Generator):
        return torch.randint(high, shape, generator=rng, device=rng.device)
    return rng.integers(high, size=shape)
