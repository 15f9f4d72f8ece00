"""Reinforcement-learning baselines: stable-baselines3 PPO, SAC, TD3 and DDPG on beamgym.

Each baseline is one SB3 model trained on one environment configuration (an id and its
keywords, e.g. ``MISO-SumRate-v0`` at K = N = 4 with the SNR drawn from 0-20 dB per
episode). Decisions:

* **A contextual bandit.** The next channel does not depend on the action, so the discount
  is ``gamma = 0``: the return is the reward of the block, the utility (PPO's GAE with
  ``gamma = 0`` reduces to ``reward - V(s)``).
* **Safe checkpoints.** A checkpoint is ``NAME.pt`` (the policy's ``state_dict``, loaded with
  ``torch.load(weights_only=True)``) beside ``NAME.json`` (algorithm, environment,
  hyper-parameters, training steps, wall time, the command that trained it and its
  evaluation). SB3's own ``.zip`` format is not used: it unpickles objects on load.
* **Scope.** A baseline serves the problems its environment poses: the same utility, and K
  and N within the environment's ranges (padded and masked as the environment pads them).
  The registered agents, one per algorithm and action parameterisation (``ppo``,
  ``ppo-structure``, ``sac-power``, ...; :func:`agent_name`), pick, for each problem, the
  shipped checkpoint in :data:`CHECKPOINTS` of their algorithm and action whose environment
  poses it (utility, K, N; the narrowest such environment wins); :meth:`RLAgent.supports`
  says whether one does.
* **Batched training.** Every algorithm trains on :data:`NUM_ENVS` copies of its
  environment in one torch batch (:class:`agents.rl.vec_env.NativeVecEnv`), in chunks that
  each end with a point of the learning curve on a fixed validation set and a resume state. A problem does not
  carry its channel model, so a checkpoint trained on Rayleigh channels also serves, say,
  sparse channels of the same size: its ``.json`` records what it was trained on.

Train one (a progress bar shows the steps)::

    python -m agents.rl train ppo --env MISO-SumRate-v0 \\
        --env-kwargs '{"num_users": 4, "num_antennas": 4, "snr_db": [0, 20]}' \\
        --steps 200000 --out agents/rl/checkpoints/ppo-sum_rate-4x4
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch

import beamgym
from agents.storage import (
    checkpoint_file,
    load_weights,
    locate,
    read_metadata,
    read_torch_file,
)
from beamgym.checks import check_count

CHECKPOINTS = Path(__file__).parent / "checkpoints"
"""Where the shipped RL checkpoints live (``ALGO-UTILITY-KxN.pt`` + ``.json``)."""

HYPERPARAMETERS: dict[str, dict[str, Any]] = {
    "ppo": {
        "gamma": 0.0,
        "gae_lambda": 1.0,
        "n_steps": 16,
        "batch_size": 1024,
        "n_epochs": 4,
        "learning_rate": 3e-4,
        "policy_kwargs": {"net_arch": [256, 256]},
    },
    "sac": {
        "gamma": 0.0,
        "buffer_size": 100_000,
        "learning_starts": 1_000,
        "batch_size": 256,
        "gradient_steps": 8,
        "learning_rate": 3e-4,
        "policy_kwargs": {"net_arch": [256, 256]},
    },
    "td3": {
        "gamma": 0.0,
        "buffer_size": 100_000,
        "learning_starts": 1_000,
        "batch_size": 256,
        "gradient_steps": 8,
        "learning_rate": 1e-3,
        "action_noise_std": 0.1,
        "policy_kwargs": {"net_arch": [256, 256]},
    },
    "ddpg": {
        "gamma": 0.0,
        "buffer_size": 100_000,
        "learning_starts": 1_000,
        "batch_size": 256,
        "gradient_steps": 8,
        "learning_rate": 1e-3,
        "action_noise_std": 0.1,
        "policy_kwargs": {"net_arch": [256, 256]},
    },
}
"""Per algorithm: SB3 keyword arguments (all others are SB3's defaults); a checkpoint records
the ones it was trained with. ``action_noise_std`` stands for SB3's ``action_noise``: Gaussian
exploration noise of that standard deviation on every action entry (TD3, DDPG)."""

NUM_ENVS = {"ppo": 256, "sac": 64, "td3": 64, "ddpg": 64}
"""Copies of the environment per algorithm during training, stepped as one batch
(:class:`agents.rl.vec_env.NativeVecEnv`); the off-policy algorithms take
``gradient_steps`` gradient steps per step of all copies."""

ACTIONS = ("beamformer", "structure", "power")
"""The action parameterisations an RL baseline may be trained with (``action=`` of the
environment, :mod:`beamgym.actions`); each (algorithm, action) pair is its own agent."""


def agent_name(algorithm: str, action: str = "beamformer") -> str:
    """The registered name of a baseline: ``ppo`` (the beamformer action), ``ppo-structure``."""
    return algorithm if action == "beamformer" else f"{algorithm}-{action}"


@dataclass
class Checkpoint:
    """The ``.json`` half of a checkpoint: everything needed to rebuild and audit the model.

    Metadata never chooses code: ``algorithm`` must be one of :data:`HYPERPARAMETERS` and
    ``env_id`` an id that beamgym registers (:data:`beamgym.ENV_IDS`), checked when the
    record is made, before any environment or model is (``gym.make`` would import the module
    named before a ``:`` of any other id).
    """

    algorithm: str
    env_id: str
    env_kwargs: dict[str, Any]
    hyperparameters: dict[str, Any]
    steps: int
    seed: int
    wall_time_s: float = 0.0
    command: str = ""
    evaluation: dict[str, float] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    n_envs: int = 0
    curve: list[list[float]] = field(default_factory=list)
    search: dict[str, Any] = field(default_factory=dict)

    @property
    def action(self) -> str:
        """The environment's action parameterisation (``"beamformer"`` unless set)."""
        return self.env_kwargs.get("action", "beamformer")

    @property
    def agent(self) -> str:
        """The agent that serves this checkpoint (:func:`agent_name`)."""
        return agent_name(self.algorithm, self.action)

    def __post_init__(self) -> None:
        if self.algorithm not in HYPERPARAMETERS:
            raise ValueError(
                f"algorithm must be one of {sorted(HYPERPARAMETERS)}, got {self.algorithm!r}"
            )
        if self.env_id not in beamgym.ENV_IDS:
            raise ValueError(
                f"env_id must be an id beamgym registers, one of {sorted(beamgym.ENV_IDS)}, "
                f"got {self.env_id!r}"
            )
        if not isinstance(self.env_kwargs, dict) or not isinstance(self.hyperparameters, dict):
            raise ValueError("env_kwargs and hyperparameters must be JSON objects")
        check_count("steps", self.steps, minimum=0)
        if self.action not in ACTIONS:
            raise ValueError(
                f"env_kwargs action must be one of {list(ACTIONS)}, got {self.action!r}"
            )


def shipped() -> list[str]:
    """The agents (:func:`agent_name`) with at least one checkpoint in :data:`CHECKPOINTS`."""
    return sorted(
        {read_checkpoint(path.with_suffix("")).agent for path in CHECKPOINTS.glob("*.json")}
    )


def _sb3_class(algorithm: str) -> type:
    if algorithm not in HYPERPARAMETERS:
        raise ValueError(f"algorithm must be one of {sorted(HYPERPARAMETERS)}, got {algorithm!r}")
    try:
        import stable_baselines3
    except ImportError:
        raise ImportError(
            "the RL baselines need stable-baselines3: pip install -e '.[sb3]'"
        ) from None
    return getattr(stable_baselines3, algorithm.upper())


def _env_kwargs(checkpoint: Checkpoint, **overrides: Any) -> dict[str, Any]:
    """The checkpoint's environment keywords (JSON lists become ``(min, max)``)."""
    return {
        key: tuple(value) if isinstance(value, list) else value
        for key, value in {**checkpoint.env_kwargs, **overrides}.items()
    }


def make_env(checkpoint: Checkpoint, **overrides: Any) -> gym.Env:
    """The environment a checkpoint was trained on."""
    return gym.make(checkpoint.env_id, **_env_kwargs(checkpoint, **overrides))


def build_model(checkpoint: Checkpoint, env: gym.Env | None = None, device: str = "cpu") -> Any:
    """An untrained SB3 model with the checkpoint's algorithm, hyper-parameters and spaces."""
    cls = _sb3_class(checkpoint.algorithm)
    if env is None:
        env = make_env(checkpoint)
    kwargs = dict(checkpoint.hyperparameters)
    std = kwargs.pop("action_noise_std", None)  # JSON-able stand-in for SB3's action_noise
    if std is not None:
        from stable_baselines3.common.noise import NormalActionNoise

        dim = env.action_space.shape[-1]
        kwargs["action_noise"] = NormalActionNoise(np.zeros(dim), np.full(dim, float(std)))
    return cls("MlpPolicy", env, seed=checkpoint.seed, device=device, **kwargs)


def save(model: Any, checkpoint: Checkpoint, path: str | Path) -> None:
    """Write ``PATH.pt`` (policy weights) and ``PATH.json`` (:class:`Checkpoint`)."""
    checkpoint_file(path, ".pt").parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.policy.state_dict(), checkpoint_file(path, ".pt"))
    checkpoint_file(path, ".json").write_text(json.dumps(asdict(checkpoint), indent=2) + "\n")


