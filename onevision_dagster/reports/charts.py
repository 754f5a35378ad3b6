"""Figures of the dashboards: what an agent should see at a glance.

Aggregations run in DuckDB (`load_dashboard_data`): the national positions
table can hold millions of rows, pandas only ever sees a few dozen. Amounts stay
`Decimal` up to the last moment; the figures plot floats but every number an
agent reads (hover, bar labels) is a string formatted from the exact
`Decimal`.

Company names are user data: they only reach Plotly HTML-escaped
(`label_entreprise`), and Plotly.js turns the entities back into plain text
nodes, so ``<script>`` shows as text and never runs.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import duckdb
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from onevision_dagster.consolidate.tables import POSITION_MONEY_COLUMNS
from onevision_dagster.contract.sources import SOURCES_BY_NAME
from onevision_dagster.reports.formatting import (
    MISSING,
    NBSP,
    PLOTLY_SEPARATORS,
    format_date,
    format_euros,
    format_nombre,
    format_pourcentage,
)

log = logging.getLogger(__name__)

ZERO = Decimal("0.00")

DEBT_SOURCES = ("amendes", "spl", "impots_pro", "rnf")
CREDIT_COLUMNS = (
    ("creances_tva", "credits_tva"),
    ("creances_excedents", "excedents"),
    ("creances_is", "creances_is"),
)

SOURCE_COLOURS = {
    "amendes": "#8c564b",
    "spl": "#1f77b4",
    "impots_pro": "#d62728",
    "rnf": "#9467bd",
    "credits_tva": "#2ca02c",
    "excedents": "#17becf",
    "creances_is": "#bcbd22",
    "potentielles": "#c7e9c0",
    "entreprises": "#7f7f7f",
}

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

ETAPE_LABELS = {
    "AMIABLE": "Amiable",
    "RELANCE": "Relance",
    "MISE_EN_DEMEURE": "Mise en demeure",
    "SATD": "Saisie administrative à tiers détenteur",
    "SAISIE": "Saisie",
    "CONTESTATION": "Contestation par le débiteur",
    "PASSIF_PROCEDURE": "Déclarée au passif (procédure collective)",
}
"""Recovery stages in the order a file moves through them."""

MOTIF_LABELS = {
    "NB_CELLULES": "Nombre de cellules incorrect",
    "VALEUR_MANQUANTE": "Valeur obligatoire manquante",
    "DATE_INVALIDE": "Date invalide",
    "MONTANT_INVALIDE": "Montant illisible",
    "MONTANT_NEGATIF": "Montant négatif",
    "CODE_INCONNU": "Code inconnu",
    "FORMAT_INVALIDE": "Format invalide",
    "IDENTIFIANT_INVALIDE": "Identifiant invalide",
    "INCOHERENCE": "Montants incohérents",
    "DOUBLON": "Doublon",
}

NON_POSITIONNEE_LABELS = {
    "NON_RATTACHEE": "Amende non rattachée",
    "HORS_PERIMETRE": "Entreprise hors périmètre",
    "SIREN_INCONNU": "SIREN inconnu du registre",
}

RATTACHEMENT_LABELS = {
    "SIREN": "SIREN fourni",
    "NOM": "Rattachée par nom ou sigle + code postal",
    "AMBIGUE": "Non rattachée : plusieurs entreprises possibles",
    "AUCUN_CANDIDAT": "Non rattachée : aucune entreprise trouvée",
}

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


def source_label(source: str) -> str:
    spec = SOURCES_BY_NAME.get(source)
    if spec is not None:
        return spec.label
    return {"potentielles": "Créances potentielles (en instruction)"}.get(source, source)


def label_entreprise(denomination: str | None, siren: str, max_len: int = 40) -> str:
    """Short, unique, HTML-escaped label for a chart axis or hover."""
    name = (denomination or "").strip() or "(sans dénomination)"
    if len(name) > max_len:
        name = name[: max_len - 1].rstrip() + "…"
    return html.escape(f"{name} ({siren})", quote=False)


# --------------------------------------------------------------------------- data


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


# ------------------------------------------------------------------ key figures


def _amendes_rattachees(data: DashboardData) -> tuple[int, int]:
    r = data.rattachement.set_index("resultat")["nb"]
    total = int(r.sum())
    return int(r.get("SIREN", 0)) + int(r.get("NOM", 0)), total


def _lignes(data: DashboardData) -> tuple[int, int, int]:
    c = data.chargements
    if c.empty:
        return 0, 0, 0
    return int(c["lignes_lues"].sum()), int(c["lignes_gardees"].sum()), int(c["lignes_rejetees"].sum())


def key_figures(data: DashboardData) -> dict[str, Any]:
    """Plain numbers for Dagster metadata: euros as float (display only), counts as int.

    No company name: metadata ends up in logs and run history.
    """
    t = data.totaux
    attached, fines = _amendes_rattachees(data)
    lues, gardees, rejetees = _lignes(data)
    euros = (
        "total_dettes",
        "total_creances",
        "creances_potentielles",
        "solde",
        "dettes_compensables",
        "montant_compensable",
        "montant_compensation_bloquee",
    )
    figures: dict[str, Any] = {
        "perimetre": data.libelle,
        "date_situation": data.date_situation.isoformat() if data.date_situation else None,
        "nb_entreprises": t["nb_entreprises"],
    }
    figures.update({f"{k}_euros": float(t[k]) for k in euros})
    figures.update(
        {
            "nb_entreprises_compensables": t["nb_compensables"],
            "nb_compensation_bloquee": t["nb_compensation_bloquee"],
            "nb_debiteurs_communs": t["nb_debiteurs_communs"],
            "nb_procedure_collective": t["nb_procedure_collective"],
            "lignes_lues": lues,
            "lignes_gardees": gardees,
            "lignes_rejetees": rejetees,
            "amendes_rattachees": attached,
            "amendes_total": fines,
            "taux_rattachement_amendes_pct": round(100 * attached / fines, 1) if fines else None,
            "lignes_non_positionnees": int(data.non_positionnees["nb"].sum()) if not data.non_positionnees.empty else 0,
        }
    )
    return figures


def key_figures_fr(data: DashboardData) -> list[tuple[str, str, str]]:
    """(label, formatted value, explanation) for the headline cards of a page."""
    t = data.totaux
    attached, fines = _amendes_rattachees(data)
    lues, _, rejetees = _lignes(data)
    return [
        ("Entreprises suivies", format_nombre(t["nb_entreprises"]), "avec au moins une dette ou une créance"),
        (
            "Dettes restant dues",
            format_euros(t["total_dettes"]),
            f"{format_nombre(t['nb_debitrices'])} entreprises débitrices",
        ),
        (
            "Créances certaines dues par l'État",
            format_euros(t["total_creances"]),
            f"{format_nombre(t['nb_avec_creances'])} entreprises créancières",
        ),
        (
            "Créances potentielles",
            format_euros(t["creances_potentielles"]),
            "demandes en instruction, non compensables",
        ),
        (
            "Solde net",
            format_euros(t["solde"]),
            "créances certaines − dettes ; négatif : les entreprises doivent",
        ),
        (
            "Montant compensable",
            format_euros(t["montant_compensable"]),
            f"{format_nombre(t['nb_compensables'])} entreprises à examiner, art. L. 257 B LPF",
        ),
        (
            "Compensations bloquées",
            format_nombre(t["nb_compensation_bloquee"]),
            f"procédure collective ouverte, {format_euros(t['montant_compensation_bloquee'])} en jeu",
        ),
        ("Débiteurs communs", format_nombre(t["nb_debiteurs_communs"]), "dettes dans au moins 2 sources"),
        (
            "Lignes rejetées",
            format_nombre(rejetees),
            f"sur {format_nombre(lues)} lignes lues, soit {format_pourcentage(rejetees, lues)}",
        ),
        (
            "Amendes rattachées",
            format_pourcentage(attached, fines),
            f"{format_nombre(attached)} sur {format_nombre(fines)} amendes",
        ),
    ]


def summary_markdown(data: DashboardData) -> str:
    """French summary for the Dagster UI (aggregates only, no company name)."""
    date = format_date(data.date_situation) if data.date_situation else MISSING
    lines = [f"### One Vision — {data.libelle} — situation au {date}", ""]
    lines += [f"- **{label}** : {value} ({detail})" for label, value, detail in key_figures_fr(data)]
    if data.tables_absentes:
        lines += ["", f"Tables absentes (sections vides) : {', '.join(data.tables_absentes)}"]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------- figures


def _euros_short(value: Decimal) -> str:
    return format_euros(value, decimales=False)


def _style(fig: go.Figure, title: str, *, height: int = 420, montant_axis: str | None = "y") -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0.01, "xanchor": "left"},
        separators=PLOTLY_SEPARATORS,
        template="plotly_white",
        height=height,
        margin={"l": 20, "r": 20, "t": 70, "b": 40},
        font={"family": "Marianne, Arial, sans-serif", "size": 13},
        hoverlabel={"font": {"size": 13}},
        # on the right: never over the title, and the margin grows with it
        legend={"orientation": "v", "x": 1.02, "y": 1, "yanchor": "top", "traceorder": "normal"},
    )
    if montant_axis == "y":
        fig.update_yaxes(tickformat=",.0f", ticksuffix=NBSP + "€", automargin=True)
    elif montant_axis == "x":
        fig.update_xaxes(tickformat=",.0f", ticksuffix=NBSP + "€", automargin=True)
    return fig


def _wrap(label: str, width: int = 18) -> str:
    """Category label on several lines (``<br>``) so axis labels stay horizontal."""
    lines: list[str] = []
    for word in label.split(" "):
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return "<br>".join(lines)


def _count_axis(fig: go.Figure, axis: str, maximum: int, **where: int) -> None:
    """Whole-number ticks (no "1, 1, 2, 2" on small counts)."""
    update = fig.update_xaxes if axis == "x" else fig.update_yaxes
    options: dict[str, Any] = {"tickformat": ",d", "rangemode": "tozero"}
    if maximum <= 10:
        options.update(tick0=0, dtick=1)
    update(**options, **where)


def _empty(fig: go.Figure, message: str = "Aucune donnée pour ce périmètre") -> go.Figure:
    fig.add_annotation(
        text=message,
        showarrow=False,
        xref="paper",
        yref="paper",
        x=0.5,
        y=0.5,
        font={"size": 16, "color": "#666"},
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


def _ordered_sources(values: Sequence[str]) -> list[str]:
    """Sources present, in the contract's order (a stable legend across pages)."""
    present = set(values)
    known = [s for s in SOURCES_BY_NAME if s in present]
    return known + sorted(present - set(known))


