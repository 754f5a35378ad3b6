"""Consolidation on the samples (exact expected outputs) and on a hand-built multi-department case."""

from __future__ import annotations

import csv
import datetime as dt
import math
from decimal import Decimal

import duckdb
import pandas as pd
import pytest

from onevision_dagster import warehouse
from onevision_dagster.consolidate import build as consolidation
from onevision_dagster.consolidate import tables
from onevision_dagster.consolidate.build import build_all, build_departement, build_national, date_situation
from onevision_dagster.consolidate.matching import normalise_names
from onevision_dagster.consolidate.schemas import TABLE_MODELS
from onevision_dagster.consolidate.table_validation import validate_table
from onevision_dagster.consolidate.tables import NATIONAL_POSITION_COLUMNS, POSITION_COLUMNS
from onevision_dagster.contract.sources import in_scope_sql
from onevision_dagster.ingest.load import ingest_landing
from onevision_dagster.warehouse import TOMBSTONES

from .conftest import EXPECTED, SAMPLE_LANDING

LANDING = SAMPLE_LANDING


# --------------------------------------------------------------------------- helpers


def sample_warehouse() -> duckdb.DuckDBPyConnection:
    """In-memory warehouse loaded from the sample landing zone by the real ingestion."""
    assert LANDING.is_dir(), f"samples not found at {LANDING}"
    con = duckdb.connect()
    warehouse.create_raw_and_quality(con)
    ingest_landing(con, LANDING)
    return con


def as_text(value: object) -> str:
    """The expected files' conventions: ISO dates, decimal point, empty for null."""
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    return str(value)


def table_rows(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[list[str]]:
    return [[as_text(v) for v in row] for row in con.execute(sql, params or []).fetchall()]


def expected_rows(name: str) -> tuple[list[str], list[list[str]]]:
    with (EXPECTED / name).open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1:]


def insert_raw(
    con: duckdb.DuckDBPyConnection, source: str, departement: str | None, date: str, rows: list[dict]
) -> None:
    """Rows straight into raw.<source> (as the ingestion would store them) plus a load record."""
    fichier = f"{source}_{departement}_{date.replace('-', '')}.csv" if departement else f"{source}.csv"
    if rows:
        df = pd.DataFrame(rows).astype(object).where(pd.DataFrame(rows).notna(), None)
        df["ligne"] = range(2, len(df) + 2)
        if "siren" not in df:
            df["siren"] = None
        con.register("_rows", df)
        extra = "$dept AS departement, " if departement else ""
        con.execute(
            f"INSERT INTO raw.{source} BY NAME SELECT *, {extra}$f AS fichier, "
            "CAST($d AS DATE) AS date_extraction "
            "FROM _rows",
            {"f": fichier, "d": date, **({"dept": departement} if departement else {})},
        ).fetchall()
        con.unregister("_rows")
    if departement:
        con.execute(
            "INSERT INTO quality.chargements (source, departement, fichier, date_extraction, lignes_lues, "
            "lignes_gardees, lignes_rejetees, charge_le, statut) "
            "VALUES (?, ?, ?, CAST(? AS DATE), ?, ?, 0, now(), 'CHARGE')",
            [source, departement, fichier, date, len(rows), len(rows)],
        ).fetchall()


def add_company(con: duckdb.DuckDBPyConnection, **row: str | None) -> None:
    """A register row, added to every register version loaded (as if every register file listed it)."""
    row.setdefault("sigle", None)
    row.setdefault("procedure_collective", None)
    row.setdefault("date_jugement", None)
    row.setdefault("etat_administratif", "A")
    row["nom_normalise"] = normalise_names(pd.Series([row["denomination"]])).iloc[0]
    row["sigle_normalise"] = normalise_names(pd.Series([row["sigle"]], dtype=object)).iloc[0]
    df = pd.DataFrame([row]).astype(object)
    con.register("_co", df)
    con.execute("INSERT INTO raw.entreprises BY NAME SELECT _co.*, v.date_extraction FROM _co, "
                "(SELECT DISTINCT date_extraction FROM raw.entreprises) v").fetchall()
    con.unregister("_co")


