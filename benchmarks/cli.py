"""The command line: ``python -m benchmarks {run,report,merge,card,rl-card,list}``.

``run`` uses one torch thread per process unless ``--threads`` says otherwise: the agents
solve batches of small matrices, where intra-op threads gain little and, on a busy machine,
oversubscribed threads made WMMSE-best up to 20x slower; a sweep uses more cores through
``--shard``, one process per core.

Exit status: 0 done; 1 the run finished but some units failed (their rows say why; a card
is then not written), or a merge found units missing; 2 bad usage (an option's value, an
unknown suite, a malformed suite file or agent spec, a results folder of another suite, an
``--out`` that cannot be written, a broken checkpoint, an unusable device), said in one line
``error: ...`` (``--debug`` shows the traceback too; see :mod:`agents.storage`); 130
interrupted (finished units are kept: run the same command again to resume).

A checkpoint is a path without suffix, relative to the current directory, or the name of a
shipped one (``sallo-m``, from any directory). An agent ``package.module:factory`` is
imported from ``sys.path``, which ``python -m`` starts with the current directory:
``examples.my_agent:ScaledMRT`` works from the repository's root."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

import torch

import agents
from agents.learned.checkpoint import CHECKPOINTS
from agents.storage import CommandLine, check_writable, device, fail, locate
from beamgym.checks import check_count, check_number
from beamgym.scenario import SNR_DB_RANGE
from benchmarks.card import UnitsFailed, default_grid, run_card
from benchmarks.leaderboard import overview
from benchmarks.learning_curves import shipped_checkpoints, write_card
from benchmarks.lineup import REFERENCES, default_agents
from benchmarks.report import collect, report
from benchmarks.results import MissingUnits, ResultsFolder, merge
from benchmarks.runner import run
from benchmarks.suites import SUITES, get_suite

AGENTS_HELP = """agent specs (default: %(default)s): a registered name (`python -m benchmarks list`
shows them), optionally with keywords, e.g. 'wmmse(max_iterations=100)'; or
'package.module:factory(key=value)' for your own solver or policy (imported from sys.path,
which python -m starts with the current directory); 'default' stands for the default
line-up. Each configuration also runs its task's reference (wmmse, maxmin, pf or ee)."""


def _shard(text: str) -> tuple[int, int]:
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        index = count = 0
    if not 1 <= index <= count:
        raise argparse.ArgumentTypeError(f"must be I/N with 1 <= I <= N, got {text!r}")
    return index, count


def _parser() -> argparse.ArgumentParser:
    parser = CommandLine(
        prog="python -m benchmarks",
        description="Score beamforming agents on seeded suites of shared channels.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run_cmd = commands.add_parser(
        "run",
        help="run or resume a suite",
        description="Run a suite into a results folder, resuming what is already there, then "
        "write the reports (see the report command).",
    )
    run_cmd.add_argument(
        "--suite", required=True, help=f"one of {sorted(SUITES)} or a .toml/.json suite file"
    )
    run_cmd.add_argument("--out", required=True, help="results folder (created, or resumed)")
    run_cmd.add_argument(
        "--agents", nargs="+", default=["default"], metavar="SPEC", help=AGENTS_HELP
    )
    run_cmd.add_argument(
        "--device",
        type=device,
        default=torch.device("cpu"),
        help="torch device the agents solve on (default: cpu)",
    )
    run_cmd.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch CPU threads of this process (default: 1; use --shard to spread a run "
        "over cores, one process each)",
    )
    run_cmd.add_argument(
        "--shard",
        type=_shard,
        metavar="I/N",
        help="run only the I-th of N shards (merge them afterwards)",
    )
    run_cmd.add_argument(
        "--save-beamformers", action="store_true", help="also store every agent's beamformers"
    )
    run_cmd.add_argument("--no-report", action="store_true", help="do not write the reports")
    run_cmd.add_argument("--no-progress", action="store_true", help="no progress bar")
    report_cmd = commands.add_parser(
        "report",
        help="write summaries, LEADERBOARD.md and plots",
        description="Write episodes/summary CSV+JSON, LEADERBOARD.md and plots/ of a results folder.",
    )
    report_cmd.add_argument("folder", help="results folder")
    report_cmd.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    merge_cmd = commands.add_parser(
        "merge",
        help="merge shard folders",
        description="Merge the results folders of shards into a new folder; fails if units are missing.",
    )
    merge_cmd.add_argument("--out", required=True, help="new (or empty) merged results folder")
    merge_cmd.add_argument("folders", nargs="+", help="the shards' results folders")
    merge_cmd.add_argument("--no-report", action="store_true", help="do not write the reports")
    card_cmd = commands.add_parser(
        "card",
        help="score a trained checkpoint and write its model card",
        description="Score a learned checkpoint on a grid of benchmark configurations (the "
        "leaderboard's channels, seeds and scoring) and write CHECKPOINT.md and the evaluation "
        "of CHECKPOINT.json (see benchmarks.card).",
    )
    card_cmd.add_argument(
        "checkpoint", help="checkpoint path without suffix, or a shipped one's name (sallo-m)"
    )
    card_cmd.add_argument("--utilities", nargs="+", help="default: every utility it serves")
    card_cmd.add_argument(
        "--channel-models", nargs="+", help="beamgym channel models (default: rayleigh)"
    )
    card_cmd.add_argument("--antennas", type=int, nargs="+", help="default: its training N")
    card_cmd.add_argument("--users", type=int, nargs="+", help="default: 2 to 8")
    card_cmd.add_argument("--snr-db", type=float, nargs="+", help="default: 0 10 20")
    card_cmd.add_argument(
        "--max-load", type=float, default=float("inf"), help="largest K / N scored"
    )
    card_cmd.add_argument(
        "--baselines",
        nargs="+",
        default=[],
        metavar="CHECKPOINT",
        help="other checkpoints (paths or shipped names) scored on the same channels",
    )
    card_cmd.add_argument(
        "--out", help="results folder (default: results/cards/NAME; resumed if present)"
    )
    card_cmd.add_argument("--threads", type=int, default=1, help="torch CPU threads (default: 1)")
    card_cmd.add_argument("--no-progress", action="store_true", help="no progress bar")
    rl_card_cmd = commands.add_parser(
        "rl-card",
        help="write RL checkpoints' cards (training record and learning curve)",
        description="Write NAME.md and NAME-curve.png beside each RL checkpoint: its training "
        "record and learning curve with the reference on the same validation channels (see "
        "benchmarks.learning_curves).",
    )
    rl_card_cmd.add_argument(
        "checkpoints",
        nargs="*",
        help="paths without suffix or shipped names (default: every shipped RL checkpoint)",
    )
    rl_card_cmd.add_argument(
        "--threads", type=int, default=1, help="torch CPU threads (default: 1)"
    )
    commands.add_parser("list", help="list the suites and agents")
    return parser


