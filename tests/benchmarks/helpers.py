"""Helpers of the benchmark tests: agents loaded by spec ``tests.benchmarks.helpers:NAME``,
and record comparison."""

import os
import signal
from pathlib import Path

import torch

import agents

KILL_MARKER = "BENCHMARKS_TEST_KILL_MARKER"
"""Environment variable: a path; :func:`kill_once` kills its process if the file is absent."""


class NaNSolver:
    """A duck-typed solver whose beamformers are all NaN."""

    def solve(self, H, power, noise_power=1.0, **kwargs):
        return torch.full((H.shape[0], H.shape[2], H.shape[1]), complex("nan+nanj"), dtype=H.dtype)


class OverpoweredSolver:
    """MRT at ``boost`` times the power budget."""

    def __init__(self, boost: float) -> None:
        self.boost = boost

    def solve(self, H, power, noise_power=1.0, **kwargs):
        return agents.make("mrt").solve(H, power, noise_power) * self.boost**0.5


class BuggySolver:
    """Raises a plain ``ValueError`` (a bug, unlike ``agents.NotApplicable``)."""

    def solve(self, H, power, noise_power=1.0, **kwargs):
        raise ValueError("index out of range in my code")


def buggy_solver():
    return BuggySolver()


class ExitingSolver:
    """Calls ``sys.exit`` from ``solve``, as a script turned solver might."""

    def solve(self, H, power, noise_power=1.0, **kwargs):
        raise SystemExit(3)


def exiting_solver():
    return ExitingSolver()


def exiting_factory():
    raise SystemExit("a factory that exits")


def nan_solver():
    return NaNSolver()


def overpowered(boost: float = 2.0):
    return OverpoweredSolver(boost)


def kill_once(env):
    """RZF; but the first time it is built for a max-min configuration, with ``KILL_MARKER``
    set and its file absent, it creates the file and kills its own process (SIGKILL)."""
    marker = os.environ.get(KILL_MARKER)
    if marker and env.unwrapped.scenario.utilities == ("min_rate",) and not Path(marker).exists():
        Path(marker).touch()
        os.kill(os.getpid(), signal.SIGKILL)
    return agents.make("rzf")


TIMING = ("wall_time_s", "latency_s", "time_per_channel_s", "finished_at")
"""Record fields that differ between equivalent runs."""


def comparable(units: dict) -> dict:
    """Records without their timings: what must not change between equivalent runs."""
    return {key: {k: v for k, v in r.items() if k not in TIMING} for key, r in units.items()}


class VandalSolver:
    """Zeroes the channels and budgets it is given, in place, then answers with MRT."""

    def solve(self, H, power, noise_power=1.0, **kwargs):
        W = agents.make("mrt").solve(H, power, noise_power)
        H.zero_()
        power.fill_(1e-9)
        kwargs["weights"].fill_(0.0)
        return W
