"""Channel models: registry contract, second-order statistics, prefix consistency, validation.

Statistical checks compare a sample mean with its expectation within ``SIGMAS`` standard
errors, the standard error estimated from the same independent samples (one per episode and
user), so a tolerance shrinks with the sample size and a correct model cannot flake.
"""

import math
import re

import numpy as np
import pytest
import scipy.linalg
import torch

from beamgym.channels import (
    CHANNELS,
    CellChannel,
    CorrelatedChannel,
    RayleighChannel,
    RicianChannel,
    SparseChannel,
    make_channel,
    ula_response,
)
from tests.problems import SIGMAS, as_numpy, assert_mean_close

K, N = 3, 5
GAUSSIAN = ["rayleigh", "correlated", "rician", "sparse", "cell"]
BACKENDS = {
    "numpy": (np.random.default_rng, np.ndarray, np.complex128),
    "torch": (lambda seed: torch.Generator().manual_seed(seed), torch.Tensor, torch.complex64),
}


def unit_power_scatter(model, state) -> np.ndarray:
    """The channel with its large-scale gain divided out, so that ``E|u|^2 = 1``."""
    H = as_numpy(model.channel(state))
    gain = model.average_gain(state)
    return H / np.sqrt(as_numpy(gain).real)[..., None] if np.ndim(gain) else H / math.sqrt(gain)


@pytest.fixture
def build(tmp_path):
    """``make_channel`` that also builds the "file" model, from a random ``[7, K+1, N+2]`` file."""

    def build(name, num_users=K, num_antennas=N, **params):
        if name == "file" and "path" not in params:
            path = tmp_path / "channels.npy"
            rng = np.random.default_rng(99)
            shape = (7, K + 1, N + 2)
            np.save(path, rng.standard_normal(shape) + 1j * rng.standard_normal(shape))
            params["path"] = str(path)
        return make_channel(name, num_users, num_antennas, **params)

    return build


# --- registry contract -------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", sorted(CHANNELS))
def test_registry_channels_have_shape_dtype_and_finite_values(build, name, backend):
    make_rng, array_type, dtype = BACKENDS[backend]
    model, rng = build(name), make_rng(0)
    state = model.reset(rng, (2, 3))
    for _ in range(3):
        H = model.channel(state)
        assert isinstance(H, array_type)
        assert H.dtype == dtype
        assert tuple(H.shape) == (2, 3, K, N)
        assert np.isfinite(as_numpy(H)).all()
        state = model.step(rng, state)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", sorted(CHANNELS))
def test_registry_sample_without_batch_is_one_channel(build, name, backend):
    make_rng, _, dtype = BACKENDS[backend]
    H = build(name).sample(make_rng(0))
    assert tuple(H.shape) == (K, N)
    assert H.dtype == dtype


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", sorted(CHANNELS))
def test_registry_same_seed_reproduces_channels(build, name, backend):
    make_rng = BACKENDS[backend][0]

    def episode(seed):
        params = {} if name == "file" else {"time_correlation": 0.5}
        model, rng = build(name, **params), make_rng(seed)
        state = model.reset(rng, (4,))
        blocks = [as_numpy(model.channel(state))]
        for _ in range(3):
            state = model.step(rng, state)
            blocks.append(as_numpy(model.channel(state)))
        return np.stack(blocks)

    assert np.array_equal(episode(7), episode(7))
    assert not np.array_equal(episode(7), episode(8))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", sorted(CHANNELS))
def test_registry_average_gain_is_positive_per_user(build, name, backend):
    model = build(name)
    gain = as_numpy(model.average_gain(model.reset(BACKENDS[backend][0](0), (2, 3)))).real
    assert np.broadcast_shapes(gain.shape, (2, 3, K)) == (2, 3, K)
    assert (gain > 0).all()


# --- Rayleigh ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rayleigh_sample() -> np.ndarray:
    return RayleighChannel(4, 8).sample(np.random.default_rng(1), (10_000,))


def test_rayleigh_entry_power_is_one(rayleigh_sample):
    assert_mean_close(np.abs(rayleigh_sample) ** 2, 1.0)


