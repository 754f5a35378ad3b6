"""A department's lines through its weekly snapshots: the oldest is drawn, each later one derives from it.

One step from the snapshot at `t_prev` to the next at `t`: lines that leave the extract are chosen on the
previous state (mostly closed ones: paid, cancelled, refunded), credits certain at `t_prev` are refunded
or offset against the company's due taxes (`offsets`), credits under review move on, debts are paid,
cancelled, written off or surcharged (`movements`), then the week's new lines arrive with keys never used
before. Each step draws from its own generator (seed, department, snapshot): the same arguments give the
same files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from onevision_dagster.demo import credits as cr
from onevision_dagster.demo import movements, offsets, shares
from onevision_dagster.demo.department import Department
from onevision_dagster.demo.frames import Frame, concat, size, take
from onevision_dagster.demo.hashing import rng_for
from onevision_dagster.demo.lines import SourceModel, Window

_SOURCE_IDS = {"amendes": 1, "spl": 2, "impots_pro": 3, "rnf": 4, "credits_tva": 5, "excedents": 6, "creances_is": 7}


def row_count(n: int, ratio: float) -> int:
    return 0 if n <= 0 else max(shares.MIN_ROWS, round(ratio * n))


def source_rng(seed: int, ctx: Department, name: str, snapshot: int) -> np.random.Generator:
    """The generator of one source file; the first snapshot's keeps the historical key (seed, dept, 10 + id)."""
    keys = (ctx.pos, 10 + _SOURCE_IDS[name]) if snapshot == 0 else (ctx.pos, 10 + _SOURCE_IDS[name], snapshot)
    return rng_for(seed, *keys)


def open_lines(name: str, lines: Frame) -> np.ndarray:
    """Lines that still matter to an agent (something owed either way, or a credit not yet settled)."""
    st = lines.get("statut")
    if name == "amendes":
        return movements.fines_open(lines)
    if name == "spl":
        return movements.spl_open(lines)
    if name == "impots_pro":
        return movements.taxes_open(lines)
    if name == "rnf":
        return movements.rnf_open(lines)
    if name == "credits_tva":
        return np.isin(st, (cr.FILED, cr.REVIEWED, cr.GRANTED))
    if name == "excedents":
        return st == cr.TO_RETURN
    return np.isin(st, (cr.IN_REVIEW, cr.REFUNDABLE))


@dataclass
class DepartmentHistory:
    ctx: Department
    models: Sequence[SourceModel]
    seed: int
    lines: dict[str, Frame] = field(default_factory=dict)
    next_seq: dict[str, int] = field(default_factory=dict)
    first_size: dict[str, int] = field(default_factory=dict)

    def start(self, t: int) -> dict[str, np.random.Generator]:
        """The first snapshot's stock; returns the generators the bad rows of each file continue with."""
        rngs = {}
        for m in self.models:
            rng = source_rng(self.seed, self.ctx, m.name, 0)
            k = row_count(self.ctx.lay.n, shares.ROWS_PER_COMPANY[m.name])
            self.lines[m.name] = m.build(self.ctx, rng, k, Window(t=t, snapshot=0, seq0=1))
            self.next_seq[m.name] = k + 1
            self.first_size[m.name] = k
            rngs[m.name] = rng
        return rngs

    def advance(self, t_prev: int, t: int, snapshot: int, effect: float = 0.0) -> dict[str, np.random.Generator]:
        """The week from `t_prev` to `t`; `effect`: the pilots' extra chance of applying a flagged credit."""
        rng = rng_for(self.seed, self.ctx.pos, 400, snapshot)
        staying = {}
        for name, lines in self.lines.items():
            gone = np.where(open_lines(name, lines), shares.GONE_OPEN, shares.GONE_CLOSED)
            staying[name] = rng.random(size(lines)) >= gone
        offsets.settle(self.ctx, self.lines, staying, rng, t_prev, effect)
        offsets.progress(self.lines, rng)
        movements.fines_week(self.lines["amendes"], rng, t)
        movements.spl_week(self.lines["spl"], rng, t)
        movements.taxes_week(self.lines["impots_pro"], rng, t_prev, t)
        movements.rnf_week(self.lines["rnf"], rng, t)
        rngs = {}
        for m in self.models:
            kept = take(self.lines[m.name], staying[m.name])
            src_rng = source_rng(self.seed, self.ctx, m.name, snapshot)
            k = round(shares.NEW_LINES_PER_WEEK[m.name] * self.first_size[m.name])
            if k:
                new = m.build(self.ctx, src_rng, k, Window(t=t, snapshot=snapshot, seq0=self.next_seq[m.name],
                                                           since=t_prev))
                kept = concat([kept, new]) if size(kept) else new
                self.next_seq[m.name] += k
            self.lines[m.name] = kept
            rngs[m.name] = src_rng
        return rngs
