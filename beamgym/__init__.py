"""beamgym: Gymnasium environments and differentiable physics for MU-MISO downlink beamforming.

``import beamgym`` registers the environment ids (``gym.make("MISO-SumRate-v0")``). The
physics (:mod:`beamgym.downlink`, :mod:`beamgym.utilities`, :mod:`beamgym.channels`) is
written once for NumPy arrays and torch tensors, batched over leading dimensions.
"""

from beamgym.actions import ACTIONS, ActionMap, get_action
from beamgym.arrays import to_complex, to_real
from beamgym.channel_files import load_channels
from beamgym.channels import CHANNELS, ChannelModel, make_channel
from beamgym.downlink import project_power, rate_from_sinr, rates, sinr, transmit_power
from beamgym.env import MisoEnv
from beamgym.fading import ChannelTracker, jakes_correlation
from beamgym.layout import TASKS, Layout
from beamgym.registration import ENV_IDS, register_envs
from beamgym.scenario import Episode, Scenario
from beamgym.units import db_to_linear, linear_to_db
from beamgym.utilities import UTILITIES, get_utility, score, utility
from beamgym.vector_env import MisoVectorEnv

__version__ = "0.1.0"

__all__ = [
    "ACTIONS",
    "CHANNELS",
    "ENV_IDS",
    "TASKS",
    "UTILITIES",
    "ActionMap",
    "ChannelModel",
    "ChannelTracker",
    "Episode",
    "Layout",
    "MisoEnv",
    "MisoVectorEnv",
    "Scenario",
    "db_to_linear",
    "get_action",
    "get_utility",
    "jakes_correlation",
    "linear_to_db",
    "load_channels",
    "make_channel",
    "project_power",
    "rate_from_sinr",
    "rates",
    "register_envs",
    "score",
    "sinr",
    "to_complex",
    "to_real",
    "transmit_power",
    "utility",
]

register_envs()