def test_rayleigh_real_and_imaginary_variance_is_one_half(rayleigh_sample):
    assert_mean_close(rayleigh_sample.real**2, 0.5)
    assert_mean_close(rayleigh_sample.imag**2, 0.5)


def test_rayleigh_is_zero_mean_and_circular(rayleigh_sample):
    assert_mean_close(rayleigh_sample, 0.0)
    assert_mean_close(rayleigh_sample**2, 0.0)  # pseudo-variance E[h^2] = 0


def test_rayleigh_antennas_and_users_are_uncorrelated(rayleigh_sample):
    H = rayleigh_sample
    assert_mean_close(H[..., :-1] * H[..., 1:].conj(), 0.0)
    assert_mean_close(H[..., 0, :] * H[..., 1, :].conj(), 0.0)


def test_rayleigh_torch_entry_power_is_one_with_equal_real_and_imaginary_parts():
    H = as_numpy(RayleighChannel(4, 8).sample(torch.Generator().manual_seed(1), (10_000,)))
    assert_mean_close(np.abs(H) ** 2, 1.0)
    assert_mean_close(H.real**2, 0.5)
    assert_mean_close(H.imag**2, 0.5)


# --- spatially correlated ----------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("rho", [0.3, 0.7, 0.95])
def test_correlated_neighbour_correlation_equals_rho(rho, backend):
    H = as_numpy(
        CorrelatedChannel(2, 6, correlation=rho).sample(BACKENDS[backend][0](2), (20_000,))
    )
    per_user = (H[..., :-1] * H[..., 1:].conj()).mean(axis=-1)
    assert_mean_close(per_user, rho)


def test_correlated_covariance_is_exponential_correlation():
    rho, antennas = 0.6, 5
    H = CorrelatedChannel(2, antennas, correlation=rho).sample(np.random.default_rng(3), (20_000,))
    for i in range(antennas):
        for j in range(antennas):
            assert_mean_close(H[..., i] * H[..., j].conj(), rho ** abs(i - j))
            assert_mean_close(H[..., i] * H[..., j], 0.0)  # circular


def test_correlated_users_are_independent():
    H = CorrelatedChannel(2, 4, correlation=0.9).sample(np.random.default_rng(4), (20_000,))
    assert_mean_close(H[..., 0, :] * H[..., 1, :].conj(), 0.0)


def test_correlated_covariance_attribute_is_toeplitz_of_powers():
    rho = 0.8
    expected = scipy.linalg.toeplitz(rho ** np.arange(6))
    np.testing.assert_allclose(
        CorrelatedChannel(2, 6, correlation=rho).covariance, expected, rtol=1e-15
    )


@pytest.mark.parametrize("smaller", [1, 3, 7])
def test_correlated_covariance_is_prefix_consistent(smaller):
    big = CorrelatedChannel(2, 8, correlation=0.6).covariance
    small = CorrelatedChannel(2, smaller, correlation=0.6).covariance
    np.testing.assert_allclose(big[:smaller, :smaller], small, rtol=1e-15)


def test_correlated_zero_correlation_is_white():
    H = CorrelatedChannel(2, 4, correlation=0.0).sample(np.random.default_rng(5), (20_000,))
    assert_mean_close((H[..., :-1] * H[..., 1:].conj()).mean(axis=-1), 0.0)
    assert_mean_close(np.abs(H) ** 2, 1.0)


# --- ULA and Rician ----------------------------------------------------------------------


def test_ula_response_at_thirty_degrees_is_powers_of_j():
    a = ula_response(np.array(math.pi / 6), 4)  # exp(j pi n sin(pi/6)) = j^n
    np.testing.assert_allclose(a, [1, 1j, -1, -1j], atol=1e-15)


