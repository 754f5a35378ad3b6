"""What one dashboard shows, aggregated in DuckDB.

The national positions table can hold millions of rows: every aggregation runs
in SQL and pandas only ever sees a few dozen rows. Amounts stay `Decimal`.

Scope: the current positions (the latest snapshot of each department), the
register version that snapshot read (for the judgment date of a procedure), and
for data quality the files that snapshot read (`consolidate.snapshot`): older
files stay in the warehouse but are not counted twice.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import duckdb
import pandas as pd

from onevision_dagster.consolidate import snapshot
from onevision_dagster.consolidate.tables import POSITION_MONEY_COLUMNS
from onevision_dagster.contract.departements import is_departement
from onevision_dagster.contract.sources import SOURCES_BY_NAME
from onevision_dagster.ingest.origin import synthetic_data
from onevision_dagster.reports.formatting import NBSP
from onevision_dagster.reports.labels import ETAPE_LABELS, RATTACHEMENT_LABELS, source_label
from onevision_dagster.reports.legal import (
    BLOCAGE_LABELS,
    BLOCAGE_PASSIF,
    BLOCAGE_PROCEDURE,
    blocage_sql,
    suspension_label,
)

log = logging.getLogger(__name__)

ZERO = Decimal("0.00")


DEBT_SOURCES = ("amendes", "spl", "impots_pro", "rnf")


CREDIT_COLUMNS = (
    ("creances_tva", "credits_tva"),
    ("creances_excedents", "excedents"),
    ("creances_is", "creances_is"),
)


PANEL_TOP_N = 15


PANEL_COLUMNS = (
    "rang",
    "siren",
    "denomination",
    "dettes_amendes",
    "dettes_spl",
    "dettes_impots_pro",
    "dettes_rnf",
    "total_dettes",
    "nb_sources_dettes",
    "anciennete_jours",
    "etape_la_plus_avancee",
    "score",
)
"""Read from ``marts.panel_debiteurs_communs*`` (ranked by the consolidation's priority score)."""


_S = NBSP  # inside amounts: "10 000 €" never wraps


ANCIENNETE_TRANCHES = (
    "À échoir (pas encore échue)",
    "Moins de 3 mois",
    "3 à 6 mois",
    "6 mois à 1 an",
    "1 à 2 ans",
    "Plus de 2 ans",
)
"""Age of an open debt line = as-of date − debt date, in days: < 0, 0–90,
91–182, 183–365, 366–730, > 730."""



@dataclass
class DashboardData:
    """Everything one dashboard shows, already aggregated (small frames).

    Amount columns hold `Decimal` euros; count columns hold `int`.
    """

    departement: str | None
    date_situation: dt.date | None
    totaux: dict[str, Any]
    dettes_par_source: pd.DataFrame
    creances_par_source: pd.DataFrame
    suspensions: pd.DataFrame
    top_compensation: pd.DataFrame
    compensation_bloquee: pd.DataFrame
    anciennete: pd.DataFrame
    etapes: pd.DataFrame
    panel: pd.DataFrame
    chargements: pd.DataFrame
    rejets: pd.DataFrame
    rattachement: pd.DataFrame
    non_positionnees: pd.DataFrame
    blocages: pd.DataFrame
    tables_absentes: list[str] = field(default_factory=list)
    fraicheur: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["departement", "date_situation"]))
    registre_lignes: tuple[int, int, int] | None = None
    """National dashboard: the register's (read, kept, rejected) lines, said apart from the sources' chart."""
    synthetique: bool = False  # built from a synthetic landing zone (`onevision generate`)
    fichiers_refuses: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=["source", "departement", "fichier", "date_extraction", "message", "dernier_valide"]))
    """Files refused as a whole, newer than their source's last good file: the figures shown predate them."""

    @property
    def libelle(self) -> str:
        return f"Département {self.departement}" if self.departement else "France entière"


