"""What each document says, read from the warehouse or the application's publication (contract v3, sections 6 and
8): plain functions, no Dagster.

Each `*_context` function takes a read-only DuckDB connection, a SIREN and a department and returns the values
its template receives (amounts and dates already written the French way) and a summary of the amounts (Decimal),
or raises `DocumentRefused` with one French sentence naming why the document cannot be drafted.
Row-level work is SQL (joins, the allocation of an offset by cumulative sums); Python only formats.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import duckdb

from onevision_dagster.consolidate.tables import DECLARING_SERVICES
from onevision_dagster.errors import OneVisionError
from onevision_dagster.reports.formatting import format_date, format_euros

ZERO = Decimal("0.00")

PROCEDURES = {"SAUVEGARDE": "sauvegarde", "REDRESSEMENT": "redressement judiciaire",
              "LIQUIDATION": "liquidation judiciaire"}
SOURCE_TITLES = {
    "impots_pro": "Impôts professionnels",
    "amendes": "Amendes",
    "rnf": "Recettes non fiscales de l'État",
    "spl": "Produits locaux (titres des collectivités)",
}
# the enforceable title of each kind of claim (art. L. 252 A LPF: rôles, avis de mise en recouvrement, titres de
# perception ou de recettes are enforceable titles; a fine's surcharged amount is recovered under a title made
# enforceable by the public prosecutor, art. 529-2 CPP)
ENFORCEABLE_TITLES = {
    "impots_pro": "rôle ou avis de mise en recouvrement (art. L. 252 A du livre des procédures fiscales)",
    "amendes": "titre exécutoire de l'amende forfaitaire majorée (art. 529-2 du code de procédure pénale)",
    "rnf": "titre de perception (art. L. 252 A du livre des procédures fiscales)",
    "spl": "titre de recettes exécutoire de la collectivité (art. L. 252 A du livre des procédures fiscales)",
}
SERVICES = {
    "SIE": "service des impôts des entreprises (SIE)",
    "COMPTABLE_AMENDES": "comptable chargé des amendes",
    "COMPTABLE_RNF": "comptable chargé des recettes non fiscales",
    "COMPTABLE_COLLECTIVITE": "comptable de la collectivité",
}
# the State's claims, declared in this document; any other accountant's (a local body's) go to an annex for it
STATE_SERVICES = ("SIE", "COMPTABLE_AMENDES", "COMPTABLE_RNF")
SUSPENSIONS = {
    "SURSIS": "sursis de paiement, art. L. 277 du livre des procédures fiscales",
    "TITRE_CONTESTE": "titre contesté en justice, art. L. 1617-5 du code général des collectivités territoriales",
    "PASSIF_PROCEDURE": "déclarée au passif d'une procédure collective",
    "ANTERIEURE_JUGEMENT": "antérieure au jugement d'ouverture, art. L. 622-21 du Code de commerce",
    "POSTERIEURE_JUGEMENT": "postérieure au jugement, à qualifier, art. L. 622-17 du Code de commerce",
    "PROCEDURE_NON_REFERENCEE": "procédure non référencée au registre",
}
CREDIT_SOURCES = {"credits_tva": "Crédit de TVA", "excedents": "Excédent à restituer",
                  "creances_is": "Créance d'impôt sur les sociétés"}
IS_TYPES = {"CIR": "crédit d'impôt recherche", "CII": "crédit d'impôt innovation", "CARRY_BACK": "report en arrière",
            "EXCEDENT_ACOMPTES": "excédent d'acomptes", "AUTRE": "autre créance"}


class DocumentRefused(OneVisionError):
    """The document cannot be drafted for this company (offsetting blocked, procedure, nothing to pursue...)."""


def euros(value: Decimal | None) -> str:
    return format_euros(value if value is not None else ZERO)


def siren_affiche(siren: str) -> str:
    return f"{siren[:3]} {siren[3:6]} {siren[6:]}"


def periode(value: str | None) -> str:
    """`2026` → `2026`, `202609` → `09/2026`."""
    if not value:
        return "—"
    return f"{value[4:]}/{value[:4]}" if len(value) == 6 else value


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows as dicts; `params` are the `$name` values (those the query does not use are left out)."""
    used = set(re.findall(r"\$([a-z_]+)", sql))
    cursor = con.execute(sql, {k: v for k, v in params.items() if k in used})
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _has(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    schema, name = table.split(".")
    return bool(con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND "
                            "table_name = ?", [schema, name]).fetchone()[0])


