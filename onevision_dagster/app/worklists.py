"""Worklists of a department: what an agent should look at, sortable, paged and exportable.

- `compensations`: offsets to review (`montant_compensable` > 0), largest first;
- `procedures`: companies under a collective procedure (register) or with claims filed in one
  (`passif_declare` > 0): what is left to declare (due and not-yet-due debts not yet filed) and how many
  enforcement steps (formal notice, SATD, seizure) are running and must stop (art. L. 622-21 C. com.);
- `non_valeurs`: written-off fines (`dettes_non_valeur` > 0) of companies the State now owes certain credits
  to, anywhere in the country (national `total_creances` > 0): the fine can be pursued again;
- `remboursements`: refunds at risk, when the history is published (contract section 9): per company of the
  latest period, what the State paid back (`REMBOURSEMENT` movements) while, at the start of the period, the
  company owed due taxes that could have been offset: min(refunded, `montant_compensable` at the start).

Each list is one SQL query over the published copy, for one department (already checked against the user's
rights); sorting only by a column of the list (a whitelist: the name is put in the SQL).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb
import pandas as pd

from onevision_dagster.app.company import has_table


@dataclass(frozen=True)
class Column:
    name: str
    label: str
    kind: str = "texte"  # "texte", "montant", "date", "nombre"


@dataclass(frozen=True)
class WorkList:
    key: str
    title: str
    help: str
    columns: tuple[Column, ...]
    sql: str
    default_sort: str
    needs: tuple[str, ...] = ()

    @property
    def money_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.kind == "montant")

    @property
    def date_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.kind == "date")


_IDENTITY = (Column("siren", "SIREN"), Column("denomination", "Dénomination"))

LISTS: dict[str, WorkList] = {
    "compensations": WorkList(
        "compensations", "Compensations à examiner",
        "Entreprises du département dont une créance certaine et exigible peut être imputée sur des impôts "
        "professionnels exigibles sans sursis (art. L. 257 B du LPF) : une opportunité à examiner, à notifier "
        "à l'entreprise si elle est faite (art. R. 257 B-1).",
        (*_IDENTITY, Column("commune", "Commune"), Column("total_dettes", "Dettes exigibles", "montant"),
         Column("dettes_compensables", "Dettes compensables", "montant"),
         Column("total_creances", "Créances certaines", "montant"),
         Column("montant_compensable", "Montant compensable", "montant"),
         Column("anciennete_jours", "Ancienneté (jours)", "nombre")),
        """SELECT p.siren, p.denomination, r.commune, p.total_dettes, p.dettes_compensables, p.total_creances,
                  p.montant_compensable, p.anciennete_jours
           FROM positions p LEFT JOIN recherche r USING (siren)
           WHERE p.departement = $d AND p.montant_compensable > 0""",
        "montant_compensable"),
    "procedures": WorkList(
        "procedures", "Procédures collectives",
        "Entreprises en procédure collective selon le registre, ou dont une créance fiscale est déclarée au "
        "passif d'une procédure. « Reste à déclarer » : dettes exigibles et à échoir pas encore déclarées ; "
        "« poursuites en cours » : lignes à l'étape de mise en demeure, de SATD ou de saisie, à suspendre "
        "(art. L. 622-21 du Code de commerce). Toute compensation est bloquée (art. L. 622-7).",
        (*_IDENTITY, Column("procedure_collective", "Procédure (registre)"),
         Column("date_jugement", "Jugement", "date"), Column("passif_declare", "Passif déclaré", "montant"),
         Column("reste_a_declarer", "Reste à déclarer", "montant"),
         Column("poursuites_en_cours", "Poursuites en cours", "nombre"),
         Column("total_creances", "Créances certaines", "montant")),
        """SELECT p.siren, p.denomination, p.procedure_collective, r.date_jugement, p.passif_declare,
                  greatest(p.total_dettes + p.dettes_a_echoir - p.passif_declare, 0)::DECIMAL(18,2)
                      AS reste_a_declarer,
                  coalesce(l.poursuites, 0) AS poursuites_en_cours, p.total_creances
           FROM positions p LEFT JOIN recherche r USING (siren)
           LEFT JOIN (SELECT siren, count(*) AS poursuites FROM lignes_dettes
                      WHERE departement = $d AND ouverte AND etape IN ('MISE_EN_DEMEURE', 'SATD', 'SAISIE')
                      GROUP BY siren) l USING (siren)
           WHERE p.departement = $d AND (p.procedure_collective IS NOT NULL OR p.passif_declare > 0)""",
        "reste_a_declarer"),
    "non_valeurs": WorkList(
        "non_valeurs", "Amendes en non-valeur d'entreprises créancières",
        "Amendes admises en non-valeur (le comptable a cessé les poursuites, la dette n'est pas éteinte) "
        "d'entreprises à qui l'État doit aujourd'hui des créances certaines et exigibles, dans ce département "
        "ou ailleurs : retour à meilleure fortune, la reprise des poursuites peut être examinée. Les amendes "
        "sont hors L. 257 B.",
        (*_IDENTITY, Column("dettes_non_valeur", "Amendes en non-valeur", "montant"),
         Column("creances_departement", "Créances (département)", "montant"),
         Column("creances_nationales", "Créances (national)", "montant"),
         Column("total_dettes", "Dettes exigibles", "montant")),
        """SELECT p.siren, p.denomination, p.dettes_non_valeur, p.total_creances AS creances_departement,
                  n.total_creances AS creances_nationales, p.total_dettes
           FROM positions p JOIN positions_nationales n USING (siren)
           WHERE p.departement = $d AND p.dettes_non_valeur > 0 AND n.total_creances > 0""",
        "dettes_non_valeur"),
    "remboursements": WorkList(
        "remboursements", "Remboursements à risque",
        "Sur la dernière période connue, ce que l'État a remboursé à des entreprises qui, au début de la "
        "période, lui devaient des impôts exigibles compensables : à risque = le plus petit des deux.",
        (*_IDENTITY, Column("date_debut", "Début", "date"), Column("date_fin", "Fin", "date"),
         Column("rembourse", "Remboursé", "montant"),
         Column("compensable_debut", "Compensable au début", "montant"),
         Column("a_risque", "À risque", "montant")),
        """WITH periode AS (SELECT max(date_fin) AS date_fin FROM mouvements WHERE departement = $d),
                remb AS (SELECT m.siren, m.date_debut, m.date_fin, sum(m.montant)::DECIMAL(18,2) AS rembourse
                         FROM mouvements m JOIN periode USING (date_fin)
                         WHERE m.departement = $d AND m.type = 'REMBOURSEMENT'
                         GROUP BY m.siren, m.date_debut, m.date_fin)
           SELECT remb.siren, coalesce(h.denomination, r.denomination) AS denomination, remb.date_debut,
                  remb.date_fin, remb.rembourse, h.montant_compensable AS compensable_debut,
                  least(remb.rembourse, h.montant_compensable) AS a_risque
           FROM remb JOIN positions_historique h
                ON h.siren = remb.siren AND h.departement = $d AND h.date_situation = remb.date_debut
           LEFT JOIN recherche r ON r.siren = remb.siren
           WHERE h.montant_compensable > 0""",
        "a_risque", needs=("mouvements", "positions_historique")),
}


@dataclass(frozen=True)
class Page:
    worklist: WorkList
    available: bool
    total: int
    page: int
    pages: int
    sort: str
    descending: bool
    rows: list[dict[str, Any]]


def available(con: duckdb.DuckDBPyConnection, worklist: WorkList) -> bool:
    """False for a list whose tables are not published yet (refunds at risk before the history exists)."""
    return all(has_table(con, t) for t in worklist.needs)


def _order(worklist: WorkList, sort: str | None, descending: bool | None) -> tuple[str, bool]:
    names = {c.name for c in worklist.columns}
    sort = sort if sort in names else worklist.default_sort
    if descending is None:
        descending = sort == worklist.default_sort or sort in worklist.money_columns
    return sort, descending


def page(con: duckdb.DuckDBPyConnection, worklist: WorkList, departement: str, sort: str | None = None,
         descending: bool | None = None, page_number: int = 1, page_size: int = 50) -> Page:
    sort, descending = _order(worklist, sort, descending)
    if not available(con, worklist):
        return Page(worklist, False, 0, 1, 0, sort, descending, [])
    params = {"d": departement}
    total = con.execute(f"SELECT count(*) FROM ({worklist.sql})", params).fetchone()[0]
    pages = max(1, -(-total // page_size))
    number = min(max(1, page_number), pages)
    cur = con.execute(
        f"SELECT * FROM ({worklist.sql}) ORDER BY {sort} {'DESC' if descending else 'ASC'} NULLS LAST, siren "
        f"LIMIT {int(page_size)} OFFSET {int((number - 1) * page_size)}", params)
    names = [d[0] for d in cur.description]
    rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    return Page(worklist, True, int(total), number, pages, sort, descending, rows)


def frame(con: duckdb.DuckDBPyConnection, worklist: WorkList, departement: str, sort: str | None = None,
          descending: bool | None = None) -> pd.DataFrame:
    """The whole list for an export (a department holds at most a few hundred thousand companies).

    Built from the fetched tuples, not `.df()`: amounts stay `Decimal`, never floats.
    """
    sort, descending = _order(worklist, sort, descending)
    columns = [c.name for c in worklist.columns]
    if not available(con, worklist):
        return pd.DataFrame(columns=columns)
    rows = con.execute(
        f"SELECT {', '.join(columns)} FROM ({worklist.sql}) "
        f"ORDER BY {sort} {'DESC' if descending else 'ASC'} NULLS LAST, siren", {"d": departement}).fetchall()
    return pd.DataFrame.from_records(rows, columns=columns, coerce_float=False)


def counts(con: duckdb.DuckDBPyConnection, departement: str) -> dict[str, int | None]:
    """Items per list for the department's home page (None: list not available yet)."""
    out: dict[str, int | None] = {}
    for key, worklist in LISTS.items():
        out[key] = (con.execute(f"SELECT count(*) FROM ({worklist.sql})", {"d": departement}).fetchone()[0]
                    if available(con, worklist) else None)
    return out
