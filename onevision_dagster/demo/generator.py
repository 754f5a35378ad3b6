"""Synthetic landing zone (SOURCES.md, version 3) for demos, load tests and pipeline tests.

`generate_landing` writes, for each of `instantanes` weekly dates ending on `as_of`, the national register
and the seven extracts of each department, with the movements of section 9 between consecutive snapshots.
The pieces: `companies` / `register` (who exists and what the register shows at a date), `department`
(who a line is about), one module per source (`fines`, `spl`, `taxes`, `rnf`, `credits`), `history` with
`movements` and `offsets` (a week of a department), `files`, `bad_rows` and `writers` (the files), and `shares`
(every proportion drawn; docs/demo.md). Same arguments, same bytes.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from onevision_dagster.contract.departements import ALL_DEPARTEMENTS, PILOT_DEPARTEMENTS
from onevision_dagster.demo import credits, fines, rnf, shares, spl, taxes
from onevision_dagster.demo.cases import cross_links
from onevision_dagster.demo.cells import day
from onevision_dagster.demo.companies import DEPT_POS, Layout
from onevision_dagster.demo.department import department
from onevision_dagster.demo.files import Writer
from onevision_dagster.demo.history import DepartmentHistory
from onevision_dagster.demo.identifiers import SIREN_SPACE
from onevision_dagster.demo.lines import SourceModel
from onevision_dagster.demo.summary import GenerationSummary
from onevision_dagster.ingest.landing import SYNTHETIC_MARKER

MAX_BAD_ROW_RATE = shares.MAX_BAD_ROW_RATE
SNAPSHOT_DAYS = 7


def source_models(seed: int) -> tuple[SourceModel, ...]:
    return (fines.MODEL, spl.model(seed), taxes.MODEL, rnf.MODEL, credits.VAT, credits.OVERPAYMENTS,
            credits.IS_RECEIVABLES)


def snapshot_dates(as_of: date, instantanes: int) -> list[date]:
    """The weekly extraction dates, oldest first, the last one being `as_of`."""
    return [as_of - timedelta(days=SNAPSHOT_DAYS * i) for i in range(instantanes - 1, -1, -1)]


@dataclass(frozen=True)
class ZonePlan:
    """Which departments, how many companies each, and how their SIREN blocks are laid out."""

    sizes: Mapping[str, int]  # in-scope companies with their head office in each department of the register
    with_sources: frozenset[str]  # departments whose seven extracts are written
    stride: int  # global indices per department block (the same for all: blocks never overlap)
    outside: tuple[str, ...]  # departments not generated, where some head offices are
    peers: Mapping[str, tuple[str, ...]]  # where each department's multi-site debtors come from

    @classmethod
    def uniform(cls, departements: Sequence[str], n: int) -> ZonePlan:
        depts = tuple(departements)
        return cls(
            sizes={d: n for d in depts},
            with_sources=frozenset(depts),
            stride=Layout.stride_for(n),
            outside=tuple(d for d in ALL_DEPARTEMENTS if d not in depts),
            peers={d: depts for d in depts},
        )

    def layout(self, d: str) -> Layout:
        n = self.sizes[d]
        lay = Layout(n, 0, self.stride)
        return Layout(n, lay.max_outside, self.stride) if self.outside else lay


def generate_landing(
    out: Path,
    departements: Sequence[str],
    n_entreprises: int,
    as_of: date,
    seed: int,
    bad_row_rate: float = 0.01,
    instantanes: int = 1,
    pilotes: Collection[str] = PILOT_DEPARTEMENTS,
    debut_pilote: date | None = None,
    effet: float = shares.DEFAULT_PILOT_EFFECT,
) -> GenerationSummary:
    """Write a landing zone: per weekly date (`instantanes` of them, the last on `as_of`), the national
    register and the seven extracts of each department.

    `n_entreprises` companies have their head office in each department (plus a few out-of-scope register
    rows). After `debut_pilote` (None: from the first week), `pilotes` apply each offset the tool flags with
    `effet` more probability than the other departments; the weeks ending on or before it are drawn alike
    everywhere.
    """
    depts = tuple(departements)
    for d in depts:
        if d not in DEPT_POS:
            raise ValueError(f"unknown department code {d!r} (expected 01…95 without 20, 2A, 2B, 971…974, 976)")
    if len(set(depts)) != len(depts):
        raise ValueError("departments must not repeat")
    if n_entreprises < 0:
        raise ValueError("n_entreprises must be >= 0")
    if Layout.stride_for(n_entreprises) * len(ALL_DEPARTEMENTS) > SIREN_SPACE:
        raise ValueError("n_entreprises too large for unique SIRENs across all departments")
    return write_zone(Path(out), ZonePlan.uniform(depts, n_entreprises), snapshot_dates(as_of, instantanes), seed,
                      bad_row_rate, pilotes, debut_pilote, effet)


def write_zone(out: Path, plan: ZonePlan, dates: Sequence[date], seed: int, bad_row_rate: float = 0.01,
               pilotes: Collection[str] = PILOT_DEPARTEMENTS, debut_pilote: date | None = None,
               effet: float = shares.DEFAULT_PILOT_EFFECT) -> GenerationSummary:
    """Write the files of `plan` for every date of `dates` (oldest first, a week apart)."""
    if not dates:
        raise ValueError("at least one snapshot date is needed")
    if not 0 <= bad_row_rate <= MAX_BAD_ROW_RATE:
        raise ValueError(f"bad_row_rate must be within [0, {MAX_BAD_ROW_RATE}]")
    if not 0 <= effet <= shares.MAX_PILOT_EFFECT:
        raise ValueError(f"effet must be within [0, {shares.MAX_PILOT_EFFECT:g}]")
    if plan.stride * len(ALL_DEPARTEMENTS) > SIREN_SPACE:
        raise ValueError("too many companies for unique SIRENs across all departments")
    days = [day(d) for d in dates]
    order = [d for d in ALL_DEPARTEMENTS if d in plan.sizes]
    with_sources = tuple(d for d in plan.sizes if d in plan.with_sources)  # in the caller's order
    summary = GenerationSummary(out=out, as_of=dates[-1], departements=with_sources, dates=tuple(dates))
    _mark_synthetic(out, seed, dates)
    writer = Writer(out, summary, bad_row_rate)
    registers = [writer.open_register(dt) for dt in dates]
    models = source_models(seed)
    # companies with credits in one generated department and due taxes in another (version 3)
    sourced = {d: plan.layout(d) for d in order if d in plan.with_sources}
    cross = cross_links(seed, sourced, plan.peers, dates[-1], {d: plan.outside for d in sourced}, len(dates))
    try:
        for d in order:
            ctx = department(seed, d, plan.layout(d), dates[-1], plan.outside, plan.peers.get(d, ()), len(dates),
                             cross.get(d))
            for k, reg in enumerate(registers):
                reg.add(ctx, seed, days, k, writer.n_bad)
            if d not in plan.with_sources:
                continue
            hist = DepartmentHistory(ctx, models, seed)
            for k, dt in enumerate(dates):
                if k == 0:
                    rngs = hist.start(days[0])
                else:  # a week ending after the start: the pilots apply more of the flagged offsets
                    after = debut_pilote is None or dt > debut_pilote
                    rngs = hist.advance(days[k - 1], days[k], k, effet if d in pilotes and after else 0.0)
                for m in models:
                    writer.source_file(m, ctx, hist.lines[m.name], dt, days[k], rngs[m.name])
    finally:
        for reg in registers:
            reg.close()
    return summary


def _mark_synthetic(out: Path, seed: int, dates: Sequence[date]) -> None:
    """The marker every screen built from this zone reads to say its data are synthetic."""
    out.mkdir(parents=True, exist_ok=True)
    (out / SYNTHETIC_MARKER).write_text(
        "Zone de dépôt synthétique écrite par « onevision generate » (graine " + str(seed) + ", extractions du "
        f"{dates[0]:%d/%m/%Y} au {dates[-1]:%d/%m/%Y}) : aucune entreprise, aucun montant n'est réel.\n",
        encoding="utf-8")
