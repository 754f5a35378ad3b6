"""A frame: named columns of equal length, numpy arrays or Arrow string arrays, without a dataframe library.

Companies (register rows and debtor pools) and the lines of each source are frames; filtering and appending
act on every column at once.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa

Frame = dict[str, "np.ndarray | pa.Array"]


def size(frame: Frame) -> int:
    return len(next(iter(frame.values()))) if frame else 0


def take(frame: Frame, idx: np.ndarray) -> Frame:
    """Rows `idx` (indices or a boolean mask) of every column."""
    idx = np.asarray(idx)
    if idx.dtype == bool:
        idx = np.flatnonzero(idx)
    ids = pa.array(idx.astype(np.int64))
    return {k: (v.take(ids) if isinstance(v, pa.Array) else v[idx]) for k, v in frame.items()}


def concat(frames: Sequence[Frame]) -> Frame:
    frames = [f for f in frames if f]
    keys = frames[0].keys()
    return {
        k: (
            pa.concat_arrays([f[k] for f in frames])
            if isinstance(frames[0][k], pa.Array)
            else np.concatenate([f[k] for f in frames])
        )
        for k in keys
    }