def read_checkpoint(path: str | Path) -> Checkpoint:
    """The validated :class:`Checkpoint` of ``PATH.json`` (a relative path from the current
    directory, else among the shipped :data:`CHECKPOINTS`, see :func:`agents.storage.locate`);
    ``ValueError`` naming the file."""
    path = locate(path, CHECKPOINTS)
    data = read_metadata(path)
    try:
        checkpoint = Checkpoint(**data)
    except (TypeError, ValueError) as error:
        meta = checkpoint_file(path, ".json")
        raise ValueError(f"{meta} is not an RL checkpoint's metadata: {error}") from None
    if not checkpoint_file(path, ".pt").is_file():
        raise ValueError(
            f"checkpoint weights {checkpoint_file(path, '.pt')} not found (beside its .json)"
        )
    return checkpoint


def load(path: str | Path, device: str = "cpu") -> tuple[Any, Checkpoint]:
    """The SB3 model and metadata of checkpoint ``PATH`` (without suffix; found as
    :func:`read_checkpoint` finds it)."""
    path = locate(path, CHECKPOINTS)
    checkpoint = read_checkpoint(path)
    with warnings.catch_warnings():  # PPO's minibatch vs a one-copy rollout: never trained here
        warnings.filterwarnings("ignore", message="You have specified a mini-batch size")
        model = build_model(checkpoint, device=device)
    load_weights(model.policy, path, device)
    return model, checkpoint


