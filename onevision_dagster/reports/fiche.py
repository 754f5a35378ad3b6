"""Company sheet: everything One Vision knows about one SIREN, on one printable page.

An agent must be able to check every figure back to the source file: every
line is listed (debts and credits, open or settled) with its origin file and
physical line. No JavaScript: the sheet opens and prints anywhere.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from onevision_dagster.reports import freshness
from onevision_dagster.reports.fiche_data import (
    WAREHOUSE_TABLES,
    PositionIntrouvable,
    SheetTables,
    load_fiche,
    procedure_ouverte,
    top_companies,
)
from onevision_dagster.reports.fiche_history import history_html
from onevision_dagster.reports.formatting import MISSING, format_date, format_euros, format_nombre
from onevision_dagster.reports.html_page import (
    FICHES_DIR,
    INDEX,
    PAGE_KIND_FICHE,
    esc,
    fiche_filename,
    page_html,
    table_html,
    write_text_atomic,
)
from onevision_dagster.reports.labels import (
    CATEGORIES_JURIDIQUES,
    ETAPE_LABELS,
    NATURES_CREANCES,
    PROCEDURES,
    RATTACHEMENTS,
    STATUTS,
    source_label,
)
from onevision_dagster.reports.legal import (
    BLOCAGE_LABELS,
    BLOCAGE_PASSIF,
    BLOCAGE_PROCEDURE,
    COMPENSATION_ANTERIEURE,
    COMPENSATION_ANTERIEURE_DETAIL,
    CREANCE_A_ECHOIR,
    DECLARATIONS_BASE_LEGALE,
    ETATS_DECLARATION,
    HORS_L257B,
    LEGAL_BASIS_HTML,
    REJETS_AIDE,
    SERVICES_DECLARANTS,
    debt_line_situation,
    suspension_label,
)

__all__ = [
    "FICHES_DIR",
    "PositionIntrouvable",
    "fiche_filename",
    "render_fiche",
    "top_companies",
    "write_fiche",
]

def _identity_html(ident: dict[str, Any] | None, position: dict[str, Any]) -> str:
    if ident is None:
        return (
            "<p class=alerte>Entreprise absente du registre : identité inconnue "
            f"(dénomination des données : {esc(position.get('denomination'))}).</p>"
        )
    cat = ident.get("categorie_juridique") or ""
    cat_label = CATEGORIES_JURIDIQUES.get(cat[:1], "")
    etat = {"A": "Active", "C": "Cessée"}.get(ident.get("etat_administratif") or "", ident.get("etat_administratif"))
    procedure = ident.get("procedure_collective")
    procedure_text = (
        f"{PROCEDURES.get(procedure, procedure)} — jugement d'ouverture du {format_date(ident.get('date_jugement'))}"
        if procedure
        else "Aucune"
    )
    address = " ".join(p for p in (ident.get("adresse"), ident.get("code_postal"), ident.get("commune")) if p)
    rows = [
        ("Dénomination", esc(ident.get("denomination"))),
        ("Sigle", esc(ident.get("sigle")) if ident.get("sigle") else MISSING),
        ("SIREN", esc(ident["siren"])),
        ("Adresse du siège", esc(address) if address else MISSING),
        ("Département du siège", esc(ident.get("departement"))),
        ("Catégorie juridique", esc(f"{cat} — {cat_label}" if cat_label else cat)),
        ("Date de création", esc(format_date(ident.get("date_creation")))),
        ("État administratif", esc(etat)),
        ("Procédure collective", esc(procedure_text)),
        ("Origine", esc(f"{ident.get('fichier') or MISSING}, ligne {ident.get('ligne') or MISSING}")),
    ]
    body = "".join(f'<tr><th scope="row">{esc(k)}</th><td>{v}</td></tr>' for k, v in rows)
    return f'<table class="identite"><tbody>{body}</tbody></table>'


def _position_html(p: dict[str, Any], national: bool) -> str:
    rows = [
        ("Amendes", p["dettes_amendes"]),
        ("Produits locaux (Hélios)", p["dettes_spl"]),
        ("Impôts professionnels", p["dettes_impots_pro"]),
        ("Recettes non fiscales", p["dettes_rnf"]),
        ("Total des dettes échues", p["total_dettes"]),
        ("dont suspendues (motif sur chaque ligne)", p["dettes_suspendues"]),
        ("dont poursuivables (non suspendues d'après les données)", p["dettes_poursuivables"]),
        ("Impôts professionnels à échoir (hors total, pas encore échus)", p["dettes_a_echoir"]),
        ("Amendes admises en non-valeur (hors total, non éteintes)", p["dettes_non_valeur"]),
        ("Crédits de TVA accordés", p["creances_tva"]),
        ("Excédents à restituer", p["creances_excedents"]),
        ("Créances d'IS remboursables", p["creances_is"]),
        ("Total des créances certaines et dues", p["total_creances"]),
        ("Créances à échoir (hors total, non compensables avant leur date)", p["creances_a_echoir"]),
        ("Créances potentielles (en instruction)", p["creances_potentielles"]),
        ("Impôts compensables (échus et poursuivables, art. L. 257 B LPF)", p["dettes_compensables"]),
        ("Montant compensable", p["montant_compensable"]),
        ("Passif déclaré (impôts déclarés au passif d'une procédure)", p["passif_declare"]),
    ]
    cells = "".join(
        f'<tr><th scope="row">{esc(k)}</th><td class=montant>{esc(format_euros(v))}</td></tr>' for k, v in rows
    )
    scope = (
        f"Départements : {p.get('departements')}" if national else f"Département des extraits : {p.get('departement')}"
    )
    age = p.get("anciennete_jours")
    cells += (
        '<tr><th scope="row">Sources de dettes échues</th>'
        f"<td class=montant>{esc(format_nombre(p['nb_sources_dettes']))}</td></tr>"
        f'<tr><th scope="row">Ancienneté de la plus vieille dette échue</th><td class=montant>'
        f"{esc(MISSING if age is None else format_nombre(age) + ' jours')}</td></tr>"
    )
    date = format_date(p.get("date_situation"))
    return f"<p>{esc(scope)} — situation au {esc(date)}</p><table>{cells}</table>"


def debt_offsetting(line: dict[str, Any], blocage: str | None = None, credits: bool = True) -> str:
    """What art. L. 257 B allows for one debt line, in the contract's words (section 8).

    ``blocage``: the company's offsetting block, if any; ``credits``: the company holds certain due credits
    (otherwise there is nothing to offset: never « compensable », never « bloquée »).
    """
    nature = line.get("nature")
    if nature == "AUCUNE":
        return MISSING
    if nature == "NON_VALEUR":
        return "Admise en non-valeur, hors dettes poursuivies"
    if line.get("source") != "impots_pro":
        return f"Hors L. 257 B ({SOURCE_HORS_L257B.get(line.get('source') or '', 'autre créance')})"
    if nature == "A_ECHOIR":
        return "À échoir (non compensable avant sa date)"
    if blocage is not None and credits:
        return f"Compensation bloquée : {BLOCAGE_LABELS[blocage]}"
    if line.get("suspendue"):
        return "Non compensable : suspendue"
    if line.get("compensable") and credits:
        return "Compensable (art. L. 257 B LPF)"
    if line.get("compensable"):
        return "Rien à compenser : aucune créance certaine et due"
    return "Non compensable"


SOURCE_HORS_L257B = {
    "amendes": "amende",
    "spl": "créance d'une collectivité, autre créancier",
    "rnf": "recette non fiscale",
}


def _line_flags(line: dict[str, Any]) -> str:
    flags = []
    if line.get("passif"):
        flags.append('<span class="drapeau">Déclarée au passif</span>')
    if line.get("sursis"):
        flags.append('<span class="drapeau">Sursis de paiement</span>')
    if line.get("conteste") and not line.get("sursis"):
        flags.append('<span class="drapeau">Contestée</span>')
    return "".join(flags)


def _lines_html(lines: list[dict[str, Any]], *, debts: bool, national: bool, blocage: str | None = None,
                credits: bool = True) -> str:
    if not lines:
        return "<p>Aucune ligne.</p>"
    headers: list[tuple[str, bool]] = [("Département", False)] if national else []
    headers += [
        ("Source", False),
        ("Référence", False),
        ("Date" if not debts else "Date de la dette", False),
        ("Restant dû" if debts else "Montant dû par l'État", True),
        ("Statut", False),
        ("Situation" if debts else "Nature", False),
    ]
    headers += [("Étape", False), ("Compensation (L. 257 B)", False), ("Indicateurs", False)] if debts else []
    headers += [("Fichier d'origine", False), ("Ligne", True)]
    natures = NATURES_CREANCES
    rows = []
    for line in lines:
        row = [esc(line["departement"])] if national else []
        reference = esc(line["reference"])
        if debts and line.get("source") == "amendes" and line.get("rattachement"):
            how = RATTACHEMENTS.get(line["rattachement"], line["rattachement"])
            reference += f"<br><small>rattachée {esc(how)}</small>"
        row += [
            esc(source_label(line["source"])),
            reference,
            esc(format_date(line.get("date_ligne"))),
            esc(format_euros(line["montant"])),
            esc(STATUTS.get(line.get("statut") or "", line.get("statut"))),
            esc(debt_line_situation(line) if debts else natures.get(line.get("nature") or "", line.get("nature"))),
        ]
        if debts:
            etape = line.get("etape")
            row += [esc(ETAPE_LABELS.get(etape, etape) if etape else MISSING),
                    esc(debt_offsetting(line, blocage, credits)), _line_flags(line)]
        row += [esc(line.get("fichier")), esc(line.get("ligne"))]
        rows.append(row)
    classes = ["fermee" if line.get("nature") in ("AUCUNE", "NON_VALEUR") else "" for line in lines]
    lead = [""] * (len(headers) - 4 - (5 if debts else 3))
    tail = [""] * ((5 if debts else 3) + 2)
    if debts:
        totals = (("ECHUE", "Total des dettes échues"), ("A_ECHOIR", "À échoir (hors total)"),
                  ("NON_VALEUR", "Admises en non-valeur (hors total)"))
    else:
        totals = (("CERTAINE", "Total des créances certaines et dues"), ("A_ECHOIR", "Créances à échoir (hors "
                  "total)"), ("POTENTIELLE", "Total des créances potentielles"))
    footer = [[*lead, label, esc(format_euros(_sum_nature(lines, n))), *tail] for n, label in totals]
    return table_html(headers, rows, row_classes=classes, footer=footer)


def _sum_nature(lines: list[dict[str, Any]], nature: str) -> Decimal:
    return sum((ln["montant"] for ln in lines if ln.get("nature") == nature), Decimal("0.00"))


def _of_nature(lines: list[dict[str, Any]], nature: str, **conditions: object) -> tuple[int, Decimal]:
    chosen = [ln for ln in lines if ln.get("nature") == nature and all(bool(ln.get(k)) == v
                                                                       for k, v in conditions.items())]
    return len(chosen), sum((ln["montant"] for ln in chosen), Decimal("0.00"))


def offset_before_judgment(data: dict[str, Any]) -> bool:
    """In a procedure, a certain credit and a past-due tax both dated before the judgment (section 8)."""
    ident = data["identite"]
    if not procedure_ouverte(ident, data["position"].get("date_situation")):
        return False
    judgment = ident["date_jugement"]
    credit = any(c.get("nature") == "CERTAINE" and c.get("date_ligne") and c["date_ligne"] < judgment
                 for c in data["creances"])
    tax = any(d.get("source") == "impots_pro" and d.get("nature") == "ECHUE" and d.get("date_ligne")
              and d["date_ligne"] < judgment for d in data["dettes"])
    return credit and tax


def _something_to_offset(p: dict[str, Any]) -> bool:
    return p["total_creances"] > 0 and p["dettes_impots_pro"] > 0


def _offsetting_html(data: dict[str, Any]) -> str:
    p = data["position"]
    ident = data["identite"]
    creances, dettes_comp, montant = p["total_creances"], p["dettes_compensables"], p["montant_compensable"]
    if montant > 0:
        head = (f"<strong>Compensable (art. L. 257 B LPF) : {esc(format_euros(montant))}</strong>")
    else:
        head = f"<strong>Montant compensable : {esc(format_euros(montant))}</strong>"
    parts = [
        f'<p class="encadre">{head}<br>'
        f"Créances certaines et dues : {esc(format_euros(creances))} — impôts professionnels échus et "
        f"poursuivables : {esc(format_euros(dettes_comp))}. Montant compensable = le plus petit des deux "
        "(art. L. 257 B du LPF ; notification à l'entreprise, art. R. 257 B-1 du LPF), 0 en cas de blocage.</p>"
    ]
    potential = min(creances, p["dettes_impots_pro"])
    if data["blocage"] == BLOCAGE_PROCEDURE:
        procedure = PROCEDURES.get(ident["procedure_collective"], ident["procedure_collective"])
        title = (f"Compensation bloquée : {esc(BLOCAGE_LABELS[BLOCAGE_PROCEDURE])}" if _something_to_offset(p)
                 else "Procédure collective ouverte")
        parts.append(
            f'<p class="alerte"><strong>{title}</strong>. '
            f"{esc(procedure)}, jugement d'ouverture du {esc(format_date(ident['date_jugement']))}. "
            "Toutes les dettes échues sont suspendues (art. L. 622-21 du Code de commerce) ; le paiement des dettes "
            "antérieures au jugement, compensation comprise, est interdit sauf créances connexes (art. L. 622-7) : "
            f"montant ramené à 0 (sans le blocage : {esc(format_euros(potential))}). "
            "À apprécier au cas par cas (créances postérieures au jugement, art. L. 622-17 ; plan ou clôture).</p>"
        )
    elif data["blocage"] == BLOCAGE_PASSIF:
        title = (f"Compensation bloquée : {esc(BLOCAGE_LABELS[BLOCAGE_PASSIF])}" if _something_to_offset(p)
                 else "Procédure non référencée au registre")
        parts.append(
            f'<p class="alerte"><strong>{title}</strong>. '
            f"{esc(format_euros(p['passif_declare']))} d'impôts sont déclarés au passif d'une procédure "
            "collective : la procédure existe même si le registre ne l'a pas encore enregistrée ; les dettes échues "
            "sont suspendues (art. L. 622-21 du Code de commerce) et l'art. L. 622-7 interdit la compensation des "
            f"dettes antérieures : montant ramené à 0 (sans le blocage : {esc(format_euros(potential))}). "
            "À vérifier au BODACC et à apprécier au cas par cas.</p>"
        )
    elif ident and ident.get("procedure_collective"):
        parts.append(
            '<p class="alerte">Procédure collective enregistrée avec un jugement postérieur à la date de '
            "situation : à vérifier avant toute compensation.</p>"
        )
    if offset_before_judgment(data):
        parts.append(f'<p class="alerte" id="compensation-anterieure"><strong>{esc(COMPENSATION_ANTERIEURE)}'
                     f"</strong>. {esc(COMPENSATION_ANTERIEURE_DETAIL)}</p>")
    suspended: dict[str, tuple[int, Decimal]] = {}
    for ln in data["dettes"]:
        if ln.get("nature") == "ECHUE" and ln.get("suspendue"):
            n, amount = suspended.get(ln.get("motif_suspension"), (0, Decimal("0.00")))
            suspended[ln.get("motif_suspension")] = (n + 1, amount + ln["montant"])
    if suspended:
        items = "".join(f"<li>{esc(suspension_label(code))} : {n} ligne(s), {esc(format_euros(amount))}</li>"
                        for code, (n, amount) in suspended.items())
        parts.append(f"<p>Dettes échues suspendues ({esc(format_euros(p['dettes_suspendues']))}) : comptées dans "
                     f"les dettes échues, ni poursuivies ni compensées.</p><ul>{items}</ul>")
    if p["dettes_a_echoir"]:
        n, _ = _of_nature(data["dettes"], "A_ECHOIR")
        parts.append(
            f"<p>{n} impôt(s) à échoir ({esc(format_euros(p['dettes_a_echoir']))}) : pas encore échu(s) à la "
            "date de situation, hors du total des dettes, non compensable(s) avant leur date.</p>"
        )
    other = p["dettes_amendes"] + p["dettes_spl"] + p["dettes_rnf"]
    if other:
        parts.append(
            f"<p>Amendes, produits locaux et recettes non fiscales ({esc(format_euros(other))}) : "
            f"{esc(HORS_L257B)} (amendes et recettes non fiscales hors du champ de l'article, produits locaux "
            "créances d'un autre créancier) ; d'autres "
            "voies existent (compensation de droit commun, art. 1347 du Code civil ; saisie administrative à tiers "
            "détenteur d'un remboursement dû par l'État), à apprécier par l'agent.</p>"
        )
    if p["dettes_non_valeur"]:
        parts.append(
            f"<p>Amendes admises en non-valeur ({esc(format_euros(p['dettes_non_valeur']))}) : non éteintes, hors "
            "des dettes poursuivies ; à reconsidérer si l'entreprise revient à meilleure fortune.</p>"
        )
    if p["creances_a_echoir"]:
        parts.append(
            f"<p>Créances à échoir ({esc(format_euros(p['creances_a_echoir']))}) : certaines mais remboursables "
            f"plus tard, {esc(CREANCE_A_ECHOIR)}.</p>"
        )
    if p["creances_potentielles"]:
        parts.append(
            f"<p>Créances potentielles ({esc(format_euros(p['creances_potentielles']))}) : "
            "demandes en instruction, à reconsidérer une fois accordées.</p>"
        )
    return "".join(parts) + _compensations_html(data)


def _compensations_html(data: dict[str, Any]) -> str:
    """Offsets across departments (`compensations`): what each department's credits could pay, and where."""
    rows = data.get("compensations") or []
    if not rows:
        return ""
    money = ("creances_departement", "dettes_compensables_departement", "dettes_compensables_autres",
             "montant_compensable")
    cells = [[esc(r["departement"]), esc(format_date(r["date_situation"])),
              *(esc(format_euros(r[c])) for c in money), esc(r["departements_dettes"])] for r in rows]
    headers = [("Créances détenues dans le département", False), ("Situation au", False),
               ("Créances certaines et dues", True), ("Impôts compensables du département", True),
               ("Impôts compensables ailleurs", True), ("Montant compensable", True),
               ("Départements des dettes", False)]
    notes = "".join(
        f'<p class="encadre">Les impôts dus dans le département {esc(d)} pourraient être payés par les créances '
        f"détenues dans le département {esc(r['departement'])} (montant compensable "
        f"{esc(format_euros(r['montant_compensable']))}, art. L. 257 B LPF) : à voir avec le service du département "
        f"{esc(r['departement'])}, qui sinon rembourserait.</p>"
        for r in rows for d in r["departements_dettes"].split(",") if d != r["departement"])
    return ('<h3 id="compensations">Compensations entre départements (art. L. 257 B LPF)</h3>'
            + table_html(headers, cells) + notes)


