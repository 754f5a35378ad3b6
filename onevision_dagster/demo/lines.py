"""How a source's lines are made: the interface every source module of the generator fills in.

A source's lines are a frame: the cells that never change once a line exists (its key, dates, debtor,
names) as Arrow strings under the contract's column names, and the values that move from one snapshot to
the next (amounts in cents, status indices, dates as day numbers) as numpy arrays under lower-case names,
with `deb` (the debtor's index in the department's pool) and `siren`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from onevision_dagster.contract.sources import SourceSpec
from onevision_dagster.demo.bad_rows import Fill, Rule
from onevision_dagster.demo.department import Department
from onevision_dagster.demo.frames import Frame


@dataclass(frozen=True)
class Window:
    """When the lines being built are born."""

    t: int  # the snapshot's date (day number)
    snapshot: int  # its index, 0 = the oldest
    seq0: int  # first sequence number of the new keys
    since: int | None = None  # None: the first snapshot's stock, of any age; else born in (since, t]

    @property
    def stock(self) -> bool:
        return self.since is None

    def born(self, rng: np.random.Generator, k: int, oldest: int) -> np.ndarray:
        """Debt dates: up to `oldest` days before t for the stock, within the week for new lines."""
        if self.since is None:
            return self.t - rng.integers(0, oldest, k)
        return rng.integers(self.since + 1, self.t + 1, k)


@dataclass(frozen=True)
class SourceModel:
    spec: SourceSpec
    build: Callable[[Department, np.random.Generator, int, Window], Frame]
    cells: Callable[[Frame, int], dict[str, pa.Array]]  # every column of the file at date t
    fresh_key: Callable[[Department, int], Fill]  # bad rows' own keys, for a file dated t
    rule: Rule | None = None

    @property
    def name(self) -> str:
        return self.spec.name
