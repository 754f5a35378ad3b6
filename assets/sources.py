"""One asset per source extract: the register (unpartitioned) and seven department sources.

Thin wiring around `onevision_dagster.ingest.load`: pick the current file, load it
in one transaction, report what happened. The three checks run in the same
step (no extra process or connection) and read what was actually stored.
"""


from datetime import date

import dagster as dg
import duckdb
import pandas as pd

from onevision_dagster.contract.money import to_decimal_euros
from onevision_dagster.contract.sources import PARTITIONED_SOURCES, REGISTER, Kind, SourceSpec
from onevision_dagster.errors import FileRejected
from onevision_dagster.ingest.landing import LandingFile, parse_name
from onevision_dagster.ingest.load import LoadReport, load_source
from onevision_dagster.orchestration.partitions import departements_partitions
from onevision_dagster.resources import LandingZone, Settings, Warehouse

from .pools import DUCKDB_POOL

CHECK_COUNTS = "lignes_lues_egal_gardees_plus_rejetees"
CHECK_KEYS = "cle_unique"
CHECK_FRESHNESS = "fraicheur_extraction"


def _check_specs(key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(CHECK_COUNTS, asset=key, blocking=True,
                          description="Lignes lues = lignes gardées + lignes rejetées (vérifié dans l'entrepôt)."),
        dg.AssetCheckSpec(CHECK_KEYS, asset=key, blocking=True,
                          description="Aucune clé en double parmi les lignes gardées."),
        dg.AssetCheckSpec(CHECK_FRESHNESS, asset=key,
                          description="Extraction pas plus ancienne que la limite de fraîcheur (avertissement)."),
    ]


def _preview_columns(spec: SourceSpec) -> list[str]:
    """Identifiers, dates, codes and amounts only: no names or addresses in the UI's metadata."""
    keep = {Kind.DATE, Kind.AMOUNT, Kind.CENTS, Kind.CODE, Kind.SIREN, Kind.SIRET, Kind.DEBTOR_ID}
    cols = [c.db_name for c in spec.columns if c.kind in keep or c.name in spec.key]
    return ["ligne", *dict.fromkeys(cols), "siren"] if "siren" not in cols else ["ligne", *dict.fromkeys(cols)]


def preview_markdown(spec: SourceSpec, preview) -> str:
    """First rows as a markdown table, amounts in euros (the frame holds integer cents)."""
    frame = preview[[c for c in _preview_columns(spec) if c in preview.columns]].copy()
    for col in spec.columns:
        if col.kind in (Kind.AMOUNT, Kind.CENTS) and col.db_name in frame:
            frame[col.db_name] = [
                "" if v is None or v is pd.NA else str(to_decimal_euros(int(v))) for v in frame[col.db_name]
            ]
        elif col.kind is Kind.DATE and col.db_name in frame:
            frame[col.db_name] = frame[col.db_name].dt.strftime("%d/%m/%Y")
    return frame.astype(str).replace({"<NA>": "", "NaT": "", "nan": ""}).to_markdown(index=False, disable_numparse=True)


def report_metadata(spec: SourceSpec, report: LoadReport) -> dict[str, dg.MetadataValue]:
    meta: dict[str, dg.MetadataValue] = {
        "fichier": dg.MetadataValue.text(report.fichier or "aucun fichier pour ce département"),
        "date_extraction": dg.MetadataValue.text(report.date_extraction.isoformat() if report.date_extraction
                                                 else "—"),
        "dagster/row_count": dg.MetadataValue.int(report.rows_kept),
        "lignes_lues": dg.MetadataValue.int(report.rows_read),
        "lignes_gardees": dg.MetadataValue.int(report.rows_kept),
        "lignes_rejetees": dg.MetadataValue.int(report.rows_rejected),
        "rejets_par_motif": dg.MetadataValue.json(report.rejects_by_motif),
    }
    for name, total in report.totals.items():
        meta[f"total_{name}"] = dg.MetadataValue.float(float(total))  # display only; sums stay exact in SQL
    if report.ignored_columns:
        meta["colonnes_ignorees"] = dg.MetadataValue.text(", ".join(report.ignored_columns))
    if report.preview is not None and len(report.preview):
        meta["apercu"] = dg.MetadataValue.md(preview_markdown(spec, report.preview))
    return meta


