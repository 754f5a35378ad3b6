"""One asset per source extract: the register (unpartitioned) and seven department sources.

Thin wiring around `onevision_dagster.ingest.load`: pick the current file, load it
in one transaction, report what happened. The three checks run in the same
step (no extra process or connection) and read what was actually stored.
"""


from datetime import date

import dagster as dg
import duckdb

from onevision_dagster.contract.sources import PARTITIONED_SOURCES, REGISTER, Kind, SourceSpec
from onevision_dagster.ingest.landing import LandingFile, scan_folder
from onevision_dagster.ingest.load import SyncReport, sync_source
from onevision_dagster.ingest.origin import SYNTHETIC_NOTICE, record_origin
from onevision_dagster.orchestration.partitions import departements_partitions
from onevision_dagster.resources import LandingZone, Settings, Warehouse
from onevision_dagster.warehouse import NATURAL_PERSONS, TOMBSTONES

from .failures import reported_as_failure
from .pools import DUCKDB_POOL

CHECK_COUNTS = "lignes_lues_egal_gardees_plus_rejetees"
CHECK_KEYS = "cle_unique"
CHECK_FRESHNESS = "fraicheur_extraction"


def _check_specs(key: dg.AssetKey, partitions_def: dg.PartitionsDefinition | None = None) -> list[dg.AssetCheckSpec]:
    """`partitions_def`: the asset's, so that each department's result is its own (issue 22)."""
    return [
        dg.AssetCheckSpec(CHECK_COUNTS, asset=key, blocking=True, partitions_def=partitions_def,
                          description="Lignes lues = lignes gardées + lignes rejetées (vérifié dans l'entrepôt)."),
        dg.AssetCheckSpec(CHECK_KEYS, asset=key, blocking=True, partitions_def=partitions_def,
                          description="Aucune clé en double parmi les lignes gardées."),
        dg.AssetCheckSpec(CHECK_FRESHNESS, asset=key, partitions_def=partitions_def,
                          description="Extraction pas plus ancienne que la limite de fraîcheur (avertissement)."),
    ]


def _preview_columns(spec: SourceSpec) -> list[str]:
    """Identifiers, dates, codes and amounts only: no names or addresses in the UI's metadata."""
    keep = {Kind.DATE, Kind.AMOUNT, Kind.CENTS, Kind.CODE, Kind.SIREN, Kind.SIRET, Kind.DEBTOR_ID}
    cols = [c.db_name for c in spec.columns if c.kind in keep or c.name in spec.key]
    return ["ligne", *dict.fromkeys(cols), "siren"] if "siren" not in cols else ["ligne", *dict.fromkeys(cols)]


def preview_sql(spec: SourceSpec) -> str:
    """The preview columns as text, formatted by DuckDB: amounts exact in euros, dates as JJ/MM/AAAA."""
    exprs = []
    for name in _preview_columns(spec):
        kind = next((c.kind for c in spec.columns if c.db_name == name), Kind.TEXT)
        if kind is Kind.DATE:
            exprs.append(f"coalesce(strftime({name}, '%d/%m/%Y'), '') AS {name}")
        else:
            exprs.append(f"coalesce(CAST({name} AS VARCHAR), '') AS {name}")
    return ", ".join(exprs)


def preview_query(spec: SourceSpec, raw_where: str) -> str:
    """The first ten rows of a file for the UI, without a natural person's (contract v3, section 6: shown
    nowhere): the register's rows of category 1…, a source's rows whose SIREN any register version calls a natural
    person (`NATURAL_PERSONS`, rebuilt with each register file). A fine attached to one by name only is known at
    consolidation, which withdraws it from the warehouse; its load's preview may still show its number, date and
    amounts (no name: see `_preview_columns`)."""
    if not spec.partitioned:
        return (f"SELECT {preview_sql(spec)} FROM {spec.table} WHERE {raw_where} "
                "AND NOT coalesce(starts_with(categorie_juridique, '1'), false) ORDER BY ligne LIMIT 10")
    return f"""WITH p AS (SELECT * FROM {spec.table} WHERE {raw_where} ORDER BY ligne LIMIT 50)
               SELECT {preview_sql(spec)} FROM p
               WHERE p.siren IS NULL OR p.siren NOT IN (SELECT siren FROM {NATURAL_PERSONS})
               ORDER BY ligne LIMIT 10"""


