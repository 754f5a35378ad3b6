"""Each rule of contract version 2 on real files, with the figures computed by hand.

One landing zone of department 17 dated 2026-11-27, each company written to show one rule; the register has a
file dated before the extracts and one landed after them (section 9: the later one must not be used).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from onevision_dagster import warehouse
from onevision_dagster.consolidate.build import build_all
from onevision_dagster.contract.sources import SOURCES_BY_NAME
from onevision_dagster.ingest.load import ingest_landing, read_source_file

from .landing_files import company, write_extract

AS_OF = "20261127"
REFUND = "355512575"  # IS receivables refundable today and tomorrow
DECLARED = "240040410"  # tax claims filed in a procedure the register does not show
WRITTEN_OFF = "114139017"  # only a written-off fine
FOREIGN_RCS = "262803281"  # 3120: foreign company registered in France, in scope
FOREIGN_STATE = "914143524"  # 3110: foreign State's body, out of scope
FOREIGN_NOT_RCS = "558417846"  # 3220: foreign company not registered, in scope
REJECTED = "204640775"  # its register row is rejected
LATER_PROCEDURE = "423224419"  # liquidation known only from a register landed after the extracts
APPLIED = "461598674"  # a VAT refund applied to its debts (IMPUTEE)


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("v2") / "landing"
    register = [
        company(REFUND, "REMBOURSEMENTS SA"),
        company(DECLARED, "PASSIF DECLARE SAS"),
        company(WRITTEN_OFF, "NON VALEUR SARL"),
        company(FOREIGN_RCS, "FOREIGN TRADING LTD", categorie="3120"),
        company(FOREIGN_STATE, "AGENCE D'ETAT ETRANGERE", categorie="3110"),
        company(FOREIGN_NOT_RCS, "OFFSHORE GMBH", categorie="3220"),
        {**company(REJECTED, "REGISTRE FAUTIF"), "date_creation": "2019-02-30"},
        company(LATER_PROCEDURE, "PROCEDURE TARDIVE"),
        company(APPLIED, "IMPUTATION SA"),
    ]
    write_extract(root, "entreprises", "20261120", register)
    # landed after the department's extracts: must not change the 2026-11-27 snapshot (section 9)
    later = [r if r["siren"] != LATER_PROCEDURE else company(LATER_PROCEDURE, "PROCEDURE TARDIVE",
                                                                procedure="LIQUIDATION", jugement="2026-11-26")
             for r in register]
    write_extract(root, "entreprises", "20261204", later)
    write_extract(root, "impots_pro", AS_OF, [
        # REFUND: a due CFE of 1 000,00
        dict(SIREN=REFUND, REF_ARTICLE="R1", CODE_IMPOT="CFE", PERIODE="2026", DATE_EXIGIBILITE="20261015",
             MT_DROITS_CTS="100000", MT_PENALITES_CTS="0", MT_PAYE_CTS="0", PHASE="AMIABLE", SURSIS="N"),
        # DECLARED: IS 2 000 filed in a procedure, CFE 500 due, VAT 300 filed but not yet due
        dict(SIREN=DECLARED, REF_ARTICLE="D1", CODE_IMPOT="IS", PERIODE="2025", DATE_EXIGIBILITE="20250515",
             MT_DROITS_CTS="200000", MT_PENALITES_CTS="0", MT_PAYE_CTS="0", PHASE="PASSIF_PROCEDURE", SURSIS="N"),
        dict(SIREN=DECLARED, REF_ARTICLE="D2", CODE_IMPOT="CFE", PERIODE="2026", DATE_EXIGIBILITE="20261015",
             MT_DROITS_CTS="50000", MT_PENALITES_CTS="0", MT_PAYE_CTS="0", PHASE="AMIABLE", SURSIS="N"),
        dict(SIREN=DECLARED, REF_ARTICLE="D3", CODE_IMPOT="TVA", PERIODE="202611", DATE_EXIGIBILITE="20261224",
             MT_DROITS_CTS="30000", MT_PENALITES_CTS="0", MT_PAYE_CTS="0", PHASE="PASSIF_PROCEDURE", SURSIS="N"),
        # FOREIGN_RCS: a due IS of 800,00
        dict(SIREN=FOREIGN_RCS, REF_ARTICLE="F1", CODE_IMPOT="IS", PERIODE="2026", DATE_EXIGIBILITE="20260415",
             MT_DROITS_CTS="80000", MT_PENALITES_CTS="0", MT_PAYE_CTS="0", PHASE="MISE_EN_DEMEURE", SURSIS="N"),
        # LATER_PROCEDURE: a due TS of 700,00
        dict(SIREN=LATER_PROCEDURE, REF_ARTICLE="L1", CODE_IMPOT="TS", PERIODE="2026",
             DATE_EXIGIBILITE="20260415", MT_DROITS_CTS="70000", MT_PENALITES_CTS="0", MT_PAYE_CTS="0",
             PHASE="AMIABLE", SURSIS="N"),
        # APPLIED: a due VAT of 250,00 left after the refund was applied
        dict(SIREN=APPLIED, REF_ARTICLE="A1", CODE_IMPOT="TVA", PERIODE="202609", DATE_EXIGIBILITE="20261024",
             MT_DROITS_CTS="25000", MT_PENALITES_CTS="0", MT_PAYE_CTS="0", PHASE="AMIABLE", SURSIS="N"),
    ])
    write_extract(root, "creances_is", AS_OF, [
        dict(SIREN=REFUND, REF_CREANCE="C-TODAY", TYPE_CREANCE="CIR", EXERCICE="2023", MONTANT="600,00",
             DATE_REMBOURSABLE="27/11/2026", STATUT="REMBOURSABLE"),
        dict(SIREN=REFUND, REF_CREANCE="C-TOMORROW", TYPE_CREANCE="CIR", EXERCICE="2023", MONTANT="900,00",
             DATE_REMBOURSABLE="28/11/2026", STATUT="REMBOURSABLE"),
        dict(SIREN=LATER_PROCEDURE, REF_CREANCE="C-L", TYPE_CREANCE="CARRY_BACK", EXERCICE="2024",
             MONTANT="400,00", STATUT="REMBOURSABLE"),
    ])
    write_extract(root, "excedents", AS_OF, [
        dict(SIREN=DECLARED, REF_EXCEDENT="E-D", IMPOT="CVAE", EXERCICE="2025", MONTANT="1500,00",
             DATE_CONSTAT="01/10/2026", STATUT="A_RESTITUER"),
    ])
    write_extract(root, "credits_tva", AS_OF, [
        dict(SIREN=APPLIED, NUM_DEMANDE="T-A", DATE_DEPOT="01/09/2026", PERIODE="202608", MONTANT_DEMANDE="500,00",
             MONTANT_ACCORDE="500,00", STATUT="IMPUTEE"),
    ])
    write_extract(root, "amendes", AS_OF, [
        dict(NUM_AMENDE="WO-1", DATE_MAJORATION="10/03/2026", RAISON_SOCIALE="NON VALEUR SARL", SIREN=WRITTEN_OFF,
             CODE_POSTAL="17000", MONTANT_MAJORE="450,00", MONTANT_PAYE="50,00", STATUT="ADMISE_NON_VALEUR"),
        dict(NUM_AMENDE="TODAY", DATE_MAJORATION="27/11/2026", RAISON_SOCIALE="NON VALEUR SARL",
             SIREN=WRITTEN_OFF, CODE_POSTAL="17000", MONTANT_MAJORE="135,00", MONTANT_PAYE="135,00",
             STATUT="PAYEE"),
        dict(NUM_AMENDE="TOMORROW", DATE_MAJORATION="28/11/2026", RAISON_SOCIALE="NON VALEUR SARL",
             SIREN=WRITTEN_OFF, CODE_POSTAL="17000", MONTANT_MAJORE="135,00", MONTANT_PAYE="0,00",
             STATUT="EN_RECOUVREMENT"),
        dict(NUM_AMENDE="REJ-1", DATE_MAJORATION="10/03/2026", RAISON_SOCIALE="REGISTRE FAUTIF", SIREN=REJECTED,
             CODE_POSTAL="17000", MONTANT_MAJORE="90,00", MONTANT_PAYE="0,00", STATUT="EN_RECOUVREMENT"),
    ])
    write_extract(root, "rnf", AS_OF, [
        dict(numero_titre="RNF-F1", identifiant_debiteur=FOREIGN_RCS, date_emission="2026-05-01", montant="1000.00",
             montant_recouvre="0.00", statut="EN_RECOUVREMENT"),
        dict(numero_titre="RNF-F2", identifiant_debiteur=FOREIGN_STATE, date_emission="2026-05-01",
             montant="1000.00", montant_recouvre="0.00", statut="EN_RECOUVREMENT"),
        dict(numero_titre="RNF-F3", identifiant_debiteur=FOREIGN_NOT_RCS, date_emission="2026-05-01",
             montant="1000.00", montant_recouvre="0.00", statut="EN_RECOUVREMENT"),
    ])
    return root


@pytest.fixture(scope="module")
def con(landing: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    warehouse.create_raw_and_quality(con)
    ingest_landing(con, landing)
    assert build_all(con) == ["17"]
    return con


def _position(con: duckdb.DuckDBPyConnection, siren: str, table: str = "marts.positions") -> dict:
    cur = con.execute(f"SELECT * FROM {table} WHERE siren = ?", [siren])
    rows = cur.fetchall()
    assert len(rows) == 1, (siren, rows)
    return dict(zip([d[0] for d in cur.description], rows[0], strict=True))


def _money(value: str) -> Decimal:
    return Decimal(value)


def test_receivable_refundable_today_is_due_tomorrow_is_not(con: duckdb.DuckDBPyConnection) -> None:
    p = _position(con, REFUND)
    assert p["creances_is"] == _money("600.00")  # DATE_REMBOURSABLE = the as-of date: due
    assert p["creances_a_echoir"] == _money("900.00")  # the day after: certain, not due
    assert p["total_creances"] == _money("600.00")
    # offset only what is due: min(600, 1 000)
    assert (p["dettes_compensables"], p["montant_compensable"]) == (_money("1000.00"), _money("600.00"))
    assert "solde" not in p  # contract v3: credits and debts are never netted into a balance
    assert (p["total_dettes"], p["dettes_poursuivables"]) == (_money("1000.00"), _money("1000.00"))


def test_claim_filed_in_a_procedure_the_register_does_not_show_blocks_offsetting(
        con: duckdb.DuckDBPyConnection) -> None:
    p = _position(con, DECLARED)
    assert p["procedure_collective"] is None
    assert p["dettes_impots_pro"] == _money("2500.00")  # IS 2 000 (declared) + CFE 500, both due
    assert p["dettes_a_echoir"] == _money("300.00")  # the declared VAT is not yet due
    assert p["passif_declare"] == _money("2300.00")  # declared claims, due or not
    # contract v3: a filed claim proves a procedure; every past-due line is suspended, nothing is offsettable
    assert (p["dettes_suspendues"], p["dettes_poursuivables"]) == (_money("2500.00"), _money("0.00"))
    assert p["dettes_compensables"] == _money("0.00")
    assert p["total_creances"] == _money("1500.00")
    assert p["montant_compensable"] == _money("0.00")
    nat = _position(con, DECLARED, "marts.positions_nationales")
    assert (nat["passif_declare"], nat["montant_compensable"]) == (_money("2300.00"), _money("0.00"))


def test_written_off_fine_is_shown_apart(con: duckdb.DuckDBPyConnection) -> None:
    p = _position(con, WRITTEN_OFF)
    assert p["dettes_non_valeur"] == _money("400.00")  # 450 − 50
    assert (p["dettes_amendes"], p["total_dettes"], p["nb_sources_dettes"]) == (_money("0"), _money("0"), 0)
    assert p["anciennete_jours"] is None  # no due debt


def test_foreign_companies_3120_and_3220_are_in_scope_3110_is_not(con: duckdb.DuckDBPyConnection) -> None:
    assert _position(con, FOREIGN_RCS)["total_dettes"] == _money("1800.00")  # rnf 1 000 + IS 800
    assert _position(con, FOREIGN_RCS)["montant_compensable"] == _money("0.00")  # no credit
    assert _position(con, FOREIGN_NOT_RCS)["dettes_rnf"] == _money("1000.00")
    assert con.execute("SELECT count(*) FROM marts.positions WHERE siren = ?", [FOREIGN_STATE]).fetchone()[0] == 0
    motif = con.execute("SELECT motif FROM core.non_positionnees WHERE siren = ?", [FOREIGN_STATE]).fetchall()
    assert motif == [("HORS_PERIMETRE",)]


def test_fine_surcharged_after_the_file_date_is_rejected(landing: Path) -> None:
    result = read_source_file(SOURCES_BY_NAME["amendes"], landing / "amendes" / f"amendes_17_{AS_OF}.csv")
    rejects = result.rejects.set_index("cle")
    assert list(rejects.index) == ["TOMORROW"]
    assert rejects.loc["TOMORROW", "motif"] == "FUTURE_DATE"
    assert rejects.loc["TOMORROW", "colonne"] == "DATE_MAJORATION"
    assert rejects.loc["TOMORROW", "message"] == (
        "DATE_MAJORATION : '28/11/2026' est postérieure à la date d'extraction du fichier (27/11/2026) : "
        "une dette ne peut être en recouvrement avant d'exister")
    assert "TODAY" in set(result.kept["num_amende"])  # surcharged on the file's date: valid


def test_register_row_rejected_lists_its_lines_as_such(con: duckdb.DuckDBPyConnection) -> None:
    rows = con.execute("SELECT source, reference, motif FROM core.non_positionnees WHERE siren = ?",
                       [REJECTED]).fetchall()
    assert rows == [("amendes", "REJ-1", "REGISTRE_REJETE")]


def test_vat_refund_applied_to_debts_is_nothing_owed(con: duckdb.DuckDBPyConnection) -> None:
    p = _position(con, APPLIED)
    assert (p["creances_tva"], p["total_creances"], p["creances_potentielles"]) == (_money("0"),) * 3
    assert p["total_dettes"] == _money("250.00")
    kept = con.execute("SELECT statut, montant_accorde FROM raw.credits_tva").fetchall()
    assert kept == [("IMPUTEE", _money("500.00"))]


def test_register_landed_after_the_extracts_does_not_change_the_snapshot(con: duckdb.DuckDBPyConnection) -> None:
    p = _position(con, LATER_PROCEDURE)
    # the register dated <= 2026-11-27 (2026-11-20) shows no procedure: offsetting open, min(400, 700)
    assert p["procedure_collective"] is None and p["montant_compensable"] == _money("400.00")
    nat = _position(con, LATER_PROCEDURE, "marts.positions_nationales")
    assert nat["procedure_collective"] is None and nat["montant_compensable"] == _money("400.00")
    assert p["date_situation"] == dt.date(2026, 11, 27)