def validate_all(con: duckdb.DuckDBPyConnection) -> None:
    for table in TABLE_MODELS:
        validate_table(con, table, None)  # TableCheckFailed (Pandera's verdict) when a model rejects the rows


@pytest.fixture(scope="module")
def samples() -> duckdb.DuckDBPyConnection:
    con = sample_warehouse()
    assert build_all(con) == ["17", "95"]
    return con


# --------------------------------------------------------------------------- samples


def test_positions_17_match_expected(samples: duckdb.DuckDBPyConnection) -> None:
    header, expected = expected_rows("positions_17.csv")
    assert tuple(header) == POSITION_COLUMNS
    got = table_rows(
        samples, f"SELECT {', '.join(header)} FROM marts.positions WHERE departement = '17' ORDER BY siren"
    )
    assert got == expected


def test_positions_nationales_match_expected(samples: duckdb.DuckDBPyConnection) -> None:
    header, expected = expected_rows("positions_nationales.csv")
    assert tuple(header) == NATIONAL_POSITION_COLUMNS
    got = table_rows(samples, f"SELECT {', '.join(header)} FROM marts.positions_nationales ORDER BY siren")
    assert got == expected


def test_non_positionnees_match_expected(samples: duckdb.DuckDBPyConnection) -> None:
    header, expected = expected_rows("non_positionnees.csv")
    got = table_rows(
        samples, f"SELECT {', '.join(header)} FROM core.non_positionnees ORDER BY source, fichier, ligne"
    )
    assert got == expected


def test_fine_attachment_methods(samples: duckdb.DuckDBPyConnection) -> None:
    got = {
        r[0]: tuple(r[1:])
        for r in table_rows(
            samples,
            "SELECT ligne, methode, siren, motif, nb_candidats FROM core.rattachement_amendes "
            "WHERE departement = '17'",
        )
    }
    # the kept fines of the latest file (2026-11-27; lines 6, 9, 10, 11, 13, 16 and 18 are rejected)
    assert got == {
        "2": ("SIREN", "812345676", "", ""),
        "3": ("SIREN_SANS_ESPACES", "812345676", "", ""),
        "4": ("NOM_CODE_POSTAL", "812345676", "", "1"),
        "5": ("", "", "AMBIGUE", "2"),
        "7": ("SIREN", "443210984", "", ""),
        "8": ("SIREN", "443210984", "", ""),
        "12": ("NOM_CODE_POSTAL", "520987611", "", "1"),
        "14": ("", "", "AUCUN_CANDIDAT", "0"),
        "17": ("SIREN", "790112239", "", ""),
        "19": ("SIREN", "735173510", "", ""),
        "20": ("SIREN", "301122339", "", ""),
        "21": ("SIREN", "444555668", "", ""),
        "22": ("SIREN", "845123454", "", ""),
        "23": ("SIREN", "443210984", "", ""),
    }  # line 15, DUPONT JEAN's, a sole trader's: withdrawn, nothing of it kept but its place (v3)
    assert samples.execute(f"SELECT source, departement, fichier, ligne FROM {TOMBSTONES} "
                           "WHERE date_extraction = DATE '2026-11-27'").fetchall() == [
        ("amendes", "17", "amendes_17_20261127.csv", 15)]


def test_fines_match_names_and_acronyms_in_the_first_snapshot() -> None:
    """The 2026-11-20 snapshot holds the name matches the later file lost (invalid SIREN, acronym)."""
    con = sample_warehouse()
    from onevision_dagster.consolidate.fines import insert_rattachement
    from onevision_dagster.consolidate.snapshot import snapshot_at

    tables.create_tables(con)
    insert_rattachement(con, snapshot_at(con, "17", dt.date(2026, 11, 20)), "core.rattachement_amendes")
    got = {r[0]: tuple(r[1:]) for r in table_rows(
        con, "SELECT ligne, methode, siren, motif, nb_candidats FROM core.rattachement_amendes")}
    assert got["6"] == ("NOM_CODE_POSTAL", "443210984", "", "1")  # invalid SIREN, STE TRANSPORTS CHARENTAIS
    assert got["15"] == ("SIGLE_CODE_POSTAL", "800000010", "", "1")  # OMO, the register's acronym


