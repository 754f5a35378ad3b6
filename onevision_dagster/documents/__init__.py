"""The documents an agent sends, drafted from the warehouse (issue 18, docs/documents.md): plain Python, no Dagster.

`draft(con, kind, siren, departement, fmt)` returns `(filename, bytes, summary)` or raises `DocumentRefused`
(a `OneVisionError`, one French sentence naming why): the CLI (`onevision document ...`) and the application call
it the same way.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import duckdb

from onevision_dagster.contract.departements import departement_code
from onevision_dagster.documents.data import CONTEXTS, DocumentRefused
from onevision_dagster.documents.render import FORMATS, ConversionFailed, odt_to_pdf, render_odt

KINDS = ("notification", "declaration", "satd")
TITLES = {
    "notification": "Notification d'affectation (art. L. 257 B et R. 257 B-1 LPF)",
    "declaration": "Déclaration de créances (art. L. 622-24 et L. 622-25 C. com.)",
    "satd": "Projet de SATD commune (art. L. 262 LPF)",
}
MEDIA_TYPES = {"odt": "application/vnd.oasis.opendocument.text", "pdf": "application/pdf"}

__all__ = ["KINDS", "TITLES", "MEDIA_TYPES", "FORMATS", "DocumentRefused", "ConversionFailed", "draft", "summary_text"]


def draft(con: duckdb.DuckDBPyConnection, kind: str, siren: str, departement: str, fmt: str = "odt",
          today: dt.date | None = None) -> tuple[str, bytes, dict[str, Any]]:
    """Drafts document `kind` for one company in one department.

    Returns the file name to offer (`<kind>_<siren>_<departement>_<AAAAMMJJ>.<fmt>`), its bytes, and a summary of
    its amounts (`Decimal`, plus the deadline of a declaration) for the audit. Reads only; `today` dates the
    document (default: today).
    """
    if kind not in KINDS:
        raise ValueError(f"document inconnu {kind!r} (attendu : {', '.join(KINDS)})")
    if fmt not in FORMATS:
        raise ValueError(f"format inconnu {fmt!r} (attendu : {', '.join(FORMATS)})")
    siren = siren.replace(" ", "")
    if not (len(siren) == 9 and siren.isascii() and siren.isdigit()):
        raise ValueError(f"SIREN invalide : {siren!r} (9 chiffres attendus)")
    departement = departement_code(departement)
    today = today or dt.date.today()
    context, summary = CONTEXTS[kind](con, siren, departement, today)
    content = render_odt(kind, context)
    if fmt == "pdf":
        content = odt_to_pdf(content)
    return f"{kind}_{siren}_{departement}_{today:%Y%m%d}.{fmt}", content, summary


def summary_text(summary: dict[str, Any]) -> str:
    """`cle=valeur` pairs of a summary, amounts with a decimal point (for an audit line)."""
    def text(value: Any) -> str:
        if isinstance(value, Decimal):
            return f"{value:.2f}"
        if isinstance(value, dt.date):
            return value.isoformat()
        if isinstance(value, list | tuple):
            return ",".join(str(v) for v in value)
        return str(value)
    return " ".join(f"{k}={text(v)}" for k, v in summary.items())
