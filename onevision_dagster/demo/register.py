"""What the register file of a given date shows of the companies (SOURCES.md section 3).

A company appears from its arrival snapshot on; a collective procedure from the day the register catches up
with the judgment (BODACC lag), so a tax claim can be filed in a procedure the register does not show yet;
a company in liquidation is shown ceased (etat_administratif 'C') as soon as its procedure is shown; the
BODACC publication date with the procedure, unless it is not known (version 3).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from onevision_dagster.demo.cells import NO_DATE, dates, pad, strs
from onevision_dagster.demo.frames import Frame, take


def procedure_shown(fr: Frame, t: int) -> np.ndarray:
    """Companies whose procedure the register of date `t` shows."""
    return (fr["visible_from"] != NO_DATE) & (fr["visible_from"] <= t)


def register_view(fr: Frame, t: int, snapshot: int, snapshot_days: list[int]) -> dict[str, pa.Array]:
    """Register cells of the companies of `fr` present at snapshot index `snapshot` (date `t`)."""
    rows = take(fr, fr["arrival"] <= snapshot)
    shown = procedure_shown(rows, t)
    procedure = np.where(shown, rows["procedure"], None)
    liquidated = shown & (rows["procedure"] == "LIQUIDATION")
    etat = np.where(rows["ceased"] | liquidated, "C", "A").astype(object)
    # a new company was created the day after the previous snapshot
    prev = np.array([NO_DATE, *snapshot_days], dtype=np.int64)[rows["arrival"]] + 1
    creation = np.where(rows["arrival"] > 0, prev, rows["date_creation"])
    return {
        "siren": pad(rows["siren"], 9),
        "denomination": rows["denomination"],
        "sigle": rows["sigle"],
        "categorie_juridique": strs(rows["categorie"]),
        "adresse": rows["adresse"],
        "code_postal": strs(rows["code_postal"]),
        "commune": strs(rows["commune"]),
        "departement": strs(rows["departement"]),
        "date_creation": dates(creation, "YYYY-MM-DD"),
        "etat_administratif": strs(etat),
        "procedure_collective": strs(procedure),
        "date_jugement": dates(np.where(shown, rows["jugement"], NO_DATE), "YYYY-MM-DD"),
        # version 3: the publication of a shown procedure once it happened; empty when not known (docs/demo.md)
        "date_publication_bodacc": dates(np.where(shown & (rows["publication"] != NO_DATE) & (rows["publication"] <= t),
                                                  rows["publication"], NO_DATE), "YYYY-MM-DD"),
    }