def _floats(values: Sequence[Any]) -> list[float]:
    return [float(v) for v in values]


def chart_dettes_par_source(df: pd.DataFrame) -> go.Figure:
    """Remaining due of open debts per source (columns source, libelle, montant, nb_entreprises)."""
    fig = go.Figure()
    if df.empty or not any(df["montant"]):
        return _style(_empty(fig), "Dettes restant dues par source")
    fig.add_bar(
        x=[_wrap(label) for label in df["libelle"]],
        y=_floats(df["montant"]),
        marker_color=[SOURCE_COLOURS.get(s, "#888") for s in df["source"]],
        text=[_euros_short(m) for m in df["montant"]],
        textposition="auto",
        customdata=[
            [format_euros(m), format_nombre(n)] for m, n in zip(df["montant"], df["nb_entreprises"], strict=True)
        ],
        hovertemplate=("<b>%{x}</b><br>Restant dû : %{customdata[0]}<br>Entreprises : %{customdata[1]}<extra></extra>"),
        name="Dettes",
    )
    total = sum(df["montant"], ZERO)
    return _style(fig, f"Dettes restant dues par source — total {format_euros(total)}")


def chart_creances_par_source(df: pd.DataFrame) -> go.Figure:
    """Credits the State owes per source; potential credits apart (not offsettable)."""
    fig = go.Figure()
    if df.empty or not any(df["montant"]):
        return _style(_empty(fig), "Créances dues par l'État, par source")
    colours = [SOURCE_COLOURS.get(s, "#888") for s in df["categorie"]]
    fig.add_bar(
        x=[_wrap(label) for label in df["libelle"]],
        y=_floats(df["montant"]),
        marker_color=colours,
        marker_pattern_shape=["" if c else "/" for c in df["certaine"]],
        text=[_euros_short(m) for m in df["montant"]],
        textposition="auto",
        customdata=[
            [format_euros(m), format_nombre(n), "certaine" if c else "potentielle (non compensable)"]
            for m, n, c in zip(df["montant"], df["nb_entreprises"], df["certaine"], strict=True)
        ],
        hovertemplate=(
            "<b>%{x}</b><br>Montant : %{customdata[0]}<br>Créance %{customdata[2]}"
            "<br>Entreprises : %{customdata[1]}<extra></extra>"
        ),
        name="Créances",
    )
    certain = sum((m for m, c in zip(df["montant"], df["certaine"], strict=True) if c), ZERO)
    return _style(fig, f"Créances dues par l'État — certaines : {format_euros(certain)}")