def test_every_fine_is_attached_or_listed(samples: duckdb.DuckDBPyConnection) -> None:
    (n_fines,) = samples.execute("SELECT count(*) FROM raw.amendes WHERE date_extraction = DATE '2026-11-27'"
                                 ).fetchone()
    (n_att,) = samples.execute("SELECT count(*) FROM core.rattachement_amendes").fetchone()
    assert n_att == n_fines == 14
    orphans = samples.execute(
        """SELECT r.num_amende FROM core.rattachement_amendes r
           LEFT JOIN core.non_positionnees n
             ON n.departement = r.departement AND n.source = 'amendes' AND n.reference = r.num_amende
           WHERE r.siren IS NULL AND n.motif IS DISTINCT FROM 'NON_RATTACHEE'"""
    ).fetchall()
    assert orphans == []
    # a natural person's fine is listed out of scope by its file and line only, no SIREN, no key (v3)
    natural = samples.execute(
        f"""SELECT n.motif, n.siren, n.reference
            FROM {TOMBSTONES} t JOIN core.non_positionnees n
              ON n.departement = t.departement AND n.source = t.source AND n.fichier = t.fichier AND n.ligne = t.ligne
            WHERE t.date_extraction = DATE '2026-11-27'""").fetchall()
    assert natural == [("HORS_PERIMETRE", None, None)]


def test_every_line_is_positioned_or_listed(samples: duckdb.DuckDBPyConnection) -> None:
    rows = samples.execute(
        f"""WITH l AS (SELECT departement, source, reference, siren FROM core.lignes_dettes
                      UNION ALL SELECT departement, source, reference, siren FROM core.lignes_creances)
           SELECT count(*) FILTER (WHERE p.siren IS NULL AND n.motif IS NULL),
                  count(*) FILTER (WHERE p.siren IS NOT NULL AND n.motif IS NOT NULL),
                  count(*)
           FROM l
           LEFT JOIN (SELECT DISTINCT siren FROM raw.entreprises e
                      WHERE date_extraction = DATE '2026-11-27' AND {in_scope_sql("e")}) p ON p.siren = l.siren
           LEFT JOIN core.non_positionnees n
             ON n.departement = l.departement AND n.source = l.source AND n.reference = l.reference"""
    ).fetchone()
    assert rows[0] == 0 and rows[1] == 0
    kept = sum(samples.execute(f"SELECT count(*) FROM raw.{s} WHERE date_extraction = DATE '2026-11-27'"
                               ).fetchone()[0] for s in tables.PARTITIONED_SOURCES)
    # a natural person's lines left the warehouse: listed by their place only (the sole trader's fine)
    (natural,) = samples.execute("SELECT count(*) FROM core.non_positionnees WHERE reference IS NULL").fetchone()
    assert natural == 1
    assert rows[2] == kept
    (leak,) = samples.execute("SELECT count(*) FROM (SELECT siren FROM core.lignes_dettes UNION ALL "
                              "SELECT siren FROM core.lignes_creances UNION ALL SELECT siren FROM "
                              "core.non_positionnees) WHERE siren = '424242428'").fetchone()
    assert leak == 0


def test_money_is_never_a_float(samples: duckdb.DuckDBPyConnection) -> None:
    cols = samples.execute(
        """SELECT table_schema || '.' || table_name || '.' || column_name, data_type
           FROM information_schema.columns WHERE table_schema IN ('core', 'marts')"""
    ).fetchall()
    assert cols
    assert [c for c, t in cols if t in ("DOUBLE", "FLOAT", "REAL")] == []
    money = [c for c, t in cols if c.split(".")[-1] in POSITION_COLUMNS and c.split(".")[-1].startswith(
        ("dettes", "total", "creances", "montant"))]
    assert all(t == "DECIMAL(18,2)" for c, t in cols if c in money)


def test_pandera_models_accept_the_samples(samples: duckdb.DuckDBPyConnection) -> None:
    validate_all(samples)


# the stages' ranks as docs/warehouse.md states them, written out here rather than read from panels.STAGE_RANKS
STAGE_RANKS = {"CONTESTATION": 0, "AMIABLE": 1, "RELANCE": 2, "MISE_EN_DEMEURE": 3, "SATD": 4, "SAISIE": 4,
               "PASSIF_PROCEDURE": 5}


