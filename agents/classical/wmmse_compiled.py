"""WMMSE with the closed-form multiplier, compiled: the CPU path without framework overhead.

One 8x8 WMMSE iteration is a few thousand floating-point operations; in torch or NumPy its
time is almost all per-operation dispatch (tens of tensor operations per iteration). This
kernel runs each channel's whole loop in compiled code, one channel after another on one
thread, each stopping on its own.

It works in the users' space. With ``G = H H^H`` ``[K, K]`` and the push-through identity
``(H^H L H + m I)^{-1} H^H = H^H (L G + m I)^{-1}``, the transmitter block of
:func:`agents.classical.wmmse.run_wmmse` (``L = diag(c)``, ``c = a omega |u|^2``,
``m = rho + mu``) is ``W = H^H X`` with

    X = diag(sqrt c) M^{-1} diag(e),   M = diag(sqrt c) G diag(sqrt c) + m I,
    e_k = a_k omega_k u_k^* / sqrt(c_k),

one Cholesky factorisation of the Hermitian positive definite ``M``; the received signals are
``HW = G X`` and the power ``||W||_F^2 = Re tr(X^H G X)``, so ``H`` is touched once per channel.
The multiplier is Christensen et al.'s closed form ``mu = sigma2 sum_k c_k / P`` and ``X`` is
then scaled onto the budget, as in the torch path; the two agree to rounding (tests).

numba (a JIT compiler for NumPy loops, well kept and the field's usual choice) is an optional
dependency, the ``fast`` extra, because with llvmlite it adds about 200 MB: without it
:data:`AVAILABLE` is false and WMMSE runs its torch path. The first call in a process compiles
the kernel (seconds) or loads it from numba's cache beside this file.
"""

from __future__ import annotations

import math

import numpy as np

try:
    import numba
except ImportError:  # the optional extra is not installed: the torch path serves
    numba = None

AVAILABLE = numba is not None
"""Whether the compiled kernel can run (numba is installed)."""


def _factor(G: np.ndarray, root: np.ndarray, shift: float, L: np.ndarray, inverse: np.ndarray):
    """Cholesky ``diag(root) G diag(root) + shift I = L L^H`` into the lower triangle of
    ``L``; ``inverse`` gets ``1 / L_ii`` (real)."""
    users = G.shape[0]
    for i in range(users):
        for j in range(i + 1):
            s = root[i] * G[i, j] * root[j]
            for m in range(j):
                s -= L[i, m] * L[j, m].conjugate()
            if i == j:
                inverse[i] = 1.0 / math.sqrt(s.real + shift)
            else:
                L[i, j] = s * inverse[j]


def _solve_column(L: np.ndarray, inverse: np.ndarray, j: int, e: complex, Z: np.ndarray):
    """Row ``j`` of ``Z`` := ``M^{-1} (e 1_j)`` for ``M = L L^H``: ``L y = e 1_j`` (zero above
    ``j``), then ``L^H x = y``; the rows of ``Z = X^T`` keep the inner loops contiguous."""
    users = L.shape[0]
    for i in range(j):
        Z[j, i] = 0j
    Z[j, j] = e * inverse[j]
    for i in range(j + 1, users):
        s = 0j
        for m in range(j, i):
            s -= L[i, m] * Z[j, m]
        Z[j, i] = s * inverse[i]
    for i in range(users - 1, -1, -1):
        s = Z[j, i]
        for m in range(i + 1, users):
            s -= L[m, i].conjugate() * Z[j, m]
        Z[j, i] = s * inverse[i]


def _onto_budget(G: np.ndarray, Z: np.ndarray, HW: np.ndarray, power: float):
    """``HW := G X`` (``X = Z^T``), then ``X`` and ``HW`` scaled so that
    ``||H^H X||_F^2 = Re tr(X^H G X) = power``."""
    users = G.shape[0]
    spent = 0.0
    for i in range(users):
        for j in range(users):
            received = 0j
            for m in range(users):
                received += G[i, m] * Z[j, m]
            HW[i, j] = received
            spent += (Z[j, i].conjugate() * received).real
    scale = math.sqrt(power / spent)
    for i in range(users):
        for j in range(users):
            Z[i, j] *= scale
            HW[i, j] *= scale


