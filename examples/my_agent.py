"""Your own agent on the leaderboard, in a few lines.

    python -m benchmarks run --suite smoke --out results/mine --agents examples.my_agent:ScaledMRT wmmse

Any ``package.module:factory`` works: the factory returns an :class:`agents.Solver` (as here:
``_solve`` gets a validated dense :class:`agents.Problem` with ``H [B, K, N]`` and the budget
``power [B]``), any object with ``solve(H, power, noise_power, **task)``, or a policy with an
SB3-style ``predict(obs)``.
"""

import agents
from beamgym.downlink import project_power


class ScaledMRT(agents.Solver):
    """Maximum-ratio transmission at full power: ``W = sqrt(P) H^H / ||H||_F``."""

    name = "scaled-mrt"

    def _solve(self, problem: agents.Problem):
        return project_power(problem.H.mH, problem.power, full_power=True)
