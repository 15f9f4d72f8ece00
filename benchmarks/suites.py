"""Suites: named lists of configurations, each an env id, its kwargs and the episode seeds.

A :class:`Configuration` fixes everything that decides the channels an agent is scored on:
``gym.make(env_id, max_episode_steps=blocks, **kwargs)`` reset with each seed and stepped
through ``blocks`` coherence blocks (:mod:`benchmarks.episodes`). Every agent of a suite sees
exactly these channels (common random numbers), so agent differences are paired.

Built-in suites (:data:`SUITES`):

* ``smoke``: one small configuration of every task (sum rate at three SNRs, an overloaded
  sum-rate case, sparse channel, weighted sum rate, max-min, proportional fairness, energy
  efficiency, varying K), 4 episodes x 5 blocks each; under a minute on 2 CPU cores.
* ``standard``: the published leaderboard, 20 episodes x 10 blocks = 200 channels per
  configuration: sum rate on i.i.d. Rayleigh for (K, N) in {(4, 4), (4, 8), (8, 8), (8, 16),
  (12, 8)} at 0/10/20 dB, the sparse (clustered) channel, max-min, weighted sum rate,
  proportional fairness, energy efficiency, and a varying-K generalisation set.
* ``overloading``: sum rate against the load ``K/N`` from 0.25 to 1.5 at N = 8 and 16, 10
  and 20 dB, i.i.d. Rayleigh and clustered-sparse channels, 200 channels per configuration.

Leaderboard episodes use seeds from :data:`TEST_SEED_BASE` upwards; training code should use
other seeds, so that no learned agent has seen a test channel.

Suite files (TOML or JSON, same structure) let users define their own::

    name = "my-suite"                 # optional, default: the file name without extension
    description = "..."               # optional
    [defaults]                        # optional, applies to every configuration
    env_id = "MISO-SumRate-v0"
    seeds = {start = 0, count = 20}   # or a list of integers
    blocks = 10                       # coherence blocks per episode (default 10)
    [[configurations]]
    name = "K4-N8-10dB"               # letters, digits, '.', '_', '-'; unique
    kwargs = {num_users = 4, num_antennas = 8, snr_db = 10.0}

A configuration's ``kwargs`` are merged over the defaults' ``kwargs``. Structural errors raise
:class:`SuiteError` naming the file and the offending entry; whether the env id and its
kwargs are valid is only known when the channels are drawn, and a bad one fails that
configuration's rows, not the run (issue item 7).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from beamgym.registration import env_id_for

if sys.version_info >= (3, 11):  # noqa: UP036 (the package supports Python 3.10)
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

TEST_SEED_BASE = 1_000_000
"""First episode seed of the built-in suites (held out from training)."""

DEFAULT_BLOCKS = 10
"""Coherence blocks per episode unless a configuration says otherwise (the registered ids')."""

_NAME = re.compile(r"^[A-Za-z0-9._-]+$")
_SUITE_KEYS = {"name", "description", "defaults", "configurations"}
_CONFIG_KEYS = {"name", "env_id", "kwargs", "seeds", "blocks"}


class SuiteError(ValueError):
    """A suite name or suite file that cannot be used; the message says why."""


@dataclass(frozen=True)
class Configuration:
    """One benchmark configuration.

    Attributes:
        name: unique within its suite; used in file names, so ``[A-Za-z0-9._-]+``.
        env_id: a registered Gymnasium id (``"MISO-SumRate-v0"``, ...).
        kwargs: keyword arguments of ``gym.make`` (plain JSON values).
        seeds: one ``reset(seed=...)`` per episode.
        blocks: coherence blocks (steps) per episode.
    """

    name: str
    env_id: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    seeds: tuple[int, ...] = ()
    blocks: int = DEFAULT_BLOCKS

    @property
    def num_channels(self) -> int:
        return len(self.seeds) * self.blocks

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "env_id": self.env_id,
            "kwargs": dict(self.kwargs),
            "seeds": list(self.seeds),
            "blocks": self.blocks,
        }


@dataclass(frozen=True)
class Suite:
    """A named list of configurations; :meth:`to_dict` / :func:`parse_suite` round-trip."""

    name: str
    configurations: tuple[Configuration, ...]
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "configurations": [c.to_dict() for c in self.configurations],
        }

    def configuration(self, name: str) -> Configuration:
        for config in self.configurations:
            if config.name == name:
                return config
        raise KeyError(name)


MAX_SEED = 2**63 - 1
"""The largest episode seed: seeds are stored as int64 in the results."""


