"""How much a trained RL policy depends on the channel, run by hand (not a test).

    python scripts/rl_policy_probe.py ppo-structure-sum_rate-8x8 [more checkpoints]

For each checkpoint, on its validation set (:func:`agents.rl.validate_policy`: the channels of
its learning curve), prints the mean utility of

* the policy itself (deterministic);
* its **average action**: the policy's actions averaged over the validation observations and
  played on every channel, a policy that ignores the channel; equal to the policy's utility
  means the policy has learned nothing channel-dependent;
* for the ``"structure"`` action, the rule **drop the weakest user**: every user at the
  largest power and dual weight (``+1``, equal shares) except the one with the smallest
  ``||h_k||^2``, which gets ``-1`` (zero power), a one-line channel-dependent rule;
* the utility's reference and RZF, through the beamformer action on the same channels;

and the largest spread (standard deviation over the validation observations) of any action
entry. Bad input is one line ``error: ...`` and exit status 2 (``--debug``: the traceback).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from agents import rl
from agents.storage import CommandLine, run_command
from beamgym.checks import check_count
from benchmarks.learning_curves import reference_lines


class Constant:
    """A policy that plays one action on every observation."""

    def __init__(self, action: np.ndarray) -> None:
        self.action = action

    def predict(self, obs: np.ndarray, deterministic: bool = True) -> tuple[np.ndarray, None]:
        return np.broadcast_to(self.action, (obs.shape[0], self.action.size)).copy(), None


class DropWeakest:
    """The ``"structure"`` action serving every user equally but the weakest (module doc)."""

    def __init__(self, env: Any) -> None:
        self.layout = env.layout

    def predict(self, obs: np.ndarray, deterministic: bool = True) -> tuple[np.ndarray, None]:
        fields = self.layout.unpack_observation(torch.as_tensor(obs, dtype=torch.float64))
        gains = (fields["channel"].abs() ** 2).sum(-1)
        gains = torch.where(fields["user_mask"] > 0, gains, torch.inf).numpy()
        weakest = gains.argmin(-1)
        users = self.layout.max_users
        action = np.ones((obs.shape[0], 2 * users))
        rows = np.arange(obs.shape[0])
        action[rows, weakest] = action[rows, users + weakest] = -1.0
        return action, None


class Recorder:
    """A policy's deterministic actions, kept as they are played."""

    def __init__(self, model: Any) -> None:
        self.model, self.actions = model, []

    def predict(self, obs: np.ndarray, deterministic: bool = True) -> tuple[np.ndarray, None]:
        action, _ = self.model.predict(obs, deterministic=True)
        self.actions.append(action)
        return action, None


def probe(name: str) -> None:
    """Print the figures of the module docstring for checkpoint ``name``."""
    model, checkpoint = rl.load(name)
    recorder = Recorder(model)
    rows = {"policy": rl.validate_policy(lambda env: recorder, checkpoint)}
    actions = np.concatenate(recorder.actions)
    rows["its average action"] = rl.validate_policy(
        lambda env: Constant(actions.mean(0)), checkpoint
    )
    if checkpoint.action == "structure":
        rows["drop the weakest user"] = rl.validate_policy(DropWeakest, checkpoint)
    references = reference_lines(checkpoint)
    reference = next(iter(references))
    rows.update(references)
    print(f"{name}: largest spread of an action entry over the channels {actions.std(0).max():.3f}")
    for label, value in rows.items():
        print(f"  {label:<24} {value:9.4f}  {100 * value / rows[reference]:6.1f} % of {reference}")


def _run(args: Any) -> None:
    check_count("--threads", args.threads)
    torch.set_num_threads(args.threads)
    for name in args.checkpoints:
        probe(name)


def main(argv: list[str] | None = None) -> None:
    """Run the command line; exits with status 2 (one line on stderr) on bad input."""
    parser = CommandLine(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="+", help="RL checkpoints (paths or shipped names)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default: 1)")
    run_command(parser, _run, argv)


if __name__ == "__main__":
    main()
