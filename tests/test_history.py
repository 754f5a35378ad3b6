"""History (SOURCES.md section 9): snapshots, movements per type, impact, reconciliation, and the Dagster partitions."""

from __future__ import annotations

import csv
import datetime as dt
import shutil
from decimal import Decimal
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from onevision_dagster import warehouse
from onevision_dagster.history.impact import build_impact, build_impact_national, impact_matches_movements
from onevision_dagster.history.movements import build_movements, reconciliation
from onevision_dagster.history.snapshots import build_snapshot
from onevision_dagster.ingest.load import ingest_landing
from onevision_dagster.orchestration.partitions import DATES_EXTRACTION, DEPARTEMENTS, snapshot_key

from .conftest import EXPECTED
from .landing_files import company, hold_back, land, pipeline_resources, write_extract

T0, T1 = dt.date(2026, 11, 20), dt.date(2026, 11, 27)


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _expected(name: str) -> tuple[list[str], list[list[str]]]:
    with (EXPECTED / name).open(encoding="utf-8", newline="") as fh:
        header, *rows = list(csv.reader(fh))
    return header, sorted(rows)


def _rows(con: duckdb.DuckDBPyConnection, table: str, header: list[str]) -> list[list[str]]:
    return sorted([_text(v) for v in r] for r in con.execute(f"SELECT {', '.join(header)} FROM {table}").fetchall())


def _history(landing: Path) -> duckdb.DuckDBPyConnection:
    """Every snapshot of every department first, then the pairs: an impact row reads the other departments'
    snapshots dated <= its t0 (contract v3, section 9)."""
    con = duckdb.connect()
    warehouse.create_raw_and_quality(con)
    ingest_landing(con, landing)
    snapshots = con.execute("SELECT DISTINCT departement, date_extraction FROM quality.chargements "
                            "WHERE departement IS NOT NULL ORDER BY 1, 2").fetchall()
    for dept, day in snapshots:
        build_snapshot(con, dept, day)
    for dept, day in snapshots:
        build_movements(con, dept, day)
        build_impact(con, dept, day)
    return con


@pytest.fixture(scope="module")
def samples(sample_landing: Path) -> duckdb.DuckDBPyConnection:
    return _history(sample_landing)


def test_samples_give_the_expected_history(samples: duckdb.DuckDBPyConnection) -> None:
    for name, table in (("positions_historique.csv", "history.positions_historique"),
                        ("mouvements.csv", "history.mouvements"), ("impact.csv", "history.impact")):
        header, expected = _expected(name)
        assert _rows(samples, table, header) == expected, name


def test_samples_reconcile_and_impact_is_the_sum_of_movements(samples: duckdb.DuckDBPyConnection) -> None:
    passed, details = reconciliation(samples, "17", T1)
    assert passed, details
    # fine 1700000000005 is tracked at t0 (1 000 € by name) and rejected at t1: it leaves the stock, no movement
    assert "écarts expliqués -1000.00 (REJETEE_T1)" in details["dettes"]
    assert impact_matches_movements(samples, "17", T1)[0]


def test_a_spoiled_movement_fails_the_reconciliation(sample_landing: Path) -> None:
    con = _history(sample_landing)
    assert reconciliation(con, "17", T1)[0] and impact_matches_movements(con, "17", T1) == (True, {"ecarts": "aucun"})
    # the fine's payment of 55.00 one cent higher: neither the stocks nor the stored impact row account for it
    con.execute("UPDATE history.mouvements SET montant = montant + 0.01 WHERE cle = '1700000000002'")
    passed, details = reconciliation(con, "17", T1)
    assert not passed
    assert details["dettes_lignes_non_expliquees"] == "1 : amendes:1700000000002"
    assert impact_matches_movements(con, "17", T1) == (False, {"ecarts": {"recouvre": "17375.00 ≠ 17375.01"}})
    # a new credit's movement lost: the credits' side no longer reconciles, naming that credit
    con.execute("DELETE FROM history.mouvements WHERE type = 'NOUVELLE_CREANCE'")
    passed, details = reconciliation(con, "17", T1)
    assert not passed
    assert details["creances_lignes_non_expliquees"] == "1 : credits_tva:3519-2026-0002"


def test_recomputing_an_old_snapshot_ignores_what_landed_later(landing_copy: Path) -> None:
    con = _history(landing_copy)
    before = con.execute("SELECT * FROM history.positions_historique WHERE date_situation = ? "
                         "AND departement = '17' ORDER BY siren", [T0]).fetchall()
    # a later extract and register land; the 2026-11-20 snapshot is computed again
    for folder in landing_copy.iterdir():
        for f in folder.glob("*20261127.csv"):
            shutil.copy(f, f.with_name(f.name.replace("20261127", "20261204")))
    ingest_landing(con, landing_copy)
    build_snapshot(con, "17", T0)
    after = con.execute("SELECT * FROM history.positions_historique WHERE date_situation = ? "
                        "AND departement = '17' ORDER BY siren", [T0]).fetchall()
    assert after == before and len(before) == 12


