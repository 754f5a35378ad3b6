"""The agents' follow-up for the experiment's dashboard, read from the application's store (issue 12, points 4
and 6): outcomes recorded on worklist items and the usage of the application.

Outcomes "fait" on the offsets worklist are also checked against the history (issue 19 point 5,
`experiment.outcomes_check`): `with_verification` adds, once the warehouse is open, whether a later snapshot shows
the offset.

Reuses the application's own functions (`app.outcomes.summary`, `app.audit.usage_by_month`). The store is read,
never created nor migrated here: a SQLite file that does not exist yet (nobody used the application), a
database without the tables or one that cannot be reached gives `available=False` and a French note for the
page, never an error — the dashboard of the history must not depend on the application.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import duckdb
import pandas as pd
import sqlalchemy as sa

from onevision_dagster.app.audit import usage_by_month
from onevision_dagster.app.outcomes import summary
from onevision_dagster.app.settings import default_database_url
from onevision_dagster.app.store import resultats
from onevision_dagster.experiment.outcomes_check import EVIDENCE_SQL, classify_outcomes
from onevision_dagster.history.tables import OTHERS, PILOT
from onevision_dagster.reports.frames import history_tables_missing

log = logging.getLogger(__name__)

NATIONAL = "national"
"""Usage rows of agents whose group grants every department (`app.audit.usage_by_month`)."""
OUTCOME_COLUMNS = ("liste", "groupe", "decides", "faits", "non_pertinents", "taux_acceptation", "montant_obtenu")
USAGE_COLUMNS = ("mois", "departement", "groupe", "utilisateurs", "consultations")


@dataclass
class FollowUp:
    available: bool
    note: str  # why there is nothing to show (French), empty when available
    resultats: pd.DataFrame  # app.outcomes.summary: per department and list
    resultats_groupes: pd.DataFrame  # OUTCOME_COLUMNS: per list, pilots against the others
    usage: pd.DataFrame  # USAGE_COLUMNS: per month and department
    # latest outcome "fait" per item of the offsets worklist: departement, siren, jour (Paris day recorded)
    faits: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(DONE_COLUMNS)))
    # experiment.outcomes_check.CHECK_COLUMNS, once checked against the history (`with_verification`)
    verification: pd.DataFrame | None = None


OFFSETS_LIST = "compensations"
DONE_COLUMNS = ("departement", "siren", "jour")


def store_url(warehouse: str | Path, env: Mapping[str, str] | None = None) -> str:
    """The application's database, as the application finds it (`app.settings.load_settings`)."""
    env = os.environ if env is None else env
    return env.get("ONEVISION_APP_DATABASE_URL", "").strip() or default_database_url(warehouse)


def _group(departement: str, pilotes: Sequence[str]) -> str:
    if departement == NATIONAL:
        return NATIONAL
    return PILOT if departement in pilotes else OTHERS


def _by_group(outcomes: pd.DataFrame, pilotes: Sequence[str]) -> pd.DataFrame:
    if outcomes.empty:
        return pd.DataFrame(columns=list(OUTCOME_COLUMNS))
    frame = outcomes.assign(groupe=[_group(d, pilotes) for d in outcomes["departement"]])
    out = frame.groupby(["liste", "groupe"], sort=True).agg(
        decides=("decides", "sum"), faits=("faits", "sum"), non_pertinents=("non_pertinents", "sum"),
        montant_obtenu=("montant_obtenu", lambda s: sum(s, Decimal("0.00")))).reset_index()
    out["taux_acceptation"] = [Decimal(int(f)) / Decimal(int(d)) for f, d in zip(out["faits"], out["decides"],
                                                                                 strict=True)]
    return out[list(OUTCOME_COLUMNS)]


def offsets_done(engine: sa.Engine) -> pd.DataFrame:
    """The items of the offsets worklist whose latest outcome is "fait", with the day (Paris) it was recorded."""
    latest = sa.select(sa.func.max(resultats.c.id)).where(resultats.c.liste == OFFSETS_LIST).group_by(
        resultats.c.departement, resultats.c.siren)
    query = sa.select(resultats.c.departement, resultats.c.siren, resultats.c.horodatage).where(
        resultats.c.id.in_(latest), resultats.c.resultat == "FAIT")
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    if not rows:
        return pd.DataFrame(columns=list(DONE_COLUMNS))
    frame = pd.DataFrame(rows, columns=["departement", "siren", "horodatage"])
    stamps = pd.to_datetime(frame["horodatage"])
    stamps = stamps.dt.tz_localize("UTC") if stamps.dt.tz is None else stamps  # the store keeps UTC
    return frame.assign(jour=stamps.dt.tz_convert("Europe/Paris").dt.date)[list(DONE_COLUMNS)]


def with_verification(con: duckdb.DuckDBPyConnection, followup: FollowUp) -> FollowUp:
    """The outcomes "fait" on offsets checked against the history's later snapshots (nothing without history)."""
    if followup.faits.empty or history_tables_missing(con, ("history.mouvements", "history.instantanes")):
        return followup
    snapshots = con.execute("SELECT departement, date_situation FROM history.instantanes").df()
    evidence = con.execute(EVIDENCE_SQL, {"sirens": sorted(set(followup.faits["siren"]))}).df()
    followup.verification = classify_outcomes(followup.faits, snapshots, evidence)
    return followup


def _nothing(note: str) -> FollowUp:
    return FollowUp(False, note, pd.DataFrame(), pd.DataFrame(columns=list(OUTCOME_COLUMNS)),
                    pd.DataFrame(columns=list(USAGE_COLUMNS)))


def _engine(url: str) -> sa.Engine | None:
    """An engine on an existing store, or None when the SQLite file is not there (never created here)."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if not database or database == ":memory:" or not Path(database).is_file():
            return None
    return sa.create_engine(url, pool_pre_ping=True)


def load_followup(url: str, pilotes: Sequence[str]) -> FollowUp:
    try:
        engine = _engine(url)
    except sa.exc.ArgumentError:
        log.warning("Adresse de la base de l'application invalide : suivi des agents absent du tableau de bord")
        return _nothing("l'adresse de la base de l'application (ONEVISION_APP_DATABASE_URL) n'est pas valide.")
    except ImportError:
        log.warning("Pilote de la base de l'application absent : suivi des agents absent du tableau de bord")
        return _nothing("le pilote de la base de l'application n'est pas installé.")
    if engine is None:
        return _nothing("la base de l'application n'existe pas encore (aucun agent ne l'a utilisée).")
    try:
        inspector = sa.inspect(engine)
        if not (inspector.has_table("resultats") and inspector.has_table("audit")):
            return _nothing("la base de l'application ne contient pas encore ses tables.")
        outcomes = summary(engine)
        usage = usage_by_month(engine)
        done = offsets_done(engine)
    except sa.exc.SQLAlchemyError as e:  # unreachable server, locked file: the page still renders
        log.warning("Base de l'application illisible (%s) : suivi des agents absent du tableau de bord",
                    type(e).__name__)
        return _nothing("la base de l'application est injoignable ou illisible pour le moment.")
    finally:
        if engine is not None:
            engine.dispose()
    if outcomes.empty and usage.empty:
        return _nothing("aucune suite donnée ni consultation n'a encore été enregistrée dans l'application.")
    usage = usage.assign(groupe=[_group(d, pilotes) for d in usage["departement"]])
    return FollowUp(True, "", outcomes, _by_group(outcomes, pilotes), usage[list(USAGE_COLUMNS)], done)
