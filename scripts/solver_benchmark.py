"""Solver cost and quality, run by hand (not a test): ``python scripts/solver_benchmark.py``.

For K = N in ``--sizes`` on i.i.d. CN(0, 1) channels (sigma2 = 1, ``--snr-db``), prints per
solver: the mean of the utility it optimises, the latency of one channel (batch 1, median of
``--repeats`` calls) and the time per channel when solving ``--batch`` channels at once, plus
the DPC bound. Speed goals on the 2-core CPU: the ``wmmse-100`` row (exactly 100
iterations), <= 0.5 ms per channel at K = N = 8 and batch 1000; the learned models against
``wmmse`` (BERT4beam and UBERT: batch-1 latency <= 2 ms and >= 20x its throughput at batch
1000; SALLO-M: <= 5 ms and less time per channel at batch 1000; ``sallo-m-base`` is its model
without the refinement). The ``numpy-cf-100`` row is a plain NumPy WMMSE with the closed-form
multiplier and 100 iterations (:func:`closed_form_wmmse`), the anchor of ``wmmse``'s speed
goals; ``wmmse-cf`` and ``wmmse-cf-100`` are ``wmmse`` with the same closed-form multiplier
(``multiplier="closed-form"``). A progress bar on stderr names the solver being timed; bad input is
one line ``error: ...`` and exit status 2 (``--debug`` shows the traceback).
"""

from __future__ import annotations

import statistics
import time

import numpy as np
import torch
from tqdm.auto import tqdm

import agents
from agents.learned import CHECKPOINTS
from agents.storage import CommandLine, run_command
from beamgym.checks import check_count, check_number
from beamgym.downlink import rates, transmit_power
from beamgym.scenario import SNR_DB_RANGE
from beamgym.units import db_to_linear
from beamgym.utilities import utility

ROWS = {  # label: (agent name, config, utility)
    "mrt": ("mrt", {}, "sum_rate"),
    "zf": ("zf", {}, "sum_rate"),
    "zf-wf": ("zf-wf", {}, "sum_rate"),
    "rzf": ("rzf", {}, "sum_rate"),
    "wmmse": ("wmmse", {}, "sum_rate"),
    "wmmse-100": ("wmmse", {"max_iterations": 100, "tolerance": 0.0}, "sum_rate"),
    "wmmse-cf": ("wmmse", {"multiplier": "closed-form"}, "sum_rate"),
    "wmmse-cf-100": (
        "wmmse",
        {"multiplier": "closed-form", "max_iterations": 100, "tolerance": 0.0},
        "sum_rate",
    ),
    "wmmse-best": ("wmmse-best", {}, "sum_rate"),
    "pf": ("pf", {}, "proportional_fair"),
    "maxmin": ("maxmin", {}, "min_rate"),
    "ee": ("ee", {}, "energy_efficiency"),
    "bert4beam": ("bert4beam", {}, "sum_rate"),
    "ubert": ("ubert", {}, "sum_rate"),
    "sallo-m": ("sallo-m", {}, "sum_rate"),
    "sallo-m-base": ("sallo-m", {"checkpoint": str(CHECKPOINTS / "sallo-m-base")}, "sum_rate"),
}


ANCHOR = "numpy-cf-100"
"""The row of :func:`closed_form_wmmse`: the speed anchor WMMSE is measured against."""


def closed_form_wmmse(
    H: np.ndarray, power: float, noise_power: float = 1.0, iterations: int = 100
) -> np.ndarray:
    """A plain NumPy WMMSE with the closed-form multiplier, the speed anchor of ``wmmse``.

    Sum rate, RZF start, ``iterations`` fixed iterations of Shi et al.'s three blocks with the
    power multiplier of Christensen, Agarwal, Carvalho and Cioffi (IEEE TWC 7(12), 2008),
    ``mu = sigma2 sum_k omega_k |u_k|^2 / P``, then the beamformer scaled onto the budget:

        u_k^* = (HW)_kk / T_k,   omega_k = T_k / (T_k - |(HW)_kk|^2)
        W = (H^H diag(omega |u|^2) H + mu I)^{-1} H^H diag(omega u^*),  W <- W sqrt(P) / ||W||_F

    Args: ``H`` complex ``[B, K, N]``; returns ``W [B, N, K]`` with ``||W||_F^2 = P``.
    """
    users, antennas = H.shape[-2:]
    Hh = H.conj().swapaxes(-1, -2)
    eye = np.eye(antennas)
    W = np.linalg.solve(Hh @ H + users * noise_power / power * eye, Hh)  # RZF
    for _ in range(iterations):
        W *= np.sqrt(power / np.sum(np.abs(W) ** 2, axis=(-2, -1), keepdims=True))
        HW = H @ W
        signal = np.diagonal(HW, axis1=-2, axis2=-1)
        total = np.sum(np.abs(HW) ** 2, axis=-1) + noise_power
        u_conj = signal / total
        omega = total / (total - np.abs(signal) ** 2)
        gain = omega * np.abs(u_conj) ** 2
        mu = noise_power * gain.sum(-1) / power
        A = Hh @ (gain[..., None] * H) + mu[:, None, None] * eye
        W = np.linalg.solve(A, Hh * (omega * u_conj)[:, None, :])
    return W * np.sqrt(power / np.sum(np.abs(W) ** 2, axis=(-2, -1), keepdims=True))


