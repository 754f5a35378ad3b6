"""A national landing zone whose departments have different sizes.

`generate_landing` gives every department the same number of companies. This module drives the same
generator (`write_zone`, byte-compatible files) with a plan of its own: one layout stride for all
departments — the stride of the largest one — so every department keeps its own disjoint SIREN block while
having its own number of companies. Multi-site debtors of a department are drawn from departments at least
as large as itself, so they always exist in the register.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from onevision_dagster.contract.departements import ALL_DEPARTEMENTS
from onevision_dagster.contract.sources import ENTREPRISES
from onevision_dagster.demo.companies import Layout
from onevision_dagster.demo.generator import ZonePlan, snapshot_dates, write_zone

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


@dataclass
class LandingSummary:
    out: Path
    as_of: date
    sizes: dict[str, int]
    files: dict[tuple[str, str | None], Path] = field(default_factory=dict)  # (source, dept) -> latest path
    rows: dict[tuple[str, str | None], int] = field(default_factory=dict)  # data rows, every snapshot

    @property
    def register_rows(self) -> int:
        return self.rows[(ENTREPRISES.name, None)]

    def source_rows(self, departements: Iterable[str] | None = None) -> int:
        keep = None if departements is None else set(departements)
        return sum(n for (s, d), n in self.rows.items() if d is not None and (keep is None or d in keep))


def plan_for(sizes: Mapping[str, int], sources_for: Iterable[str] | None = None) -> ZonePlan:
    order = [d for d in ALL_DEPARTEMENTS if d in sizes]
    return ZonePlan(
        sizes=dict(sizes),
        with_sources=frozenset(order if sources_for is None else sources_for),
        stride=max(Layout.stride_for(n) for n in sizes.values()),
        outside=(),
        peers={d: tuple(p for p in order if sizes[p] >= sizes[d]) for d in order},
    )


def generate(out: Path, sizes: Mapping[str, int], as_of: date, seed: int,
             sources_for: Iterable[str] | None = None, bad_row_rate: float = 0.01,
             instantanes: int = 1) -> LandingSummary:
    """Writes the register (every department of `sizes`) and the seven extracts of `sources_for`
    (default: every department), for `instantanes` weekly dates ending on `as_of`."""
    plan = plan_for(sizes, sources_for)
    try:
        written = write_zone(Path(out), plan, snapshot_dates(as_of, instantanes), seed, bad_row_rate)
    except ValueError as e:
        raise ValueError(f"scale too large: {e}") from e
    summary = LandingSummary(out=Path(out), as_of=as_of, sizes=dict(sizes))
    for r in written.records:
        key = (r.source, r.departement)
        summary.files[key] = r.path
        summary.rows[key] = summary.rows.get(key, 0) + r.rows
    return summary
