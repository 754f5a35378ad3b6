"""Unified debt and credit lines of a snapshot, and the kept lines that cannot reach a position.

One schema for the four debtor sources, one for the three creditor sources; every line keeps its file and line.
`nature` says which position column a line adds to (SOURCES.md section 6, version 2): a debt is due
(`ECHUE`), open but not yet due (`A_ECHOIR`, an `impots_pro` line whose `DATE_EXIGIBILITE` is after the
as-of date), a written-off fine (`NON_VALEUR`) or nothing (`AUCUNE`); a credit is certain and due
(`CERTAINE`), certain but refundable later (`A_ECHOIR`, a `REMBOURSABLE` IS receivable dated after the as-of
date), potential (`POTENTIELLE`) or nothing (`AUCUNE`). `montant` is what the line adds (0 for `AUCUNE`).

`montant_du` and `montant_paye` are the amounts D and P of section 9 (debts: due and paid, whatever the status,
so that movements between snapshots can be told apart); for a credit, `montant_du` is the amount the source
states (`MONTANT_ACCORDE`, or `MONTANT_DEMANDE` when none was granted; `MONTANT`) and `montant_paye` is empty.
"""

from __future__ import annotations

import duckdb

from onevision_dagster.consolidate.redaction import withdrawn_lines
from onevision_dagster.consolidate.snapshot import Snapshot
from onevision_dagster.consolidate.tables import MONEY, execute
from onevision_dagster.contract.sources import in_scope_sql

# A tax's origin date (section 6, version 3): the first day of its period (a CFE of 2026 arose on 1 January 2026,
# whatever its due date), except IS, which arises when its financial year closes (the period's last day); the due
# date when the period is empty.
_TAX_ORIGIN = """CASE
    WHEN periode IS NULL THEN date_exigibilite
    WHEN code_impot = 'IS' AND length(periode) = 4 THEN make_date(CAST(periode AS INTEGER), 12, 31)
    WHEN code_impot = 'IS' THEN last_day(make_date(CAST(substr(periode, 1, 4) AS INTEGER),
                                                   CAST(substr(periode, 5, 2) AS INTEGER), 1))
    WHEN length(periode) = 4 THEN make_date(CAST(periode AS INTEGER), 1, 1)
    ELSE make_date(CAST(substr(periode, 1, 4) AS INTEGER), CAST(substr(periode, 5, 2) AS INTEGER), 1)
  END"""


def _debt_selects(snap: Snapshot, rattachement: str) -> list[str]:
    """One SELECT per debtor source, onto the columns of `core.lignes_dettes`.

    `rattachement`: a relation with the fines' attachment (`num_amende`, `siren`) for this snapshot.
    """
    m = MONEY
    ds = f"DATE '{snap.date_situation.isoformat()}'"
    return [
        f"""
        SELECT a.departement, r.siren, 'amendes' AS source, a.num_amende AS reference,
               a.date_majoration AS date_ligne,
               CAST(CASE WHEN a.montant_majore - a.montant_paye > 0
                         AND a.statut IN ('EN_RECOUVREMENT', 'ADMISE_NON_VALEUR')
                    THEN a.montant_majore - a.montant_paye ELSE 0 END AS {m}) AS montant,
               a.statut, NULL AS etape,
               (a.statut = 'EN_RECOUVREMENT' AND a.montant_majore - a.montant_paye > 0) AS ouverte,
               CASE WHEN a.montant_majore - a.montant_paye <= 0 THEN 'AUCUNE'
                    WHEN a.statut = 'EN_RECOUVREMENT' THEN 'ECHUE'
                    WHEN a.statut = 'ADMISE_NON_VALEUR' THEN 'NON_VALEUR'
                    ELSE 'AUCUNE' END AS nature,
               false AS sursis, false AS conteste, false AS passif,
               coalesce(a.date_infraction, a.date_majoration) AS date_origine,
               a.montant_majore AS montant_du,
               CASE WHEN a.statut = 'PAYEE' THEN a.montant_majore ELSE a.montant_paye END AS montant_paye,
               a.fichier, a.ligne, a.date_extraction
        FROM {snap.rows("amendes", "a")}
        LEFT JOIN {rattachement} r ON r.num_amende = a.num_amende""",
        f"""
        SELECT departement, siren, 'spl', code_collectivite || '/' || exercice || '/' || num_titre,
               date_emission,
               CAST(CASE WHEN reste_a_recouvrer > 0 THEN reste_a_recouvrer ELSE 0 END AS {m}),
               CASE WHEN reste_a_recouvrer > 0 THEN 'OUVERT' ELSE 'SOLDE' END, etape,
               reste_a_recouvrer > 0,
               CASE WHEN reste_a_recouvrer > 0 THEN 'ECHUE' ELSE 'AUCUNE' END,
               false, etape = 'CONTESTATION', false, date_emission,
               montant_titre, montant_titre - reste_a_recouvrer,
               fichier, ligne, date_extraction
        FROM {snap.rows("spl")}""",
        f"""
        SELECT departement, siren, 'impots_pro', ref_article, date_exigibilite,
               CAST(CASE WHEN reste > 0 THEN reste ELSE 0 END AS {m}),
               CASE WHEN reste > 0 THEN 'OUVERT' ELSE 'SOLDE' END, phase,
               reste > 0,
               CASE WHEN reste <= 0 THEN 'AUCUNE' WHEN date_exigibilite <= {ds} THEN 'ECHUE' ELSE 'A_ECHOIR' END,
               sursis = 'O', false, reste > 0 AND phase = 'PASSIF_PROCEDURE',
               {_TAX_ORIGIN},
               mt_droits + mt_penalites, mt_paye,
               fichier, ligne, date_extraction
        FROM (SELECT *, mt_droits + mt_penalites - mt_paye AS reste
              FROM {snap.rows("impots_pro", "i")}) AS impots_pro""",
        f"""
        SELECT departement, siren, 'rnf', numero_titre, date_emission,
               CAST(CASE WHEN ouvert THEN montant - montant_recouvre ELSE 0 END AS {m}),
               statut, NULL, ouvert,
               CASE WHEN ouvert THEN 'ECHUE' ELSE 'AUCUNE' END,
               false, false, false, date_emission,
               montant, CASE WHEN statut = 'SOLDE' THEN montant ELSE montant_recouvre END,
               fichier, ligne, date_extraction
        FROM (SELECT *, statut IN ('PRIS_EN_CHARGE', 'EN_RECOUVREMENT') AND montant - montant_recouvre > 0 AS ouvert
              FROM {snap.rows("rnf", "r")}) AS rnf""",
    ]