# --------------------------------------------------------------------------- one movement type at a time

A, B, C = "355512575", "240040410", "114139017"  # three in-scope companies


def _pair(tmp_path: Path, source: str, before: list[dict], after: list[dict], register: list | None = None) -> list:
    """Movements of department 17 between two files of `source` (2026-11-20, 2026-11-27)."""
    landing = tmp_path / "landing"
    write_extract(landing, "entreprises", "20261120",
                  register or [company(A, "ALPHA SA"), company(B, "BETA SAS"), company(C, "GAMMA SARL")])
    write_extract(landing, source, "20261120", before)
    write_extract(landing, source, "20261127", after)
    con = _history(landing)
    assert reconciliation(con, "17", T1)[0], reconciliation(con, "17", T1)[1]
    return con.execute("SELECT siren, cle, type, montant FROM history.mouvements ORDER BY cle, type").fetchall()


def _fine(key: str, siren: str, due: str, paid: str, status: str) -> dict[str, str]:
    return dict(NUM_AMENDE=key, DATE_MAJORATION="10/03/2026", RAISON_SOCIALE="X", SIREN=siren, CODE_POSTAL="17000",
                MONTANT_MAJORE=due, MONTANT_PAYE=paid, STATUT=status)


def _tax(key: str, siren: str, rights: int, penalties: int, paid: int, sursis: str = "N") -> dict[str, str]:
    return dict(SIREN=siren, REF_ARTICLE=key, CODE_IMPOT="CFE", PERIODE="2026", DATE_EXIGIBILITE="20261015",
                MT_DROITS_CTS=str(rights), MT_PENALITES_CTS=str(penalties), MT_PAYE_CTS=str(paid), PHASE="AMIABLE",
                SURSIS=sursis)


def test_fines_paid_cancelled_written_off_gone_and_new(tmp_path: Path) -> None:
    before = [_fine("F1", A, "300,00", "100,00", "EN_RECOUVREMENT"),  # will be paid in full
              _fine("F2", A, "180,00", "0,00", "EN_RECOUVREMENT"),  # will be cancelled
              _fine("F3", B, "450,00", "50,00", "EN_RECOUVREMENT"),  # will be written off
              _fine("F4", B, "90,00", "0,00", "EN_RECOUVREMENT"),  # will disappear
              _fine("F5", C, "135,00", "0,00", "PAYEE")]  # closed: not tracked
    after = [_fine("F1", A, "300,00", "300,00", "PAYEE"),
             _fine("F2", A, "180,00", "0,00", "ANNULEE"),
             _fine("F3", B, "450,00", "50,00", "ADMISE_NON_VALEUR"),
             _fine("F5", C, "135,00", "0,00", "PAYEE"),
             _fine("F6", C, "750,00", "0,00", "EN_RECOUVREMENT")]
    assert _pair(tmp_path, "amendes", before, after) == [
        (A, "F1", "PAIEMENT", Decimal("200.00")),  # P: 100 → 300 (PAYEE: P = D)
        (A, "F2", "ANNULATION", Decimal("180.00")),  # the rest at t0
        (B, "F3", "NON_VALEUR", Decimal("400.00")),  # 450 − 50
        (B, "F4", "SORTIE", Decimal("90.00")),
        (C, "F6", "NOUVELLE", Decimal("750.00")),
    ]


def test_a_tax_paid_with_penalties_added_and_another_relieved(tmp_path: Path) -> None:
    before = [_tax("T1", A, 1_000_000, 0, 200_000), _tax("T2", B, 500_000, 50_000, 0)]
    after = [_tax("T1", A, 1_000_000, 100_000, 500_000),  # paid 3 000 more, penalties 1 000 added
             _tax("T2", B, 300_000, 50_000, 0)]  # relieved by 2 000
    assert _pair(tmp_path, "impots_pro", before, after) == [
        (A, "T1", "HAUSSE", Decimal("1000.00")),
        (A, "T1", "PAIEMENT", Decimal("3000.00")),
        (B, "T2", "ANNULATION", Decimal("2000.00")),
    ]


def _vat(key: str, siren: str, claimed: str, granted: str, status: str) -> dict[str, str]:
    return dict(SIREN=siren, NUM_DEMANDE=key, DATE_DEPOT="01/09/2026", PERIODE="202608", MONTANT_DEMANDE=claimed,
                MONTANT_ACCORDE=granted, STATUT=status)


