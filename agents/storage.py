"""Where a checkpoint's files are, and reading its metadata.

A checkpoint ``PATH`` (learned or RL) is ``PATH.pt`` (weights only, loaded with
``weights_only=True``) beside ``PATH.json`` (its metadata). The suffix is appended to
``PATH``, never substituted for a suffix of it, so ``runs/exp.lr1`` and ``runs/exp.lr2`` are
two checkpoints. Metadata never chooses code: it names entries of the project's registries,
which the readers validate before anything is built.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def checkpoint_file(path: str | Path, suffix: str) -> Path:
    """``PATH`` + ``suffix`` (``.pt``, ``.json``, ``.md``, ``.train.pt``)."""
    path = Path(path)
    return path.with_name(path.name + suffix)


def read_metadata(path: str | Path) -> dict[str, Any]:
    """The JSON object ``PATH.json`` of a checkpoint; ``ValueError`` naming the file if it is
    missing or not a JSON object."""
    meta = checkpoint_file(path, ".json")
    if not meta.is_file():
        raise ValueError(
            f"checkpoint {str(path)!r} (a path without .pt/.json) must have {meta.name} "
            f"beside its .pt, not found: {meta}"
        )
    try:
        data = json.loads(meta.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"checkpoint metadata {meta} is not valid JSON: {error}") from None
    if not isinstance(data, dict):
        raise ValueError(f"checkpoint metadata {meta} must be a JSON object")
    return data
