"""Every environment id, single and vector, through a table of bad keywords: each is refused
with a ``ValueError`` that names the parameter (never a TypeError from inside Python, NumPy or
torch, never accepted)."""

import math

import gymnasium as gym
import numpy as np
import pytest

import beamgym
from beamgym.downlink import MAX_CHANNEL_ENTRY

NAN, INF = math.nan, math.inf

BAD = [  # (the parameter the message must name, keywords)
    *[("num_users", {"num_users": v}) for v in (0, -1, 2.5, True, "4", (5, 2), [1, 2, 3])],
    *[("num_antennas", {"num_antennas": v}) for v in (0, 2.5, False, "8", (9, 3))],
    *[("snr_db", {"snr_db": v}) for v in (True, "10", NAN, INF, (20.0, 0.0), None)],
    *[("noise_power", {"noise_power": v}) for v in (True, 0, -1.0, NAN, INF, "1", None)],
    *[("channel", {"channel": v}) for v in ("nope", ["rayleigh"], 3, None)],
    *[("utility", {"utility": v}) for v in (None, 5, "nope", ["sum_rate"] * 2, [["sum_rate"]])],
    *[("user_weights", {"num_users": 4, "user_weights": v}) for v in (True, "nope", [1.0] * 3)],
    *[("user_weights", {"num_users": 4, "user_weights": [v] * 4}) for v in (-1.0, NAN, True)],
    *[("amplifier_efficiency", {"amplifier_efficiency": v}) for v in (0, 2.0, True, NAN)],
    *[("circuit_power", {"circuit_power": v}) for v in (0, -1.0, INF)],
    *[
        ("block_duration_s", {"doppler_hz": 10.0, "block_duration_s": v})
        for v in (-1.0, 0, "x", True)
    ],
    *[("block_duration_s", {"block_duration_s": v}) for v in (-1.0, "x")],
    *[("time_correlation", {"time_correlation": v}) for v in (1.5, -0.1, NAN)],
    ("time_correlation", {"time_correlation": 0.3, "doppler_hz": 5.0}),
    ("time_correlation", {"time_correlation": 0.3, "channel_params": {"time_correlation": 0.5}}),
    ("channel_params", {"channel_params": [("time_correlation", 0.5)]}),
    # values that passed validation and made NaN or inf, or hung: bounded now
    *[("snr_db", {"snr_db": v}) for v in (1e4, 390.0, -200.0, (0.0, 101.0))],
    *[("noise_power", {"noise_power": v}) for v in (1e308, 1e-46, 1e39)],
    ("user_weights", {"num_users": 4, "user_weights": [1e39] * 4}),
    ("csi_nmse", {"csi_nmse": 1e80}),
    ("csi_delay", {"csi_delay": 10**6}),
    ("clusters", {"channel": "sparse", "channel_params": {"clusters": 10**9}}),
    ("rays", {"channel": "sparse", "channel_params": {"rays": 33}}),
    *[(name, {name: 10**5}) for name in ("num_users", "num_antennas")],
    *[("action", {"action": v}) for v in ("structured", 5, None, ["power"])],
    ("num_users", {"num_user": 4}),  # a typo: the message suggests the keyword
    ("snr_db", {"snr": 10.0}),
]


def label(case: tuple[str, dict]) -> str:
    return " ".join(f"{k}={v!r}" for k, v in case[1].items())


@pytest.mark.parametrize("env_id", sorted(beamgym.ENV_IDS))
@pytest.mark.parametrize("vector", [False, True], ids=["single", "vector"])
@pytest.mark.parametrize("case", BAD, ids=label)
def test_a_bad_keyword_is_refused_naming_the_parameter(env_id, vector, case):
    parameter, kwargs = case
    with pytest.raises(ValueError) as error:
        if vector:
            gym.make_vec(env_id, num_envs=2, **kwargs)
        else:
            gym.make(env_id, **kwargs)
    assert parameter in str(error.value), str(error.value)


EXTREME_CHANNELS = {
    "rayleigh": {},
    "cell": {  # the widest range of path gains the cell model accepts
        "channel": "cell",
        "channel_params": {
            "cell_radius_m": 1e7,
            "min_distance_m": 1e-6,
            "path_loss_exponent": 10.0,
            "shadowing_db": 30.0,
        },
    },
    "file": {"channel": "file"},  # entries at MAX_CHANNEL_ENTRY, written by the test
}


@pytest.mark.parametrize("vector", [False, True], ids=["single", "vector"])
@pytest.mark.parametrize("snr_db, noise_power", [(100.0, 1e-15), (-100.0, 1e15), (100.0, 1e15)])
@pytest.mark.parametrize("channel", sorted(EXTREME_CHANNELS))
def test_the_extremes_allowed_stay_finite(vector, snr_db, noise_power, channel, tmp_path):
    """At the bounds of the SNR, the noise power and the channels, every reward, observation
    and info entry is finite, in float64 (single) and float32 (vector)."""
    kwargs = {"snr_db": snr_db, "noise_power": noise_power, **EXTREME_CHANNELS[channel]}
    if channel == "file":
        H = np.full((3, 4, 8), MAX_CHANNEL_ENTRY * (1 + 1j) / np.sqrt(2))
        np.save(tmp_path / "h.npy", H)
        kwargs["channel_params"] = {"path": str(tmp_path / "h.npy")}
    env = gym.make_vec("MISO-MultiTask-v0", num_envs=8, **kwargs) if vector else None
    env = env or gym.make("MISO-MultiTask-v0", **kwargs)
    obs, _ = env.reset(seed=0)
    for _ in range(3):
        obs, reward, _, _, info = env.step(env.action_space.sample())
        for value in (obs, reward, *info.values()):
            if np.asarray(value).dtype.kind in "fc":
                assert np.isfinite(np.asarray(value)).all()


def test_a_channel_file_with_entries_above_the_bound_is_refused(tmp_path):
    np.save(tmp_path / "h.npy", np.full((3, 4, 8), 2 * MAX_CHANNEL_ENTRY))
    with pytest.raises(ValueError, match=r"\|h\| = 2e\+04; at most 10000"):
        gym.make(
            "MISO-SumRate-v0", channel="file", channel_params={"path": str(tmp_path / "h.npy")}
        )


def test_a_misspelt_keyword_is_answered_with_the_closest_one():
    with pytest.raises(ValueError, match="unknown keyword 'num_user'; did you mean 'num_users'"):
        gym.make("MISO-SumRate-v0", num_user=4)
