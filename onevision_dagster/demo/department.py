"""One department's companies and who its lines are about.

The pool of possible debtors and creditors of a department: its own register rows, a few companies of
other generated departments (multi-site debtors), valid SIRENs the register does not hold, and La Poste.
The same few companies recur across sources (debts and credits), so positions combine several sources.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from onevision_dagster.demo import shares
from onevision_dagster.demo.cases import CrossLinks
from onevision_dagster.demo.categories import COMMERCIALE
from onevision_dagster.demo.cells import day
from onevision_dagster.demo.companies import DEPT_POS, Layout, arrival, frame, la_poste, postal_table
from onevision_dagster.demo.frames import Frame, concat, size
from onevision_dagster.demo.hashing import rng_for

LOCAL, OUT_OF_SCOPE, FOREIGN, UNKNOWN, LA_POSTE = range(5)


@dataclass
class Department:
    code: str
    pos: int
    lay: Layout
    cps: np.ndarray
    communes: np.ndarray
    frame: Frame  # register rows of the department (head office here, plus outside head offices)
    pool: Frame  # frame + companies of other departments + unknown SIRENs + La Poste
    foreign_idx: np.ndarray  # indices in pool of companies whose head office is elsewhere
    unknown_idx: np.ndarray
    la_poste_idx: int
    commercial_idx: np.ndarray  # local commercial companies present from the first snapshot
    latest: int = 0  # the latest snapshot's date (day number)
    cross_idx: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # multi-department companies
    cross_credit: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))  # ... holding credits here


def department(seed: int, code: str, lay: Layout, anchor: date, outside: tuple[str, ...],
               peers: Sequence[str], n_snapshots: int, cross: CrossLinks | None = None) -> Department:
    pos = DEPT_POS[code]
    base = pos * lay.stride
    own = frame(seed, code, lay, base + np.arange(lay.n_register), anchor, outside, n_snapshots)
    rng = rng_for(seed, pos, 200)
    others = [d for d in peers if d != code]
    parts = [own]
    foreign = list(range(lay.outside_start, lay.n_register))
    if others and lay.n > 0:
        p = max(4, round(shares.FOREIGN_POOL_SHARE * lay.n))
        od = np.array([DEPT_POS[d] for d in others])[rng.integers(0, len(others), p)]
        oj = np.floor(lay.n * rng.random(p) ** 1.7).astype(np.int64)
        g = od * lay.stride + oj
        g = np.where(arrival(seed, lay, g, n_snapshots) > 0, g - 1, g)  # present from the first snapshot
        start = sum(size(f) for f in parts)
        parts.append(frame(seed, code, lay, g, anchor, outside, n_snapshots))
        foreign += list(range(start, start + p))
    start = sum(size(f) for f in parts)
    parts.append(frame(seed, code, lay, base + lay.unknown_start + np.arange(lay.n_unknown), anchor, (), 1))
    unknown_idx = np.arange(start, start + lay.n_unknown)
    # multi-department companies (version 3): this department's own are rows of its frame, the others are added
    cross = cross or CrossLinks.empty()
    home = (cross.gidx // lay.stride) == pos
    cross_idx = np.where(home, cross.gidx % lay.stride, 0)
    if (~home).any():
        start = sum(size(f) for f in parts)
        parts.append(frame(seed, code, lay, cross.gidx[~home], anchor, outside, n_snapshots))
        cross_idx[~home] = start + np.arange(int((~home).sum()))
    cps, _, communes = postal_table(seed, code, lay.n)
    parts.append(la_poste(str(cps[0]), str(communes[0])))
    pool = concat(parts)
    local = np.arange(lay.n)
    commercial = local[(own["profile"][: lay.n] == COMMERCIALE) & (own["arrival"][: lay.n] == 0)]
    return Department(
        code=code,
        pos=pos,
        lay=lay,
        cps=cps,
        communes=communes,
        frame=own,
        pool=pool,
        foreign_idx=np.array(foreign, dtype=np.int64),
        unknown_idx=unknown_idx,
        la_poste_idx=size(pool) - 1,
        commercial_idx=commercial if len(commercial) else local[:1],
        latest=day(anchor),
        cross_idx=cross_idx.astype(np.int64),
        cross_credit=cross.credit_here,
    )


def _draw(ctx: Department, rng: np.random.Generator, k: int, la_poste: int, snapshot: int,
          ) -> tuple[np.ndarray, np.ndarray]:
    lay = ctx.lay
    mix = np.array(list(shares.DEBTOR_MIX.values()))
    kind = rng.choice(5, size=k, p=mix / mix.sum())
    if not la_poste:  # La Poste lines: none, or at least `la_poste` of them
        kind[kind == LA_POSTE] = LOCAL
    elif k >= 10 and (kind == LA_POSTE).sum() < la_poste:
        kind[rng.choice(k, size=la_poste, replace=False)] = LA_POSTE
    if k >= 10:  # make sure each kind of debtor shows up
        for kd in (OUT_OF_SCOPE, FOREIGN, UNKNOWN):
            if not (kind == kd).any():
                kind[rng.choice(np.flatnonzero(kind == LOCAL))] = kd
    if lay.n_oos == 0:
        kind[kind == OUT_OF_SCOPE] = LOCAL
    if len(ctx.foreign_idx) == 0:
        kind[kind == FOREIGN] = LOCAL
    idx = np.floor(lay.n * rng.random(k) ** 1.7).astype(np.int64)
    idx = np.where(kind == OUT_OF_SCOPE, lay.oos_start + rng.integers(0, max(lay.n_oos, 1), k), idx)
    if len(ctx.foreign_idx):
        idx = np.where(kind == FOREIGN, ctx.foreign_idx[rng.integers(0, len(ctx.foreign_idx), k)], idx)
    idx = np.where(kind == UNKNOWN, ctx.unknown_idx[rng.integers(0, len(ctx.unknown_idx), k)], idx)
    idx = np.where(kind == LA_POSTE, ctx.la_poste_idx, idx)
    # a company not yet in the register has no line: the rank before it (always present) takes it
    idx = np.where(ctx.pool["arrival"][idx] > snapshot, idx - 1, idx)
    return idx, kind


def debtors(ctx: Department, rng: np.random.Generator, k: int, la_poste: int, snapshot: int = 0,
            chance: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(index in the pool, kind of debtor) of `k` lines.

    `chance[profile]` is the probability that a line of this source is about a company of that profile
    (an association rarely claims a VAT refund): unlikely picks are drawn again, up to three times, then
    replaced by a local commercial company, so a profile with no chance never appears.
    """
    idx, kind = _draw(ctx, rng, k, la_poste, snapshot)
    if chance is None or k == 0:
        return idx, kind
    ok = rng.random(k) < chance[ctx.pool["profile"][idx]]
    for _ in range(3):
        if ok.all():
            break
        idx2, kind2 = _draw(ctx, rng, k, la_poste, snapshot)
        repl = ~ok & (rng.random(k) < chance[ctx.pool["profile"][idx2]])
        idx = np.where(repl, idx2, idx)
        kind = np.where(repl, kind2, kind)
        ok |= repl
    rest = ~ok
    if rest.any():
        idx[rest] = ctx.commercial_idx[rng.integers(0, len(ctx.commercial_idx), int(rest.sum()))]
        kind[rest] = LOCAL
    return idx, kind
