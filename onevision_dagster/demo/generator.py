"""Synthetic landing zone (SOURCES.md, version 2) for demos, load tests and pipeline tests.

`generate_landing` writes, for each of `instantanes` weekly dates ending on `as_of`, the national register
and the seven extracts of each department, with the movements of section 9 between consecutive snapshots.
The pieces: `companies` / `register` (who exists and what the register shows at a date), `department`
(who a line is about), one module per source (`fines`, `spl`, `taxes`, `rnf`, `credits`), `history` with
`movements` and `offsets` (a week of a department), `bad_rows` and `writers` (the files), and `shares`
(every proportion drawn; docs/demo.md). Same arguments, same bytes.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa

from onevision_dagster.contract.departements import ALL_DEPARTEMENTS, PILOT_DEPARTEMENTS
from onevision_dagster.contract.sources import ENTREPRISES
from onevision_dagster.demo import credits, fines, rnf, shares, spl, taxes
from onevision_dagster.demo.bad_rows import Built, make_bad_rows
from onevision_dagster.demo.cells import day, fmt_date
from onevision_dagster.demo.companies import DEPT_POS, Layout, la_poste
from onevision_dagster.demo.department import Department, department
from onevision_dagster.demo.hashing import rng_for
from onevision_dagster.demo.history import DepartmentHistory
from onevision_dagster.demo.identifiers import SIREN_SPACE, sirens
from onevision_dagster.demo.lines import SourceModel
from onevision_dagster.demo.register import register_view
from onevision_dagster.demo.summary import FileRecord, GenerationSummary
from onevision_dagster.demo.writers import encode, header, interleave, lines, physical_lines

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
) -> GenerationSummary:
    """Write a landing zone: per weekly date (`instantanes` of them, the last on `as_of`), the national
    register and the seven extracts of each department.

    `n_entreprises` companies have their head office in each department (plus a few out-of-scope register
    rows). `pilotes` apply the offsets the tool flags more often than the other departments.
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
                      bad_row_rate, pilotes)


def write_zone(out: Path, plan: ZonePlan, dates: Sequence[date], seed: int, bad_row_rate: float = 0.01,
               pilotes: Collection[str] = PILOT_DEPARTEMENTS) -> GenerationSummary:
    """Write the files of `plan` for every date of `dates` (oldest first, a week apart)."""
    if not dates:
        raise ValueError("at least one snapshot date is needed")
    if not 0 <= bad_row_rate <= MAX_BAD_ROW_RATE:
        raise ValueError(f"bad_row_rate must be within [0, {MAX_BAD_ROW_RATE}]")
    if plan.stride * len(ALL_DEPARTEMENTS) > SIREN_SPACE:
        raise ValueError("too many companies for unique SIRENs across all departments")
    days = [day(d) for d in dates]
    order = [d for d in ALL_DEPARTEMENTS if d in plan.sizes]
    with_sources = tuple(d for d in plan.sizes if d in plan.with_sources)  # in the caller's order
    summary = GenerationSummary(out=out, as_of=dates[-1], departements=with_sources, dates=tuple(dates))
    writer = _Writer(out, summary, bad_row_rate)
    registers = [writer.open_register(dt) for dt in dates]
    models = source_models(seed)
    try:
        for d in order:
            ctx = department(seed, d, plan.layout(d), dates[-1], plan.outside, plan.peers.get(d, ()), len(dates))
            for k, reg in enumerate(registers):
                reg.add(ctx, seed, days, k, writer.n_bad)
            if d not in plan.with_sources:
                continue
            hist = DepartmentHistory(ctx, models, seed)
            for k, dt in enumerate(dates):
                if k == 0:
                    rngs = hist.start(days[0])
                else:
                    rngs = hist.advance(days[k - 1], days[k], k, d in pilotes)
                for m in models:
                    writer.source_file(m, ctx, hist.lines[m.name], dt, days[k], rngs[m.name])
    finally:
        for reg in registers:
            reg.close()
    return summary


