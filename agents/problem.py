"""A batch of beamforming problems: the channels plus every task parameter, validated once.

Every solver receives a :class:`Problem` whose tensors share one device and one real
precision, so that algorithms never re-check their input. Conventions are beamgym's
(:mod:`beamgym.downlink`): ``H`` complex ``[B, K, N]`` (row k = user k's channel), beamformers
``W`` complex ``[B, N, K]``, ``||W||_F^2 <= P``, noise power ``sigma2``, linear units.
Padded batches carry their masks: ``user_mask [B, K]`` and ``antenna_mask [B, N]`` (bool, or
``None`` when every entry is active).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import torch

from beamgym.downlink import MAX_CHANNEL_ENTRY
from beamgym.utilities import DEFAULT_AMPLIFIER_EFFICIENCY, DEFAULT_CIRCUIT_POWER, get_utility


@dataclass(frozen=True)
class Problem:
    """``B`` problems of the same size ``K x N``.

    Attributes:
        H: complex ``[B, K, N]``.
        power: budget ``P`` per problem, real ``[B]``, > 0.
        noise_power: ``sigma2`` per problem, real ``[B]``, > 0.
        weights: user weights ``[B, K]``, >= 0 (ones unless given).
        utility: the utility to optimise (a name in :data:`beamgym.UTILITIES`).
        amplifier_efficiency, circuit_power: the energy-efficiency power model.
        user_mask, antenna_mask: bool ``[B, K]`` / ``[B, N]``, the active users and antennas of
            a padded batch (``None``: all active). Masked entries of ``H`` and ``weights`` may
            hold anything finite.
    """

    H: torch.Tensor
    power: torch.Tensor
    noise_power: torch.Tensor
    weights: torch.Tensor
    utility: str
    amplifier_efficiency: float = DEFAULT_AMPLIFIER_EFFICIENCY
    circuit_power: float = DEFAULT_CIRCUIT_POWER
    user_mask: torch.Tensor | None = None
    antenna_mask: torch.Tensor | None = None

    @property
    def batch_size(self) -> int:
        return self.H.shape[0]

    @property
    def num_users(self) -> int:
        return self.H.shape[1]

    @property
    def num_antennas(self) -> int:
        return self.H.shape[2]

    @property
    def padded(self) -> bool:
        """Whether the batch carries masks."""
        return self.user_mask is not None or self.antenna_mask is not None

    def select(
        self,
        index: torch.Tensor,
        users: torch.Tensor | slice = slice(None),
        antennas: torch.Tensor | slice = slice(None),
    ) -> Problem:
        """The sub-problem of samples ``index``, restricted to the given users and antennas
        (the masks are restricted alike)."""

        def mask(value: torch.Tensor | None, kept: torch.Tensor | slice) -> torch.Tensor | None:
            return None if value is None else value[index][:, kept]

        return replace(
            self,
            H=self.H[index][:, users][:, :, antennas],
            power=self.power[index],
            noise_power=self.noise_power[index],
            weights=self.weights[index][:, users],
            user_mask=mask(self.user_mask, users),
            antenna_mask=mask(self.antenna_mask, antennas),
        )

    def to(self, dtype: torch.dtype) -> Problem:
        """The same problem computed in real precision ``dtype`` (float32 or float64)."""
        complex_dtype = torch.complex128 if dtype == torch.float64 else torch.complex64
        return replace(
            self,
            H=self.H.to(complex_dtype),
            power=self.power.to(dtype),
            noise_power=self.noise_power.to(dtype),
            weights=self.weights.to(dtype),
        )


def _per_sample(name: str, value: object, batch: int, like: torch.Tensor) -> torch.Tensor:
    """A positive finite scalar or ``[B]`` array as a real ``[B]`` tensor in ``like``'s real
    precision (a Python number goes there directly, without a float32 detour)."""
    usage = f"{name} must be a positive number or a real [{batch}] array, got {value!r}"
    if isinstance(value, bool) or isinstance(value, np.ndarray) and value.dtype == np.bool_:
        raise ValueError(usage)
    try:
        if isinstance(value, int | float):
            tensor = torch.tensor(value, dtype=like.real.dtype, device=like.device)
        else:
            tensor = torch.as_tensor(value, device=like.device)
    except (TypeError, ValueError, RuntimeError):
        raise ValueError(usage) from None
    if tensor.is_complex() or tensor.dtype == torch.bool or tensor.shape not in ((), (batch,)):
        raise ValueError(usage)
    tensor = tensor.to(like.real.dtype).expand(batch)
    if not bool(torch.all(torch.isfinite(tensor) & (tensor > 0))):
        raise ValueError(f"{name} must be finite and > 0, got {value!r}")
    return tensor


def _tensor(name: str, value: object, like: torch.Tensor, allowed: str) -> torch.Tensor:
    """``value`` as a tensor on ``like``'s device; ``ValueError`` naming ``name`` and what is
    ``allowed`` if it is not an array of numbers."""
    try:
        return torch.as_tensor(value, device=like.device)
    except (TypeError, ValueError, RuntimeError):
        raise ValueError(f"{name} must be {allowed}, got {value!r}") from None


def _mask(name: str, value: object, shape: tuple[int, int], like: torch.Tensor) -> torch.Tensor:
    tensor = _tensor(name, value, like, f"a 0/1 or bool array of shape {shape}")
    if tensor.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {tuple(tensor.shape)}")
    if not bool(torch.all((tensor == 0) | (tensor == 1))):
        raise ValueError(f"{name} must hold only 0/1 (or bool) entries")
    if not bool(torch.all(tensor.sum(-1) > 0)):
        raise ValueError(f"{name} must leave at least one active entry in every sample")
    return tensor.to(torch.bool)


def make_problem(
    H: object,
    power: object,
    noise_power: object = 1.0,
    *,
    utility: str,
    weights: object = None,
    user_mask: object = None,
    antenna_mask: object = None,
    amplifier_efficiency: float = DEFAULT_AMPLIFIER_EFFICIENCY,
    circuit_power: float = DEFAULT_CIRCUIT_POWER,
) -> Problem:
    """Validate ``solve``'s arguments into a :class:`Problem` (masks as bool, or ``None``).

    ``H`` must be a complex ``[B, K, N]`` tensor or array with finite entries of magnitude at
    most :data:`~beamgym.downlink.MAX_CHANNEL_ENTRY` (the environments' bound); masked entries
    of ``H`` and ``weights`` are ignored (they may hold anything finite).
    """
    if isinstance(H, np.ndarray):
        H = torch.from_numpy(H)
    if not isinstance(H, torch.Tensor) or not H.is_complex() or H.ndim != 3:
        described = (
            f"{type(H).__name__} {tuple(H.shape)} {H.dtype}"
            if hasattr(H, "shape")
            else type(H).__name__
        )
        raise ValueError(f"H must be a complex tensor [B, K, N], got {described}")
    if H.shape[1] < 1 or H.shape[2] < 1 or H.shape[0] < 1:
        raise ValueError(f"H must have B, K, N >= 1, got shape {tuple(H.shape)}")
    if not bool(torch.isfinite(torch.view_as_real(H)).all()):
        raise ValueError("H holds NaN or infinite entries")
    largest = float(H.abs().amax())
    if largest > MAX_CHANNEL_ENTRY:
        raise ValueError(
            f"H holds entries up to |h| = {largest:.3g}; at most {MAX_CHANNEL_ENTRY:g} is "
            "allowed: divide H by c and noise_power by c^2 (the rates are unchanged)"
        )
    batch, users, antennas = H.shape
    get_utility(utility)
    for name, value in (
        ("amplifier_efficiency", amplifier_efficiency),
        ("circuit_power", circuit_power),
    ):
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not (number and math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    if amplifier_efficiency > 1:
        raise ValueError(f"amplifier_efficiency must be in (0, 1], got {amplifier_efficiency!r}")
    if weights is None:
        weight_tensor = torch.ones(batch, users, dtype=H.real.dtype, device=H.device)
    else:
        allowed = f"an array of shape [{users}] or [{batch}, {users}]"
        weight_tensor = _tensor("weights", weights, H, allowed)
        if weight_tensor.is_complex() or weight_tensor.dtype == torch.bool:
            raise ValueError(f"weights must be real numbers, got {weights!r}")
        weight_tensor = weight_tensor.to(H.real.dtype)
        if weight_tensor.shape not in ((users,), (batch, users)):
            raise ValueError(
                f"weights must have shape [{users}] or [{batch}, {users}], got {tuple(weight_tensor.shape)}"
            )
        if not bool(torch.all(torch.isfinite(weight_tensor) & (weight_tensor >= 0))):
            raise ValueError("weights must be finite and >= 0")
        weight_tensor = weight_tensor.expand(batch, users)
    return Problem(
        H=H,
        power=_per_sample("power", power, batch, H),
        noise_power=_per_sample("noise_power", noise_power, batch, H),
        weights=weight_tensor,
        utility=utility,
        amplifier_efficiency=float(amplifier_efficiency),
        circuit_power=float(circuit_power),
        user_mask=None if user_mask is None else _mask("user_mask", user_mask, (batch, users), H),
        antenna_mask=(
            None
            if antenna_mask is None
            else _mask("antenna_mask", antenna_mask, (batch, antennas), H)
        ),
    )
