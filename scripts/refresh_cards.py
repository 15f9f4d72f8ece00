"""Re-score every model card with the command written in it, run by hand (not a test):
``python scripts/refresh_cards.py [--jobs 2] [--under agents/learned/checkpoints]``.

A card's numbers depend on the code that scores it, including the task's reference (WMMSE for
the sum rate): after such a change every card must be produced again, by the command it
states. This finds every checkpoint card (``*.json`` with an ``evaluation``) under ``--under``
and runs its ``evaluation.command`` again, ``--jobs`` at a time, each in its own process with
one torch thread (the command's own ``--threads`` if it says so). Cards of the equal-budget
comparison are left to ``python scripts/equal_budget.py``, which re-scores them and rewrites
its summary. A command that fails is reported with its output and the others go on; the exit
status is 1 if any failed.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EQUAL_BUDGET = "equal-budget"


def card_commands(under: Path) -> list[list[str]]:
    """The recorded scoring command of every card under ``under`` (equal-budget ones
    excluded), largest card files first so that the longest runs start early."""
    cards = sorted(under.rglob("*.json"), key=lambda p: -p.stat().st_size)
    commands = []
    for path in cards:
        if EQUAL_BUDGET in path.parts:
            continue
        evaluation = json.loads(path.read_text()).get("evaluation")
        if evaluation:
            words = shlex.split(evaluation["command"])
            if words[:3] != ["python", "-m", "benchmarks"] or words[3] != "card":
                raise ValueError(f"{path}: not a card command: {evaluation['command']!r}")
            commands.append([sys.executable, *words[1:]])
    return commands


def _run(command: list[str]) -> tuple[list[str], subprocess.CompletedProcess]:
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    return command, done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1, help="cards scored at once (default 1)")
    parser.add_argument("--under", type=Path, default=ROOT / "agents" / "learned" / "checkpoints")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f"--jobs must be >= 1, got {args.jobs}")
    commands = card_commands(args.under)
    failed = 0
    with ThreadPoolExecutor(args.jobs) as pool:
        for command, done in pool.map(_run, commands):
            text = shlex.join(command[1:])
            if done.returncode:
                failed += 1
                print(
                    f"FAILED ({done.returncode}): {text}\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
                )
            else:
                print(f"ok: {text}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
