"""Reinforcement-learning baselines: stable-baselines3 PPO, SAC and TD3 on beamgym.

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
  The registered agents ``ppo``, ``sac`` and ``td3`` pick, for each problem, the shipped
  checkpoint in :data:`CHECKPOINTS` whose environment poses it (utility, K, N; the narrowest
  such environment wins); :meth:`RLAgent.supports` says whether one does. A problem does not
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
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch

import beamgym
from agents.storage import checkpoint_file, load_weights, locate, read_metadata
from beamgym.checks import check_count

CHECKPOINTS = Path(__file__).parent / "checkpoints"
"""Where the shipped RL checkpoints live (``ALGO-UTILITY-KxN.pt`` + ``.json``)."""

HYPERPARAMETERS: dict[str, dict[str, Any]] = {
    "ppo": {
        "gamma": 0.0,
        "gae_lambda": 1.0,
        "n_steps": 256,
        "batch_size": 256,
        "n_epochs": 10,
        "learning_rate": 3e-4,
        "policy_kwargs": {"net_arch": [256, 256]},
    },
    "sac": {
        "gamma": 0.0,
        "buffer_size": 100_000,
        "learning_starts": 1_000,
        "batch_size": 256,
        "learning_rate": 3e-4,
        "policy_kwargs": {"net_arch": [256, 256]},
    },
    "td3": {
        "gamma": 0.0,
        "buffer_size": 100_000,
        "learning_starts": 1_000,
        "batch_size": 256,
        "learning_rate": 1e-3,
        "policy_kwargs": {"net_arch": [256, 256]},
    },
}
"""Per algorithm: SB3 keyword arguments (all others are SB3's defaults)."""

NUM_ENVS = {"ppo": 8, "sac": 4, "td3": 4}
"""Parallel environments per algorithm during training (SB3 ``DummyVecEnv``); SAC and TD3
take one gradient step per step of all their environments."""


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


def shipped() -> list[str]:
    """The algorithms with at least one checkpoint in :data:`CHECKPOINTS`."""
    return sorted({path.name.split("-")[0] for path in CHECKPOINTS.glob("*.json")})


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


def make_env(checkpoint: Checkpoint, **overrides: Any) -> gym.Env:
    """The environment a checkpoint was trained on (JSON lists become ``(min, max)``)."""
    kwargs = {
        key: tuple(value) if isinstance(value, list) else value
        for key, value in {**checkpoint.env_kwargs, **overrides}.items()
    }
    return gym.make(checkpoint.env_id, **kwargs)


def build_model(checkpoint: Checkpoint, env: gym.Env | None = None, device: str = "cpu") -> Any:
    """An untrained SB3 model with the checkpoint's algorithm, hyper-parameters and spaces."""
    cls = _sb3_class(checkpoint.algorithm)
    if env is None:
        env = make_env(checkpoint)
    return cls("MlpPolicy", env, seed=checkpoint.seed, device=device, **checkpoint.hyperparameters)


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


def _progress_bar(total: int) -> Any:
    """An SB3 callback drawing a tqdm bar over the training steps (without SB3's ``rich``)."""
    from stable_baselines3.common.callbacks import BaseCallback
    from tqdm.auto import tqdm

    class ProgressBar(BaseCallback):
        def _on_training_start(self) -> None:
            self.bar = tqdm(total=total, unit="step", desc="training")

        def _on_step(self) -> bool:
            self.bar.update(self.training_env.num_envs)
            return True

        def _on_training_end(self) -> None:
            self.bar.close()

    return ProgressBar()


def train(
    algorithm: str,
    env_id: str,
    env_kwargs: dict[str, Any],
    steps: int,
    out: str | Path,
    seed: int = 0,
    command: str = "",
    device: str = "cpu",
) -> Checkpoint:
    """Train ``algorithm`` for at least ``steps`` environment steps (SB3 collects whole
    rollouts, so PPO rounds up to ``n_steps x`` its environments), evaluate it and save the
    checkpoint, which records the steps taken."""
    check_count("steps", steps)
    from stable_baselines3.common.env_util import make_vec_env

    checkpoint = Checkpoint(
        algorithm=algorithm,
        env_id=env_id,
        env_kwargs=env_kwargs,
        hyperparameters=HYPERPARAMETERS.get(algorithm, {}),
        steps=steps,
        seed=seed,
        command=command,
    )
    _sb3_class(algorithm)  # validates the name before any work
    envs = make_vec_env(lambda: make_env(checkpoint), n_envs=NUM_ENVS[algorithm], seed=seed)
    model = build_model(checkpoint, envs, device)
    start = time.perf_counter()
    model.learn(steps, callback=_progress_bar(steps))
    checkpoint.steps = int(model.num_timesteps)
    checkpoint.wall_time_s = round(time.perf_counter() - start, 1)
    checkpoint.evaluation = {"mean_reward": evaluate(model, checkpoint)}
    import stable_baselines3

    checkpoint.versions = {
        "beamgym": beamgym.__version__,
        "stable_baselines3": stable_baselines3.__version__,
        "torch": torch.__version__,
    }
    save(model, checkpoint, out)
    return checkpoint
