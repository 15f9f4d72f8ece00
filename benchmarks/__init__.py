"""benchmarks: seeded suites, the runner that scores every agent on the same channels, and
the reports (JSON/CSV rows, ``LEADERBOARD.md``, plots).

Command line: ``python -m benchmarks run --suite smoke --out results/smoke`` (see
:mod:`benchmarks.cli`). From Python::

    from benchmarks import SUITES, report, run
    run(SUITES["smoke"], "results/smoke", ["zf", "wmmse"])
    report("results/smoke")
"""

from benchmarks.episodes import Channels, draw_channels, load_channels, save_channels
from benchmarks.lineup import REFERENCES, AgentSpec, build_agent, default_agents, parse_agent
from benchmarks.report import report
from benchmarks.results import ResultsFolder, merge
from benchmarks.runner import run
from benchmarks.scoring import evaluate, score_channels
from benchmarks.suites import SUITES, Configuration, Suite, SuiteError, get_suite, load_suite

__all__ = [
    "REFERENCES",
    "SUITES",
    "AgentSpec",
    "Channels",
    "Configuration",
    "ResultsFolder",
    "Suite",
    "SuiteError",
    "build_agent",
    "default_agents",
    "draw_channels",
    "evaluate",
    "get_suite",
    "load_channels",
    "load_suite",
    "merge",
    "parse_agent",
    "report",
    "run",
    "save_channels",
    "score_channels",
]
