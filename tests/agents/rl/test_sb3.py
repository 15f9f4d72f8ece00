"""RL baselines: checkpoints round-trip safely, the agents pick the right one, the CLI works."""

import json
import sys

import numpy as np
import pytest
import torch

import agents
from agents import rl
from agents.rl.__main__ import main
from beamgym.downlink import transmit_power

SUM_RATE_4X4 = {"num_users": 4, "num_antennas": 4, "snr_db": [0, 20]}


def untrained(algorithm: str, directory, env_id: str = "MISO-SumRate-v0", **env_kwargs):
    """Save an untrained model of ``algorithm`` as a checkpoint; return its path."""
    checkpoint = rl.Checkpoint(
        algorithm, env_id, env_kwargs, rl.HYPERPARAMETERS[algorithm], steps=0, seed=0
    )
    path = directory / f"{algorithm}-{env_id}"
    rl.save(rl.build_model(checkpoint), checkpoint, path)
    return path


@pytest.mark.parametrize("algorithm", sorted(rl.HYPERPARAMETERS))
def test_checkpoint_round_trip_gives_the_same_actions(algorithm, tmp_path, rng):
    path = untrained(algorithm, tmp_path, **SUM_RATE_4X4)
    model, checkpoint = rl.load(path)
    saved = torch.load(path.with_suffix(".pt"), weights_only=True)
    for key, value in model.policy.state_dict().items():
        torch.testing.assert_close(value, saved[key])
    obs = rng.standard_normal((5, model.observation_space.shape[0])).astype(np.float32)
    reloaded, _ = rl.load(path)
    np.testing.assert_array_equal(
        model.predict(obs, deterministic=True)[0], reloaded.predict(obs, deterministic=True)[0]
    )
    assert checkpoint.env_kwargs == SUM_RATE_4X4


def test_missing_metadata_and_unknown_algorithm_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="beside its .pt"):
        rl.load(tmp_path / "nothing")
    with pytest.raises(ValueError, match="algorithm must be one of"):
        rl.build_model(rl.Checkpoint("dqn", "MISO-SumRate-v0", {}, {}, steps=0, seed=0))


def test_agent_picks_the_narrowest_checkpoint_and_rejects_what_none_serves(tmp_path):
    wide = untrained("ppo", tmp_path, "MISO-MultiTask-v0", num_users=[2, 4], num_antennas=4)
    exact = untrained("ppo", tmp_path, "MISO-MinRate-v0", num_users=4, num_antennas=4)
    ppo = agents.make("ppo", checkpoint=str(wide))
    assert ppo.supports("sum_rate", 3, 4) and not ppo.supports("sum_rate", 5, 4)
    assert ppo.supports("min_rate", 4, 4) and not ppo.supports("min_rate", 4, 5)
    folder = agents.make("ppo", checkpoint=str(tmp_path))
    assert folder._match("min_rate", 4, 4) == exact and folder._match("sum_rate", 4, 4) == wide
    H = torch.randn(2, 5, 4, dtype=torch.complex128)
    with pytest.raises(ValueError, match="no ppo checkpoint serves utility='sum_rate' at K=5"):
        folder.solve(H, power=10.0)


def test_agent_solves_like_any_solver(tmp_path, torch_rng):
    path = untrained("sac", tmp_path, **SUM_RATE_4X4)
    H = torch.randn(3, 4, 4, dtype=torch.complex128, generator=torch_rng)
    sac = agents.make("sac", checkpoint=str(path))
    assert sum(p.numel() for p in sac.parameters()) == 0  # nothing loaded before a problem
    W = sac.solve(H, power=10.0)
    assert W.shape == (3, 4, 4) and W.dtype == torch.complex128
    model, _ = rl.load(path)
    assert sum(p.numel() for p in sac.parameters()) == sum(
        p.numel() for p in model.policy.parameters()
    )
    torch.testing.assert_close(transmit_power(W), torch.full((3,), 10.0, dtype=torch.float64))