# --------------------------------------------------------------------------- where the figures are read

_DETAIL_COLUMNS = ("impot", "periode", "exercice", "libelle_collectivite", "nature_produit", "nature_recette",
                   "type_creance")
_DETAIL_SOURCES = {
    "impots_pro": {"impot": "code_impot", "periode": "periode"},
    "spl": {"exercice": "exercice", "libelle_collectivite": "libelle_collectivite", "nature_produit": "nature_produit"},
    "rnf": {"nature_recette": "nature_recette"},
    "credits_tva": {"periode": "periode"},
    "excedents": {"impot": "impot", "exercice": "exercice"},
    "creances_is": {"type_creance": "type_creance", "exercice": "exercice"},
}


def details_sql(where: str = "") -> str:
    """What a line is in words, from the raw tables: one row per (source, departement, fichier, ligne) with the tax
    and period, the local body and product, the kind of receivable... `where` filters every raw table (e.g.
    `WHERE siren = $siren`). The application's publication can copy it as `details_lignes`."""
    parts = []
    for source, columns in _DETAIL_SOURCES.items():
        values = ", ".join(f"CAST({columns[c]} AS VARCHAR) AS {c}" if c in columns else f"CAST(NULL AS VARCHAR) AS {c}"
                           for c in _DETAIL_COLUMNS)
        parts.append(f"SELECT '{source}' AS source, departement, fichier, ligne, {values} FROM raw.{source} {where}")
    return "\nUNION ALL ".join(parts)


_NO_DETAILS = ("(SELECT CAST(NULL AS VARCHAR) AS source, CAST(NULL AS VARCHAR) AS departement, "
               "CAST(NULL AS VARCHAR) AS fichier, CAST(NULL AS INTEGER) AS ligne, "
               + ", ".join(f"CAST(NULL AS VARCHAR) AS {c}" for c in _DETAIL_COLUMNS) + " WHERE false)")


@dataclass(frozen=True)
class Relations:
    """The relations a document reads: the warehouse's tables, or the application's publication (the file
    app/publication.py writes: `positions`, `lignes_dettes`, `recherche`..., and `details_lignes` when it copies
    `details_sql()`; without it a document names a tax by its reference only)."""

    positions: str
    lignes_dettes: str
    lignes_creances: str
    compensations: str | None
    declarations: str | None
    registre: str  # siren, adresse, code_postal, commune, date_jugement
    details: str  # details_sql's columns


def relations(con: duckdb.DuckDBPyConnection) -> Relations:
    """The warehouse when `con` holds `marts.positions`, else the application's publication."""
    if _has(con, "marts.positions"):
        return Relations(
            "marts.positions", "core.lignes_dettes", "core.lignes_creances",
            "marts.compensations" if _has(con, "marts.compensations") else None,
            "marts.declarations" if _has(con, "marts.declarations") else None,
            "(SELECT siren, adresse, code_postal, commune, date_jugement FROM raw.entreprises WHERE siren = $siren "
            "ORDER BY date_extraction DESC, ligne LIMIT 1)",
            f"({details_sql('WHERE siren = $siren')})" if _has(con, "raw.spl") else _NO_DETAILS)
    if _has(con, "main.positions") and _has(con, "main.recherche"):  # app/publication.py's file, opened as is
        return Relations(
            "main.positions", "main.lignes_dettes", "main.lignes_creances",
            "main.compensations" if _has(con, "main.compensations") else None,
            "main.declarations" if _has(con, "main.declarations") else None,
            "(SELECT siren, adresse, code_postal, commune, date_jugement FROM main.recherche WHERE siren = $siren)",
            "main.details_lignes" if _has(con, "main.details_lignes") else _NO_DETAILS)
    raise OneVisionError("Ni l'entrepôt (marts.positions) ni une publication de l'application (positions, "
                         "recherche) : aucun document ne peut être établi (lancez d'abord `onevision run`).")


