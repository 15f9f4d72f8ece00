"""The leaderboard's generalisation tables mark what each learned agent was trained on, from
what its units recorded (a report is a function of its results folder)."""

from types import SimpleNamespace

import agents
from benchmarks.leaderboard import generalisation
from benchmarks.runner import trained_sizes
from benchmarks.suites import SUITES


def entry(name: str, agent: str, utility: str, ratio: float, trained=None) -> SimpleNamespace:
    config = SUITES["standard"].configuration(name)
    row = {"agent": agent, "utility": utility, "ratio_to_reference": ratio, "status": "ok"}
    return SimpleNamespace(
        config=config, rows=[row], records=[{"agent": agent, "trained_on": trained}]
    )


def test_generalisation_marks_sizes_and_utilities_outside_training():
    trained = trained_sizes(agents.make("bert4beam"))
    assert ["sum_rate", 8, 8] in trained and ["sum_rate", 7, 8] not in trained
    label = "bert4beam(checkpoint='x')"  # a configured agent has its own table too
    results = [
        entry("sum_rate-rayleigh-K8-N8-10dB", label, "sum_rate", 0.97, trained),
        entry("sum_rate-rayleigh-K7-N8-10dB", label, "sum_rate", 0.98, trained),
        entry("proportional_fair-rayleigh-K4-N8-10dB", label, "proportional_fair", 0.9, trained),
        entry("sum_rate-rayleigh-K2to8-N8-10dB", label, "sum_rate", 0.99, trained),  # mixed K
        entry("sum_rate-rayleigh-K8-N8-10dB", "wmmse", "sum_rate", 1.0),  # not learned
    ]
    text = "\n".join(generalisation(results))
    assert f"### `{label}`" in text
    assert "| `sum_rate-rayleigh-K8-N8-10dB` | 8 | 8 | yes | 97.0 |" in text
    assert "| `sum_rate-rayleigh-K7-N8-10dB` | 7 | 8 | **no** | 98.0 |" in text
    assert "| `proportional_fair-rayleigh-K4-N8-10dB` | 4 | 8 | **no** | 90.0 |" in text
    assert "K2to8" not in text and "wmmse" not in text
    assert "### `ubert`" not in text  # no rows of it


def test_the_rl_training_section_reports_what_each_used_checkpoint_records(tmp_path):
    """The section is read from the units' records, which copy each checkpoint's metadata."""
    import json

    from benchmarks.cli import main

    suite = tmp_path / "rl.toml"
    suite.write_text(
        'name = "rl"\n[defaults]\nseeds = [1, 2]\nblocks = 2\n'
        "kwargs = {num_users = 4, num_antennas = 4, snr_db = 10.0}\n"
        '[[configurations]]\nname = "sum-rate"\nenv_id = "MISO-SumRate-v0"\n'
    )
    out = tmp_path / "out"
    args = ["run", "--suite", str(suite), "--out", str(out), "--no-progress", "--agents", "ppo"]
    assert main(args) == 0
    text = (out / "LEADERBOARD.md").read_text()
    meta = json.loads((agents.rl.CHECKPOINTS / "ppo-sum_rate-4x4.json").read_text())
    start = text.index("## How the RL baselines were trained")
    section = text[start : text.index("## Configurations")]
    row = next(line for line in section.splitlines() if "`ppo-sum_rate-4x4`" in line)
    assert f"{meta['steps']:,}" in row and f"lr {meta['hyperparameters']['learning_rate']}" in row
    assert "(../../agents/rl/checkpoints/ppo-sum_rate-4x4.md)" in row
    curve = meta.get("curve")  # the curve's last point, or a dash for a checkpoint without one
    assert row.endswith(f"| {curve[-1][1]:.4f} |" if curve else "| – |")
    assert "`wmmse`" not in section  # classical agents were not trained


def test_the_fair_comparison_reads_each_learned_card_and_averages_the_common_cells(tmp_path):
    """The section's cost columns are the checkpoint cards' numbers (the units copy them), and
    the score is the mean over the configurations every learned agent served; the seed
    against peer table sets the best seed model against the best peer."""
    import json

    from benchmarks.cli import main

    suite = tmp_path / "learned.toml"
    suite.write_text(
        'name = "learned"\n[defaults]\nseeds = [1, 2]\nblocks = 2\nenv_id = "MISO-SumRate-v0"\n'
        '[[configurations]]\nname = "k8"\nkwargs = {num_users = 8, num_antennas = 8, snr_db = 10.0}\n'
        '[[configurations]]\nname = "k9"\nkwargs = {num_users = 9, num_antennas = 8, snr_db = 10.0}\n'
    )
    out = tmp_path / "out"
    run = ["run", "--suite", str(suite), "--out", str(out), "--no-progress"]
    assert main([*run, "--agents", "bnn", "unfolded-wmmse", "bert4beam"]) == 0
    text = (out / "LEADERBOARD.md").read_text()
    section = text[text.index("## Learned models: a fair comparison") :]
    section = section[: section.index("## Configurations")]
    card = json.loads((agents.learned.CHECKPOINTS / "bnn-sum_rate-8x8.json").read_text())
    row = next(line for line in section.splitlines() if "`bnn-sum_rate-8x8`" in line)
    training = card["training"]
    samples = training["steps"] * training["batch_size"]
    assert f"| {card['parameters']:,} | {samples:,} ({training['steps']:,} x " in row
    assert f"| {card['wall_time_s'] / 60:.1f} min |" in row
    summary = json.loads((out / "summary.json").read_text())["rows"]
    k8 = {r["agent"]: r["ratio_to_reference"] for r in summary if r["config"] == "k8"}
    assert "every learned agent served (1;" in section  # the bnn of K = 8 does not serve K = 9
    assert f"| `bnn` | {100 * k8['bnn']:.1f} |" in section
    assert f"| `unfolded-wmmse` | {100 * k8['unfolded-wmmse']:.1f} |" in section
    means = {r["agent"]: r["mean"] for r in summary if r["config"] == "k8"}
    peer = max(("bnn", "unfolded-wmmse"), key=means.get)
    claim = text[text.index("## Do the seed models outperform the existing AI models?") :]
    row = next(line for line in claim.splitlines() if line.startswith("| `k8` |"))
    # the paired ratio's value is the ratio of the two means (the same episodes for both)
    assert row.startswith(
        f"| `k8` | `bert4beam` {100 * k8['bert4beam']:.1f} | `{peer}` {100 * k8[peer]:.1f} | "
        f"{100 * means['bert4beam'] / means[peer]:.1f} ("
    )
    low, high = map(float, row.split("(")[1].split(")")[0].split("-"))
    assert row.endswith("| > |" if low > 100 else "| < |" if high < 100 else "| ~ |")
