"""Rule 6: every search, company view, worklist view, export, outcome and refusal is recorded, never altered.

One row per request of an identified user: time (UTC in the database, Paris time in the export), user, the
departments the user's groups grant, the action, its object (the query typed, the SIREN, the worklist) and the
HTTP status answered. The application only INSERTs (see `store`).

Tamper-evident (issue 20): each row carries `empreinte` = HMAC-SHA256(key, `precedente` + the row's id and
values), `precedente` being the previous row's `empreinte`. Rows are written one at a time under the database's
write lock (SQLite `BEGIN IMMEDIATE`, PostgreSQL an advisory lock), with the next id, so the chain has no gap.
Whoever rewrites, deletes or inserts a row without the key breaks the chain at that row: `verify` names the first
broken link. The key comes from `ONEVISION_AUDIT_CLE` (or the file `ONEVISION_AUDIT_CLE_FICHIER`), never from the
repository; without it (a developer's machine) a fixed key that protects nothing is used, and `onevision app`
refuses to start outside `--dev`.

Requests without a trusted identity (401) are counted, not stored one by one, and never with their object (a
query typed by an unknown client is not kept): one `REQUETES_ANONYMES` row per action and window of
`ANONYMOUS_WINDOW_S` seconds, written at the first request after the window or when the server stops.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import re
import threading
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import sqlalchemy as sa

from onevision_dagster.app.store import audit, missing_protections, protect
from onevision_dagster.errors import OneVisionError
from onevision_dagster.reports.exports import write_agent_csv

PARIS = ZoneInfo("Europe/Paris")

ACTIONS = {
    "RECHERCHE": "recherche",
    "CONSULTATION_ENTREPRISE": "consultation d'une entreprise",
    "CONSULTATION_LISTE": "consultation d'une liste de travail",
    "CONSULTATION_TABLEAU_DE_BORD": "consultation d'un tableau de bord (fichier)",
    "EXPORT_LISTE": "export d'une liste de travail",
    "RESULTAT": "suite donnée enregistrée",
    "ACCES": "autre page",
    "REQUETES_ANONYMES": "requêtes sans identité (comptées, sans leur contenu)",
    "ADMINISTRATION": "opération d'administration (purge, rétablissement des protections)",
    "DOCUMENT": "document préparé (ou refusé) : entreprise, département, document, montants",
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


DEV_KEY = b"onevision-cle-de-developpement-ne-protege-rien"
KEY_VARIABLES = ("ONEVISION_AUDIT_CLE", "ONEVISION_AUDIT_CLE_FICHIER")
_key: bytes | None = None
_write_lock = threading.Lock()
_PG_LOCK = 20_200_020  # advisory lock id: one audit writer at a time, across processes


def key_from_env(env: Mapping[str, str] | None = None) -> bytes | None:
    """The chain's key from the configuration (32 characters at least), or None when none is configured."""
    env = os.environ if env is None else env
    text = env.get("ONEVISION_AUDIT_CLE", "").strip()
    source = "ONEVISION_AUDIT_CLE"
    if not text and env.get("ONEVISION_AUDIT_CLE_FICHIER", "").strip():
        source = env["ONEVISION_AUDIT_CLE_FICHIER"].strip()
        try:
            mode = Path(source).stat().st_mode & 0o777
            text = Path(source).read_text(encoding="utf-8").strip()
        except OSError as e:
            raise OneVisionError(f"Clé de l'audit illisible dans {source} ({e.strerror}).") from None
        if mode & 0o077:  # whoever else reads the key can rewrite a consistent chain (residual risk 3)
            raise OneVisionError(f"Clé de l'audit {source} accessible à d'autres comptes (droits {mode:04o}) : "
                                 "réservez-la au compte de l'application (chmod 600).")
    if not text:
        return None
    if len(text) < 32:
        raise OneVisionError(f"Clé de l'audit trop courte ({source}) : 32 caractères au moins.")
    return text.encode()


def use_key(key: bytes | None) -> None:
    """The key the application chains with (set at start from its settings)."""
    global _key
    _key = key