def evaluate(model: Any, checkpoint: Checkpoint, episodes: int = 100, seed: int = 10_000) -> float:
    """Mean reward per step of the deterministic policy on ``episodes`` seeded episodes."""
    env = make_env(checkpoint)
    rewards = []
    for episode in range(episodes):
        obs, _ = env.reset(seed=seed + episode)
        done = False
        while not done:
            action, _ = model.predict(obs, deterministic=True)
            obs, reward, terminated, truncated, _ = env.step(action)
            rewards.append(reward)
            done = terminated or truncated
    return float(np.mean(rewards))


def _progress_bar(total: int, initial: int = 0) -> Any:
    """An SB3 callback drawing one tqdm bar over the training steps across the run's chunks
    (without SB3's ``rich``); ``close()`` ends it."""
    from stable_baselines3.common.callbacks import BaseCallback
    from tqdm.auto import tqdm

    class ProgressBar(BaseCallback):
        def __init__(self) -> None:
            super().__init__()
            self.bar = tqdm(total=total, initial=initial, unit="step", desc="training")

        def _on_step(self) -> bool:
            self.bar.update(self.training_env.num_envs)
            return True

        def close(self) -> None:
            self.bar.close()

    return ProgressBar()


VALIDATION_SEED, VALIDATION_EPISODES = 10_000, 100
"""The fixed validation set of the learning curves: ``VALIDATION_EPISODES`` episodes of the
checkpoint's environment in one batch, drawn from ``VALIDATION_SEED`` (training draws from the
run's own seed, the leaderboard from its held-out test seeds)."""


