"""The timing protocol: the order of its calls, what it returns, and the FLOP count against
the operations written out by hand."""

import time

import torch

from benchmarks.timing import LATENCY_CALLS, flops_per_channel, matmul_throughput, timed_solves


def test_protocol_warms_up_then_times_the_batch_then_the_median_of_batch_1_calls():
    calls = []

    def solve(x):
        calls.append(x)
        time.sleep(0.03)  # the warm-up lasts WARMUP_S: a few calls of this one
        return f"solved {x}"

    output, timing = timed_solves(solve, "batch", "one", size=4)
    warmup = calls.index("batch")
    assert warmup >= 1 and calls[:warmup] == ["one"] * warmup
    assert calls[warmup:] == ["batch"] + ["one"] * LATENCY_CALLS
    assert output == "solved batch"
    assert timing.time_per_channel_s > 0 and timing.latency_s > 0
    assert timing.threads == torch.get_num_threads()
    assert timing.device.startswith("cpu")


def test_flops_per_channel_count_the_matrix_products_per_problem():
    """A batch of 6 problems, each a [3, 5] x [5, 7] product and then a [3, 7] x [7, 2] one:
    ``2 m k n`` operations per product and problem."""
    a, b = torch.randn(6, 3, 5), torch.randn(6, 5, 7)
    c = torch.randn(6, 7, 2)

    def solve(x):
        return torch.bmm(torch.bmm(x[0], x[1]), x[2])

    assert flops_per_channel(solve, (a, b, c), 6) == 2 * 3 * 5 * 7 + 2 * 3 * 7 * 2


def test_matmul_throughput_is_a_positive_rate():
    assert matmul_throughput(size=32, calls=3) > 0
