"""A national landing zone whose departments have different sizes.

`onevision_dagster.generator.generate_landing` gives every department the same
number of companies, and a department's block of global company indices (hence
of SIRENs) is `position × (2n + 1000)`: two calls with different `n` would give
overlapping SIRENs. This module drives the same generator (its `_Gen` engine,
byte-compatible files) with one layout stride for all departments — the stride
of the largest one — so every department keeps its own disjoint SIREN block
while having its own number of companies. Multi-site debtors of a department
are drawn from departments at least as large as itself, so they always exist
in the register.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from onevision_dagster.contract.sources import ENTREPRISES
from onevision_dagster.demo import generator as g

WEIGHTS_FILE = Path(__file__).with_name("departements.csv")
FULL_SCALE_LARGEST = 200_000  # companies of the largest department (Paris) at --scale 1.0


def load_weights(path: Path = WEIGHTS_FILE) -> dict[str, float]:
    """Relative number of companies per department (Paris = 1)."""
    with path.open(encoding="utf-8", newline="") as f:
        return {row["code"]: float(row["poids"]) for row in csv.DictReader(f, delimiter=";")}


def department_sizes(scale: float, weights: Mapping[str, float] | None = None) -> dict[str, int]:
    """Companies per department at `scale` (at least 20, so that every code value can appear)."""
    weights = weights or load_weights()
    return {d: max(20, round(w * FULL_SCALE_LARGEST * scale)) for d, w in weights.items()}


@dataclass(frozen=True)
class _WideLayout(g._Layout):
    """The generator's layout with a stride shared by every department."""

    wide: int = 0

    @property
    def stride(self) -> int:
        return self.wide


@dataclass
class LandingSummary:
    out: Path
    as_of: date
    sizes: dict[str, int]
    files: dict[tuple[str, str | None], Path] = field(default_factory=dict)  # (source, dept) -> path
    rows: dict[tuple[str, str | None], int] = field(default_factory=dict)  # data rows per file

    @property
    def register_rows(self) -> int:
        return self.rows[(ENTREPRISES.name, None)]

    def source_rows(self, departements: Iterable[str] | None = None) -> int:
        keep = None if departements is None else set(departements)
        return sum(n for (s, d), n in self.rows.items() if d is not None and (keep is None or d in keep))


def generate(out: Path, sizes: Mapping[str, int], as_of: date, seed: int,
             sources_for: Iterable[str] | None = None, bad_row_rate: float = 0.01) -> LandingSummary:
    """Writes the register (every department of `sizes`) and the seven extracts of `sources_for`
    (default: every department)."""
    out = Path(out)
    order = [d for d in g.ALL_DEPARTEMENTS if d in sizes]
    with_sources = set(order if sources_for is None else sources_for)
    stride = max(g._Layout.stride_for(n) for n in sizes.values())
    if stride * len(g.ALL_DEPARTEMENTS) > g._SIREN_SPACE:
        raise ValueError("scale too large: SIREN blocks of the departments would overlap")
    stamp = as_of.strftime("%Y%m%d")
    summary = LandingSummary(out=out, as_of=as_of, sizes=dict(sizes))
    reg_path = out / ENTREPRISES.name / f"{ENTREPRISES.name}_{stamp}.csv"
    reg_path.parent.mkdir(parents=True, exist_ok=True)
    reg_rows = 0
    with reg_path.open("wb") as reg:
        reg.write(g._header(ENTREPRISES))
        for d in order:
            n = sizes[d]
            peers = tuple(p for p in order if sizes[p] >= n)  # where multi-site debtors come from
            gen = g._Gen(seed=seed, n=n, as_of=as_of, bad_rate=bad_row_rate, depts=peers, outside=())
            gen.lay = _WideLayout(n, 0, wide=stride)
            ctx = gen.dept(d)
            body, rows, _ = gen.register_chunk(ctx)
            reg.write(body)
            reg_rows += rows
            if d not in with_sources:
                continue
            for spec, build in gen.builders():
                path = out / spec.name / f"{spec.name}_{d}_{stamp}.csv"
                path.parent.mkdir(parents=True, exist_ok=True)
                k = g._row_count(n, g.ROWS_PER_COMPANY[spec.name])
                rng = g._rng(seed, g._DEPT_POS[d], 10 + g._SOURCE_IDS[spec.name])
                lines, rows, _ = gen.finish(spec, ctx, rng, build(ctx, rng, k))
                path.write_bytes(g._header(spec) + g._encode(spec, lines))
                summary.files[(spec.name, d)] = path
                summary.rows[(spec.name, d)] = rows
        reg.write(g._encode(ENTREPRISES, g._lines(ENTREPRISES, g._la_poste_register_cells())))
    summary.files[(ENTREPRISES.name, None)] = reg_path
    summary.rows[(ENTREPRISES.name, None)] = reg_rows + 1
    return summary
