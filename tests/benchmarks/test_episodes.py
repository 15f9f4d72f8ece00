"""Drawing a configuration's channels and its DPC ceiling."""

import numpy as np
import pytest

from beamgym.downlink import MAX_CHANNEL_ENTRY
from benchmarks.episodes import draw_channels
from benchmarks.suites import Configuration


def test_a_ceiling_beyond_float64_is_left_out_with_a_warning_not_a_failed_configuration(
    tmp_path,
):
    """File channels at the largest allowed entries and 100 dB: the agents can still be
    scored, so the configuration draws, without a DPC column, and says why."""
    rng = np.random.default_rng(0)
    H = rng.standard_normal((4, 2, 4)) + 1j * rng.standard_normal((4, 2, 4))
    np.save(tmp_path / "h.npy", H * MAX_CHANNEL_ENTRY / np.abs(H).max())
    config = Configuration(
        name="extreme",
        env_id="MISO-SumRate-v0",
        kwargs={
            "num_users": 2,
            "num_antennas": 4,
            "snr_db": 100.0,
            "noise_power": 1e15,
            "channel": "file",
            "channel_params": {"path": str(tmp_path / "h.npy")},
        },
        seeds=(0, 1),
        blocks=2,
    )
    with pytest.warns(UserWarning, match="extreme: no DPC ceiling: .* received SNR"):
        channels = draw_channels(config)
    assert channels.dpc_capacity.size == 0 and channels.num_channels == 4
