"""Difference in differences with randomization inference (issue 19, docs/evaluation.md).

The unit is a department; its outcome in a period is a pooled rate: the sum of its numerators over the sum of its
denominators on the pairs of snapshots of that period. A group's rate pools its departments the same way (each
weighted by its denominator). The estimate is

    (pilots after − pilots before) − (others after − others before)

and its p-value compares it with the same estimate for every way of choosing as many "pilots" among the
departments (all of them up to `MAX_EXHAUSTIVE`, else `DRAWS` drawn with a fixed seed, the real assignment first).
The 95 % interval inverts that test: an effect τ is kept when, once τ is taken off every pilot's "after" rate
(its numerators lowered by τ × its denominators), the real assignment is not among the 5 % most extreme.

Statistics, not money: rates are floats here (the money sums they come from were exact in the warehouse).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

MAX_EXHAUSTIVE = 10_000
DRAWS = 10_000
SEED = 20261
ALPHA = 0.05
TIE = 1e-9
"""Two statistics closer than this (rates) are equal: permutations that should tie do tie despite rounding."""
UNBOUNDED = 10.0
"""An effect of ±10 (1 000 points of a rate) still not rejected: the interval is said unbounded."""


@dataclass(frozen=True)
class Cells:
    """Per department, the sums of the numerators and denominators before and after the start."""

    departements: tuple[str, ...]
    num_avant: np.ndarray
    den_avant: np.ndarray
    num_apres: np.ndarray
    den_apres: np.ndarray


def cells(panel: pd.DataFrame, avant: pd.Series) -> Cells:
    """`panel`: one row per department and pair (`departement`, `numerateur`, `denominateur`); `avant`: True for
    the pairs before the start. Departments without a positive denominator in both periods are left out (their
    rate is not defined in one of them)."""
    frame = panel.assign(avant=avant.to_numpy(dtype=bool))
    frame = frame.assign(num=frame["numerateur"].astype(float), den=frame["denominateur"].astype(float))
    sums = frame.groupby(["departement", "avant"])[["num", "den"]].sum().unstack("avant", fill_value=0.0)
    for col in (("num", False), ("num", True), ("den", False), ("den", True)):
        if col not in sums.columns:
            sums[col] = 0.0
    sums = sums[(sums[("den", True)] > 0) & (sums[("den", False)] > 0)].sort_index()
    return Cells(tuple(str(d) for d in sums.index), sums[("num", True)].to_numpy(), sums[("den", True)].to_numpy(),
                 sums[("num", False)].to_numpy(), sums[("den", False)].to_numpy())


def did_many(c: Cells, z: np.ndarray, shift: float = 0.0, pilots: np.ndarray | None = None) -> np.ndarray:
    """The estimate for each assignment (rows of the 0/1 matrix `z`, columns = `c.departements`); `shift` is
    taken off the "after" rate of the real `pilots` (a 0/1 vector) before."""
    num_apres = c.num_apres if not shift else c.num_apres - shift * c.den_apres * pilots
    zf = z.astype(float)
    others = 1.0 - zf
    with np.errstate(divide="ignore", invalid="ignore"):
        pilots_after = zf @ num_apres / (zf @ c.den_apres)
        pilots_before = zf @ c.num_avant / (zf @ c.den_avant)
        others_after = others @ num_apres / (others @ c.den_apres)
        others_before = others @ c.num_avant / (others @ c.den_avant)
    return (pilots_after - pilots_before) - (others_after - others_before)


def did(c: Cells, pilots: np.ndarray) -> float:
    return float(did_many(c, pilots[None, :])[0])


def assignments(n: int, real: np.ndarray, max_exhaustive: int = MAX_EXHAUSTIVE, draws: int = DRAWS,
                seed: int = SEED) -> np.ndarray:
    """Every way of choosing `real.sum()` pilots among `n` departments (lexicographic order of
    `itertools.combinations`), or the real assignment then `draws − 1` drawn with a fixed seed."""
    k = int(real.sum())
    if math.comb(n, k) <= max_exhaustive:
        z = np.zeros((math.comb(n, k), n), dtype=np.int8)
        for row, chosen in enumerate(itertools.combinations(range(n), k)):
            z[row, list(chosen)] = 1
        return z
    rng = np.random.default_rng(seed)
    chosen = rng.random((draws - 1, n)).argsort(axis=1)[:, :k]
    z = np.zeros((draws, n), dtype=np.int8)
    z[0] = real
    np.put_along_axis(z[1:], chosen, 1, axis=1)
    return z


def p_value(c: Cells, z: np.ndarray, pilots: np.ndarray, shift: float = 0.0) -> float:
    """Two-sided: the share of the assignments whose estimate is at least as far from 0 as the real one's, once
    `shift` is taken off the pilots' "after" rates (the sharp null "the effect is `shift` everywhere")."""
    stats = did_many(c, z, shift, pilots)
    observed = did_many(c, pilots[None, :], shift, pilots)[0]
    return float(np.mean(np.abs(stats) >= abs(observed) - TIE))