def _file_where(spec: SourceSpec, departement: str | None) -> tuple[str, list]:
    if departement is None:
        return "departement IS NULL", []
    return "departement = ?", [departement]


def stored_metadata(con: duckdb.DuckDBPyConnection, spec: SourceSpec, departement: str | None,
                    sync: SyncReport) -> dict[str, dg.MetadataValue]:
    """What the warehouse now holds for this source's current file (read back, not what the loader believes),
    and what the synchronisation did. Identifiers, codes, dates and amounts only: no names or addresses."""
    where, params = _file_where(spec, departement)
    current = con.execute(
        f"SELECT fichier, date_extraction, lignes_lues, lignes_gardees, lignes_rejetees, colonnes_ignorees "
        f"FROM quality.chargements WHERE source = ? AND {where} AND statut = 'CHARGE' "
        "ORDER BY date_extraction DESC LIMIT 1", [spec.name, *params]).fetchone()
    meta: dict[str, dg.MetadataValue] = {
        "fichiers_charges": dg.MetadataValue.int(len(sync.loaded)),
        "fichiers_inchanges": dg.MetadataValue.int(len(sync.unchanged)),
    }
    refused = {**sync.still_refused, **sync.refused}
    if refused:
        meta["fichiers_refuses"] = dg.MetadataValue.json(refused)
    if sync.absent:
        meta["fichiers_absents_de_la_zone"] = dg.MetadataValue.text(
            ", ".join(sync.absent) + " (lignes conservées dans l'entrepôt)")
    if current is None:
        meta["fichier"] = dg.MetadataValue.text("aucun fichier lisible pour ce département")
        meta["dagster/row_count"] = dg.MetadataValue.int(0)
        return meta
    fichier, as_of, read, kept, rejected, ignored = current
    raw_where = ("departement = ? AND " if spec.partitioned else "") + "date_extraction = ?"
    raw_params = ([departement] if spec.partitioned else []) + [as_of]
    motifs = con.execute(f"SELECT motif, count(*) FROM quality.rejets WHERE source = ? AND {where} "
                         "AND date_extraction = ? GROUP BY 1 ORDER BY 1", [spec.name, *params, as_of]).fetchall()
    meta.update({
        "fichier": dg.MetadataValue.text(fichier),
        "date_extraction": dg.MetadataValue.text(as_of.isoformat()),
        "dagster/row_count": dg.MetadataValue.int(int(kept)),
        "lignes_lues": dg.MetadataValue.int(int(read)),
        "lignes_gardees": dg.MetadataValue.int(int(kept)),
        "lignes_rejetees": dg.MetadataValue.int(int(rejected)),
        "rejets_par_motif": dg.MetadataValue.json({m: int(n) for m, n in motifs}),
    })
    amounts = [c.db_name for c in spec.columns if c.kind in (Kind.AMOUNT, Kind.CENTS)]
    if amounts:
        totals = con.execute(f"SELECT {', '.join(f'coalesce(sum({a}), 0)' for a in amounts)} FROM {spec.table} "
                             f"WHERE {raw_where}", raw_params).fetchone()
        for name, total in zip(amounts, totals, strict=True):
            meta[f"total_{name}"] = dg.MetadataValue.float(float(total))  # display only; sums stay exact in SQL
    if ignored:
        meta["colonnes_ignorees"] = dg.MetadataValue.text(ignored)
    preview = con.execute(preview_query(spec, raw_where), raw_params).df()
    if len(preview):
        meta["apercu"] = dg.MetadataValue.md(preview.to_markdown(index=False, disable_numparse=True))
    return meta


