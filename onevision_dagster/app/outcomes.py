"""What agents did with a worklist item: done, or not relevant (with a reason), and the amount obtained.

Stored append-only (`store.resultats`): recording again adds a row, the latest one per (department, list,
SIREN) is the item's outcome. The experiment's dashboard counts them: acceptance rate (done / decided)
and amounts obtained, per department and list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

import duckdb
import pandas as pd
import sqlalchemy as sa

from onevision_dagster.app import worklists
from onevision_dagster.app.audit import utc_now
from onevision_dagster.app.store import resultats
from onevision_dagster.reports.formatting import format_euros

RESULTATS = {"FAIT": "Fait", "NON_PERTINENT": "Non pertinent"}
MOTIFS = {
    "DEJA_TRAITE": "Déjà traité par ailleurs",
    "DONNEES_ERRONEES": "Données erronées ou périmées",
    "CREANCE_CONTESTEE": "Créance contestée ou en litige",
    "PROCEDURE_EN_COURS": "Procédure collective ou plan en cours",
    "MONTANT_TROP_FAIBLE": "Montant trop faible",
    "AUTRE": "Autre",
}
"""Reasons for "not relevant": a short list, so the dashboard can count them."""
MAX_AMOUNT = Decimal("9999999999999999.99")
_AMOUNT = re.compile(r"\d{1,16}(?:[.,]\d{1,2})?")
MAX_COMMENT = 500
CEILINGS: dict[str, str] = {
    "compensations": "montant_compensable",
    "procedures": "passif_declare + reste_a_declarer",
    "declarations": "montant",
    "a_qualifier": "montant",
    "suspendues": "dettes_suspendues",
    "non_valeurs": "dettes_non_valeur",
    "remboursements": "a_risque",
    "debiteurs_communs": "dettes_poursuivables",
}
"""What a line of each list allows as an amount obtained: the most that can be offset, declared, pursued or
recovered for that company in that department (a column or sum of columns of the list's own query)."""


class InvalidOutcome(ValueError):
    """A form that does not describe a valid outcome (French message for the agent)."""


class OutcomeRefused(InvalidOutcome):
    """An outcome for a company that is not a line of the list, or for more than the line allows (403)."""


@dataclass(frozen=True)
class Outcome:
    resultat: str
    motif: str | None
    montant_obtenu: Decimal | None
    commentaire: str | None = None
    document: int | None = None  # the notification sent (the audit row of its drafting), for an offset done


def parse_amount(text: str) -> Decimal | None:
    """``1 234,56`` or ``1234.56`` → Decimal; empty → None; anything else is refused, never guessed."""
    cleaned = (text or "").strip().replace("\u00a0", "").replace(" ", "").replace("€", "")
    if not cleaned:
        return None
    if not _AMOUNT.fullmatch(cleaned):
        raise InvalidOutcome(f"Montant obtenu illisible : « {text} » (un montant positif avec au plus deux "
                             "décimales, exemple : 1250,40).")
    amount = Decimal(cleaned.replace(",", "."))
    if amount > MAX_AMOUNT:
        raise InvalidOutcome(f"Montant obtenu refusé : « {text} » (trop grand).")
    return amount.quantize(Decimal("0.01"))


def parse_comment(text: str | None) -> str | None:
    """A free comment: bounded, control characters (other than line breaks) refused, blank → None."""
    cleaned = (text or "").replace("\r\n", "\n").strip()
    if not cleaned:
        return None
    if len(cleaned) > MAX_COMMENT:
        raise InvalidOutcome(f"Commentaire trop long : {MAX_COMMENT} caractères au plus.")
    if re.search(r"[\x00-\x09\x0b-\x1f\x7f]", cleaned):
        raise InvalidOutcome("Commentaire refusé : il contient des caractères de contrôle.")
    return cleaned


def parse_outcome(resultat: str, motif: str, montant: str, commentaire: str | None = None,
                  document: str | None = None) -> Outcome:
    if resultat not in RESULTATS:
        raise InvalidOutcome("Choisissez « Fait » ou « Non pertinent ».")
    amount = parse_amount(montant)
    comment = parse_comment(commentaire)
    reference = (document or "").strip()
    if reference and not re.fullmatch(r"\d{1,18}", reference):
        raise InvalidOutcome("Notification choisie illisible.")
    if resultat == "NON_PERTINENT":
        if motif not in MOTIFS:
            raise InvalidOutcome("Un élément non pertinent demande un motif choisi dans la liste.")
        if amount:
            raise InvalidOutcome("Un élément non pertinent n'a pas de montant obtenu.")
        if reference:
            raise InvalidOutcome("Un élément non pertinent ne renvoie à aucune notification.")
        return Outcome(resultat, motif, None, comment)
    return Outcome(resultat, None, amount, comment, int(reference) if reference else None)


def check_document(engine: sa.Engine, worklist: worklists.WorkList, departement: str, siren: str,
                   outcome: Outcome) -> None:
    """An outcome may point only to a notification drafted for this company in this department (offsets list)."""
    if outcome.document is None:
        return
    from onevision_dagster.app import drafted

    if worklist.key != "compensations" or drafted.notification(engine, outcome.document, siren, departement) is None:
        raise OutcomeRefused(f"Suite refusée : le document n° {outcome.document} n'est pas une notification "
                             f"d'affectation préparée pour l'entreprise {siren} dans le département {departement}.")


def check_target(con: duckdb.DuckDBPyConnection, worklist: worklists.WorkList, departement: str, siren: str,
                 outcome: Outcome) -> None:
    """Refuses (`OutcomeRefused`) an outcome for a company that is not a line of this department's list in the
    published copy `con` reads, or whose amount obtained exceeds what that line allows (`CEILINGS`)."""
    title = f"« {worklist.title} » du département {departement}"
    if not worklists.available(con, worklist):
        raise OutcomeRefused(f"Suite refusée : la liste {title} n'est pas encore publiée.")
    row = con.execute(f"SELECT count(*), max({CEILINGS[worklist.key]}) FROM ({worklist.sql}) WHERE siren = $s",
                      {"d": departement, "s": siren}).fetchone()
    if not row[0]:
        raise OutcomeRefused(f"Suite refusée : l'entreprise {siren} n'est pas sur la liste {title} publiée.")
    ceiling = Decimal(row[1] if row[1] is not None else 0).quantize(Decimal("0.01"))
    if outcome.montant_obtenu is not None and outcome.montant_obtenu > ceiling:
        raise OutcomeRefused(f"Montant obtenu refusé : {format_euros(outcome.montant_obtenu)} dépasse ce que la "
                             f"ligne de l'entreprise {siren} permet sur cette liste ({format_euros(ceiling)}).")


def record(engine: sa.Engine, *, user: str, departement: str, liste: str, siren: str, outcome: Outcome) -> None:
    with engine.begin() as conn:
        conn.execute(resultats.insert().values(
            horodatage=utc_now(), utilisateur=user, departement=departement, liste=liste, siren=siren,
            resultat=outcome.resultat, motif=outcome.motif, commentaire=outcome.commentaire, document=outcome.document,
            montant_obtenu_centimes=None if outcome.montant_obtenu is None else int(outcome.montant_obtenu * 100)))


def _with_euros(row) -> dict:
    out = dict(row)
    cents = out.pop("montant_obtenu_centimes")
    out["montant_obtenu"] = None if cents is None else (Decimal(cents) / 100).quantize(Decimal("0.01"))
    return out


def _latest(departement: str | None = None, liste: str | None = None, sirens: list[str] | None = None):
    latest = sa.select(sa.func.max(resultats.c.id).label("id")).group_by(
        resultats.c.departement, resultats.c.liste, resultats.c.siren)
    if departement is not None:
        latest = latest.where(resultats.c.departement == departement)
    if liste is not None:
        latest = latest.where(resultats.c.liste == liste)
    if sirens is not None:
        latest = latest.where(resultats.c.siren.in_(sirens))
    return sa.select(resultats).where(resultats.c.id.in_(latest))


def latest_for(engine: sa.Engine, departement: str, liste: str, sirens: list[str] | None = None
               ) -> dict[str, dict]:
    """SIREN → its latest outcome in this department's list (`sirens`: only those, for one page)."""
    if sirens is not None and not sirens:
        return {}
    with engine.connect() as conn:
        rows = conn.execute(_latest(departement, liste, sirens)).mappings().all()
    return {r["siren"]: _with_euros(r) for r in rows}


def summary(engine: sa.Engine) -> pd.DataFrame:
    """Per department and list: items decided, done, not relevant, acceptance rate, amount obtained."""
    with engine.connect() as conn:
        rows = conn.execute(_latest()).mappings().all()
    columns = ["departement", "liste", "decides", "faits", "non_pertinents", "taux_acceptation", "montant_obtenu"]
    if not rows:
        return pd.DataFrame(columns=columns)
    frame = pd.DataFrame([_with_euros(r) for r in rows])
    frame["fait"] = frame["resultat"] == "FAIT"
    frame["montant"] = [Decimal(v) if v is not None else Decimal(0) for v in frame["montant_obtenu"]]
    out = frame.groupby(["departement", "liste"], sort=True).agg(
        decides=("resultat", "size"), faits=("fait", "sum"),
        montant_obtenu=("montant", lambda s: sum(s, Decimal(0)))).reset_index()
    out["non_pertinents"] = out["decides"] - out["faits"]
    out["taux_acceptation"] = [Decimal(int(f)) / Decimal(int(d)) for f, d in zip(out["faits"], out["decides"],
                                                                                 strict=True)]
    return out[columns]