def _score(total: Decimal, age: int, stage: str | None) -> Decimal:
    """The panel's formula (docs/warehouse.md), by hand."""
    rank = STAGE_RANKS[stage] if stage else 0
    value = 100 * (0.5 * min(1.0, math.log(1 + float(total)) / math.log(1 + 1_000_000))
                   + 0.3 * min(1.0, age / 1095) + 0.2 * rank / 5)
    return Decimal(f"{value:.2f}")


def test_panel(samples: duckdb.DuckDBPyConnection) -> None:
    rows = samples.execute(
        """SELECT rang, siren, nb_sources_dettes, dettes_poursuivables, anciennete_jours, etape_la_plus_avancee, score
           FROM marts.panel_debiteurs_communs WHERE departement = '17' ORDER BY rang"""
    ).fetchall()
    by_siren = {r[1]: r for r in rows}
    # companies with past-due debts in two debtor sources at 2026-11-27 (expected/positions_17.csv) and something
    # pursuable (v3): ÉCURIES, MENUISERIE and FERRONNERIE (procedures), 800000010 (claim filed in a procedure) and
    # GARAGE MARTIN (sursis + contested title: all 7 530 € suspended) leave the ranking
    assert set(by_siren) == {"301122339", "443210984", "812345676"}
    assert [r[0] for r in rows] == [1, 2, 3]
    # the most advanced stage of a pursuable past-due debt, read off the 2026-11-27 files
    assert {s: r[5] for s, r in by_siren.items()} == {
        "301122339": "MISE_EN_DEMEURE",  # IS at MISE_EN_DEMEURE; the fine has no stage
        "443210984": "MISE_EN_DEMEURE",  # the CFE at SATD was paid by 2026-11-27: the VAT remains
        "812345676": "SAISIE",  # the CFE not yet due (AMIABLE) does not count; spl title 1542 at SAISIE
    }
    for siren, (_, _, nb, pursuable, age, stage, score) in by_siren.items():
        assert nb == 2
        assert score == _score(pursuable, age, stage), siren
    # BOULANGERIE: 700 + 640,50 (spl) + 80 (fine) = 1 420,50 € pursuable, 623 days
    assert by_siren["812345676"][3:5] == (Decimal("1420.50"), 623)
    scores = [r[6] for r in rows]
    assert scores == sorted(scores, reverse=True)
    national = samples.execute(
        "SELECT rang, siren, score FROM marts.panel_debiteurs_communs_national ORDER BY rang"
    ).fetchall()
    # nationally BOULANGERIE also owes its CFE 2025 of 95 (450,00, pursuable): 1 870,50 €, same age and stage
    assert [(r[0], r[1]) for r in national] == [(r[0], r[1]) for r in rows]
    assert national[0][2] == _score(Decimal("1870.50"), 623, "SAISIE")
    assert [r[2] for r in national[1:]] == [r[6] for r in rows[1:]]


def test_date_situation_from_samples(samples: duckdb.DuckDBPyConnection) -> None:
    assert date_situation(samples, "17") == dt.date(2026, 11, 27)
    assert date_situation(samples, "91") is None


def test_rebuild_is_idempotent_and_atomic(monkeypatch: pytest.MonkeyPatch) -> None:
    con = sample_warehouse()
    build_all(con)

    def snapshot() -> dict[str, list]:
        return {
            t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
            for t in tables.DEPARTEMENT_TABLES + tables.NATIONAL_TABLES
        }

    before = snapshot()
    build_all(con)
    assert snapshot() == before

    def boom(*_: object) -> None:
        raise RuntimeError("panne simulée")

    monkeypatch.setattr(consolidation, "_build_panel", boom)
    with pytest.raises(RuntimeError, match="panne"):
        build_departement(con, "17")
    assert snapshot() == before  # the DELETEs of the failed build were rolled back
    (n,) = con.execute("SELECT count(*) FROM marts.positions").fetchone()
    assert n == 13  # 11 positions in 17, 2 in 95


# --------------------------------------------------------------------------- several departments

