"""Where a result came from: package versions, git commit, device, time.

Recorded in every result row so that a number can be traced to the code and machine that
produced it. The commit is that of the checkout holding the installed ``benchmarks`` package
(``git rev-parse HEAD``), with ``-dirty`` appended when tracked files differ from it (the
rows then come from uncommitted code), and ``"unknown"`` outside a git checkout.
"""

from __future__ import annotations

import platform
import subprocess
from datetime import datetime, timezone
from functools import cache
from pathlib import Path
from typing import Any

import torch

import beamgym

_ROOT = Path(__file__).resolve().parent.parent


@cache
def git_commit() -> str:
    """``git rev-parse HEAD`` of the checkout, ``-dirty`` if modified, or ``"unknown"``."""

    def git(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["git", "-C", str(_ROOT), *args], capture_output=True, text=True, timeout=30
        )

    try:
        head = git("rev-parse", "HEAD")
        if head.returncode != 0:
            return "unknown"
        dirty = git("status", "--porcelain", "--untracked-files=no").stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head.stdout.strip() + ("-dirty" if dirty else "")


def utc_now() -> str:
    """The current UTC time, ISO 8601 to the second."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")  # noqa: UP017 (Python 3.10)


def describe_device(device: torch.device) -> str:
    """``"cpu (x86_64, 2 threads)"`` or ``"cuda:0 (NVIDIA H100 ...)"``."""
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return f"{device} ({platform.machine()}, {torch.get_num_threads()} threads)"


def provenance(device: torch.device) -> dict[str, Any]:
    """The provenance fields of a result row."""
    return {
        "beamgym_version": beamgym.__version__,
        "git_commit": git_commit(),
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "device": describe_device(device),
        "finished_at": utc_now(),
    }