def _detail_join(r: Relations, alias: str, line: str) -> str:
    return (f"LEFT JOIN {r.details} {alias} ON {alias}.source = {line}.source AND {alias}.departement = "
            f"{line}.departement AND {alias}.fichier = {line}.fichier AND {alias}.ligne = {line}.ligne")


def position(con: duckdb.DuckDBPyConnection, r: Relations, siren: str, departement: str) -> dict[str, Any]:
    """The company's position in the department joined with its register row (the latest known)."""
    rows = _rows(con, f"""
        SELECT p.*, e.adresse, e.code_postal, e.commune, e.date_jugement
        FROM {r.positions} p
        LEFT JOIN {r.registre} e USING (siren)
        WHERE p.siren = $siren AND p.departement = $dept""", {"siren": siren, "dept": departement})
    if not rows:
        raise DocumentRefused(f"L'entreprise {siren_affiche(siren)} n'a pas de position dans le département "
                              f"{departement} : aucun document à établir.")
    return rows[0]


def _common(p: dict[str, Any], today: dt.date, titre: str = "") -> dict[str, Any]:
    adresse = ", ".join(x for x in (p.get("adresse"), " ".join(
        x for x in (p.get("code_postal"), p.get("commune")) if x)) if x)
    return {
        "denomination": p["denomination"] or "(sans dénomination)",
        "siren_affiche": siren_affiche(p["siren"]),
        "adresse_entreprise": f" — {adresse}" if adresse else "",
        "departement": p["departement"],
        "date_situation": format_date(p["date_situation"]),
        "date_document": format_date(today),
        "destinataire_titre": titre,
        "destinataire_nom": p["denomination"] or "",
        "destinataire_adresse": p.get("adresse") or "",
        "destinataire_commune": " ".join(x for x in (p.get("code_postal"), p.get("commune")) if x),
    }


def _in_procedure(p: dict[str, Any]) -> bool:
    """A procedure open at the as-of date (section 6): a judgment after it does not count yet."""
    return bool(p["procedure_collective"]) and (p["date_jugement"] is None or p["date_jugement"] <= p["date_situation"])


def _procedure_sentence(p: dict[str, Any]) -> str:
    label = PROCEDURES.get(p["procedure_collective"], str(p["procedure_collective"]).lower())
    judged = f" (jugement d'ouverture du {format_date(p['date_jugement'])})" if p["date_jugement"] else ""
    return f"{p['denomination']} est en {label}{judged}"


# --------------------------------------------------------------------------- notification (L. 257 B)


def _allocation_sql(lines_sql: str, order: str) -> str:
    """Adds `affecte` and `reste` to `lines_sql`: the amount $amount is spread over its rows in `order`."""
    return f"""
        WITH l AS ({lines_sql}),
        c AS (SELECT *, coalesce(sum(montant) OVER (ORDER BY {order} ROWS BETWEEN UNBOUNDED PRECEDING
                                                     AND 1 PRECEDING), 0) AS avant FROM l)
        SELECT *, CAST(greatest(0, least(montant, $amount - avant)) AS DECIMAL(18,2)) AS affecte,
               CAST(montant - greatest(0, least(montant, $amount - avant)) AS DECIMAL(18,2)) AS reste
        FROM c ORDER BY {order}"""


def _credits_sql(r: Relations) -> str:
    return f"""
    SELECT l.source, l.reference, l.date_ligne, l.montant, x.periode, x.impot, x.exercice, x.type_creance
    FROM {r.lignes_creances} l {_detail_join(r, "x", "l")}
    WHERE l.siren = $siren AND l.departement = $dept AND l.nature = 'CERTAINE' AND l.compensable AND l.montant > 0"""