def stored_checks(con: duckdb.DuckDBPyConnection, spec: SourceSpec, departement: str | None,
                  report: LoadReport, freshness_days: int, today: date | None = None) -> list[dg.AssetCheckResult]:
    """Checks what the warehouse now holds, not what the loader believes it wrote."""
    where = "departement IS NULL" if departement is None else "departement = ?"
    params = [] if departement is None else [departement]
    raw_where = "TRUE" if departement is None else "departement = ?"
    kept = con.execute(f"SELECT count(*) FROM {spec.table} WHERE {raw_where}", params).fetchone()[0]
    rejected = con.execute(f"SELECT count(*) FROM quality.rejets WHERE source = ? AND {where}",
                           [spec.name, *params]).fetchone()[0]
    read = con.execute(f"SELECT coalesce(sum(lignes_lues), 0) FROM quality.chargements WHERE source = ? AND {where}",
                       [spec.name, *params]).fetchone()[0]
    key_cols = ", ".join(spec.column(k).db_name for k in spec.key)
    duplicates = con.execute(
        f"SELECT count(*) FROM (SELECT {key_cols} FROM {spec.table} WHERE {raw_where} "
        f"GROUP BY ALL HAVING count(*) > 1)", params).fetchone()[0]
    today = today or date.today()
    if report.date_extraction is None:
        fresh, age_text = True, "aucun fichier"
    else:
        age = (today - report.date_extraction).days
        fresh, age_text = age <= freshness_days, f"{age} jour(s)"
    return [
        dg.AssetCheckResult(check_name=CHECK_COUNTS, passed=bool(read == kept + rejected),
                            severity=dg.AssetCheckSeverity.ERROR,
                            metadata={"lues": int(read), "gardees": int(kept), "rejetees": int(rejected)}),
        dg.AssetCheckResult(check_name=CHECK_KEYS, passed=bool(duplicates == 0),
                            severity=dg.AssetCheckSeverity.ERROR,
                            metadata={"cles_en_double": int(duplicates), "cle": key_cols}),
        dg.AssetCheckResult(check_name=CHECK_FRESHNESS, passed=fresh, severity=dg.AssetCheckSeverity.WARN,
                            metadata={"age": age_text, "limite_jours": freshness_days}),
    ]


def current_file(landing: LandingZone, spec: SourceSpec, departement: str | None) -> LandingFile | None:
    """`landing.scan().latest(spec.name, departement)`, listing only that source's folder (not the
    whole landing zone, ~700 files nationally, at each of the ~700 source steps of a refresh)."""
    folder = landing.root / spec.name
    if not folder.is_dir():
        return None
    files = [f for path in sorted(folder.iterdir()) if not path.is_dir() and not path.name.startswith(".")
             and isinstance(f := parse_name(spec.name, path), LandingFile) and f.departement == departement]
    return max(files, key=lambda f: f.as_of, default=None)


def _materialize(context: dg.AssetExecutionContext, spec: SourceSpec, departement: str | None,
                 landing: LandingZone, warehouse: Warehouse, settings: Settings) -> dg.MaterializeResult:
    current = current_file(landing, spec, departement)
    if current is None:
        context.log.warning(f"{spec.name} {departement or ''} : aucun fichier dans la zone de dépôt")
    try:
        with warehouse.connect() as con:
            report = load_source(con, spec, departement, current)
            checks = stored_checks(con, spec, departement, report, settings.freshness_days)
    except FileRejected as e:
        context.log.error(str(e))
        raise dg.Failure(description=str(e), metadata={"fichier": e.fichier, "probleme": e.probleme},
                         allow_retries=False) from None
    context.log.info(f"{report.fichier} : {report.rows_read} lues, {report.rows_kept} gardées, "
                     f"{report.rows_rejected} rejetées")
    return dg.MaterializeResult(metadata=report_metadata(spec, report), check_results=checks)


def _source_asset(spec: SourceSpec) -> dg.AssetsDefinition:
    key = dg.AssetKey(["raw", spec.name])

    @dg.asset(
        key=key,
        partitions_def=departements_partitions,
        group_name="sources",
        pool=DUCKDB_POOL,
        kinds={"duckdb", "pandas"},
        check_specs=_check_specs(key),
        description=f"{spec.label} : lignes valides du dernier fichier `{spec.name}_<DEPT>_<AAAAMMJJ>.csv` "
        f"du département (table `{spec.table}`); rejets dans `quality.rejets`.",
    )
    def _asset(context: dg.AssetExecutionContext, landing: LandingZone, warehouse: Warehouse,
               settings: Settings) -> dg.MaterializeResult:
        return _materialize(context, spec, context.partition_key, landing, warehouse, settings)

    return _asset


REGISTER_KEY = dg.AssetKey(["raw", REGISTER.name])


@dg.asset(
    key=REGISTER_KEY,
    group_name="sources",
    pool=DUCKDB_POOL,
    kinds={"duckdb", "pandas"},
    check_specs=_check_specs(REGISTER_KEY),
    description="Registre national des entreprises (dernier fichier `entreprises_<AAAAMMJJ>.csv`), avec les "
    "dénominations et sigles normalisés pour le rattachement des amendes.",
)
def entreprises(context: dg.AssetExecutionContext, landing: LandingZone, warehouse: Warehouse,
                settings: Settings) -> dg.MaterializeResult:
    return _materialize(context, REGISTER, None, landing, warehouse, settings)


source_assets = [entreprises, *(_source_asset(s) for s in PARTITIONED_SOURCES)]
SOURCE_KEYS = [dg.AssetKey(["raw", s.name]) for s in PARTITIONED_SOURCES]
