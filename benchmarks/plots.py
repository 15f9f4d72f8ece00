"""Plots of a results folder (PNG, matplotlib's Agg backend).

* ``snr-<family>.png``: mean utility vs SNR per agent, with the 95% intervals, for each
  family of fixed-SNR configurations that differ only in ``snr_db``.
* ``users-<family>.png``: mean utility vs the number of users K per agent for each family of
  configurations that differ only in ``num_users`` (fixed or a ``(min, max)`` range), the
  channels grouped by their active K.
* ``rates-<config>.png``: empirical CDF of the active users' rates per agent.

A family is the env id plus the configuration's kwargs without the varied one. The plots
folder is generated: its PNG files are replaced on every report.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from benchmarks.report import ConfigResults


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._=-]+", "_", text).strip("_")


def _family(entry: ConfigResults, varied: str) -> str:
    rest = {k: v for k, v in entry.config.kwargs.items() if k != varied}
    parts = [f"{k}={v if isinstance(v, str) else json.dumps(v)}" for k, v in sorted(rest.items())]
    return _slug("-".join([entry.config.env_id, *parts]))


def _styles(results: list[ConfigResults]) -> dict[str, dict[str, Any]]:
    """One colour and marker per agent, the same in every figure."""
    agents = list(dict.fromkeys(r["agent"] for e in results for r in e.records))
    markers = "osD^v<>ph*"
    return {
        agent: {"color": f"C{i % 10}", "marker": markers[i % len(markers)]}
        for i, agent in enumerate(agents)
    }


def _save(figure: Any, path: Path) -> Path:
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    return path


def write_plots(directory: Path, results: list[ConfigResults]) -> dict[str | None, list[Path]]:
    """Write every plot into ``directory``; returns the files by configuration name
    (``None``: plots spanning several configurations)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob("*.png"):  # a generated folder: no stale plot survives
        old.unlink()
    styles, written = _styles(results), defaultdict(list)
    valid = [e for e in results if e.channels is not None and e.ok()]

    snr_families = defaultdict(list)
    for entry in valid:
        if isinstance(entry.config.kwargs.get("snr_db"), int | float):
            snr_families[_family(entry, "snr_db")].append(entry)
    for family, entries in snr_families.items():
        if len({e.config.kwargs["snr_db"] for e in entries}) < 2:
            continue
        figure, axes = plt.subplots(figsize=(6, 4))
        curves = defaultdict(list)
        for entry in entries:
            for row in entry.rows:
                if row["status"] == "ok":
                    curves[row["agent"]].append((entry.config.kwargs["snr_db"], row))
        for agent, points in curves.items():
            points.sort(key=lambda p: p[0])
            x = [p[0] for p in points]
            y = np.array([p[1]["mean"] for p in points])
            low = np.array(
                [p[1]["mean_low"] if p[1]["mean_low"] is not None else p[1]["mean"] for p in points]
            )
            axes.errorbar(x, y, yerr=np.abs(y - low), label=agent, capsize=3, **styles[agent])
        axes.set(xlabel="SNR (dB)", ylabel=entries[0].rows[0]["utility"], title=family)
        axes.title.set_fontsize(7)
        axes.grid(alpha=0.3)
        axes.legend(fontsize=7)
        written[None].append(_save(figure, directory / f"snr-{family}.png"))
        plt.close(figure)

    user_families = defaultdict(list)
    for entry in valid:
        user_families[_family(entry, "num_users")].append(entry)
    for family, entries in user_families.items():
        curves = defaultdict(lambda: defaultdict(list))
        for entry in entries:
            users = entry.channels.num_users
            for record in entry.ok():
                utility = np.asarray(record["values"]["utility"])
                for k in np.unique(users):
                    curves[record["agent"]][int(k)].extend(utility[users == k])
        if len({k for curve in curves.values() for k in curve}) < 2:
            continue
        figure, axes = plt.subplots(figsize=(6, 4))
        for agent, curve in curves.items():
            ks = sorted(curve)
            axes.plot(ks, [np.mean(curve[k]) for k in ks], label=agent, **styles[agent])
        axes.set(xlabel="users K", ylabel=entries[0].rows[0]["utility"], title=family)
        axes.xaxis.get_major_locator().set_params(integer=True)
        axes.title.set_fontsize(7)
        axes.grid(alpha=0.3)
        axes.legend(fontsize=7)
        written[None].append(_save(figure, directory / f"users-{family}.png"))
        plt.close(figure)

    for entry in valid:
        figure, axes = plt.subplots(figsize=(6, 4))
        for record in entry.ok():
            rates = np.sort(np.asarray(record["values"]["rates"])[entry.channels.user_mask])
            cdf = np.arange(1, rates.size + 1) / rates.size
            axes.step(
                rates,
                cdf,
                where="post",
                label=record["agent"],
                color=styles[record["agent"]]["color"],
            )
        axes.set(xlabel="user rate (bit/s/Hz)", ylabel="CDF", title=entry.config.name)
        axes.grid(alpha=0.3)
        axes.legend(fontsize=7)
        written[entry.config.name].append(
            _save(figure, directory / f"rates-{entry.config.name}.png")
        )
        plt.close(figure)
    return dict(written)
