"""Fixtures of the benchmark tests: a tiny suite file, one torch thread."""

import pytest
import torch

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


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """One torch thread (set before the module's other fixtures): on a busy 2-core machine
    two threads per process make batched small-matrix solves many times slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
