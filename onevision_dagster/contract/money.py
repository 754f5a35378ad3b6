"""Money: euros exact to the cent, from the warehouse's cents or DuckDB decimals (no float drift)."""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from numbers import Integral

_CENT = Decimal("0.01")


def is_missing(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    try:
        import pandas as pd

        return value is pd.NA or value is pd.NaT
    except ImportError:  # pragma: no cover - pandas is a dependency
        return False


def to_decimal_euros(value: Decimal | int | float | str) -> Decimal:
    """Converts an amount to euros rounded to the cent.

    An integer is **cents** (the warehouse's pandas convention, docs/warehouse.md);
    a `Decimal`, a float or a string is euros. Floats go through their shortest
    repr so ``0.1 + 0.2`` becomes 0.30, not 0.3000000000000000444.
    """
    if isinstance(value, bool):
        raise TypeError("un booléen n'est pas un montant")
    if isinstance(value, Decimal):
        euros = value
    elif isinstance(value, Integral):
        euros = Decimal(int(value)).scaleb(-2)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"montant non fini : {value!r}")
        euros = Decimal(repr(float(value)))
    elif isinstance(value, str):
        try:
            euros = Decimal(value.strip().replace(",", "."))
        except InvalidOperation as exc:
            raise ValueError(f"montant illisible : {value!r}") from exc
    else:
        # numpy floats and the like
        return to_decimal_euros(float(value))  # type: ignore[arg-type]
    if not euros.is_finite():
        raise ValueError(f"montant non fini : {value!r}")
    return euros.quantize(_CENT, rounding=ROUND_HALF_UP)