def test_credits_applied_refunded_new_and_gone(tmp_path: Path) -> None:
    before = [_vat("V1", A, "5000,00", "4000,00", "ACCORDEE"),  # certain, then applied to the debts
              _vat("V2", B, "900,00", "", "EN_INSTRUCTION"),  # potential, then refunded within the week
              _vat("V3", C, "800,00", "", "DEPOSEE"),  # potential, then accepted: a new certain credit
              _vat("V4", C, "300,00", "300,00", "ACCORDEE")]  # certain, then gone from the file
    after = [_vat("V1", A, "5000,00", "4000,00", "IMPUTEE"),
             _vat("V2", B, "900,00", "850,00", "REMBOURSEE"),
             _vat("V3", C, "800,00", "800,00", "ACCORDEE")]
    assert _pair(tmp_path, "credits_tva", before, after) == [
        (A, "V1", "IMPUTATION", Decimal("4000.00")),  # C(t0)
        (B, "V2", "REMBOURSEMENT", Decimal("850.00")),  # never certain: its t1 amount (MONTANT_ACCORDE)
        (C, "V3", "NOUVELLE_CREANCE", Decimal("800.00")),
        (C, "V4", "SORTIE", Decimal("300.00")),
    ]


def test_a_key_rejected_in_the_later_file_gives_no_movement(tmp_path: Path) -> None:
    before = [_fine("F1", A, "300,00", "0,00", "EN_RECOUVREMENT"), _fine("F2", A, "100,00", "0,00", "EN_RECOUVREMENT")]
    after = [_fine("F1", A, "trois cents", "0,00", "EN_RECOUVREMENT"),  # unreadable: rejected, not gone
             _fine("F2", A, "100,00", "40,00", "EN_RECOUVREMENT")]
    assert _pair(tmp_path, "amendes", before, after) == [(A, "F2", "PAIEMENT", Decimal("40.00"))]


