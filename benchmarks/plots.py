"""Plots of a results folder (PNG through matplotlib's Agg renderer), written into ``plots/``.

* ``snr-<family>.png``: mean utility vs SNR (dB) per agent, with its 95% interval, for each
  family of fixed-SNR configurations that differ only in ``snr_db``.
* ``snr-<family>-percent.png``: the same points in % of the task's reference agent on the
  same channels, ``100 x`` the leaderboard's ``÷ ref`` with its interval (for proportional
  fairness the ratio of geometric-mean user rates); a dotted line marks 100 %.
* ``users-<family>.png`` and ``users-<family>-percent.png``: the same against the number of
  active users K, for each family of configurations that differ only in ``num_users`` (fixed
  or a ``(min, max)`` range). The channels with K active users of every configuration of the
  family are pooled (:func:`pool`) and summarised as one configuration.
* ``rates-<config>.png``: empirical CDF of the active users' rates per agent.

A family is the env id plus the configuration's kwargs without the varied one (the file
names are slugs of it). Every point of a sweep is :func:`benchmarks.report.summarize` of the
channels at that value, so its numbers are the leaderboard's. Titles name the utility, K, N,
the channel model and the SNR (:func:`title`); the y labels carry units (:data:`AXIS_LABELS`;
energy efficiency is in bit/s/Hz per unit power, power in the unit of the noise power, as
:func:`beamgym.utilities.energy_efficiency`). Every agent keeps one style
(:func:`agent_style`) in every plot of every folder; legends sit right of the axes. The plots
folder is generated: its PNG files are replaced on every report.
"""

from __future__ import annotations

import hashlib
import inspect
import itertools
import json
import re
from collections import defaultdict
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

import agents
from beamgym.scenario import Scenario
from benchmarks.episodes import Channels
from benchmarks.lineup import REFERENCES
from benchmarks.report import ConfigResults, summarize

COLORS = (
    *("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd"),
    *("#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"),
    *("#000000", "#1b9e77", "#e6ab02", "#393b79", "#843c39"),
    *("#e7298a", "#637939", "#aec7e8", "#ffbb78", "#98df8a"),
)
"""20 colours: matplotlib's tab10, black, teal and gold of ColorBrewer's Dark2, navy and
maroon of tab20b, Dark2's magenta, tab20b's olive and three light shades of tab20."""

MARKERS = ("o", "s", "D", "^", "v", "<", ">", "p", "h", "*", "X", "P")
LINESTYLES = ("-", "--", "-.", ":")

AXIS_LABELS: dict[str, str] = {
    "sum_rate": "sum rate (bit/s/Hz)",
    "weighted_sum_rate": "weighted sum rate (bit/s/Hz)",
    "min_rate": "min user rate (bit/s/Hz)",
    "proportional_fair": r"$\sum_k \ln R_k$ ($R_k$ in bit/s/Hz)",
    "energy_efficiency": "energy efficiency (bit/s/Hz per unit power)",
}
"""The y label of each utility of :data:`beamgym.utilities.UTILITIES`, with its unit."""


class Style(NamedTuple):
    """Matplotlib line style of an agent: ``plot(..., **style._asdict())``."""

    color: str
    marker: str
    linestyle: str


def agent_style(label: str) -> Style:
    """The style of agent ``label`` in every plot, a function of the label alone.

    Registered agent ``i`` (``agents.available()`` order) gets ``COLORS[i % 20]``,
    ``MARKERS[i % 12]``, ``LINESTYLES[i % 4]``: distinct colours for the first 20, distinct
    triples for the first 60. Any other label (a configured spec such as
    ``sallo-m(checkpoint=...)``, a ``module:factory``) gets a triple no registered agent
    has, picked by the SHA-256 hash of the label.
    """
    registered = {name: i for i, name in enumerate(agents.available())}
    triples = [
        Style(COLORS[i % len(COLORS)], MARKERS[i % len(MARKERS)], LINESTYLES[i % len(LINESTYLES)])
        for i in range(len(registered))
    ]
    if label in registered:
        return triples[registered[label]]
    used = set(triples)
    every = itertools.starmap(Style, itertools.product(COLORS, MARKERS, LINESTYLES))
    free = [style for style in every if style not in used]
    return free[int(hashlib.sha256(label.encode()).hexdigest(), 16) % len(free)]


def _utility_name(utility: str) -> str:
    return utility.replace("_", " ")


def percent_label(utility: str) -> str:
    """The y label of a percent plot: what is compared, in % of the task's reference."""
    compared = (
        "geometric-mean user rate" if utility == "proportional_fair" else _utility_name(utility)
    )
    return f"{compared} (% of {REFERENCES[utility]})"


def _range(value: float | list[float]) -> str:
    """A size or SNR kwarg as text: a number, or a ``[low, high]`` range as ``low–high``."""
    low, high = value if isinstance(value, list | tuple) else (value, value)
    return f"{low:g}" if low == high else f"{low:g}–{high:g}"


