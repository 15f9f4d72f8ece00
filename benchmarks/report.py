"""Reports of a results folder: per-episode rows, per-configuration summaries, LEADERBOARD.md.

``python -m benchmarks report DIR`` (also run at the end of ``run`` and ``merge``) reads
``DIR/run.json``, ``DIR/units.jsonl`` and ``DIR/channels/`` and writes

* ``episodes.csv`` / ``episodes.json``: one row per (configuration, agent, episode): the
  episode's mean utility, sum rate, smallest user rate and largest ``||W||^2 / P`` over its
  blocks (the JSON adds the per-block utilities), with status, reason and provenance;
* ``summary.csv`` / ``summary.json``: one row per (configuration, agent) (:func:`summarize`);
* ``LEADERBOARD.md`` (:mod:`benchmarks.leaderboard`) and ``plots/*.png``
  (:mod:`benchmarks.plots`).

Every row records the env spec JSON, agent name and config, seeds, beamgym version, git
commit, torch version, device and wall time. Statistics are in :mod:`benchmarks.intervals`.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from beamgym.units import linear_to_db
from benchmarks.episodes import Channels, load_channels
from benchmarks.intervals import (
    Interval,
    episode_means,
    log_ratio_interval,
    mean_interval,
    ratio_interval,
)
from benchmarks.leaderboard import write_leaderboard
from benchmarks.lineup import REFERENCES, STRONG_REFERENCE, parse_agent, plan_units
from benchmarks.results import ResultsFolder
from benchmarks.suites import Configuration

PROVENANCE = ("beamgym_version", "git_commit", "torch_version", "python_version", "device")


@dataclass
class ConfigResults:
    """One configuration's channels (``None`` if they could not be drawn), its unit records
    in line-up order, and its summary rows."""

    config: Configuration
    channels: Channels | None
    records: list[dict[str, Any]]
    rows: list[dict[str, Any]] = field(default_factory=list)

    def ok(self) -> list[dict[str, Any]]:
        return [r for r in self.records if r["status"] == "ok"]


def _interval_fields(prefix: str, interval: Interval | None) -> dict[str, float | None]:
    if interval is None:
        return {prefix: None, f"{prefix}_low": None, f"{prefix}_high": None}
    return {prefix: interval.value, f"{prefix}_low": interval.low, f"{prefix}_high": interval.high}


def _span(values: np.ndarray, digits: int = 6) -> str:
    low, high = round(float(values.min()), digits), round(float(values.max()), digits)
    return f"{low:g}" if low == high else f"{low:g}-{high:g}"


def _common(record: dict[str, Any]) -> dict[str, Any]:
    """The provenance and identity fields every row carries."""
    return {
        "config": record["config"],
        "agent": record["agent"],
        "status": record["status"],
        "reason": record["reason"],
        "env_id": record["env_id"],
        "utility": record["utility"],
        "solved_utility": record["solved_utility"],
        "agent_config": None
        if record["agent_config"] is None
        else json.dumps(record["agent_config"], sort_keys=True, default=str),
        "seeds": " ".join(map(str, record["seeds"])),
        "blocks": record["blocks"],
        **{key: record.get(key) for key in PROVENANCE},
        "wall_time_s": record["wall_time_s"],
        "env_spec": record["env_spec"],
    }


def geometric_rate_ratio(
    channels: Channels, record: dict[str, Any], reference: dict[str, Any] | None
) -> Interval | None:
    """Proportional fairness ``sum_k ln R_k`` against the reference as the ratio of geometric-
    mean user rates, ``exp((U - U_ref) / K)`` averaged in the log per episode (the utility
    itself may be of either sign, so a ratio of means would mean nothing)."""
    if record["status"] != "ok" or reference is None:
        return None
    own, base = (np.asarray(r["values"]["utility"], np.float64) for r in (record, reference))
    return log_ratio_interval(episode_means(channels, (own - base) / channels.num_users))


def summarize(results: ConfigResults) -> list[dict[str, Any]]:
    """Summary rows of a configuration, one per agent:

    ``mean`` utility with its 95% interval (``mean_low``, ``mean_high``) over episodes; paired
    ratios of means with intervals to the task's reference (``ratio_to_reference``), to
    ``wmmse-best`` for the utilities it optimises (``ratio_to_best``) and, for sum rate, to
    the DPC capacity (``ratio_to_dpc``); ``max_power_ratio`` (``max ||W||^2 / P``);
    ``latency_ms`` (batch 1), ``time_per_channel_ms`` (batched); ``parameters``.
    """
    channels, rows = results.channels, []
    by_agent = {r["agent"]: r for r in results.ok()}
    utility = results.records[0]["utility"] if results.records else None
    reference = REFERENCES.get(utility or "")

    def means(record: dict[str, Any] | None, key: str = "utility") -> np.ndarray | None:
        return None if record is None else episode_means(channels, record["values"][key])

    reference_means = means(by_agent.get(reference))
    best_means = (
        means(by_agent.get(STRONG_REFERENCE))
        if utility in ("sum_rate", "weighted_sum_rate")
        else None
    )
    dpc_means = (
        episode_means(channels, channels.dpc_capacity)
        if channels is not None and channels.dpc_capacity.size
        else None
    )
    for record in results.records:
        row = _common(record)
        row.update(
            num_users=_span(channels.num_users) if channels else None,
            num_antennas=_span(channels.antenna_mask.sum(-1)) if channels else None,
            snr_db=_span(linear_to_db(channels.power / channels.noise_power), 3)
            if channels
            else None,
            episodes=len(record["seeds"]),
            channels=len(record["seeds"]) * record["blocks"],
            reference=reference,
        )
        ok = record["status"] == "ok"
        own = means(record) if ok else None
        row.update(_interval_fields("mean", mean_interval(own) if ok else None))
        for name, base in (("ratio_to_reference", reference_means), ("ratio_to_best", best_means)):
            interval = ratio_interval(own, base) if ok and base is not None else None
            if name == "ratio_to_reference" and utility == "proportional_fair":
                interval = geometric_rate_ratio(channels, record, by_agent.get(reference))
            row.update(_interval_fields(name, interval))
        dpc = (
            ratio_interval(means(record, "sum_rate"), dpc_means)
            if ok and dpc_means is not None
            else None
        )
        row.update(_interval_fields("ratio_to_dpc", dpc))
        row.update(
            max_power_ratio=max(record["values"]["power_ratio"]) if ok else None,
            latency_ms=1e3 * record["latency_s"] if ok else None,
            time_per_channel_ms=1e3 * record["time_per_channel_s"] if ok else None,
            parameters=record["parameters"],
        )
        rows.append(row)
    return rows


def episode_rows(results: ConfigResults) -> list[dict[str, Any]]:
    """Per-episode rows of a configuration (module docstring)."""
    channels, rows = results.channels, []
    for record in results.records:
        for episode, seed in enumerate(record["seeds"]):
            row = {**_common(record), "episode": episode, "seed": seed}
            row["seeds"] = str(seed)
            if record["status"] == "ok":
                index = channels.episode == episode
                values = {k: np.asarray(v)[index] for k, v in record["values"].items()}
                active = values["rates"][channels.user_mask[index]]
                row.update(
                    utility_mean=float(values["utility"].mean()),
                    sum_rate_mean=float(values["sum_rate"].mean()),
                    min_user_rate=float(active.min()),
                    max_power_ratio=float(values["power_ratio"].max()),
                    utility_per_block=values["utility"].tolist(),
                )
            rows.append(row)
    return rows


def collect(folder: ResultsFolder) -> list[ConfigResults]:
    """Every configuration of the folder's suite with its records in line-up order."""
    suite, units = folder.suite(), folder.units()
    specs = [parse_agent(label) for label in folder.requested_agents()]
    results = {c.name: ConfigResults(c, None, []) for c in suite.configurations}
    for config, spec in plan_units(suite, specs):
        if (config.name, spec.label) in units:
            results[config.name].records.append(units[(config.name, spec.label)])
    for entry in results.values():
        path = folder.channels_path(entry.config.name)
        if path.exists():
            entry.channels = load_channels(path)
        entry.rows = summarize(entry)
    return list(results.values())


