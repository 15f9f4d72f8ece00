"""Channel files: round trips, validation errors, and the "file" channel model that replays them."""

import math
import re

import numpy as np
import pytest
import scipy.io
import torch

from beamgym.channel_files import SUFFIXES, load_channels
from beamgym.channels import FileChannel, make_channel

S, FILE_USERS, FILE_ANTENNAS = 9, 3, 5
SIGMAS = 6.0


def random_channels(seed: int = 0, shape=(S, FILE_USERS, FILE_ANTENNAS)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) / math.sqrt(2)


SAVERS = {
    ".npy": np.save,
    ".npz": lambda path, array: np.savez(path, H=array),
    ".mat": lambda path, array: scipy.io.savemat(path, {"H": array}),
}


@pytest.fixture
def data() -> np.ndarray:
    return random_channels()


@pytest.fixture
def npy_path(tmp_path, data):
    path = tmp_path / "channels.npy"
    np.save(path, data)
    return path


def sample_index(H, samples) -> np.ndarray:
    """For each channel in ``H [*batch, K, N]``, the index of the one file sample it equals."""
    H = H.numpy() if isinstance(H, torch.Tensor) else H
    matches = (H[..., None, :, :] == samples).all(axis=(-2, -1))  # [*batch, S]
    assert (matches.sum(axis=-1) == 1).all(), "every channel must be exactly one sample of the file"
    return matches.argmax(axis=-1)


def assert_count_uniform(indices, categories: int) -> None:
    """Every category's count is within ``SIGMAS`` binomial standard deviations of uniform."""
    counts = np.bincount(np.ravel(indices), minlength=categories)
    n, p = counts.sum(), 1 / categories
    assert np.all(np.abs(counts - n * p) <= SIGMAS * math.sqrt(n * p * (1 - p))), counts


# --- load_channels: round trips ----------------------------------------------------------


def test_npy_round_trip(npy_path, data):
    loaded = load_channels(npy_path)
    assert loaded.dtype == np.complex128
    np.testing.assert_array_equal(loaded, data)


def test_load_accepts_str_path(npy_path, data):
    np.testing.assert_array_equal(load_channels(str(npy_path)), data)


@pytest.mark.parametrize("save", [np.savez, np.savez_compressed], ids=["savez", "savez_compressed"])
def test_npz_single_array_round_trip_without_key(tmp_path, data, save):
    path = tmp_path / "channels.npz"
    save(path, H=data)
    np.testing.assert_array_equal(load_channels(path), data)


def test_npz_round_trip_with_key_among_several(tmp_path, data):
    path = tmp_path / "channels.npz"
    other = random_channels(1)
    np.savez(path, train=data, test=other)
    np.testing.assert_array_equal(load_channels(path, key="train"), data)
    np.testing.assert_array_equal(load_channels(path, key="test"), other)


def test_mat_round_trip_without_key(tmp_path, data):
    path = tmp_path / "channels.mat"
    scipy.io.savemat(path, {"H": data})
    loaded = load_channels(path)
    assert loaded.dtype == np.complex128
    np.testing.assert_array_equal(loaded, data)


def test_mat_round_trip_with_key_among_several(tmp_path, data):
    path = tmp_path / "channels.mat"
    scipy.io.savemat(path, {"H": data, "G": random_channels(2)})
    np.testing.assert_array_equal(load_channels(path, key="H"), data)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int16])
def test_real_arrays_are_read_as_real_channels(tmp_path, dtype):
    real = np.arange(2 * 3 * 4).reshape(2, 3, 4).astype(dtype)
    path = tmp_path / "real.npy"
    np.save(path, real)
    loaded = load_channels(path)
    assert loaded.dtype == np.complex128
    np.testing.assert_array_equal(loaded.real, real)
    np.testing.assert_array_equal(loaded.imag, 0.0)


def test_complex64_is_widened_to_complex128(tmp_path, data):
    path = tmp_path / "single.npy"
    np.save(path, data.astype(np.complex64))
    loaded = load_channels(path)
    assert loaded.dtype == np.complex128
    np.testing.assert_array_equal(loaded, data.astype(np.complex64))


# --- load_channels: errors ---------------------------------------------------------------


@pytest.mark.parametrize("name", ["channels.txt", "channels.npy.gz", "channels", "channels.h5"])
def test_wrong_suffix_raises_value_error_listing_suffixes(tmp_path, data, name):
    path = tmp_path / name
    path.write_bytes(b"\x00" * 16)
    with pytest.raises(ValueError, match="path must end in") as info:
        load_channels(path)
    for suffix in SUFFIXES:
        assert suffix in str(info.value)


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_missing_file_raises_value_error(tmp_path, suffix):
    with pytest.raises(ValueError, match="not a file"):
        load_channels(tmp_path / f"missing{suffix}")


