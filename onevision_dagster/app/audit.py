"""Rule 6: every search, company view, worklist view, export, outcome and refusal is recorded, never altered.

One row per request of an identified user: time (UTC in the database, Paris time in the export), user, the
departments the user's groups grant, the action, its object (the query typed, the SIREN, the worklist) and the
HTTP status answered. The application only INSERTs (see `store`).

Requests without a trusted identity (401) are counted, not stored one by one, and never with their object (a
query typed by an unknown client is not kept): one `REQUETES_ANONYMES` row per action and window of
`ANONYMOUS_WINDOW_S` seconds, written at the first request after the window or when the server stops.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import Counter
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
    "REQUETES_ANONYMES": "requêtes sans identité (comptées, sans leur contenu)",
}
ANONYMOUS = "REQUETES_ANONYMES"
ANONYMOUS_WINDOW_S = 60.0
EXPORT_COLUMNS = ("horodatage", "utilisateur", "departements", "action", "objet", "statut_http")
MAX_OBJECT = 400


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class _AnonymousCount:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self.since: dt.datetime | None = None
        self.started = 0.0


_anonymous: dict[str, _AnonymousCount] = {}  # per database (several engines may open the same one)
_anonymous_lock = threading.Lock()


def _anonymous_state(engine: sa.Engine) -> _AnonymousCount:
    with _anonymous_lock:
        return _anonymous.setdefault(str(engine.url), _AnonymousCount())


def flush_anonymous(engine: sa.Engine, force: bool = True) -> int:
    """Writes the counted requests without identity (one row per action); `force=False`: only once the window
    is over. Returns the number of requests written."""
    state = _anonymous_state(engine)
    with state.lock:
        if not state.counts or (not force and time.monotonic() - state.started < ANONYMOUS_WINDOW_S):
            return 0
        counts, since = dict(state.counts), state.since
        state.counts.clear()
        state.since = None
    for action, n in sorted(counts.items()):
        _insert(engine, user=None, departements=None, action=ANONYMOUS, status=401,
                objet=f"{n} requête(s) « {ACTIONS[action]} » sans identité depuis le {paris_time(since)}")
    return sum(counts.values())


def record(engine: sa.Engine, *, user: str | None, departements: str | None, action: str, objet: str | None,
           status: int) -> None:
    """Appends one audit row (its own transaction: a refusal is recorded even though nothing else happens);
    a request without identity is only counted (`flush_anonymous`), its object never kept."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    if not user:
        state = _anonymous_state(engine)
        with state.lock:
            if not state.counts:
                state.since, state.started = utc_now(), time.monotonic()
            state.counts[action] += 1
        flush_anonymous(engine, force=False)
        return
    _insert(engine, user=user, departements=departements, action=action, objet=objet, status=status)


def _insert(engine: sa.Engine, *, user: str | None, departements: str | None, action: str, objet: str | None,
            status: int) -> None:
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
