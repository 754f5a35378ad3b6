"""What agents read: HTML dashboards (per department and national) and company sheets.

Pages are written to the reports folder (plotly.js once beside them); the key
figures also go into the materialization metadata so the Dagster UI shows
them, with a markdown summary and, when a local Chromium is available, a
static PNG of the main chart.
"""

import base64
import os
from pathlib import Path

import dagster as dg

from onevision_dagster.orchestration.automation import FOLLOW_UPSTREAM, NATIONAL_CONDITION
from onevision_dagster.orchestration.jobs import ON_REQUEST_GROUP
from onevision_dagster.orchestration.partitions import departements_partitions
from onevision_dagster.reports.charts import build_figures
from onevision_dagster.reports.dashboard import write_dashboard
from onevision_dagster.reports.dashboard_data import DashboardData, load_dashboard_data
from onevision_dagster.reports.experiment_data import load_experiment_data
from onevision_dagster.reports.experiment_followup import load_followup, store_url, with_verification
from onevision_dagster.reports.experiment_page import write_experiment_dashboard
from onevision_dagster.reports.fiche import write_fiche
from onevision_dagster.reports.fiche_data import prefetch_companies, rejected_rows_sql, top_companies
from onevision_dagster.reports.html_page import FICHES_DIR, dashboard_filename, fiche_filename
from onevision_dagster.reports.index_page import write_index
from onevision_dagster.reports.key_figures import key_figures, summary_markdown
from onevision_dagster.reports.refunds_at_risk import AT_RISK_CSV, export_refunds_at_risk
from onevision_dagster.reports.static_image import write_static_image
from onevision_dagster.resources import ReportsFolder, Settings, Warehouse

from .core import NON_POSITIONNEES, RATTACHEMENT
from .experiment import EVALUATION
from .history import IMPACT, IMPACT_NATIONAL, MOUVEMENTS, POSITIONS_HISTORIQUE
from .marts import PANEL, PANEL_NATIONAL, POSITIONS, POSITIONS_NATIONALES
from .pools import DUCKDB_POOL

REPORT_SERVER_HINT = "Ouvrir avec `onevision rapports` puis http://127.0.0.1:8765/{name}"
MAIN_CHART = "bilan"
MAX_INLINE_IMAGE_BYTES = 300_000


def _figures_metadata(data: DashboardData) -> dict[str, dg.MetadataValue]:
    meta: dict[str, dg.MetadataValue] = {}
    for key, value in key_figures(data).items():
        if value is None:
            continue
        if isinstance(value, int):
            meta[key] = dg.MetadataValue.int(value)
        elif isinstance(value, float):
            meta[key] = dg.MetadataValue.float(value)  # euros for display; the sums are exact in DuckDB
        else:
            meta[key] = dg.MetadataValue.text(str(value))
    return meta


def _image_markdown(fig, path: Path) -> str:
    """A PNG of the main chart, inlined in the markdown summary when small enough."""
    if not write_static_image(fig, path):
        return ""
    data = path.read_bytes()
    if len(data) > MAX_INLINE_IMAGE_BYTES:
        return f"\n\nGraphique : `{path}`"
    return f"\n\n![Bilan](data:image/png;base64,{base64.b64encode(data).decode()})"


def _dashboard(departement: str | None, warehouse: Warehouse, reports: ReportsFolder,
               static_image: bool, freshness_days: int) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        data = load_dashboard_data(con, departement)
    title = f"One Vision — département {departement}" if departement else "One Vision — France entière"
    name = dashboard_filename(departement)
    path = write_dashboard(data, reports.root, title, name, freshness_days)
    summary = summary_markdown(data)
    if static_image:
        figures = build_figures(data)
        if MAIN_CHART in figures:
            summary += _image_markdown(figures[MAIN_CHART][1], reports.root / "images" / f"{path.stem}.png")
    meta = _figures_metadata(data)
    meta.update({
        "tableau_de_bord": dg.MetadataValue.path(str(path.resolve())),
        "ouvrir": dg.MetadataValue.text(REPORT_SERVER_HINT.format(name=name)),
        "resume": dg.MetadataValue.md(summary),
    })
    return dg.MaterializeResult(metadata=meta)


@dg.asset(
    key=["rapports", "tableau_de_bord"],
    deps=[POSITIONS, PANEL, RATTACHEMENT, NON_POSITIONNEES],
    partitions_def=departements_partitions,
    automation_condition=FOLLOW_UPSTREAM,
    group_name="rapports",
    pool=DUCKDB_POOL,
    kinds={"plotly", "html"},
    description="Tableau de bord HTML du département (dettes échues par source, dont suspendues et poursuivables, "
    "à échoir et admises en non-valeur à part, créances côte à côte sans jamais de solde, compensations possibles "
    "et bloquées avec leur motif, ancienneté, étapes, débiteurs communs, qualité des données), servi par "
    "l'application.",
)
def tableau_de_bord(context: dg.AssetExecutionContext, warehouse: Warehouse, reports: ReportsFolder,
                    settings: Settings) -> dg.MaterializeResult:
    return _dashboard(context.partition_key, warehouse, reports, settings.static_images, settings.freshness_days)


@dg.asset(
    key=["rapports", "tableau_de_bord_national"],
    deps=[POSITIONS_NATIONALES, PANEL_NATIONAL],
    automation_condition=FOLLOW_UPSTREAM,
    group_name="national",
    pool=DUCKDB_POOL,
    kinds={"plotly", "html"},
    description="Tableau de bord HTML national, mêmes graphiques que les tableaux départementaux.",
)
def tableau_de_bord_national(warehouse: Warehouse, reports: ReportsFolder,
                             settings: Settings) -> dg.MaterializeResult:
    return _dashboard(None, warehouse, reports, settings.static_images, settings.freshness_days)


