"""Worklists of a department: what an agent should look at, sortable, paged and exportable.

- `compensations`: what the department's certain credits can offset under art. L. 257 B, against the
  company's taxes here and in every other department (`compensations`, contract section 6), largest first;
- `declarations`: the claims to declare in a collective procedure (`declarations`), most urgent first, each
  with its source line, its deadlines and the service that declares it; `a_qualifier`: the claims born after
  the judgment, apart (art. L. 622-17);
- `procedures`: companies under a collective procedure (register) or with claims filed in one
  (`passif_declare` > 0): what is left to declare and by when, and how many enforcement steps (formal
  notice, SATD, seizure) are running and must stop (art. L. 622-21 C. com.);
- `suspendues`: companies outside a procedure whose past-due debts are partly or wholly suspended (sursis,
  contested title), with what is still pursuable;
- `non_valeurs`: written-off fines (`dettes_non_valeur` > 0) of companies the State now owes certain credits
  to, anywhere in the country (national `total_creances` > 0): the fine can be pursued again;
- `remboursements`: refunds at risk, when the history is published (contract section 9): per company of the
  latest period, what the State paid back (`REMBOURSEMENT` movements) while, at the start of the period, the
  company owed taxes its credits here could have paid, in this department or another: min(refunded, the
  offsettable amount at the start), as `history.impact` counts it (`reports.refunds_at_risk`, published).

Each list is one SQL query over the published copy, for one department (already checked against the user's
rights); sorting only by a column of the list (a whitelist: the name is put in the SQL). Codes are turned into
French words in the query itself, so the page and the CSV export say the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb
import pandas as pd

from onevision_dagster.app.company import has_table
from onevision_dagster.reports import legal
from onevision_dagster.reports.labels import ETAPE_LABELS, PROCEDURES, source_label


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
    default_descending: bool = True
    tie_break: str = "siren"  # after the sort column: a stable order for pages and exports

    @property
    def money_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.kind == "montant")

    @property
    def date_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.kind == "date")


_IDENTITY = (Column("siren", "SIREN"), Column("denomination", "Dénomination"))


def _sql_words(column: str, words: dict[str, str]) -> str:
    """A CASE turning a code column into French words (the codes are the contract's, the words ours)."""
    cases = " ".join(f"WHEN '{code}' THEN '{text.replace(chr(39), chr(39) * 2)}'" for code, text in words.items())
    return f"CASE {column} {cases} ELSE {column} END"


_SOURCES = {s: source_label(s) for s in ("amendes", "spl", "impots_pro", "rnf")}
LEGAL_BASIS_SATD = "SATD commune, art. L. 262 du LPF"
_TODAY = "timezone('Europe/Paris', now())::DATE"  # days left are counted from today, in Paris
_DECLARATION_COLUMNS = (
    *_IDENTITY, Column("procedure", "Procédure (jugement)"), Column("source", "Source"),
    Column("ligne_source", "Ligne (fichier : ligne, clé)"), Column("montant", "Montant", "montant"))
_DECLARATION_SELECT = f"""d.siren, d.denomination,
                  {_sql_words("d.procedure_collective", PROCEDURES)} || ' (' || strftime(d.date_jugement, '%d/%m/%Y')
                      || ')' AS procedure, {_sql_words("d.source", _SOURCES)} AS source,
                  concat_ws(' ', coalesce(d.fichier, '—') || ' : ' || coalesce(d.ligne::VARCHAR, '—'),
                            '(' || d.cle || ')') AS ligne_source, d.montant"""

LISTS: dict[str, WorkList] = {
    "compensations": WorkList(
        "compensations", "Compensations à examiner",
        "Entreprises dont une créance certaine et due, détenue dans ce département, peut être imputée sur leurs "
        "impôts professionnels échus et poursuivables (art. L. 257 B du LPF), ici ou dans un autre département "
        "(colonne « départements des dettes ») : l'art. L. 257 B regarde le contribuable, pas le service ; "
        "l'agent du département qui détient la créance, qui sinon la rembourserait, est celui qui agit. Une "
        "opportunité à examiner, à notifier à l'entreprise si elle est faite (art. R. 257 B-1).",
        (*_IDENTITY, Column("commune", "Commune"),
         Column("creances_departement", "Créances certaines et dues (département)", "montant"),
         Column("dettes_compensables_departement", "Impôts compensables du département", "montant"),
         Column("dettes_compensables_autres", "Impôts compensables ailleurs", "montant"),
         Column("montant_compensable", "Montant compensable", "montant"),
         Column("departements_dettes", "Départements des dettes")),
        """SELECT c.siren, c.denomination, r.commune, c.creances_departement, c.dettes_compensables_departement,
                  c.dettes_compensables_autres, c.montant_compensable, c.departements_dettes
           FROM compensations c LEFT JOIN recherche r USING (siren)
           WHERE c.departement = $d AND c.montant_compensable > 0""",
        "montant_compensable", needs=("compensations",)),
    "declarations": WorkList(
        "declarations", "Déclarations de créances",
        "Créances nées avant le jugement d'ouverture d'une procédure collective, à déclarer au mandataire "
        "judiciaire, la plus urgente d'abord : la prochaine échéance est la date limite de déclaration, ou, une fois "
        "passée, celle du relevé de forclusion ; viennent ensuite les lignes sans échéance connue (BODACC inconnu) "
        "et celles « à examiner ». " + legal.DECLARATIONS_BASE_LEGALE + " Le service déclarant est "
        "le comptable chargé du recouvrement : le comptable de la collectivité (SGC) pour un titre local, pas le "
        "SIE.",
        (*_DECLARATION_COLUMNS, Column("prochaine_echeance", "Prochaine échéance", "date"),
         Column("jours_restants", "Jours restants", "nombre"),
         Column("date_limite_declaration", "Date limite de déclaration", "date"),
         Column("date_limite_releve", "Date limite de relevé (L. 622-26)", "date"), Column("etat", "État"),
         Column("service_declarant", "Service déclarant")),
        f"""SELECT {_DECLARATION_SELECT},
                  CASE d.etat WHEN 'A_DECLARER' THEN d.date_limite_declaration
                              WHEN 'RELEVE_POSSIBLE' THEN d.date_limite_releve END AS prochaine_echeance,
                  (CASE d.etat WHEN 'A_DECLARER' THEN d.date_limite_declaration
                               WHEN 'RELEVE_POSSIBLE' THEN d.date_limite_releve END - {_TODAY})::INTEGER
                      AS jours_restants,
                  d.date_limite_declaration, d.date_limite_releve,
                  {_sql_words("d.etat", legal.ETATS_DECLARATION_COURTS)} AS etat,
                  {_sql_words("d.service_declarant", legal.SERVICES_DECLARANTS)} AS service_declarant,
                  d.etat AS code_etat
           FROM declarations d WHERE d.departement = $d AND d.etat <> 'A_QUALIFIER'""",
        "prochaine_echeance", needs=("declarations",), default_descending=False),
    "a_qualifier": WorkList(
        "a_qualifier", "Créances postérieures au jugement, à qualifier (art. L. 622-17)",
        "Créances nées le jour du jugement d'ouverture ou après : elles sont arrêtées comme les autres (art. "
        "L. 622-21 C. com.) sauf si l'art. L. 622-17 I les privilégie (nées pour les besoins de la procédure ou "
        "en contrepartie d'une prestation fournie pendant celle-ci) : elles sont alors payées à leur échéance "
        "et, impayées, doivent être portées à la connaissance de l'administrateur ou du mandataire sous peine de "
        "perdre leur privilège (art. L. 622-17 IV). Les autres sont à déclarer dans les deux mois de leur échéance "
        "(art. L. 622-24 al. 6). Les données ne permettent pas de les distinguer : l'agent les qualifie ; par "
        "prudence, il agit dans les deux mois de l'échéance.",
        (*_DECLARATION_COLUMNS, Column("date_origine", "Née le", "date"),
         Column("service_declarant", "Service déclarant"), Column("etat", "État")),
        f"""SELECT {_DECLARATION_SELECT}, d.date_origine,
                  {_sql_words("d.service_declarant", legal.SERVICES_DECLARANTS)} AS service_declarant,
                  '{legal.ETATS_DECLARATION_COURTS["A_QUALIFIER"]}' AS etat
           FROM declarations d WHERE d.departement = $d AND d.etat = 'A_QUALIFIER'""",
        "date_origine", needs=("declarations",), default_descending=False),
    "procedures": WorkList(
        "procedures", "Procédures collectives",
        "Entreprises en procédure collective selon le registre, ou dont une créance fiscale est déclarée au "
        "passif d'une procédure que le registre ne montre pas. Toutes leurs dettes échues sont suspendues : "
        "aucune poursuite hors de la procédure (art. L. 622-21 du Code de commerce) ; « poursuites en cours » : "
        "lignes à l'étape de mise en demeure, de SATD ou de saisie, à arrêter. « Reste à déclarer » : créances "
        "nées avant le jugement, pas encore déclarées, avec la prochaine date limite : celle de la déclaration "
        "(art. L. 622-24 et R. 622-24) ou, une fois passée, celle du relevé de forclusion (art. L. 622-26) ; vide "
        "quand la publication au BODACC est inconnue (délai à vérifier) ou les deux délais passés (détail dans "
        "« Déclarations de créances ») ; les créances nées après le jugement sont à qualifier à part "
        "(art. L. 622-17). Toute compensation est bloquée (art. L. 622-7), sauf compensation antérieure au "
        "jugement ou créances connexes, à examiner (art. 1347 du Code civil).",
        (*_IDENTITY, Column("procedure", "Procédure (registre)"),
         Column("date_jugement", "Jugement", "date"), Column("passif_declare", "Passif déclaré", "montant"),
         Column("reste_a_declarer", "Reste à déclarer", "montant"),
         Column("premiere_date_limite", "Prochaine date limite", "date"),
         Column("a_qualifier", "À qualifier (L. 622-17)", "montant"),
         Column("poursuites_en_cours", "Poursuites en cours", "nombre"),
         Column("total_creances", "Créances certaines et dues", "montant")),
        f"""SELECT p.siren, p.denomination,
                  coalesce({_sql_words("p.procedure_collective", PROCEDURES)}, 'non référencée au registre')
                      AS procedure, r.date_jugement, p.passif_declare,
                  coalesce(dc.reste, 0)::DECIMAL(18,2) AS reste_a_declarer, dc.premiere AS premiere_date_limite,
                  coalesce(dc.qualifier, 0)::DECIMAL(18,2) AS a_qualifier,
                  coalesce(l.poursuites, 0) AS poursuites_en_cours, p.total_creances
           FROM positions p LEFT JOIN recherche r USING (siren)
           LEFT JOIN (SELECT siren, sum(montant) FILTER (WHERE etat <> 'A_QUALIFIER') AS reste,
                             min(CASE etat WHEN 'A_DECLARER' THEN date_limite_declaration
                                           WHEN 'RELEVE_POSSIBLE' THEN date_limite_releve END) AS premiere,
                             sum(montant) FILTER (WHERE etat = 'A_QUALIFIER') AS qualifier
                      FROM declarations WHERE departement = $d GROUP BY siren) dc USING (siren)
           LEFT JOIN (SELECT siren, count(*) AS poursuites FROM lignes_dettes
                      WHERE departement = $d AND ouverte AND etape IN ('MISE_EN_DEMEURE', 'SATD', 'SAISIE')
                      GROUP BY siren) l USING (siren)
           WHERE p.departement = $d AND (p.procedure_collective IS NOT NULL OR p.passif_declare > 0)""",
        "reste_a_declarer", needs=("declarations",)),
    "suspendues": WorkList(
        "suspendues", "Dettes suspendues hors procédure",
        "Entreprises hors procédure collective dont des dettes échues sont suspendues : impôt sous sursis de "
        "paiement (art. L. 277 du LPF : ni poursuivi ni compensé jusqu'à la décision définitive) ou titre local "
        "contesté en justice (art. L. 1617-5 du CGCT). Elles ne sont pas dans le classement des débiteurs "
        "communs pour cette part ; à revoir quand la contestation est jugée. Le sursis ne couvre que la part "
        "contestée : les données ne la donnant pas, toute la ligne est suspendue.",
        (*_IDENTITY, Column("dettes_suspendues", "Dettes suspendues", "montant"),
         Column("motifs", "Motifs"),
         Column("dettes_poursuivables", "Dettes poursuivables", "montant"),
         Column("total_dettes", "Dettes échues", "montant")),
        f"""SELECT p.siren, p.denomination, p.dettes_suspendues, m.motifs, p.dettes_poursuivables, p.total_dettes
           FROM positions p
           LEFT JOIN (SELECT siren, string_agg(motif, ' ; ' ORDER BY motif) AS motifs
                      FROM (SELECT DISTINCT siren,
                                   {_sql_words("motif_suspension", legal.SUSPENSION_LABELS)} AS motif
                            FROM lignes_dettes WHERE departement = $d AND suspendue)
                      GROUP BY siren) m USING (siren)
           WHERE p.departement = $d AND p.dettes_suspendues > 0 AND p.procedure_collective IS NULL
             AND p.passif_declare = 0""",
        "dettes_suspendues"),
    "non_valeurs": WorkList(
        "non_valeurs", "Amendes en non-valeur d'entreprises créancières",
        "Amendes admises en non-valeur (le comptable a cessé les poursuites, la dette n'est pas éteinte) "
        "d'entreprises à qui l'État doit aujourd'hui des créances certaines et dues, dans ce département "
        "ou ailleurs : retour à meilleure fortune, la reprise des poursuites peut être examinée. Les amendes "
        "sont hors L. 257 B.",
        (*_IDENTITY, Column("dettes_non_valeur", "Amendes en non-valeur", "montant"),
         Column("creances_departement", "Créances (département)", "montant"),
         Column("creances_nationales", "Créances (national)", "montant"),
         Column("total_dettes", "Dettes échues", "montant")),
        """SELECT p.siren, p.denomination, p.dettes_non_valeur, p.total_creances AS creances_departement,
                  n.total_creances AS creances_nationales, p.total_dettes
           FROM positions p JOIN positions_nationales n USING (siren)
           WHERE p.departement = $d AND p.dettes_non_valeur > 0 AND n.total_creances > 0""",
        "dettes_non_valeur"),
    "remboursements": WorkList(
        "remboursements", "Remboursements à risque",
        "Sur la dernière période connue, ce que l'État a remboursé à des entreprises qui, au début de la "
        "période, lui devaient des impôts échus et poursuivables que leurs créances détenues ici pouvaient payer, "
        "dans ce département ou un autre (art. L. 257 B du LPF) : à risque = le plus petit des deux, comme le "
        "compte l'impact de l'expérimentation.",
        (*_IDENTITY, Column("date_debut", "Début", "date"), Column("date_fin", "Fin", "date"),
         Column("rembourse", "Remboursé", "montant"),
         Column("compensable_debut", "Compensable au début", "montant"),
         Column("a_risque", "À risque", "montant")),
        """SELECT siren, denomination, date_debut, date_fin, rembourse, compensable_debut, a_risque
           FROM remboursements_a_risque WHERE departement = $d""",
        "a_risque", needs=("remboursements_a_risque", "mouvements")),
    "debiteurs_communs": WorkList(
        "debiteurs_communs", "Débiteurs communs",
        "Entreprises qui doivent des dettes échues à au moins deux sources (amendes, produits locaux, impôts "
        "professionnels, recettes non fiscales) et dont une part est poursuivable, la plus urgente d'abord (rang : "
        "score de priorité selon le montant poursuivable, l'ancienneté et l'étape de recouvrement la plus avancée). "
        "Une seule saisie administrative à tiers détenteur peut viser ensemble plusieurs catégories de créances "
        "(" + LEGAL_BASIS_SATD + ") : le projet se prépare depuis chaque ligne. Seules les dettes "
        "poursuivables comptent : une entreprise en procédure collective (poursuites arrêtées, art. L. 622-21 C. "
        "com.) ou dont toutes les dettes sont suspendues (sursis, art. L. 277 du LPF ; titre contesté, art. "
        "L. 1617-5 du CGCT) n'y figure pas.",
        (Column("rang", "Rang", "nombre"), *_IDENTITY,
         Column("dettes_poursuivables", "Dettes poursuivables", "montant"),
         Column("total_dettes", "Dettes échues", "montant"),
         Column("nb_sources_dettes", "Sources de dettes", "nombre"),
         Column("etape", "Étape la plus avancée"),
         Column("anciennete_jours", "Ancienneté (jours)", "nombre"),
         Column("base_legale", "Base légale")),
        f"""SELECT p.rang, p.siren, p.denomination, p.dettes_poursuivables, p.total_dettes, p.nb_sources_dettes,
                  coalesce({_sql_words("p.etape_la_plus_avancee", ETAPE_LABELS)}, 'aucune')
                      AS etape, p.anciennete_jours, '{LEGAL_BASIS_SATD}' AS base_legale
           FROM panel_debiteurs_communs p WHERE p.departement = $d AND p.dettes_poursuivables > 0""",
        "rang", needs=("panel_debiteurs_communs",), default_descending=False),
}


SUSPENDED_LINES = WorkList(
    "lignes_suspendues", "Lignes de dettes suspendues",
    "Chaque ligne de dette échue suspendue du département, avec le motif de sa suspension et la ligne du fichier "
    "source d'où elle vient : impôt sous sursis de paiement (art. L. 277 du LPF), titre local contesté (art. "
    "L. 1617-5 du CGCT), dette d'une entreprise en procédure collective (art. L. 622-21 du Code de commerce). "
    "Une ligne suspendue n'est ni poursuivie ni compensée.",
    (*_IDENTITY, Column("source", "Source"), Column("reference", "Référence"),
     Column("date_ligne", "Date de la ligne", "date"), Column("montant", "Montant", "montant"),
     Column("motif", "Motif de la suspension"), Column("fichier", "Fichier"), Column("ligne", "Ligne", "nombre")),
    f"""SELECT l.siren, p.denomination, {_sql_words("l.source", _SOURCES)} AS source, l.reference, l.date_ligne,
              l.montant, {_sql_words("l.motif_suspension", legal.SUSPENSION_LABELS)} AS motif, l.fichier, l.ligne
       FROM lignes_dettes l
       LEFT JOIN positions p ON p.departement = l.departement AND p.siren = l.siren
       WHERE l.departement = $d AND l.suspendue""",
    "siren", default_descending=False, tie_break="siren, source, reference, fichier, ligne")
"""The line-level export beside the `suspendues` list: the reason of each suspended line (issue 17, point 10)."""
LINE_EXPORTS = {"suspendues": SUSPENDED_LINES}
"""The lists offering an export of their lines as well as of their companies."""


LIST_DOCUMENTS = {"compensations": "notification", "declarations": "declaration", "debiteurs_communs": "satd"}
"""The worklists whose lines carry a document's buttons (app/document_pages.py), and which document."""


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
        descending = worklist.default_descending if sort == worklist.default_sort else sort in worklist.money_columns
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
        f"SELECT * FROM ({worklist.sql}) ORDER BY {sort} {'DESC' if descending else 'ASC'} NULLS LAST, "
        f"{worklist.tie_break} "
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
        f"ORDER BY {sort} {'DESC' if descending else 'ASC'} NULLS LAST, {worklist.tie_break}",
        {"d": departement}).fetchall()
    return pd.DataFrame.from_records(rows, columns=columns, coerce_float=False)


def counts(con: duckdb.DuckDBPyConnection, departement: str) -> dict[str, int | None]:
    """Items per list for the department's home page (None: list not available yet)."""
    out: dict[str, int | None] = {}
    for key, worklist in LISTS.items():
        out[key] = (con.execute(f"SELECT count(*) FROM ({worklist.sql})", {"d": departement}).fetchone()[0]
                    if available(con, worklist) else None)
    return out
