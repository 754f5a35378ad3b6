"""Claims to declare in a collective procedure, with their deadlines (contract v3, sections 6 and 8).

Once a procedure is open, a claim that arose before the judgment can be paid only if declared to the mandataire
within two months of the BODACC publication (art. L. 622-24, R. 622-24 Code de commerce); a judge may relieve a
late creditor within six months of it (art. L. 622-26). One row per open line of a company whose procedure is open
at the department's latest as-of date, unless already filed (`impots_pro` at `PASSIF_PROCEDURE`). A claim that
arose on or after the judgment day is `A_QUALIFIER`: the agent decides whether art. L. 622-17 I privileges it.

Deadlines are computed in Python on the distinct (publication date, extended) pairs only — a handful per
department — and joined back in SQL.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from onevision_dagster.consolidate.snapshot import Snapshot
from onevision_dagster.consolidate.tables import DECLARING_SERVICES, execute
from onevision_dagster.contract.deadlines import declaration_deadline, extra_months, relief_deadline

_VIEW = "_ov_delais_declaration"


def _services_sql(column: str) -> str:
    cases = " ".join(f"WHEN '{source}' THEN '{service}'" for source, service in DECLARING_SERVICES.items())
    return f"CASE {column} {cases} END"


def insert_declarations(con: duckdb.DuckDBPyConnection, snap: Snapshot, dettes: str, positions: str,
                        target: str) -> None:
    """Inserts the department's claims to declare at the snapshot's as-of date into `target`."""
    ds = f"DATE '{snap.date_situation.isoformat()}'"
    candidates = f"""
        SELECT l.*, e.procedure_collective, e.date_jugement, e.date_publication_bodacc,
               e.departement AS departement_siege, p.denomination
        FROM {dettes} l
        JOIN {positions} p ON p.siren = l.siren
        JOIN {snap.register("e")} ON e.siren = l.siren
        WHERE l.montant > 0 AND l.nature IN ('ECHUE', 'A_ECHOIR', 'NON_VALEUR') AND NOT l.passif
          AND e.procedure_collective IS NOT NULL AND e.date_jugement <= {ds}"""
    pairs = con.execute(f"SELECT DISTINCT departement, departement_siege, date_publication_bodacc FROM "
                        f"({candidates}) WHERE date_publication_bodacc IS NOT NULL").fetchall()
    rows = [(d, siege, pub, declaration_deadline(pub, extra_months(d, siege)), relief_deadline(pub))
            for d, siege, pub in pairs]
    deadlines = pa.table({
        "departement": pa.array([r[0] for r in rows], pa.string()),
        "departement_siege": pa.array([r[1] for r in rows], pa.string()),
        "date_publication_bodacc": pa.array([r[2] for r in rows], pa.date32()),
        "limite_declaration": pa.array([r[3] for r in rows], pa.date32()),
        "limite_releve": pa.array([r[4] for r in rows], pa.date32()),
    })
    con.register(_VIEW, deadlines)
    try:
        execute(
            con,
            f"""
            INSERT INTO {target}
            WITH c AS ({candidates}),
            d AS (
                SELECT c.*, c.anterieure_jugement AND c.date_publication_bodacc IS NOT NULL AS dated,
                       k.limite_declaration, k.limite_releve
                FROM c LEFT JOIN {_VIEW} k ON k.departement = c.departement
                    AND k.departement_siege IS NOT DISTINCT FROM c.departement_siege
                    AND k.date_publication_bodacc = c.date_publication_bodacc)
            SELECT siren, denomination, departement, date_situation, procedure_collective, date_jugement,
                   date_publication_bodacc, source, fichier, ligne, reference AS cle, montant,
                   CASE WHEN dated THEN limite_declaration END, CASE WHEN dated THEN limite_releve END,
                   CASE WHEN NOT anterieure_jugement THEN 'A_QUALIFIER'
                        WHEN date_publication_bodacc IS NULL THEN 'BODACC_INCONNU'
                        WHEN {ds} <= limite_declaration THEN 'A_DECLARER'
                        WHEN {ds} <= limite_releve THEN 'RELEVE_POSSIBLE'
                        ELSE 'FORCLOS' END,
                   nature, date_ligne, date_origine, {_services_sql("source")}
            FROM (SELECT d.*, {ds} AS date_situation FROM d)
            """,
        )
    finally:
        con.unregister(_VIEW)