def chain_key() -> bytes:
    return _key or key_from_env() or DEV_KEY


def _message(row: Mapping) -> bytes:
    horodatage = row["horodatage"]
    values = [int(row["id"]), horodatage.isoformat(timespec="microseconds"), row["utilisateur"], row["departements"],
              row["action"], row["objet"], int(row["statut_http"])]
    return json.dumps(values, ensure_ascii=False, separators=(",", ":")).encode()


def seal(key: bytes, precedente: str | None, row: Mapping) -> str:
    return hmac.new(key, (precedente or "").encode() + b"\n" + _message(row), hashlib.sha256).hexdigest()


def _insert(engine: sa.Engine, *, user: str | None, departements: str | None, action: str, objet: str | None,
            status: int) -> None:
    row = {"horodatage": utc_now(), "utilisateur": user or None, "departements": departements or None,
           "action": action, "objet": (objet or "")[:MAX_OBJECT] or None, "statut_http": int(status)}
    key = chain_key()
    last = sa.select(audit.c.id, audit.c.empreinte).order_by(audit.c.id.desc()).limit(1)
    with _write_lock, engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")  # the write lock before reading the last row
        else:
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK})
        previous = conn.execute(last).first()
        row["id"] = (previous.id + 1) if previous else 1
        precedente = previous.empreinte if previous else None
        conn.execute(audit.insert().values(**row, precedente=precedente, empreinte=seal(key, precedente, row)))
        conn.commit()


@dataclass(frozen=True)
class Verification:
    rows: int  # rows read
    chained: int  # rows checked in the chain
    first_id: int | None  # first row of the chain (older ones purged or written before the chain)
    last_id: int | None
    broken_id: int | None  # first broken link
    reason: str | None

    @property
    def ok(self) -> bool:
        return self.broken_id is None

    def sentence(self) -> str:
        if not self.rows:
            return "Journal d'audit vide."
        if self.ok:
            return (f"Chaîne de l'audit intacte : {self.chained} enregistrement(s) vérifié(s), du n° {self.first_id} "
                    f"au n° {self.last_id}.")
        return (f"Chaîne de l'audit rompue : premier maillon rompu à l'enregistrement n° {self.broken_id} "
                f"({self.reason}).")


_PURGE = re.compile(r"^purge de l'audit : \d+ enregistrement\(s\) du n° (\d+) au n° (\d+)")


def purge(engine: sa.Engine, keep_months: int, today: dt.date, simulate: bool) -> str:
    """Deletes the rows older than `keep_months` months (Paris time), a prefix of the chain, and records the purge
    with the range removed (so `verify` knows the chain starts after it). Run with the tables' owner: the
    protections are lifted for this one transaction and put back in it."""
    from onevision_dagster.retention import months_before

    day = months_before(today, keep_months)
    cutoff = dt.datetime.combine(day, dt.time(), PARIS).astimezone(dt.UTC).replace(tzinfo=None)
    with engine.connect() as conn:
        last = conn.execute(sa.select(sa.func.max(audit.c.id)).where(audit.c.horodatage < cutoff)).scalar()
        first, n = conn.execute(sa.select(sa.func.min(audit.c.id), sa.func.count()).where(audit.c.id <= (last or 0))
                                ).one() if last is not None else (None, 0)
    when = day.strftime("%d/%m/%Y")
    if not n:
        return f"Audit : aucun enregistrement antérieur au {when} (conservation {keep_months} mois)."
    summary = f"purge de l'audit : {n} enregistrement(s) du n° {first} au n° {last}, antérieurs au {when}"
    if simulate:
        return f"Audit : {n} enregistrement(s) antérieurs au {when} seraient supprimés (n° {first} à {last})."
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS audit_sans_delete")
            conn.execute(audit.delete().where(audit.c.id <= last))
            protect(conn)
        else:
            conn.exec_driver_sql("ALTER TABLE audit DISABLE TRIGGER audit_ajout_seul_ligne")
            conn.exec_driver_sql("GRANT DELETE ON audit TO CURRENT_USER")
            conn.execute(audit.delete().where(audit.c.id <= last))
            conn.exec_driver_sql("REVOKE DELETE ON audit FROM CURRENT_USER")
            conn.exec_driver_sql("ALTER TABLE audit ENABLE ALWAYS TRIGGER audit_ajout_seul_ligne")
    record(engine, user=operator(), departements=None, action="ADMINISTRATION", objet=summary, status=200)
    return f"Audit : {n} enregistrement(s) antérieurs au {when} supprimés (n° {first} à {last}) ; purge enregistrée."


