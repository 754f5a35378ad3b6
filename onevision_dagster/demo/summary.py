"""What the generator wrote: every file, its rows, and which of its lines are intentionally invalid."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np


@dataclass
class FileRecord:
    source: str
    departement: str | None  # None: the register
    date: date
    path: Path
    rows: int  # data rows (records), bad ones included
    bad_lines: np.ndarray  # physical line numbers of the intentionally invalid rows
    bad_kinds: list[str]  # the fault given to each, in the order of `bad_lines`


@dataclass
class GenerationSummary:
    """`bad_rows` is the number of rows each source must reject (each exactly once)."""

    out: Path
    as_of: date  # the latest snapshot
    departements: tuple[str, ...]
    dates: tuple[date, ...] = ()  # every snapshot, oldest first
    records: list[FileRecord] = field(default_factory=list)

    @property
    def files(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.records:
            out[r.source] = out.get(r.source, 0) + 1
        return out

    @property
    def rows(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.records:
            out[r.source] = out.get(r.source, 0) + r.rows
        return out

    @property
    def bad_rows(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.records:
            out[r.source] = out.get(r.source, 0) + len(r.bad_lines)
        return out

    @property
    def bad_rows_by_kind(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for r in self.records:
            per = out.setdefault(r.source, {})
            for k in r.bad_kinds:
                per[k] = per.get(k, 0) + 1
        return out

    @property
    def paths(self) -> list[Path]:
        return [r.path for r in self.records]

    @property
    def total_rows(self) -> int:
        return sum(r.rows for r in self.records)

    def record(self, path: Path) -> FileRecord:
        return next(r for r in self.records if r.path == path)