B = "732829320"  # a company of 91 and 2A, in redressement from 2026-11-20


@pytest.fixture(scope="module")
def multi() -> duckdb.DuckDBPyConnection:
    """Samples (17) plus hand-made departments 91, 2A and 971 with different extraction dates."""
    con = sample_warehouse()
    add_company(
        con,
        siren=B,
        denomination="CHAIS DU SUD",
        categorie_juridique="5710",
        code_postal="91000",
        departement="91",
        procedure_collective="REDRESSEMENT",
        date_jugement="2026-11-20",
    )
    # department 91: sources dated 16, 18 and 19 November -> as-of 2026-11-19
    insert_raw(con, "amendes", "91", "2026-11-18", [
        # no SIREN: matched by name + postal code to TRANSPORTS CHARENTAIS (17180), whatever the department
        dict(num_amende="A91-1", date_majoration="2026-09-01", raison_sociale="Sté Transports-Charentais",
             siren_source=None, code_postal="17180", montant_majore="100.00", montant_paye="0.00",
             statut="EN_RECOUVREMENT"),
        dict(num_amende="A91-2", date_majoration="2026-09-01", raison_sociale="Inconnue SARL",
             siren_source="12345678", code_postal="91000", montant_majore="50.00", montant_paye="50.00",
             statut="PAYEE"),
    ])
    insert_raw(con, "spl", "91", "2026-11-18", [
        dict(code_collectivite="91000", exercice="2025", num_titre="1", date_emission="2025-01-01",
             siret_debiteur="44321098400011", siren="443210984", montant_titre="500.00",
             reste_a_recouvrer="300.00", etape="SAISIE"),
    ])
    insert_raw(con, "impots_pro", "91", "2026-11-18", [
        dict(siren="443210984", ref_article="91CFE1", code_impot="CFE", date_exigibilite="2026-10-01",
             mt_droits="1000.00", mt_penalites="0.00", mt_paye="0.00", phase="SATD", sursis="N"),
        # due exactly on the as-of date: offsettable
        dict(siren="443210984", ref_article="91IS2", code_impot="IS", date_exigibilite="2026-11-19",
             mt_droits="150.00", mt_penalites="50.00", mt_paye="0.00", phase="AMIABLE", sursis="N"),
        dict(siren=B, ref_article="91TVA3", code_impot="TVA", date_exigibilite="2026-06-01",
             mt_droits="3000.00", mt_penalites="0.00", mt_paye="0.00", phase="MISE_EN_DEMEURE", sursis="N"),
    ])
    insert_raw(con, "excedents", "91", "2026-11-16", [
        dict(siren="443210984", ref_excedent="E91-1", impot="IS", montant="500.00", date_constat="2026-10-10",
             statut="A_RESTITUER"),
        dict(siren="500123450", ref_excedent="E91-2", impot="IS", montant="80.00", date_constat="2026-10-10",
             statut="A_RESTITUER"),  # public body: out of scope
        dict(siren="552100554", ref_excedent="E91-3", impot="IS", montant="90.00", date_constat="2026-10-10",
             statut="IMPUTE"),  # unknown to the register, nothing owed: still listed
    ])
    insert_raw(con, "credits_tva", "91", "2026-11-18", [
        dict(siren=B, num_demande="T91-1", date_depot="2026-09-01", montant_demande="1000.00",
             montant_accorde="1000.00", statut="ACCORDEE"),
    ])
    insert_raw(con, "rnf", "91", "2026-11-19", [])  # header-only file: still dates the department
    for src in ("creances_is",):
        insert_raw(con, src, "91", "2026-11-15", [])
    # department 2A, as-of 2026-11-21
    insert_raw(con, "rnf", "2A", "2026-11-21", [
        dict(numero_titre="R2A-1", identifiant_debiteur=B, siren=B, date_emission="2026-11-01",
             montant="400.00", montant_recouvre="0.00", statut="EN_RECOUVREMENT"),
    ])
    # department 971, as-of 2026-11-10: a debt dated after the as-of date
    insert_raw(con, "spl", "971", "2026-11-10", [
        dict(code_collectivite="97101", exercice="2026", num_titre="9", date_emission="2026-12-01",
             siret_debiteur="35600000000001", siren="356000000", montant_titre="100.00",
             reste_a_recouvrer="100.00", etape="AMIABLE"),
    ])
    assert build_all(con) == ["17", "2A", "91", "95", "971"]
    return con


