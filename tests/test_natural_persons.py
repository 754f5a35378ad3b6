"""Contract v3, section 6: of a natural person's line (legal category 1…) nothing but its source, file, line and
reason stays in the warehouse's tables, lists, exports or screens. In the samples, DUPONT JEAN (SIREN 424242428,
category 1000) has a fine in each of 17's two files; the tests below add a tax line of his too."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from onevision_dagster import warehouse
from onevision_dagster.app.publication import current_file
from onevision_dagster.assets.sources import CHECK_COUNTS, preview_query, stored_checks
from onevision_dagster.consolidate.build import build_all
from onevision_dagster.contract.sources import SOURCES_BY_NAME
from onevision_dagster.history.rebuild import rebuild_history
from onevision_dagster.ingest.load import ingest_landing
from onevision_dagster.warehouse import NATURAL_PERSONS, TOMBSTONES

# what identifies DUPONT JEAN's lines: his SIREN, his fine's number, his name, his street, and the tax line's key
TRACES = ("424242428", "1700000000015", "DUPONT JEAN", "3 RUE BASSE", "2026CFE9999")
# where the contract lets them stay: the register (it serves the fines' matching, shown nowhere), the list of its
# natural persons' SIRENs (the register's own siren and category, indexed for the operators' preview) and the rejects
ALLOWED = {"raw.entreprises", NATURAL_PERSONS, "quality.rejets"}
TAX_LINE = "424242428;2026CFE9999;CFE;2026;20261115;50000;0;0;MISE_EN_DEMEURE;N\r\n"


def _traces(con: duckdb.DuckDBPyConnection, skip: set[str]) -> list[tuple[str, str, str]]:
    """(table, column, trace) for every text cell of every table holding one of `TRACES`."""
    found = []
    columns = con.execute(
        """SELECT table_schema || '.' || table_name, column_name FROM information_schema.columns
           WHERE data_type = 'VARCHAR' AND table_schema NOT IN ('information_schema', 'pg_catalog')
           ORDER BY 1, 2""").fetchall()
    for table, column in columns:
        if table in skip or table.startswith("temp."):
            continue
        for trace in TRACES:
            if con.execute(f'SELECT count(*) FROM {table} WHERE contains("{column}", ?)', [trace]).fetchone()[0]:
                found.append((table, column, trace))
    return found


def _loaded(landing: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    warehouse.create_raw_and_quality(con)
    ingest_landing(con, landing)
    return con


def _with_tax_line(landing: Path) -> Path:
    tax = landing / "impots_pro" / "impots_pro_17_20261127.csv"
    tax.write_text(tax.read_text(encoding="utf-8") + TAX_LINE, encoding="utf-8")
    return tax


def test_nothing_of_a_natural_person_stays_in_the_pipeline_outputs(samples: Path) -> None:
    """The samples built by the real pipeline (Dagster, history, national views, publication, dashboards)."""
    with duckdb.connect(str(samples / "w.duckdb"), read_only=True) as con:
        assert _traces(con, ALLOWED) == []
        # his two fines are listed by their place only, one per snapshot's file
        assert con.execute(f"SELECT source, fichier, ligne FROM {TOMBSTONES} ORDER BY fichier").fetchall() == [
            ("amendes", "amendes_17_20261120.csv", 16), ("amendes", "amendes_17_20261127.csv", 15)]
        assert con.execute(
            "SELECT motif, siren, reference FROM core.non_positionnees WHERE source = 'amendes' AND departement = '17' "
            "AND ligne = 15").fetchall() == [("HORS_PERIMETRE", None, None)]
        # the fine's row counts still balance: the withdrawn line is counted where it was read
        checks = stored_checks(con, SOURCES_BY_NAME["amendes"], "17", 10_000)
        assert next(c for c in checks if c.check_name == CHECK_COUNTS).passed
    published = current_file(samples / "publication")
    assert published is not None
    with duckdb.connect(str(published), read_only=True) as con:
        assert _traces(con, set()) == []
    for page in (samples / "rapports").rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert not [t for t in TRACES if t in text], page.name


def test_a_natural_persons_tax_line_leaves_the_warehouse(landing_copy: Path) -> None:
    _with_tax_line(landing_copy)
    con = _loaded(landing_copy)
    spec = SOURCES_BY_NAME["impots_pro"]
    # before consolidation the row is there, but the operators' preview of the file never shows it
    assert con.execute("SELECT count(*) FROM raw.impots_pro WHERE siren = '424242428'").fetchone()[0] == 1
    raw_where = "departement = ? AND date_extraction = ?"
    preview = con.execute(preview_query(spec, raw_where), ["17", dt.date(2026, 11, 27)]).df()
    assert len(preview) and "424242428" not in set(preview["siren"])
    build_all(con)
    rebuild_history(con, ["17", "95"], ["17", "95"])
    assert _traces(con, ALLOWED) == []
    assert con.execute(f"SELECT source, fichier, ligne FROM {TOMBSTONES} WHERE source = 'impots_pro'").fetchall() == [
        ("impots_pro", "impots_pro_17_20261127.csv", 18)]
    (read,) = con.execute("SELECT lignes_lues FROM quality.chargements WHERE fichier = 'impots_pro_17_20261127.csv'"
                          ).fetchone()
    assert read == 17  # sixteen lines in the sample, his the seventeenth (line 18 of the file)
    assert next(c for c in stored_checks(con, spec, "17", 10_000) if c.check_name == CHECK_COUNTS).passed
    listed = con.execute("SELECT motif, siren, reference FROM core.non_positionnees WHERE source = 'impots_pro' "
                         "AND fichier = 'impots_pro_17_20261127.csv' AND ligne = 18").fetchall()
    assert listed == [("HORS_PERIMETRE", None, None)]


def test_a_reloaded_file_is_withdrawn_again(landing_copy: Path) -> None:
    """A file read again (its content changed) replaces its rows and its tombstones; the next consolidation
    withdraws the natural person's lines of the new content."""
    con = _loaded(landing_copy)
    build_all(con)
    assert con.execute(f"SELECT count(*) FROM {TOMBSTONES}").fetchone()[0] == 1  # the fine of 27/11
    tax = _with_tax_line(landing_copy)
    ingest_landing(con, landing_copy)
    assert con.execute(f"SELECT count(*) FROM {TOMBSTONES}").fetchone()[0] == 1  # the fine's, not yet the tax's
    assert con.execute("SELECT count(*) FROM raw.impots_pro WHERE siren = '424242428'").fetchone()[0] == 1
    build_all(con)
    assert con.execute(f"SELECT source, fichier FROM {TOMBSTONES} ORDER BY 1").fetchall() == [
        ("amendes", "amendes_17_20261127.csv"), ("impots_pro", tax.name)]
    assert con.execute("SELECT count(*) FROM raw.impots_pro WHERE siren = '424242428'").fetchone()[0] == 0
    assert next(c for c in stored_checks(con, SOURCES_BY_NAME["impots_pro"], "17", 10_000)
                if c.check_name == CHECK_COUNTS).passed