def _taxes_sql(r: Relations) -> str:
    return f"""
    SELECT l.departement, l.reference, l.date_ligne, l.montant, x.impot, x.periode
    FROM {r.lignes_dettes} l {_detail_join(r, "x", "l")}
    WHERE l.siren = $siren AND l.source = 'impots_pro' AND l.nature = 'ECHUE' AND l.compensable
      AND NOT l.suspendue AND l.montant > 0 AND list_contains($depts, l.departement)"""


def _credit_detail(row: dict[str, Any]) -> str:
    if row["source"] == "credits_tva":
        return f"période {periode(row['periode'])}" if row["periode"] else "—"
    if row["source"] == "excedents":
        return " ".join(str(x) for x in (row["impot"], row["exercice"]) if x) or "—"
    kind = IS_TYPES.get(row["type_creance"] or "", row["type_creance"] or "")
    return " ".join(str(x) for x in (kind, f"exercice {row['exercice']}" if row["exercice"] else None) if x) or "—"


def _notification_refusal(p: dict[str, Any], departement: str, filed_elsewhere: list[tuple[str, Decimal]]) -> str:
    name = p["denomination"]
    if _in_procedure(p):
        return (f"Notification refusée : la compensation est bloquée, {_procedure_sentence(p)} ; payer une dette "
                "antérieure au jugement, compensation comprise, est interdit sauf créances connexes "
                "(art. L. 622-7 du Code de commerce).")
    if p["passif_declare"] > 0:
        return (f"Notification refusée : la compensation est bloquée, une créance de {euros(p['passif_declare'])} "
                f"de {name} est déclarée au passif d'une procédure collective que le registre ne montre pas "
                "(art. L. 622-7 du Code de commerce).")
    if filed_elsewhere:
        where = ", ".join(f"{euros(amount)} dans le département {dept}" for dept, amount in filed_elsewhere)
        return (f"Notification refusée : la compensation est bloquée partout, des créances de {name} sont déclarées "
                f"au passif d'une procédure collective ({where}) (art. L. 622-7 du Code de commerce).")
    if p["total_creances"] <= 0:
        return (f"Notification refusée : {name} n'a aucune créance certaine et due sur l'État dans le "
                f"département {departement} (rien à affecter, art. L. 257 B du livre des procédures fiscales).")
    return (f"Notification refusée : {name} n'a aucun impôt professionnel échu et non suspendu sur lequel affecter "
            f"ses {euros(p['total_creances'])} de créances (art. L. 257 B du livre des procédures fiscales ; "
            "un impôt sous sursis de paiement n'est pas compensable, art. L. 277).")


