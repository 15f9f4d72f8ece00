"""The MU-MISO downlink signal model: SINR, rates, transmit power and the power projection.

Conventions, used by every formula, test and solver in the project:

* ``H``: complex ``[..., K, N]``; row k is user k's channel as seen at the receiver, so the
  received signal of user k is ``y_k = (H @ W)[k, :] s + n_k`` with ``n_k ~ CN(0, sigma2)``.
* ``W``: complex ``[..., N, K]``; column k is user k's beamformer; power ``||W||_F^2 <= P``.
* Leading ``...`` dims are batch dims; NumPy in gives NumPy out, torch in gives torch out with
  autograd (the learned solvers train on minus the utility computed here).
"""

from __future__ import annotations

import math

from beamgym.arrays import Array, abs2, at_most, namespace, squared_norm

MAX_CHANNEL_ENTRY = 1e4
"""The largest ``|H[k, n]|`` beamgym accepts (channel files, solver inputs): 80 dB above a
unit-variance channel. With the largest budget a scenario allows (``snr_db`` 100 with
``noise_power`` 1e15, so ``P = 1e25``) every gain ``|(H W)_kj|^2`` then stays finite in
float32, the precision of the vector environment and of the learned solvers."""


def channel_gains(H: Array, W: Array) -> Array:
    """Received power of every stream at every user: ``G[..., k, j] = |(H W)_kj|^2``.

    Args:
        H: complex ``[..., K, N]``.
        W: complex ``[..., N, K]``.

    Returns:
        real ``[..., K, K]``; the diagonal is the useful signal, the rest is interference.
    """
    return abs2(H @ W)


def _per_user(noise_power: Array | float) -> Array | float:
    """``sigma2`` broadcastable against per-user values ``[..., K]``."""
    return noise_power[..., None] if hasattr(noise_power, "shape") else noise_power


def sinr(H: Array, W: Array, noise_power: Array | float = 1.0) -> Array:
    """Signal-to-interference-plus-noise ratio of every user.

    ``SINR_k = |(HW)_kk|^2 / (sum_{j != k} |(HW)_kj|^2 + sigma2)``  (Shi et al. 2011, eq. (2)).

    Args:
        H: complex ``[..., K, N]`` channels.
        W: complex ``[..., N, K]`` beamformers.
        noise_power: ``sigma2``, linear; a scalar or an array broadcastable to ``[...]``.

    Returns:
        real ``[..., K]``.
    """
    gains = channel_gains(H, W)
    signal = gains.diagonal(0, -2, -1)
    interference = gains.sum(axis=-1) - signal
    return signal / (interference + _per_user(noise_power))


def rate_from_sinr(sinr_values: Array) -> Array:
    """Shannon rate ``log2(1 + SINR)`` in bit/s/Hz (Gaussian signalling, interference as noise)."""
    return namespace(sinr_values).log2(1.0 + sinr_values)


def rates(H: Array, W: Array, noise_power: Array | float = 1.0) -> Array:
    """Achievable rate of every user, ``R_k = log2(1 + SINR_k)`` in bit/s/Hz, real ``[..., K]``."""
    return rate_from_sinr(sinr(H, W, noise_power))


def rate_gradient(
    H: Array, W: Array, noise_power: Array | float = 1.0, weights: Array | None = None
) -> Array:
    """Gradient of ``sum_k u_k R_k`` with respect to ``conj(W)`` (Wirtinger), in closed form.

    With ``A = H W``, ``T_k = sum_j |A_kj|^2 + sigma2`` and ``I_k = T_k - |A_kk|^2``,
    ``R_k = log2(T_k / I_k)`` and ``d|A_kj|^2 / dconj(W)`` is ``h_k^H A_kj`` in column j, so::

        dsum_k u_k R_k / dconj(W) = H^H (diag(u / T) A - diag(u / I) (A - diag(A))) / ln 2

    It is what projected gradient ascent on the rates steps along (one matrix product each
    way instead of an autograd pass), and it is differentiable itself. Autograd's gradient of
    the same sum, for a real loss of complex ``W``, is twice this.

    Args:
        H: complex ``[..., K, N]``; W: complex ``[..., N, K]``; noise_power: ``sigma2``,
            scalar or ``[...]``; weights: ``u``, real ``[..., K]`` (``None``: all ones).

    Returns:
        complex ``[..., N, K]``.
    """
    A = H @ W
    gains = abs2(A)
    signal = gains.diagonal(0, -2, -1)
    total = gains.sum(axis=-1) + _per_user(noise_power)
    interference = total - signal
    u = 1.0 if weights is None else weights
    # diag(u/T) A - diag(u/I) (A - diag(A)) = diag(u/T - u/I) A + diag(u A_kk / I)
    rows = (u / total - u / interference)[..., None]
    diagonal = (u * A.diagonal(0, -2, -1) / interference)[..., None, :]
    H_h = H.conj().swapaxes(-1, -2)
    return (H_h @ (A * rows) + H_h * diagonal) / math.log(2.0)


def transmit_power(W: Array) -> Array:
    """Total transmit power ``||W||_F^2``: complex ``[..., N, K]`` -> real ``[...]``."""
    return squared_norm(W)


def project_power(W: Array, power: Array | float, *, full_power: bool | Array = False) -> Array:
    """Make a beamformer feasible: the one power projection used across beamgym.

    Without ``full_power`` this is the Euclidean projection onto the ball ``||W||_F^2 <= P``:
    ``W * min(1, sqrt(P / ||W||_F^2))``. With ``full_power=True`` W is scaled onto the sphere
    ``||W||_F^2 = P``; this is optimal for every utility that grows when all beamformers are
    scaled up together (all rate utilities: scaling W by c > 1 raises every SINR), and is not
    what energy efficiency wants.

    Args:
        W: complex ``[..., N, K]``.
        power: budget ``P`` (linear), scalar or broadcastable to ``[...]``.
        full_power: scale onto the sphere instead of projecting onto the ball; a bool, or a
            bool array ``[...]`` choosing per sample.

    Returns:
        complex ``[..., N, K]`` with ``||W||_F^2 <= P`` (``== P`` with ``full_power``, unless
        ``W`` is all zero, which is returned unchanged).
    """
    xp = namespace(W)
    used = transmit_power(W)
    scale = xp.sqrt(power / xp.where(used > 0, used, 1.0))  # exact for any W != 0; 0 stays 0
    if isinstance(full_power, bool):
        scale = scale if full_power else at_most(scale, 1.0)
    else:
        scale = xp.where(full_power, scale, at_most(scale, 1.0))
    return W * scale[..., None, None]
