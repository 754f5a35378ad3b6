"""Contract version 3's cases, given to a few lines of a file: claims around a judgment, multi-department companies.

The source modules draw their lines as usual, then hand a few of them (at most a quarter of the file) to the
companies a case is about: a company in a collective procedure gets a CFE of its judgment's year due after the
judgment, a fine surcharged after it for an offence before it, a title issued after it; a company present in
two departments (`cross_links`) gets its certain credits in one and its due taxes in the other, so the national
`compensations` output has rows across departments. Every share is in `shares` (docs/demo.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import numpy as np

from onevision_dagster.demo import shares
from onevision_dagster.demo.categories import PROFILE_NAMES
from onevision_dagster.demo.cells import NO_DATE
from onevision_dagster.demo.companies import DEPT_POS, Layout, frame
from onevision_dagster.demo.hashing import rng_for

if TYPE_CHECKING:
    from onevision_dagster.demo.department import Department
    from onevision_dagster.demo.lines import Window

MAX_CASE_SHARE = 4  # at most 1 / MAX_CASE_SHARE of a file's lines are handed to cases
_NO_CROSS = ("public", "etat_etranger")  # profiles that never hold these credits and taxes


@dataclass(frozen=True)
class CrossLinks:
    """The multi-department companies of one department: global index, and whether the credits are here
    (else the due taxes are)."""

    gidx: np.ndarray
    credit_here: np.ndarray

    @classmethod
    def empty(cls) -> CrossLinks:
        return cls(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool))


def cross_links(seed: int, layouts: Mapping[str, Layout], partners: Mapping[str, Sequence[str]], anchor: date,
                outside: Mapping[str, tuple[str, ...]], n_snapshots: int) -> dict[str, CrossLinks]:
    """For each department, its companies paired with another department (`partners[d]`, generated ones) and
    the companies of other departments paired with it; both sides see the same pairs and roles.

    `shares.CROSS_DEPARTMENT_SHARE` of a department's companies are drawn, those in a procedure, arriving late or
    of a public profile left out; half hold their credits at home and owe the taxes in the partner, half the
    reverse.
    """
    found: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {d: [] for d in layouts}
    for d, lay in layouts.items():
        others = tuple(p for p in partners.get(d, ()) if p != d and p in layouts)
        m = round(shares.CROSS_DEPARTMENT_SHARE * lay.n)
        if not others or m == 0:
            continue
        rng = rng_for(seed, DEPT_POS[d], 600)
        ranks = np.sort(rng.choice(lay.n, size=min(m, lay.n), replace=False))
        partner = np.array(others, dtype=object)[rng.integers(0, len(others), len(ranks))]
        credit_home = rng.random(len(ranks)) < 0.5
        gidx = DEPT_POS[d] * lay.stride + ranks
        fr = frame(seed, d, lay, gidx, anchor, outside.get(d, ()), n_snapshots)
        public = np.isin(fr["profile"], [PROFILE_NAMES.index(p) for p in _NO_CROSS])
        ok = (fr["jugement"] == NO_DATE) & (fr["arrival"] == 0) & ~public
        gidx, partner, credit_home = gidx[ok], partner[ok], credit_home[ok]
        found[d].append((gidx, credit_home))
        for p in set(partner.tolist()):
            sel = partner == p
            found[p].append((gidx[sel], ~credit_home[sel]))
    out = {}
    for d, parts in found.items():
        if not parts:
            out[d] = CrossLinks.empty()
            continue
        g = np.concatenate([p[0] for p in parts])
        c = np.concatenate([p[1] for p in parts])
        order = np.argsort(g, kind="stable")
        out[d] = CrossLinks(g[order], c[order])
    return out


def chosen(rng: np.random.Generator, candidates: np.ndarray, share: float) -> np.ndarray:
    """Each candidate company with probability `share`."""
    return candidates[rng.random(len(candidates)) < share]


def place(rng: np.random.Generator, taken: np.ndarray, companies: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(line positions, companies): one free line per company, at most a quarter of the file in all; the
    positions are marked taken."""
    free = np.flatnonzero(~taken)
    room = max(0, len(taken) // MAX_CASE_SHARE - int(taken.sum()))
    n = min(len(companies), room, len(free))
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    pos = np.sort(rng.choice(free, size=n, replace=False))
    taken[pos] = True
    return pos, np.asarray(companies[:n], dtype=np.int64)


def judged(pool_frame: Mapping[str, np.ndarray], n: int, before: int) -> np.ndarray:
    """Indices of the department's own companies (the first `n` of its frame) in a collective procedure
    judged before day `before`, present from the first snapshot."""
    jug = pool_frame["jugement"][:n]
    return np.flatnonzero((jug != NO_DATE) & (jug < before) & (pool_frame["arrival"][:n] == 0))


def after_judgment(rng: np.random.Generator, jug: np.ndarray, t: int) -> np.ndarray:
    """A day after the judgment, on or before `t` (every judgment is before `t`)."""
    return jug + 1 + (rng.random(len(jug)) * (t - jug)).astype(np.int64)


def titles_after_judgment(ctx: Department, rng: np.random.Generator, k: int, w: Window,
                          share: float) -> tuple[np.ndarray, np.ndarray]:
    """(positions, companies) of titles issued after a company's judgment (first snapshot's stock only)."""
    if not w.stock:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    cand = judged(ctx.pool, ctx.lay.n, w.t)
    return place(rng, np.zeros(k, dtype=bool), chosen(rng, cand, share))
