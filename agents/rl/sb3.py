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
    """The ``.json`` half of a checkpoint: everything needed to rebuild and audit the model."""

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
    """Write ``path.pt`` (policy weights) and ``path.json`` (:class:`Checkpoint`)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.policy.state_dict(), path.with_suffix(".pt"))
    path.with_suffix(".json").write_text(json.dumps(asdict(checkpoint), indent=2) + "\n")


def read_metadata(path: Path) -> Checkpoint:
    meta = path.with_suffix(".json")
    if not meta.is_file():
        raise ValueError(f"checkpoint must name a {meta.name} beside its .pt, not found: {meta}")
    return Checkpoint(**json.loads(meta.read_text()))


def load(path: str | Path, device: str = "cpu") -> tuple[Any, Checkpoint]:
    """The SB3 model and metadata of checkpoint ``path`` (``.pt``/``.json`` suffix optional)."""
    path = Path(path)
    checkpoint = read_metadata(path)
    model = build_model(checkpoint, device=device)
    state = torch.load(path.with_suffix(".pt"), map_location=device, weights_only=True)
    model.policy.load_state_dict(state)
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
    """Train ``algorithm`` for ``steps`` environment steps, evaluate it, save the checkpoint."""
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
