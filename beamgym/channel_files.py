"""Loading measured or ray-traced channels from ``.npy``, ``.npz`` and ``.mat`` files.

Axis convention, the same as everywhere in beamgym: an array ``[S, K, N]`` of ``S`` samples,
``K`` single-antenna users and ``N`` base-station antennas, where row ``H[s, k, :]`` is user
k's channel **as seen at the receiver**: user k receives ``(H[s] @ W)[k] s + n_k``, with no
further conjugate. A channel stored the other way round (``h_k^H`` convention, columns per
user, MATLAB's ``'`` vs ``.'``) must be converted before saving. Real arrays are accepted and
read as real-valued channels. Values are used as stored: ``snr_db`` is ``P / noise_power``,
so normalise path-loss channels (or set ``noise_power``) before use. Entries are bounded,
``|h| <= MAX_CHANNEL_ENTRY`` (:mod:`beamgym.downlink`).

Safety: ``.npy``/``.npz`` load with ``allow_pickle=False``; ``.mat`` files load through
``scipy.io.loadmat`` (MATLAB v4-v7.2 data only, no code). MATLAB v7.3 files are HDF5 and
rejected with a message; save with ``save(..., '-v7')`` or export to ``.npy``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from beamgym.downlink import MAX_CHANNEL_ENTRY

SUFFIXES = (".npy", ".npz", ".mat")


def _pick(arrays: dict[str, np.ndarray], key: str | None, path: Path) -> np.ndarray:
    names = sorted(k for k in arrays if not k.startswith("__"))  # skip .mat header entries
    if key is None:
        if len(names) != 1:
            raise ValueError(
                f"channel file {path} holds {names}: pass channel_params key=<one of them>"
            )
        key = names[0]
    if key not in names:
        raise ValueError(f"key must be one of {names} in channel file {path}, got {key!r}")
    return np.asarray(arrays[key])


def load_channels(path: str | Path, key: str | None = None) -> np.ndarray:
    """Read a channel file into complex128 ``[S, K, N]``, validated.

    Args:
        path: a ``.npy``, ``.npz`` or ``.mat`` file.
        key: the array's name inside a ``.npz``/``.mat`` file; optional when it holds one array.

    Raises:
        ValueError: missing file, unknown suffix, wrong rank, empty, non-finite entries or
            entries above ``MAX_CHANNEL_ENTRY``.
    """
    path = Path(path)
    if path.suffix not in SUFFIXES:
        raise ValueError(f"path must end in one of {SUFFIXES}, got {str(path)!r}")
    if not path.is_file():
        raise ValueError(f"path {str(path)!r} is not a file")
    try:
        if path.suffix == ".mat":
            arrays = _load_mat(path)
        else:  # our own handle: np.load leaves its file open when the zip is truncated
            with open(path, "rb") as handle:
                loaded = np.load(handle, allow_pickle=False)
                arrays = dict(loaded) if path.suffix == ".npz" else {"": loaded}
    except ImportError:
        raise
    except Exception as error:  # any parser failure (truncated zip, corrupt .mat, ...) is bad input
        raise ValueError(f"cannot read channel file {path}: {error}") from None
    data = arrays[""] if path.suffix == ".npy" else _pick(arrays, key, path)
    if data.dtype.kind not in "fciu":
        raise ValueError(
            f"channel file {path} must hold real or complex numbers, got dtype {data.dtype}"
        )
    if data.ndim != 3 or 0 in data.shape:
        raise ValueError(
            f"channel file {path} must hold an array [S, K, N] with S, K, N >= 1, got {data.shape}"
        )
    if not np.isfinite(data).all():
        raise ValueError(f"channel file {path} holds NaN or infinite entries")
    largest = float(np.abs(data).max())
    if largest > MAX_CHANNEL_ENTRY:
        raise ValueError(
            f"channel file {path} holds entries up to |h| = {largest:.3g}; at most "
            f"{MAX_CHANNEL_ENTRY:g} is allowed: scale the channels down and noise_power with them"
        )
    return data.astype(np.complex128)


def _load_mat(path: Path) -> dict[str, np.ndarray]:
    try:
        from scipy.io import loadmat
    except ImportError:
        raise ImportError(
            "reading .mat channel files needs scipy: pip install 'beamgym[files]'"
        ) from None
    with open(path, "rb") as handle:
        if handle.read(128).startswith(b"MATLAB 7.3"):
            raise ValueError(
                "MATLAB v7.3 (HDF5) files are not supported: save with '-v7' or as .npy"
            )
    return loadmat(path)
