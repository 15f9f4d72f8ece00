"""Where the RL baselines stand on a leaderboard: per configuration, the best RL agent of each
action parameterisation against the task's reference and against RZF, from the summary a
benchmark run wrote (nothing is recomputed)::

    python scripts/rl_goals.py leaderboard

One row per configuration where an RL agent was scored: the reference, RZF's % of it (the
better of its two power normalisations, ``rzf`` and ``rzf(normalisation='total')``), and for
each action parameterisation the best agent's % of the reference, the agent, and whether it
reaches RZF (``>=``, within :data:`TIE`) or not (the gap in points). The last lines count
the configurations that meet the two bars the RL issue set: >= 95 % of WMMSE on the sum-rate
configurations with K <= N, and at least RZF wherever the agent serves.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from agents.rl import ACTIONS, AGENTS

RZF = ("rzf", "rzf(normalisation='total')")

TIE = 5e-4
"""A ratio within this of RZF's counts as reaching it (0.05 points: the float32 policies and
the float64 RZF of the same beamformer differ in the fifth digit)."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", help="a benchmark run's folder (its summary.json)")
    args = parser.parse_args(argv)
    path = Path(args.folder) / "summary.json"
    try:
        rows = json.loads(path.read_text())["rows"]
    except (OSError, ValueError, KeyError) as error:
        print(f"error: {path}: not a benchmark summary ({error})", file=sys.stderr)
        return 2
    configs: dict[str, dict] = {}
    for row in rows:
        if row["status"] == "ok":
            configs.setdefault(row["config"], {})[row["agent"]] = row
    actions = [a for a in ACTIONS if any(cls.action == a for cls in AGENTS.values())]
    header = ["configuration", "reference", "RZF %"] + [f"best {a} %" for a in actions]
    print(" | ".join(header))
    sum_rate_goal, rzf_goal = [0, 0], {action: [0, 0] for action in actions}
    for name, entries in configs.items():
        scored = {a: r["ratio_to_reference"] for a, r in entries.items() if a in AGENTS}
        if not scored:
            continue
        any_row = next(iter(entries.values()))
        rzf = max((entries[a]["ratio_to_reference"] for a in RZF if a in entries), default=None)
        cells = [name, any_row["reference"], "–" if rzf is None else f"{100 * rzf:.1f}"]
        for action in actions:
            mine = {a: v for a, v in scored.items() if AGENTS[a].action == action}
            if not mine:
                cells.append("–")
                continue
            agent, value = max(mine.items(), key=lambda item: item[1])
            verdict = ""
            if rzf is not None:
                verdict = ">= RZF" if value >= rzf - TIE else f"{100 * (value - rzf):+.1f}"
            cells.append(f"{100 * value:.1f} ({agent} {verdict})")
            if rzf is not None:
                rzf_goal[action][0] += value >= rzf - TIE
                rzf_goal[action][1] += 1
            largest_k = max(int(k) for k in str(any_row["num_users"]).split("-"))
            served_k_le_n = largest_k <= int(any_row["num_antennas"])
            if action == "structure" and any_row["utility"] == "sum_rate" and served_k_le_n:
                sum_rate_goal[0] += value >= 0.95
                sum_rate_goal[1] += 1
        print(" | ".join(cells))
    print(
        f"structured action, sum rate, K <= N: >= 95 % of the reference in "
        f"{sum_rate_goal[0]} of {sum_rate_goal[1]} configurations"
    )
    for action, (met, served) in rzf_goal.items():
        if served:
            print(
                f"best {action} agent at least RZF (within {100 * TIE:.2f} points): {met} of {served}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