def chart_bilan(totaux: dict[str, Any]) -> go.Figure:
    """Certain credits minus debts = net balance, as a waterfall."""
    creances, dettes, solde = totaux["total_creances"], totaux["total_dettes"], totaux["solde"]
    fig = go.Figure(
        go.Waterfall(
            x=["Créances certaines", "Dettes", "Solde net"],
            measure=["relative", "relative", "total"],
            y=[float(creances), -float(dettes), float(solde)],
            text=[_euros_short(creances), _euros_short(-dettes), _euros_short(solde)],
            textposition="outside",
            customdata=[format_euros(creances), format_euros(-dettes), format_euros(solde)],
            hovertemplate="<b>%{x}</b><br>%{customdata}<extra></extra>",
            increasing={"marker": {"color": SOURCE_COLOURS["credits_tva"]}},
            decreasing={"marker": {"color": SOURCE_COLOURS["impots_pro"]}},
            totals={"marker": {"color": "#444"}},
            connector={"line": {"color": "#bbb"}},
            name="Bilan",
        )
    )
    return _style(fig, f"Solde net : {format_euros(solde)} (négatif : les entreprises doivent)")


def chart_repartition_solde(df: pd.DataFrame) -> go.Figure:
    """How many companies owe how much (columns tranche, nb_entreprises, montant)."""
    fig = go.Figure()
    if df.empty or not df["nb_entreprises"].sum():
        return _style(_empty(fig), "Répartition des entreprises selon leur solde", montant_axis=None)
    colours = ["#67000d", "#a50f15", "#ef3b2c", "#fc9272", "#bdbdbd", "#a1d99b", "#238b45"]
    fig.add_bar(
        x=[_wrap(t, 16) for t in df["tranche"]],
        y=[int(n) for n in df["nb_entreprises"]],
        marker_color=colours[: len(df)],
        text=[format_nombre(n) for n in df["nb_entreprises"]],
        textposition="auto",
        customdata=[
            [format_nombre(n), format_euros(m)] for n, m in zip(df["nb_entreprises"], df["montant"], strict=True)
        ],
        hovertemplate=(
            "<b>%{x}</b><br>Entreprises : %{customdata[0]}<br>Solde cumulé : %{customdata[1]}<extra></extra>"
        ),
        name="Entreprises",
    )
    fig = _style(fig, "Répartition des entreprises selon leur solde (créances − dettes)", montant_axis=None)
    fig.update_yaxes(title_text="Nombre d'entreprises")
    _count_axis(fig, "y", int(df["nb_entreprises"].max()))
    return fig