def _wmmse_loop(
    H: np.ndarray,
    W0: np.ndarray,
    rzf: bool,
    weights: np.ndarray,
    noise: np.ndarray,
    power: np.ndarray,
    ridge: np.ndarray,
    max_iterations: int,
    tolerance: float,
    fair: bool,
    rate_floor: float,
    W: np.ndarray,
    objective: np.ndarray,
    iterations: np.ndarray,
    converged: np.ndarray,
) -> None:
    """Fill ``W [B, N, K]``, ``objective``, ``iterations``, ``converged`` ``[B]`` in place.

    ``H [B, K, N]`` complex128; the start is RZF at full power, ``H^H (G + K sigma2 / P I)^{-1}``
    scaled (:func:`agents.classical.linear.rzf_beamformer`) if ``rzf``, else ``W0 [B, N, K]``;
    ``weights [B, K]``, ``noise``, ``power``, ``ridge`` ``[B]`` float64. ``fair`` re-sets the
    weights to ``1 / R_k`` (normalised to mean 1, rates floored at ``rate_floor``) before every
    transmitter update and makes ``sum_k ln R_k`` the objective (proportional fairness), as
    ``run_wmmse``'s weight rule does.
    """
    batch, users, antennas = H.shape
    G = np.empty((users, users), np.complex128)
    HW = np.empty((users, users), np.complex128)
    Z = np.empty((users, users), np.complex128)
    L = np.empty((users, users), np.complex128)
    inverse = np.empty(users)
    omega = np.empty(users)
    u_conj = np.empty(users, np.complex128)
    a = np.empty(users)
    root = np.empty(users)
    for b in range(batch):
        for i in range(users):
            for j in range(users):
                g = 0j
                for n in range(antennas):
                    g += H[b, i, n] * H[b, j, n].conjugate()
                G[i, j] = g
        if rzf:
            root[:] = 1.0
            _factor(G, root, users * noise[b] / power[b], L, inverse)
            for j in range(users):
                _solve_column(L, inverse, j, 1.0 + 0j, Z)
            _onto_budget(G, Z, HW, power[b])
            spent = power[b]
        else:
            spent = 0.0
            for i in range(users):
                for j in range(users):
                    received = 0j
                    for n in range(antennas):
                        received += H[b, i, n] * W0[b, n, j]
                    HW[i, j] = received
            for n in range(antennas):
                for j in range(users):
                    spent += W0[b, n, j].real ** 2 + W0[b, n, j].imag ** 2
        previous = -math.inf
        count = 0
        while True:
            # receiver and MSE weight
            value = 0.0
            inverse_sum = 0.0
            for k in range(users):
                gains = 0.0
                for j in range(users):
                    gains += HW[k, j].real ** 2 + HW[k, j].imag ** 2
                signal = HW[k, k].real ** 2 + HW[k, k].imag ** 2
                rest = (gains - signal) + noise[b]
                total = rest + signal
                omega[k] = total / rest
                u_conj[k] = HW[k, k] / total
                rate = math.log2(omega[k])
                if fair:
                    floored = max(rate, rate_floor)
                    value += math.log(floored)
                    a[k] = 1.0 / floored
                    inverse_sum += a[k]
                else:
                    a[k] = weights[b, k]
                    value += a[k] * rate
            if fair:
                for k in range(users):
                    a[k] *= users / inverse_sum
            value -= ridge[b] * spent / math.log(2.0)
            done = abs(value - previous) < tolerance
            previous = value
            if done:
                converged[b] = True
                break
            if count >= max_iterations:
                break
            # transmitter, in the users' space (module docstring)
            gain_sum = 0.0
            for k in range(users):
                c = a[k] * omega[k] * (u_conj[k].real ** 2 + u_conj[k].imag ** 2)
                root[k] = math.sqrt(c)
                gain_sum += c
            _factor(G, root, ridge[b] + noise[b] * gain_sum / power[b], L, inverse)
            for j in range(users):
                e = 0j if root[j] == 0.0 else a[j] * omega[j] * u_conj[j] / root[j]
                _solve_column(L, inverse, j, e, Z)
                for i in range(users):
                    Z[j, i] *= root[i]
            _onto_budget(G, Z, HW, power[b])
            spent = power[b]
            count += 1
        objective[b] = previous
        iterations[b] = count
        if count == 0 and not rzf:  # max_iterations = 0: the given start is the answer
            W[b] = W0[b]
            continue
        for n in range(antennas):  # W = H^H X
            for j in range(users):
                w = 0j
                for i in range(users):
                    w += H[b, i, n].conjugate() * Z[j, i]
                W[b, n, j] = w


if AVAILABLE:
    # strict IEEE arithmetic (no fastmath): with reassociation a fresh compilation and one
    # loaded from the cache inline differently and round differently (measured: 2e-15), and
    # a benchmark resumed in another process must reproduce its results bit for bit
    _jit = numba.njit(cache=True, error_model="numpy")
    _factor, _solve_column, _onto_budget = map(_jit, (_factor, _solve_column, _onto_budget))
    _compiled = _jit(_wmmse_loop)
else:
    _compiled = None


def compiled_wmmse(
    H: np.ndarray,
    W0: np.ndarray | None,
    weights: np.ndarray,
    noise: np.ndarray,
    power: np.ndarray,
    ridge: np.ndarray,
    *,
    max_iterations: int,
    tolerance: float,
    fair: bool,
    rate_floor: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(W [B, N, K], objective, iterations, converged [B])`` of the compiled loop
    (:func:`_wmmse_loop` for the arguments; ``W0=None`` starts from RZF); raises
    ``RuntimeError`` without numba."""
    if _compiled is None:
        raise RuntimeError("the compiled WMMSE needs numba: pip install 'beamgym[fast]'")
    batch, users, antennas = H.shape
    W = np.empty((batch, antennas, users), np.complex128)
    objective = np.empty(batch)
    iterations = np.zeros(batch, np.int64)
    converged = np.zeros(batch, np.bool_)
    rzf = W0 is None
    start = np.empty((0, 0, 0), np.complex128) if rzf else W0
    _compiled(
        H, start, rzf, weights, noise, power, ridge, max_iterations, tolerance, fair, rate_floor,
        W, objective, iterations, converged,
    )  # fmt: skip
    return W, objective, iterations, converged
