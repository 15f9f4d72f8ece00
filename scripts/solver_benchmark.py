"""Solver cost and quality, run by hand (not a test): ``python scripts/solver_benchmark.py``.

For K = N in ``--sizes`` on i.i.d. CN(0, 1) channels (sigma2 = 1, ``--snr-db``), prints per
solver the mean of the utility it optimises and its timings by the project's one protocol
(:func:`benchmarks.timing.timed_solves`: warm-up, the latency of one channel as the median of
``--repeats`` batch-1 calls, the time per channel solving ``--batch`` channels at once), both
also as ratios to the anchor row measured in the same run, plus the DPC bound. Learned models
get their FLOPs per channel (``torch.utils.flop_counter``), the fraction of this machine's
float32 matrix-product rate they achieve batched (:func:`benchmarks.timing.matmul_throughput`)
and their speed-up over ``wmmse`` (batched time per channel).

The anchor ``numpy-cf-100`` is a plain NumPy WMMSE with the closed-form multiplier and 100
iterations (:func:`closed_form_wmmse`); it always runs first. Speed goals on the 2-core CPU, one
thread, K = N = 8, 15 dB: ``wmmse`` (the default: closed-form multiplier, compiled loop) batch-1
<= 1 ms and <= 0.25 ms per channel at batch 1000, each at most half the anchor's; SALLO-M
batch-1 <= 5 ms. Rows ``wmmse-100`` (exactly 100 iterations, the anchor's work),
``wmmse-torch`` (the same algorithm on the torch path) and ``wmmse-exact`` (exact multiplier)
show where the time goes; ``sallo-m-base`` is SALLO-M without its refinement. A progress bar on
stderr names the solver being timed; bad input is one line ``error: ...`` and exit status 2
(``--debug`` shows the traceback).
"""

from __future__ import annotations

import time

import numpy as np
import torch
from tqdm.auto import tqdm

import agents
from agents.learned import CHECKPOINTS, MODELS
from agents.storage import CommandLine, run_command
from beamgym.checks import check_count, check_number
from beamgym.downlink import rates, transmit_power
from beamgym.scenario import SNR_DB_RANGE
from beamgym.units import db_to_linear
from beamgym.utilities import utility
from benchmarks.timing import Timing, flops_per_channel, matmul_throughput, timed_solves

ROWS = {  # label: (agent name, config, utility)
    "mrt": ("mrt", {}, "sum_rate"),
    "zf": ("zf", {}, "sum_rate"),
    "zf-wf": ("zf-wf", {}, "sum_rate"),
    "rzf": ("rzf", {}, "sum_rate"),
    "wmmse": ("wmmse", {}, "sum_rate"),
    "wmmse-100": ("wmmse", {"max_iterations": 100, "tolerance": 0.0}, "sum_rate"),
    "wmmse-torch": ("wmmse", {"backend": "torch"}, "sum_rate"),
    "wmmse-exact": ("wmmse", {"multiplier": "exact"}, "sum_rate"),
    "wmmse-best": ("wmmse-best", {}, "sum_rate"),
    "pf": ("pf", {}, "proportional_fair"),
    "maxmin": ("maxmin", {}, "min_rate"),
    "ee": ("ee", {}, "energy_efficiency"),
    **{name: (name, {}, "sum_rate") for name in MODELS},
    "sallo-m-base": ("sallo-m", {"checkpoint": str(CHECKPOINTS / "sallo-m-base")}, "sum_rate"),
}
LEARNED = (*MODELS, "sallo-m-base")
"""The rows whose FLOP efficiency and speed-up over ``wmmse`` are printed."""

FLOP_BATCH = 64
"""Channels of the solve whose FLOPs are counted (the count per channel does not depend on it)."""


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


def _parser() -> CommandLine:
    parser = CommandLine(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[4, 8, 16], help="K = N values")
    parser.add_argument("--snr-db", type=float, default=15.0)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument(
        "--best-batch", type=int, default=100, help="batch for wmmse-best (12 starts)"
    )
    parser.add_argument("--repeats", type=int, default=20, help="batch-1 calls per latency")
    rows = [ANCHOR, *ROWS]
    parser.add_argument(
        "--rows", nargs="+", default=rows, choices=rows, help=f"(the anchor {ANCHOR} always runs)"
    )
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
    throughput = matmul_throughput()
    print(
        f"i.i.d. CN(0,1), sigma2 = 1, SNR {args.snr_db} dB, torch threads "
        f"{torch.get_num_threads()}, float32 matmul {throughput / 1e9:.1f} GFLOP/s"
    )
    rows = [label for label in args.rows if label != ANCHOR]
    with tqdm(total=len(args.sizes) * (len(rows) + 1), unit="solver", leave=False) as bar:
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
                f"{'solver':>12} {'utility':>18} {'mean':>9} {'batch-1 ms':>11} {'ms/channel':>11} "
                f"{'batch':>6} {'b1/anchor':>9} {'ch/anchor':>9} {'MFLOP/ch':>9} {'of peak':>8} "
                f"{'x wmmse':>8}"
            )
            bar.set_description(f"K = N = {size}: {ANCHOR}")
            channels = H.numpy()
            W, anchor = timed_solves(
                lambda x: closed_form_wmmse(x, power), channels, channels[:1], len(channels),
                latency_calls=args.repeats,
            )  # fmt: skip
            value = rates(H, torch.from_numpy(W)).sum(-1).mean().item()
            bar.write(_row(ANCHOR, "sum_rate", value, anchor, len(channels), anchor))
            bar.update()
            per_channel = {}
            for label in rows:
                bar.set_description(f"K = N = {size}: {label}")
                name, config, target = ROWS[label]
                solver = agents.make(name, **config)
                batch = min(args.batch, args.best_batch) if name == "wmmse-best" else args.batch

                def solve(channels: torch.Tensor, solver=solver, target=target) -> torch.Tensor:
                    return solver.solve(channels, power=power, utility=target)

                try:
                    W, timing = timed_solves(
                        solve, H[:batch], H[:1], batch, latency_calls=args.repeats
                    )
                except agents.NotApplicable as error:  # e.g. a model trained for fewer users
                    bar.write(f"{label:>12} {target:>18} n/a: {error}")
                    bar.update()
                    continue
                per_channel[label] = timing.time_per_channel_s
                value = utility(target, rates(H[:batch], W), power_used=transmit_power(W))
                line = _row(label, target, value.mean().item(), timing, batch, anchor)
                if label in LEARNED:
                    flops = flops_per_channel(solve, H[:FLOP_BATCH], min(FLOP_BATCH, batch))
                    efficiency = flops / timing.time_per_channel_s / throughput
                    line += f" {flops / 1e6:>9.3f} {100 * efficiency:>7.2f}%"
                    if "wmmse" in per_channel:
                        line += f" {per_channel['wmmse'] / timing.time_per_channel_s:>8.2f}"
                bar.write(line)
                bar.update()


def _row(label: str, target: str, value: float, timing: Timing, batch: int, anchor: Timing) -> str:
    return (
        f"{label:>12} {target:>18} {value:>9.3f} {timing.latency_s * 1e3:>11.3f} "
        f"{timing.time_per_channel_s * 1e3:>11.4f} {batch:>6} "
        f"{timing.latency_s / anchor.latency_s:>9.3f} "
        f"{timing.time_per_channel_s / anchor.time_per_channel_s:>9.3f}"
    )


def main(argv: list[str] | None = None) -> None:
    """Run the command line; exits with status 2 (one line on stderr) on bad input."""
    run_command(_parser(), benchmark, argv)


if __name__ == "__main__":
    main()