def _seeds(where: str, value: Any) -> tuple[int, ...]:
    def valid(seed: Any) -> bool:
        return _is_int(seed) and 0 <= seed <= MAX_SEED

    if isinstance(value, Mapping) and set(value) == {"start", "count"}:
        start, count = value["start"], value["count"]
        if valid(start) and _is_int(count) and count >= 1 and valid(start + count - 1):
            return tuple(range(start, start + count))
    elif isinstance(value, list) and value and all(valid(s) for s in value):
        if len(set(value)) == len(value):
            return tuple(value)
    raise SuiteError(
        f"{where}.seeds must be a non-empty list of distinct integers in [0, 2**63 - 1] or "
        f"{{start = S, count = C}} with C >= 1, got {value!r}"
    )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _configuration(where: str, entry: Any, defaults: Mapping[str, Any]) -> Configuration:
    if not isinstance(entry, Mapping):
        raise SuiteError(f"{where} must be a table/object, got {entry!r}")
    unknown = set(entry) - _CONFIG_KEYS
    if unknown:
        raise SuiteError(
            f"{where} has unknown keys {sorted(unknown)}; allowed: {sorted(_CONFIG_KEYS)}"
        )
    merged = {**defaults, **entry}
    name = merged.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise SuiteError(
            f"{where}.name must be a string of letters, digits, '.', '_', '-', got {name!r}"
        )
    env_id = merged.get("env_id")
    if not isinstance(env_id, str) or not env_id:
        raise SuiteError(f"{where}.env_id must be a Gymnasium id string, got {env_id!r}")
    if not isinstance(entry.get("kwargs", {}), Mapping):
        raise SuiteError(f"{where}.kwargs must be a table/object of gym.make keywords")
    kwargs = {**defaults.get("kwargs", {}), **entry.get("kwargs", {})}
    if "max_episode_steps" in kwargs:
        raise SuiteError(f"{where}.kwargs must not set max_episode_steps; use blocks")
    if "seeds" not in merged:
        raise SuiteError(f"{where} needs seeds (in the configuration or in [defaults])")
    blocks = merged.get("blocks", DEFAULT_BLOCKS)
    if not _is_int(blocks) or blocks < 1:
        raise SuiteError(f"{where}.blocks must be an integer >= 1, got {blocks!r}")
    return Configuration(name, env_id, kwargs, _seeds(where, merged["seeds"]), blocks)


def parse_suite(data: Any, source: str = "suite", default_name: str = "") -> Suite:
    """Build a :class:`Suite` from the dict of a suite file (see the module docstring).

    Raises:
        SuiteError: naming ``source`` and the offending entry.
    """
    if not isinstance(data, Mapping):
        raise SuiteError(f"{source}: a suite must be a table/object, got {type(data).__name__}")
    unknown = set(data) - _SUITE_KEYS
    if unknown:
        raise SuiteError(
            f"{source}: unknown keys {sorted(unknown)}; allowed: {sorted(_SUITE_KEYS)}"
        )
    name = data.get("name", default_name)
    if not isinstance(name, str) or not _NAME.match(name):
        raise SuiteError(
            f"{source}: name must be a string of letters, digits, '.', '_', '-', got {name!r}"
        )
    defaults = data.get("defaults", {})
    if not isinstance(defaults, Mapping) or set(defaults) - (_CONFIG_KEYS - {"name"}):
        raise SuiteError(
            f"{source}: defaults must be a table with keys among {sorted(_CONFIG_KEYS - {'name'})}, got {defaults!r}"
        )
    if not isinstance(defaults.get("kwargs", {}), Mapping):
        raise SuiteError(f"{source}: defaults.kwargs must be a table/object of gym.make keywords")
    entries = data.get("configurations")
    if not isinstance(entries, list) or not entries:
        raise SuiteError(f"{source}: configurations must be a non-empty list of tables")
    configurations = tuple(
        _configuration(f"{source}: configurations[{i}]", entry, defaults)
        for i, entry in enumerate(entries)
    )
    names = [c.name for c in configurations]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise SuiteError(f"{source}: configuration names must be unique, repeated: {duplicates}")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise SuiteError(f"{source}: description must be a string, got {description!r}")
    return Suite(name, configurations, description)


def load_suite(path: str | Path) -> Suite:
    """Read a suite file, ``.toml`` or ``.json``; malformed files raise :class:`SuiteError`."""
    path = Path(path)
    if path.suffix not in (".toml", ".json"):
        raise SuiteError(f"suite file must end in .toml or .json, got {str(path)!r}")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise SuiteError(f"cannot read suite file {str(path)!r}: {error.strerror}") from None
    try:
        data = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as error:
        raise SuiteError(f"{path}: not valid {path.suffix[1:].upper()}: {error}") from None
    return parse_suite(data, str(path), default_name=path.stem)