def test_directory_raises_value_error(tmp_path):
    (tmp_path / "folder.npy").mkdir()
    with pytest.raises(ValueError, match="not a file"):
        load_channels(tmp_path / "folder.npy")


@pytest.mark.parametrize("shape", [(3, 4), (2, 3, 4, 5), (5,), (0, 3, 4), (2, 0, 4), (2, 3, 0)])
def test_wrong_rank_or_empty_raises_value_error(tmp_path, shape):
    path = tmp_path / "bad.npy"
    np.save(path, np.ones(shape, complex))
    with pytest.raises(ValueError, match=re.escape("[S, K, N]")):
        load_channels(path)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, complex(0, math.nan)])
@pytest.mark.parametrize("suffix", SUFFIXES)
def test_non_finite_entries_raise_value_error(tmp_path, data, bad, suffix):
    data[4, 1, 2] = bad
    path = tmp_path / f"bad{suffix}"
    SAVERS[suffix](path, data)
    with pytest.raises(ValueError, match="NaN or infinite"):
        load_channels(path)


@pytest.mark.parametrize("suffix", [".npz", ".mat"])
def test_several_arrays_without_key_raise_value_error_listing_them(tmp_path, data, suffix):
    path = tmp_path / f"several{suffix}"
    arrays = {"train": data, "test": data}
    np.savez(path, **arrays) if suffix == ".npz" else scipy.io.savemat(path, arrays)
    with pytest.raises(ValueError, match="key") as info:
        load_channels(path)
    assert "'train'" in str(info.value) and "'test'" in str(info.value)


@pytest.mark.parametrize("suffix", [".npz", ".mat"])
def test_unknown_key_raises_value_error(tmp_path, data, suffix):
    path = tmp_path / f"one{suffix}"
    SAVERS[suffix](path, data)
    with pytest.raises(ValueError, match="key must be one of.*'G'"):
        load_channels(path, key="G")


UNPICKLED: list[str] = []


def _record_unpickling() -> str:
    UNPICKLED.append("unpickled")
    return "payload"


class Tripwire:
    """An object whose unpickling leaves a trace, to prove that no pickle is executed."""

    def __reduce__(self):
        return (_record_unpickling, ())


@pytest.mark.parametrize("suffix", [".npy", ".npz"])
def test_pickled_object_arrays_are_not_loaded(tmp_path, suffix):
    payload = np.empty((2, 2, 2), dtype=object)
    payload[...] = Tripwire()
    path = tmp_path / f"pickled{suffix}"
    if suffix == ".npy":
        np.save(path, payload, allow_pickle=True)
    else:
        np.savez(path, H=payload)
    UNPICKLED.clear()
    with pytest.raises(ValueError, match="cannot read"):
        load_channels(path)
    assert UNPICKLED == []


def test_mat_cell_array_raises_value_error(tmp_path):
    path = tmp_path / "cells.mat"
    cells = np.empty((2, 2, 2), dtype=object)
    cells[...] = np.ones(1)
    scipy.io.savemat(path, {"H": cells})
    with pytest.raises(ValueError, match="real or complex numbers"):
        load_channels(path)


def test_string_array_raises_value_error(tmp_path):
    path = tmp_path / "strings.npy"
    np.save(path, np.full((2, 3, 4), "abc"))
    with pytest.raises(ValueError, match="real or complex numbers"):
        load_channels(path)


def test_matlab_v73_file_raises_value_error(tmp_path):
    path = tmp_path / "hdf5.mat"
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, HDF5 schema 1.00 ."
    path.write_bytes(header.ljust(128) + b"\x00" * 512)
    with pytest.raises(ValueError, match="7.3"):
        load_channels(path)


def test_truncated_npy_raises_value_error(npy_path):
    npy_path.write_bytes(npy_path.read_bytes()[:200])
    with pytest.raises(ValueError, match="cannot read"):
        load_channels(npy_path)


def test_truncated_npz_raises_value_error(tmp_path, data):
    path = tmp_path / "channels.npz"
    np.savez(path, H=data)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(ValueError, match="cannot read"):
        load_channels(path)


@pytest.mark.parametrize("keep", [0, 100], ids=["empty", "truncated"])
def test_truncated_mat_raises_value_error(tmp_path, data, keep):
    path = tmp_path / "channels.mat"
    scipy.io.savemat(path, {"H": data})
    path.write_bytes(path.read_bytes()[:keep])
    with pytest.raises(ValueError, match="cannot read"):
        load_channels(path)


# --- FileChannel -------------------------------------------------------------------------


def test_file_channel_takes_first_users_and_antennas(npy_path, data):
    model, rng = FileChannel(2, 4, str(npy_path)), np.random.default_rng(0)
    H = model.sample(rng, (200,))
    assert H.shape == (200, 2, 4) and H.dtype == np.complex128
    sample_index(H, data[:, :2, :4])


