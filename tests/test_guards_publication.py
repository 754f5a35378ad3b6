"""Issue 23 point 1: every check that gates publication is proven to trip, and to keep what it guards unpublished.

For each guard — each consistency rule of `consolidate/consistency.py`, each Pandera model (`TABLE_MODELS`,
`HISTORY_MODELS`), the history's reconciliation and impact checks — one case spoils, inside the builder's
transaction and just before the builder validates what it wrote, the one value that makes exactly that guard
fail (the spoil runs at `validate_table`, the builders' controlled point before their checks). The asset that
builds the table is then materialized by Dagster on a copy of a warehouse built from the contract's samples, and
the case requires:

- the run fails, and its failure names the guard (the French sentence the agent reads);
- nothing is published: every `onevision export` of the figures is byte-identical to the one of the last good
  warehouse, and so is every table of the core, marts and history schemas.

Were the guard to pass, the spoiled value would be committed: each spoil changes a table an export or the
comparison of the tables reads. `test_every_guard_has_a_tripping_case` lists the guards by introspection and fails
when one has no case here (the source checks' cases are in `test_guards_sources.py`).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import inspect
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from onevision_dagster import cli, warehouse
from onevision_dagster.consolidate import build, consistency
from onevision_dagster.consolidate.schemas import TABLE_MODELS
from onevision_dagster.history import impact, movements, snapshots
from onevision_dagster.history.schemas import HISTORY_MODELS
from onevision_dagster.ingest.load import ingest_landing

from .conftest import SAMPLE_LANDING

T0, T1 = dt.date(2026, 11, 20), dt.date(2026, 11, 27)
DEPTS = ("17", "95")
PILOTES = "17,91,95"
SCHEMAS = ("core", "marts", "history")
# what the agents receive: each export of the figures, compared byte for byte
EXPORTS: dict[str, list[str]] = {
    "positions_17.csv": ["positions", "--departement", "17"],
    "positions_nationales.csv": ["positions", "--national"],
    "positions_17_20261127.csv": ["positions", "--departement", "17", "--date", "2026-11-27"],
    "non_positionnees_17.csv": ["non_positionnees", "--departement", "17"],
    "compensations.csv": ["compensations"],
    "declarations_17.csv": ["declarations", "--departement", "17"],
    "mouvements_17.csv": ["mouvements", "--departement", "17"],
    "impact_17.csv": ["impact", "--departement", "17"],
}


@dataclass(frozen=True)
class Case:
    asset: tuple[str, ...]  # the asset whose run writes the table (path of its key)
    partition: str | None  # "17", "2026-11-27|17" (a snapshot), or None (national)
    builder: object  # the module whose `validate_table` is the builder's point before its checks
    table: str  # the spoil runs when that table is about to be validated
    spoil: tuple[str, ...]  # SQL, in the builder's open transaction
    names: str  # what the run's failure says (the guard, named for the agent)


def _one(table: str, where: str) -> str:
    """A row of `table` (DuckDB's rowid), for an UPDATE or DELETE of exactly one row."""
    return f"rowid = (SELECT min(rowid) FROM {table} WHERE {where})"


def _duplicate(table: str, where: str) -> tuple[str, ...]:
    return (f"INSERT INTO {table} SELECT * FROM {table} WHERE {_one(table, where)}",)


OUTSIDER = "123456782"  # a SIREN the register does not know
MOVED = "301122339"  # a company of 17 with lines and a position

CONSISTENCY: dict[str, Case] = {
    # the lines change under the positions: one past-due line of a positioned company is one euro higher
    "positions_match_lines": Case(
        ("marts", "positions"), "17", build, "marts.positions",
        ("UPDATE core.lignes_dettes SET montant = montant + 1 WHERE "
         + _one("core.lignes_dettes", "departement = '17' AND nature = 'ECHUE' AND NOT suspendue AND siren IN "
                "(SELECT siren FROM marts.positions WHERE departement = '17')"),),
        "totaux égaux aux lignes"),
    # a position (and its lines, so that the totals still match) moved to a SIREN the register does not know
    "out_of_scope_in_positions": Case(
        ("marts", "positions"), "17", build, "marts.positions",
        tuple(f"UPDATE {t} SET siren = '{OUTSIDER}' WHERE departement = '17' AND siren = '{MOVED}'"
              for t in ("marts.positions", "core.lignes_dettes", "core.lignes_creances")),
        "aucun SIREN hors périmètre"),
    # the fines no candidate attaches are no longer listed among the lines without position
    "fines_accounted_for": Case(
        ("marts", "positions"), "17", build, "marts.positions",
        ("DELETE FROM core.non_positionnees WHERE departement = '17' AND source = 'amendes' "
         "AND motif = 'NON_RATTACHEE'",),
        "amendes rattachées ou listées"),
    # a department's position changes under the national ones: a potential credit one euro higher
    "national_sums_match": Case(
        ("marts", "positions_nationales"), None, build, "marts.positions_nationales",
        ("UPDATE marts.positions SET creances_potentielles = creances_potentielles + 1 WHERE "
         + _one("marts.positions", "departement = '17'"),),
        "sommes égales aux départements"),
    # a national position (and the department's, so that the sums still match) moved to an unknown SIREN
    "out_of_scope_in_positions (national)": Case(
        ("marts", "positions_nationales"), None, build, "marts.positions_nationales",
        tuple(f"UPDATE {t} SET siren = '{OUTSIDER}' WHERE siren = '{MOVED}'"
              for t in ("marts.positions_nationales", "marts.positions")),
        "aucun SIREN hors périmètre"),
    # one claim to declare one euro higher than the lines its company owes
    "declarations_match_lines": Case(
        ("marts", "declarations"), "17", build, "marts.declarations",
        ("UPDATE marts.declarations SET montant = montant + 1 WHERE "
         + _one("marts.declarations", "departement = '17'"),),
        "déclarations = lignes des entreprises en procédure"),
    # one row of the offsetting list carries one euro of credit more than its department's position
    "compensations_match_positions": Case(
        ("marts", "compensations"), None, build, "marts.compensations",
        ("UPDATE marts.compensations SET creances_departement = creances_departement + 1, montant_compensable = "
         "least(creances_departement + 1, dettes_compensables_departement + dettes_compensables_autres) WHERE "
         + _one("marts.compensations", "TRUE"),),
        "compensations = créances et impôts des positions"),
}

_SNAP = "departement = '17' AND date_situation = DATE '2026-11-27'"
_PAIR = "departement = '17' AND date_fin = DATE '2026-11-27'"
HISTORY: dict[str, Case] = {
    # one payment between the two snapshots one euro higher than the lines show
    "movements.reconciliation": Case(
        ("history", "mouvements"), "2026-11-27|17", movements, "history.mouvements",
        ("UPDATE history.mouvements SET montant = montant + 1 WHERE "
         + _one("history.mouvements", _PAIR + " AND type = 'PAIEMENT'"),),
        "ne réconcilient pas les stocks"),
    # the amount recovered one euro higher than the movements' payments
    "impact.impact_matches_movements": Case(
        ("history", "impact"), "2026-11-27|17", impact, "history.impact",
        (f"UPDATE history.impact SET recouvre = recouvre + 1 WHERE {_PAIR}",),
        "impact = somme des mouvements"),
}

# each model: one row written twice (every model has its key), which only the model's uniqueness rule catches
_MODEL_RUNS: dict[str, tuple[tuple[str, ...], str | None, object, str]] = {
    "core.rattachement_amendes": (("core", "rattachement_amendes"), "17", build, "departement = '17'"),
    "core.lignes_dettes": (("core", "lignes_dettes"), "17", build, "departement = '17'"),
    "core.lignes_creances": (("core", "lignes_creances"), "17", build, "departement = '17'"),
    "core.non_positionnees": (("core", "non_positionnees"), "17", build, "departement = '17'"),
    "marts.positions": (("marts", "positions"), "17", build, "departement = '17'"),
    "marts.panel_debiteurs_communs": (("marts", "panel_debiteurs_communs"), "17", build, "departement = '17'"),
    "marts.declarations": (("marts", "declarations"), "17", build, "departement = '17'"),
    "marts.positions_nationales": (("marts", "positions_nationales"), None, build, "TRUE"),
    "marts.panel_debiteurs_communs_national": (("marts", "panel_debiteurs_communs_national"), None, build, "TRUE"),
    "marts.compensations": (("marts", "compensations"), None, build, "TRUE"),
    "history.positions_historique": (("history", "positions_historique"), "2026-11-27|17", snapshots, _SNAP),
    "history.lignes": (("history", "positions_historique"), "2026-11-27|17", snapshots, _SNAP),
    "history.mouvements": (("history", "mouvements"), "2026-11-27|17", movements, _PAIR),
    "history.impact": (("history", "impact"), "2026-11-27|17", impact, _PAIR),
    "history.impact_national": (("history", "impact_national"), None, impact, "TRUE"),
}
MODELS: dict[str, Case] = {
    f"model {table}": Case(asset, partition, module, table, _duplicate(table, where), f"Contrôle de {table}")
    for table, (asset, partition, module, where) in _MODEL_RUNS.items()
}
CASES: dict[str, Case] = {**CONSISTENCY, **HISTORY, **MODELS}


def guards() -> set[str]:
    """Every guard the code has, named as `CASES` names them (a new rule or model appears here by itself)."""
    rules = {name for name, fn in inspect.getmembers(consistency, inspect.isfunction)
             if fn.__module__ == consistency.__name__ and not name.startswith("_")}
    # a rule taking `departement: str | None` also runs on the national tables (None): a guard of its own
    national = {f"{name} (national)" for name in rules
                if "None" in str(inspect.signature(getattr(consistency, name)).parameters.get("departement", ""))}
    history = {"movements.reconciliation", "impact.impact_matches_movements"}
    models = {f"model {t}" for t in (*TABLE_MODELS, *HISTORY_MODELS)}
    return rules | national | history | models


def test_every_guard_has_a_tripping_case() -> None:
    assert guards() - set(CASES) == set(), "garde sans test qui la fasse échouer"
    assert set(CASES) - guards() == set(), "cas d'une garde qui n'existe plus"
    # the asset checks that gate the marts and the history are the rules above, run again after the commit
    from onevision_dagster.definitions import defs

    graph = defs.resolve_asset_graph()
    blocking = {(k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys
                if graph.get(k).blocking and k.asset_key.path[0] in ("marts", "history")}
    assert blocking == {
        ("marts/positions", "totaux_egaux_aux_lignes"), ("marts/positions", "aucun_siren_hors_perimetre"),
        ("marts/positions", "amendes_rattachees_ou_listees"),
        ("marts/positions_nationales", "sommes_egales_aux_departements"),
        ("marts/positions_nationales", "aucun_siren_hors_perimetre"),
        ("marts/declarations", "declarations_egales_aux_lignes"),
        ("marts/compensations", "compensations_egales_aux_positions"),
        ("history/mouvements", "mouvements_reconcilient_les_stocks"),
        ("history/impact", "impact_egal_somme_des_mouvements"),
    }


# --- the last good warehouse -----------------------------------------------------------------------------------


def build_samples(path: Path) -> None:
    """The samples' two snapshots of 17 and 95 consolidated, their history and the national views, as a run
    leaves them (no impact row left stale)."""
    with warehouse.connect(path) as con:
        ingest_landing(con, SAMPLE_LANDING)
        build.build_all(con)
        for dept in DEPTS:
            for day in (T0, T1):
                snapshots.build_snapshot(con, dept, day)
        for dept in DEPTS:
            for day in (T0, T1):
                movements.build_movements(con, dept, day)
                impact.build_impact(con, dept, day)
        impact.build_impact_national(con, PILOTES.split(","))
        assert impact.stale_impacts(con) == []


def exports(db: Path, folder: Path) -> dict[str, bytes]:
    """Every export of `EXPORTS`, by `onevision export`."""
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, args in EXPORTS.items():
        assert cli.main(["export", *args, "--warehouse", str(db), "--out", str(folder / name)]) == 0, name
        out[name] = (folder / name).read_bytes()
    return out


def tables(db: Path) -> dict[str, str]:
    """A digest of the rows of every table of the core, marts and history schemas."""
    with duckdb.connect(str(db), read_only=True) as con:
        names = [f"{s}.{t}" for s, t in con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE schema_name IN (SELECT unnest(?)) "
            "ORDER BY 1, 2", [list(SCHEMAS)]).fetchall()]
        return {name: hashlib.sha256(repr(con.execute(f"SELECT * FROM {name} ORDER BY ALL").fetchall()).encode())
                .hexdigest() for name in names}


def last_good(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, bytes], dict[str, str]]:
    """The last good warehouse, its exports and the digests of its tables."""
    folder = tmp_path_factory.mktemp("good")
    db = folder / "onevision.duckdb"
    build_samples(db)
    return db, exports(db, folder / "exports"), tables(db)


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, bytes], dict[str, str]]:
    return last_good(tmp_path_factory)


