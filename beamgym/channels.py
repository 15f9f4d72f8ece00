"""Channel models: stationary processes of MU-MISO channels over coherence blocks.

Every model produces ``H``, complex ``[..., K, N]``, row k = user k's channel
(:mod:`beamgym.downlink`).
A model is a process: :meth:`ChannelModel.reset` starts an episode (drawing the large-scale
state that stays fixed for the episode: user positions, line-of-sight and cluster angles) and
:meth:`ChannelModel.step` moves to the next coherence block. The stochastic models write the
channel as ``H = mean(large_scale) + scatter(large_scale, Z)`` with white ``Z ~ CN(0, I)``;
time correlation is a Gauss-Markov process on ``Z``,

    ``Z_{t+1} = rho Z_t + sqrt(1 - rho^2) E_t``,  ``E_t ~ CN(0, I)``,

so the scattered part has lag-1 correlation exactly ``rho`` and every block has the stationary
distribution (``rho = 0``: i.i.d. block fading). Use
:func:`beamgym.fading.jakes_correlation` to get ``rho`` from a Doppler frequency.

Smaller K or N than the model's are taken as the *first* rows / columns: for every model here
that sub-array has exactly the distribution of the smaller model (the exponential correlation
and the ULA response are prefix-consistent), which is how the environments pad varying sizes.

:class:`FileChannel` replays channels loaded by :mod:`beamgym.channel_files`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from beamgym.arrays import Array, namespace
from beamgym.channel_files import load_channels
from beamgym.checks import check_count, check_number
from beamgym.sampling import Generator, complex_normal, integers, normal, uniform
from beamgym.units import db_to_linear

MAX_PATHS = 32
"""The most clusters, and the most rays per cluster, of the sparse channel."""


@dataclass
class ChannelState:
    """Where a channel process is: the episode's large-scale state plus the fading state."""

    large_scale: dict[str, Array] = field(default_factory=dict)
    fading: Array | None = None


def _constant(x: np.ndarray, like: Array) -> Array:
    """A NumPy constant in the backend, device and precision of ``like``."""
    if isinstance(like, torch.Tensor):
        dtype = like.dtype if x.dtype.kind == "c" else like.real.dtype
        return torch.as_tensor(x, device=like.device).to(dtype)
    return x


def ula_response(angles: Array, num_antennas: int) -> Array:
    """Half-wavelength ULA response ``a(theta)[n] = exp(j pi n sin theta)``, ``n = 0..N-1``.

    Args:
        angles: real ``[...]`` angles from broadside, radians.

    Returns:
        complex ``[..., N]`` with unit-modulus entries (``||a||^2 = N``).
    """
    xp = namespace(angles)
    n = _constant(np.arange(num_antennas, dtype=np.float64), angles)
    phase = math.pi * xp.sin(angles)[..., None] * n
    return xp.cos(phase) + 1j * xp.sin(phase)


class ChannelModel:
    """Base class: a stationary channel process with K users and N antennas.

    Subclasses implement :meth:`reset`, :meth:`step` and :meth:`channel`; :meth:`average_gain`
    gives the large-scale gain of each user (``E|h_kn|^2``), which scales CSI errors.
    """

    def __init__(self, num_users: int, num_antennas: int) -> None:
        check_count("num_users", num_users)
        check_count("num_antennas", num_antennas)
        self.num_users = num_users
        self.num_antennas = num_antennas

    def reset(self, rng: Generator, batch_shape: tuple[int, ...] = ()) -> ChannelState:
        """Start ``batch_shape`` independent episodes."""
        raise NotImplementedError

    def step(self, rng: Generator, state: ChannelState) -> ChannelState:
        """Advance every episode by one coherence block."""
        raise NotImplementedError

    def channel(self, state: ChannelState) -> Array:
        """The channel of the current block, complex ``[*batch_shape, K, N]``."""
        raise NotImplementedError

    def average_gain(self, state: ChannelState) -> Array | float:
        """Per-user large-scale gain ``E|h_kn|^2``, ``[*batch_shape, K]`` or a scalar."""
        return 1.0

    def sample(self, rng: Generator, batch_shape: tuple[int, ...] = ()) -> Array:
        """Independent channels ``[*batch_shape, K, N]`` (a fresh episode per sample)."""
        return self.channel(self.reset(rng, batch_shape))


