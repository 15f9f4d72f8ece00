"""Action parameterisations: three maps from a ``Box(-1, 1)`` action to a feasible beamformer.

Each map takes the action, the channel the agent observes (the estimate ``H``, complex
``[..., K, N]``), the budget ``P``, the noise power ``sigma2`` and the power mode
(``full_power``: ``||W||_F^2 = P``, the sphere, for the rate utilities; ``<= P``, the ball,
for energy efficiency), and returns ``W`` complex ``[..., N, K]``, feasible by construction
and finite for every action in the box. NumPy in gives NumPy out, torch in gives torch out
(batched over leading dims, differentiable); ``W`` has ``H``'s dtype.

| name | dim | action |
|---|---|---|
| ``"beamformer"`` | ``2 K_max N_max`` | the normalised ``W`` itself (:meth:`Layout.action_to_beamformer`) |
| ``"structure"`` | ``2 K_max`` | powers ``p`` and dual weights ``lambda`` of the optimal structure |
| ``"power"`` | ``K_max`` | powers ``p`` over fixed unit-norm RZF directions |

The optimal beamforming structure (Bjornson, Bengtsson, Ottersten, IEEE Signal Processing
Magazine 31(4), 2014) in beamgym's convention (row ``h_k`` of ``H``, user k receives
``h_k w_k``, so the matched filter is ``h_k^H``)::

    w_k = sqrt(p_k) d_k / ||d_k||,   d_k = (I_N + sum_j lambda_j h_j^H h_j / sigma2)^{-1} h_k^H
                                         = (I_N + H^H diag(lambda) H / sigma2)^{-1} h_k^H

with ``p, lambda >= 0`` and ``sum_k lambda_k = sum_k p_k`` (strong duality: ``lambda`` are the
virtual uplink powers, and the uplink spends what the downlink spends). Every point of the
rate region's Pareto boundary at transmit power ``sum_k p_k`` has this form, so the sum-rate,
weighted-sum-rate, max-min, proportional-fair and energy-efficiency optima are all exactly
some action. WMMSE's transmitter step is one instance: ``(A + mu I)^{-1} H^H diag(a omega u^*)``
with ``A = H^H diag(a omega |u|^2) H`` is column-wise ``d_k`` at ``lambda = sigma2 a omega
|u|^2 / mu``; the max-min solution is one with ``lambda`` its uplink powers ``q``. RZF is the
structure at equal dual weights: ``lambda_j = P / K`` gives ``d_k`` parallel to column k of
``H^H (H H^H + (K sigma2 / P) I)^{-1}`` (push-through identity), the ``"power"`` map's directions.

The simplex maps (:func:`simplex_powers`, inverse :func:`simplex_action`): with
``x = (a + 1) / 2`` in ``[0, 1]^K`` (zero for inactive users),

* sphere: ``p = P x / sum_k x_k`` (``sum x = 0``: equal powers ``P / K_active``); every
  ``p >= 0`` with ``sum p = P`` is reached, e.g. from ``x = p / max_k p_k``;
* ball: ``p = P x / max(sum_k x_k, 1)``; every ``p >= 0`` with ``sum p <= P`` is reached,
  from ``x = p / P`` (the all ``-1`` action transmits nothing);
* dual weights: ``lambda = (sum_k p_k) y / sum_k y_k`` with ``y = (b + 1) / 2`` the second
  half, equal weights when ``sum y = 0``; inverse ``y = lambda / max_k lambda_k``.

Only active users count in the sums and the maxima; inactive users get ``p = lambda = 0`` and
zero columns, padded antennas (zero columns of ``H``) zero rows of ``W``. The result goes
through :func:`beamgym.downlink.project_power`, which on the ball only removes rounding and
on the sphere also moves the power of an active user whose channel is all zero (``d_k = 0``)
onto the others; if every active channel is zero, ``W = 0``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import torch

from beamgym.arrays import Array, abs2, at_least, at_most, namespace
from beamgym.checks import check_choice
from beamgym.downlink import project_power
from beamgym.layout import Layout


def structure_dim(max_users: int) -> int:
    """Length of a ``"structure"`` action: ``2 K_max`` (``[powers | dual weights]``)."""
    return 2 * max_users


def power_dim(max_users: int) -> int:
    """Length of a ``"power"`` action: ``K_max``."""
    return max_users


def _real(value: Array | float, like: Array) -> Array | float:
    """A scalar as a float, an array in ``like``'s real dtype (and device)."""
    if not hasattr(value, "shape"):
        return float(value)
    dtype = like.real.dtype
    if isinstance(like, torch.Tensor):
        return torch.as_tensor(value, dtype=dtype, device=like.device)
    return np.asarray(value, dtype=dtype)