def chart_compensation(df: pd.DataFrame, totaux: dict[str, Any]) -> go.Figure:
    """The 10 largest offsetting opportunities, total and count in the title."""
    title = (
        f"Compensations possibles : {format_euros(totaux['montant_compensable'])} "
        f"pour {format_nombre(totaux['nb_compensables'])} entreprise(s)<br><sup>les 10 plus importantes</sup>"
    )
    fig = go.Figure()
    if df.empty:
        return _style(_empty(fig, "Aucune compensation possible"), title, montant_axis=None)
    df = df.iloc[::-1]  # largest on top
    labels = [label_entreprise(d, s) for d, s in zip(df["denomination"], df["siren"], strict=True)]
    fig.add_bar(
        y=labels,
        x=_floats(df["montant_compensable"]),
        orientation="h",
        marker_color=SOURCE_COLOURS["credits_tva"],
        text=[_euros_short(m) for m in df["montant_compensable"]],
        textposition="auto",
        customdata=[
            [label, format_euros(m), format_euros(c), format_euros(d)]
            for label, m, c, d in zip(
                labels,
                df["montant_compensable"],
                df["total_creances"],
                df["dettes_compensables"],
                strict=True,
            )
        ],
        hovertemplate=(
            "<b>%{customdata[0]}</b><br>Compensable : %{customdata[1]}"
            "<br>Créances certaines : %{customdata[2]}"
            "<br>Dettes fiscales exigibles : %{customdata[3]}<extra></extra>"
        ),
        name="Compensable",
    )
    return _style(fig, title, height=max(320, 60 + 38 * len(df)), montant_axis="x")