def _declarations_html(data: dict[str, Any]) -> str:
    rows = data.get("declarations") or []
    if not rows:
        return ""
    cells = [[esc(r["departement"]), esc(source_label(r["source"])), esc(r["cle"]), esc(format_euros(r["montant"])),
              esc(format_date(r["date_limite_declaration"])), esc(format_date(r["date_limite_releve"])),
              esc(ETATS_DECLARATION.get(r["etat"], r["etat"])),
              esc(SERVICES_DECLARANTS.get(r["service_declarant"], r["service_declarant"])),
              esc(f"{r.get('fichier') or MISSING}, ligne {r.get('ligne') or MISSING}")] for r in rows]
    headers = [("Département", False), ("Source", False), ("Référence", False), ("Montant", True),
               ("Date limite de déclaration", False), ("Date limite de relevé", False), ("État", False),
               ("Service déclarant", False), ("Origine", False)]
    return (f'<section id="declarations"><h2>Déclarations de créances</h2><p class="aide">'
            f"{esc(DECLARATIONS_BASE_LEGALE)}</p>{table_html(headers, cells)}</section>")


def _rejects_html(data: dict[str, Any]) -> str:
    rows = data.get("rejets") or []
    if not rows:
        return ""
    cells = [[esc(r.get("departement") or MISSING), esc(source_label(r["source"])), esc(r["fichier"]),
              esc(r["ligne"]), esc(r["message"] + (f" (colonne {r['colonne']})" if r.get("colonne") else "")),
              f"<code>{esc(r.get('contenu') or '')}</code>", '<span class="drapeau">Non comptée</span>']
             for r in rows]
    headers = [("Département", False), ("Source", False), ("Fichier", False), ("Ligne", True), ("Motif", False),
               ("Contenu tel qu'écrit", False), ("Prise en compte", False)]
    return (f'<section id="rejets"><h2>Lignes rejetées dans les derniers fichiers : non comptées</h2>'
            f'<p class="aide">{esc(REJETS_AIDE)}</p>{table_html(headers, cells)}</section>')


