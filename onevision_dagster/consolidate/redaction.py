"""Natural persons' lines leave the warehouse (contract v3, section 6).

A sole trader (legal category `1…`) is outside the experiment, and of its lines nothing but the source, the file,
the line and the reason may stay in the warehouse's tables, lists, exports or screens. A line can only be known as
a natural person's once its snapshot's register is read (a fine, once matched by name), so this happens at
consolidation: each such line of the files the snapshot reads is deleted from `raw.<source>` and leaves a
tombstone in `raw.lignes_personnes_physiques` (source, department, file, extraction date, line). The tombstones
keep the files' row counts balanced (read = kept + rejected + withdrawn) and list the lines out of scope.

Once withdrawn, a line is gone for every snapshot that reads its file, including an older one whose register did
not yet call the company a natural person: the conservative reading of the tax secret.
"""

from __future__ import annotations

import duckdb

from onevision_dagster.consolidate.fines import natural_persons
from onevision_dagster.consolidate.snapshot import Snapshot, checked_code
from onevision_dagster.consolidate.tables import CREDIT_SOURCES, DEBT_SOURCES, execute
from onevision_dagster.warehouse import TOMBSTONES

PERSONNE_PHYSIQUE = "PERSONNE_PHYSIQUE"


def withdraw_natural_persons(con: duckdb.DuckDBPyConnection, snap: Snapshot, rattachement: str) -> int:
    """Withdraws the natural persons' lines of the files `snap` reads; returns how many were withdrawn.

    `rattachement`: the table the snapshot's fine attachments were just written to; a fine attached to a natural
    person (by SIREN or by name) is withdrawn and its attachment row deleted with it. Runs inside the caller's
    transaction: a consolidation that fails later rolls the withdrawal back with everything else.
    """
    dept = checked_code(snap.departement)
    withdrawn = 0
    if "amendes" in snap.files:
        matched = (f"SELECT ligne FROM {rattachement} WHERE departement = '{dept}' AND motif = '{PERSONNE_PHYSIQUE}'"
                   " AND ligne IS NOT NULL")
        withdrawn += _move(con, snap, "amendes", matched)
        execute(con, f"DELETE FROM {rattachement} WHERE departement = ? AND motif = ?", [dept, PERSONNE_PHYSIQUE])
    sources = [s for s in (*DEBT_SOURCES, *CREDIT_SOURCES) if s != "amendes" and s in snap.files]
    if not sources:
        return withdrawn
    # the natural persons among the files' SIRENs, in one scan of the register (not one per source)
    sirens = " UNION ".join(f"SELECT s.siren FROM {snap.rows(source, 's')} WHERE s.siren IS NOT NULL"
                            for source in sources)
    execute(con, f"""CREATE OR REPLACE TEMP TABLE _ov_personnes AS
                     SELECT pp.siren FROM {natural_persons(snap, 'pp')} SEMI JOIN ({sirens}) f ON f.siren = pp.siren""")
    try:
        if not con.execute("SELECT count(*) FROM temp._ov_personnes").fetchone()[0]:
            return withdrawn
        for source in sources:
            matched = (f"SELECT s.ligne FROM {snap.rows(source, 's')} "
                       "SEMI JOIN temp._ov_personnes pp ON pp.siren = s.siren")
            withdrawn += _move(con, snap, source, matched)
        return withdrawn
    finally:
        execute(con, "DROP TABLE IF EXISTS temp._ov_personnes")


def _move(con: duckdb.DuckDBPyConnection, snap: Snapshot, source: str, lines_sql: str) -> int:
    """Replaces the rows of the snapshot's file of `source` whose `ligne` is in `lines_sql` by tombstones."""
    where = (f"departement = '{checked_code(snap.departement)}' "
             f"AND date_extraction = DATE '{snap.files[source].isoformat()}'")
    execute(con, "CREATE OR REPLACE TEMP TABLE _ov_retirees AS " + lines_sql)
    try:
        n = con.execute("SELECT count(*) FROM temp._ov_retirees").fetchone()[0]
        if n:
            execute(con, f"""INSERT INTO {TOMBSTONES}
                             SELECT '{source}', departement, fichier, date_extraction, ligne FROM raw.{source}
                             WHERE {where} AND ligne IN (SELECT ligne FROM temp._ov_retirees)""")
            execute(con, f"DELETE FROM raw.{source} WHERE {where} "
                         "AND ligne IN (SELECT ligne FROM temp._ov_retirees)")
        return int(n)
    finally:
        execute(con, "DROP TABLE IF EXISTS temp._ov_retirees")


def withdrawn_lines(snap: Snapshot) -> str:
    """SQL relation (departement, source, fichier, ligne) of the withdrawn lines of the files `snap` reads."""
    dept = checked_code(snap.departement)
    parts = [f"""SELECT departement, source, fichier, ligne FROM {TOMBSTONES}
                 WHERE source = '{source}' AND departement = '{dept}' AND date_extraction = DATE '{used.isoformat()}'"""
             for source, used in sorted(snap.files.items())]
    if not parts:
        return ("SELECT NULL::VARCHAR AS departement, NULL::VARCHAR AS source, NULL::VARCHAR AS fichier, "
                "NULL::INTEGER AS ligne WHERE false")
    return " UNION ALL ".join(parts)