def notification_context(con: duckdb.DuckDBPyConnection, siren: str, departement: str,
                         today: dt.date) -> tuple[dict[str, Any], dict[str, Any]]:
    rel = relations(con)
    p = position(con, rel, siren, departement)
    amount, depts = p["montant_compensable"], [departement]
    if rel.compensations:  # the national rule (section 6): no row, no offset (blocked in another department too)
        row = con.execute(f"SELECT montant_compensable, departements_dettes FROM {rel.compensations} "
                          "WHERE siren = ? AND departement = ?", [siren, departement]).fetchone()
        amount = row[0] if row is not None else ZERO
        if row is not None:
            depts = sorted({departement, *[d for d in row[1].split(",") if d]})
    filed_elsewhere = [(d, a) for d, a in con.execute(
        f"SELECT departement, passif_declare FROM {rel.positions} WHERE siren = ? AND departement <> ? "
        "AND passif_declare > 0 ORDER BY departement", [siren, departement]).fetchall()]
    if _in_procedure(p) or p["passif_declare"] > 0 or amount <= 0:
        raise DocumentRefused(_notification_refusal(p, departement, filed_elsewhere))
    params = {"siren": siren, "dept": departement, "depts": depts}
    credits = _rows(con, _allocation_sql(_credits_sql(rel), "date_ligne NULLS LAST, source, reference"),
                    {**params, "amount": amount})
    taxes = _rows(con, _allocation_sql(_taxes_sql(rel), "date_ligne NULLS LAST, departement, reference"),
                  {**params, "amount": amount})
    total_credits = sum((c["montant"] for c in credits), ZERO)
    total_taxes = sum((t["montant"] for t in taxes), ZERO)
    applied = min(amount, total_credits, total_taxes)
    if applied <= 0:
        raise DocumentRefused(_notification_refusal(p, departement, filed_elsewhere))
    other = sorted({t["departement"] for t in taxes if t["departement"] != departement and t["affecte"] > 0})
    context = _common(p, today)
    context.update(
        montant_affecte=euros(applied),
        total_creances=euros(total_credits),
        total_impositions=euros(total_taxes),
        reste_creances=euros(total_credits - applied),
        reste_impositions=euros(total_taxes - applied),
        inter_departements=bool(other),
        phrase_departements=(
            f"Les sommes dues par l'État sont détenues dans le département {departement} ; elles paient des "
            f"impositions dues dans le{'s' if len(other) > 1 else ''} département{'s' if len(other) > 1 else ''} "
            f"{', '.join(other)} : l'article L. 257 B s'applique au contribuable, quel que soit le service qui "
            "gère chaque créance." if other else ""),
        creances=[{"source": CREDIT_SOURCES.get(c["source"], c["source"]), "reference": c["reference"],
                   "detail": _credit_detail(c), "montant": euros(c["montant"]), "affecte": euros(c["affecte"]),
                   "reste": euros(c["reste"])} for c in credits],
        impositions=[{"reference": t["reference"], "impot": t["impot"] or "—", "periode": periode(t["periode"]),
                      "date_exigibilite": format_date(t["date_ligne"]), "departement": t["departement"],
                      "montant": euros(t["montant"]), "affecte": euros(t["affecte"]), "reste": euros(t["reste"])}
                     for t in taxes],
    )
    summary = {"montant_affecte": applied, "total_creances": total_credits, "total_impositions": total_taxes,
               "reste_creances": total_credits - applied, "reste_impositions": total_taxes - applied,
               "departements_impositions": depts}
    return context, summary


# --------------------------------------------------------------------------- declaration (L. 622-24)

_SOURCE_ORDER = "CASE d.source WHEN 'impots_pro' THEN 1 WHEN 'amendes' THEN 2 WHEN 'rnf' THEN 3 ELSE 4 END"

def _declarations_sql(r: Relations) -> str:
    return f"""
    SELECT d.*, x.impot, x.periode, x.libelle_collectivite, x.nature_produit, x.nature_recette
    FROM {r.declarations} d {_detail_join(r, "x", "d")}
    WHERE d.siren = $siren AND d.departement = $dept
    ORDER BY {_SOURCE_ORDER}, d.date_ligne NULLS LAST, d.cle"""


def _what(row: dict[str, Any]) -> str:
    """What a debt line is, in words (tax and period, the local body and product...)."""
    if row["source"] == "impots_pro":
        return " ".join(x for x in (row.get("impot"), periode(row.get("periode"))) if x and x != "—") or "Impôt"
    if row["source"] == "amendes":
        return "Amende forfaitaire majorée"
    if row["source"] == "spl":
        product = (row.get("nature_produit") or "Produit local").capitalize()
        return f"{product} ({row['libelle_collectivite']})" if row.get("libelle_collectivite") else product
    return (row.get("nature_recette") or "Recette non fiscale").capitalize()


def _nature(row: dict[str, Any]) -> str:
    if row["nature"] == "A_ECHOIR":
        return f"{_what(row)}, à échoir"
    if row["nature"] == "NON_VALEUR":
        return f"{_what(row)}, échue (admise en non-valeur, non éteinte)"
    return f"{_what(row)}, échue"


