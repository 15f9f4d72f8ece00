"""Jakes correlation and the CSI tracker (estimation error and feedback delay)."""

import math

import numpy as np
import pytest
import scipy.special
import torch

from beamgym.channels import CellChannel, RayleighChannel
from beamgym.fading import ChannelTracker, jakes_correlation
from tests.problems import as_numpy, assert_mean_close

BACKENDS = {
    "numpy": np.random.default_rng,
    "torch": lambda seed: torch.Generator().manual_seed(seed),
}


def run(tracker, rng, batch_shape, steps):
    """``(true, estimate)`` pairs of the reset block and ``steps`` further blocks, as NumPy."""
    pairs = [tracker.reset(rng, batch_shape)] + [tracker.step(rng) for _ in range(steps)]
    return [(as_numpy(true), as_numpy(estimate)) for true, estimate in pairs]


# --- jakes_correlation -------------------------------------------------------------------

GRID = [
    (f, T)
    for f in (0.0, 5.0, 50.0, 200.0, 1000.0)
    for T in (1e-4, 5e-4, 1e-3, 3e-3)
    if f * T < 0.38
]


@pytest.mark.parametrize("doppler_hz,block_duration_s", GRID)
def test_jakes_correlation_equals_bessel_j0(doppler_hz, block_duration_s):
    rho = jakes_correlation(doppler_hz, block_duration_s)
    assert isinstance(rho, float)
    assert rho == pytest.approx(
        scipy.special.j0(2 * math.pi * doppler_hz * block_duration_s), rel=1e-12, abs=1e-14
    )


@pytest.mark.parametrize("product", [0.1, 0.25, 0.38])
def test_jakes_correlation_depends_on_doppler_times_duration(product):
    assert jakes_correlation(product * 100, 0.01) == pytest.approx(
        jakes_correlation(product * 10, 0.1), rel=1e-12
    )


def test_jakes_correlation_is_one_without_motion_and_positive_up_to_the_first_zero():
    assert jakes_correlation(0.0, 1e-3) == 1.0
    assert jakes_correlation(100.0, 0.0) == 1.0
    assert 0.0 < jakes_correlation(0.38, 1.0) < 0.01


@pytest.mark.parametrize("product", [0.39, 0.5, 0.8, 1.0, 2.0])
def test_jakes_correlation_past_first_zero_raises_value_error(product):
    with pytest.raises(ValueError, match="doppler_hz"):
        jakes_correlation(product, 1.0)


@pytest.mark.parametrize(
    "args,parameter",
    [
        ((-1.0, 1e-3), "doppler_hz"),
        ((math.nan, 1e-3), "doppler_hz"),
        ((math.inf, 1e-3), "doppler_hz"),
        ((10.0, -1e-3), "block_duration_s"),
        ((10.0, math.nan), "block_duration_s"),
        (("10", 1e-3), "doppler_hz"),
    ],
)
def test_jakes_correlation_invalid_arguments_raise_value_error(args, parameter):
    with pytest.raises(ValueError, match=parameter):
        jakes_correlation(*args)


def test_jakes_correlation_drives_the_lag_one_correlation_of_a_channel():
    rho = jakes_correlation(100.0, 1e-3)
    model, rng = RayleighChannel(2, 4, time_correlation=rho), np.random.default_rng(0)
    state = model.reset(rng, (20_000,))
    h0 = model.channel(state)
    h1 = model.channel(model.step(rng, state))
    assert_mean_close((h0 * h1.conj()).mean(axis=-1), scipy.special.j0(2 * math.pi * 0.1))


# --- ChannelTracker: estimation error ----------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "model",
    [RayleighChannel(2, 4, time_correlation=0.7), CellChannel(2, 4)],
    ids=["rayleigh", "cell"],
)
def test_perfect_csi_estimate_equals_true_channel(model, backend):
    for true, estimate in run(ChannelTracker(model), BACKENDS[backend](1), (3,), steps=4):
        np.testing.assert_array_equal(estimate, true)


def test_perfect_csi_true_channel_is_the_model_process():
    model = RayleighChannel(2, 4, time_correlation=0.7)
    pairs = run(ChannelTracker(model), np.random.default_rng(2), (3,), steps=3)
    rng = np.random.default_rng(2)
    state = model.reset(rng, (3,))
    for true, _ in pairs:
        np.testing.assert_array_equal(true, model.channel(state))
        state = model.step(rng, state)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("nmse", [0.01, 0.1, 0.5])
def test_csi_nmse_is_error_power_over_channel_power(nmse, backend):
    tracker = ChannelTracker(RayleighChannel(2, 4, time_correlation=0.5), csi_nmse=nmse)
    for true, estimate in run(tracker, BACKENDS[backend](3), (10_000,), steps=1):
        error = estimate - true
        assert_mean_close((np.abs(error) ** 2).mean(axis=-1), nmse)
        assert_mean_close((np.abs(true) ** 2).mean(axis=-1), 1.0)
        assert_mean_close((error * true.conj()).mean(axis=-1), 0.0)  # independent of the channel
        assert_mean_close((error**2).mean(axis=-1), 0.0)  # circular