def chart_anciennete(df: pd.DataFrame) -> go.Figure:
    """Open debts by age bucket, stacked by source (columns tranche, ordre, source, montant, nb_lignes)."""
    fig = go.Figure()
    if df.empty:
        return _style(_empty(fig), "Ancienneté des dettes restant dues")
    for source in _ordered_sources(df["source"]):
        part = df[df["source"] == source].set_index("tranche")
        montants = [part["montant"].get(t, ZERO) for t in ANCIENNETE_TRANCHES]
        nbs = [int(part["nb_lignes"].get(t, 0)) for t in ANCIENNETE_TRANCHES]
        fig.add_bar(
            name=source_label(source),
            x=[_wrap(t, 12) for t in ANCIENNETE_TRANCHES],
            y=_floats(montants),
            marker_color=SOURCE_COLOURS.get(source, "#888"),
            customdata=[
                [source_label(source), format_euros(m), format_nombre(n)] for m, n in zip(montants, nbs, strict=True)
            ],
            hovertemplate=(
                "<b>%{x}</b> — %{customdata[0]}<br>Restant dû : %{customdata[1]}"
                "<br>Lignes : %{customdata[2]}<extra></extra>"
            ),
        )
    fig.update_layout(barmode="stack")
    total_old = sum(
        (m for t, m in zip(df["tranche"], df["montant"], strict=True) if t == ANCIENNETE_TRANCHES[-1]), ZERO
    )
    return _style(fig, f"Ancienneté des dettes restant dues — plus de 2 ans : {format_euros(total_old)}")


def chart_etapes(df: pd.DataFrame) -> go.Figure:
    """Open debt lines per recovery stage: number of lines and amount, by source."""
    fig = make_subplots(
        rows=1,
        cols=2,
        shared_yaxes=True,
        subplot_titles=("Nombre de titres", "Montant restant dû"),
        horizontal_spacing=0.06,
    )
    if df.empty:
        return _style(
            _empty(fig),
            "Étapes du recouvrement (produits locaux et impôts professionnels)",
            montant_axis=None,
        )
    stages = list(dict.fromkeys(df["etape"]))
    labels = [ETAPE_LABELS.get(e, html.escape(str(e), quote=False)) for e in stages]
    for source in _ordered_sources(df["source"]):
        part = df[df["source"] == source].set_index("etape")
        nbs = [int(part["nb_lignes"].get(e, 0)) for e in stages]
        montants = [part["montant"].get(e, ZERO) for e in stages]
        custom = [[source_label(source), format_nombre(n), format_euros(m)] for n, m in zip(nbs, montants, strict=True)]
        common = {
            "y": labels,
            "orientation": "h",
            "marker_color": SOURCE_COLOURS.get(source, "#888"),
            "customdata": custom,
            "legendgroup": source,
            "hovertemplate": "<b>%{y}</b> — %{customdata[0]}<br>Titres : %{customdata[1]}"
            "<br>Restant dû : %{customdata[2]}<extra></extra>",
        }
        fig.add_trace(go.Bar(x=nbs, name=source_label(source), **common), row=1, col=1)
        fig.add_trace(go.Bar(x=_floats(montants), name=source_label(source), showlegend=False, **common), row=1, col=2)
    fig.update_layout(barmode="stack")
    fig.update_yaxes(autorange="reversed", automargin=True)
    _count_axis(fig, "x", int(df.groupby("etape")["nb_lignes"].sum().max()), row=1, col=1)
    fig.update_xaxes(tickformat=",.0f", ticksuffix=NBSP + "€", row=1, col=2)
    return _style(
        fig,
        "Étapes du recouvrement (produits locaux et impôts professionnels)",
        height=max(360, 120 + 45 * len(stages)),
        montant_axis=None,
    )


