"""Writes small extracts in each source's own format (encoding, separator), for tests that need real files."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from onevision_dagster.contract.sources import SOURCES_BY_NAME

REGISTER_HEADER = ("siren", "denomination", "sigle", "categorie_juridique", "adresse", "code_postal", "commune",
                   "departement", "date_creation", "etat_administratif", "procedure_collective", "date_jugement",
                   "date_publication_bodacc")


def write_extract(landing: Path, source: str, date: str, rows: list[dict[str, str]],
                  departement: str | None = "17") -> Path:
    """One file `landing/<source>/<source>[_<dept>]_<date>.csv`; missing cells are empty. `date` is AAAAMMJJ."""
    spec = SOURCES_BY_NAME[source]
    name = f"{source}_{date}.csv" if not spec.partitioned else f"{source}_{departement}_{date}.csv"
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=spec.separator, lineterminator="\r\n")
    writer.writerow(spec.column_names)
    for row in rows:
        writer.writerow([row.get(c, "") for c in spec.column_names])
    folder = landing / source
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(buf.getvalue().encode(spec.encoding))
    return path


def company(siren: str, denomination: str, categorie: str = "5499", code_postal: str = "17000",
            procedure: str = "", jugement: str = "", publication: str = "") -> dict[str, str]:
    return {"siren": siren, "denomination": denomination, "categorie_juridique": categorie,
            "code_postal": code_postal, "departement": "17", "etat_administratif": "A",
            "procedure_collective": procedure, "date_jugement": jugement, "date_publication_bodacc": publication}