class GaussianChannel(ChannelModel):
    """Base of the stochastic models: ``H = mean + scatter(Z)`` with Gauss-Markov ``Z``.

    Subclasses override :meth:`draw_large_scale`, :meth:`compose` and, if ``Z`` is not
    ``[K, N]``, :attr:`innovation_shape`.

    Args:
        time_correlation: lag-1 correlation ``rho`` in ``[0, 1)`` between consecutive blocks.
    """

    def __init__(self, num_users: int, num_antennas: int, time_correlation: float = 0.0) -> None:
        super().__init__(num_users, num_antennas)
        check_number("time_correlation", time_correlation, 0.0, 1.0, closed=False)
        self.time_correlation = float(time_correlation)

    @property
    def innovation_shape(self) -> tuple[int, int]:
        return (self.num_users, self.num_antennas)

    def draw_large_scale(self, rng: Generator, batch_shape: tuple[int, ...]) -> dict[str, Array]:
        return {}

    def compose(self, large_scale: dict[str, Array], z: Array) -> Array:
        return z

    def reset(self, rng: Generator, batch_shape: tuple[int, ...] = ()) -> ChannelState:
        large_scale = self.draw_large_scale(rng, batch_shape)
        return ChannelState(
            large_scale, complex_normal(rng, (*batch_shape, *self.innovation_shape))
        )

    def step(self, rng: Generator, state: ChannelState) -> ChannelState:
        fresh = complex_normal(rng, tuple(state.fading.shape))
        rho = self.time_correlation
        z = fresh if rho == 0.0 else rho * state.fading + math.sqrt(1.0 - rho**2) * fresh
        return ChannelState(state.large_scale, z)

    def channel(self, state: ChannelState) -> Array:
        return self.compose(state.large_scale, state.fading)


class RayleighChannel(GaussianChannel):
    """I.i.d. Rayleigh fading: ``h_kn ~ CN(0, 1)``, the standard benchmark channel."""


class CorrelatedChannel(GaussianChannel):
    """Exponentially correlated antennas: ``h_k = R^(1/2) z_k`` with ``R_ij = r^|i-j|``.

    Every entry has unit power and neighbouring antennas correlation ``r``
    (Loyka, IEEE Commun. Lett. 2001). Users are independent.

    Args:
        correlation: ``r`` in ``[0, 1)``.
    """

    def __init__(
        self,
        num_users: int,
        num_antennas: int,
        correlation: float = 0.7,
        time_correlation: float = 0.0,
    ) -> None:
        super().__init__(num_users, num_antennas, time_correlation)
        check_number("correlation", correlation, 0.0, 1.0, closed=False)
        self.correlation = float(correlation)
        idx = np.arange(num_antennas)
        self.covariance = self.correlation ** np.abs(idx[:, None] - idx[None, :])
        eigval, eigvec = np.linalg.eigh(self.covariance)
        self._sqrt = (eigvec * np.sqrt(np.clip(eigval, 0.0, None))) @ eigvec.T  # symmetric R^(1/2)

    def compose(self, large_scale: dict[str, Array], z: Array) -> Array:
        return z @ _constant(self._sqrt.astype(np.complex128), z)  # row k: (R^(1/2) z_k)^T


class RicianChannel(GaussianChannel):
    """Rician fading with a ULA line of sight.

    ``h_k = sqrt(kappa / (kappa + 1)) e^{j phi_k} a(theta_k) + sqrt(1 / (kappa + 1)) z_k`` with
    ``theta_k ~ U(-pi/2, pi/2)`` and ``phi_k ~ U(0, 2 pi)`` drawn per episode and
    :func:`ula_response` ``a``; every entry has unit average power.

    Args:
        k_factor_db: Rician K-factor ``kappa`` in dB (LoS-to-scattered power ratio).
    """

    def __init__(
        self,
        num_users: int,
        num_antennas: int,
        k_factor_db: float = 6.0,
        time_correlation: float = 0.0,
    ) -> None:
        super().__init__(num_users, num_antennas, time_correlation)
        check_number("k_factor_db", k_factor_db, -100.0, 100.0)
        self.k_factor_db = float(k_factor_db)
        kappa = db_to_linear(self.k_factor_db)
        self._los_amplitude = math.sqrt(kappa / (kappa + 1.0))
        self._scatter_amplitude = math.sqrt(1.0 / (kappa + 1.0))

    def draw_large_scale(self, rng: Generator, batch_shape: tuple[int, ...]) -> dict[str, Array]:
        shape = (*batch_shape, self.num_users)
        angles = uniform(rng, shape, -math.pi / 2, math.pi / 2)
        phases = uniform(rng, shape, 0.0, 2 * math.pi)
        xp = namespace(angles)
        rotation = (xp.cos(phases) + 1j * xp.sin(phases))[..., None]
        return {
            "line_of_sight": self._los_amplitude
            * rotation
            * ula_response(angles, self.num_antennas)
        }

    def compose(self, large_scale: dict[str, Array], z: Array) -> Array:
        return large_scale["line_of_sight"] + self._scatter_amplitude * z