def _etape_label(etape: str | None) -> str:
    if etape is None or (isinstance(etape, float) and pd.isna(etape)):
        return "aucune"
    return ETAPE_LABELS.get(etape, html.escape(str(etape), quote=False))


def chart_panel(df: pd.DataFrame, top_n: int = PANEL_TOP_N) -> go.Figure:
    """Common debtors (debts in 2+ sources) in priority order, debts stacked by source."""
    fig = go.Figure()
    title = "Débiteurs communs à plusieurs sources"
    if df.empty:
        return _style(_empty(fig, "Aucun débiteur commun"), title, montant_axis=None)
    df = df.sort_values("rang").head(top_n).iloc[::-1]
    labels = [
        f"{int(r)}. {label_entreprise(d, s)}"
        for r, d, s in zip(df["rang"], df["denomination"], df["siren"], strict=True)
    ]
    details = [
        [format_euros(t), format_nombre(n), _etape_label(e), format_nombre(sc, 2)]
        for t, n, e, sc in zip(
            df["total_dettes"], df["nb_sources_dettes"], df["etape_la_plus_avancee"], df["score"], strict=True
        )
    ]
    for source in DEBT_SOURCES:
        col = df[f"dettes_{source}"]
        fig.add_bar(
            name=source_label(source),
            y=labels,
            x=_floats(col),
            orientation="h",
            marker_color=SOURCE_COLOURS[source],
            customdata=[
                [label, source_label(source), format_euros(m), *d]
                for label, m, d in zip(labels, col, details, strict=True)
            ],
            hovertemplate=(
                "<b>%{customdata[0]}</b><br>%{customdata[1]} : %{customdata[2]}"
                "<br>Total des dettes : %{customdata[3]} (%{customdata[4]} sources)"
                "<br>Étape la plus avancée : %{customdata[5]}<br>Score de priorité : %{customdata[6]}"
                "<extra></extra>"
            ),
        )
    fig.update_layout(barmode="stack")
    return _style(
        fig,
        f"{title} — les {len(df)} premiers par priorité",
        height=max(360, 100 + 36 * len(df)),
        montant_axis="x",
    )


def chart_qualite_sources(df: pd.DataFrame) -> go.Figure:
    """Rows kept and rejected per source file."""
    fig = go.Figure()
    if df.empty:
        return _style(
            _empty(fig, "Aucun chargement enregistré"),
            "Lignes gardées et rejetées par source",
            montant_axis=None,
        )
    labels = [_wrap(source_label(s), 14) for s in df["source"]]
    for col, name, colour in (
        ("lignes_gardees", "Gardées", "#2ca02c"),
        ("lignes_rejetees", "Rejetées", "#d62728"),
    ):
        fig.add_bar(
            name=name,
            x=labels,
            y=[int(v) for v in df[col]],
            marker_color=colour,
            text=[format_nombre(v) for v in df[col]],
            textposition="auto",
            customdata=[
                [format_nombre(v), format_nombre(lues), format_pourcentage(v, lues)]
                for v, lues in zip(df[col], df["lignes_lues"], strict=True)
            ],
            hovertemplate=f"<b>%{{x}}</b><br>{name} : %{{customdata[0]}} sur %{{customdata[1]}} lues"
            " (%{customdata[2]})<extra></extra>",
        )
    fig.update_layout(barmode="stack")
    fig = _style(fig, "Lignes gardées et rejetées par source", montant_axis=None)
    fig.update_yaxes(title_text="Lignes")
    _count_axis(fig, "y", int(df["lignes_lues"].max()))
    return fig