# source: (reference, date, nature, amount before the "> 0" guard, stated amount); `$ds` is the as-of date
_CREDITS: dict[str, tuple[str, str, str, str, str]] = {
    "credits_tva": (
        "num_demande",
        "date_depot",
        "CASE WHEN statut = 'ACCORDEE' THEN 'CERTAINE' "
        "WHEN statut IN ('DEPOSEE', 'EN_INSTRUCTION') THEN 'POTENTIELLE' ELSE 'AUCUNE' END",
        "CASE WHEN statut = 'ACCORDEE' THEN coalesce(montant_accorde, 0) "
        "WHEN statut IN ('DEPOSEE', 'EN_INSTRUCTION') THEN montant_demande ELSE 0 END",
        "coalesce(montant_accorde, montant_demande)",
    ),
    "excedents": (
        "ref_excedent",
        "date_constat",
        "CASE WHEN statut = 'A_RESTITUER' THEN 'CERTAINE' ELSE 'AUCUNE' END",
        "CASE WHEN statut = 'A_RESTITUER' THEN montant ELSE 0 END",
        "montant",
    ),
    "creances_is": (
        "ref_creance",
        "date_remboursable",
        "CASE WHEN statut = 'REMBOURSABLE' AND (date_remboursable IS NULL OR date_remboursable <= $ds) "
        "THEN 'CERTAINE' WHEN statut = 'REMBOURSABLE' THEN 'A_ECHOIR' "
        "WHEN statut = 'EN_COURS' THEN 'POTENTIELLE' ELSE 'AUCUNE' END",
        "CASE WHEN statut IN ('REMBOURSABLE', 'EN_COURS') THEN montant ELSE 0 END",
        "montant",
    ),
}


def _credit_selects(snap: Snapshot) -> list[str]:
    """One SELECT per creditor source, onto the columns of `core.lignes_creances`."""
    ds = f"DATE '{snap.date_situation.isoformat()}'"
    out = []
    for src, (ref, date_col, nature, amount, stated) in _CREDITS.items():
        nature, amount = nature.replace("$ds", ds), amount.replace("$ds", ds)
        out.append(
            f"""
            SELECT departement, siren, '{src}' AS source, {ref} AS reference, {date_col} AS date_ligne,
                   CAST(CASE WHEN n <> 'AUCUNE' AND a > 0 THEN a ELSE 0 END AS {MONEY}) AS montant,
                   statut, NULL AS etape,
                   n <> 'AUCUNE' AND a > 0 AS ouverte,
                   CASE WHEN a > 0 THEN n ELSE 'AUCUNE' END AS nature,
                   false AS sursis, false AS conteste, false AS passif, {date_col} AS date_origine,
                   CAST({stated} AS {MONEY}) AS montant_du, CAST(NULL AS {MONEY}) AS montant_paye,
                   fichier, ligne, date_extraction
            FROM (SELECT *, {nature} AS n, {amount} AS a FROM {snap.rows(src, "c")}) AS {src}"""
        )
    return out