def _natural_persons(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [r[0] for r in con.execute(f"SELECT siren FROM {NATURAL_PERSONS} ORDER BY siren").fetchall()]


def test_the_previews_list_of_natural_persons_follows_the_register(landing_copy: Path) -> None:
    """The preview hides a natural person's rows by a lookup in `NATURAL_PERSONS` (issue 21): the list holds the
    register's sole traders, a later register file adds its own, and a warehouse of an earlier version, which
    lacks the list, gets it from its register before any preview reads it."""
    con = _loaded(landing_copy)
    assert _natural_persons(con) == ["424242428"]
    register = landing_copy / "entreprises" / "entreprises_20261127.csv"
    later = register.with_name("entreprises_20261204.csv")
    later.write_bytes(register.read_bytes() + b"732829320;MARTIN PAUL;;1000;1 PLACE HAUTE;17000;LA ROCHELLE;17;"
                      b"2010-01-01;A;;;\r\n")
    ingest_landing(con, landing_copy)
    assert _natural_persons(con) == ["424242428", "732829320"]
    con.execute(f"DROP TABLE {NATURAL_PERSONS}")
    warehouse.create_raw_and_quality(con)
    assert _natural_persons(con) == ["424242428", "732829320"]
    spec = SOURCES_BY_NAME["impots_pro"]
    _with_tax_line(landing_copy)
    ingest_landing(con, landing_copy)
    preview = con.execute(preview_query(spec, "departement = ? AND date_extraction = ?"),
                          ["17", dt.date(2026, 11, 27)]).df()
    assert len(preview) and "424242428" not in set(preview["siren"])