def verify(engine: sa.Engine, key: bytes | None = None) -> Verification:
    """Reads the audit in id order and checks every link; stops at the first broken one.

    Rows written before the chain existed (no `empreinte`) may only come first. The first chained row's
    `precedente` is taken as given: rows before it were purged (retention) or predate the chain.
    """
    key = key or chain_key()
    query = sa.select(audit).order_by(audit.c.id)
    rows = chained = 0
    first_id = last_id = None
    previous: Mapping | None = None
    purged_up_to: set[int] = set()
    with engine.connect() as conn:
        for row in conn.execution_options(yield_per=20_000).execute(query).mappings():
            rows += 1
            if row["empreinte"] is None:
                if chained:
                    return Verification(rows, chained, first_id, last_id, row["id"], "enregistrement sans empreinte "
                                        "après le début de la chaîne : inséré hors de l'application")
                continue
            if previous is not None:
                if row["id"] != previous["id"] + 1:
                    return Verification(rows, chained, first_id, last_id, row["id"], f"enregistrement(s) n° "
                                        f"{previous['id'] + 1} à {row['id'] - 1} supprimé(s)")
                if row["precedente"] != previous["empreinte"]:
                    return Verification(rows, chained, first_id, last_id, row["id"],
                                        "il ne suit pas l'enregistrement précédent")
            if not hmac.compare_digest(row["empreinte"], seal(key, row["precedente"], row)):
                return Verification(rows, chained, first_id, last_id, row["id"],
                                    "contenu modifié, ou clé différente de celle qui l'a écrit")
            chained += 1
            first_id = first_id if first_id is not None else row["id"]
            last_id = row["id"]
            previous = row
            if row["action"] == "ADMINISTRATION" and (m := _PURGE.match(row["objet"] or "")):
                purged_up_to.add(int(m.group(2)))
    if chained == rows and first_id is not None and first_id > 1 and first_id - 1 not in purged_up_to:
        return Verification(rows, chained, first_id, last_id, first_id, f"enregistrement(s) n° 1 à {first_id - 1} "
                            "supprimé(s) sans purge enregistrée")
    return Verification(rows, chained, first_id, last_id, None, None)


def integrity(engine: sa.Engine, key: bytes | None = None) -> list[str]:
    """What is wrong with the audit (French sentences): protections gone, chain broken. Empty: intact."""
    problems = []
    with engine.connect() as conn:
        missing = missing_protections(conn)
    if missing:
        problems.append("Protection de l'audit retirée : déclencheur(s) absent(s) ou désactivé(s) : "
                        f"{', '.join(missing)}.")
    verification = verify(engine, key)
    if not verification.ok:
        problems.append(verification.sentence())
    return problems


def operator() -> str:
    """Who runs an administration command: the system account (recorded in the audit)."""
    import getpass

    return f"exploitant:{getpass.getuser()}"


def restore_protections(engine: sa.Engine) -> str:
    """`onevision audit --retablir`: recreates the protections that are gone, and records it."""
    with engine.begin() as conn:
        missing = missing_protections(conn)
        if not missing:
            return "Protections de l'audit en place : rien à rétablir."
        protect(conn)
        still = missing_protections(conn)
    if still:
        raise OneVisionError(f"Protections non rétablies ({', '.join(still)}) : le rôle courant ne possède pas les "
                             "tables ; appliquez deploy/postgres/roles.sql avec le rôle propriétaire.")
    record(engine, user=operator(), departements=None, action="ADMINISTRATION",
           objet=f"protections rétablies : {', '.join(missing)}", status=200)
    return f"Protections de l'audit rétablies : {', '.join(missing)}."


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