def stored_checks(con: duckdb.DuckDBPyConnection, spec: SourceSpec, departement: str | None,
                  freshness_days: int, today: date | None = None,
                  asset_key: dg.AssetKey | None = None) -> list[dg.AssetCheckResult]:
    """Checks what the warehouse now holds for every loaded file of this source, not what the loader believes."""
    where, params = _file_where(spec, departement)
    raw_where = "departement = ?" if spec.partitioned else "TRUE"
    raw_params = [departement] if spec.partitioned else []
    files = con.execute(
        f"""WITH c AS (SELECT date_extraction, lignes_lues FROM quality.chargements
                       WHERE source = ? AND {where} AND statut = 'CHARGE'),
                 k AS (SELECT date_extraction, count(*) AS n FROM (
                           SELECT date_extraction FROM {spec.table} WHERE {raw_where}
                           UNION ALL  -- a natural person's withdrawn lines (contract v3, section 6)
                           SELECT date_extraction FROM {TOMBSTONES} WHERE source = ? AND {raw_where}) GROUP BY 1),
                 r AS (SELECT date_extraction, count(*) AS n FROM quality.rejets WHERE source = ? AND {where}
                       GROUP BY 1)
            SELECT c.date_extraction, c.lignes_lues, coalesce(k.n, 0), coalesce(r.n, 0)
            FROM c LEFT JOIN k USING (date_extraction) LEFT JOIN r USING (date_extraction)""",
        [spec.name, *params, *raw_params, spec.name, *raw_params, spec.name, *params]).fetchall()
    unbalanced = [d.isoformat() for d, read, kept, rejected in files if read != kept + rejected]
    key_cols = ", ".join(spec.column(k).db_name for k in spec.key)
    duplicates = con.execute(
        f"SELECT count(*) FROM (SELECT date_extraction, {key_cols} FROM {spec.table} WHERE {raw_where} "
        f"GROUP BY ALL HAVING count(*) > 1)", raw_params).fetchone()[0]
    latest = max((d for d, *_ in files), default=None)
    today = today or date.today()
    if latest is None:
        fresh, age_text = True, "aucun fichier"
    else:
        age = (today - latest).days
        fresh, age_text = age <= freshness_days, f"{age} jour(s)"
    return [
        dg.AssetCheckResult(asset_key=asset_key, check_name=CHECK_COUNTS, passed=not unbalanced,
                            severity=dg.AssetCheckSeverity.ERROR,
                            metadata={"fichiers": len(files), "fichiers_desequilibres": ", ".join(unbalanced)
                                      or "aucun"}),
        dg.AssetCheckResult(asset_key=asset_key, check_name=CHECK_KEYS, passed=bool(duplicates == 0),
                            severity=dg.AssetCheckSeverity.ERROR,
                            metadata={"cles_en_double": int(duplicates), "cle": key_cols}),
        dg.AssetCheckResult(asset_key=asset_key, check_name=CHECK_FRESHNESS, passed=fresh,
                            severity=dg.AssetCheckSeverity.WARN,
                            metadata={"age": age_text, "limite_jours": freshness_days}),
    ]


def landing_files(landing: LandingZone, spec: SourceSpec, departement: str | None,
                  context: dg.AssetExecutionContext | None = None) -> list[LandingFile]:
    """This source's files of the department, listing only that source's folder (not the whole landing zone,
    ~700 files nationally per date, at each of the ~700 source steps of a refresh); what is not read is
    reported in the log."""
    files, reported = scan_folder(landing.root, spec.name, landing.follow_links)
    if context is not None:
        for bad in reported:
            context.log.warning(f"Non lu : {spec.name}/{bad.path.name} ({bad.reason})")
    return [f for f in files if f.departement == departement]


