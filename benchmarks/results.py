"""The results folder: what a run writes, how it resumes, and how shards merge.

Layout of a results folder::

    run.json                      the suite as run and every invocation (command, agents, shard)
    units.jsonl                   one line per finished (configuration, agent) unit
    channels/<config>.npz         the stored channels (benchmarks.episodes), no pickle
    beamformers/<config>/<agent>.npz   the agents' beamformers (``run --save-beamformers``)

and, written from these by ``python -m benchmarks report`` (:mod:`benchmarks.report`):
``episodes.{csv,json}``, ``summary.{csv,json}``, ``LEADERBOARD.md`` and ``plots/``.

Durability: each unit's record is one JSON line written with a single ``write``, flushed and
fsync'ed when the unit finishes, so a killed run loses at most the unit in progress. A line
cut short by a kill is dropped when the folder is opened again. Several records of one unit
(a failed unit retried by a resumed run, shards that overlap) reduce to one by
:func:`select`: a finished record (``ok`` or ``not-applicable``) beats a failed one, and
otherwise the later one wins.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.lineup import parse_agent, plan_units
from benchmarks.suites import Suite, parse_suite

FINISHED = ("ok", "not-applicable")
"""Statuses a resumed run does not redo; ``failed`` units are tried again."""

Key = tuple[str, str]
"""A unit: (configuration name, agent label)."""


class ResultsError(ValueError):
    """A results folder that cannot be used as asked; the message says why."""


class MissingUnits(ResultsError):
    """A merge that lacks some units of its suite (the shards that hold them must run)."""


LOCK_FILE = ".lock"
"""The file a run holds an exclusive ``flock`` on while it writes the folder (released by
the kernel when the process ends, however it ends)."""


def partial_name(path: Path) -> Path:
    """A temporary name beside ``path``, unique to this process: written, then renamed."""
    return path.with_name(f"{path.name}.{os.getpid()}.partial")


def _write_json(path: Path, data: Any) -> None:
    partial = partial_name(path)
    partial.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    os.replace(partial, path)


def select(records: Iterable[dict[str, Any]]) -> dict[Key, dict[str, Any]]:
    """One record per unit (module docstring), in first-seen order."""
    chosen: dict[Key, dict[str, Any]] = {}
    for record in records:
        key = (record["config"], record["agent"])
        old = chosen.get(key)
        if old is None or not (old["status"] in FINISHED and record["status"] not in FINISHED):
            chosen[key] = record
    return chosen


class ResultsFolder:
    """A results folder (module docstring) at ``path``."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.run_file = self.path / "run.json"
        self.units_file = self.path / "units.jsonl"

    def exists(self) -> bool:
        return self.run_file.is_file()

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the folder for one run: a second run into it while this one writes is
        refused (:class:`ResultsError`) instead of racing it for ``run.json``."""
        self.path.mkdir(parents=True, exist_ok=True)
        with open(self.path / LOCK_FILE, "a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise ResultsError(
                    f"another run is writing to {str(self.path)!r}; wait for it to finish "
                    "or use another --out"
                ) from None
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def run_info(self) -> dict[str, Any]:
        if not self.exists():
            raise ResultsError(f"{str(self.path)!r} is not a results folder: it has no run.json")
        return json.loads(self.run_file.read_text(encoding="utf-8"))

    def suite(self) -> Suite:
        return parse_suite(self.run_info()["suite"], str(self.run_file))

    def requested_agents(self) -> list[str]:
        """Agent labels requested by any invocation, in first-seen order."""
        labels = [label for inv in self.run_info()["invocations"] for label in inv["agents"]]
        return list(dict.fromkeys(labels))

    def start(self, suite: Suite, invocation: dict[str, Any]) -> None:
        """Create the folder, or reopen it for a resumed or extended run of the same suite.

        Raises:
            ResultsError: the folder holds results of a different suite.
        """
        if self.exists():
            info = self.run_info()
            if info["suite"] != suite.to_dict():
                raise ResultsError(
                    f"{str(self.path)!r} holds results of another suite ({info['suite']['name']!r} "
                    f"with different configurations); use a new --out folder"
                )
            self._drop_partial_line()
        else:
            self.path.mkdir(parents=True, exist_ok=True)
            info = {"format": 1, "suite": suite.to_dict(), "invocations": []}
        info["invocations"].append(invocation)
        _write_json(self.run_file, info)

    def _drop_partial_line(self) -> None:
        """Cut a last line that a kill left without its newline."""
        if not self.units_file.exists():
            return
        data = self.units_file.read_bytes()
        if data and not data.endswith(b"\n"):
            with self.units_file.open("r+b") as f:
                f.truncate(data.rfind(b"\n") + 1)

    def records(self) -> list[dict[str, Any]]:
        """Every complete record, in file order (an unfinished last line is skipped)."""
        if not self.units_file.exists():
            return []
        records = []
        for line in self.units_file.read_text(encoding="utf-8").splitlines():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return records

    def units(self) -> dict[Key, dict[str, Any]]:
        """One record per unit (:func:`select`)."""
        return select(self.records())

    def append(self, record: dict[str, Any]) -> None:
        """Add a unit's record durably (one write, flushed and fsync'ed)."""
        line = json.dumps(record, allow_nan=False, default=str) + "\n"
        with self.units_file.open("a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())

    def channels_path(self, config: str) -> Path:
        return self.path / "channels" / f"{config}.npz"

    def beamformers_path(self, config: str, agent: str) -> Path:
        safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in agent)
        return self.path / "beamformers" / config / f"{safe}.npz"


def _same_arrays(a: Path, b: Path) -> bool:
    with np.load(a, allow_pickle=False) as x, np.load(b, allow_pickle=False) as y:
        return set(x) == set(y) and all(np.array_equal(x[k], y[k]) for k in x)


def merge(out: str | Path, sources: Iterable[str | Path]) -> ResultsFolder:
    """Merge the results folders of shards (or of any runs of one suite) into ``out``.

    The records are de-duplicated (:func:`select`) and must cover every unit of the suite for
    every agent requested by any source; channels stored by several sources must be
    identical. Nothing is written unless both hold.

    Raises:
        ResultsError: a source is not a results folder, the sources ran different suites,
            ``out`` is not new or empty, units are missing, or channels disagree.
    """
    folders = [ResultsFolder(source) for source in sources]
    if not folders:
        raise ResultsError("merge needs at least one results folder")
    infos = [folder.run_info() for folder in folders]
    suite = parse_suite(infos[0]["suite"], str(folders[0].run_file))
    for folder, info in zip(folders, infos, strict=True):
        if info["suite"] != infos[0]["suite"]:
            raise ResultsError(
                f"{str(folder.path)!r} ran another suite than {str(folders[0].path)!r}; "
                "only runs of one suite merge"
            )
    target = ResultsFolder(out)
    if target.path.exists() and any(target.path.iterdir()):
        raise ResultsError(f"merge output {str(target.path)!r} must be a new or empty folder")
    units = select(record for folder in folders for record in folder.records())
    requested = list(dict.fromkeys(a for folder in folders for a in folder.requested_agents()))
    expected = [(c.name, s.label) for c, s in plan_units(suite, map(parse_agent, requested))]
    missing = [key for key in expected if key not in units]
    if missing:
        shown = ", ".join(f"{c} / {a}" for c, a in missing[:5])
        raise MissingUnits(
            f"{len(missing)} of {len(expected)} units are missing from the merged folders "
            f"(e.g. {shown}); run or resume the shards that lack them"
        )
    files: dict[Path, Path] = {}
    for folder in folders:
        for path in sorted(folder.path.glob("channels/*.npz")) + sorted(
            folder.path.glob("beamformers/*/*.npz")
        ):
            relative = path.relative_to(folder.path)
            if relative in files and not _same_arrays(files[relative], path):
                raise ResultsError(
                    f"{relative} differs between {str(files[relative])!r} and {str(path)!r}; "
                    "were the shards run with different code?"
                )
            files.setdefault(relative, path)
    target.path.mkdir(parents=True, exist_ok=True)
    for relative, source in files.items():
        (target.path / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target.path / relative)
    invocations = [inv for info in infos for inv in info["invocations"]]
    _write_json(
        target.run_file, {"format": 1, "suite": suite.to_dict(), "invocations": invocations}
    )
    order = {key: i for i, key in enumerate(expected)}
    for key in sorted(units, key=lambda key: order.get(key, len(order))):
        target.append(units[key])
    return target