# --- one run of one asset, its builder spoiled -----------------------------------------------------------------


def instance_with_partitions() -> dg.DagsterInstance:
    """An instance knowing the samples' departments and dates (both dimensions may be dynamic)."""
    from onevision_dagster.orchestration import partitions

    instance = dg.DagsterInstance.ephemeral()
    if isinstance(partitions.departements_partitions, dg.DynamicPartitionsDefinition):
        instance.add_dynamic_partitions(partitions.departements_partitions.name, list(DEPTS))
    instance.add_dynamic_partitions(partitions.DATES_EXTRACTION, [T0.isoformat(), T1.isoformat()])
    return instance


def materialize(db: Path, tmp: Path, keys: list[dg.AssetKey], partition: str | None,
                landing: Path = SAMPLE_LANDING, **settings) -> dg.ExecuteInProcessResult:
    from onevision_dagster.definitions import all_assets
    from onevision_dagster.orchestration.partitions import snapshot_key
    from onevision_dagster.resources import LandingZone, ReportsFolder, Settings, Warehouse

    resources = {"landing": LandingZone(path=str(landing)), "warehouse": Warehouse(path=str(db)),
                 "reports": ReportsFolder(path=str(tmp / "rapports")),
                 "settings": Settings(**{"departements": "17,95", "pilotes": PILOTES, "static_images": False,
                                         **settings})}
    key = snapshot_key(*partition.split("|")) if partition and "|" in partition else partition
    return dg.materialize(all_assets, selection=dg.AssetSelection.assets(*keys), partition_key=key,
                          resources=resources, instance=instance_with_partitions(), raise_on_error=False)