class SparseChannel(GaussianChannel):
    """Clustered-sparse geometric channel on a half-wavelength ULA.

    ``h_k = sqrt(1 / L) sum_l alpha_kl a(theta_kl)`` with ``L = clusters * rays`` paths,
    gains ``alpha_kl ~ CN(0, 1)`` (the Gauss-Markov state), cluster angles
    ``U(-pi/2, pi/2)`` and ray angles spread ``N(0, angle_spread^2)`` around them (clipped to
    ``[-pi/2, pi/2]``), drawn per episode. ``E|h_kn|^2 = 1``, so ``E||h_k||^2 = N`` as for
    Rayleigh. Follows the clustered generator of the SALLO-M author's public code
    (github.com/FredZhang0413/ICL_pilot_precoding: 3 clusters x 5 rays, 10 degree spread).
    ``clusters`` and ``rays`` are at most ``MAX_PATHS`` = 32 each (TR 38.901's CDL profiles
    have at most 24 clusters of 20 rays).
    """

    def __init__(
        self,
        num_users: int,
        num_antennas: int,
        clusters: int = 3,
        rays: int = 5,
        angle_spread_deg: float = 10.0,
        time_correlation: float = 0.0,
    ) -> None:
        super().__init__(num_users, num_antennas, time_correlation)
        check_count("clusters", clusters, 1, MAX_PATHS)
        check_count("rays", rays, 1, MAX_PATHS)
        check_number("angle_spread_deg", angle_spread_deg, 0.0, 90.0)
        self.clusters, self.rays = clusters, rays
        self.angle_spread_deg = float(angle_spread_deg)

    @property
    def innovation_shape(self) -> tuple[int, int]:
        return (self.num_users, self.clusters * self.rays)

    def draw_large_scale(self, rng: Generator, batch_shape: tuple[int, ...]) -> dict[str, Array]:
        centres = uniform(
            rng, (*batch_shape, self.num_users, self.clusters, 1), -math.pi / 2, math.pi / 2
        )
        offsets = math.radians(self.angle_spread_deg) * normal(
            rng, (*batch_shape, self.num_users, self.clusters, self.rays)
        )
        xp = namespace(centres)
        angles = xp.clip(centres + offsets, -math.pi / 2, math.pi / 2)
        paths = angles.reshape((*batch_shape, self.num_users, self.clusters * self.rays))
        # [..., K, L, N]: steering vector of every path, pre-scaled by sqrt(1 / L)
        return {"steering": ula_response(paths, self.num_antennas) / math.sqrt(paths.shape[-1])}

    def compose(self, large_scale: dict[str, Array], z: Array) -> Array:
        return (z[..., None, :] @ large_scale["steering"])[..., 0, :]


class CellChannel(GaussianChannel):
    """Users dropped uniformly in a circular cell, with distance path loss and shadowing.

    ``h_k = sqrt(beta_k) z_k`` (Rayleigh small-scale fading) with
    ``beta_k = (d_k / R)^(-alpha) 10^(X_k / 10)``, ``X_k ~ N(0, shadowing_db^2)``, and ``d_k``
    uniform over the annulus ``[min_distance_m, cell_radius_m]``, all per episode. The gain is
    normalised to 1 for an unshadowed user at the cell edge, so ``snr_db`` is the **cell-edge
    SNR**; users nearer the BS see more (gcnwmmse #2 and Sionna #988 show what raw path-loss
    magnitudes do to learning). Defaults: 3GPP-like urban macro exponent and shadowing.
    """

    def __init__(
        self,
        num_users: int,
        num_antennas: int,
        cell_radius_m: float = 250.0,
        min_distance_m: float = 25.0,
        path_loss_exponent: float = 3.76,
        shadowing_db: float = 8.0,
        time_correlation: float = 0.0,
    ) -> None:
        super().__init__(num_users, num_antennas, time_correlation)
        check_number("cell_radius_m", cell_radius_m, 1e-3, 1e7)
        check_number("min_distance_m", min_distance_m, 1e-6, cell_radius_m, closed=False)
        check_number("path_loss_exponent", path_loss_exponent, 0.0, 10.0)
        check_number("shadowing_db", shadowing_db, 0.0, 30.0)
        self.cell_radius_m, self.min_distance_m = float(cell_radius_m), float(min_distance_m)
        self.path_loss_exponent, self.shadowing_db = float(path_loss_exponent), float(shadowing_db)

    def draw_large_scale(self, rng: Generator, batch_shape: tuple[int, ...]) -> dict[str, Array]:
        shape = (*batch_shape, self.num_users)
        r0, r1 = self.min_distance_m, self.cell_radius_m
        distance = uniform(rng, shape, r0**2, r1**2) ** 0.5
        shadowing_db = self.shadowing_db * normal(rng, shape)
        gain = (distance / r1) ** (-self.path_loss_exponent) * db_to_linear(shadowing_db)
        return {"gain": gain, "distance_m": distance}

    def average_gain(self, state: ChannelState) -> Array:
        return state.large_scale["gain"]

    def compose(self, large_scale: dict[str, Array], z: Array) -> Array:
        xp = namespace(z)
        return xp.sqrt(large_scale["gain"])[..., None] * z


