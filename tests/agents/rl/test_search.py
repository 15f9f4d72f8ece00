"""The recorded hyper-parameter search of the RL baselines."""

import json

import pytest

from agents.rl import HYPERPARAMETERS
from agents.rl.search import SPACES, hyperparameters, main

pytest.importorskip("optuna")


def test_a_search_records_every_trial_and_its_best_settings(tmp_path, capsys):
    out = tmp_path / "search.json"
    env_kwargs = '{"num_users": 2, "num_antennas": 2, "action": "power"}'
    main(
        ["ppo", "--env", "MISO-SumRate-v0", "--env-kwargs", env_kwargs, "--trials", "2"]
        + ["--steps", "4096", "--out", str(out)]
    )
    record = json.loads(out.read_text())
    assert len(record["trials"]) == 2 and record["command"].startswith("python -m agents.rl.search")
    best = max(record["trials"], key=lambda t: t["validation_reward"])
    assert record["best"] == best["params"]
    assert record["best_hyperparameters"] == hyperparameters("ppo", best["params"])
    assert f"wrote {out}" in capsys.readouterr().out


def test_sampled_settings_override_the_defaults_and_set_both_hidden_layers():
    chosen = hyperparameters("td3", {"learning_rate": 1e-4, "width": 64})
    assert chosen["learning_rate"] == 1e-4 and chosen["policy_kwargs"] == {"net_arch": [64, 64]}
    assert chosen["gamma"] == HYPERPARAMETERS["td3"]["gamma"]
    assert set(SPACES) == set(HYPERPARAMETERS)


def test_bad_input_is_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(
            ["ppo", "--env", "MISO-SumRate-v0", "--env-kwargs", "[1]", "--steps", "10"]
            + ["--out", str(tmp_path / "x.json")]
        )
    assert exit_.value.code == 2
    assert capsys.readouterr().err.count("\n") == 1