def _flags_html(data: dict[str, Any]) -> str:
    p, ident = data["position"], data["identite"]
    flags = []
    if data["blocage"] is not None and _something_to_offset(p):
        flags.append(f"Compensation bloquée : {BLOCAGE_LABELS[data['blocage']]}")
    if ident and ident.get("procedure_collective"):
        label = PROCEDURES.get(ident["procedure_collective"], ident["procedure_collective"])
        flags.append(f"Procédure collective : {label} ({format_date(ident.get('date_jugement'))})")
    if p["passif_declare"]:
        flags.append(f"Passif déclaré : {format_euros(p['passif_declare'])}")
    if p["dettes_suspendues"]:
        flags.append(f"Dettes suspendues : {format_euros(p['dettes_suspendues'])}")
    if offset_before_judgment(data):
        flags.append(COMPENSATION_ANTERIEURE[:1].upper() + COMPENSATION_ANTERIEURE[1:])
    if ident and ident.get("etat_administratif") == "C":
        flags.append("Entreprise cessée")
    if p["montant_compensable"] > 0:
        flags.append(f"Compensable (art. L. 257 B LPF) : {format_euros(p['montant_compensable'])}")
    if p["nb_sources_dettes"] >= 2:
        flags.append(f"Débiteur commun à {p['nb_sources_dettes']} sources")
    if data.get("rejets"):
        flags.append(f"Lignes rejetées non comptées : {len(data['rejets'])}")
    if not flags:
        return "<p>Aucun indicateur particulier.</p>"
    return "<p>" + "".join(f'<span class="drapeau">{esc(f)}</span>' for f in flags) + "</p>"


