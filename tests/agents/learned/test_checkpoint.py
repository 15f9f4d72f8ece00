"""Learned checkpoints on disk: suffixes appended, and every broken or foreign file refused
with an error naming it."""

import pytest

import agents
from agents.learned import training
from agents.learned.checkpoint import TrainingConfig, load
from agents.rl import CHECKPOINTS as RL_CHECKPOINTS

TINY = {"num_antennas": 3, "hidden": 8, "heads": 2, "layers": 1, "feedforward": 16}


def tiny(out, seed: int = 0, **changes) -> None:
    config = TrainingConfig(model_config=TINY, draw={"users": (2,)}, steps=0, seed=seed, **changes)
    training.train(config, out, progress=False)


def test_suffixes_are_appended_never_substituted(tmp_path):
    tiny(tmp_path / "exp.lr1", seed=1)
    tiny(tmp_path / "exp.lr2", seed=2)
    assert {p.name for p in tmp_path.iterdir()} >= {
        "exp.lr1.pt",
        "exp.lr1.json",
        "exp.lr1.train.pt",
        "exp.lr2.pt",
        "exp.lr2.json",
        "exp.lr2.train.pt",
    }
    assert [load(tmp_path / name)[1]["training"]["seed"] for name in ("exp.lr1", "exp.lr2")] == [
        1,
        2,
    ]


@pytest.mark.parametrize("content", [b"", b"\x00\x01garbage", b"{not json"])
def test_broken_files_are_errors_naming_the_checkpoint(tmp_path, content):
    out = tmp_path / "model"
    tiny(out)
    (tmp_path / "model.pt").write_bytes(content)
    with pytest.raises(ValueError, match="model"):
        load(out)
    (tmp_path / "model.json").write_bytes(content)
    with pytest.raises(ValueError, match="model.json"):
        load(out)


def test_foreign_checkpoints_are_refused(tmp_path):
    rl_checkpoint = sorted(RL_CHECKPOINTS.glob("*.json"))[0].with_suffix("")
    with pytest.raises(ValueError, match="not a learned checkpoint's card"):
        load(rl_checkpoint)
    with pytest.raises(ValueError, match="must have .*json beside its .pt"):
        load(tmp_path / "absent")
    tiny(tmp_path / "bert")
    with pytest.raises(ValueError, match="holds a bert4beam, not a ubert"):
        agents.make("ubert", checkpoint=str(tmp_path / "bert"))