def test_impact_flags_offsets_made_and_refunds_at_risk(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    write_extract(landing, "entreprises", "20261120", [company(A, "ALPHA SA"), company(B, "BETA SAS")])
    for day, (v_a, v_b) in (("20261120", ("ACCORDEE", "ACCORDEE")), ("20261127", ("IMPUTEE", "REMBOURSEE"))):
        write_extract(landing, "credits_tva", day, [_vat("VA", A, "3000,00", "3000,00", v_a),
                                                     _vat("VB", B, "2000,00", "2000,00", v_b)])
        # A owes a due tax of 1 000 (offsettable), B one of 500: both could be offset at t0
        write_extract(landing, "impots_pro", day, [_tax("TA", A, 100_000, 0, 0), _tax("TB", B, 50_000, 0, 0)])
    con = _history(landing)
    row = con.execute("SELECT compense, compense_signale, rembourse, rembourse_a_risque, compensable_debut "
                      "FROM history.impact").fetchone()
    # compensable at t0: A min(3 000, 1 000) = 1 000, B min(2 000, 500) = 500
    assert row == (Decimal("3000.00"), Decimal("1000.00"), Decimal("2000.00"), Decimal("500.00"),
                   Decimal("1500.00"))
    assert build_impact_national(con, ["17"]) == 1
    rate = con.execute("SELECT groupe, taux_compensation FROM history.impact_national").fetchone()
    assert rate == ("pilotes", Decimal("0.6667"))  # 1 000 / 1 500


# --------------------------------------------------------------------------- Dagster


def test_backfill_of_two_snapshots_through_dagster(landing_copy: Path, tmp_path: Path) -> None:
    from onevision_dagster.definitions import all_assets

    # department 95's extracts land late: first the register and 17 alone
    late = hold_back(landing_copy, "95", tmp_path / "late95")
    path = tmp_path / "w.duckdb"
    resources = pipeline_resources(landing_copy, tmp_path)
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(DEPARTEMENTS, ["17", "95"])
    sources = [k for a in all_assets if a.partitions_def is not None for k in a.keys if k.path[0] == "raw"]
    assert dg.materialize(all_assets, selection=dg.AssetSelection.assets(["raw", "entreprises"]),
                          resources=resources, instance=instance).success
    assert dg.materialize(all_assets, selection=dg.AssetSelection.assets(*sources), partition_key="17",
                          resources=resources, instance=instance).success
    instance.add_dynamic_partitions(DATES_EXTRACTION, ["2026-11-20", "2026-11-27"])
    history = dg.AssetSelection.groups("historique")
    # the later date first: its movements compute the earlier snapshot they need
    for day in ("2026-11-27", "2026-11-20"):
        result = dg.materialize(all_assets, selection=history, partition_key=snapshot_key(day, "17"),
                                resources=resources, instance=instance)
        assert result.success
        checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
        assert checks == {"mouvements_reconcilient_les_stocks": True, "impact_egal_somme_des_mouvements": True}
    with duckdb.connect(str(path), read_only=True) as con:
        # no extract of 95 yet: 17's refunds at risk count only SOLAIRE ATLANTIQUE's taxes in 17 (1 375)
        assert con.execute("SELECT rembourse_a_risque, compensable_debut FROM history.impact "
                           "WHERE departement = '17'").fetchone() == (Decimal("1375.00"), Decimal("16375.00"))
    # 95's extracts land: its snapshot of 2026-11-20 is dated <= 17's t0, so 17's impact row changes (v3, section 9)
    land(late, landing_copy)
    assert dg.materialize(all_assets, selection=dg.AssetSelection.assets(*sources), partition_key="95",
                          resources=resources, instance=instance).success
    for day in ("2026-11-20", "2026-11-27"):
        assert dg.materialize(all_assets, selection=history, partition_key=snapshot_key(day, "95"),
                              resources=resources, instance=instance).success
    national = dg.materialize(all_assets, selection=dg.AssetSelection.assets(["history", "impact_national"]),
                              resources=resources, instance=instance)
    meta = national.get_asset_materialization_events()[0].materialization.metadata
    assert meta["impacts_recalcules"].value == "17 20/11/2026→27/11/2026"
    # and `onevision run` / `onevision historique` print it under the national stage of their summary
    from onevision_dagster.orchestration.runner import _notes

    assert _notes(national) == ["impacts recalculés (un instantané d'un autre département, daté au plus de leur "
                                "début, calculé après eux) : 17 20/11/2026→27/11/2026"]
    # a date without extracts of the department materializes empty, and says so
    instance.add_dynamic_partitions(DATES_EXTRACTION, ["2026-11-23"])
    empty = dg.materialize(all_assets, selection=dg.AssetSelection.assets(["history", "positions_historique"]),
                           partition_key=snapshot_key("2026-11-23", "17"), resources=resources, instance=instance)
    meta = empty.get_asset_materialization_events()[0].materialization.metadata
    assert meta["dagster/row_count"].value == 0 and meta["instantane"].value == "aucun extrait à cette date"
    with duckdb.connect(str(path), read_only=True) as con:
        # now 4 375: its CFE of 3 000 in 95 could have been offset too
        for name, table in (("positions_historique.csv", "history.positions_historique"),
                            ("mouvements.csv", "history.mouvements"), ("impact.csv", "history.impact")):
            header, expected = _expected(name)
            assert _rows(con, table, header) == expected, name


def test_an_impact_computes_the_other_departments_snapshots_it_reads(sample_landing: Path) -> None:
    """17's pair alone, in an empty history: 95's snapshot of 2026-11-20 is computed for the offsettable at t0."""
    con = duckdb.connect()
    warehouse.create_raw_and_quality(con)
    ingest_landing(con, sample_landing)
    for day in (T0, T1):
        build_snapshot(con, "17", day)
    build_movements(con, "17", T1)
    build_impact(con, "17", T1)
    assert con.execute("SELECT departement, date_situation FROM history.instantanes WHERE departement = '95'"
                       ).fetchall() == [("95", T0)]
    assert con.execute("SELECT rembourse_a_risque FROM history.impact WHERE departement = '17'").fetchone() == (
        Decimal("4375.00"),)


def test_onevision_historique_rebuilds_one_department_from_the_command_line(sample_landing: Path,
                                                                          tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    onevision = Path(sys.executable).parent / "onevision"
    env = {**os.environ, "ONEVISION_IMAGES": "0"}
    warehouse_path = str(tmp_path / "w.duckdb")
    run = subprocess.run([str(onevision), "run", "--landing", str(sample_landing), "--warehouse", warehouse_path,
                          "--rapports", str(tmp_path / "r"), "--sans-historique"], env=env, capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    with duckdb.connect(warehouse_path, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM history.positions_historique").fetchone()[0] == 0
    backfill = subprocess.run([str(onevision), "historique", "--departement", "17", "--tout", "--warehouse",
                               warehouse_path, "--landing", str(sample_landing)], env=env, capture_output=True,
                              text=True, timeout=600)
    assert backfill.returncode == 0, backfill.stderr
    assert "historique 17 (2 instantané(s))" in backfill.stdout
    with duckdb.connect(warehouse_path, read_only=True) as con:
        header, expected = _expected("impact.csv")
        # 17's row reads 95's snapshot of 2026-11-20 (computed for it); 95's own pairs were not asked for
        assert _rows(con, "(SELECT * FROM history.impact WHERE departement = '17')", header) == [
            r for r in expected if r[0] == "17"]
    refused = subprocess.run([str(onevision), "historique", "--departement", "91", "--warehouse", warehouse_path],
                             env=env, capture_output=True, text=True, timeout=600)
    assert refused.returncode == 1 and "Département(s) jamais chargé(s)" in refused.stderr