def _card(args: argparse.Namespace, argv: list[str]) -> int:
    checkpoint = str(locate(args.checkpoint, CHECKPOINTS))  # the card is written beside it
    for n in args.antennas or ():
        check_count("--antennas", n)
    for k in args.users or ():
        check_count("--users", k)
    for snr in args.snr_db or ():
        check_number("--snr-db", snr, *SNR_DB_RANGE)
    if not args.max_load > 0:
        raise ValueError(f"--max-load must be a number > 0, got {args.max_load}")
    out = args.out or f"results/cards/{Path(checkpoint).name}"
    check_writable("--out", out)
    grid = default_grid(checkpoint)
    for key in ("utilities", "channel_models", "antennas", "users", "snr_db"):
        grid[key] = getattr(args, key) or grid[key]
    text = run_card(
        checkpoint,
        grid,
        baselines=args.baselines,
        out=out,
        command=shlex.join(["python", "-m", "benchmarks", *argv]),
        max_load=args.max_load,
        progress=not args.no_progress,
    )
    print(text)
    print(f"wrote {checkpoint}.json (its evaluation) and {checkpoint}.md; results in {out}")
    return 0


def _list() -> None:
    print("suites:")
    width = max(map(len, SUITES))
    for name, suite in SUITES.items():
        channels = sum(c.num_channels for c in suite.configurations)
        print(
            f"  {name:<{width}} {len(suite.configurations)} configurations, {channels} channels: {suite.description}"
        )
    print(f"registered agents: {' '.join(agents.available())}")
    print(f"default agents: {' '.join(default_agents())}")
    print("task references: " + ", ".join(f"{u}: {a}" for u, a in REFERENCES.items()))


def _run(args: argparse.Namespace, argv: list[str]) -> int:
    check_writable("--out", args.out)
    specs = [a for spec in args.agents for a in (default_agents() if spec == "default" else [spec])]
    outcome = run(
        get_suite(args.suite),
        args.out,
        specs,
        device=str(args.device),
        shard=args.shard,
        save_beamformers=args.save_beamformers,
        progress=not args.no_progress,
        command=shlex.join(["python", "-m", "benchmarks", *argv]),
    )
    counts = outcome.counts
    print(
        f"ran {sum(counts.values())} units ({counts['ok']} ok, {counts['not-applicable']} not applicable, "
        f"{counts['failed']} failed); {outcome.skipped} already finished; results in {args.out}"
    )
    if not args.no_report:
        report(args.out)
        print("\n".join(overview(collect(ResultsFolder(args.out)))))
        print(f"details, intervals and plots: {args.out}/LEADERBOARD.md")
    return 1 if counts["failed"] else 0


def _command(args: argparse.Namespace, argv: list[str]) -> int:
    """Carry out the parsed command; returns its exit status."""
    if args.command == "list":
        _list()
        return 0
    if args.command == "report":
        written = report(args.folder, plots=not args.no_plots)
        print(f"wrote {len(written)} files; see {args.folder}/LEADERBOARD.md")
        return 0
    if args.command == "merge":
        check_writable("--out", args.out)
        merge(args.out, args.folders)
        if not args.no_report:
            report(args.out)
        print(f"merged {len(args.folders)} folders into {args.out}")
        return 0
    check_count("--threads", args.threads)
    torch.set_num_threads(args.threads)
    if args.command == "rl-card":
        for checkpoint in args.checkpoints or shipped_checkpoints():
            print(f"wrote {write_card(checkpoint)}")
        return 0
    return _card(args, argv) if args.command == "card" else _run(args, argv)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (module docstring)."""
    argv = sys.argv[1:] if argv is None else argv
    args = _parser().parse_args(argv)
    try:
        return _command(args, argv)
    except (MissingUnits, UnitsFailed) as error:  # an outcome, not bad usage
        return fail(error, args.debug, status=1)
    except KeyboardInterrupt:
        print(
            "interrupted: finished units are kept; run the same command again to resume",
            file=sys.stderr,
        )
        return 130
    except Exception as error:
        return fail(error, args.debug)