def position(con: duckdb.DuckDBPyConnection, table: str, siren: str, dept: str | None = None) -> dict:
    where = "siren = ?" + (" AND departement = ?" if dept else "")
    cur = con.execute(f"SELECT * FROM {table} WHERE {where}", [siren] + ([dept] if dept else []))
    names = [d[0] for d in cur.description]
    rows = cur.fetchall()
    assert len(rows) == 1, rows
    return {n: as_text(v) for n, v in zip(names, rows[0], strict=True)}


def test_department_as_of_dates(multi: duckdb.DuckDBPyConnection) -> None:
    assert date_situation(multi, "91") == dt.date(2026, 11, 19)
    assert date_situation(multi, "2A") == dt.date(2026, 11, 21)
    assert date_situation(multi, "971") == dt.date(2026, 11, 10)
    assert date_situation(multi, "17") == dt.date(2026, 11, 27)


def test_position_91(multi: duckdb.DuckDBPyConnection) -> None:
    p = position(multi, "marts.positions", "443210984", "91")
    assert p == {
        "siren": "443210984", "denomination": "TRANSPORTS CHARENTAIS", "departement": "91",
        "date_situation": "2026-11-19",
        "dettes_amendes": "100.00", "dettes_spl": "300.00", "dettes_impots_pro": "1200.00",
        "dettes_rnf": "0.00",
        "total_dettes": "1600.00", "dettes_a_echoir": "0.00", "dettes_non_valeur": "0.00",
        "creances_tva": "0.00", "creances_excedents": "500.00", "creances_is": "0.00",
        "total_creances": "500.00", "creances_a_echoir": "0.00",
        "creances_potentielles": "0.00", "dettes_suspendues": "0.00", "dettes_poursuivables": "1600.00",
        "dettes_compensables": "1200.00", "montant_compensable": "500.00", "passif_declare": "0.00",
        "nb_sources_dettes": "3", "anciennete_jours": "687", "procedure_collective": "",
    }
    b = position(multi, "marts.positions", B, "91")
    # judgment on 2026-11-20, after 91's as-of date: offsetting still possible in 91
    assert (b["montant_compensable"], b["dettes_compensables"], b["anciennete_jours"]) == (
        "1000.00", "3000.00", "171"
    )
    assert b["procedure_collective"] == "REDRESSEMENT"
    # the 17 positions are untouched by the other departments
    assert position(multi, "marts.positions", "443210984", "17")["total_dettes"] == "8510.30"