def _bound(c: Cells, z: np.ndarray, pilots: np.ndarray, estimate: float, direction: int, alpha: float,
           tolerance: float) -> float:
    """The last effect kept going from the estimate in `direction` (±1): doubling steps, then bisection."""
    step = max(abs(estimate), 0.01)
    kept = estimate
    while p_value(c, z, pilots, kept + direction * step) > alpha:
        kept = kept + direction * step
        step *= 2
        if abs(kept - estimate) > UNBOUNDED:
            return direction * math.inf
    rejected = kept + direction * step
    while abs(rejected - kept) > tolerance:
        middle = (kept + rejected) / 2
        if p_value(c, z, pilots, middle) > alpha:
            kept = middle
        else:
            rejected = middle
    return kept


def interval(c: Cells, z: np.ndarray, pilots: np.ndarray, alpha: float = ALPHA,
             tolerance: float = 1e-6) -> tuple[float, float]:
    """The effects not rejected at `alpha` around the estimate (±inf when too few assignments can reject)."""
    estimate = did(c, pilots)
    if 1.0 / len(z) > alpha:  # even the most extreme assignment alone cannot be rejected
        return -math.inf, math.inf
    return (_bound(c, z, pilots, estimate, -1, alpha, tolerance),
            _bound(c, z, pilots, estimate, +1, alpha, tolerance))


@dataclass(frozen=True)
class Inference:
    estimation: float | None
    ic_bas: float | None  # -inf / inf: not bounded
    ic_haut: float | None
    p_valeur: float | None
    tirages: int
    pilotes: tuple[str, ...]
    temoins: tuple[str, ...]


def infer(panel: pd.DataFrame, avant: pd.Series, pilotes: Sequence[str], alpha: float = ALPHA,
          max_exhaustive: int = MAX_EXHAUSTIVE, draws: int = DRAWS, seed: int = SEED) -> Inference:
    """Estimate, p-value and interval of one indicator (nothing estimated without pilots and others)."""
    c = cells(panel, avant)
    pilots = np.array([d in set(pilotes) for d in c.departements], dtype=np.int8)
    chosen = tuple(d for d, p in zip(c.departements, pilots, strict=True) if p)
    others = tuple(d for d, p in zip(c.departements, pilots, strict=True) if not p)
    if not chosen or not others:
        return Inference(None, None, None, None, 0, chosen, others)
    z = assignments(len(c.departements), pilots, max_exhaustive, draws, seed)
    low, high = interval(c, z, pilots, alpha)
    return Inference(did(c, pilots), low, high, p_value(c, z, pilots), len(z), chosen, others)


def twfe(panel: pd.DataFrame, avant: pd.Series, pilotes: Sequence[str]) -> float | None:
    """The regression form, as a cross-check: weighted least squares (weights = denominators) of each department's
    rate per pair on department and pair-end dummies and "pilot × after" (statsmodels); its coefficient."""
    import statsmodels.api as sm

    frame = panel.assign(avant=avant.to_numpy(dtype=bool))
    frame = frame[frame["denominateur"].astype(float) > 0]
    if frame.empty or frame["avant"].all() or not frame["avant"].any():
        return None
    treated = frame["departement"].isin(list(pilotes)) & ~frame["avant"]
    if not treated.any() or treated.all():
        return None
    design = pd.concat([
        pd.Series(1.0, index=frame.index, name="constante"),
        treated.astype(float).rename("pilote_apres"),
        pd.get_dummies(frame["departement"].astype(str), prefix="d", drop_first=True, dtype=float),
        pd.get_dummies(frame["date_fin"].astype(str), prefix="t", drop_first=True, dtype=float),
    ], axis=1)
    rate = frame["numerateur"].astype(float) / frame["denominateur"].astype(float)
    fit = sm.WLS(rate, design, weights=frame["denominateur"].astype(float)).fit()
    return float(fit.params["pilote_apres"])
