"""The documents agents drafted (issue 18), as the audit records them: one `DOCUMENT` row per document.

The audit row is the record (who, when, departments granted) and its object says which company, which
department, which document and format, and the document's amounts (`documents.summary_text`):
``301122339/17/notification.pdf montant_affecte=2500.00 total_creances=2500.00 ...``; a refusal is
``812345676/95/notification.odt refusé : <the sentence>`` with a status other than 200. The row's id is the
document's reference (« document n° 42 »), which an outcome « fait » may point to. Nothing else is stored:
the chain of the audit protects the list of documents as it protects the rest.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa

from onevision_dagster.app.store import audit
from onevision_dagster.documents import TITLES, summary_text

ACTION = "DOCUMENT"
_OBJET = re.compile(r"(?P<siren>\d{9})/(?P<departement>[0-9AB]{2,3})/(?P<kind>[a-z]+)\.(?P<fmt>odt|pdf)"
                    r"(?: (?P<rest>.*))?", re.S)
AMOUNT_LABELS = {
    "montant_affecte": "montant affecté",
    "total_creances": "créances",
    "total_impositions": "impositions",
    "reste_creances": "reste dû par l'État",
    "reste_impositions": "reste à payer",
    "total_echu": "échu",
    "total_a_echoir": "à échoir",
    "total_declare": "total déclaré",
    "total_poursuivable": "total poursuivable",
}
"""The amounts the company page shows for a drafted document, in this order (the audit keeps them all)."""


def objet(siren: str, departement: str, kind: str, fmt: str, summary: dict[str, Any] | None = None,
          refus: str | None = None) -> str:
    """The audit object of a drafted (or refused) document."""
    head = f"{siren}/{departement}/{kind}.{fmt}"
    if refus is not None:
        return f"{head} refusé : {refus}"
    return f"{head} {summary_text(summary)}" if summary else head


def parse(text: str | None) -> dict[str, Any] | None:
    """An audit object back into siren, departement, kind, fmt and amounts (Decimal); None if not a document's."""
    m = _OBJET.fullmatch(text or "")
    if not m:
        return None
    amounts: dict[str, Any] = {}
    rest = m.group("rest") or ""
    if not rest.startswith("refusé"):
        for pair in rest.split():
            key, _, value = pair.partition("=")
            try:
                amounts[key] = Decimal(value)
            except InvalidOperation:
                amounts[key] = value
    return {"siren": m.group("siren"), "departement": m.group("departement"), "kind": m.group("kind"),
            "fmt": m.group("fmt"), "montants": amounts, "titre": TITLES.get(m.group("kind"), m.group("kind"))}


def _rows(engine: sa.Engine, condition: sa.ColumnElement[bool]) -> list[dict[str, Any]]:
    query = (sa.select(audit.c.id, audit.c.horodatage, audit.c.utilisateur, audit.c.objet)
             .where(audit.c.action == ACTION, audit.c.statut_http == 200, condition).order_by(audit.c.id.desc()))
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    out = []
    for r in rows:
        parsed = parse(r["objet"])
        if parsed is not None:
            out.append({"reference": r["id"], "horodatage": r["horodatage"], "utilisateur": r["utilisateur"],
                        **parsed, "affiches": [(AMOUNT_LABELS[k], parsed["montants"][k]) for k in AMOUNT_LABELS
                                               if isinstance(parsed["montants"].get(k), Decimal)]})
    return out


def for_company(engine: sa.Engine, siren: str, departements: tuple[str, ...] | None) -> list[dict[str, Any]]:
    """The documents drafted for a company, newest first (`departements`: only those; None: all)."""
    rows = _rows(engine, audit.c.objet.like(f"{siren}/%"))
    return [r for r in rows if departements is None or r["departement"] in departements]


def notifications(engine: sa.Engine, departement: str, sirens: list[str]) -> dict[str, list[dict[str, Any]]]:
    """SIREN → the notifications drafted for it in this department, newest first (the outcome form offers them)."""
    if not sirens:
        return {}
    rows = _rows(engine, sa.or_(*(audit.c.objet.like(f"{s}/{departement}/notification.%") for s in sirens)))
    out: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        if r["kind"] == "notification" and r["departement"] == departement:
            out.setdefault(r["siren"], []).append(r)
    return out


def notification(engine: sa.Engine, reference: int, siren: str, departement: str) -> dict[str, Any] | None:
    """The notification `reference` if it was drafted for this company in this department, else None."""
    rows = _rows(engine, audit.c.id == reference)
    found = [r for r in rows if r["siren"] == siren and r["departement"] == departement and r["kind"] == "notification"]
    return found[0] if found else None


def label(row: dict[str, Any]) -> str:
    """« n° 42 du 06/12/2026 (2 500,00 €) » for a select's option and the follow-up."""
    from onevision_dagster.app.rendering import paris_time
    from onevision_dagster.reports.formatting import format_euros

    amount = row["montants"].get("montant_affecte")
    return (f"n° {row['reference']} du {paris_time(row['horodatage'])}"
            + (f" ({format_euros(amount)})" if isinstance(amount, Decimal) else ""))


def today_paris() -> dt.date:
    from onevision_dagster.app.freshness import PARIS

    return dt.datetime.now(PARIS).date()
