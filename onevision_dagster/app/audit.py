"""Rule 6: every search, company view, worklist view, export, outcome and refusal is recorded, never altered.

One row per request: time (UTC in the database, Paris time in the export), user (empty when there is no
trusted identity), the departments the user's groups grant, the action, its object (the query typed, the
SIREN, the worklist) and the HTTP status answered. The application only INSERTs (see `store`).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import sqlalchemy as sa

from onevision_dagster.app.store import audit
from onevision_dagster.reports.exports import write_agent_csv

PARIS = ZoneInfo("Europe/Paris")

ACTIONS = {
    "RECHERCHE": "recherche",
    "CONSULTATION_ENTREPRISE": "consultation d'une entreprise",
    "CONSULTATION_LISTE": "consultation d'une liste de travail",
    "EXPORT_LISTE": "export d'une liste de travail",
    "RESULTAT": "suite donnée enregistrée",
    "ACCES": "autre page",
}
EXPORT_COLUMNS = ("horodatage", "utilisateur", "departements", "action", "objet", "statut_http")
MAX_OBJECT = 400


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def record(engine: sa.Engine, *, user: str | None, departements: str | None, action: str, objet: str | None,
           status: int) -> None:
    """Appends one audit row (its own transaction: a refusal is recorded even though nothing else happens)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    with engine.begin() as conn:
        conn.execute(audit.insert().values(
            horodatage=utc_now(), utilisateur=user or None, departements=departements or None, action=action,
            objet=(objet or "")[:MAX_OBJECT] or None, statut_http=int(status)))


def read(engine: sa.Engine, since: dt.date | None = None) -> pd.DataFrame:
    """Audit rows in time order; `since` a day in Paris time, included."""
    query = sa.select(*(audit.c[c] for c in EXPORT_COLUMNS)).order_by(audit.c.id)
    if since is not None:
        start = dt.datetime.combine(since, dt.time(), PARIS).astimezone(dt.UTC).replace(tzinfo=None)
        query = query.where(audit.c.horodatage >= start)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=list(EXPORT_COLUMNS))


def paris_time(value: dt.datetime) -> str:
    local = value.replace(tzinfo=dt.UTC).astimezone(PARIS)
    return local.strftime("%d/%m/%Y %H:%M:%S")


def export(engine: sa.Engine, out: str | Path, since: dt.date | None = None) -> int:
    """`onevision audit --out f.csv [--depuis AAAA-MM-JJ]`: the agents' CSV format, Paris time."""
    frame = read(engine, since)
    frame["horodatage"] = [paris_time(v) for v in frame["horodatage"]]
    return write_agent_csv(frame, out, columns=EXPORT_COLUMNS)


def usage_by_month(engine: sa.Engine) -> pd.DataFrame:
    """Unique users and company views per month (Paris time) and department, for the experiment's dashboard.

    A view counts for each department the viewer's groups grant ("national" for the national group);
    only answered views (HTTP 200) count.
    """
    frame = read(engine)
    frame = frame[(frame["action"] == "CONSULTATION_ENTREPRISE") & (frame["statut_http"] == 200)]
    columns = ["mois", "departement", "utilisateurs", "consultations"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    frame = frame.assign(
        mois=[v.replace(tzinfo=dt.UTC).astimezone(PARIS).strftime("%Y-%m") for v in frame["horodatage"]],
        departement=frame["departements"].fillna("").str.split(","),
    ).explode("departement")
    grouped = frame.groupby(["mois", "departement"], sort=True).agg(
        utilisateurs=("utilisateur", "nunique"), consultations=("utilisateur", "size")).reset_index()
    return grouped[columns]
