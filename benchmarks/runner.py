"""The runner: every (configuration, agent) unit of a suite, scored on shared channels.

For each configuration in suite order the channels are drawn once (or read back from the
results folder, so a resumed run and every shard score on the very same arrays) and every
agent of the configuration's line-up (:func:`benchmarks.lineup.line_up`) is built fresh and
evaluated (:func:`benchmarks.scoring.evaluate`). The unit's record is appended to
``units.jsonl`` as soon as it finishes (:class:`benchmarks.results.ResultsFolder`).

* Resume: units already finished in the folder (``ok`` / ``not-applicable``) are skipped;
  failed ones are tried again. Running again with more agents adds their units.
* Shards: ``shard=(i, n)`` runs the units with :func:`benchmarks.lineup.shard_of` equal to
  ``i - 1``; each shard writes its own folder and :func:`benchmarks.results.merge` joins them.
* Bad input never stops the run: an unknown env id or bad kwargs fail that configuration's
  units, an unknown agent or one whose output breaks the contract fails its units, each with
  the reason in the record and a line on stderr.

A record holds: ``config``, ``agent`` (spec label), ``status``, ``reason``, ``env_id``,
``env_spec`` (JSON), ``seeds``, ``blocks``, ``utility`` (the configuration's),
``solved_utility``, ``agent_config``, ``parameters``, ``values`` (per-channel ``utility``,
``sum_rate``, ``power_ratio``, ``rates``), ``time_per_channel_s``, ``latency_s``,
``trained_on`` (a learned agent's trained ``[utility, K, N]``, else ``None``: what the
generalisation table needs, so that a report is a function of its folder), ``wall_time_s``
and the provenance fields (:func:`benchmarks.provenance.provenance`).
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from tqdm import tqdm

from agents import count_parameters
from benchmarks.episodes import Channels, draw_channels, load_channels, save_channels
from benchmarks.lineup import (
    AgentSpec,
    agent_config,
    agent_factory,
    build_agent,
    default_agents,
    parse_agent,
    plan_units,
    shard_of,
)
from benchmarks.provenance import provenance, utc_now
from benchmarks.results import FINISHED, ResultsFolder
from benchmarks.scoring import evaluate
from benchmarks.suites import Configuration, Suite


@dataclass
class RunOutcome:
    """What a call of :func:`run` did: ``counts`` of statuses among the units it ran, and
    ``skipped`` units already finished in the folder."""

    folder: ResultsFolder
    counts: Counter
    skipped: int


@dataclass
class _Prepared:
    """A configuration ready for its agents: channels and environment, or the error."""

    channels: Channels | None = None
    env: gym.Env | None = None
    error: str | None = None


def _prepare(folder: ResultsFolder, config: Configuration) -> _Prepared:
    path = folder.channels_path(config.name)
    try:
        if path.exists():
            channels = load_channels(path)
        else:
            channels = draw_channels(config)
            save_channels(channels, path)
        env = gym.make(config.env_id, max_episode_steps=config.blocks, **config.kwargs)
    except (Exception, SystemExit) as error:  # bad env id or kwargs: its units fail
        return _Prepared(error=f"could not draw the channels: {type(error).__name__}: {error}")
    return _Prepared(channels, env)


def _run_unit(
    config: Configuration,
    spec: AgentSpec,
    prepared: _Prepared,
    device: torch.device,
    folder: ResultsFolder | None = None,
) -> dict[str, Any]:
    """Evaluate one agent on one configuration; returns its record (module docstring).
    With ``folder``, the beamformers are saved there too."""
    start = time.perf_counter()
    channels = prepared.channels
    record: dict[str, Any] = {
        "config": config.name,
        "agent": spec.label,
        "status": "failed",
        "reason": prepared.error,
        "env_id": config.env_id,
        "env_spec": channels.env_spec if channels else None,
        "seeds": list(config.seeds),
        "blocks": config.blocks,
        "utility": channels.utility if channels else None,
        "solved_utility": None,
        "agent_config": None,
        "parameters": None,
        "values": None,
        "time_per_channel_s": None,
        "latency_s": None,
        "trained_on": None,
        "training": None,
    }
    if channels is not None:
        try:
            agent = build_agent(spec, prepared.env)
            record["agent_config"] = agent_config(agent)
            record["trained_on"] = trained_sizes(agent)
        except (Exception, SystemExit) as error:  # unknown agent, broken factory: it fails
            record["reason"] = f"could not build the agent: {type(error).__name__}: {error}"
        else:
            outcome = evaluate(agent, channels, device)
            record.update(
                parameters=count_parameters(agent),  # after solving: models may load lazily
                training=training_records(agent),
                status=outcome.status,
                reason=outcome.reason,
                solved_utility=outcome.solved_utility,
                time_per_channel_s=outcome.time_per_channel_s,
                latency_s=outcome.latency_s,
            )
            if outcome.metrics is not None:
                record["values"] = {k: v.tolist() for k, v in outcome.metrics.items()}
            if folder is not None and outcome.beamformers is not None:
                path = folder.beamformers_path(config.name, spec.label)
                path.parent.mkdir(parents=True, exist_ok=True)
                np.savez(path, beamformers=outcome.beamformers)
    record["wall_time_s"] = time.perf_counter() - start
    record.update(provenance(device))
    return record


def trained_sizes(agent: Any) -> list[list] | None:
    """``sorted([utility, K, N])`` an agent's models were trained on, if it says
    (``trained_on()``, the learned solvers), else ``None``."""
    trained = getattr(agent, "trained_on", None)
    return sorted([utility, k, n] for utility, k, n in trained()) if callable(trained) else None


def training_records(agent: Any) -> list[dict] | None:
    """How an agent's models were trained, if it says (``training()``, the RL agents: one
    record per checkpoint it used), else ``None``."""
    training = getattr(agent, "training", None)
    return training() if callable(training) else None


def run(
    suite: Suite,
    out: str,
    agents: Sequence[str | AgentSpec] | None = None,
    *,
    device: str = "cpu",
    shard: tuple[int, int] | None = None,
    save_beamformers: bool = False,
    progress: bool = True,
    command: str = "",
) -> RunOutcome:
    """Run (or resume) ``suite`` into the results folder ``out``.

    Args:
        suite: the configurations.
        out: results folder; created, or reopened to resume or add agents.
        agents: agent specs (:mod:`benchmarks.lineup`); default :func:`default_agents`.
        device: torch device the agents solve on (channels are drawn on the CPU).
        shard: ``(i, n)`` with ``1 <= i <= n``: run only the i-th of n shards.
        save_beamformers: also store every agent's beamformers.
        progress: show a tqdm progress bar on stderr.
        command: the command line, recorded in ``run.json``.

    Raises:
        ValueError: a malformed agent spec or shard, an unknown agent or one whose module
            cannot be imported, a folder of another suite, or a folder
            another run is writing (nothing is run then).
    """
    specs = [parse_agent(a) if isinstance(a, str) else a for a in (agents or default_agents())]
    for spec in specs:
        agent_factory(spec)
    if shard is not None and not (1 <= shard[0] <= shard[1]):
        raise ValueError(f"shard must be (i, n) with 1 <= i <= n, got {shard!r}")
    torch_device = torch.device(device)
    folder = ResultsFolder(out)
    with folder.lock():  # one run writes a folder at a time
        folder.start(
            suite,
            {
                "command": command,
                "agents": [spec.label for spec in specs],
                "shard": f"{shard[0]}/{shard[1]}" if shard else None,
                "device": str(torch_device),
                "started_at": utc_now(),
            },
        )
        done = {key for key, record in folder.units().items() if record["status"] in FINISHED}
        units = [
            (config, spec)
            for config, spec in plan_units(suite, specs)
            if shard is None or shard_of(config.name, spec.label, shard[1]) == shard[0] - 1
        ]
        todo = [(c, s) for c, s in units if (c.name, s.label) not in done]
        counts: Counter = Counter()
        prepared: tuple[str, _Prepared] | None = None
        with tqdm(total=len(units), initial=len(units) - len(todo), disable=not progress) as bar:
            for config, spec in todo:
                bar.set_description(f"{config.name} / {spec.label}")
                if prepared is None or prepared[0] != config.name:
                    prepared = (config.name, _prepare(folder, config))
                record = _run_unit(
                    config, spec, prepared[1], torch_device, folder if save_beamformers else None
                )
                folder.append(record)
                counts[record["status"]] += 1
                if record["status"] == "failed":
                    bar.write(
                        f"failed: {config.name} / {spec.label}: {record['reason']}", sys.stderr
                    )
                bar.update()
    return RunOutcome(folder, counts, len(units) - len(todo))