def validate_policy(
    policy_for: Callable[[Any], Any], checkpoint: Checkpoint, **overrides: Any
) -> float:
    """Mean reward per step on the validation set of ``checkpoint`` of the policy
    (``predict(obs, deterministic=True)``) that ``policy_for`` makes for the native
    environment (:class:`beamgym.vector_env.MisoVectorEnv`, for its layout); ``overrides``
    change environment keywords (the validation channels stay the same)."""
    from agents.rl.vec_env import NativeVecEnv

    venv = NativeVecEnv(
        checkpoint.env_id, VALIDATION_EPISODES, **_env_kwargs(checkpoint, **overrides)
    )
    venv.seed(VALIDATION_SEED)
    policy = policy_for(venv.env)
    obs, total = venv.reset(), 0.0
    for _ in range(venv.max_episode_steps):
        action, _ = policy.predict(obs, deterministic=True)
        obs, rewards, _, _ = venv.step(action)
        total += float(rewards.astype(np.float64).mean())
    return total / venv.max_episode_steps


def validate(model: Any, checkpoint: Checkpoint) -> float:
    """Mean reward per step of the deterministic policy on the fixed validation set
    (:data:`VALIDATION_SEED`): the same channels at every point of a learning curve."""
    return validate_policy(lambda env: model, checkpoint)


def validate_solver(solver: Any, checkpoint: Checkpoint) -> float:
    """Mean reward per step of a :class:`~agents.solver.Solver` on the validation set of
    ``checkpoint`` (the same channels as :func:`validate`: the action parameterisation changes
    no draw), acting through the ``"beamformer"`` action as :class:`~agents.adapters.SolverPolicy`
    does; the reference line of a learning curve."""
    from agents.adapters import SolverPolicy

    return validate_policy(lambda env: SolverPolicy(solver, env), checkpoint, action="beamformer")


def _optimizers(model: Any) -> dict[str, torch.optim.Optimizer]:
    """The optimisers of an SB3 model by attribute path (PPO's policy, the off-policy actor and
    critic, SAC's entropy coefficient)."""
    found = {}
    for owner, attribute in (
        ("policy", "optimizer"),
        ("actor", "optimizer"),
        ("critic", "optimizer"),
        ("", "ent_coef_optimizer"),
    ):
        holder = getattr(model, owner, None) if owner else model
        optimizer = getattr(holder, attribute, None)
        if isinstance(optimizer, torch.optim.Optimizer):
            found[f"{owner}.{attribute}".strip(".")] = optimizer
    return found


def _save_state(path: Path, model: Any, checkpoint: Checkpoint) -> None:
    """The resume state (tensors and plain values only: it loads with ``weights_only``)."""
    state = {
        "checkpoint": json.dumps(asdict(checkpoint)),
        "policy": model.policy.state_dict(),
        "optimizers": {name: opt.state_dict() for name, opt in _optimizers(model).items()},
        "log_ent_coef": getattr(model, "log_ent_coef", torch.zeros(0)).detach(),
        "num_timesteps": int(model.num_timesteps),
    }
    partial = path.with_name(path.name + ".partial")
    torch.save(state, partial)  # then renamed: a kill while saving keeps the last state
    partial.replace(path)