@dg.asset(
    key=["rapports", "fiches_entreprises"],
    deps=[POSITIONS],
    partitions_def=departements_partitions,
    # on request only: the application renders any company's sheet when an agent opens it (rights, audit), so the
    # refresh writes none (issue 21): no automation, outside the department groups the refresh and sensors select
    group_name=ON_REQUEST_GROUP,
    pool=DUCKDB_POOL,
    kinds={"html"},
    description="Sur demande d'un exploitant seulement (job fiches_entreprises) : la chaîne ne les écrit plus, "
    "l'application rend la fiche de toute entreprise quand un agent l'ouvre, avec ses droits et l'audit. Fiches "
    "HTML des entreprises aux plus forts enjeux du département (dettes + créances) : identité, position, chaque "
    "ligne avec son fichier et sa ligne d'origine, compensation possible et sa base légale, alertes.",
)
def fiches_entreprises(context: dg.AssetExecutionContext, warehouse: Warehouse, reports: ReportsFolder,
                       settings: Settings) -> dg.MaterializeResult:
    dept = context.partition_key
    out_dir = reports.root / FICHES_DIR
    for old in out_dir.glob(fiche_filename("*", dept)):
        old.unlink()  # the top list changes: no stale sheet of a company that left it
    with warehouse.connect() as con:
        sirens = top_companies(con, dept, settings.top_fiches)
        # the department's rejected rows once, not one scan of the history's lines per sheet
        rejected = rejected_rows_sql(con, None, dept)
        if rejected is not None:
            con.execute(f"CREATE OR REPLACE TEMP TABLE _ov_rejets_fiches AS SELECT * FROM {rejected}").fetchall()
            rejected = "temp._ov_rejets_fiches"
        tables = prefetch_companies(con, sirens, dept)  # each table scanned once for the department, not once per sheet
        paths = [write_fiche(con, siren, dept, out_dir / fiche_filename(siren, dept), rejected, tables,
                             settings.freshness_days) for siren in sirens]
    write_index(reports.root)
    listing = "\n".join(f"- `{p.name}`" for p in paths) or "Aucune position dans ce département."
    return dg.MaterializeResult(metadata={
        "fiches": dg.MetadataValue.int(len(paths)),
        "dossier": dg.MetadataValue.path(str(out_dir.resolve())),
        "liste": dg.MetadataValue.md(listing),
    })


@dg.asset(
    key=["rapports", "tableau_de_bord_experimentation"],
    deps=[EVALUATION, IMPACT_NATIONAL, IMPACT, MOUVEMENTS, POSITIONS_HISTORIQUE],
    # the national views' condition: its deps are partitioned by snapshot, most (date, department) pairs of which
    # never hold an extract; plain `eager()` would wait for them for ever
    automation_condition=NATIONAL_CONDITION,
    group_name="national",
    pool=DUCKDB_POOL,
    kinds={"plotly", "html"},
    description="Tableau de bord HTML de l'expérimentation : par semaine, départements pilotes "
    "(`ONEVISION_PILOTES`) contre les autres — taux de compensation, recouvré, compensé (dont signalé), remboursé "
    "et remboursé à risque, stocks ; l'évolution de chaque pilote ; par département, les entreprises derrière le "
    "remboursé à risque de la dernière période (et leur export CSV) ; les suites données et l'usage de "
    "l'application des agents quand sa base existe.",
)
def tableau_de_bord_experimentation(warehouse: Warehouse, reports: ReportsFolder,
                                    settings: Settings) -> dg.MaterializeResult:
    root = reports.root
    with warehouse.connect() as con:
        data = load_experiment_data(con, settings.pilot_codes())
        companies = 0
        if data.tables_absentes:
            (root / AT_RISK_CSV).unlink(missing_ok=True)  # no list of a history that is not there
        else:
            companies = export_refunds_at_risk(con, root / AT_RISK_CSV)
        # the outcomes "fait" on offsets checked against the later snapshots (issue 19 point 5)
        followup = with_verification(con, load_followup(store_url(warehouse.path, os.environ), data.pilotes))
    path = write_experiment_dashboard(data, followup, root, settings.freshness_days)
    meta: dict[str, dg.MetadataValue] = {
        "tableau_de_bord": dg.MetadataValue.path(str(path.resolve())),
        "ouvrir": dg.MetadataValue.text(REPORT_SERVER_HINT.format(name=path.name)),
        "pilotes": dg.MetadataValue.text(", ".join(data.pilotes)),
        "entreprises_a_risque": dg.MetadataValue.int(companies),
        "suivi_des_agents": dg.MetadataValue.text("oui" if followup.available else f"non : {followup.note}"),
    }
    if data.tables_absentes:
        meta["tables_absentes"] = dg.MetadataValue.text(", ".join(data.tables_absentes))
    week = data.derniere_semaine
    if week is not None:  # aggregates only, never a company name: metadata ends up in the run history
        meta["semaine"] = dg.MetadataValue.text(week)
        for r in data.semaines[data.semaines["semaine"] == week].itertuples(index=False):
            if r.taux_compensation is not None:
                meta[f"taux_compensation_{r.groupe}"] = dg.MetadataValue.float(float(r.taux_compensation))
            meta[f"rembourse_a_risque_{r.groupe}"] = dg.MetadataValue.float(float(r.rembourse_a_risque))
            meta[f"recouvre_{r.groupe}"] = dg.MetadataValue.float(float(r.recouvre))
    return dg.MaterializeResult(metadata=meta)


report_assets = [tableau_de_bord, tableau_de_bord_national, fiches_entreprises, tableau_de_bord_experimentation]
