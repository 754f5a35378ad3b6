"""Attaching fines to a SIREN (SOURCES.md section 5): by their SIREN, else by name and postal code.

Candidates are the kept rows of the snapshot's register version, by exact equality of the normalised
denomination or acronym with the fine's normalised name, same postal code. One candidate: attached (method
recorded). Several or none: unattached, never guessed. Names are normalised by Arrow kernels on the distinct
names only (:mod:`onevision_dagster.consolidate.matching`); the register's names were normalised at load time.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from onevision_dagster.consolidate.matching import normalise_names
from onevision_dagster.consolidate.snapshot import Snapshot
from onevision_dagster.consolidate.tables import execute


def luhn_siren_sql(expr: str) -> str:
    """SQL boolean: ``expr`` is 9 digits with a valid Luhn key (section 2)."""
    digit = f"CAST(substr({expr}, i + 1, 1) AS INTEGER)"
    term = (
        f"CASE WHEN i % 2 = 1 THEN (CASE WHEN {digit} * 2 > 9 THEN {digit} * 2 - 9 ELSE {digit} * 2 END)"
        f" ELSE {digit} END"
    )
    return (
        f"(CASE WHEN regexp_full_match(coalesce({expr}, ''), '[0-9]{{9}}') "
        f"THEN list_sum(list_transform(range(9), lambda i: {term})) % 10 = 0 ELSE false END)"
    )


def natural_persons(snap: Snapshot, alias: str) -> str:
    """SQL relation (`siren`) of the natural persons of the snapshot's register (legal category 1…): sole traders,
    outside the experiment, of whom nothing but source, file, line and reason is kept (contract v3)."""
    return f"(SELECT siren FROM {snap.register('npr')} WHERE starts_with(npr.categorie_juridique, '1')) AS {alias}"


def insert_rattachement(con: duckdb.DuckDBPyConnection, snap: Snapshot, target: str) -> None:
    """Inserts into `target` one row per kept fine of the snapshot: how it found its SIREN, or why not."""
    fines = snap.rows("amendes", "a")
    # fetchnumpy, not the relation API: the caller's connection may hold a pending result
    fetched = con.execute(
        f"SELECT DISTINCT CAST(raison_sociale AS VARCHAR) AS raison_sociale FROM {fines} "
        "WHERE raison_sociale IS NOT NULL"
    ).fetchnumpy()["raison_sociale"]
    col = pa.array(fetched, type=pa.string(), from_pandas=True)
    noms = pa.table({"raison_sociale": col, "nom_normalise": normalise_names(col)})
    view = "_ov_noms_amendes"
    con.register(view, noms)
    try:
        execute(
            con,
            f"""
            INSERT INTO {target}
            WITH x AS (
            WITH a AS (
                SELECT a.*, replace(a.siren_source, ' ', '') AS siren_compact FROM {fines}
            ), e AS (  -- the register's rows in the fines' postal codes only
                SELECT siren, code_postal, nom_normalise, sigle_normalise FROM {snap.register("e")}
                WHERE code_postal IN (SELECT DISTINCT code_postal FROM a WHERE code_postal IS NOT NULL)
            ), v AS (
                SELECT a.*, n.nom_normalise,
                       CASE WHEN {luhn_siren_sql("a.siren_compact")} THEN a.siren_compact END AS siren_valide
                FROM a LEFT JOIN {view} n ON n.raison_sociale = a.raison_sociale
            ), a_matcher AS (
                SELECT num_amende, code_postal, nom_normalise FROM v
                WHERE siren_valide IS NULL AND nom_normalise <> '' AND code_postal IS NOT NULL
            ), cand AS (
                SELECT m.num_amende, e.siren, true AS par_nom
                FROM a_matcher m JOIN e ON e.code_postal = m.code_postal AND e.nom_normalise = m.nom_normalise
                UNION ALL
                SELECT m.num_amende, e.siren, false AS par_nom
                FROM a_matcher m JOIN e ON e.code_postal = m.code_postal AND e.sigle_normalise = m.nom_normalise
            ), agg AS (
                SELECT num_amende, count(DISTINCT siren) AS nb, min(siren) AS siren, bool_or(par_nom) AS par_nom
                FROM cand GROUP BY num_amende
            )
            SELECT v.departement, v.num_amende, v.fichier, v.ligne, v.raison_sociale, v.code_postal,
                   v.siren_source, v.nom_normalise,
                   CASE
                     WHEN v.siren_valide IS NOT NULL AND v.siren_source = v.siren_valide THEN 'SIREN'
                     WHEN v.siren_valide IS NOT NULL THEN 'SIREN_SANS_ESPACES'
                     WHEN g.nb = 1 AND g.par_nom THEN 'NOM_CODE_POSTAL'
                     WHEN g.nb = 1 THEN 'SIGLE_CODE_POSTAL'
                   END AS methode,
                   CASE WHEN v.siren_valide IS NOT NULL THEN v.siren_valide
                        WHEN g.nb = 1 THEN g.siren END AS siren,
                   CASE WHEN v.siren_valide IS NOT NULL OR g.nb = 1 THEN NULL
                        WHEN g.nb > 1 THEN 'AMBIGUE'
                        ELSE 'AUCUN_CANDIDAT' END AS motif,
                   CASE WHEN v.siren_valide IS NOT NULL THEN NULL ELSE coalesce(g.nb, 0) END AS nb_candidats
            FROM v LEFT JOIN agg g ON g.num_amende = v.num_amende
            )  -- a natural person's fine keeps nothing but where it is (contract v3, section 6)
            SELECT x.departement, x.num_amende, x.fichier, x.ligne,
                   CASE WHEN pp.siren IS NULL THEN x.raison_sociale END,
                   CASE WHEN pp.siren IS NULL THEN x.code_postal END,
                   CASE WHEN pp.siren IS NULL THEN x.siren_source END,
                   CASE WHEN pp.siren IS NULL THEN x.nom_normalise END,
                   CASE WHEN pp.siren IS NULL THEN x.methode END,
                   CASE WHEN pp.siren IS NULL THEN x.siren END,
                   CASE WHEN pp.siren IS NULL THEN x.motif ELSE 'PERSONNE_PHYSIQUE' END,
                   CASE WHEN pp.siren IS NULL THEN x.nb_candidats END
            FROM x LEFT JOIN {natural_persons(snap, "pp")} ON pp.siren = x.siren
            """,
        )
    finally:
        con.unregister(view)
