"""Random test problems shared by the test modules."""

import numpy as np


def random_problem(rng: np.random.Generator, batch: tuple[int, ...], users: int, antennas: int):
    """A CN(0, 1) channel ``[*batch, K, N]`` and a random beamformer ``[*batch, N, K]``."""
    shape_h, shape_w = (*batch, users, antennas), (*batch, antennas, users)
    H = (rng.standard_normal(shape_h) + 1j * rng.standard_normal(shape_h)) / np.sqrt(2)
    W = rng.standard_normal(shape_w) + 1j * rng.standard_normal(shape_w)
    return H, W