def _expand(value: Array | float) -> Array | float:
    """A scalar or ``[...]`` value broadcastable against per-user values ``[..., K]``."""
    return value[..., None] if hasattr(value, "shape") else value


def _mode(full_power: bool | Array, like: Array) -> bool | Array:
    """``full_power`` as a Python bool, or a bool array ``[...]`` of ``like``'s backend."""
    if not hasattr(full_power, "shape") or full_power.shape == ():
        return bool(full_power)
    if isinstance(like, torch.Tensor):
        return torch.as_tensor(full_power, device=like.device) != 0
    return np.asarray(full_power) != 0


def _active(mask: Array | None, like: Array) -> Array | None:
    """A 0/1 or bool mask as 0/1 in ``like``'s real dtype (``None`` stays ``None``)."""
    if mask is None:
        return None
    if isinstance(like, torch.Tensor):
        return (torch.as_tensor(mask, device=like.device) != 0).to(like.real.dtype)
    return (np.asarray(mask) != 0).astype(like.real.dtype)


def _safe(denominator: Array) -> Array:
    """``denominator`` with its zeros replaced by 1 (the numerator is 0 there too)."""
    return namespace(denominator).where(denominator > 0, denominator, 1.0)


def _fractions(action: Array, user_mask: Array | None) -> Array:
    """``x = (a + 1) / 2`` clipped to ``[0, 1]``, zero for inactive users."""
    x = at_most(at_least((action + 1.0) / 2.0, 0.0), 1.0)
    return x if user_mask is None else x * user_mask


def simplex_powers(
    action: Array,
    power: Array | float,
    *,
    full_power: bool | Array,
    user_mask: Array | None = None,
) -> Array:
    """Per-user powers from actions in ``[-1, 1]``: onto the simplex or into the ball.

    With ``x = (a + 1) / 2`` (zero for inactive users) and ``S = sum_k x_k``::

        sphere (full_power):  p = P x / S             (S = 0: p = P / K_active, active users)
        ball:                 p = P x / max(S, 1)

    Both are continuous (apart from the sphere's ``x = 0``) and onto: :func:`simplex_action`
    is a right inverse.

    Args:
        action: real ``[..., K]``; entries outside ``[-1, 1]`` are clipped.
        power: ``P``, scalar or ``[...]``.
        full_power: sphere or ball; a bool or a bool array ``[...]``.
        user_mask: ``[..., K]`` 0/1 or bool, active users (``None``: all).

    Returns:
        real ``[..., K]``, ``>= 0``, zero for inactive users, summing to ``P`` (sphere) or at
        most ``P`` (ball).
    """
    xp = namespace(action)
    user_mask = _active(user_mask, action)
    x = _fractions(action, user_mask)
    total = x.sum(axis=-1)
    full_power = _mode(full_power, action)
    if full_power is False:
        return _expand(power) * x / at_least(total, 1.0)[..., None]
    empty = total <= 0
    uniform = xp.ones_like(x) if user_mask is None else user_mask + 0.0 * x
    x_sphere = xp.where(empty[..., None], uniform, x)
    total_sphere = xp.where(empty, uniform.sum(axis=-1), total)
    if full_power is True:
        x, denominator = x_sphere, total_sphere
    else:
        x = xp.where(full_power[..., None], x_sphere, x)
        denominator = xp.where(full_power, total_sphere, at_least(total, 1.0))
    return _expand(power) * x / _safe(denominator)[..., None]


