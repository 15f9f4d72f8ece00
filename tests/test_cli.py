"""Every command line answers bad input with one line and exit status 2.

Each CLI's ``main(argv)`` is called in-process on a table of bad inputs: the exit status is 2,
stderr is exactly one line ``error: ...`` naming the option and its value, and no traceback
is printed. argparse's own errors count: :class:`agents.storage.CommandLine` makes them one
line too (``error: MESSAGE (see PROG --help)``, without argparse's usage block), since the
issue asks for one line and the usage is what ``--help`` prints. ``--debug`` adds the
traceback; an unexpected error is one line with a hint to rerun with it and exit status 1. A
subprocess proves the real exit status once.

The same table idea covers broken and foreign checkpoint files through ``agents.make``, and
shipped checkpoints resolved by name from another directory.
"""

import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch

import agents
import benchmarks.cli
from agents.adapters import PolicySolver
from agents.learned import CHECKPOINTS as LEARNED
from agents.learned import training
from agents.learned.checkpoint import TrainingConfig, read_card
from agents.rl import CHECKPOINTS as RL
from agents.rl.__main__ import main as rl_main

ROOT = Path(__file__).parent.parent


def _script(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def _training(argv: list[str]) -> None:
    training.main(["--steps", "0", *argv])  # a case that slipped through would not train


MAINS = {
    "benchmarks": benchmarks.cli.main,
    "rl": rl_main,
    "training": _training,
    "solver_benchmark": _script("solver_benchmark"),
    "throughput": _script("throughput"),
}

SALLO = str(LEARNED / "sallo-m")
RUN = ["run", "--suite", "smoke", "--out", "{tmp}/o"]
TRAIN = ["train", "ppo", "--env", "MISO-SumRate-v0", "--steps", "1", "--out", "{tmp}/x"]

CASES = [  # (CLI, argv, what the line must contain); {tmp}: the fixture's folder, {file}: a file
    ("benchmarks", [], ["required: command"]),
    ("benchmarks", ["bogus"], ["invalid choice: 'bogus'"]),
    ("benchmarks", ["run", "--suite", "smok", "--out", "{tmp}/o"], ["suite must be", "'smok'"]),
    ("benchmarks", [*RUN[:-1], "{file}/o"], ["--out", "Not a directory"]),
    ("benchmarks", [*RUN, "--shard", "-1/2"], ["--shard", "'-1/2'", "1 <= I <= N"]),
    ("benchmarks", [*RUN, "--shard", "1/0"], ["--shard", "'1/0'"]),
    ("benchmarks", [*RUN, "--shard", "1/2/3"], ["--shard", "'1/2/3'"]),
    ("benchmarks", [*RUN, "--shard", "x"], ["--shard", "'x'"]),
    ("benchmarks", [*RUN, "--threads", "0"], ["--threads", ">= 1, got 0"]),
    ("benchmarks", [*RUN, "--device", "foo"], ["--device", "foo"]),
    ("benchmarks", [*RUN, "--agents", "wmmse(x=)"], ["agent spec must be", "wmmse(x=)"]),
    ("benchmarks", ["report", "{tmp}/none"], ["none", "not a results folder"]),
    ("benchmarks", ["merge", "--out", "{tmp}/m", "{tmp}/none"], ["none", "not a results folder"]),
    ("benchmarks", ["card", SALLO, "--antennas", "0"], ["--antennas", ">= 1, got 0"]),
    ("benchmarks", ["card", SALLO, "--users", "-1"], ["--users", ">= 1, got -1"]),
    ("benchmarks", ["card", SALLO, "--snr-db", "500"], ["--snr-db", "500"]),
    ("benchmarks", ["card", SALLO, "--max-load", "0"], ["--max-load", "0"]),
    ("benchmarks", ["card", SALLO, "--out", "{file}/o"], ["--out", "Not a directory"]),
    (
        "benchmarks",
        ["card", "sallo-x"],
        ["sallo-x.json", "not found", str(LEARNED / "sallo-x.json")],
    ),
    (
        "benchmarks",
        ["card", "{tmp}/random", "--out", "{tmp}/c"],
        ["random.pt", "not a weights-only"],
    ),
    ("rl", [*TRAIN[:5], "-5", *TRAIN[6:]], ["--steps", ">= 1, got -5"]),
    ("rl", [*TRAIN, "--seed", str(2**64)], ["--seed", str(2**64), "[0, 2**32 - 1]"]),
    ("rl", [*TRAIN, "--seed", "-1"], ["--seed", "got -1"]),
    ("rl", [*TRAIN, "--env-kwargs", "{bad"], ["--env-kwargs", "'{bad'", "JSON object"]),
    ("rl", [*TRAIN, "--env-kwargs", "[1]"], ["--env-kwargs", "'[1]'", "JSON object"]),
    ("rl", [*TRAIN, "--env-kwargs", '{"num_user": 2}'], ["'num_user'", "did you mean 'num_users'"]),
    ("rl", [*TRAIN, "--env-kwargs", '{"num_antennas": 0}'], ["num_antennas", "got 0"]),
    ("rl", [*TRAIN[:3], "MISO-SumRat-v0", *TRAIN[4:]], ["env_id", "'MISO-SumRat-v0'"]),
    ("rl", [*TRAIN[:-1], "{file}/x"], ["--out", "Not a directory"]),
    ("rl", [*TRAIN, "--device", "foo"], ["--device", "foo"]),
    ("rl", ["train", "dqn", *TRAIN[2:]], ["invalid choice: 'dqn'"]),
    ("rl", ["train-shipped", "--only", "ppo-nope"], ["--only", "'ppo-nope'"]),
    ("training", ["--out", "{tmp}/x", "--num-antennas", "0"], ["num_antennas", ">= 1, got 0"]),
    ("training", ["--out", "{tmp}/x", "--users", "3", "0"], ["users", "(3, 0)"]),
    ("training", ["--out", "{tmp}/x", "--seed", str(2**64)], ["--seed", str(2**64)]),
    ("training", ["--out", "{tmp}/x", "--steps", "-1"], ["--steps", ">= 0, got -1"]),
    ("training", ["--out", "{tmp}/x", "--batch-size", "0"], ["--batch-size", "got 0"]),
    ("training", ["--out", "{tmp}/x", "--learning-rate", "-1e-3"], ["--learning-rate", "-0.001"]),
    ("training", ["--out", "{tmp}/x", "--checkpoint-every", "0"], ["--checkpoint-every", "got 0"]),
    ("training", ["--out", "{tmp}/x", "--threads", "0"], ["--threads", "got 0"]),
    ("training", ["--out", "{tmp}/x", "--device", "foo"], ["--device", "foo"]),
    ("training", ["--out", "{tmp}/x", "--model", "nope"], ["--model", "'nope'"]),
    ("training", ["--out", "{file}/x"], ["--out", "Not a directory"]),
    (
        "training",
        ["--out", "{tmp}/x", "--init-from", "sallo-x"],
        ["--init-from", "sallo-x.json", "not found"],
    ),
    ("training", ["--out", "{tmp}/x", "--init-from", "{tmp}/random"], ["--init-from", "random.pt"]),
    (
        "training",
        ["--out", "{tmp}/x", "--model", "ubert", "--init-from", "{tmp}/bert"],
        ["holds a bert4beam, not a ubert"],
    ),
    ("training", ["--out", "{tmp}/stale", "--resume"], ["resume state", "stale.train.pt"]),
    ("solver_benchmark", ["--sizes", "0"], ["--sizes", "got 0"]),
    ("solver_benchmark", ["--batch", "0"], ["--batch", "got 0"]),
    ("solver_benchmark", ["--snr-db", "1000"], ["--snr-db", "1000"]),
    ("solver_benchmark", ["--threads", "0"], ["--threads", "got 0"]),
    ("solver_benchmark", ["--rows", "wmse"], ["--rows", "'wmse'"]),
    ("throughput", ["--env-id", "MISO-Nope-v0"], ["--env-id", "'MISO-Nope-v0'"]),
    ("throughput", ["--num-antennas", "0"], ["num_antennas", "got 0"]),
    ("throughput", ["--num-envs", "0"], ["--num-envs", "got 0"]),
    ("throughput", ["--single-steps", "-1"], ["--single-steps", "got -1"]),
    ("throughput", ["--seconds", "0"], ["--seconds", "0"]),
]


def tiny(out: Path) -> Path:
    """An untrained BERT4beam checkpoint (N = 3) at ``out``."""
    model_config = {"num_antennas": 3, "hidden": 8, "heads": 2, "layers": 1, "feedforward": 16}
    config = TrainingConfig(model_config=model_config, draw={"users": (2,)}, steps=0)
    training.train(config, out, progress=False)
    return out


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """``bert``: a learned checkpoint; ``random``: one whose weights are random bytes;
    ``stale``: a resume state of random bytes; ``file``: a file."""
    path = tmp_path_factory.mktemp("cli")
    tiny(path / "bert")
    tiny(path / "random")
    (path / "random.pt").write_bytes(bytes(range(256)) * 8)
    (path / "stale.train.pt").write_bytes(bytes(range(256)) * 8)
    (path / "file").write_text("not a folder")
    return path


def call(cli: str, argv: list[str], capsys) -> tuple[int, str, str]:
    """Run a CLI in-process: its exit status, stdout and stderr."""
    try:
        status = MAINS[cli](argv)
    except SystemExit as exit_:
        status = exit_.code
    out, err = capsys.readouterr()
    return status or 0, out, err


@pytest.mark.parametrize(
    "cli, argv, expected", CASES, ids=lambda v: " ".join(v) if isinstance(v, list) else v
)
def test_bad_input_is_one_line_and_status_2(folder, cli, argv, expected, capsys):
    argv = [a.replace("{tmp}", str(folder)).replace("{file}", str(folder / "file")) for a in argv]
    status, out, err = call(cli, argv, capsys)
    lines = err.splitlines()
    assert status == 2, err
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for part in expected:
        assert part in lines[0], (part, lines[0])
    assert "Traceback" not in out + err
    assert not {"o", "c", "x.json", "m"} & {path.name for path in folder.iterdir()}


def test_debug_shows_the_traceback(folder, capsys):
    argv = ["run", "--suite", "smoke", "--out", str(folder / "file" / "o"), "--debug"]
    status, _, err = call("benchmarks", argv, capsys)
    assert status == 2 and err.startswith("Traceback") and "check_writable" in err
    assert err.splitlines()[-1].startswith("error: --out ")


def test_an_unexpected_error_is_one_line_with_a_hint(monkeypatch, capsys):
    def broken() -> None:
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(benchmarks.cli, "_list", broken)
    status, _, err = call("benchmarks", ["list"], capsys)
    assert status == 1
    assert (
        err
        == "error: ZeroDivisionError: division by zero (unexpected; rerun with --debug for the traceback)\n"
    )


def test_the_exit_status_of_a_real_process(tmp_path):
    command = [sys.executable, "-m", "benchmarks", "run", "--suite", "nope", "--out", "o"]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.startswith("error: suite must be one of") and done.stderr.count("\n") == 1


def test_shipped_checkpoints_resolve_by_name_from_any_directory(tmp_path, monkeypatch, capsys):
    """A relative path is looked up from the current directory, then among the shipped
    checkpoints; the training CLI ends with a line naming the files it wrote."""
    monkeypatch.chdir(tmp_path)
    assert agents.make("sallo-m", checkpoint="sallo-m-base").card == read_card(
        LEARNED / "sallo-m-base"
    )
    assert agents.make("ppo", checkpoint="ppo-sum_rate-4x4").supports("sum_rate", 4, 4)
    tiny(tmp_path / "bert4beam-sum_rate-N8")  # the current directory comes first
    assert read_card("bert4beam-sum_rate-N8")["training"]["model_config"]["hidden"] == 8
    _training(["--init-from", "ablations/sallo-m-no-lifting", "--out", "tuned"])
    assert capsys.readouterr().out.splitlines()[-1] == (
        "wrote tuned.pt and tuned.json; the resume state is tuned.train.pt"
    )
    assert read_card("tuned")["training"]["init_from"] == "ablations/sallo-m-no-lifting"


BROKEN = [  # (file, how it is broken, what the error says)
    (".pt", lambda data: data[: len(data) // 2], "is corrupt or truncated"),
    (".pt", lambda data: b"", "is an empty file"),
    (".pt", lambda data: bytes(range(256)) * 8, "is not a weights-only PyTorch file"),
    (".pt", None, "not found"),
    (".json", lambda data: data[: len(data) // 2], "is not valid JSON"),
    (".json", lambda data: b"", "is not valid JSON"),
    (".json", lambda data: b"[1]", "must be a JSON object"),
]


@pytest.mark.parametrize("agent", ["bert4beam", "ppo"])
@pytest.mark.parametrize("suffix, damage, message", BROKEN)
def test_broken_checkpoint_files_are_errors_naming_the_file(
    tmp_path, agent, suffix, damage, message
):
    """Through ``agents.make`` and the first solve (an RL agent loads its policy then)."""
    if agent == "ppo":
        for kind in (".pt", ".json"):
            shutil.copy(RL / f"ppo-sum_rate-4x4{kind}", tmp_path / f"model{kind}")
    else:
        tiny(tmp_path / "model")
    broken = tmp_path / f"model{suffix}"
    if damage is None:
        broken.unlink()
    else:
        broken.write_bytes(damage(broken.read_bytes()))
    H = torch.randn(1, 4, 4, dtype=torch.complex64) if agent == "ppo" else torch.randn(1, 2, 3)
    with pytest.raises(ValueError) as error:
        agents.make(agent, checkpoint=str(tmp_path / "model")).solve(H.to(torch.complex64), 10.0)
    assert str(broken) in str(error.value) and message in str(error.value)


@pytest.mark.parametrize(
    "agent, checkpoint, message",
    [
        ("ppo", RL / "sac-sum_rate-4x8", "holds a sac policy (algorithm sac"),
        ("ppo", LEARNED / "ubert", "ubert.json is not an RL checkpoint's metadata"),
        ("ubert", LEARNED / "bert4beam-sum_rate-N8", "holds a bert4beam, not a ubert"),
        (
            "ubert",
            RL / "ppo-sum_rate-4x4",
            "ppo-sum_rate-4x4.json is not a learned checkpoint's card",
        ),
        (
            "sallo-m",
            "sallo-x",
            f"not found: {Path.cwd() / 'sallo-x.json'} nor {LEARNED / 'sallo-x.json'}",
        ),
    ],
)
def test_foreign_or_absent_checkpoints_are_refused(agent, checkpoint, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        agents.make(agent, checkpoint=str(checkpoint))


def test_a_wrapped_policy_names_itself_in_errors():
    class NaNPolicy:
        def predict(self, obs, deterministic=True):
            return np.full((len(obs), 8), np.nan, dtype=np.float32), None

    env = gym.make("MISO-SumRate-v0", num_users=2, num_antennas=2)
    with pytest.raises(RuntimeError, match="solver 'mine' produced a non-finite beamformer"):
        PolicySolver(NaNPolicy(), env, name="mine").solve(
            torch.randn(1, 2, 2, dtype=torch.complex64), power=10.0
        )
