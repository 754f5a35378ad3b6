"""Reproducible randomness: a counter-based hash for company attributes, seeded generators for lines.

Every company attribute is a pure function of (seed, field, global company index): a department can refer to
companies of other departments (multi-site debtors) without generating them, and a company looks the same in
every snapshot. Line-level draws come from one numpy generator per (seed, department, source, snapshot).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

_U64 = (1 << 64) - 1


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser (wrapping uint64 arithmetic)."""
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def hash64(seed: int, fld: int, idx: np.ndarray) -> np.ndarray:
    key = _mix(np.array([(seed * 0x2545F4914F6CDD1D + fld * 0x9E3779B97F4A7C15) & _U64], dtype=np.uint64))
    return _mix(np.asarray(idx, dtype=np.int64).astype(np.uint64) ^ key)


def unif(seed: int, fld: int, idx: np.ndarray) -> np.ndarray:
    """Uniform [0, 1) per index."""
    return (hash64(seed, fld, idx) >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


def below(seed: int, fld: int, idx: np.ndarray, k: int) -> np.ndarray:
    """Integer in [0, k) per index."""
    return np.minimum((unif(seed, fld, idx) * k).astype(np.int64), k - 1)


def weighted(u: np.ndarray, weights: Sequence[float]) -> np.ndarray:
    """Index drawn with `weights` from uniforms `u`."""
    cum = np.cumsum(np.asarray(weights, dtype=np.float64))
    return np.minimum(np.searchsorted(cum / cum[-1], u, side="right"), len(cum) - 1)


def weighted_rows(u: np.ndarray, table: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Index drawn per element from its own row of weights: `table[rows[i]]` (rows of a small matrix)."""
    cum = np.cumsum(table, axis=1)
    cum = cum / cum[:, -1:]
    return np.minimum((u[:, None] >= cum[rows]).sum(axis=1), table.shape[1] - 1)


def rng_for(seed: int, *keys: int) -> np.random.Generator:
    return np.random.default_rng([seed & _U64, *keys])


def choice(rng: np.random.Generator, probs: Sequence[float], k: int) -> np.ndarray:
    """Indices drawn with `probs`; every index with a non-zero weight appears at least once when k allows it."""
    p = np.asarray(probs, dtype=np.float64)
    idx = rng.choice(len(p), size=k, p=p / p.sum())
    present = np.flatnonzero(p > 0)
    if k >= len(present):
        idx[rng.choice(k, size=len(present), replace=False)] = present
    return idx