def latency(
    solver: agents.Solver, H: torch.Tensor, power: float, target: str, repeats: int
) -> float:
    """Median wall time of ``repeats`` batch-1 solves, seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        solver.solve(H[:1], power=power, utility=target)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def anchor_row(H: torch.Tensor, power: float, repeats: int) -> str:
    """The table row of :func:`closed_form_wmmse` (timed as the solvers are, on NumPy input)."""
    channels = H.numpy()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        closed_form_wmmse(channels[:1], power)
        times.append(time.perf_counter() - start)
    start = time.perf_counter()
    W = closed_form_wmmse(channels, power)
    per_channel = (time.perf_counter() - start) / len(channels)
    value = rates(H, torch.from_numpy(W)).sum(-1).mean().item()
    return (
        f"{ANCHOR:>11} {'sum_rate':>18} {value:>9.3f} {statistics.median(times) * 1e3:>11.2f} "
        f"{per_channel * 1e3:>11.3f} {len(channels):>6}"
    )


def _parser() -> CommandLine:
    parser = CommandLine(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[4, 8, 16], help="K = N values")
    parser.add_argument("--snr-db", type=float, default=15.0)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument(
        "--best-batch", type=int, default=100, help="batch for wmmse-best (12 starts)"
    )
    parser.add_argument("--repeats", type=int, default=20, help="batch-1 calls per latency")
    rows = [*ROWS, ANCHOR]
    parser.add_argument("--rows", nargs="+", default=rows, choices=rows)
    parser.add_argument(
        "--threads", type=int, default=1, help="torch CPU threads (default: 1, as the benchmarks)"
    )
    return parser


def benchmark(args) -> None:
    """Print the table (module docstring) for the parsed command line ``args``."""
    for size in args.sizes:
        check_count("--sizes", size)
    for name in ("batch", "best_batch", "repeats", "threads"):
        check_count(f"--{name.replace('_', '-')}", getattr(args, name))
    check_number("--snr-db", args.snr_db, *SNR_DB_RANGE)
    torch.set_num_threads(args.threads)
    power = db_to_linear(args.snr_db)
    print(
        f"i.i.d. CN(0,1), sigma2 = 1, SNR {args.snr_db} dB, torch threads {torch.get_num_threads()}"
    )
    with tqdm(total=len(args.sizes) * len(args.rows), unit="solver", leave=False) as bar:
        for size in args.sizes:
            generator = torch.Generator().manual_seed(size)
            H = torch.randn(args.batch, size, size, dtype=torch.complex128, generator=generator)
            start = time.perf_counter()
            bound = agents.dpc_capacity(H, power).capacity.mean().item()
            dpc_time = (time.perf_counter() - start) / args.batch
            bar.write(
                f"\nK = N = {size}: DPC sum capacity {bound:.3f} bit/s/Hz ({dpc_time * 1e3:.3f} ms/channel)"
            )
            bar.write(
                f"{'solver':>11} {'utility':>18} {'mean':>9} {'batch-1 ms':>11} {'ms/channel':>11} {'batch':>6}"
            )
            for label in args.rows:
                bar.set_description(f"K = N = {size}: {label}")
                if label == ANCHOR:
                    bar.write(anchor_row(H, power, args.repeats))
                    bar.update()
                    continue
                name, config, target = ROWS[label]
                solver = agents.make(name, **config)
                batch = min(args.batch, args.best_batch) if name == "wmmse-best" else args.batch
                channels = H[:batch]
                one = latency(solver, H, power, target, args.repeats)
                start = time.perf_counter()
                W = solver.solve(channels, power=power, utility=target)
                per_channel = (time.perf_counter() - start) / batch
                value = utility(target, rates(channels, W), power_used=transmit_power(W))
                bar.write(
                    f"{label:>11} {target:>18} {value.mean().item():>9.3f} {one * 1e3:>11.2f} "
                    f"{per_channel * 1e3:>11.3f} {batch:>6}"
                )
                bar.update()


def main(argv: list[str] | None = None) -> None:
    """Run the command line; exits with status 2 (one line on stderr) on bad input."""
    run_command(_parser(), benchmark, argv)


if __name__ == "__main__":
    main()