def _value(value: Any) -> str:
    """A kwarg as text: numbers with ``%g``, strings as they are, anything else as JSON."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:g}"
    return value if isinstance(value, str) else json.dumps(value)


SHOWN = ("utility", "num_users", "num_antennas", "channel", "snr_db")
"""The kwargs every title names; other kwargs follow as ``name value``."""


def title(env_spec: str, varied: str | None = None) -> str:
    """Human title of a configuration from its env spec JSON, e.g. ``Sum rate · K = 4, N = 8 ·
    Rayleigh · 10 dB``: the utility, K and N, the channel model and the SNR (the defaults of
    :meth:`beamgym.Scenario.from_kwargs` where the spec leaves them out), then any other
    kwarg of the spec. The ``varied`` kwarg (``"snr_db"`` or ``"num_users"``) is left out and
    named as the x axis: ``Sum rate vs SNR · K = 4, N = 8 · Rayleigh``."""
    given = json.loads(env_spec)["kwargs"]
    defaults = inspect.signature(Scenario.from_kwargs).parameters
    kwargs = {**{name: p.default for name, p in defaults.items() if name in SHOWN}, **given}
    utility = kwargs["utility"] if isinstance(kwargs["utility"], str) else kwargs["utility"][0]
    head = _utility_name(utility).capitalize()  # a configuration pays one utility
    if varied is not None:
        head += " vs " + {"snr_db": "SNR", "num_users": "K"}[varied]
    sizes = [f"N = {_range(kwargs['num_antennas'])}"]
    if varied != "num_users":
        sizes.insert(0, f"K = {_range(kwargs['num_users'])}")
    parts = [head, ", ".join(sizes), kwargs["channel"].capitalize()]
    if varied != "snr_db":
        parts.append(f"{_range(kwargs['snr_db'])} dB")
    rest = sorted(k for k in given if k not in SHOWN)
    return " · ".join(parts + [f"{k} {_value(given[k])}" for k in rest])


def _stack(arrays: list[np.ndarray]) -> np.ndarray:
    """``arrays`` concatenated along axis 0, each zero-padded to the largest size of the others."""
    largest = np.max([a.shape for a in arrays], axis=0)
    padded = []
    for a in arrays:
        pad = [(0, int(m - n)) for n, m in zip(a.shape, largest, strict=True)]
        padded.append(np.pad(a, [(0, 0), *pad[1:]]))
    return np.concatenate(padded)


def pool(parts: list[tuple[ConfigResults, np.ndarray]]) -> ConfigResults:
    """The channels ``index`` (bool ``[S]``) of each configuration of ``parts`` as one
    configuration: arrays concatenated and zero-padded to the largest K and N, episodes
    renumbered, and the records of the agents that are ok in every part (in the first part's
    order) with their values cut alike. Its ``config`` is the first part's.
    """
    first = parts[0][0]
    arrays, values = defaultdict(list), defaultdict(lambda: defaultdict(list))
    offset = 0
    for entry, index in parts:
        for name in (f.name for f in fields(Channels)):
            value = getattr(entry.channels, name)
            if isinstance(value, np.ndarray) and value.shape[:1] == index.shape:
                arrays[name].append(value[index])
        episode = np.unique(entry.channels.episode[index], return_inverse=True)[1]
        arrays["episode"][-1] = episode + offset
        offset += int(episode.max()) + 1
        for record in entry.ok():
            for key, value in record["values"].items():
                values[record["agent"]][key].append(np.asarray(value)[index])
    channels = Channels(
        **{
            f.name: _stack(arrays[f.name]) if f.name in arrays else getattr(first.channels, f.name)
            for f in fields(Channels)
        }
    )
    seeds = channels.seed[np.unique(channels.episode, return_index=True)[1]].tolist()
    common = set.intersection(*({r["agent"] for r in entry.ok()} for entry, _ in parts))
    records = [
        {**r, "seeds": seeds, "values": {k: _stack(v) for k, v in values[r["agent"]].items()}}
        for r in first.ok()
        if r["agent"] in common
    ]
    return ConfigResults(first.config, channels, records)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._=-]+", "_", text).strip("_")


def _family(entry: ConfigResults, varied: str) -> str:
    rest = {k: v for k, v in entry.config.kwargs.items() if k != varied}
    parts = [f"{k}={v if isinstance(v, str) else json.dumps(v)}" for k, v in sorted(rest.items())]
    return _slug("-".join([entry.config.env_id, *parts]))


@dataclass(frozen=True)
class Sweep:
    """One family of configurations summarised at each value of the varied kwarg.

    Attributes:
        varied: ``"snr_db"`` or ``"num_users"``.
        family: the slug of the env id and the other kwargs (file names).
        title: the human title (:func:`title`).
        utility: the utility the family pays.
        points: x value (SNR in dB or K) -> summary rows (:func:`benchmarks.report.summarize`
            of the pooled channels at that value), in increasing x.
    """

    varied: str
    family: str
    title: str
    utility: str
    points: dict[float, list[dict[str, Any]]]


def sweeps(results: list[ConfigResults]) -> list[Sweep]:
    """The SNR sweeps, then the users sweeps, of the configurations with channels and ok
    records; a family with fewer than two values of its varied kwarg is no sweep."""
    valid = [e for e in results if e.channels is not None and e.ok()]
    found = []
    for varied in ("snr_db", "num_users"):
        families = defaultdict(lambda: defaultdict(list))  # family -> x -> [(entry, index)]
        for entry in valid:
            family = families[_family(entry, varied)]
            if varied == "num_users":
                users = entry.channels.num_users
                for k in np.unique(users):
                    family[int(k)].append((entry, users == k))
            elif isinstance(entry.config.kwargs.get("snr_db"), int | float):
                index = np.ones(entry.channels.num_channels, dtype=bool)
                family[float(entry.config.kwargs["snr_db"])].append((entry, index))
        for family, points in families.items():
            if len(points) < 2:
                continue
            first = next(iter(points.values()))[0][0]
            found.append(
                Sweep(
                    varied=varied,
                    family=family,
                    title=title(first.channels.env_spec, varied),
                    utility=first.channels.utility,
                    points={x: summarize(pool(points[x])) for x in sorted(points)},
                )
            )
    return found


class Curve(NamedTuple):
    """One agent's points: ``x``, ``y`` and the distances ``below``/``above`` ``y`` of the
    ends of its 95% interval (0 without one)."""

    x: list[float]
    y: list[float]
    below: list[float]
    above: list[float]


def series(sweep: Sweep, percent: bool = False) -> dict[str, Curve]:
    """Per agent (line-up order), its curve over the sweep: the mean utility, or with
    ``percent`` 100 x the summary's ``ratio_to_reference``; points without a value are left
    out, and so are agents without any."""
    key, scale = ("ratio_to_reference", 100.0) if percent else ("mean", 1.0)
    curves: dict[str, Curve] = {}
    for x, rows in sweep.points.items():
        for row in rows:
            if row[key] is None:
                continue
            value, low, high = row[key], row[f"{key}_low"], row[f"{key}_high"]
            curve = curves.setdefault(row["agent"], Curve([], [], [], []))
            curve.x.append(x)
            curve.y.append(scale * value)
            curve.below.append(0.0 if low is None else scale * (value - low))
            curve.above.append(0.0 if high is None else scale * (high - value))
    return curves


def _finish(axes: Axes, title_text: str) -> None:
    """Title, grid and the legend right of the axes (it never covers a curve)."""
    axes.set_title(title_text, fontsize=9)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)


def sweep_figure(sweep: Sweep, percent: bool = False) -> Figure:
    """The figure of ``sweep``: per agent its :func:`series` with interval bars, in its
    :func:`agent_style`; ``percent``: in % of the reference, with a dotted line at 100 %."""
    figure = Figure(figsize=(7.5, 4))
    axes = figure.subplots()
    for agent, curve in series(sweep, percent).items():
        style = agent_style(agent)._asdict()
        bars = [curve.below, curve.above]
        axes.errorbar(curve.x, curve.y, yerr=bars, label=agent, capsize=3, markersize=4, **style)
    if percent:
        axes.axhline(100.0, color="0.4", linewidth=0.8, linestyle=":")
    axes.set_xlabel("SNR (dB)" if sweep.varied == "snr_db" else "users K")
    axes.set_ylabel(percent_label(sweep.utility) if percent else AXIS_LABELS[sweep.utility])
    if sweep.varied == "num_users":
        axes.xaxis.get_major_locator().set_params(integer=True)
    _finish(axes, sweep.title)
    return figure


def rates_figure(entry: ConfigResults) -> Figure:
    """The empirical CDF of the active users' rates of each ok agent of a configuration."""
    figure = Figure(figsize=(7.5, 4))
    axes = figure.subplots()
    for record in entry.ok():
        rates = np.sort(np.asarray(record["values"]["rates"])[entry.channels.user_mask])
        cdf = np.arange(1, rates.size + 1) / rates.size
        style = agent_style(record["agent"])
        axes.step(
            rates,
            cdf,
            where="post",
            label=record["agent"],
            color=style.color,
            linestyle=style.linestyle,
        )
    axes.set_xlabel("user rate $R_k$ (bit/s/Hz)")
    axes.set_ylabel("CDF")
    _finish(axes, "User-rate CDF · " + title(entry.channels.env_spec))
    return figure


def _save(figure: Figure, path: Path) -> Path:
    figure.savefig(path, dpi=110, bbox_inches="tight")
    return path


def write_plots(directory: Path, results: list[ConfigResults]) -> dict[str | None, list[Path]]:
    """Write every plot into ``directory``; returns the files by configuration name
    (``None``: plots spanning several configurations)."""
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob("*.png"):  # a generated folder: no stale plot survives
        old.unlink()
    written = defaultdict(list)
    for sweep in sweeps(results):
        prefix = "snr" if sweep.varied == "snr_db" else "users"
        for percent, suffix in ((False, ""), (True, "-percent")):
            if series(sweep, percent):
                path = directory / f"{prefix}-{sweep.family}{suffix}.png"
                written[None].append(_save(sweep_figure(sweep, percent), path))
    for entry in results:
        if entry.channels is not None and entry.ok():
            path = directory / f"rates-{entry.config.name}.png"
            written[entry.config.name].append(_save(rates_figure(entry), path))
    return dict(written)