def _write_table(path: Path, rows: list[dict[str, Any]], drop: tuple[str, ...] = ()) -> None:
    columns = list(dict.fromkeys(k for row in rows for k in row if k not in drop))
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, columns, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "" if v is None else v for k, v in row.items() if k in columns})


def report(path: str | Path, *, plots: bool = True) -> list[Path]:
    """Write the reports of the results folder ``path``; returns the files written."""
    folder = ResultsFolder(path)
    results = collect(folder)
    summary = [row for entry in results for row in entry.rows]
    episodes = [row for entry in results for row in episode_rows(entry)]
    meta = {"generated_by": f"python -m benchmarks report {path}", "suite": folder.suite().name}
    written = []
    for name, rows in (("summary", summary), ("episodes", episodes)):
        json_path, csv_path = folder.path / f"{name}.json", folder.path / f"{name}.csv"
        json_path.write_text(json.dumps({**meta, "rows": rows}, indent=1) + "\n", encoding="utf-8")
        _write_table(csv_path, rows, drop=("utility_per_block",))
        written += [json_path, csv_path]
    figures: dict[str | None, list[Path]] = {}
    if plots:
        from benchmarks.plots import write_plots  # matplotlib is slow to import

        figures = write_plots(folder.path / "plots", results)
    written.append(write_leaderboard(folder, results, figures, str(path)))
    return written + [p for paths in figures.values() for p in paths]
