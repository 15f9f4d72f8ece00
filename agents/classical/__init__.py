"""Classical solvers: closed forms (MRT, ZF, ZF with water-filling, RZF), the iterative
references (WMMSE and its best-of-starts and proportional-fair variants, the exact max-min
optimum, Dinkelbach energy efficiency) and the DPC sum-capacity bound."""

from agents.classical.dpc import DPCResult, dpc_capacity
from agents.classical.energy import EnergyEfficiency
from agents.classical.linear import MRT, RZF, ZF, ZFWaterFilling, rzf_beamformer
from agents.classical.maxmin import MaxMin
from agents.classical.wmmse import WMMSE, ProportionalFair, WMMSEBest, WMMSEResult

__all__ = [
    "MRT",
    "RZF",
    "WMMSE",
    "ZF",
    "DPCResult",
    "EnergyEfficiency",
    "MaxMin",
    "ProportionalFair",
    "WMMSEBest",
    "WMMSEResult",
    "ZFWaterFilling",
    "dpc_capacity",
    "rzf_beamformer",
]
