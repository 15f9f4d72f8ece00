"""How observations and actions are laid out as flat real vectors, and back.

Every beamgym environment (every id, single and vector) uses the same layout, sized by the
largest ``K_max`` users and ``N_max`` antennas of its configuration, so an agent written for
one id reads any other. Inactive (padded) users and antennas are the *last* rows / columns and
are zero.

Observation, ``float32 [obs_dim]`` with ``obs_dim = 2 K_max N_max + 1 + 2 K_max + N_max + U``:

| field | size | content |
|---|---|---|
| ``channel`` | ``K_max * 2 N_max`` | row k = ``[Re h_k | Im h_k]`` of the channel *estimate* |
| ``snr_db`` | 1 | this episode's transmit SNR ``10 log10(P / noise_power)`` |
| ``user_mask`` | ``K_max`` | 1 for active users, 0 for padding |
| ``antenna_mask`` | ``N_max`` | 1 for active antennas, 0 for padding |
| ``weights`` | ``K_max`` | user weights ``a_k`` (0 for padding) |
| ``task`` | ``U`` | one-hot of the utility paid this episode, in :data:`TASKS` order |

Action, ``float32 [K_max * 2 N_max]`` in ``[-1, 1]``: row k = ``[Re a_k | Im a_k]``, mapped by
:func:`action_to_beamformer` to ``W = Pi_P(sqrt(P) A^T)`` with ``Pi_P`` the power projection
(onto the sphere for the rate utilities, onto the ball for energy efficiency): an action of
unit Frobenius norm uses the whole budget, and every feasible ``W`` is exactly
``beamformer_to_action(W)`` (the power adapter of BERT4beam, Li et al., arXiv 2509.11056).
"""

from __future__ import annotations

from beamgym.arrays import Array, at_least, namespace, to_complex, to_real, transpose
from beamgym.downlink import project_power

TASK_LAYOUTS: dict[str, tuple[str, ...]] = {
    "v0": ("sum_rate", "weighted_sum_rate", "min_rate", "proportional_fair", "energy_efficiency"),
}
"""The order of the observation's one-hot ``task`` field by environment version (the ``-v0``
ids use ``"v0"``), which is also the order of UBERT's task embedding and of the trained RL
policies' inputs. It is written out, never derived from the utility registry: a utility
registered later is no environment task until a new version lists it (new ids, a longer
one-hot), so no trained agent's input changes meaning."""

TASKS: tuple[str, ...] = TASK_LAYOUTS["v0"]
"""The task layout of the registered ids: utility names in the order of the one-hot."""


def _largest_below_one(action: Array, full_power: bool | Array) -> Array:
    """The action times the power of two that brings its largest entry into ``[0.5, 1)``
    (at most ``2^126``, within float32's range), on the samples spent at full power.

    Onto the sphere the scale of ``A`` is irrelevant, and a power of two is exact in floating
    point, so the beamformer is bit-identical; what it prevents is ``||A||^2`` underflowing to
    0 (an action of 1e-30 everywhere is 1e-60 squared, below float32's range) and the
    projection then sending nothing instead of ``P``. The scale is one ``ldexp`` per sample,
    then a product: ``ldexp`` on every entry cost torch 1 ms per 4096 x 64 batch.
    """
    xp = namespace(action)
    largest = xp.amax(xp.abs(action), axis=-1)
    _, exponent = xp.frexp(largest)
    exponent = at_least(exponent, -126)
    if full_power is not True:
        exponent = xp.where(full_power, exponent, 0)
    return action * xp.ldexp(xp.ones_like(largest), -exponent)[..., None]


def _sqrt(power: Array | float) -> Array | float:
    """``sqrt(P)`` shaped to scale ``[..., N, K]`` arrays; ``P`` is a scalar or ``[...]``."""
    return namespace(power).sqrt(power)[..., None, None] if hasattr(power, "shape") else power**0.5