def _restore(path: Path, model: Any, checkpoint: Checkpoint, device: str) -> Checkpoint:
    """Load the resume state into ``model``; returns the checkpoint record it was saved with
    (steps, wall time and curve so far). A state of another configuration is an error."""
    state = read_torch_file(path, "resume state", device)
    saved = Checkpoint(**json.loads(state["checkpoint"]))
    same = ("algorithm", "env_id", "env_kwargs", "hyperparameters", "seed", "n_envs")
    if any(getattr(saved, key) != getattr(checkpoint, key) for key in same):
        raise ValueError(
            f"resume state {path} was written by another configuration; use a new --out"
        )
    model.policy.load_state_dict(state["policy"])
    for name, optimizer in _optimizers(model).items():
        optimizer.load_state_dict(state["optimizers"][name])
    if state["log_ent_coef"].numel():
        model.log_ent_coef.data.copy_(state["log_ent_coef"])
    model.num_timesteps = state["num_timesteps"]
    return saved


def train(
    algorithm: str,
    env_id: str,
    env_kwargs: dict[str, Any],
    steps: int,
    out: str | Path,
    seed: int = 0,
    command: str = "",
    device: str = "cpu",
    *,
    hyperparameters: dict[str, Any] | None = None,
    search: dict[str, Any] | None = None,
    curve_points: int = 20,
    resume: bool = False,
    progress: bool = True,
) -> Checkpoint:
    """Train ``algorithm`` on ``NUM_ENVS[algorithm]`` copies of the environment in one batch
    (:class:`agents.rl.vec_env.NativeVecEnv`) for at least ``steps`` environment steps, and
    save the checkpoint ``OUT.pt`` + ``OUT.json``.

    The run goes in ``curve_points`` chunks; after each, the deterministic policy is scored on
    the fixed validation set (:func:`validate`), which makes the learning curve recorded in
    the checkpoint, and the resume state ``OUT.train.pt`` is written. With ``resume`` a run
    continues from that state: the weights, optimisers and step count are restored; the
    off-policy replay buffer and SB3's random state are not (a resumed run refills its
    buffer, and is not bit-identical to an uninterrupted one). The checkpoint records the
    steps taken (PPO rounds each chunk up to whole rollouts), the wall time, the
    hyper-parameters (``hyperparameters``, default :data:`HYPERPARAMETERS`), the ``search``
    that chose them and the ``command``.
    """
    check_count("steps", steps)
    check_count("curve_points", curve_points)
    from agents.rl.vec_env import NativeVecEnv

    checkpoint = Checkpoint(
        algorithm=algorithm,
        env_id=env_id,
        env_kwargs=env_kwargs,
        hyperparameters=HYPERPARAMETERS.get(algorithm, {})
        if hyperparameters is None
        else hyperparameters,
        steps=steps,
        seed=seed,
        command=command,
        n_envs=NUM_ENVS.get(algorithm, 1),
        search=search or {},
    )
    _sb3_class(algorithm)  # validates the name before any work
    venv = NativeVecEnv(env_id, checkpoint.n_envs, **_env_kwargs(checkpoint))
    model = build_model(checkpoint, venv, device)
    state = checkpoint_file(out, ".train.pt")
    state.parent.mkdir(parents=True, exist_ok=True)
    if resume and state.is_file():
        saved = _restore(state, model, checkpoint, device)
        checkpoint.curve, checkpoint.wall_time_s = saved.curve, saved.wall_time_s
    chunk = -(-steps // curve_points)
    bar = _progress_bar(steps, int(model.num_timesteps)) if progress else None
    while model.num_timesteps < steps:
        start = time.perf_counter()
        model.learn(
            min(chunk, steps - model.num_timesteps), callback=bar, reset_num_timesteps=False
        )
        checkpoint.wall_time_s = round(checkpoint.wall_time_s + time.perf_counter() - start, 1)
        checkpoint.curve.append([int(model.num_timesteps), validate(model, checkpoint)])
        checkpoint.steps = int(model.num_timesteps)
        _save_state(state, model, checkpoint)
    if bar is not None:
        bar.close()
    checkpoint.steps = int(model.num_timesteps)
    checkpoint.evaluation = {"mean_reward": evaluate(model, checkpoint)}
    import stable_baselines3

    checkpoint.versions = {
        "beamgym": beamgym.__version__,
        "stable_baselines3": stable_baselines3.__version__,
        "torch": torch.__version__,
    }
    save(model, checkpoint, out)
    return checkpoint
