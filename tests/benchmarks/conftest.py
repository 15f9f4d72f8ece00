"""Fixtures of the benchmark tests: a tiny suite file."""

import pytest

TINY_SUITE = """
name = "tiny"
[defaults]
seeds = {start = 7, count = 2}
blocks = 2
kwargs = {num_users = 2, num_antennas = 3, snr_db = 10.0}

[[configurations]]
name = "sum-rate"
env_id = "MISO-SumRate-v0"

[[configurations]]
name = "max-min"
env_id = "MISO-MinRate-v0"
"""


@pytest.fixture
def tiny_suite(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(TINY_SUITE)
    return path