def _frame(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
    """Runs a query keeping DECIMAL as `Decimal` (``.df()`` would give floats)."""
    cur = con.execute(sql, list(params))
    columns = [d[0] for d in cur.description]
    return pd.DataFrame(cur.fetchall(), columns=columns)


def _optional_frame(
    con: duckdb.DuckDBPyConnection,
    sql: str,
    params: Sequence[Any],
    columns: Sequence[str],
    missing: list[str],
    table: str,
) -> pd.DataFrame:
    """Quality tables may not exist yet (nothing loaded): an empty frame, said out loud."""
    try:
        return _frame(con, sql, params)
    except duckdb.CatalogException:
        log.warning("Table %s absente : section vide dans le tableau de bord", table)
        missing.append(table)
        return pd.DataFrame(columns=list(columns))


def _scope(departement: str | None) -> tuple[str, str, list[Any]]:
    """(positions table, WHERE clause, params) of a dashboard's scope."""
    if departement is None:
        return "marts.positions_nationales", "TRUE", []
    return "marts.positions", "departement = ?", [departement]


def _register_version(con: duckdb.DuckDBPyConnection, table: str, where: str, params: list[Any]) -> dt.date | None:
    """The register version the scope's positions were built on (latest dated <= their as-of date, section 9)."""
    when = con.execute(f"SELECT max(date_situation) FROM {table} WHERE {where}", params).fetchone()[0]
    if when is None:
        return None
    try:
        return snapshot.register_version_at(snapshot.register_versions(con), when)
    except duckdb.CatalogException:
        return None


def _positions(con: duckdb.DuckDBPyConnection, departement: str | None) -> tuple[str, list[Any]]:
    """The scope's positions with ``blocage`` (why offsetting is blocked, or NULL), as a SQL relation."""
    table, where, params = _scope(departement)
    register = snapshot.register_version_rows(_register_version(con, table, where, params), "e")
    relation = f"""(SELECT p.*, {blocage_sql("p", "e")} AS blocage
        FROM (SELECT * FROM {table} WHERE {where}) p LEFT JOIN {register} ON e.siren = p.siren)"""
    return relation, params


def _load_totaux(con: duckdb.DuckDBPyConnection, positions: str, params: list[Any]) -> dict[str, Any]:
    sums = ", ".join(f"coalesce(sum({c}), 0)::DECIMAL(38,2) AS {c}" for c in POSITION_MONEY_COLUMNS)
    # what a blocked offset would reach without the block: certain credits against past-due taxes (in v3 a blocked
    # company's taxes are all suspended, so `dettes_compensables` is 0 there)
    at_stake = "least(total_creances, dettes_impots_pro)"
    sql = f"""
        SELECT count(*) AS nb_entreprises,
               {sums},
               max(date_situation) AS date_situation,
               count(*) FILTER (WHERE total_dettes > 0) AS nb_debitrices,
               count(*) FILTER (WHERE dettes_a_echoir > 0) AS nb_dettes_a_echoir,
               count(*) FILTER (WHERE dettes_non_valeur > 0) AS nb_dettes_non_valeur,
               count(*) FILTER (WHERE total_creances > 0) AS nb_avec_creances,
               count(*) FILTER (WHERE creances_a_echoir > 0) AS nb_creances_a_echoir,
               count(*) FILTER (WHERE dettes_suspendues > 0) AS nb_dettes_suspendues,
               count(*) FILTER (WHERE montant_compensable > 0) AS nb_compensables,
               count(*) FILTER (WHERE blocage IS NOT NULL AND {at_stake} > 0) AS nb_compensation_bloquee,
               count(*) FILTER (WHERE blocage = '{BLOCAGE_PROCEDURE}' AND {at_stake} > 0)
                   AS nb_bloquee_procedure,
               count(*) FILTER (WHERE blocage = '{BLOCAGE_PASSIF}' AND {at_stake} > 0) AS nb_bloquee_passif,
               coalesce(sum({at_stake}) FILTER (WHERE blocage IS NOT NULL), 0)::DECIMAL(38,2)
                   AS montant_compensation_bloquee,
               count(*) FILTER (WHERE passif_declare > 0) AS nb_passif_declare,
               count(*) FILTER (WHERE nb_sources_dettes >= 2) AS nb_debiteurs_communs,
               count(*) FILTER (WHERE procedure_collective IS NOT NULL) AS nb_procedure_collective
        FROM {positions} pos
    """
    row = _frame(con, sql, params).iloc[0].to_dict()
    for key, value in row.items():
        if key != "date_situation" and not isinstance(value, Decimal):
            row[key] = int(value)
    return row


def _age_case(expr: str) -> str:
    return f"""CASE
        WHEN {expr} < 0 THEN 0 WHEN {expr} <= 90 THEN 1 WHEN {expr} <= 182 THEN 2
        WHEN {expr} <= 365 THEN 3 WHEN {expr} <= 730 THEN 4 ELSE 5 END"""


def _load_bloquees(con: duckdb.DuckDBPyConnection, positions: str) -> pd.DataFrame:
    """The 10 largest offsets blocked, with why."""
    bloquees = _frame(
        con,
        f"""SELECT siren, denomination, blocage, least(total_creances, dettes_impots_pro) AS montant_en_jeu,
                   total_creances, dettes_impots_pro, passif_declare, procedure_collective
            FROM {positions} pos WHERE blocage IS NOT NULL AND least(total_creances, dettes_impots_pro) > 0
            ORDER BY montant_en_jeu DESC, siren LIMIT 10""",
    )
    bloquees["motif"] = [BLOCAGE_LABELS[b] for b in bloquees["blocage"]]
    return bloquees


POSITIONS_COPY = "_ov_tableau_de_bord_positions"


def load_dashboard_data(con: duckdb.DuckDBPyConnection, departement: str | None) -> DashboardData:
    """Reads the warehouse for one department (``None`` = the nation)."""
    table, where, params = _scope(departement)
    relation, _ = _positions(con, departement)
    missing: list[str] = []
    # the scope's positions joined to the national register once, for the totals and the blocked offsets: each
    # joining it again scanned the register's 2.5 M rows twice, most of the time of a small department's queries
    con.execute(f"CREATE OR REPLACE TEMP TABLE {POSITIONS_COPY} AS SELECT * FROM {relation}", params)
    try:
        totaux = _load_totaux(con, f"temp.{POSITIONS_COPY}", [])
        bloquees = _load_bloquees(con, f"temp.{POSITIONS_COPY}")
    finally:
        con.execute(f"DROP TABLE IF EXISTS temp.{POSITIONS_COPY}")
    date_situation = totaux.pop("date_situation")

    counts = _frame(
        con,
        "SELECT "
        + ", ".join(f"count(*) FILTER (WHERE dettes_{s} > 0) AS {s}" for s in DEBT_SOURCES)
        + ", "
        + ", ".join(f"count(*) FILTER (WHERE {c} > 0) AS {c}" for c, _ in CREDIT_COLUMNS)
        + f", count(*) FILTER (WHERE creances_potentielles > 0) AS potentielles FROM {table} WHERE {where}",
        params,
    ).iloc[0]
    # due debts by source (they make total_dettes), then what is owed but not pursued as due, apart
    dettes = pd.DataFrame(
        {
            "source": [*DEBT_SOURCES, "a_echoir", "non_valeur"],
            "libelle": [source_label(s) for s in DEBT_SOURCES]
            + ["Impôts professionnels à échoir", "Amendes admises en non-valeur"],
            "dans_total": [True] * len(DEBT_SOURCES) + [False, False],
            "montant": [totaux[f"dettes_{s}"] for s in DEBT_SOURCES]
            + [totaux["dettes_a_echoir"], totaux["dettes_non_valeur"]],
            "nb_entreprises": [int(counts[s]) for s in DEBT_SOURCES]
            + [totaux["nb_dettes_a_echoir"], totaux["nb_dettes_non_valeur"]],
        }
    )
    # due certain credits by source (they make total_creances), then certain but not yet due, then potential
    creances = pd.DataFrame(
        {
            "categorie": [src for _, src in CREDIT_COLUMNS] + ["a_echoir", "potentielles"],
            "libelle": [source_label(src) for _, src in CREDIT_COLUMNS]
            + ["Créances d'IS à échoir", source_label("potentielles")],
            "nature": ["CERTAINE"] * len(CREDIT_COLUMNS) + ["A_ECHOIR", "POTENTIELLE"],
            "montant": [totaux[c] for c, _ in CREDIT_COLUMNS]
            + [totaux["creances_a_echoir"], totaux["creances_potentielles"]],
            "nb_entreprises": [int(counts[c]) for c, _ in CREDIT_COLUMNS]
            + [totaux["nb_creances_a_echoir"], int(counts["potentielles"])],
        }
    )

    # suspended past-due lines by reason (contract v3, section 6): lines joined to the scope's positions
    line_where = "TRUE" if departement is None else "l.departement = ?"
    suspensions = _optional_frame(
        con,
        f"""SELECT l.motif_suspension AS motif, count(*) AS nb_lignes, count(DISTINCT l.siren) AS nb_entreprises,
                   sum(l.montant)::DECIMAL(38,2) AS montant
            FROM core.lignes_dettes l
            JOIN marts.positions p ON p.departement = l.departement AND p.siren = l.siren
            WHERE l.nature = 'ECHUE' AND l.suspendue AND {line_where}
            GROUP BY ALL ORDER BY montant DESC, motif""",
        params,
        ("motif", "nb_lignes", "nb_entreprises", "montant"),
        missing,
        "core.lignes_dettes",
    )
    suspensions["libelle"] = [suspension_label(m) for m in suspensions["motif"]]
    fraicheur = _frame(con, f"SELECT departement, max(date_situation) AS date_situation FROM marts.positions "
                            f"WHERE {'TRUE' if departement is None else 'departement = ?'} GROUP BY ALL "
                            "ORDER BY departement", params)

    top = _frame(
        con,
        f"""SELECT siren, denomination, montant_compensable, dettes_compensables,
                   total_creances, total_dettes, procedure_collective
            FROM {table} WHERE {where} AND montant_compensable > 0
            ORDER BY montant_compensable DESC, siren LIMIT 10""",
        params,
    )
    blocages = pd.DataFrame(
        {
            "blocage": list(BLOCAGE_LABELS),
            "motif": list(BLOCAGE_LABELS.values()),
            "nb_entreprises": [totaux["nb_bloquee_procedure"], totaux["nb_bloquee_passif"]],
        }
    )

    # Lines are joined to the department positions: in-scope companies only,
    # aged against the as-of date of their department (as anciennete_jours).
    age = "(p.date_situation - l.date_ligne)"
    anciennete = _optional_frame(
        con,
        f"""SELECT {_age_case(age)} AS ordre, l.source, count(*) AS nb_lignes,
                   sum(l.montant)::DECIMAL(38,2) AS montant
            FROM core.lignes_dettes l
            JOIN marts.positions p ON p.departement = l.departement AND p.siren = l.siren
            WHERE l.ouverte AND {line_where}
            GROUP BY ALL ORDER BY ordre, l.source""",
        params,
        ("ordre", "source", "nb_lignes", "montant"),
        missing,
        "core.lignes_dettes",
    )
    anciennete["tranche"] = [ANCIENNETE_TRANCHES[int(o)] for o in anciennete["ordre"]]

    etapes = _optional_frame(
        con,
        f"""SELECT l.etape, l.source, count(*) AS nb_lignes, sum(l.montant)::DECIMAL(38,2) AS montant
            FROM core.lignes_dettes l
            JOIN marts.positions p ON p.departement = l.departement AND p.siren = l.siren
            WHERE l.ouverte AND l.etape IS NOT NULL AND {line_where}
            GROUP BY ALL""",
        params,
        ("etape", "source", "nb_lignes", "montant"),
        missing,
        "core.lignes_dettes",
    )
    order = {e: i for i, e in enumerate(ETAPE_LABELS)}
    etapes["ordre"] = [order.get(e, len(order)) for e in etapes["etape"]]
    etapes = etapes.sort_values(["ordre", "etape", "source"]).reset_index(drop=True)

    panel_table = "marts.panel_debiteurs_communs" + ("_national" if departement is None else "")
    schema, name = panel_table.split(".")
    ranked_on = con.execute("SELECT count(*) FROM duckdb_columns() WHERE database_name = current_database() AND "
                            "schema_name = ? AND table_name = ? AND column_name = 'dettes_poursuivables'",
                            [schema, name]).fetchone()[0]
    panel_columns = (*PANEL_COLUMNS, "dettes_poursuivables") if ranked_on else PANEL_COLUMNS
    panel = _optional_frame(
        con,
        f"""SELECT {", ".join(panel_columns)} FROM {panel_table}
            WHERE {where} ORDER BY rang, siren LIMIT {int(PANEL_TOP_N)}""",
        params,
        panel_columns,
        missing,
        panel_table,
    )

    # the files the current snapshot read: per department its latest files and the register version it used
    files = _current_files(con, departement, missing)
    chargements = _optional_frame(
        con,
        f"""SELECT c.source, count(c.fichier) AS nb_fichiers,
                   coalesce(sum(c.lignes_lues), 0)::BIGINT AS lignes_lues,
                   coalesce(sum(c.lignes_gardees), 0)::BIGINT AS lignes_gardees,
                   coalesce(sum(c.lignes_rejetees), 0)::BIGINT AS lignes_rejetees
            FROM quality.chargements c SEMI JOIN {files} f
              ON f.source = c.source AND f.departement IS NOT DISTINCT FROM c.departement
             AND f.date_extraction = c.date_extraction
            GROUP BY c.source""",
        [],
        ("source", "nb_fichiers", "lignes_lues", "lignes_gardees", "lignes_rejetees"),
        missing,
        "quality.chargements",
    )
    # the national register is another scale (millions of rows) and its rejects are not a department's: never
    # on the same axis as the sources; a department's dashboard leaves it out, the national one says it apart
    # (issue 17, point 9)
    registre = chargements[chargements["source"] == snapshot.REGISTER]
    registre_lignes = (None if departement is not None or registre.empty else
                       tuple(int(registre[c].sum()) for c in ("lignes_lues", "lignes_gardees", "lignes_rejetees")))
    chargements = chargements[chargements["source"] != snapshot.REGISTER].reset_index(drop=True)
    source_order = {s: i for i, s in enumerate(SOURCES_BY_NAME)}
    if not chargements.empty:
        chargements["ordre"] = [source_order.get(s, 99) for s in chargements["source"]]
        chargements = chargements.sort_values(["ordre", "source"]).drop(columns="ordre").reset_index(drop=True)

    rejets = _optional_frame(
        con,
        f"""SELECT r.source, r.motif, count(*) AS nb FROM quality.rejets r SEMI JOIN {files} f
              ON f.source = r.source AND f.departement IS NOT DISTINCT FROM r.departement
             AND f.date_extraction = r.date_extraction
            GROUP BY ALL ORDER BY nb DESC, r.source, r.motif""",
        [],
        ("source", "motif", "nb"),
        missing,
        "quality.rejets",
    )
    rejets = rejets[rejets["source"] != snapshot.REGISTER].reset_index(drop=True)

    # files refused as a whole and newer than the last good file of their source: what is shown is older than
    # what landed, and the page says so (the register too: a refused register is never shown as loaded)
    refus_where = "TRUE" if departement is None else f"(c.departement = ? OR c.source = '{snapshot.REGISTER}')"
    refuses = _optional_frame(
        con,
        f"""WITH valides AS (SELECT source, departement, max(date_extraction) AS dernier_valide
                             FROM quality.chargements WHERE statut = 'CHARGE' GROUP BY ALL)
            SELECT c.source, c.departement, c.fichier, c.date_extraction, c.message, v.dernier_valide
            FROM quality.chargements c
            LEFT JOIN valides v ON v.source = c.source AND v.departement IS NOT DISTINCT FROM c.departement
            WHERE c.statut <> 'CHARGE' AND c.fichier IS NOT NULL AND {refus_where}
              AND (v.dernier_valide IS NULL OR c.date_extraction > v.dernier_valide)
            ORDER BY c.source = '{snapshot.REGISTER}' DESC, c.departement, c.source, c.date_extraction""",
        params,
        ("source", "departement", "fichier", "date_extraction", "message", "dernier_valide"),
        missing,
        "quality.chargements",
    )

    r_where = "TRUE" if departement is None else "departement = ?"
    rattachement = _optional_frame(
        con,
        f"""SELECT CASE WHEN methode IN ('SIREN', 'SIREN_SANS_ESPACES') THEN 'SIREN'
                        WHEN methode IS NOT NULL THEN 'NOM'
                        WHEN motif = 'AMBIGUE' THEN 'AMBIGUE' ELSE 'AUCUN_CANDIDAT' END AS resultat,
                   count(*) AS nb
            FROM core.rattachement_amendes WHERE {r_where} GROUP BY ALL""",
        params,
        ("resultat", "nb"),
        missing,
        "core.rattachement_amendes",
    )
    counted = {r: int(n) for r, n in zip(rattachement["resultat"], rattachement["nb"], strict=True)}
    rattachement = pd.DataFrame(
        {"resultat": list(RATTACHEMENT_LABELS), "nb": [counted.get(r, 0) for r in RATTACHEMENT_LABELS]}
    )
    rattachement["libelle"] = [RATTACHEMENT_LABELS[r] for r in rattachement["resultat"]]

    non_positionnees = _optional_frame(
        con,
        f"""SELECT motif, count(*) AS nb FROM core.non_positionnees WHERE {r_where}
            GROUP BY ALL ORDER BY motif""",
        params,
        ("motif", "nb"),
        missing,
        "core.non_positionnees",
    )

    return DashboardData(
        departement=departement,
        date_situation=date_situation,
        totaux=totaux,
        dettes_par_source=dettes,
        creances_par_source=creances,
        suspensions=suspensions,
        top_compensation=top,
        compensation_bloquee=bloquees,
        anciennete=anciennete,
        etapes=etapes,
        panel=panel,
        chargements=chargements,
        fichiers_refuses=refuses,
        rejets=rejets,
        rattachement=rattachement,
        non_positionnees=non_positionnees,
        blocages=blocages,
        tables_absentes=sorted(set(missing)),
        synthetique=synthetic_data(con),
        fraicheur=fraicheur,
        registre_lignes=registre_lignes,
    )


def _current_files(con: duckdb.DuckDBPyConnection, departement: str | None, missing: list[str]) -> str:
    """The files of the current snapshot(s) as a SQL relation (source, departement, date_extraction)."""
    empty = "(SELECT NULL::VARCHAR AS source, NULL::VARCHAR AS departement, NULL::DATE AS date_extraction WHERE false)"
    try:
        if departement is None:
            return snapshot.current_files_sql(con)
        snap = snapshot.latest_snapshot(con, departement)
    except duckdb.CatalogException:
        log.warning("Table quality.chargements absente : section qualité vide dans le tableau de bord")
        missing.append("quality.chargements")
        return empty
    if snap is None:
        return empty
    rows = [(source, departement, used) for source, used in snap.files.items()]
    if snap.registre is not None:
        rows.append((snapshot.REGISTER, None, snap.registre))
    if not rows:
        return empty
    if not is_departement(departement):  # inlined below: a code, never a quote
        raise ValueError(f"Code département inconnu : {departement!r}")
    literal = ", ".join(
        f"('{s}', {'NULL' if d is None else repr(str(d))}, DATE '{when.isoformat()}')" for s, d, when in rows
    )
    return f"(SELECT * FROM (VALUES {literal}) AS f(source, departement, date_extraction))"