def simplex_action(
    p: Array,
    power: Array | float,
    *,
    full_power: bool | Array,
    user_mask: Array | None = None,
) -> Array:
    """The action that :func:`simplex_powers` maps to ``p``: ``a = 2 x - 1`` with::

        sphere:  x = p / max_k p_k     (exact for p >= 0, sum p = P; p = 0 gives a = -1)
        ball:    x = p / P             (exact for p >= 0, sum p <= P)

    Inactive users get ``a = -1``. Args as :func:`simplex_powers`, with ``p`` real
    ``[..., K]``; returns real ``[..., K]`` in ``[-1, 1]``.
    """
    xp = namespace(p)
    user_mask = _active(user_mask, p)
    p = at_least(p, 0.0) if user_mask is None else at_least(p, 0.0) * user_mask
    full_power = _mode(full_power, p)
    largest = _safe(xp.amax(p, axis=-1))[..., None]
    budget = _expand(power)
    if full_power is True:
        x = p / largest
    elif full_power is False:
        x = p / budget
    else:
        x = xp.where(full_power[..., None], p / largest, p / budget)
    return at_most(at_least(2.0 * x - 1.0, -1.0), 1.0)


def unit_columns(D: Array) -> Array:
    """Columns of ``D [..., N, K]`` scaled to unit norm; zero columns stay zero.

    Each column is first divided by its largest magnitude, so that tiny columns (weak channels
    in float32) do not underflow to a zero norm.
    """
    xp = namespace(D)
    largest = _safe(xp.amax(abs2(D), axis=-2)) ** 0.5
    D = D / largest[..., None, :]
    norm2 = abs2(D).sum(axis=-2)
    return D * xp.where(norm2 > 0, 1.0 / _safe(norm2) ** 0.5, 0.0)[..., None, :]


def _eye(n: int, like: Array) -> Array:
    if isinstance(like, torch.Tensor):
        return torch.eye(n, dtype=like.dtype, device=like.device)
    return np.eye(n, dtype=like.dtype)


def _hermitian(H: Array) -> Array:
    return H.conj().swapaxes(-1, -2)


def regularized_directions(H: Array, regularizer: Array | float) -> Array:
    """RZF directions ``H^H (H H^H + r I_K)^{-1}`` ``[..., N, K]`` (Peel, Hochwald,
    Swindlehurst, IEEE Trans. Commun. 53(1), 2005), not normalised.

    Args:
        H: complex ``[..., K, N]``; zero rows (inactive users) give zero columns when
            ``r > 0``.
        regularizer: ``r > 0``, scalar or ``[...]``; the MMSE choice is ``K sigma2 / P``.
    """
    xp = namespace(H)
    r = regularizer[..., None, None] if hasattr(regularizer, "shape") else regularizer
    gram = H @ _hermitian(H) + r * _eye(H.shape[-2], H)
    return _hermitian(xp.linalg.solve(gram, H))


def structure_directions(H: Array, dual: Array, noise_power: Array | float = 1.0) -> Array:
    """``d_k = (I_N + H^H diag(lambda) H / sigma2)^{-1} h_k^H`` as columns ``[..., N, K]``
    (Bjornson et al. 2014, in beamgym's row convention), not normalised.

    The matrix is Hermitian with eigenvalues ``>= 1``, so the solve exists for any ``K``,
    ``N`` and ``lambda >= 0``; zero rows of ``H`` give zero columns, zero columns of ``H``
    (padded antennas) zero rows.

    Args:
        H: complex ``[..., K, N]``; dual: ``lambda``, real ``[..., K]``, ``>= 0``;
        noise_power: ``sigma2``, scalar or ``[...]``.
    """
    xp = namespace(H)
    H_h = _hermitian(H)
    scaled = (dual / _expand(noise_power))[..., None, :]
    matrix = _eye(H.shape[-1], H) + (H_h * scaled) @ H
    return xp.linalg.solve(matrix, H_h)


def _masked(channel: Array, user_mask: Array | None, antenna_mask: Array | None) -> Array:
    if user_mask is not None:
        channel = channel * user_mask[..., :, None]
    if antenna_mask is not None:
        channel = channel * antenna_mask[..., None, :]
    return channel


def _check_length(what: str, formula: str, length: int, users: int, action: Array) -> None:
    if action.shape[-1] != length:
        raise ValueError(
            f"{what} has {formula} = {length} entries for K={users} users, got {action.shape[-1]}"
        )