@pytest.mark.parametrize(
    "sizes", [(FILE_USERS + 1, FILE_ANTENNAS), (FILE_USERS, FILE_ANTENNAS + 1)]
)
def test_file_channel_larger_than_file_raises_value_error(npy_path, sizes):
    with pytest.raises(ValueError, match="num_users and num_antennas"):
        FileChannel(*sizes, str(npy_path))


def test_file_channel_full_size_is_the_file(npy_path, data):
    H = FileChannel(FILE_USERS, FILE_ANTENNAS, str(npy_path)).sample(
        np.random.default_rng(1), (50,)
    )
    sample_index(H, data)


def test_file_channel_sequential_order_walks_consecutive_samples(npy_path, data):
    model, rng = FileChannel(2, 4, str(npy_path), order="sequential"), np.random.default_rng(2)
    state = model.reset(rng, (30,))
    start = sample_index(model.channel(state), data[:, :2, :4])
    for t in range(1, 2 * S + 2):  # past the end of the file: wraps around
        state = model.step(rng, state)
        np.testing.assert_array_equal(
            sample_index(model.channel(state), data[:, :2, :4]), (start + t) % S
        )


@pytest.mark.parametrize("order", FileChannel.ORDERS)
def test_file_channel_episode_starts_uniformly_over_the_file(npy_path, data, order):
    model = FileChannel(FILE_USERS, FILE_ANTENNAS, str(npy_path), order=order)
    assert_count_uniform(sample_index(model.sample(np.random.default_rng(3), (9_000,)), data), S)


def test_file_channel_random_order_draws_independent_samples(npy_path, data):
    model, rng = (
        FileChannel(FILE_USERS, FILE_ANTENNAS, str(npy_path), order="random"),
        np.random.default_rng(4),
    )
    state = model.reset(rng, (3_000,))
    indices = [sample_index(model.channel(state), data)]
    for _ in range(3):
        state = model.step(rng, state)
        indices.append(sample_index(model.channel(state), data))
    indices = np.array(indices)
    assert_count_uniform(indices[1:], S)
    # the next sample is any of the S samples, not the following one
    assert_count_uniform((indices[1:] - indices[:-1]) % S, S)


def test_file_channel_sample_of_scalar_batch_is_one_channel(npy_path, data):
    H = FileChannel(2, 4, str(npy_path)).sample(np.random.default_rng(5))
    assert H.shape == (2, 4)
    sample_index(H, data[:, :2, :4])


@pytest.mark.parametrize("order", FileChannel.ORDERS)
def test_file_channel_torch_generator_returns_complex64_file_samples(npy_path, data, order):
    model, rng = FileChannel(2, 4, str(npy_path), order=order), torch.Generator().manual_seed(6)
    expected = data[:, :2, :4].astype(np.complex64)
    state = model.reset(rng, (4, 5))
    start = None
    for t in range(S + 1):
        H = model.channel(state)
        assert (
            isinstance(H, torch.Tensor) and H.dtype == torch.complex64 and H.shape == (4, 5, 2, 4)
        )
        index = sample_index(H, expected)
        start = index if start is None else start
        if order == "sequential":
            np.testing.assert_array_equal(index, (start + t) % S)
        state = model.step(rng, state)


def test_file_channel_torch_and_numpy_gains_are_mean_power_per_user(npy_path, data):
    model = FileChannel(2, 4, str(npy_path))
    expected = np.mean(np.abs(data[:, :2, :4]) ** 2, axis=(0, 2))
    np.testing.assert_allclose(
        model.average_gain(model.reset(np.random.default_rng(7), (3,))), expected, rtol=1e-12
    )
    torch_gain = model.average_gain(model.reset(torch.Generator().manual_seed(7), (3,)))
    assert isinstance(torch_gain, torch.Tensor) and torch_gain.dtype == torch.float32
    np.testing.assert_allclose(torch_gain.numpy(), expected, rtol=1e-6)


def test_file_channel_same_seed_same_channels(npy_path):
    model = FileChannel(2, 4, str(npy_path))
    first = model.sample(np.random.default_rng(8), (20,))
    np.testing.assert_array_equal(model.sample(np.random.default_rng(8), (20,)), first)


def test_make_channel_file_reads_npz_key(tmp_path, data):
    path = tmp_path / "channels.npz"
    np.savez(path, train=data, test=random_channels(1))
    model = make_channel("file", 2, 4, path=str(path), key="train", order="sequential")
    assert isinstance(model, FileChannel)
    sample_index(model.sample(np.random.default_rng(9), (20,)), data[:, :2, :4])


def test_make_channel_file_errors_are_value_errors(tmp_path):
    with pytest.raises(ValueError, match="not a file"):
        make_channel("file", 2, 4, path=str(tmp_path / "missing.npy"))
    with pytest.raises(ValueError, match="time_correlation"):
        make_channel("file", 2, 4, path=str(tmp_path / "missing.npy"), time_correlation=0.5)
