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


def hold_back(landing: Path, departement: str, elsewhere: Path) -> Path:
    """Moves a department's extracts out of the landing zone into `elsewhere` (they will land late)."""
    for path in landing.glob(f"*/*_{departement}_*.csv"):
        (elsewhere / path.parent.name).mkdir(parents=True, exist_ok=True)
        path.rename(elsewhere / path.parent.name / path.name)
    return elsewhere


def land(elsewhere: Path, landing: Path) -> None:
    """Puts the extracts held back by `hold_back` into the landing zone."""
    for path in elsewhere.glob("*/*.csv"):
        path.rename(landing / path.parent.name / path.name)


def pipeline_resources(landing: Path, folder: Path, departements: str = "17,91,95") -> dict:
    """The pipeline's resources on a landing zone, with the warehouse (`folder / "w.duckdb"`) and the reports in
    `folder`."""
    from onevision_dagster.resources import LandingZone, ReportsFolder, Settings, Warehouse

    return {"landing": LandingZone(path=str(landing)), "warehouse": Warehouse(path=str(folder / "w.duckdb")),
            "reports": ReportsFolder(path=str(folder / "rapports")),
            "settings": Settings(departements=departements, static_images=False)}
