"""The MU-MISO downlink beamforming environment (one Gymnasium class for every id)."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import logger

from beamgym.actions import get_action
from beamgym.checks import check_keywords
from beamgym.layout import Layout
from beamgym.scenario import Episode, Scenario
from beamgym.units import linear_to_db
from beamgym.utilities import score


def observation_space(scenario: Scenario, layout: Layout) -> gym.spaces.Box:
    """The observation Box: unbounded channel entries, everything else within its range."""
    low = np.zeros(layout.obs_dim, dtype=np.float32)
    high = np.ones(layout.obs_dim, dtype=np.float32)
    low[layout.slices["channel"]], high[layout.slices["channel"]] = -np.inf, np.inf
    snr_low, snr_high = scenario.snr_db
    if snr_low == snr_high:  # a degenerate interval draws Gymnasium's equal-bounds warning
        snr_low, snr_high = snr_low - 1.0, snr_high + 1.0
    low[layout.slices["snr_db"]], high[layout.slices["snr_db"]] = snr_low, snr_high
    weights = scenario.user_weights
    high[layout.slices["weights"]] = (
        scenario.max_users if isinstance(weights, str) else max(max(weights), 1.0)
    )
    return gym.spaces.Box(low, high, dtype=np.float32)


def action_space(scenario: Scenario, layout: Layout) -> gym.spaces.Box:
    """The action Box ``[-1, 1]^d`` of the scenario's parameterisation (:mod:`beamgym.actions`):
    ``d = 2 K_max N_max`` (``"beamformer"``), ``2 K_max`` (``"structure"``), ``K_max``
    (``"power"``)."""
    return get_action(scenario.action).space(layout.max_users, layout.max_antennas)


def check_action(
    action: Any, space: gym.spaces.Box, batch_shape: tuple[int, ...] = (), dtype: type = np.float64
) -> np.ndarray:
    """Validate an action array against ``space`` and clip it to the box; wrong shapes or
    NaN/inf raise ``ValueError``.

    The single environment computes in float64 (``dtype``), the vector environment in float32.
    """
    expected = (*batch_shape, *space.shape)
    if np.iscomplexobj(action):
        raise ValueError(f"action must be a real array of shape {expected}, got a complex array")
    try:
        action = np.asarray(action, dtype=dtype)
    except (TypeError, ValueError):
        raise ValueError(
            f"action must be a real array of shape {expected}, got {type(action).__name__}"
        ) from None
    if action.shape != expected:
        raise ValueError(f"action must have shape {expected}, got {action.shape}")
    largest = np.abs(action).max()  # NaN and inf propagate into it
    if largest <= 1.0:
        return action
    if not np.isfinite(largest):
        raise ValueError("action holds NaN or infinite entries; it must be finite, in [-1, 1]")
    return np.clip(action, -1.0, 1.0)


class MisoEnv(gym.Env):
    """Multi-user MISO downlink beamforming.

    ## Description

    A base station with N antennas serves K single-antenna users over a flat-fading channel
    ``H`` (complex ``[K, N]``, row k = user k's channel). Each step is one coherence block: the
    agent sees the transmitter's channel estimate and chooses the beamformer ``W`` (complex
    ``[N, K]``, column k serves user k) under the power budget ``||W||_F^2 <= P``. User k
    receives ``SINR_k = |(HW)_kk|^2 / (sum_{j!=k} |(HW)_kj|^2 + noise_power)`` and the rate
    ``R_k = log2(1 + SINR_k)`` (bit/s/Hz); the reward is a utility of the rates
    (:mod:`beamgym.utilities`). The physics is :mod:`beamgym.downlink`, the same code the
    learned solvers train on and the benchmarks score with.

    ## Observation Space

    ``Box(float32, (2 K_max N_max + 1 + 2 K_max + N_max + 5,))``, laid out as described in
    :mod:`beamgym.layout`: the packed channel *estimate* (rows ``[Re h_k | Im h_k]``, unbounded),
    ``snr_db``, the user and antenna masks, the user weights and the one-hot utility.
    ``Layout.unpack_observation`` splits it back into named fields. With fixed sizes the masks
    are all ones; with ranges the active users/antennas are the first ones.

    ## Action Space

    ``Box(-1, 1, (2 K_max N_max,), float32)``: row k = ``[Re a_k | Im a_k]``, mapped to
    ``W = project_power(sqrt(P) A^T, P)``, always feasible; padded entries carry no power. For
    the rate utilities W is scaled to use the whole budget (optimal for them); for energy
    efficiency it is projected onto the ball, so an action of Frobenius norm below 1 transmits
    below the budget. ``Layout.beamformer_to_action(W, P)`` gives the action of a beamformer.
    Out-of-box actions are clipped; wrong shapes and NaN/inf raise ``ValueError``.

    ## Rewards

    The utility of this episode (``utility``; drawn per episode when a list is given):
    ``sum_rate``, ``weighted_sum_rate``, ``min_rate``, ``proportional_fair`` or
    ``energy_efficiency``, computed on the **true** channel.

    ## Starting State

    ``reset`` draws the episode's K, N, SNR, utility and weights (uniformly over their ranges),
    starts the channel process and returns the first channel estimate.

    ## Episode End

    Never terminates; the registered ids truncate after ``max_episode_steps`` blocks.

    ## Info

    Arrays are padded to ``K_max`` users and ``N_max`` antennas (zeros where a user or
    antenna is inactive in this episode; with fixed sizes nothing is padded), so that every
    episode's info has the same shapes and Gymnasium's ``sync``/``async`` vector envs batch it.
    ``reset`` returns the episode fields: ``"utility"`` (the name paid), ``"num_users"``,
    ``"num_antennas"`` (the active K and N), ``"snr_db"``, ``"weights"`` ``[K_max]``,
    ``"user_mask"`` ``[K_max]`` and ``"antenna_mask"`` ``[N_max]`` (float32 0/1, the
    observation's masks; active users and antennas come first). ``step`` returns them too,
    plus ``"channel"`` (true H, complex ``[K_max, N_max]``), ``"beamformer"`` (applied W,
    complex ``[N_max, K_max]``), ``"rates"``, ``"sinr"`` (``[K_max]``, zero for inactive
    users), ``"power"`` (``||W||_F^2``), the value of every utility under its name and
    ``"noise_power"``. The active part is ``info["channel"][:num_users, :num_antennas]``.

    ## Arguments

    | argument | default | meaning |
    |---|---|---|
    | ``num_users`` | 4 | K, or a ``(min, max)`` range drawn per episode |
    | ``num_antennas`` | 8 | N, or a ``(min, max)`` range |
    | ``snr_db`` | 10.0 | total transmit SNR ``P / noise_power`` in dB, or a range |
    | ``noise_power`` | 1.0 | ``sigma2``, linear |
    | ``channel`` | ``"rayleigh"`` | a name in :data:`beamgym.channels.CHANNELS` |
    | ``channel_params`` | ``None`` | dict of the channel model's arguments |
    | ``time_correlation`` | ``None`` (0) | Gauss-Markov correlation between blocks |
    | ``doppler_hz``, ``block_duration_s`` | ``None``, 1e-3 | Jakes correlation instead |
    | ``utility`` | ``"sum_rate"`` | a utility name, or a list drawn per episode |
    | ``user_weights`` | ``"equal"`` | ``"equal"``, ``"random"`` (U(0,1), mean 1) or K_max numbers |
    | ``amplifier_efficiency`` | 0.39 | eta of the EE power model |
    | ``circuit_power`` | 10.0 | ``P_c`` of the EE power model, linear |
    | ``csi_nmse`` | 0.0 | channel-estimation error variance relative to the channel gain |
    | ``csi_delay`` | 0 | feedback delay in blocks (outdated CSI) |
    | ``render_mode`` | ``None`` | ``"ansi"``: a per-user text table (another mode warns, is ignored) |

    ## Vectorized environment

    ``gym.make_vec(id, num_envs)`` builds :class:`beamgym.vector_env.MisoVectorEnv`, which runs
    all copies as one torch batch with the same physics; ``vectorization_mode="sync"`` or
    ``"async"`` builds Gymnasium's vector envs of this class.

    ## Version History

    * v0: initial release.
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(self, render_mode: str | None = None, **kwargs: Any) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            # as Gymnasium's environments: a warning, not an error (stable-baselines3's
            # make_vec_env asks every environment for "rgb_array")
            logger.warn(
                f"render_mode={render_mode!r} is not supported (render_modes: "
                f"{self.metadata['render_modes']}); it is ignored and render_mode is None"
            )
            render_mode = None
        self.render_mode = render_mode
        check_keywords("gym.make", kwargs, ["render_mode", *Scenario.keywords()])
        self.scenario = Scenario.from_kwargs(**kwargs)
        self.layout = Layout(self.scenario.max_users, self.scenario.max_antennas)
        self.tracker = self.scenario.make_tracker()
        self.observation_space = observation_space(self.scenario, self.layout)
        self.action_space = action_space(self.scenario, self.layout)
        self._to_beamformer = get_action(self.scenario.action).to_beamformer
        self._padded = self.scenario.padded
        self._episode: Episode | None = None
        self._last_info: dict[str, Any] | None = None

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self._episode = ep = self.scenario.draw(self.np_random)
        self._k, self._n, self._snr_db = int(ep.num_users), int(ep.num_antennas), float(ep.snr_db)
        self._utility = self.scenario.utility_of(int(ep.task))
        self._context = self.layout.pack_context(
            ep.snr_db, ep.user_mask, ep.antenna_mask, ep.weights, ep.task
        )
        self._set_channels(*self.tracker.reset(self.np_random))
        self._last_info = None
        return self._observation(), self._episode_info()

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        if self._episode is None:
            raise RuntimeError("call reset() before step()")
        ep, k, n = self._episode, self._k, self._n
        action = check_action(action, self.action_space)
        padded = self._padded
        W = self._to_beamformer(
            action,
            self._estimate,  # what the observation showed: the map may read the channel
            ep.power,
            self.scenario.noise_power,
            full_power=self._utility.full_power,
            user_mask=ep.user_mask if padded else None,
            antenna_mask=ep.antenna_mask if padded else None,
        )
        metrics = score(
            self._channel[:k, :n],
            W[:n, :k],
            noise_power=self.scenario.noise_power,
            weights=ep.weights[:k],
            amplifier_efficiency=self.scenario.amplifier_efficiency,
            circuit_power=self.scenario.circuit_power,
        )
        info = self._episode_info()
        info.update(
            {
                name: self._pad_users(value) if value.ndim else float(value)
                for name, value in metrics.items()
            }
        )
        info.update(channel=self._channel, beamformer=W, noise_power=self.scenario.noise_power)
        reward = info[self._utility.name]
        self._last_info = info
        self._set_channels(*self.tracker.step(self.np_random))
        return self._observation(), reward, False, False, info

    def render(self) -> str | None:
        if self.render_mode != "ansi":
            return None
        ep = self._episode
        if ep is None:
            return "call reset() first\n"
        head = f"K={self._k} N={self._n} snr={self._snr_db:.1f} dB utility={self._utility.name}\n"
        info = self._last_info
        if info is None:
            return head + "no step taken in this episode yet\n"
        lines = [
            head,
            f"{'user':>4} {'weight':>7} {'|h|^2':>8} {'|w|^2':>8} {'SINR dB':>8} {'rate':>7}\n",
        ]
        for user in range(self._k):
            lines.append(
                f"{user:>4} {info['weights'][user]:>7.3f} {np.sum(np.abs(info['channel'][user]) ** 2):>8.3f} "
                f"{np.sum(np.abs(info['beamformer'][:, user]) ** 2):>8.3f} "
                f"{linear_to_db(max(info['sinr'][user], 1e-30)):>8.2f} {info['rates'][user]:>7.3f}\n"
            )
        lines.append(
            f"power {info['power']:.3f}  reward ({self._utility.name}) {info[self._utility.name]:.4f}\n"
        )
        return "".join(lines)

    def _episode_info(self) -> dict[str, Any]:
        """The per-episode info entries (class docstring, Info), fresh copies."""
        ep = self._episode
        return {
            "utility": self._utility.name,
            "num_users": self._k,
            "num_antennas": self._n,
            "snr_db": self._snr_db,
            "weights": ep.weights.copy(),
            "user_mask": ep.user_mask.copy(),
            "antenna_mask": ep.antenna_mask.copy(),
        }

    def _pad_users(self, values: np.ndarray) -> np.ndarray:
        """Per-user values ``[K]`` of the active users, padded with zeros to ``[K_max]``."""
        padded = np.zeros(self.layout.max_users, dtype=values.dtype)
        padded[: self._k] = values
        return padded

    def _set_channels(self, true_channel: np.ndarray, estimate: np.ndarray) -> None:
        if self._padded:
            mask = self._episode.channel_mask
            true_channel, estimate = true_channel * mask, estimate * mask
        self._channel, self._estimate = true_channel, estimate

    def _observation(self) -> np.ndarray:
        return self.layout.pack_observation(self._estimate, self._context)
