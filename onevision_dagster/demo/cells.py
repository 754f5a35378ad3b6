"""Arrow string cells from numpy columns: numbers, padded codes, amounts with either decimal mark, dates.

Files are written by joining whole columns; formatting goes through Arrow compute kernels (dates through
their few thousand distinct values), never through a per-row Python call.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

NO_DATE = np.iinfo(np.int32).min  # an empty date cell
EPOCH = date(1970, 1, 1)
_EPOCH_ORD = EPOCH.toordinal()
_STRFTIME = {"DD/MM/YYYY": "%d/%m/%Y", "YYYY-MM-DD": "%Y-%m-%d", "YYYYMMDD": "%Y%m%d"}


def day(d: date) -> int:
    """Days since 1970-01-01: the generator's date unit."""
    return (d - EPOCH).days


def to_date(days: int) -> date:
    return date.fromordinal(_EPOCH_ORD + int(days))


def fmt_date(days: int, fmt: str) -> str:
    return to_date(days).strftime(_STRFTIME[fmt])


def years(days: np.ndarray) -> np.ndarray:
    return np.asarray(days, dtype=np.int64).astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970


def year_start(year: np.ndarray, month: int = 1, dom: int = 1) -> np.ndarray:
    """Day number of `dom`/`month`/`year`, vectorised over years."""
    y = (np.asarray(year, dtype=np.int64) - 1970).astype("datetime64[Y]")
    return ((y.astype("datetime64[M]") + (month - 1)).astype("datetime64[D]") + (dom - 1)).astype(np.int64)


def s(x: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(np.asarray(x, dtype=np.int64)), pa.string())


def pad(x: np.ndarray, width: int) -> pa.Array:
    return pc.utf8_lpad(s(x), width=width, padding="0")


def join(*parts: object, sep: str = "") -> pa.Array:
    return pc.binary_join_element_wise(*parts, sep, null_handling="replace", null_replacement="")


def strs(x: np.ndarray | Sequence[str | None]) -> pa.Array:
    return pa.array(x, type=pa.string())


def pick(values: Sequence[str], idx: np.ndarray) -> pa.Array:
    return pa.array(list(values), type=pa.string()).take(pa.array(np.asarray(idx, dtype=np.int64)))


def where(mask: np.ndarray, a: object, b: object) -> pa.Array:
    return pc.if_else(pa.array(np.asarray(mask, dtype=bool)), a, b)


def nulls(k: int) -> pa.Array:
    return pa.nulls(k, pa.string())


def amount(cents: np.ndarray, dec: str) -> pa.Array:
    cents = np.asarray(cents, dtype=np.int64)
    return join(s(cents // 100), dec, pad(cents % 100, 2))


def dates(days: np.ndarray, fmt: str) -> pa.Array:
    """Format through the distinct days only (a few thousand), much faster than a per-row strftime."""
    days = np.asarray(days, dtype=np.int64)
    mask = days == NO_DATE
    uniq, inv = np.unique(np.where(mask, 0, days), return_inverse=True)
    f = _STRFTIME[fmt]
    labels = [to_date(d).strftime(f) for d in uniq]
    return strs(labels).take(pa.array(inv.astype(np.int64), mask=mask))


def cents_lognormal(rng: np.random.Generator, euros: float, sigma: float, k: int) -> np.ndarray:
    """Positive amounts with cents; about a third are whole euros, as in real extracts."""
    v = np.exp(rng.normal(math.log(euros), sigma, k)) * 100
    cents = np.maximum(np.round(v), 100).astype(np.int64)
    whole = rng.random(k) < 0.35
    return np.where(whole, np.maximum(cents // 100, 1) * 100, cents)