@pytest.mark.parametrize("backend", BACKENDS)
def test_ula_response_has_unit_modulus_and_is_prefix_consistent(backend):
    angles = np.random.default_rng(6).uniform(-math.pi / 2, math.pi / 2, (3, 2))
    if backend == "torch":
        angles = torch.as_tensor(angles, dtype=torch.float32)
    big, small = as_numpy(ula_response(angles, 8)), as_numpy(ula_response(angles, 3))
    assert big.shape == (3, 2, 8)
    np.testing.assert_allclose(np.abs(big), 1.0, rtol=1e-6)
    np.testing.assert_allclose(big[..., :3], small, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("k_factor_db", [-10.0, 0.0, 6.0, 20.0])
def test_rician_entry_power_is_one(k_factor_db, backend):
    model = RicianChannel(2, 4, k_factor_db=k_factor_db)
    H = as_numpy(model.sample(BACKENDS[backend][0](7), (20_000,)))
    assert_mean_close((np.abs(H) ** 2).mean(axis=-1), 1.0)


def test_rician_time_average_is_unit_modulus_line_of_sight():
    """Over the blocks of one episode the scattered part averages out, leaving the LoS term."""
    kappa_db, blocks = 6.0, 4000
    model, rng = RicianChannel(2, 4, k_factor_db=kappa_db), np.random.default_rng(8)
    state = model.reset(rng)
    total = np.zeros((2, 4), complex)
    for _ in range(blocks):
        total += model.channel(state)
        state = model.step(rng, state)
    kappa = 10 ** (kappa_db / 10)
    scatter_std = math.sqrt(1 / (kappa + 1) / blocks)
    los = total / blocks
    np.testing.assert_allclose(
        np.abs(los), math.sqrt(kappa / (kappa + 1)), atol=SIGMAS * scatter_std
    )
    # ULA: consecutive antennas differ by one common phase per user; each ratio of estimates
    # carries an error below 2 scatter_std (|los| > 0.8), a difference of two below 4
    steps = los[:, 1:] / los[:, :-1]
    np.testing.assert_allclose(
        steps, steps[:, :1] * np.ones_like(steps), atol=4 * SIGMAS * scatter_std
    )


# --- clustered sparse --------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_sparse_user_channel_norm_is_num_antennas(backend):
    antennas = 8
    H = as_numpy(SparseChannel(2, antennas).sample(BACKENDS[backend][0](9), (20_000,)))
    assert_mean_close((np.abs(H) ** 2).sum(axis=-1), antennas)


def test_sparse_single_path_has_constant_modulus_across_antennas():
    H = SparseChannel(2, 6, clusters=1, rays=1).sample(np.random.default_rng(10), (50,))
    np.testing.assert_allclose(np.abs(H), np.abs(H[..., :1]) * np.ones(6), rtol=1e-12)


@pytest.mark.parametrize("angle_spread_deg,rank", [(0.0, 3), (10.0, 8)])
def test_sparse_channel_spans_one_direction_per_distinct_path(angle_spread_deg, rank):
    """Over the blocks of one episode, h_k spans the steering vectors of its paths: one per
    cluster without angle spread, min(clusters * rays, N) = 8 with it."""
    model = SparseChannel(1, 8, clusters=3, rays=5, angle_spread_deg=angle_spread_deg)
    rng = np.random.default_rng(11)
    state = model.reset(rng)
    history = []
    for _ in range(30):
        history.append(model.channel(state)[0])
        state = model.step(rng, state)
    singular = np.linalg.svd(np.array(history), compute_uv=False)
    assert np.sum(singular > 1e-8 * singular[0]) == rank


# --- users in a cell ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def cell_state():
    model = CellChannel(4, 2)
    return model, model.reset(np.random.default_rng(12), (20_000,))


def test_cell_unshadowed_gain_is_one_at_edge_and_at_least_one_inside():
    model = CellChannel(4, 2, cell_radius_m=250.0, min_distance_m=25.0, shadowing_db=0.0)
    state = model.reset(np.random.default_rng(13), (5_000,))
    gain, distance = model.average_gain(state), state.large_scale["distance_m"]
    assert ((distance >= 25.0) & (distance <= 250.0)).all()
    np.testing.assert_allclose(gain, (distance / 250.0) ** -3.76, rtol=1e-12)
    assert (gain >= 1.0).all() and (gain <= 10.0**3.76 * (1 + 1e-12)).all()
    edge = CellChannel(4, 2, min_distance_m=250.0 * (1 - 1e-9), shadowing_db=0.0)
    np.testing.assert_allclose(
        edge.average_gain(edge.reset(np.random.default_rng(14), (100,))), 1.0, rtol=1e-7
    )


@pytest.mark.parametrize("radius", [50.0, 100.0, 200.0])
def test_cell_users_are_uniform_over_annulus_area(cell_state, radius):
    _, state = cell_state
    inside = state.large_scale["distance_m"] <= radius
    assert_mean_close(inside, (radius**2 - 25.0**2) / (250.0**2 - 25.0**2))


def test_cell_shadowing_is_lognormal_with_given_std(cell_state):
    model, state = cell_state
    path_loss_db = (
        -10
        * model.path_loss_exponent
        * np.log10(state.large_scale["distance_m"] / model.cell_radius_m)
    )
    shadowing_db = 10 * np.log10(model.average_gain(state)) - path_loss_db
    assert_mean_close(shadowing_db, 0.0)
    assert_mean_close(shadowing_db**2, model.shadowing_db**2)


def test_cell_small_scale_fading_has_unit_power_given_gain(cell_state):
    model, state = cell_state
    u = unit_power_scatter(model, state)
    assert_mean_close((np.abs(u) ** 2).mean(axis=-1), 1.0)
    assert_mean_close(u, 0.0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_cell_gain_stays_fixed_over_an_episode(backend):
    model, rng = CellChannel(3, 2, time_correlation=0.5), BACKENDS[backend][0](15)
    state = model.reset(rng, (10,))
    gain = as_numpy(model.average_gain(state))
    for _ in range(3):
        state = model.step(rng, state)
        np.testing.assert_array_equal(as_numpy(model.average_gain(state)), gain)


# --- time correlation --------------------------------------------------------------------


def _two_lags(name, rho, seed, build):
    model, rng = build(name, 2, 4, time_correlation=rho), np.random.default_rng(seed)
    state = model.reset(rng, (20_000,))
    u0 = unit_power_scatter(model, state)
    state = model.step(rng, state)
    u1 = unit_power_scatter(model, state)
    state = model.step(rng, state)
    return u0, u1, unit_power_scatter(model, state)


@pytest.mark.parametrize("rho", [0.0, 0.5, 0.9])
@pytest.mark.parametrize("name", ["rayleigh", "correlated", "sparse", "cell"])
def test_time_correlation_lag_one_equals_rho(build, name, rho):
    u0, u1, u2 = _two_lags(name, rho, 16, build)
    assert_mean_close((u0 * u1.conj()).mean(axis=-1), rho)
    assert_mean_close((u0 * u2.conj()).mean(axis=-1), rho**2)  # Gauss-Markov: lag 2 is rho^2


@pytest.mark.parametrize("rho", [0.0, 0.5, 0.9])
def test_rician_scattered_part_has_lag_one_correlation_rho(build, rho):
    """``E|h_{t+1} - h_t|^2 = 2 (1 - rho) / (kappa + 1)``: the LoS term cancels."""
    u0, u1, _ = _two_lags("rician", rho, 17, build)
    kappa = 10 ** (6.0 / 10)
    assert_mean_close((np.abs(u1 - u0) ** 2).mean(axis=-1), 2 * (1 - rho) / (kappa + 1))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", GAUSSIAN)
def test_time_correlation_keeps_stationary_power_after_many_steps(build, name, backend):
    model, rng = build(name, 2, 4, time_correlation=0.95), BACKENDS[backend][0](18)
    state = model.reset(rng, (5_000,))
    for _ in range(60):
        state = model.step(rng, state)
    assert_mean_close((np.abs(unit_power_scatter(model, state)) ** 2).mean(axis=-1), 1.0)


# --- prefix consistency in antennas ------------------------------------------------------


@pytest.mark.parametrize("name", ["rician", "sparse", "cell"])
def test_large_scale_state_is_prefix_consistent_in_antennas(build, name):
    """With the same seed, the smaller array sees the first antennas of the larger one."""
    big = build(name, 2, 7).reset(np.random.default_rng(19), (5,)).large_scale
    small = build(name, 2, 4).reset(np.random.default_rng(19), (5,)).large_scale
    assert big.keys() == small.keys()
    for key in big:
        expected = big[key][..., :4] if big[key].shape[-1] == 7 else big[key]
        np.testing.assert_allclose(small[key], expected, rtol=1e-12, atol=1e-12, err_msg=key)


# --- construction and validation ---------------------------------------------------------


def test_make_channel_builds_the_named_model_with_its_parameters():
    model = make_channel("correlated", 2, 4, correlation=0.3, time_correlation=0.2)
    assert isinstance(model, CorrelatedChannel)
    assert (model.num_users, model.num_antennas) == (2, 4)
    assert (model.correlation, model.time_correlation) == (0.3, 0.2)


def test_make_channel_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match="rayleih") as info:
        make_channel("rayleih", 2, 4)
    for name in CHANNELS:
        assert repr(name) in str(info.value)


@pytest.mark.parametrize("name", GAUSSIAN)
def test_make_channel_unknown_parameter_raises_value_error(name):
    with pytest.raises(ValueError, match="corelation"):
        make_channel(name, 2, 4, corelation=0.5)


@pytest.mark.parametrize("name", sorted(CHANNELS))
@pytest.mark.parametrize(
    "sizes,parameter",
    [
        ((0, 4), "num_users"),
        ((2, 0), "num_antennas"),
        ((-1, 4), "num_users"),
        ((2.5, 4), "num_users"),
        ((True, 4), "num_users"),
    ],
    ids=["users-0", "antennas-0", "users-negative", "users-float", "users-bool"],
)
def test_invalid_sizes_raise_value_error_naming_them(build, name, sizes, parameter):
    with pytest.raises(ValueError, match=rf"\b{parameter}\b"):
        build(name, *sizes)


INVALID = [
    ("correlated", {"correlation": 1.0}, "correlation"),
    ("correlated", {"correlation": 1.5}, "correlation"),
    ("correlated", {"correlation": -0.1}, "correlation"),
    ("correlated", {"correlation": math.nan}, "correlation"),
    ("rician", {"k_factor_db": math.nan}, "k_factor_db"),
    ("rician", {"k_factor_db": math.inf}, "k_factor_db"),
    ("rician", {"k_factor_db": 200.0}, "k_factor_db"),
    ("sparse", {"clusters": 0}, "clusters"),
    ("sparse", {"rays": 0}, "rays"),
    ("sparse", {"clusters": 2.0}, "clusters"),
    ("sparse", {"angle_spread_deg": -1.0}, "angle_spread_deg"),
    ("sparse", {"angle_spread_deg": math.nan}, "angle_spread_deg"),
    ("cell", {"cell_radius_m": 0.0}, "cell_radius_m"),
    ("cell", {"min_distance_m": 0.0}, "min_distance_m"),
    ("cell", {"min_distance_m": 250.0}, "min_distance_m"),
    ("cell", {"min_distance_m": 300.0}, "min_distance_m"),
    ("cell", {"path_loss_exponent": -1.0}, "path_loss_exponent"),
    ("cell", {"shadowing_db": -1.0}, "shadowing_db"),
    ("cell", {"shadowing_db": math.nan}, "shadowing_db"),
    ("file", {"order": "backwards"}, "order"),
]
INVALID += [
    (name, {"time_correlation": value}, "time_correlation")
    for name in GAUSSIAN
    for value in (1.0, -0.1, math.nan, math.inf)
]


@pytest.mark.parametrize(
    "name,params,parameter",
    INVALID,
    ids=[f"{n}-{next(iter(p))}={next(iter(p.values()))}" for n, p, _ in INVALID],
)
def test_invalid_parameter_value_raises_value_error_naming_it(build, name, params, parameter):
    with pytest.raises(ValueError, match=rf"\b{re.escape(parameter)}\b"):
        build(name, **params)


@pytest.mark.parametrize(
    "name,parameter", [("correlated", "correlation"), ("rayleigh", "time_correlation")]
)
def test_non_numeric_parameter_raises_value_error_naming_it(name, parameter):
    with pytest.raises(ValueError, match=rf"\b{parameter}\b"):
        make_channel(name, 2, 4, **{parameter: "0.5"})


def test_rician_negative_k_factor_db_is_valid():
    """``k_factor_db`` is in dB: negative values mean a weak line of sight (kappa < 1)."""
    model = RicianChannel(2, 4, k_factor_db=-20.0)
    assert model.k_factor_db == -20.0