def chart_motifs_rejet(df: pd.DataFrame) -> go.Figure:
    """Why rows were rejected (columns source, motif, nb)."""
    fig = go.Figure()
    title = "Motifs de rejet"
    if df.empty:
        return _style(_empty(fig, "Aucune ligne rejetée"), title, montant_axis=None)
    per_motif = df.groupby("motif")["nb"].sum().sort_values(ascending=False, kind="stable")
    motifs = list(per_motif.index)
    labels = [MOTIF_LABELS.get(m, html.escape(str(m), quote=False)) for m in motifs]
    for source in _ordered_sources(df["source"]):
        part = df[df["source"] == source].set_index("motif")["nb"]
        fig.add_bar(
            name=source_label(source),
            y=labels,
            x=[int(part.get(m, 0)) for m in motifs],
            orientation="h",
            marker_color=SOURCE_COLOURS.get(source, "#888"),
            customdata=[source_label(source)] * len(motifs),
            hovertemplate="<b>%{y}</b><br>%{customdata} : %{x} ligne(s)<extra></extra>",
        )
    fig.update_layout(barmode="stack")
    fig.update_yaxes(autorange="reversed")
    fig = _style(
        fig,
        f"{title} — {format_nombre(int(df['nb'].sum()))} ligne(s) rejetée(s)",
        height=max(300, 120 + 40 * len(motifs)),
        montant_axis=None,
    )
    fig.update_xaxes(title_text="Lignes")
    _count_axis(fig, "x", int(per_motif.max()))
    return fig


def chart_rattachement_amendes(df: pd.DataFrame) -> go.Figure:
    """Share of fines attached to a company (donut; columns resultat, libelle, nb)."""
    total = int(df["nb"].sum()) if not df.empty else 0
    attached = int(df.loc[df["resultat"].isin(["SIREN", "NOM"]), "nb"].sum()) if total else 0
    title = f"Rattachement des amendes : {format_pourcentage(attached, total)} rattachées"
    fig = go.Figure()
    if not total:
        return _style(_empty(fig, "Aucune amende"), title, montant_axis=None)
    fig.add_trace(
        go.Pie(
            labels=list(df["libelle"]),
            values=[int(n) for n in df["nb"]],
            hole=0.5,
            sort=False,
            marker={"colors": ["#2ca02c", "#98df8a", "#ff7f0e", "#d62728"]},
            texttemplate="%{percent:.1%}",
            customdata=[format_nombre(n) for n in df["nb"]],
            hovertemplate="<b>%{label}</b><br>%{customdata} amende(s) (%{percent:.1%})<extra></extra>",
        )
    )
    return _style(fig, title, montant_axis=None)


def build_figures(data: DashboardData) -> dict[str, tuple[str, go.Figure]]:
    """Every figure of a dashboard, in reading order: key → (section title, figure)."""
    return {
        "dettes": ("Dettes par source", chart_dettes_par_source(data.dettes_par_source)),
        "creances": ("Créances par source", chart_creances_par_source(data.creances_par_source)),
        "bilan": ("Solde net", chart_bilan(data.totaux)),
        "solde": ("Répartition des soldes", chart_repartition_solde(data.repartition_solde)),
        "compensation": ("Compensations possibles", chart_compensation(data.top_compensation, data.totaux)),
        "anciennete": ("Ancienneté des dettes", chart_anciennete(data.anciennete)),
        "etapes": ("Étapes du recouvrement", chart_etapes(data.etapes)),
        "panel": ("Débiteurs communs", chart_panel(data.panel)),
        "qualite": ("Qualité des données : lignes par source", chart_qualite_sources(data.chargements)),
        "rejets": ("Qualité des données : motifs de rejet", chart_motifs_rejet(data.rejets)),
        "rattachement": (
            "Qualité des données : amendes rattachées",
            chart_rattachement_amendes(data.rattachement),
        ),
    }