class _Writer:
    def __init__(self, out: Path, summary: GenerationSummary, bad_rate: float) -> None:
        self.out, self.summary, self.bad_rate = out, summary, bad_rate

    def n_bad(self, n_good: int) -> int:
        if self.bad_rate <= 0 or n_good == 0:
            return 0
        return max(1, round(self.bad_rate * n_good))

    def open_register(self, dt: date) -> _Register:
        return _Register(self.out / ENTREPRISES.name / f"{ENTREPRISES.name}_{dt:%Y%m%d}.csv", dt, self.summary)

    def source_file(self, m: SourceModel, ctx: Department, frame: dict, dt: date, t: int,
                    rng: np.random.Generator) -> None:
        spec = m.spec
        built = Built(m.cells(frame, t), m.fresh_key(ctx, t), m.rule)
        good = lines(spec, built.cells)
        bad, anchors, kinds = make_bad_rows(spec, built, rng, self.n_bad(len(good)), t)
        rows, positions = interleave(good, bad, anchors, rng)
        path = self.out / spec.name / f"{spec.name}_{ctx.code}_{dt:%Y%m%d}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(header(spec) + encode(spec, rows))
        bad_lines = physical_lines(rows)[positions] if len(positions) else np.zeros(0, dtype=np.int64)
        self.summary.records.append(FileRecord(spec.name, ctx.code, dt, path, len(rows), bad_lines, kinds))


class _Register:
    """One register file, written department by department, La Poste last."""

    def __init__(self, path: Path, dt: date, summary: GenerationSummary) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path, self.date, self.summary = path, dt, summary
        self.handle = path.open("wb")
        self.handle.write(header(ENTREPRISES))
        self.next_line = 2
        self.rows = 0
        self.bad_lines: list[np.ndarray] = []
        self.bad_kinds: list[str] = []

    def _write(self, rows: pa.Array) -> np.ndarray:
        self.handle.write(encode(ENTREPRISES, rows))
        numbers = physical_lines(rows, self.next_line)
        if len(rows):
            self.next_line = int(numbers[-1]) + 1 + rows[-1].as_py().count("\n")
        self.rows += len(rows)
        return numbers

    def add(self, ctx: Department, seed: int, days: list[int], k: int, n_bad) -> None:
        t = days[k]
        cells = register_view(ctx.frame, t, k, days)
        base = ctx.pos * ctx.lay.stride + ctx.lay.bad_start
        bad_sirens = sirens(seed, base + np.arange(ctx.lay.stride - ctx.lay.bad_start))
        jug_iso = fmt_date(t - 200, "YYYY-MM-DD")

        def fresh(row: dict[str, str], i: int) -> None:
            row["siren"] = f"{bad_sirens[i]:09d}"

        def rule(row: dict[str, str], rng: np.random.Generator) -> None:
            if rng.random() < 0.5:
                row["procedure_collective"] = ("SAUVEGARDE", "REDRESSEMENT", "LIQUIDATION")[int(rng.integers(3))]
                row["date_jugement"] = ""
            else:
                row["procedure_collective"] = ""
                row["date_jugement"] = jug_iso

        rng = rng_for(seed, ctx.pos, 100) if k == 0 else rng_for(seed, ctx.pos, 100, k)
        built = Built(cells, fresh, rule)
        good = lines(ENTREPRISES, cells)
        bad, anchors, kinds = make_bad_rows(ENTREPRISES, built, rng, n_bad(len(good)), t)
        rows, positions = interleave(good, bad, anchors, rng)
        numbers = self._write(rows)
        if len(positions):
            self.bad_lines.append(numbers[positions])
            self.bad_kinds += kinds

    def close(self) -> None:
        if self.handle.closed:
            return
        self._write(lines(ENTREPRISES, _la_poste_cells()))
        self.handle.close()
        bad = np.concatenate(self.bad_lines) if self.bad_lines else np.zeros(0, dtype=np.int64)
        self.summary.records.append(FileRecord(ENTREPRISES.name, None, self.date, self.path, self.rows, bad,
                                               self.bad_kinds))


def _la_poste_cells() -> dict[str, pa.Array]:
    fr = la_poste("75015", "PARIS")
    return register_view(fr, fr["date_creation"][0], 0, [0])