def _etat(row: dict[str, Any]) -> str:
    etat = row["etat"]
    if etat == "A_DECLARER":
        return f"à déclarer avant le {format_date(row['date_limite_declaration'])}"
    if etat == "RELEVE_POSSIBLE":
        return (f"délai dépassé : relevé de forclusion à demander avant le {format_date(row['date_limite_releve'])} "
                "(art. L. 622-26)")
    if etat == "FORCLOS":
        return "délais dépassés d'après les données : à examiner (art. L. 622-26)"
    if etat == "BODACC_INCONNU":
        return "publication au BODACC inconnue : délai à vérifier (art. R. 622-24)"
    return f"née après le jugement : à qualifier ({_qualifying_article(row['procedure_collective'])})"


def _qualifying_article(procedure: str) -> str:
    """The article of the claims born after the judgment that are paid at maturity: L. 641-13 in a liquidation."""
    return "art. L. 641-13" if procedure == "LIQUIDATION" else "art. L. 622-17"


def _service(row: dict[str, Any]) -> str:
    """The accountant in charge of a line (`marts.declarations.service_declarant`, else by its source)."""
    code = row.get("service_declarant") or DECLARING_SERVICES.get(row["source"], "")
    service = SERVICES.get(code, code)
    if row["source"] == "spl" and row.get("libelle_collectivite"):
        service = f"{service} ({row['libelle_collectivite']})"
    return service


def _line(row: dict[str, Any]) -> dict[str, str]:
    service = _service(row)
    return {"reference": row["cle"], "nature": _nature(row), "date_origine": format_date(row["date_origine"]),
            "echeance": format_date(row["date_ligne"]), "montant": euros(row["montant"]), "etat": _etat(row),
            "service": service}


