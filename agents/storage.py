"""Files on disk: where a checkpoint's files are, reading them, and how the command lines
answer a bad path or any other bad input.

A checkpoint ``PATH`` (learned or RL) is ``PATH.pt`` (weights only, loaded with
``weights_only=True``) beside ``PATH.json`` (its metadata). The suffix is appended to
``PATH``, never substituted for a suffix of it, so ``runs/exp.lr1`` and ``runs/exp.lr2`` are
two checkpoints. Metadata never chooses code: it names entries of the project's registries,
which the readers validate before anything is built.

A checkpoint is found by :func:`locate`: a relative ``PATH`` from the current directory
first, then among the shipped checkpoints, so ``sallo-m`` or ``ppo-sum_rate-4x4`` names a
shipped one from any directory.

Every command line of the project (``python -m benchmarks``, ``python -m agents.rl``,
``python -m agents.learned.training``, ``scripts/*.py``) parses with :class:`CommandLine`
and reports errors with :func:`fail`: bad input (:data:`BAD_INPUT`) is one line
``error: ...`` on stderr and exit status 2; anything else is one line with a hint to rerun
with ``--debug`` and exit status 1; ``--debug`` prints the traceback before that line.
argparse's own errors are one line too, without its usage block: the issue asks for one line,
and the usage is what ``--help`` prints, which the line points to.
"""

from __future__ import annotations

import argparse
import json
import pickle
import re
import sys
import tempfile
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import torch

BAD_INPUT = (ValueError, TypeError, OSError, ImportError)
"""The errors a command line answers as bad input (exit status 2): the validation errors
name the parameter, ``OSError`` the path, ``ImportError`` the module (an agent's
``package.module`` or an optional extra)."""


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


def read_torch_file(file: Path, what: str, device: Any = "cpu") -> dict[str, Any]:
    """The dictionary in ``file`` (``torch.load(weights_only=True)`` onto ``device``);
    ``ValueError`` naming ``what`` and the file and what is wrong with it otherwise."""
    if not file.is_file():
        raise ValueError(f"{what} {file} not found")
    if file.stat().st_size == 0:
        raise ValueError(f"{what} {file} is an empty file")
    try:
        state = torch.load(file, map_location=device, weights_only=True)
    except pickle.UnpicklingError:
        raise ValueError(
            f"{what} {file} is not a weights-only PyTorch file "
            "(torch.load(weights_only=True) refuses it)"
        ) from None
    except (RuntimeError, EOFError, OSError) as error:
        raise ValueError(
            f"{what} {file} is corrupt or truncated ({type(error).__name__})"
        ) from None
    if not isinstance(state, dict):
        raise ValueError(f"{what} {file} holds a {type(state).__name__}, not a dictionary")
    return state


def load_weights(module: torch.nn.Module, path: str | Path, device: Any = "cpu") -> None:
    """Load the weights ``PATH.pt`` (:func:`read_torch_file`) into ``module``; ``ValueError``
    naming the file and what is wrong with it otherwise."""
    weights = checkpoint_file(path, ".pt")
    if not weights.is_file():
        raise ValueError(f"checkpoint weights {weights} not found (beside its .json)")
    state = read_torch_file(weights, "checkpoint weights", device)
    try:
        module.load_state_dict(state)
    except RuntimeError as error:
        raise ValueError(
            f"checkpoint weights {weights} do not fit the model its .json describes: {error}"
        ) from None


def check_seed(option: str, seed: int) -> None:
    """``ValueError`` naming ``option`` unless ``seed`` is in ``[0, 2**32 - 1]``: the range of
    NumPy's legacy seeding, which stable-baselines3 uses; one range for every command line."""
    if not 0 <= seed < 2**32:
        raise ValueError(f"{option} must be an integer in [0, 2**32 - 1], got {seed}")


def check_writable(option: str, path: str | Path, *, file: bool = False) -> None:
    """``ValueError`` naming ``option`` unless the folder ``path`` (with ``file``: the folder
    of the file ``path``) can receive files: it, or the nearest of its parents that exists,
    must be a folder that accepts a new file. Creates nothing."""
    folder = Path(path).absolute()
    folder = folder.parent if file else folder
    while not folder.exists():
        folder = folder.parent
    try:
        with tempfile.NamedTemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise ValueError(f"{option} {path}: cannot write in {folder} ({error.strerror})") from None


def device(text: str) -> torch.device:
    """The ``--device`` option's type: a torch device that this machine has."""
    try:
        chosen = torch.device(text)
    except RuntimeError as error:
        raise argparse.ArgumentTypeError(
            f"must be a torch device such as cpu or cuda:0 ({error})"
        ) from None
    if chosen.type == "cuda" and not torch.cuda.is_available():
        raise argparse.ArgumentTypeError(
            f"{text!r} requested but torch.cuda.is_available() is False"
        )
    return chosen


class CommandLine(argparse.ArgumentParser):
    """An argument parser with ``--debug`` whose errors are one line on stderr,
    ``error: MESSAGE (see PROG --help)``, with exit status 2 (module docstring).

    A value that starts with ``-`` and a digit is a value, never an option (no option here
    starts with a digit), so ``--shard -1/2`` or ``--learning-rate -1e-3`` reaches its
    check instead of argparse's "expected one argument".
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = re.compile(r"^-\d")  # argparse's "not an option" test
        self.add_argument(
            "--debug",
            action="store_true",
            default=argparse.SUPPRESS,  # given before or after a subcommand: set once
            help="on an error, show its traceback",
        )

    def parse_args(self, *args: Any, **kwargs: Any) -> argparse.Namespace:
        """The parsed namespace; ``debug`` is always set."""
        namespace = super().parse_args(*args, **kwargs)
        namespace.debug = getattr(namespace, "debug", False)
        return namespace

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def json_object(option: str, text: str) -> dict[str, Any]:
    """``text`` parsed as a JSON object; ``ValueError`` naming ``option`` otherwise."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{option} must be a JSON object, got {text!r} ({error})") from None
    if not isinstance(value, dict):
        raise ValueError(f"{option} must be a JSON object, got {text!r}")
    return value


def run_command(
    parser: CommandLine,
    body: Callable[[argparse.Namespace], None],
    argv: list[str] | None = None,
    interrupted: str = "interrupted",
) -> None:
    """Parse ``argv`` and run ``body(args)``: an error becomes one line and its exit status
    (:func:`fail`), Ctrl-C the line ``interrupted`` and status 130."""
    args = parser.parse_args(argv)
    try:
        body(args)
    except KeyboardInterrupt:
        print(interrupted, file=sys.stderr)
        raise SystemExit(130) from None
    except Exception as error:
        raise SystemExit(fail(error, args.debug)) from None


def fail(error: BaseException, debug: bool, status: int | None = None) -> int:
    """Report ``error`` in one line on stderr (after its traceback with ``debug``) and return
    the exit status: ``status`` if given, else 2 for bad input (:data:`BAD_INPUT`) and 1,
    with a hint to rerun with ``--debug``, for anything else."""
    if debug:
        traceback.print_exception(error)
    if isinstance(error, OSError) and error.filename is not None:
        message = f"{error.filename}: {error.strerror}"
    else:
        message = " ".join(str(error).split()) or type(error).__name__
    if status is None and not isinstance(error, BAD_INPUT):
        status = 1
        message = (
            f"{type(error).__name__}: {message} (unexpected; rerun with --debug for the traceback)"
        )
    print(f"error: {message}", file=sys.stderr)
    return 2 if status is None else status
