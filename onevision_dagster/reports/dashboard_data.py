"""What one dashboard shows, aggregated in DuckDB.

The national positions table can hold millions of rows: every aggregation runs
in SQL and pandas only ever sees a few dozen rows. Amounts stay `Decimal`.
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

from onevision_dagster.consolidate.tables import POSITION_MONEY_COLUMNS
from onevision_dagster.contract.sources import SOURCES_BY_NAME
from onevision_dagster.reports.formatting import NBSP
from onevision_dagster.reports.labels import ETAPE_LABELS, RATTACHEMENT_LABELS, source_label

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


SOLDE_TRANCHES = (
    f"Doit plus de 100{_S}000{_S}€",
    f"Doit de 10{_S}000 à 100{_S}000{_S}€",
    f"Doit de 1{_S}000 à 10{_S}000{_S}€",
    f"Doit moins de 1{_S}000{_S}€",
    "Solde nul",
    f"Créancière nette : moins de 10{_S}000{_S}€",
    f"Créancière nette : 10{_S}000{_S}€ ou plus",
)
"""Buckets of ``solde`` (créances − dettes), French spacing (no-break inside
amounts). Bounds: a company owing exactly 10 000 € is in « de 1 000 à 10 000 € »."""


ANCIENNETE_TRANCHES = (
    "Pas encore exigible",
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
    repartition_solde: pd.DataFrame
    top_compensation: pd.DataFrame
    anciennete: pd.DataFrame
    etapes: pd.DataFrame
    panel: pd.DataFrame
    chargements: pd.DataFrame
    rejets: pd.DataFrame
    rattachement: pd.DataFrame
    non_positionnees: pd.DataFrame
    tables_absentes: list[str] = field(default_factory=list)

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


def _load_totaux(con: duckdb.DuckDBPyConnection, departement: str | None) -> dict[str, Any]:
    table, where, params = _scope(departement)
    sums = ", ".join(f"coalesce(sum({c}), 0)::DECIMAL(38,2) AS {c}" for c in POSITION_MONEY_COLUMNS)
    sql = f"""
        SELECT count(*) AS nb_entreprises,
               {sums},
               max(date_situation) AS date_situation,
               count(*) FILTER (WHERE total_dettes > 0) AS nb_debitrices,
               count(*) FILTER (WHERE total_creances > 0) AS nb_avec_creances,
               count(*) FILTER (WHERE solde > 0) AS nb_creancieres_nettes,
               count(*) FILTER (WHERE montant_compensable > 0) AS nb_compensables,
               count(*) FILTER (
                   WHERE montant_compensable = 0 AND procedure_collective IS NOT NULL
                     AND least(total_creances, dettes_compensables) > 0
               ) AS nb_compensation_bloquee,
               coalesce(sum(least(total_creances, dettes_compensables)) FILTER (
                   WHERE montant_compensable = 0 AND procedure_collective IS NOT NULL
               ), 0)::DECIMAL(38,2) AS montant_compensation_bloquee,
               count(*) FILTER (WHERE nb_sources_dettes >= 2) AS nb_debiteurs_communs,
               count(*) FILTER (WHERE procedure_collective IS NOT NULL) AS nb_procedure_collective
        FROM {table} WHERE {where}
    """
    row = _frame(con, sql, params).iloc[0].to_dict()
    for key, value in row.items():
        if key != "date_situation" and not isinstance(value, Decimal):
            row[key] = int(value)
    return row


def _solde_case() -> str:
    """Index into SOLDE_TRANCHES."""
    return """CASE
        WHEN solde < -100000 THEN 0 WHEN solde < -10000 THEN 1 WHEN solde < -1000 THEN 2
        WHEN solde < 0 THEN 3 WHEN solde = 0 THEN 4 WHEN solde < 10000 THEN 5 ELSE 6 END"""


def _age_case(expr: str) -> str:
    return f"""CASE
        WHEN {expr} < 0 THEN 0 WHEN {expr} <= 90 THEN 1 WHEN {expr} <= 182 THEN 2
        WHEN {expr} <= 365 THEN 3 WHEN {expr} <= 730 THEN 4 ELSE 5 END"""


def load_dashboard_data(con: duckdb.DuckDBPyConnection, departement: str | None) -> DashboardData:
    """Reads the warehouse for one department (``None`` = the nation)."""
    table, where, params = _scope(departement)
    missing: list[str] = []
    totaux = _load_totaux(con, departement)
    date_situation = totaux.pop("date_situation")

    dettes = pd.DataFrame(
        {
            "source": list(DEBT_SOURCES),
            "libelle": [source_label(s) for s in DEBT_SOURCES],
            "montant": [totaux[f"dettes_{s}"] for s in DEBT_SOURCES],
        }
    )
    counts = _frame(
        con,
        "SELECT "
        + ", ".join(f"count(*) FILTER (WHERE dettes_{s} > 0) AS {s}" for s in DEBT_SOURCES)
        + ", "
        + ", ".join(f"count(*) FILTER (WHERE {c} > 0) AS {c}" for c, _ in CREDIT_COLUMNS)
        + f", count(*) FILTER (WHERE creances_potentielles > 0) AS potentielles FROM {table} WHERE {where}",
        params,
    ).iloc[0]
    dettes["nb_entreprises"] = [int(counts[s]) for s in DEBT_SOURCES]

    creances = pd.DataFrame(
        {
            "categorie": [src for _, src in CREDIT_COLUMNS] + ["potentielles"],
            "libelle": [source_label(src) for _, src in CREDIT_COLUMNS] + [source_label("potentielles")],
            "certaine": [True, True, True, False],
            "montant": [totaux[c] for c, _ in CREDIT_COLUMNS] + [totaux["creances_potentielles"]],
            "nb_entreprises": [int(counts[c]) for c, _ in CREDIT_COLUMNS] + [int(counts["potentielles"])],
        }
    )

    solde = _frame(
        con,
        f"""SELECT {_solde_case()} AS ordre, count(*) AS nb_entreprises,
                   sum(solde)::DECIMAL(38,2) AS montant
            FROM {table} WHERE {where} GROUP BY ALL ORDER BY ordre""",
        params,
    )
    repartition = pd.DataFrame({"ordre": range(len(SOLDE_TRANCHES)), "tranche": list(SOLDE_TRANCHES)})
    repartition = repartition.merge(solde, on="ordre", how="left")
    repartition["nb_entreprises"] = [0 if pd.isna(n) else int(n) for n in repartition["nb_entreprises"]]
    repartition["montant"] = [m if isinstance(m, Decimal) else ZERO for m in repartition["montant"]]

    top = _frame(
        con,
        f"""SELECT siren, denomination, montant_compensable, dettes_compensables,
                   total_creances, total_dettes, procedure_collective
            FROM {table} WHERE {where} AND montant_compensable > 0
            ORDER BY montant_compensable DESC, siren LIMIT 10""",
        params,
    )

    # Lines are joined to the department positions: in-scope companies only,
    # aged against the as-of date of their department (as anciennete_jours).
    line_where = "TRUE" if departement is None else "l.departement = ?"
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
    panel = _optional_frame(
        con,
        f"""SELECT {", ".join(PANEL_COLUMNS)} FROM {panel_table}
            WHERE {where} ORDER BY rang, siren LIMIT {int(PANEL_TOP_N)}""",
        params,
        PANEL_COLUMNS,
        missing,
        panel_table,
    )

    # The register is national: it counts in every dashboard.
    q_where = "TRUE" if departement is None else "(departement = ? OR departement IS NULL)"
    chargements = _optional_frame(
        con,
        f"""SELECT source, count(fichier) AS nb_fichiers,
                   coalesce(sum(lignes_lues), 0)::BIGINT AS lignes_lues,
                   coalesce(sum(lignes_gardees), 0)::BIGINT AS lignes_gardees,
                   coalesce(sum(lignes_rejetees), 0)::BIGINT AS lignes_rejetees
            FROM quality.chargements WHERE {q_where} GROUP BY source""",
        params,
        ("source", "nb_fichiers", "lignes_lues", "lignes_gardees", "lignes_rejetees"),
        missing,
        "quality.chargements",
    )
    source_order = {s: i for i, s in enumerate(SOURCES_BY_NAME)}
    if not chargements.empty:
        chargements["ordre"] = [source_order.get(s, 99) for s in chargements["source"]]
        chargements = chargements.sort_values(["ordre", "source"]).drop(columns="ordre").reset_index(drop=True)

    rejets = _optional_frame(
        con,
        f"""SELECT source, motif, count(*) AS nb FROM quality.rejets WHERE {q_where}
            GROUP BY ALL ORDER BY nb DESC, source, motif""",
        params,
        ("source", "motif", "nb"),
        missing,
        "quality.rejets",
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
        repartition_solde=repartition,
        top_compensation=top,
        anciennete=anciennete,
        etapes=etapes,
        panel=panel,
        chargements=chargements,
        rejets=rejets,
        rattachement=rattachement,
        non_positionnees=non_positionnees,
        tables_absentes=sorted(set(missing)),
    )