def train_args(env_kwargs: str, steps: int, out) -> list[str]:
    return ["train", "ppo", "--env", "MISO-SumRate-v0", "--env-kwargs", env_kwargs] + [
        "--steps",
        str(steps),
        "--out",
        str(out),
    ]


@pytest.mark.slow
def test_cli_trains_and_records_its_command(tmp_path):
    out = tmp_path / "ppo-tiny"
    main(train_args(json.dumps({"num_users": 2, "num_antennas": 2}), 20, out))
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["command"].startswith("python -m agents.rl train ppo --env MISO-SumRate-v0")
    rollout = rl.NUM_ENVS["ppo"] * rl.HYPERPARAMETERS["ppo"]["n_steps"]
    assert meta["steps"] == rollout and meta["wall_time_s"] > 0  # the steps taken: one rollout
    assert meta["n_envs"] == rl.NUM_ENVS["ppo"] and [s for s, _ in meta["curve"]] == [rollout]
    model, checkpoint = rl.load(out)
    assert rl.evaluate(model, checkpoint) == pytest.approx(meta["evaluation"]["mean_reward"])
    assert rl.validate(model, checkpoint) == pytest.approx(meta["curve"][-1][1])


def test_a_resumed_run_continues_its_steps_and_its_learning_curve(tmp_path):
    """The resume state restores weights, optimiser and step count: a second call with more
    steps continues the curve; another configuration cannot resume from it."""
    out, kwargs = tmp_path / "sac-tiny", {"num_users": 2, "num_antennas": 2}
    small = {**rl.HYPERPARAMETERS["sac"], "learning_starts": 64, "batch_size": 64}
    first = rl.train(
        "sac",
        "MISO-SumRate-v0",
        kwargs,
        128,
        out,
        hyperparameters=small,
        curve_points=2,
        progress=False,
    )
    assert [s for s, _ in first.curve] == [64, 128]
    more = rl.train(
        "sac",
        "MISO-SumRate-v0",
        kwargs,
        256,
        out,
        hyperparameters=small,
        curve_points=4,
        resume=True,
        progress=False,
    )
    assert more.curve[:2] == first.curve and [s for s, _ in more.curve[2:]] == [192, 256]
    assert more.steps == 256 and more.wall_time_s >= first.wall_time_s
    with pytest.raises(ValueError, match="another configuration"):
        rl.train(
            "sac",
            "MISO-SumRate-v0",
            kwargs,
            512,
            out,
            seed=1,
            hyperparameters=small,
            resume=True,
            progress=False,
        )


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--steps", "-5"], "steps must be an integer >= 1"),
        (["--env", "evilmod:MISO-SumRate-v0"], "env_id must be an id beamgym registers"),
    ],
)
def test_cli_refuses_bad_runs_before_writing_anything(tmp_path, capsys, arguments, message):
    out = tmp_path / "x"
    command = train_args("{}", 10, out)
    for flag, value in zip(arguments[::2], arguments[1::2], strict=True):
        command[command.index(flag) + 1] = value
    with pytest.raises(SystemExit) as exit_:
        main(command)
    assert exit_.value.code == 2 and message in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_cli_rejects_bad_env_kwargs(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(train_args("[1]", 1, tmp_path / "x"))
    assert "--env-kwargs must be a JSON object" in capsys.readouterr().err


@pytest.mark.parametrize("path", sorted(rl.CHECKPOINTS.glob("*.json")), ids=lambda p: p.stem)
def test_shipped_checkpoint_reproduces_its_recorded_evaluation(path):
    model, checkpoint = rl.load(path.with_suffix(""))
    assert rl.evaluate(model, checkpoint) == pytest.approx(
        checkpoint.evaluation["mean_reward"], rel=1e-4
    )


def test_checkpoint_metadata_never_chooses_code(tmp_path, monkeypatch):
    """An ``env_id`` naming a module (``gym.make`` imports what stands before a ``:``) is
    refused before anything is made, by every path that reads a checkpoint."""
    (tmp_path / "evilmod.py").write_text("import sys\nsys.modules[__name__].ran = True\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    path = untrained("ppo", tmp_path, **SUM_RATE_4X4)
    meta = json.loads((tmp_path / f"{path.name}.json").read_text())
    (tmp_path / f"{path.name}.json").write_text(
        json.dumps(meta | {"env_id": "evilmod:MISO-SumRate-v0"})
    )
    for load in (rl.load, lambda p: agents.make("ppo", checkpoint=str(p))):
        with pytest.raises(ValueError, match="env_id must be an id beamgym registers"):
            load(path)
    assert "evilmod" not in sys.modules
    with pytest.raises(ValueError, match="env_id"):
        rl.Checkpoint("ppo", "evilmod:X-v0", {}, {}, steps=1, seed=0)


def test_suffixes_are_appended_never_substituted(tmp_path, rng):
    """``runs/exp.lr1`` and ``runs/exp.lr2`` are two checkpoints, each loading its own."""
    for name, seed in (("exp.lr1", 1), ("exp.lr2", 2)):
        checkpoint = rl.Checkpoint(
            "ppo", "MISO-SumRate-v0", SUM_RATE_4X4, rl.HYPERPARAMETERS["ppo"], steps=1, seed=seed
        )
        rl.save(rl.build_model(checkpoint), checkpoint, tmp_path / name)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "exp.lr1.json",
        "exp.lr1.pt",
        "exp.lr2.json",
        "exp.lr2.pt",
    ]
    assert [rl.load(tmp_path / name)[1].seed for name in ("exp.lr1", "exp.lr2")] == [1, 2]


def test_an_agent_refuses_another_algorithms_or_actions_checkpoint(tmp_path):
    sac = untrained("sac", tmp_path, **SUM_RATE_4X4)
    with pytest.raises(ValueError, match="holds a sac policy .* not ppo"):
        agents.make("ppo", checkpoint=str(sac))
    structured = untrained("ppo", tmp_path / "s", **SUM_RATE_4X4, action="structure")
    with pytest.raises(ValueError, match="holds a ppo-structure policy .* not ppo$"):
        agents.make("ppo", checkpoint=str(structured))
    assert agents.make("ppo-structure", checkpoint=str(structured)).supports("sum_rate", 4, 4)


def test_a_folder_serves_each_agent_its_own_actions_checkpoints(tmp_path, torch_rng):
    """``ppo`` and ``ppo-structure`` pick from one folder by the action each was trained with."""
    untrained("ppo", tmp_path, **SUM_RATE_4X4)
    structured = untrained("ppo", tmp_path / "sub", **SUM_RATE_4X4, action="structure")
    structured.with_suffix(".json").rename(tmp_path / "ppo-structure-x.json")
    structured.with_suffix(".pt").rename(tmp_path / "ppo-structure-x.pt")
    H = torch.randn(3, 4, 4, dtype=torch.complex128, generator=torch_rng)
    for name in ("ppo", "ppo-structure"):
        W = agents.make(name, checkpoint=str(tmp_path)).solve(H, 10.0)
        assert torch.allclose(transmit_power(W), torch.full((3,), 10.0, dtype=torch.float64))
    assert not agents.make("sac-structure", checkpoint=str(tmp_path)).supports("sum_rate", 4, 4)


@pytest.mark.parametrize("content", [b"", b"\x00\x01garbage", b"{not json"])
def test_broken_checkpoint_files_are_errors_naming_the_file(tmp_path, content):
    path = untrained("ppo", tmp_path, **SUM_RATE_4X4)
    (tmp_path / f"{path.name}.pt").write_bytes(content)
    with pytest.raises(ValueError, match=path.name):
        rl.load(path)
    (tmp_path / f"{path.name}.json").write_bytes(content)
    with pytest.raises(ValueError, match=f"{path.name}.json"):
        rl.load(path)


def test_cli_trains_with_a_search_records_best_settings_and_keeps_the_record(tmp_path, capsys):
    record = {
        "algorithm": "ppo",
        "best": {"n_epochs": 1},
        "best_hyperparameters": {**rl.HYPERPARAMETERS["ppo"], "n_epochs": 1},
        "trials": [{"params": {"n_epochs": 1}, "validation_reward": 1.0}],
    }
    (tmp_path / "search.json").write_text(json.dumps(record))
    out = tmp_path / "ppo-searched"
    env_kwargs = json.dumps({"num_users": 2, "num_antennas": 2})
    main([*train_args(env_kwargs, 20, out), "--search", str(tmp_path / "search.json")])
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["search"] == record and meta["hyperparameters"]["n_epochs"] == 1
    record["algorithm"] = "sac"
    (tmp_path / "search.json").write_text(json.dumps(record))
    with pytest.raises(SystemExit):
        main(
            [*train_args(env_kwargs, 20, tmp_path / "x"), "--search", str(tmp_path / "search.json")]
        )
    assert "is not a search record of ppo" in capsys.readouterr().err


def test_a_zero_structure_action_scores_rzf_on_the_validation_set(tmp_path):
    """Two computations of one number: a policy whose mean action is zero (equal powers and
    dual weights, the structure map's RZF point) through the structured environment, and the
    ``rzf`` solver through the beamformer action, on the same validation channels."""
    kwargs = {"num_users": 3, "num_antennas": 4, "snr_db": [0, 20], "action": "structure"}
    single_env = {**rl.HYPERPARAMETERS["ppo"], "batch_size": 16}  # one copy: 16-step rollouts
    checkpoint = rl.Checkpoint("ppo", "MISO-SumRate-v0", kwargs, single_env, 0, 0)
    model = rl.build_model(checkpoint)
    torch.nn.init.zeros_(model.policy.action_net.weight)
    torch.nn.init.zeros_(model.policy.action_net.bias)
    policy = rl.validate(model, checkpoint)
    assert policy == pytest.approx(rl.validate_solver(agents.make("rzf"), checkpoint), rel=1e-6)
    assert policy < rl.validate_solver(agents.make("wmmse"), checkpoint)


def test_train_shipped_knows_every_shipped_run_and_puts_other_seeds_aside():
    """Each SHIPPED entry is a well-formed run of a registered agent (its name says its
    algorithm and action, its settings come from that pair's search when one is recorded);
    another seed goes to ``seeds/`` and says so in its command."""
    from agents.rl.__main__ import SEEDS, SHIPPED, _jobs, _parser, search_record
    from beamgym.registration import ENV_IDS

    for name, (algorithm, env_id, kwargs, steps) in SHIPPED.items():
        users = kwargs["num_users"]
        size = f"{users[0]}to{users[1]}" if isinstance(users, list) else str(users)
        utility = ENV_IDS[env_id]["utility"]
        agent = rl.agent_name(algorithm, kwargs.get("action", "beamformer"))
        assert name == f"{agent}-{utility}-{size}x{kwargs['num_antennas']}"
        assert agent in agents.available()
        assert steps >= (10_000_000 if algorithm == "ppo" else 1_000_000)
    record = search_record("ppo", "structure")
    assert record["algorithm"] == "ppo" and record["env_kwargs"]["action"] == "structure"
    args = _parser().parse_args(["train-shipped", "--only", "ppo-sum_rate-4x4", "--seed", "3"])
    [(algorithm, _, _, _, out, seed, command, _)] = _jobs(args, [])
    assert (algorithm, out, seed) == ("ppo", SEEDS / "ppo-sum_rate-4x4-seed3", 3)
    assert command == "python -m agents.rl train-shipped --only ppo-sum_rate-4x4 --seed 3"