def declaration_context(con: duckdb.DuckDBPyConnection, siren: str, departement: str,
                        today: dt.date) -> tuple[dict[str, Any], dict[str, Any]]:
    rel = relations(con)
    p = position(con, rel, siren, departement)
    if not p["procedure_collective"]:
        raise DocumentRefused(f"Déclaration refusée : {p['denomination']} n'est pas en procédure collective d'après "
                              "le registre ; une déclaration de créances ne se fait qu'au mandataire d'une procédure "
                              "ouverte (art. L. 622-24 du Code de commerce).")
    if rel.declarations is None:
        raise DocumentRefused("Déclaration impossible : la liste des créances à déclarer n'est pas encore calculée "
                              "(entrepôt antérieur au contrat version 3 : relancez `onevision run`).")
    rows = _rows(con, _declarations_sql(rel), {"siren": siren, "dept": departement})
    main = [r for r in rows if r["etat"] != "A_QUALIFIER" and r["service_declarant"] in STATE_SERVICES]
    others = [r for r in rows if r["etat"] != "A_QUALIFIER" and r["service_declarant"] not in STATE_SERVICES]
    to_qualify = [r for r in rows if r["etat"] == "A_QUALIFIER"]
    if not main:
        extra = ""
        if others or to_qualify:
            extra = (f" ; {len(others) + len(to_qualify)} ligne(s) relèvent d'un autre comptable ou sont nées après "
                     "le jugement (à qualifier) : voir la liste des déclarations")
        raise DocumentRefused(f"Déclaration refusée : aucune créance de l'État à déclarer pour {p['denomination']} "
                              f"dans le département {departement}{extra}.")
    total_echu = sum((r["montant"] for r in main if r["nature"] != "A_ECHOIR"), ZERO)
    a_echoir = [r for r in main if r["nature"] == "A_ECHOIR"]
    total_a_echoir = sum((r["montant"] for r in a_echoir), ZERO)
    deadlines = [r["date_limite_declaration"] for r in main if r["date_limite_declaration"] is not None]
    reliefs = [r["date_limite_releve"] for r in main if r["date_limite_releve"] is not None]
    deadline = min(deadlines) if deadlines else None
    groups = []
    for source in ("impots_pro", "amendes", "rnf"):
        lines = [r for r in main if r["source"] == source]
        if lines:
            service = SERVICES.get(lines[0]["service_declarant"], lines[0]["service_declarant"])
            groups.append({"titre": f"{SOURCE_TITLES[source]} — créances suivies par le {service}",
                           "lignes": [_line(r) for r in lines],
                           "total": euros(sum((r["montant"] for r in lines), ZERO))})
    annexes = []
    for key in sorted({(r["service_declarant"], r.get("libelle_collectivite") or "") for r in others}):
        lines = [r for r in others if (r["service_declarant"], r.get("libelle_collectivite") or "") == key]
        who = SERVICES.get(key[0], key[0]) + (f" ({key[1]})" if key[1] else "")
        annexes.append({"titre": f"créances à déclarer par le {who}", "lignes": [_line(r) for r in lines],
                        "total": euros(sum((r["montant"] for r in lines), ZERO))})
    if deadline is None:
        phrase = ("La publication du jugement au BODACC n'est pas connue : le délai de deux mois (art. R. 622-24 du "
                  "Code de commerce) est à vérifier.")
    else:
        phrase = ("Deux mois après la publication au BODACC, quatre de plus hors de la métropole (art. R. 622-24 du "
                  "Code de commerce), reportés au premier jour ouvrable suivant un samedi, un dimanche ou un jour "
                  "férié (art. 642 du code de procédure civile)")
        if reliefs:
            phrase += (f" ; passé ce délai, relevé de forclusion à demander au juge-commissaire avant le "
                       f"{format_date(min(reliefs))} (art. L. 622-26 du Code de commerce)")
        phrase += "."
    context = _common(p, today, "Maître [nom du mandataire judiciaire]")
    context.update(
        destinataire_nom="Mandataire judiciaire",
        destinataire_adresse="[adresse du mandataire judiciaire]",
        destinataire_commune="",
        procedure=PROCEDURES.get(p["procedure_collective"], p["procedure_collective"]),
        date_jugement=format_date(p["date_jugement"] or main[0]["date_jugement"]),
        publication=(f"le {format_date(main[0]['date_publication_bodacc'])}" if main[0]["date_publication_bodacc"]
                     else "(date de publication inconnue)"),
        date_limite=(format_date(deadline) + (f" (dépassée au {format_date(p['date_situation'])})"
                                              if deadline < p["date_situation"] else "")) if deadline else "à vérifier",
        article_qualifier=_qualifying_article(p["procedure_collective"]),
        phrase_delai=phrase,
        groupes=groups,
        total_echu=euros(total_echu),
        total_a_echoir=euros(total_a_echoir),
        echeances_a_echoir=(" (échéance" + ("s" if len({r["date_ligne"] for r in a_echoir}) > 1 else "") + " du "
                            + ", ".join(format_date(d) for d in sorted({r["date_ligne"] for r in a_echoir
                                                                          if r["date_ligne"]})) + ")")
        if a_echoir else "",
        total_declare=euros(total_echu + total_a_echoir),
        annexes_comptables=annexes,
        a_qualifier=[_line(r) for r in to_qualify],
        total_a_qualifier=euros(sum((r["montant"] for r in to_qualify), ZERO)),
    )
    summary = {"total_echu": total_echu, "total_a_echoir": total_a_echoir, "total_declare": total_echu + total_a_echoir,
               "date_limite_declaration": deadline,
               "autres_comptables": sum((r["montant"] for r in others), ZERO),
               "a_qualifier": sum((r["montant"] for r in to_qualify), ZERO)}
    return context, summary


# --------------------------------------------------------------------------- joint SATD (L. 262)

def _pursuable_sql(r: Relations) -> str:
    return f"""
    SELECT l.source, l.reference, l.date_ligne, l.montant, x.impot, x.periode, x.libelle_collectivite,
           x.nature_produit, x.nature_recette
    FROM {r.lignes_dettes} l {_detail_join(r, "x", "l")}
    WHERE l.siren = $siren AND l.departement = $dept AND l.nature = 'ECHUE' AND NOT l.suspendue AND l.montant > 0
    ORDER BY {_SOURCE_ORDER.replace('d.source', 'l.source')}, l.date_ligne NULLS LAST, l.reference"""