def _inputs(
    action: Array,
    channel: Array,
    power: Array | float,
    noise_power: Array | float,
    full_power: bool | Array,
    user_mask: Array | None,
    antenna_mask: Array | None,
) -> tuple:
    """A map's arguments in ``channel``'s backend and real dtype, the masks as 0/1 and the
    channel masked: ``(action, H, power, noise_power, full_power, user_mask, antenna_mask)``."""
    user_mask, antenna_mask = _active(user_mask, channel), _active(antenna_mask, channel)
    return (
        _real(action, channel),
        _masked(channel, user_mask, antenna_mask),
        _real(power, channel),
        _real(noise_power, channel),
        _mode(full_power, channel),
        user_mask,
        antenna_mask,
    )


def _finish(
    directions: Array,
    p: Array,
    power: Array | float,
    full_power: bool | Array,
    user_mask: Array | None,
    antenna_mask: Array | None,
) -> Array:
    """``W = project_power(unit_columns(D) sqrt(p))``, exactly zero where masked."""
    xp = namespace(p)
    amplitude = xp.where(p > 0, xp.sqrt(_safe(p)), 0.0)  # a zero gradient, not inf, at p = 0
    W = unit_columns(directions) * amplitude[..., None, :]
    if user_mask is not None:
        W = W * user_mask[..., None, :]
    if antenna_mask is not None:
        W = W * antenna_mask[..., :, None]
    return project_power(W, power, full_power=full_power)


def structure_beamformer(
    action: Array,
    channel: Array,
    power: Array | float,
    noise_power: Array | float = 1.0,
    *,
    full_power: bool | Array,
    user_mask: Array | None = None,
    antenna_mask: Array | None = None,
) -> Array:
    """The ``"structure"`` map: ``action = [a | b]`` ``[..., 2 K]`` to ``W [..., N, K]``.

    ``p = simplex_powers(a, P)``, ``lambda = simplex_powers(b, sum_k p_k, sphere)`` and
    ``w_k = sqrt(p_k) d_k / ||d_k||``, ``d_k = (I_N + H^H diag(lambda) H / sigma2)^{-1} h_k^H``
    (see the module docstring for the equations and why ``sum lambda = sum p``).

    Args:
        action: real ``[..., 2 K]`` in ``[-1, 1]``: ``K`` power entries, then ``K`` dual ones.
        channel: ``H``, complex ``[..., K, N]`` (the estimate the agent observes).
        power: ``P``, scalar or ``[...]``; noise_power: ``sigma2``, scalar or ``[...]``.
        full_power: ``||W||_F^2 = P`` (True) or ``<= P``; a bool or a bool array ``[...]``.
        user_mask, antenna_mask: ``[..., K]`` / ``[..., N]`` 0/1 or bool (``None``: all).

    Returns:
        complex ``[..., N, K]`` in ``channel``'s dtype.
    """
    users = channel.shape[-2]
    _check_length("a structure action", "2 K", structure_dim(users), users, action)
    action, H, power, noise_power, full_power, user_mask, antenna_mask = _inputs(
        action, channel, power, noise_power, full_power, user_mask, antenna_mask
    )
    p = simplex_powers(action[..., :users], power, full_power=full_power, user_mask=user_mask)
    dual = simplex_powers(action[..., users:], p.sum(axis=-1), full_power=True, user_mask=user_mask)
    directions = structure_directions(H, dual, noise_power)
    return _finish(directions, p, power, full_power, user_mask, antenna_mask)


def structure_action(
    p: Array,
    dual: Array,
    power: Array | float,
    *,
    full_power: bool | Array,
    user_mask: Array | None = None,
) -> Array:
    """The action ``[..., 2 K]`` that :func:`structure_beamformer` maps to powers ``p`` and
    dual weights ``lambda`` (both real ``[..., K]``, ``>= 0``): ``[simplex_action(p, P) |
    2 lambda / max_k lambda_k - 1]``.

    Exact when ``p`` is feasible (``sum p = P`` on the sphere, ``<= P`` on the ball) and
    ``sum lambda = sum p``; otherwise the map returns ``lambda`` rescaled to ``sum p`` (only
    its direction is a free parameter).
    """
    xp = namespace(p)
    return xp.concatenate(
        [
            simplex_action(p, power, full_power=full_power, user_mask=user_mask),
            simplex_action(dual, 1.0, full_power=True, user_mask=user_mask),
        ],
        axis=-1,
    )