def _materialize(context: dg.AssetExecutionContext, spec: SourceSpec, departement: str | None,
                 landing: LandingZone, warehouse: Warehouse, settings: Settings) -> dg.MaterializeResult:
    key = dg.AssetKey(["raw", spec.name])
    files = landing_files(landing, spec, departement, context)
    if not files:
        context.log.warning(f"{spec.name} {departement or ''} : aucun fichier dans la zone de dépôt "
                            "(les fichiers déjà chargés sont conservés)")
    with reported_as_failure(), warehouse.connect() as con:
        if spec is REGISTER and record_origin(con, landing.root):
            context.log.info(SYNTHETIC_NOTICE)
        sync = sync_source(con, spec, departement, files)
        meta = stored_metadata(con, spec, departement, sync)
        checks = stored_checks(con, spec, departement, settings.freshness_days, asset_key=key)
    for name, reason in sync.refused.items():
        context.log.error(f"Fichier {name} refusé : {reason}")
    for report in sync.loaded:
        context.log.info(f"{report.fichier} : {report.rows_read} lues, {report.rows_kept} gardées, "
                         f"{report.rows_rejected} rejetées")
    if sync.latest_refused is not None:
        problem = sync.latest_refused
        raise dg.Failure(
            description=f"Fichier {sync.latest} refusé : {problem}. Les dernières données valides sont conservées.",
            metadata={"fichier": sync.latest, "probleme": problem, **meta}, allow_retries=False)
    return dg.MaterializeResult(asset_key=key, metadata=meta, check_results=checks)


SOURCE_KEYS = [dg.AssetKey(["raw", s.name]) for s in PARTITIONED_SOURCES]


@dg.multi_asset(
    name="sources_departement",
    specs=[dg.AssetSpec(
        key, group_name="sources", kinds={"duckdb", "pandas"}, partitions_def=departements_partitions,
        skippable=True,  # a refused file: that source is not materialized, its department's step fails
        description=f"{spec.label} : lignes valides du dernier fichier `{spec.name}_<DEPT>_<AAAAMMJJ>.csv` "
        f"du département (table `{spec.table}`); rejets dans `quality.rejets`.")
        for key, spec in zip(SOURCE_KEYS, PARTITIONED_SOURCES, strict=True)],
    check_specs=[c for key in SOURCE_KEYS for c in _check_specs(key, departements_partitions)],
    partitions_def=departements_partitions,
    pool=DUCKDB_POOL,
    can_subset=True,  # an operator can still reload one source of a department
)
def sources_departement(context: dg.AssetExecutionContext, landing: LandingZone, warehouse: Warehouse,
                        settings: Settings):
    """The department's seven extracts in one step (issue 21: Dagster's per-step cost was paid 707 times a
    national refresh). Each source keeps its asset, checks, metadata and lineage; a refused file fails the step
    after the other sources are loaded, as when each was a step of its own."""
    refused: list[dg.Failure] = []
    for key, spec in zip(SOURCE_KEYS, PARTITIONED_SOURCES, strict=True):
        if key not in context.selected_asset_keys:
            continue
        try:
            result = _materialize(context, spec, context.partition_key, landing, warehouse, settings)
        except dg.Failure as failure:
            refused.append(failure)
            continue
        checks = [c for c in result.check_results or []
                  if dg.AssetCheckKey(key, c.check_name) in context.selected_asset_check_keys]
        yield dg.MaterializeResult(asset_key=key, metadata=result.metadata, check_results=checks)
    if len(refused) == 1:
        raise refused[0]
    if refused:  # each file's own sentence, one after the other
        raise dg.Failure(description=" ".join(f.description or "" for f in refused), allow_retries=False,
                         metadata={"fichiers_refuses": ", ".join(str(f.metadata["fichier"].value) for f in refused
                                                                 if "fichier" in (f.metadata or {}))})


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


source_assets = [entreprises, sources_departement]