def failure_text(result: dg.ExecuteInProcessResult) -> str:
    texts = []
    for event in result.all_events:
        if event.event_type == dg.DagsterEventType.STEP_FAILURE:
            data = event.step_failure_data
            texts.append(data.user_failure_data.description if data.user_failure_data else data.error.message)
    return "\n".join(texts)


def spoil_at_validation(monkeypatch: pytest.MonkeyPatch, case: Case) -> list[str]:
    """Runs the case's SQL in the builder's transaction when it is about to validate `case.table`; returns the
    tables spoiled (to prove the spoil ran)."""
    original: Callable = case.builder.validate_table
    spoiled: list[str] = []

    @functools.wraps(original)
    def validate_table(con, table, *args, **kwargs):
        if table == case.table and not spoiled:
            for sql in case.spoil:
                con.execute(sql)
            spoiled.append(table)
        return original(con, table, *args, **kwargs)

    monkeypatch.setattr(case.builder, "validate_table", validate_table)
    if case.asset == ("history", "positions_historique"):  # the stored snapshot is recomputed, not kept
        monkeypatch.setattr(snapshots, "is_up_to_date", lambda con, d, when: False)
    return spoiled


@pytest.mark.parametrize("name", list(CASES))
def test_the_guard_trips_and_nothing_is_published(name: str, good, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    case = CASES[name]
    good_db, good_exports, good_tables = good
    db = tmp_path / "onevision.duckdb"
    shutil.copyfile(good_db, db)
    spoiled = spoil_at_validation(monkeypatch, case)
    key = dg.AssetKey(list(case.asset))
    keys = [key]
    if case.asset[0] == "core":  # one step builds the four core tables
        keys = [dg.AssetKey(["core", t]) for t in ("rattachement_amendes", "lignes_dettes", "lignes_creances",
                                                   "non_positionnees")]
    result = materialize(db, tmp_path, keys, case.partition, pilotes=PILOTES)
    assert spoiled == [case.table]
    assert not result.success
    text = failure_text(result)
    assert case.names in text, text
    if name.startswith("model "):
        assert "unicité" in text, text  # the model's rule that the spoil breaks, named
    monkeypatch.undo()  # exports read the warehouse with the real code
    assert exports(db, tmp_path / "exports") == good_exports
    assert tables(db) == good_tables
