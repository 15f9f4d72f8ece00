"""The timing protocol: one function for the leaderboard, the model cards and
``scripts/solver_benchmark.py``, the same for every agent, classical or learned.

For a solver and a batch of S problems, in this order:

1. **warm-up**: untimed batch-1 solves, at least one and until :data:`WARMUP_S` have passed
   (just-in-time compilation, caches, lazy allocations, the CUDA context and the processor's
   clock ramp are paid here, not in a figure: a NumPy WMMSE's first twenty batch-1 calls in a
   fresh process took up to twice as long as later ones);
2. **batched time per channel**: the solve of all S problems at once, timed once, divided by S
   (its output is what gets scored);
3. **batch-1 latency**: the median of ``latency_calls`` solves of the first problem alone.

Each time is wall-clock (``time.perf_counter``) around the call, with the device synchronised
before and after on a GPU. The thread count is the caller's (``--threads``, 1 by default
everywhere: the solvers work on batches of small matrices, where intra-op threads gain little
and oversubscribe a busy machine; the compiled WMMSE loop is single-threaded) and is recorded
with the figures, as is the device. Timings describe the machine they ran on and are never
asserted in tests.

FLOP efficiency (:func:`flops_per_channel`, :func:`matmul_throughput`): the floating-point
operations that ``torch.utils.flop_counter`` counts in one batched solve (matrix products and
attention; element-wise work is not counted), per channel, divided by the time per channel,
as a fraction of the same machine's dense float32 matrix-product rate on the same threads.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import torch
from torch.utils.flop_counter import FlopCounterMode

from benchmarks.provenance import describe_device

WARMUP_S = 0.1
"""Seconds of untimed batch-1 warm-up solves (at least one) before anything is timed."""

LATENCY_CALLS = 5
"""Batch-1 solves per latency measurement (the leaderboard's; the solver benchmark's
``--repeats``)."""

Output = TypeVar("Output")


@dataclass(frozen=True)
class Timing:
    """The protocol's figures (module docstring), with the threads and device they ran on."""

    time_per_channel_s: float
    latency_s: float
    threads: int
    device: str


def _timed(call: Callable[[], Output], device: torch.device) -> tuple[Output, float]:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    output = call()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return output, time.perf_counter() - start


def timed_solves(
    solve: Callable[[Any], Output],
    batch: Any,
    one: Any,
    size: int,
    device: torch.device | str = "cpu",
    latency_calls: int = LATENCY_CALLS,
) -> tuple[Output, Timing]:
    """The batched output of ``solve(batch)`` and its :class:`Timing` by the protocol.

    Args:
        solve: maps an input (``batch`` or ``one``) to the solver's output.
        batch: the inputs of all ``size`` problems; one: those of the first problem alone.
        device: where the solver runs (synchronised around each timed call on a GPU).
        latency_calls: batch-1 solves whose median is the latency.
    """
    device = torch.device(device)
    start = time.perf_counter()
    solve(one)
    while time.perf_counter() - start < WARMUP_S:
        solve(one)
    output, elapsed = _timed(lambda: solve(batch), device)
    latency = statistics.median(_timed(lambda: solve(one), device)[1] for _ in range(latency_calls))
    timing = Timing(elapsed / size, latency, torch.get_num_threads(), describe_device(device))
    return output, timing


def flops_per_channel(solve: Callable[[Any], Any], batch: Any, size: int) -> float:
    """The floating-point operations ``torch.utils.flop_counter`` counts in ``solve(batch)``,
    divided by the ``size`` problems of ``batch``."""
    counter = FlopCounterMode(display=False)
    with counter:
        solve(batch)
    return counter.get_total_flops() / size


def matmul_throughput(
    device: torch.device | str = "cpu", size: int = 256, calls: int = 20
) -> float:
    """This machine's dense float32 matrix-product rate (FLOP/s) on the current threads: the
    median of ``calls`` products of two ``size x size`` matrices (``2 size^3`` operations each;
    256 is the order of the learned models' token-batch products)."""
    device = torch.device(device)
    generator = torch.Generator(device).manual_seed(0)
    a, b = (torch.randn(size, size, device=device, generator=generator) for _ in range(2))
    a @ b  # warm-up
    seconds = statistics.median(_timed(lambda: a @ b, device)[1] for _ in range(calls))
    return 2 * size**3 / seconds