class FileChannel(ChannelModel):
    """Channels read from a file ``[S, K_file, N_file]`` (see :mod:`beamgym.channel_files`).

    An episode starts at a uniformly drawn sample. With ``order="random"`` every block is
    another uniformly drawn sample (i.i.d. over the file); with ``order="sequential"`` the
    episode walks through consecutive samples (wrapping around), which replays a measured
    or simulated time series. The first ``num_users`` users and ``num_antennas`` antennas of
    each sample are used. The large-scale gain of user k is its mean ``|h_kn|^2`` over the file.

    Args:
        path: ``.npy``, ``.npz`` or ``.mat`` file.
        key: array name inside a ``.npz``/``.mat`` file (optional if it holds one array).
        order: ``"random"`` or ``"sequential"``.
    """

    ORDERS = ("random", "sequential")

    def __init__(
        self,
        num_users: int,
        num_antennas: int,
        path: str,
        key: str | None = None,
        order: str = "random",
    ) -> None:
        super().__init__(num_users, num_antennas)
        if order not in self.ORDERS:
            raise ValueError(f"order must be one of {self.ORDERS}, got {order!r}")
        data = load_channels(path, key)
        _, file_users, file_antennas = data.shape
        if num_users > file_users or num_antennas > file_antennas:
            raise ValueError(
                f"channel file {path} has K={file_users}, N={file_antennas}; num_users and "
                f"num_antennas must not exceed them, got {num_users} and {num_antennas}"
            )
        self.path, self.key, self.order = path, key, order
        self.data = data[:, :num_users, :num_antennas]
        self.gain = np.mean(np.abs(self.data) ** 2, axis=(0, 2))
        self._tensors: dict[torch.device, torch.Tensor] = {}

    def _samples(self, like: Array) -> Array:
        if not isinstance(like, torch.Tensor):
            return self.data
        if like.device not in self._tensors:
            self._tensors[like.device] = torch.as_tensor(self.data, device=like.device).to(
                torch.complex64
            )
        return self._tensors[like.device]

    def reset(self, rng: Generator, batch_shape: tuple[int, ...] = ()) -> ChannelState:
        return ChannelState({"index": integers(rng, batch_shape, len(self.data))})

    def step(self, rng: Generator, state: ChannelState) -> ChannelState:
        if self.order == "random":
            return self.reset(rng, tuple(state.large_scale["index"].shape))
        return ChannelState({"index": (state.large_scale["index"] + 1) % len(self.data)})

    def channel(self, state: ChannelState) -> Array:
        index = state.large_scale["index"]
        return self._samples(index)[index]

    def average_gain(self, state: ChannelState) -> Array:
        index = state.large_scale["index"]
        return (
            torch.as_tensor(self.gain, device=index.device).float()
            if isinstance(index, torch.Tensor)
            else self.gain
        )


CHANNELS: dict[str, type[ChannelModel]] = {
    "rayleigh": RayleighChannel,
    "correlated": CorrelatedChannel,
    "rician": RicianChannel,
    "sparse": SparseChannel,
    "cell": CellChannel,
    "file": FileChannel,
}
"""Channel models by name, for ``gym.make(..., channel=name, channel_params={...})``."""


def make_channel(name: str, num_users: int, num_antennas: int, **params: object) -> ChannelModel:
    """Build a registered channel model; unknown names or parameters raise ``ValueError``."""
    if name not in CHANNELS:
        raise ValueError(f"channel must be one of {sorted(CHANNELS)}, got {name!r}")
    try:
        return CHANNELS[name](num_users, num_antennas, **params)
    except TypeError as error:  # unexpected keyword
        raise ValueError(f"channel_params for {name!r}: {error}") from None