def get_suite(name_or_path: str) -> Suite:
    """A built-in suite by name, or a suite file by path (``.toml`` / ``.json``)."""
    if name_or_path in SUITES:
        return SUITES[name_or_path]
    if name_or_path.endswith((".toml", ".json")):
        return load_suite(name_or_path)
    raise SuiteError(
        f"suite must be one of {sorted(SUITES)} or a path to a .toml/.json suite file, got {name_or_path!r}"
    )


def configuration(
    task: str,
    users: int | tuple[int, int],
    antennas: int,
    snr_db: float,
    *,
    episodes: int,
    blocks: int,
    channel: str = "rayleigh",
) -> Configuration:
    """The configuration ``<task>-<channel>-K<users>-N<antennas>-<snr>dB`` of the built-in
    suites and the model cards: the id paying ``task``, seeds ``TEST_SEED_BASE + i``."""
    k = f"{users[0]}to{users[1]}" if isinstance(users, tuple) else str(users)
    kwargs = {
        "num_users": list(users) if isinstance(users, tuple) else users,
        "num_antennas": antennas,
        "snr_db": float(snr_db),
        "channel": channel,
    }
    return Configuration(
        name=f"{task}-{channel}-K{k}-N{antennas}-{snr_db:g}dB",
        env_id=env_id_for(task),
        kwargs=kwargs,
        seeds=tuple(range(TEST_SEED_BASE, TEST_SEED_BASE + episodes)),
        blocks=blocks,
    )


def _smoke() -> Suite:
    size = {"episodes": 4, "blocks": 5}
    configurations = [configuration("sum_rate", 4, 8, snr, **size) for snr in (0, 10, 20)] + [
        configuration("sum_rate", 6, 4, 10, **size),
        configuration("sum_rate", 4, 8, 10, channel="sparse", **size),
        configuration("weighted_sum_rate", 4, 8, 10, **size),
        configuration("min_rate", 4, 8, 10, **size),
        configuration("proportional_fair", 4, 8, 10, **size),
        configuration("energy_efficiency", 4, 8, 10, **size),
        configuration("sum_rate", (2, 6), 8, 10, **size),
    ]
    return Suite("smoke", tuple(configurations), "one small configuration of every task")


def _standard() -> Suite:
    size = {"episodes": 20, "blocks": 10}
    sizes = ((4, 4), (4, 8), (8, 8), (8, 16), (12, 8))
    configurations = [
        configuration("sum_rate", k, n, snr, **size) for k, n in sizes for snr in (0, 10, 20)
    ]
    configurations += [
        configuration("sum_rate", k, n, snr, channel="sparse", **size)
        for k, n, snr in ((4, 8, 10), (4, 8, 20), (8, 16, 10))
    ]
    configurations += [configuration("min_rate", 4, 8, snr, **size) for snr in (0, 10, 20)]
    configurations += [configuration("min_rate", 8, 8, 10, **size)]
    for task in ("weighted_sum_rate", "proportional_fair"):
        configurations += [configuration(task, k, n, 10, **size) for k, n in ((4, 8), (8, 8))]
    configurations += [configuration("energy_efficiency", 4, 8, snr, **size) for snr in (10, 20)]
    configurations += [configuration("sum_rate", (2, 8), 8, 10, **size)]
    # user counts between the trained ones of bert4beam (K in {2, 4, 6, 8}): generalisation
    configurations += [
        configuration("sum_rate", k, 8, snr, **size) for k in (5, 7) for snr in (10, 20)
    ]
    return Suite("standard", tuple(configurations), "the published leaderboard")


def _overloading() -> Suite:
    """Sum rate against the load K/N in {0.25, 0.5, ..., 1.5} at N = 8 and 16, 10 and 20 dB,
    on i.i.d. Rayleigh and the clustered-sparse channel (SALLO-M's claim: it beats WMMSE below
    a threshold load)."""
    size = {"episodes": 20, "blocks": 10}
    sizes = [(k, 8) for k in (2, 4, 6, 8, 10, 12)] + [(k, 16) for k in (4, 8, 12, 16, 20, 24)]
    configurations = [
        configuration("sum_rate", k, n, snr, channel=channel, **size)
        for channel in ("rayleigh", "sparse")
        for k, n in sizes
        for snr in (10, 20)
    ]
    return Suite("overloading", tuple(configurations), "sum rate against the load K/N")


SUITES: dict[str, Suite] = {suite.name: suite for suite in (_smoke(), _standard(), _overloading())}
"""The built-in suites by name."""