def power_beamformer(
    action: Array,
    channel: Array,
    power: Array | float,
    noise_power: Array | float = 1.0,
    *,
    full_power: bool | Array,
    user_mask: Array | None = None,
    antenna_mask: Array | None = None,
) -> Array:
    """The ``"power"`` map: ``action [..., K]`` to ``W = D diag(sqrt(p))`` ``[..., N, K]``.

    ``D``: unit-norm columns of :func:`regularized_directions` ``H^H (H H^H + (K_active
    sigma2 / P) I)^{-1}``; ``p = simplex_powers(action, P)``. The all ``+1`` (or all ``-1``)
    action on the sphere is RZF with ``P / K`` per stream. Args and returns as
    :func:`structure_beamformer`, with a ``[..., K]`` action.
    """
    users = channel.shape[-2]
    _check_length("a power action", "K", power_dim(users), users, action)
    action, H, power, noise_power, full_power, user_mask, antenna_mask = _inputs(
        action, channel, power, noise_power, full_power, user_mask, antenna_mask
    )
    count = users if user_mask is None else user_mask.sum(axis=-1)
    regularizer = count * noise_power / power
    if user_mask is not None:  # no active user: any r > 0 gives the zero beamformer
        regularizer = namespace(H).where(count > 0, regularizer, 1.0)
    directions = regularized_directions(H, regularizer)
    p = simplex_powers(action, power, full_power=full_power, user_mask=user_mask)
    return _finish(directions, p, power, full_power, user_mask, antenna_mask)


def power_action(
    p: Array,
    power: Array | float,
    *,
    full_power: bool | Array,
    user_mask: Array | None = None,
) -> Array:
    """The action ``[..., K]`` that :func:`power_beamformer` maps to powers ``p``
    (:func:`simplex_action`)."""
    return simplex_action(p, power, full_power=full_power, user_mask=user_mask)


def layout_beamformer(
    action: Array,
    channel: Array,
    power: Array | float,
    noise_power: Array | float = 1.0,
    *,
    full_power: bool | Array,
    user_mask: Array | None = None,
    antenna_mask: Array | None = None,
) -> Array:
    """The ``"beamformer"`` map in the common signature: :meth:`Layout.action_to_beamformer`
    for ``channel``'s ``K x N`` (``channel`` and ``noise_power`` give only the sizes)."""
    del noise_power
    users, antennas = channel.shape[-2:]
    mask = None
    if user_mask is not None or antenna_mask is not None:
        users_on = 1.0 if user_mask is None else _active(user_mask, channel)[..., None, :]
        antennas_on = 1.0 if antenna_mask is None else _active(antenna_mask, channel)[..., None]
        mask = antennas_on * users_on
    return Layout(users, antennas).action_to_beamformer(
        action, power, full_power=full_power, mask=mask
    )


@dataclass(frozen=True)
class ActionMap:
    """A registered action parameterisation.

    Attributes:
        name: the key in :data:`ACTIONS`.
        dim: the action length for ``(max_users, max_antennas)``.
        to_beamformer: ``(action, channel, power, noise_power, *, full_power, user_mask,
            antenna_mask) -> W``, feasible by construction.
    """

    name: str
    dim: Callable[[int, int], int]
    to_beamformer: Callable[..., Array]

    def space(self, max_users: int, max_antennas: int) -> gym.spaces.Box:
        """The action space ``Box(-1, 1, (dim,), float32)``."""
        return gym.spaces.Box(-1.0, 1.0, (self.dim(max_users, max_antennas),), dtype=np.float32)


ACTIONS: dict[str, ActionMap] = {
    "beamformer": ActionMap("beamformer", lambda k, n: Layout(k, n).action_dim, layout_beamformer),
    "structure": ActionMap("structure", lambda k, n: structure_dim(k), structure_beamformer),
    "power": ActionMap("power", lambda k, n: power_dim(k), power_beamformer),
}
"""The action parameterisations by name (the environments' ``action=`` values)."""


def get_action(name: str) -> ActionMap:
    """Look an action parameterisation up by name; unknown names raise ``ValueError``."""
    check_choice("action", name, ACTIONS)
    return ACTIONS[name]