def render_fiche(data: dict[str, Any], index_href: str | None = None, freshness_days: int | None = None) -> str:
    """The sheet as a standalone HTML page (no script)."""
    p = data["position"]
    national = data["departement"] is None
    name = (data["identite"] or {}).get("denomination") or p.get("denomination") or data["siren"]
    scope = "France entière" if national else f"Département {data['departement']}"
    title = f"Fiche entreprise — {name} ({data['siren']})"
    back = f' — <a href="{esc(index_href)}">tous les rapports</a>' if index_href else ""
    date = format_date(p.get("date_situation"))
    fresh = freshness.flag({r["departement"]: r["date_situation"] for r in data.get("fraicheur", [])},
                           freshness.limit_days(freshness_days))
    subtitle = (f"<p>{esc(scope)} — situation au <strong>{esc(date)}</strong>{back}</p>"
                + (freshness.paragraph(fresh, "fiche produite") if fresh else ""))
    n_debts, n_credits = len(data["dettes"]), len(data["creances"])
    credits = p["total_creances"] > 0 or any(c["departement"] != data["departement"]
                                             for c in data.get("compensations") or [])
    body = (
        f'<section id="indicateurs"><h2>Indicateurs</h2>{_flags_html(data)}</section>'
        f'<section id="identite"><h2>Identité</h2>{_identity_html(data["identite"], p)}</section>'
        f'<section id="position"><h2>Position</h2>{_position_html(p, national)}</section>'
        f'<section id="compensation"><h2>Compensation</h2>{_offsetting_html(data)}</section>'
        f'<section id="dettes"><h2>Dettes ({n_debts} ligne(s), toutes situations)</h2>'
        f"{_lines_html(data['dettes'], debts=True, national=national, blocage=data['blocage'], credits=credits)}"
        "</section>"
        f"{_rejects_html(data)}{_declarations_html(data)}"
        f'<section id="creances"><h2>Créances ({n_credits} ligne(s), toutes situations)</h2>'
        f"{_lines_html(data['creances'], debts=False, national=national)}</section>"
        f'<section id="historique"><h2>Historique</h2>{history_html(data.get("historique"))}</section>'
        '<section id="base-legale"><h2>Base légale</h2>'
        f'<div class="encadre">{LEGAL_BASIS_HTML}</div></section>'
    )
    return page_html(
        title,
        body,
        kind=PAGE_KIND_FICHE,
        perimetre=data["departement"] or "national",
        subtitle_html=subtitle,
        synthetic=bool(data.get("synthetique")),
    )


def write_fiche(con: duckdb.DuckDBPyConnection, siren: str, departement: str | None, out: Path,
                rejected: str | None = None, tables: SheetTables = WAREHOUSE_TABLES,
                freshness_days: int | None = None) -> Path:
    """Writes the sheet of one SIREN (``departement=None``: national sheet).

    ``out`` is the file when it ends in ``.html``, else a folder where the file
    is named by `fiche_filename` (the name dashboards link to, under ``fiches/``).
    Raises `PositionIntrouvable` (a `ValueError`) when the SIREN has no position. ``rejected``: the scope's rejected
    rows computed once for many sheets (`rejected_rows_sql` stored in a temporary table), else looked up here;
    ``tables``: where the rows are read (`prefetch_companies` for many sheets).
    """
    data = load_fiche(con, siren, departement, rejected, tables)
    out = Path(out)
    path = out if out.suffix.lower() == ".html" else out / fiche_filename(data["siren"], departement)
    if path.parent.name == FICHES_DIR:
        index_href: str | None = f"../{INDEX}"
    elif (path.parent / INDEX).exists():
        index_href = INDEX
    else:
        index_href = None
    write_text_atomic(path, render_fiche(data, index_href, freshness_days))
    return path