def _with_suspension(snap: Snapshot, base: str, debts: bool) -> str:
    """The lines of `base` with what the procedure rules of section 6 add: whether a past-due line is suspended
    and why (the first reason of `tables.SUSPENSION_REASONS` that applies), whether a claim of a company in an
    open procedure arose before its judgment, and which past-due taxes L. 257 B lets offset. A natural person's
    lines were withdrawn from the warehouse (`redaction`); the filter on the register's category keeps them out
    all the same if one is left."""
    ds = f"DATE '{snap.date_situation.isoformat()}'"
    open_procedure = f"(e.procedure_collective IS NOT NULL AND e.date_jugement <= {ds})"
    reason = f"""CASE WHEN NOT {debts} OR b.nature <> 'ECHUE' THEN NULL
                 WHEN b.passif THEN 'PASSIF_PROCEDURE'
                 WHEN {open_procedure} AND b.date_origine < e.date_jugement THEN 'ANTERIEURE_JUGEMENT'
                 WHEN {open_procedure} THEN 'POSTERIEURE_JUGEMENT'
                 WHEN b.sursis THEN 'SURSIS'
                 WHEN b.conteste THEN 'TITRE_CONTESTE'
                 WHEN coalesce(c.passif_declare, false) THEN 'PROCEDURE_NON_REFERENCEE'
            END"""
    return f"""
        WITH b AS ({base}),
        c AS (SELECT siren, bool_or(passif) AS passif_declare FROM b WHERE siren IS NOT NULL GROUP BY siren),
        e AS (SELECT e0.siren, e0.categorie_juridique, e0.procedure_collective, e0.date_jugement
              FROM {snap.register("e0")} SEMI JOIN c ON c.siren = e0.siren)
        SELECT b.departement, b.siren, b.source, b.reference, b.date_ligne, b.montant, b.statut, b.etape, b.ouverte,
               b.nature,
               CASE WHEN {debts} THEN b.source = 'impots_pro' AND b.nature = 'ECHUE' AND ({reason}) IS NULL
                    ELSE b.nature = 'CERTAINE' END AS compensable,
               b.sursis, b.conteste, b.passif,
               ({reason}) IS NOT NULL AS suspendue, {reason} AS motif_suspension, b.date_origine,
               CASE WHEN {open_procedure} THEN b.date_origine < e.date_jugement END AS anterieure_jugement,
               b.montant_du, b.montant_paye, b.fichier, b.ligne, b.date_extraction
        FROM b LEFT JOIN c ON c.siren = b.siren LEFT JOIN e ON e.siren = b.siren
        WHERE NOT coalesce(starts_with(e.categorie_juridique, '1'), false)"""


def insert_lines(con: duckdb.DuckDBPyConnection, snap: Snapshot, rattachement: str, dettes: str,
                 creances: str) -> None:
    """Inserts the snapshot's debt lines into `dettes` and credit lines into `creances`."""
    execute(con, f"INSERT INTO {dettes} " + _with_suspension(snap, " UNION ALL ".join(
        _debt_selects(snap, rattachement)), True))
    execute(con, f"INSERT INTO {creances} " + _with_suspension(snap, " UNION ALL ".join(_credit_selects(snap)),
                                                               False))


def insert_non_positionnees(con: duckdb.DuckDBPyConnection, snap: Snapshot, dettes: str, creances: str,
                            target: str) -> None:
    """Every kept line that cannot reach a position, with why (section 6): a fine attached to no company,
    a company out of scope, one whose register row was rejected, one the register does not hold at all; a natural
    person's withdrawn lines by their place only (no SIREN, no key)."""
    execute(
        con,
        f"""
        INSERT INTO {target}
        WITH l AS (
            SELECT departement, source, fichier, ligne, reference, siren FROM {dettes}
            UNION ALL
            SELECT departement, source, fichier, ligne, reference, siren FROM {creances}
        ), e AS (  -- the register rows of the lines' companies only (a SIREN is unique in a register version)
            SELECT e0.siren, e0.categorie_juridique FROM {snap.register("e0")}
            SEMI JOIN (SELECT DISTINCT siren FROM l WHERE siren IS NOT NULL) s ON s.siren = e0.siren
        )
        SELECT l.departement, l.source, l.fichier, l.ligne, l.reference,
               CASE WHEN l.siren IS NULL THEN 'NON_RATTACHEE'
                    WHEN e.siren IS NOT NULL THEN 'HORS_PERIMETRE'
                    WHEN rr.siren IS NOT NULL THEN 'REGISTRE_REJETE'
                    ELSE 'SIREN_INCONNU' END AS motif,
               l.siren
        FROM l
        LEFT JOIN e ON e.siren = l.siren
        LEFT JOIN {snap.register_rejected("rr")} ON rr.siren = l.siren AND e.siren IS NULL
        WHERE l.siren IS NULL OR e.siren IS NULL OR NOT coalesce({in_scope_sql("e")}, false)
        UNION ALL
        SELECT departement, source, fichier, ligne, NULL, 'HORS_PERIMETRE', NULL
        FROM ({withdrawn_lines(snap)})
        """,
    )