def test_csi_error_scales_with_cell_user_gain():
    nmse, seed = 0.2, 4
    model = CellChannel(3, 4)
    true, estimate = run(
        ChannelTracker(model, csi_nmse=nmse), np.random.default_rng(seed), (10_000,), steps=0
    )[0]
    state = model.reset(
        np.random.default_rng(seed), (10_000,)
    )  # the same draws as the tracker's reset
    np.testing.assert_array_equal(true, model.channel(state))
    gain = model.average_gain(state)[..., None]
    assert gain.max() / gain.min() > 1e3  # the users' gains span orders of magnitude
    assert_mean_close((np.abs(estimate - true) ** 2 / gain).mean(axis=-1), nmse)


# --- ChannelTracker: feedback delay ------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("delay", [1, 3])
def test_csi_delay_estimate_equals_true_channel_delay_blocks_earlier(delay, backend):
    tracker = ChannelTracker(RayleighChannel(2, 4, time_correlation=0.9), csi_delay=delay)
    pairs = run(tracker, BACKENDS[backend](5), (3,), steps=8)
    for t in range(delay, len(pairs)):
        np.testing.assert_array_equal(pairs[t][1], pairs[t - delay][0])
    for true, estimate in pairs:
        assert not np.array_equal(estimate, true)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("delay", [1, 3])
def test_csi_delay_pipeline_is_full_from_the_first_block(delay, backend):
    """The first estimate is the channel ``delay`` blocks before the first true channel."""
    model = RayleighChannel(2, 4, time_correlation=0.9)
    pairs = run(ChannelTracker(model, csi_delay=delay), BACKENDS[backend](6), (3,), steps=4)
    rng = BACKENDS[backend](6)
    state = model.reset(rng, (3,))
    process = [as_numpy(model.channel(state))]
    for _ in range(delay + 4):
        state = model.step(rng, state)
        process.append(as_numpy(model.channel(state)))
    for t, (true, estimate) in enumerate(pairs):
        np.testing.assert_array_equal(true, process[t + delay])
        np.testing.assert_array_equal(estimate, process[t])


@pytest.mark.parametrize("delay", [1, 2])
def test_outdated_csi_correlates_with_truth_as_rho_to_the_delay(delay):
    rho = 0.8
    tracker = ChannelTracker(RayleighChannel(2, 4, time_correlation=rho), csi_delay=delay)
    true, estimate = run(tracker, np.random.default_rng(7), (20_000,), steps=1)[-1]
    assert_mean_close((estimate * true.conj()).mean(axis=-1), rho**delay)


def test_csi_delay_and_nmse_add_error_to_the_outdated_channel():
    nmse, delay = 0.1, 2
    tracker = ChannelTracker(
        RayleighChannel(2, 4, time_correlation=0.9), csi_nmse=nmse, csi_delay=delay
    )
    pairs = run(tracker, np.random.default_rng(8), (10_000,), steps=delay)
    assert_mean_close((np.abs(pairs[delay][1] - pairs[0][0]) ** 2).mean(axis=-1), nmse)


def test_tracker_same_seed_reproduces_episode():
    tracker = ChannelTracker(RayleighChannel(2, 4, time_correlation=0.5), csi_nmse=0.1, csi_delay=2)
    first = run(tracker, np.random.default_rng(9), (3,), steps=4)
    again = run(tracker, np.random.default_rng(9), (3,), steps=4)  # reset clears the history
    for (true, estimate), (true2, estimate2) in zip(first, again, strict=True):
        np.testing.assert_array_equal(true, true2)
        np.testing.assert_array_equal(estimate, estimate2)


@pytest.mark.parametrize("backend", BACKENDS)
def test_tracker_outputs_have_channel_shape_and_dtype(backend):
    tracker = ChannelTracker(CellChannel(2, 4), csi_nmse=0.1, csi_delay=1)
    rng = BACKENDS[backend](10)
    for true, estimate in [tracker.reset(rng, (5,)), tracker.step(rng)]:
        assert type(true) is type(estimate)
        assert (
            true.dtype
            == estimate.dtype
            == (torch.complex64 if backend == "torch" else np.complex128)
        )
        assert tuple(true.shape) == tuple(estimate.shape) == (5, 2, 4)


# --- ChannelTracker: validation ----------------------------------------------------------


@pytest.mark.parametrize("value", [-0.1, math.nan, math.inf, "0.1", None])
def test_invalid_csi_nmse_raises_value_error(value):
    with pytest.raises(ValueError, match="csi_nmse"):
        ChannelTracker(RayleighChannel(2, 4), csi_nmse=value)


@pytest.mark.parametrize("value", [-1, 1.5, 1.0, True, "1", None])
def test_invalid_csi_delay_raises_value_error(value):
    with pytest.raises(ValueError, match="csi_delay"):
        ChannelTracker(RayleighChannel(2, 4), csi_delay=value)


def test_step_before_reset_raises_runtime_error():
    with pytest.raises(RuntimeError, match="reset"):
        ChannelTracker(RayleighChannel(2, 4)).step(np.random.default_rng(0))