def test_national_sums_departments(multi: duckdb.DuckDBPyConnection) -> None:
    a = position(multi, "marts.positions_nationales", "443210984")
    # 17 at 2026-11-27 (expected/positions_17.csv) + 91 at 2026-11-19 (test_position_91)
    assert a == {
        "siren": "443210984", "denomination": "TRANSPORTS CHARENTAIS", "departements": "17,91",
        "date_situation": "2026-11-27",
        "dettes_amendes": "1225.00", "dettes_spl": "300.00", "dettes_impots_pro": "8585.30",
        "dettes_rnf": "0.00", "total_dettes": "10110.30", "dettes_a_echoir": "0.00", "dettes_non_valeur": "0.00",
        "creances_tva": "0.00", "creances_excedents": "500.00", "creances_is": "0.00",
        "total_creances": "500.00", "creances_a_echoir": "4000.00", "creances_potentielles": "7000.00",
        "dettes_suspendues": "0.00", "dettes_poursuivables": "10110.30", "dettes_compensables": "8585.30",
        "montant_compensable": "500.00",
        "passif_declare": "0.00", "nb_sources_dettes": "3", "anciennete_jours": "687", "procedure_collective": "",
    }
    b = position(multi, "marts.positions_nationales", B)
    assert b == {
        "siren": B, "denomination": "CHAIS DU SUD", "departements": "2A,91", "date_situation": "2026-11-21",
        "dettes_amendes": "0.00", "dettes_spl": "0.00", "dettes_impots_pro": "3000.00",
        "dettes_rnf": "400.00",
        "total_dettes": "3400.00",
        # 91's tax is pursuable at 91's as-of date (2026-11-19, before the judgment); 2A's title is suspended at
        # 2A's (2026-11-21, the procedure is open): summed, not judged again nationally (v3, section 6)
        "dettes_suspendues": "400.00", "dettes_poursuivables": "3000.00",
        "dettes_a_echoir": "0.00", "dettes_non_valeur": "0.00",
        "creances_tva": "1000.00", "creances_excedents": "0.00",
        "creances_is": "0.00", "total_creances": "1000.00", "creances_a_echoir": "0.00",
        "creances_potentielles": "0.00", "dettes_compensables": "3000.00",
        # national as-of 2026-11-21 >= judgment 2026-11-20: the procedure blocks offsetting
        "montant_compensable": "0.00", "passif_declare": "0.00",
        # recomputed from the sums: impots_pro (91) + rnf (2A), though each department has one source
        "nb_sources_dettes": "2", "anciennete_jours": "171", "procedure_collective": "REDRESSEMENT",
    }
    # La Poste paid its 17 title by 2026-11-27: only 971 remains (a title dated after 971's as-of date,
    # inserted straight into the raw table: the age is clamped to 0)
    poste = position(multi, "marts.positions_nationales", "356000000")
    got = (poste["departements"], poste["dettes_spl"], poste["anciennete_jours"])
    assert got == ("971", "100.00", "0")
    assert position(multi, "marts.positions", "356000000", "971")["anciennete_jours"] == "0"


def test_unpositioned_lines_91(multi: duckdb.DuckDBPyConnection) -> None:
    got = table_rows(
        multi,
        "SELECT source, ligne, motif, siren FROM core.non_positionnees WHERE departement = '91' "
        "ORDER BY source, ligne",
    )
    assert got == [
        ["amendes", "3", "NON_RATTACHEE", ""],
        ["excedents", "3", "HORS_PERIMETRE", "500123450"],
        ["excedents", "4", "SIREN_INCONNU", "552100554"],
    ]


def test_national_panel_and_models(multi: duckdb.DuckDBPyConnection) -> None:
    validate_all(multi)
    rows = multi.execute(
        "SELECT siren, departements, nb_sources_dettes, etape_la_plus_avancee "
        "FROM marts.panel_debiteurs_communs_national ORDER BY rang"
    ).fetchall()
    by_siren = {r[0]: r[1:] for r in rows}
    assert by_siren[B] == ("2A,91", 2, "MISE_EN_DEMEURE")
    # SATD and SAISIE (both in 91) share the top enforcement rank: the name breaks the tie
    assert by_siren["443210984"] == ("17,91", 3, "SAISIE")
    dept_91 = multi.execute(
        "SELECT siren FROM marts.panel_debiteurs_communs WHERE departement = '91'"
    ).fetchall()
    assert dept_91 == [("443210984",)]  # B has one debtor source in 91


def test_rebuilding_one_department_leaves_others(multi: duckdb.DuckDBPyConnection) -> None:
    before = multi.execute("SELECT * FROM marts.positions ORDER BY ALL").fetchall()
    build_departement(multi, "91")
    build_national(multi)
    assert multi.execute("SELECT * FROM marts.positions ORDER BY ALL").fetchall() == before


def test_consistency_checks_catch_a_spoiled_line(samples: duckdb.DuckDBPyConnection) -> None:
    from onevision_dagster.consolidate import consistency

    assert consistency.positions_match_lines(samples, "17")[0]
    con = samples.cursor()
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("UPDATE core.lignes_dettes SET montant = montant + 1 WHERE nature = 'A_ECHOIR'")
        passed, details = consistency.positions_match_lines(con, "17")
        # two taxes not yet due in 17: BOULANGERIE's CFE 987,00 and FERRONNERIE's CFE 2026 2 100,00
        assert not passed and details["dettes_a_echoir"] == "3087.00 (positions) / 3089.00 (lignes)"
        assert details["total_dettes"] == "113527.57 (positions) / 113527.57 (lignes)"
    finally:
        con.execute("ROLLBACK")