def satd_context(con: duckdb.DuckDBPyConnection, siren: str, departement: str,
                 today: dt.date) -> tuple[dict[str, Any], dict[str, Any]]:
    rel = relations(con)
    p = position(con, rel, siren, departement)
    if _in_procedure(p) or p["procedure_collective"]:
        raise DocumentRefused(f"SATD refusée : {_procedure_sentence(p)} ; aucun créancier ne peut poursuivre une "
                              "créance hors de la procédure (art. L. 622-21 du Code de commerce) : les créances se "
                              "déclarent au mandataire.")
    if p["passif_declare"] > 0:
        raise DocumentRefused(f"SATD refusée : une créance de {euros(p['passif_declare'])} de {p['denomination']} "
                              "est déclarée au passif d'une procédure collective que le registre ne montre pas ; "
                              "aucune poursuite hors de la procédure (art. L. 622-21 du Code de commerce).")
    rows = _rows(con, _pursuable_sql(rel), {"siren": siren, "dept": departement})
    if not rows:
        if p["total_dettes"] > 0:
            reasons = [row[0] for row in con.execute(
                f"SELECT DISTINCT motif_suspension FROM {rel.lignes_dettes} WHERE siren = ? AND departement = ? "
                "AND nature = 'ECHUE' AND suspendue ORDER BY 1", [siren, departement]).fetchall() if row[0]]
            why = " ; ".join(SUSPENSIONS.get(code, code) for code in reasons)
            raise DocumentRefused(f"SATD refusée : {p['denomination']} n'a aucune dette poursuivable dans le "
                                  f"département {departement} ; ses {euros(p['total_dettes'])} de dettes échues "
                                  f"sont toutes suspendues ({why or 'motif non précisé'}).")
        raise DocumentRefused(f"SATD refusée : {p['denomination']} n'a aucune dette échue dans le département "
                              f"{departement} : rien à poursuivre.")
    total = sum((r["montant"] for r in rows), ZERO)
    groups = []
    for source in ("impots_pro", "amendes", "rnf", "spl"):
        lines = [r for r in rows if r["source"] == source]
        if lines:
            groups.append({
                "titre": SOURCE_TITLES[source], "titre_executoire": ENFORCEABLE_TITLES[source],
                "total": euros(sum((r["montant"] for r in lines), ZERO)),
                "lignes": [{"reference": r["reference"], "detail": _what(r), "date": format_date(r["date_ligne"]),
                            "service": _service(r),
                            "montant": euros(r["montant"])} for r in lines]})
    excluded = []
    if p["dettes_suspendues"] > 0:
        excluded.append(f"dettes échues suspendues : {euros(p['dettes_suspendues'])}")
    if p["dettes_a_echoir"] > 0:
        excluded.append(f"impôts à échoir : {euros(p['dettes_a_echoir'])}")
    if p["dettes_non_valeur"] > 0:
        excluded.append(f"amendes admises en non-valeur : {euros(p['dettes_non_valeur'])}")
    context = _common(p, today, "Tiers détenteur : banque, client, locataire…")
    context.update(
        destinataire_nom="[nom du tiers détenteur]",
        destinataire_adresse="[adresse du tiers détenteur]",
        destinataire_commune="",
        groupes=groups,
        total_poursuivable=euros(total),
        phrase_exclues=("Non reprises : " + " ; ".join(excluded) + ".") if excluded else
        "Aucune dette n'est écartée.",
    )
    summary = {"total_poursuivable": total, "dettes_poursuivables_position": p["dettes_poursuivables"],
               **{f"total_{g}": sum((r["montant"] for r in rows if r["source"] == g), ZERO)
                  for g in ("impots_pro", "amendes", "rnf", "spl")}}
    return context, summary


CONTEXTS = {"notification": notification_context, "declaration": declaration_context, "satd": satd_context}
