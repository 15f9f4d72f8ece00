"""Which agents run on which configuration, and how an agent spec becomes a solver.

An agent spec is a string:

* ``NAME`` or ``NAME(key=value, ...)``: a registered agent (``agents.available()``) built with
  ``agents.make(NAME, key=value, ...)``; values are Python literals.
* ``package.module:factory`` or ``package.module:factory(key=value, ...)``: a user's own
  agent. The factory is called with the keywords (plus ``env=``, the configuration's
  environment, if it has a parameter of that name) and returns either a solver (anything
  with ``solve(H, power, noise_power, *, utility, weights, user_mask, antenna_mask,
  amplifier_efficiency, circuit_power)``, e.g. an :class:`agents.Solver`) or a policy with
  ``predict(obs, deterministic=True)`` (e.g. a stable-baselines3 model), which is wrapped in
  :class:`agents.adapters.PolicySolver` on the configuration's environment. An RL baseline
  is therefore just another agent: a registered name or a factory.

The spec's canonical text (:attr:`AgentSpec.label`, keywords sorted) names the agent in every
result row.

Line-up of a configuration: the requested agents, plus the task's reference
(:data:`REFERENCES`) when it is not among them, because every ratio needs it. The default
request (:func:`default_agents`) is the classical set plus every other registered agent
except the task-specific references, so a learned or RL agent registered in ``agents`` joins
the leaderboard without touching this file.

Agents that optimise another utility than the configuration's (``solver.utilities`` without
it, e.g. ``wmmse`` on max-min) are asked for their own first utility and scored on the
configuration's: the leaderboard shows what each agent achieves on the task.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib
import inspect
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym

import agents
from agents import learned, rl
from agents.adapters import PolicySolver
from agents.registry import REFERENCES
from beamgym.checks import check_choice
from beamgym.scenario import Scenario
from benchmarks.suites import Configuration, Suite

STRONG_REFERENCE = "wmmse-best"
"""The best-of-starts WMMSE; ratios to it are reported for the utilities it optimises."""

CLASSICAL = (
    "mrt",
    "zf",
    "zf-wf",
    "rzf",
    "rzf(normalisation='total')",
    "wmmse",
    "wmmse(multiplier='exact')",
    "wmmse-best",
)
"""The classical agents of every default line-up; RZF with both power normalisations, since
each is the stronger in one regime (equal power per stream with K <= N at high SNR, the
single scale of the whole matrix in overloaded systems), and WMMSE with both power
multipliers (the closed form, its default, and the exact one, whose results differ slightly)."""

_SPEC = re.compile(r"\s*([^()\s]+)\s*(?:\((.*)\))?\s*", re.DOTALL)


@dataclass(frozen=True)
class AgentSpec:
    """A parsed agent spec: ``target`` (registry name or ``module:factory``) and keywords."""

    target: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """Canonical text: ``target`` or ``target(k=v, ...)`` with sorted keys."""
        if not self.kwargs:
            return self.target
        args = ", ".join(f"{key}={self.kwargs[key]!r}" for key in sorted(self.kwargs))
        return f"{self.target}({args})"


def parse_agent(text: str) -> AgentSpec:
    """Parse an agent spec (module docstring); malformed text raises ``ValueError``."""
    usage = "NAME, NAME(key=value, ...) or package.module:factory(key=value, ...)"
    match = _SPEC.fullmatch(text)
    if not match:
        raise ValueError(f"agent spec must be {usage}, got {text!r}")
    target, arguments = match.groups()
    kwargs: dict[str, Any] = {}
    if arguments and arguments.strip():
        try:
            call = ast.parse(f"f({arguments})", mode="eval").body
            if call.args or any(keyword.arg is None for keyword in call.keywords):
                raise ValueError("only key=value arguments")
            kwargs = {kw.arg: ast.literal_eval(kw.value) for kw in call.keywords}
        except (SyntaxError, ValueError) as error:
            raise ValueError(
                f"agent spec must be {usage} with literal values, got {text!r} ({error})"
            ) from None
    return AgentSpec(target, kwargs)


def default_agents() -> list[str]:
    """The default request: :data:`CLASSICAL` plus every other registered agent that is not
    only a task reference (``maxmin``, ``pf``, ``ee`` join where they are the reference), an
    RL algorithm without shipped checkpoints (it would be not applicable everywhere) or a
    learned model whose checkpoint is not shipped."""
    skipped = set(REFERENCES.values()) - set(CLASSICAL)
    skipped |= set(rl.AGENTS) - set(rl.shipped())
    skipped |= {name for name, present in learned.shipped().items() if not present}
    extra = [name for name in agents.available() if name not in CLASSICAL + tuple(skipped)]
    classical = [spec for spec in CLASSICAL if parse_agent(spec).target in agents.available()]
    return classical + extra


def line_up(config_utility: str | None, specs: Iterable[AgentSpec]) -> list[AgentSpec]:
    """The specs run on a configuration paying ``config_utility``: ``specs`` without
    duplicates, plus the reference (unknown utility, e.g. a bad env id: no reference)."""
    chosen: dict[str, AgentSpec] = {}
    for spec in specs:
        chosen.setdefault(spec.label, spec)
    reference = REFERENCES.get(config_utility or "")
    if reference is not None:
        chosen.setdefault(reference, AgentSpec(reference))
    return list(chosen.values())


def configuration_utility(config: Configuration) -> str | None:
    """The utility a configuration pays (beamgym's :class:`~beamgym.Scenario` of the id's
    registered kwargs updated by the configuration's); ``None`` for an unknown id, invalid
    kwargs or a utility drawn per episode (such units fail when the channels are drawn)."""
    if config.env_id not in gym.registry:
        return None
    try:
        scenario = Scenario.from_kwargs(**{**gym.registry[config.env_id].kwargs, **config.kwargs})
    except (TypeError, ValueError):
        return None
    return scenario.utilities[0] if len(scenario.utilities) == 1 else None


def plan_units(suite: Suite, specs: Iterable[AgentSpec]) -> list[tuple[Configuration, AgentSpec]]:
    """Every (configuration, agent) unit of a run, configuration-major, in suite order."""
    specs = list(specs)
    return [
        (config, spec)
        for config in suite.configurations
        for spec in line_up(configuration_utility(config), specs)
    ]


def shard_of(config: str, agent: str, count: int) -> int:
    """The shard (0-based, of ``count``) that runs a unit: a hash of its names, so that
    assignments do not move when agents or configurations are added, and expensive agents
    spread over the shards instead of falling on one by position."""
    digest = hashlib.sha256(f"{config}\n{agent}".encode()).hexdigest()
    return int(digest, 16) % count


def agent_factory(spec: AgentSpec) -> Callable[..., Any]:
    """What builds ``spec``'s agent: :func:`agents.make` of a registered name, or the user's
    factory, imported. A run checks every spec with it before anything runs.

    Raises:
        ValueError: an unknown name (with the closest registered one), a module that cannot
            be imported (they are imported from ``sys.path``, which ``python -m`` starts with
            the current directory), or no callable of that name in it.
    """
    if ":" not in spec.target:
        check_choice(
            "agent (a registered name or 'package.module:factory')", spec.target, agents.available()
        )
        return functools.partial(agents.make, spec.target)
    module_name, _, attribute = spec.target.partition(":")
    try:
        factory: Any = importlib.import_module(module_name)
    except ImportError as error:
        raise ValueError(
            f"cannot import module {module_name!r} of agent {spec.label!r}: {error} (modules "
            f"are imported from sys.path, which python -m starts with the current directory "
            f"{os.getcwd()})"
        ) from None
    for part in attribute.split("."):
        factory = getattr(factory, part, None)
    if not callable(factory):
        raise ValueError(f"{spec.target!r} must name a callable factory in module {module_name!r}")
    return factory


def build_agent(spec: AgentSpec, env: gym.Env) -> Any:
    """The solver of ``spec`` for a configuration whose environment is ``env``.

    Raises:
        ValueError: what :func:`agent_factory` raises, or a factory returning neither a solver
            nor a policy.
    """
    factory = agent_factory(spec)
    if ":" not in spec.target:
        return factory(**spec.kwargs)
    kwargs = dict(spec.kwargs)
    try:
        parameters = inspect.signature(factory).parameters
    except (TypeError, ValueError):  # some builtins have no signature
        parameters = {}
    if "env" in parameters:
        kwargs["env"] = env
    made = factory(**kwargs)
    if hasattr(made, "solve"):
        return made
    if hasattr(made, "predict"):
        return PolicySolver(made, env, name=spec.label)
    raise ValueError(
        f"factory {spec.target!r} must return a solver (with solve) or a policy (with predict), "
        f"got {type(made).__name__}"
    )


def agent_config(agent: Any) -> dict[str, Any] | None:
    """``agent.config()`` when the agent has one (every :class:`agents.Solver` does)."""
    config = getattr(agent, "config", None)
    return config() if callable(config) else None


def solved_utility(agent: Any, utility: str) -> str:
    """The utility ``agent`` is asked to optimise on a configuration paying ``utility``."""
    own = getattr(agent, "utilities", None)
    return own[0] if own and utility not in own else utility
