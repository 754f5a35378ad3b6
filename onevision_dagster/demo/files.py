"""One file of a snapshot: its good rows, its intentionally invalid rows slotted in, and its record.

A source file is written at once; the register file of a date is written department by department (the
departments are generated one after the other), La Poste last.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa

from onevision_dagster.contract.sources import ENTREPRISES
from onevision_dagster.demo.bad_rows import Built, make_bad_rows
from onevision_dagster.demo.cells import fmt_date
from onevision_dagster.demo.companies import la_poste
from onevision_dagster.demo.department import Department
from onevision_dagster.demo.frames import Frame
from onevision_dagster.demo.hashing import rng_for
from onevision_dagster.demo.identifiers import sirens
from onevision_dagster.demo.lines import SourceModel
from onevision_dagster.demo.register import register_view
from onevision_dagster.demo.summary import FileRecord, GenerationSummary
from onevision_dagster.demo.writers import encode, header, interleave, lines, physical_lines


class Writer:
    """Writes a zone's files and records each in the summary, with `bad_rate` of its rows invalid on purpose."""

    def __init__(self, out: Path, summary: GenerationSummary, bad_rate: float) -> None:
        self.out, self.summary, self.bad_rate = out, summary, bad_rate

    def n_bad(self, n_good: int) -> int:
        if self.bad_rate <= 0 or n_good == 0:
            return 0
        return max(1, round(self.bad_rate * n_good))

    def open_register(self, dt: date) -> RegisterFile:
        return RegisterFile(self.out / ENTREPRISES.name / f"{ENTREPRISES.name}_{dt:%Y%m%d}.csv", dt, self.summary)

    def source_file(self, m: SourceModel, ctx: Department, frame: Frame, dt: date, t: int,
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


class RegisterFile:
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

    def add(self, ctx: Department, seed: int, days: list[int], k: int, n_bad: Callable[[int], int]) -> None:
        t = days[k]
        cells = register_view(ctx.frame, t, k, days)
        base = ctx.pos * ctx.lay.stride + ctx.lay.bad_start
        bad_sirens = sirens(seed, base + np.arange(ctx.lay.stride - ctx.lay.bad_start))
        jug_iso = fmt_date(t - 200, "YYYY-MM-DD")
        pub_iso, early_iso = fmt_date(t - 180, "YYYY-MM-DD"), fmt_date(t - 230, "YYYY-MM-DD")

        def fresh(row: dict[str, str], i: int) -> None:
            row["siren"] = f"{bad_sirens[i]:09d}"

        def rule(row: dict[str, str], rng: np.random.Generator) -> None:
            r = rng.random()
            procedure = ("SAUVEGARDE", "REDRESSEMENT", "LIQUIDATION")[int(rng.integers(3))]
            row["date_publication_bodacc"] = ""
            if r < 0.3:  # a procedure without its judgment
                row["procedure_collective"], row["date_jugement"] = procedure, ""
            elif r < 0.6:  # a judgment without a procedure
                row["procedure_collective"], row["date_jugement"] = "", jug_iso
            elif r < 0.8:  # version 3: a BODACC publication without a procedure
                row["procedure_collective"], row["date_jugement"] = "", ""
                row["date_publication_bodacc"] = pub_iso
            else:  # version 3: published before the judgment
                row["procedure_collective"], row["date_jugement"] = procedure, jug_iso
                row["date_publication_bodacc"] = early_iso

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