class Layout:
    """Observation and action layout for ``max_users`` x ``max_antennas`` (see module doc).

    Attributes:
        slices: the observation's fields as slices of its last axis.
        obs_dim, action_dim: lengths of the flat observation and action.
    """

    def __init__(self, max_users: int, max_antennas: int) -> None:
        self.max_users, self.max_antennas = max_users, max_antennas
        sizes = {
            "channel": 2 * max_users * max_antennas,
            "snr_db": 1,
            "user_mask": max_users,
            "antenna_mask": max_antennas,
            "weights": max_users,
            "task": len(TASKS),
        }
        self.slices: dict[str, slice] = {}
        start = 0
        for name, size in sizes.items():
            self.slices[name] = slice(start, start + size)
            start += size
        self.obs_dim = start
        self.action_dim = 2 * max_users * max_antennas

    def pack_context(
        self, snr_db: Array, user_mask: Array, antenna_mask: Array, weights: Array, task: Array
    ) -> Array:
        """The per-episode part of the observation (everything after ``channel``), float32.

        Args:
            snr_db: ``[...]``; user_mask: ``[..., K_max]``; antenna_mask: ``[..., N_max]``;
            weights: ``[..., K_max]``; task: int ``[...]``, index into :data:`TASKS`.

        Returns:
            ``[..., obs_dim - 2 K_max N_max]``.
        """
        xp = namespace(user_mask)
        one_hot = task[..., None] == xp.arange(len(TASKS), device=user_mask.device)
        parts = [
            xp.asarray(snr_db, dtype=user_mask.dtype)[..., None],
            user_mask,
            antenna_mask,
            weights,
            one_hot,
        ]
        return xp.concatenate([xp.asarray(p, dtype=xp.float32) for p in parts], axis=-1)

    def pack_observation(self, channel: Array, context: Array) -> Array:
        """Observations ``[..., obs_dim]``, float32, from a channel estimate and a context.

        Args:
            channel: complex ``[..., K_max, N_max]`` channel estimate, zero where padded.
            context: ``[..., obs_dim - 2 K_max N_max]`` from :meth:`pack_context`.
        """
        xp = namespace(channel)
        rows = to_real(channel)
        flat = xp.asarray(rows.reshape((*rows.shape[:-2], -1)), dtype=xp.float32)
        return xp.concatenate([flat, context], axis=-1)

    def unpack_observation(self, obs: Array) -> dict[str, Array]:
        """Split observations ``[..., obs_dim]`` into the named fields; ``channel`` comes back
        complex ``[..., K_max, N_max]`` and ``snr_db`` as ``[...]``."""
        fields = {name: obs[..., s] for name, s in self.slices.items()}
        rows = fields["channel"].reshape((*obs.shape[:-1], self.max_users, 2 * self.max_antennas))
        fields["channel"] = to_complex(rows)
        fields["snr_db"] = fields["snr_db"][..., 0]
        return fields

    def action_to_beamformer(
        self,
        action: Array,
        power: Array | float,
        *,
        full_power: bool | Array,
        mask: Array | None = None,
    ) -> Array:
        """Map actions ``[..., action_dim]`` in ``[-1, 1]`` to feasible beamformers.

        ``W = project_power(sqrt(P) * mask * A^T, P, full_power)`` where row k of ``A`` is
        ``[Re a_k | Im a_k]`` unpacked.

        Args:
            action: real ``[..., action_dim]``.
            power: budget ``P``, scalar or ``[...]``.
            full_power: spend exactly ``P`` (rate utilities) or at most ``P`` (energy
                efficiency); a bool or a bool array ``[...]``.
            mask: ``[..., N_max, K_max]`` of 0/1 zeroing inactive antennas and users.

        Returns:
            complex ``[..., N_max, K_max]``.
        """
        if full_power is not False:
            action = _largest_below_one(action, full_power)
        rows = action.reshape((*action.shape[:-1], self.max_users, 2 * self.max_antennas))
        W = transpose(to_complex(rows))
        if full_power is not True:  # onto the sphere the scale of A is irrelevant
            W = W * _sqrt(power)
        if mask is not None:
            W = W * mask
        return project_power(W, power, full_power=full_power)

    def beamformer_to_action(self, W: Array, power: Array | float) -> Array:
        """The action that :meth:`action_to_beamformer` maps back to ``W``: the ``[Re | Im]``
        rows of ``W^T / sqrt(P)``, in ``[-1, 1]`` whenever ``||W||_F^2 <= P``.

        Args:
            W: complex ``[..., N_max, K_max]``.
            power: budget ``P``, scalar or ``[...]``.
        """
        rows = to_real(transpose(W) / _sqrt(power))
        return rows.reshape((*rows.shape[:-2], -1))
