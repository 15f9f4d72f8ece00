"""Where a checkpoint's files are, and reading them.

A checkpoint ``PATH`` (learned or RL) is ``PATH.pt`` (weights only, loaded with
``weights_only=True``) beside ``PATH.json`` (its metadata). The suffix is appended to
``PATH``, never substituted for a suffix of it, so ``runs/exp.lr1`` and ``runs/exp.lr2`` are
two checkpoints. Metadata never chooses code: it names entries of the project's registries,
which the readers validate before anything is built.

A checkpoint is found by :func:`locate`: a relative ``PATH`` from the current directory
first, then among the shipped checkpoints, so ``sallo-m`` or ``ppo-sum_rate-4x4`` names a
shipped one from any directory.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import torch


def checkpoint_file(path: str | Path, suffix: str) -> Path:
    """``PATH`` + ``suffix`` (``.pt``, ``.json``, ``.md``, ``.train.pt``)."""
    path = Path(path)
    return path.with_name(path.name + suffix)


def locate(path: str | Path, shipped: Path) -> Path:
    """The checkpoint ``path`` names: ``path`` itself if ``PATH.json`` exists (a relative path
    from the current directory), else, for a relative path, ``shipped / path`` if that is a
    checkpoint; ``ValueError`` naming every place looked in otherwise."""
    path = Path(path)
    candidates = [path] if path.is_absolute() else [path, shipped / path]
    for candidate in candidates:
        if checkpoint_file(candidate, ".json").is_file():
            return candidate
    looked = " nor ".join(str(checkpoint_file(c.absolute(), ".json")) for c in candidates)
    raise ValueError(
        f"checkpoint {str(path)!r} (a path without .pt/.json) must have "
        f"{checkpoint_file(path, '.json').name} beside its .pt, not found: {looked}"
    )


def read_metadata(path: str | Path) -> dict[str, Any]:
    """The JSON object ``PATH.json`` of a checkpoint (see :func:`locate`); ``ValueError``
    naming the file if it cannot be read or is not a JSON object."""
    meta = checkpoint_file(path, ".json")
    try:
        data = json.loads(meta.read_text(encoding="utf-8"))
    except OSError as error:
        raise ValueError(f"cannot read checkpoint metadata {meta}: {error.strerror}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"checkpoint metadata {meta} is not valid JSON: {error}") from None
    if not isinstance(data, dict):
        raise ValueError(f"checkpoint metadata {meta} must be a JSON object")
    return data


def load_weights(module: torch.nn.Module, path: str | Path, device: Any = "cpu") -> None:
    """Load the weights ``PATH.pt`` (``torch.load(weights_only=True)`` onto ``device``) into
    ``module``; ``ValueError`` naming the file and what is wrong with it otherwise."""
    weights = checkpoint_file(path, ".pt")
    if not weights.is_file():
        raise ValueError(f"checkpoint weights {weights} not found (beside its .json)")
    if weights.stat().st_size == 0:
        raise ValueError(f"checkpoint weights {weights} is an empty file")
    try:
        state = torch.load(weights, map_location=device, weights_only=True)
    except pickle.UnpicklingError:
        raise ValueError(
            f"checkpoint weights {weights} is not a weights-only PyTorch file "
            "(torch.load(weights_only=True) refuses it)"
        ) from None
    except (RuntimeError, EOFError, OSError) as error:
        raise ValueError(
            f"checkpoint weights {weights} is corrupt or truncated ({type(error).__name__})"
        ) from None
    if not isinstance(state, dict):
        raise ValueError(f"checkpoint weights {weights} hold a {type(state).__name__}, not weights")
    try:
        module.load_state_dict(state)
    except RuntimeError as error:
        raise ValueError(
            f"checkpoint weights {weights} do not fit the model its .json describes: {error}"
        ) from None
