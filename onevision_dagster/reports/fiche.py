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

from onevision_dagster.reports.fiche_data import PositionIntrouvable, load_fiche, top_companies
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
    NATURES_DETTES,
    PROCEDURES,
    RATTACHEMENTS,
    STATUTS,
    source_label,
)
from onevision_dagster.reports.legal import (
    BLOCAGE_LABELS,
    BLOCAGE_PASSIF,
    BLOCAGE_PROCEDURE,
    CREANCE_A_ECHOIR,
    HORS_L257B,
    LEGAL_BASIS_HTML,
    SURSIS,
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
        ("Total des dettes exigibles", p["total_dettes"]),
        ("Impôts professionnels à échoir (hors total, pas encore exigibles)", p["dettes_a_echoir"]),
        ("Amendes admises en non-valeur (hors total, non éteintes)", p["dettes_non_valeur"]),
        ("Crédits de TVA accordés", p["creances_tva"]),
        ("Excédents à restituer", p["creances_excedents"]),
        ("Créances d'IS remboursables", p["creances_is"]),
        ("Total des créances certaines exigibles", p["total_creances"]),
        ("Créances à échoir (hors total, non compensables avant leur date)", p["creances_a_echoir"]),
        ("Créances potentielles (en instruction)", p["creances_potentielles"]),
        ("Solde (créances − dettes exigibles)", p["solde"]),
        ("Dettes compensables (impôts exigibles sans sursis)", p["dettes_compensables"]),
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
        '<tr><th scope="row">Sources de dettes exigibles</th>'
        f"<td class=montant>{esc(format_nombre(p['nb_sources_dettes']))}</td></tr>"
        f'<tr><th scope="row">Ancienneté de la plus vieille dette exigible</th><td class=montant>'
        f"{esc(MISSING if age is None else format_nombre(age) + ' jours')}</td></tr>"
    )
    date = format_date(p.get("date_situation"))
    return f"<p>{esc(scope)} — situation au {esc(date)}</p><table>{cells}</table>"


def debt_offsetting(line: dict[str, Any], blocage: str | None = None) -> str:
    """What art. L. 257 B allows for one debt line, in the contract's words (section 8).

    ``blocage``: the company's offsetting block, if any (a due tax is then offsettable in law but not now).
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
    if line.get("sursis"):
        return SURSIS[:1].upper() + SURSIS[1:]
    if line.get("compensable") and blocage is not None:
        return f"Bloquée : {BLOCAGE_LABELS[blocage]}"
    if line.get("compensable"):
        return "Compensable (art. L. 257 B)"
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


def _lines_html(lines: list[dict[str, Any]], *, debts: bool, national: bool, blocage: str | None = None) -> str:
    if not lines:
        return "<p>Aucune ligne.</p>"
    headers: list[tuple[str, bool]] = [("Département", False)] if national else []
    headers += [
        ("Source", False),
        ("Référence", False),
        ("Date" if not debts else "Date de la dette", False),
        ("Restant dû" if debts else "Montant dû par l'État", True),
        ("Statut", False),
        ("Nature", False),
    ]
    headers += [("Étape", False), ("Compensation (L. 257 B)", False), ("Indicateurs", False)] if debts else []
    headers += [("Fichier d'origine", False), ("Ligne", True)]
    natures = NATURES_DETTES if debts else NATURES_CREANCES
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
            esc(natures.get(line.get("nature") or "", line.get("nature"))),
        ]
        if debts:
            etape = line.get("etape")
            row += [esc(ETAPE_LABELS.get(etape, etape) if etape else MISSING), esc(debt_offsetting(line, blocage)),
                    _line_flags(line)]
        row += [esc(line.get("fichier")), esc(line.get("ligne"))]
        rows.append(row)
    classes = ["fermee" if line.get("nature") in ("AUCUNE", "NON_VALEUR") else "" for line in lines]
    lead = [""] * (len(headers) - 4 - (5 if debts else 3))
    tail = [""] * ((5 if debts else 3) + 2)
    if debts:
        totals = (("ECHUE", "Total des dettes exigibles"), ("A_ECHOIR", "À échoir (hors total)"),
                  ("NON_VALEUR", "Admises en non-valeur (hors total)"))
    else:
        totals = (("CERTAINE", "Total des créances certaines exigibles"), ("A_ECHOIR", "Créances à échoir (hors "
                  "total)"), ("POTENTIELLE", "Total des créances potentielles"))
    footer = [[*lead, label, esc(format_euros(_sum_nature(lines, n))), *tail] for n, label in totals]
    return table_html(headers, rows, row_classes=classes, footer=footer)


def _sum_nature(lines: list[dict[str, Any]], nature: str) -> Decimal:
    return sum((ln["montant"] for ln in lines if ln.get("nature") == nature), Decimal("0.00"))


def _of_nature(lines: list[dict[str, Any]], nature: str, **conditions: object) -> tuple[int, Decimal]:
    chosen = [ln for ln in lines if ln.get("nature") == nature and all(bool(ln.get(k)) == v
                                                                       for k, v in conditions.items())]
    return len(chosen), sum((ln["montant"] for ln in chosen), Decimal("0.00"))


def _offsetting_html(data: dict[str, Any]) -> str:
    p = data["position"]
    ident = data["identite"]
    creances, dettes_comp, montant = p["total_creances"], p["dettes_compensables"], p["montant_compensable"]
    parts = [
        f'<p class="encadre"><strong>Montant compensable : {esc(format_euros(montant))}</strong><br>'
        f"Créances certaines exigibles : {esc(format_euros(creances))} — impôts professionnels exigibles sans "
        f"sursis : {esc(format_euros(dettes_comp))}. Montant compensable = le plus petit des deux "
        "(art. L. 257 B du LPF ; notification à l'entreprise, art. R. 257 B-1 du LPF), 0 en cas de blocage.</p>"
    ]
    potential = min(creances, dettes_comp)
    if data["blocage"] == BLOCAGE_PROCEDURE:
        procedure = PROCEDURES.get(ident["procedure_collective"], ident["procedure_collective"])
        parts.append(
            f'<p class="alerte"><strong>Compensation bloquée : {esc(BLOCAGE_LABELS[BLOCAGE_PROCEDURE])}</strong>. '
            f"{esc(procedure)}, jugement d'ouverture du {esc(format_date(ident['date_jugement']))}. "
            "Le paiement des dettes antérieures au jugement, compensation comprise, est interdit "
            "sauf créances connexes : "
            f"montant ramené à 0 (sans le blocage : {esc(format_euros(potential))}). "
            "À apprécier au cas par cas (créances postérieures au jugement, art. L. 622-17 ; plan ou clôture).</p>"
        )
    elif data["blocage"] == BLOCAGE_PASSIF:
        parts.append(
            f'<p class="alerte"><strong>Compensation bloquée : {esc(BLOCAGE_LABELS[BLOCAGE_PASSIF])}</strong>. '
            f"{esc(format_euros(p['passif_declare']))} d'impôts sont déclarés au passif d'une procédure "
            "collective (phase PASSIF_PROCEDURE) : la procédure existe même si le registre ne l'a pas encore "
            "enregistrée, et l'art. L. 622-7 du Code de commerce interdit alors la compensation des dettes "
            f"antérieures : montant ramené à 0 (sans le blocage : {esc(format_euros(potential))}). "
            "À vérifier au BODACC et à apprécier au cas par cas.</p>"
        )
    elif ident and ident.get("procedure_collective"):
        parts.append(
            '<p class="alerte">Procédure collective enregistrée avec un jugement postérieur à la date de '
            "situation : à vérifier avant toute compensation.</p>"
        )
    n, amount = _of_nature(data["dettes"], "ECHUE", sursis=True)
    if n:
        parts.append(
            f"<p>{n} dette(s) sous sursis de paiement ({esc(format_euros(amount))}) : {esc(SURSIS)} ; "
            "comptée(s) dans les dettes exigibles, pas dans le montant compensable.</p>"
        )
    if p["dettes_a_echoir"]:
        n, _ = _of_nature(data["dettes"], "A_ECHOIR")
        parts.append(
            f"<p>{n} impôt(s) à échoir ({esc(format_euros(p['dettes_a_echoir']))}) : pas encore exigible(s) à la "
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
    return "".join(parts)


def _flags_html(data: dict[str, Any]) -> str:
    p, ident = data["position"], data["identite"]
    flags = []
    if data["blocage"] is not None:
        flags.append(f"Compensation bloquée : {BLOCAGE_LABELS[data['blocage']]}")
    if ident and ident.get("procedure_collective"):
        label = PROCEDURES.get(ident["procedure_collective"], ident["procedure_collective"])
        flags.append(f"Procédure collective : {label} ({format_date(ident.get('date_jugement'))})")
    if p["passif_declare"]:
        flags.append(f"Passif déclaré : {format_euros(p['passif_declare'])}")
    n, _ = _of_nature(data["dettes"], "ECHUE", sursis=True)
    if n:
        flags.append(f"Sursis de paiement ({n} dette(s))")
    contested = [ln for ln in data["dettes"] if ln.get("ouverte") and ln.get("conteste") and not ln.get("sursis")]
    if contested:
        flags.append(f"Titre(s) contesté(s) ({len(contested)})")
    if ident and ident.get("etat_administratif") == "C":
        flags.append("Entreprise cessée")
    if p["montant_compensable"] > 0:
        flags.append(f"Compensation possible : {format_euros(p['montant_compensable'])}")
    if p["nb_sources_dettes"] >= 2:
        flags.append(f"Débiteur commun à {p['nb_sources_dettes']} sources")
    if not flags:
        return "<p>Aucun indicateur particulier.</p>"
    return "<p>" + "".join(f'<span class="drapeau">{esc(f)}</span>' for f in flags) + "</p>"


def render_fiche(data: dict[str, Any], index_href: str | None = None) -> str:
    """The sheet as a standalone HTML page (no script)."""
    p = data["position"]
    national = data["departement"] is None
    name = (data["identite"] or {}).get("denomination") or p.get("denomination") or data["siren"]
    scope = "France entière" if national else f"Département {data['departement']}"
    title = f"Fiche entreprise — {name} ({data['siren']})"
    back = f' — <a href="{esc(index_href)}">tous les rapports</a>' if index_href else ""
    date = format_date(p.get("date_situation"))
    subtitle = f"<p>{esc(scope)} — situation au <strong>{esc(date)}</strong>{back}</p>"
    n_debts, n_credits = len(data["dettes"]), len(data["creances"])
    body = (
        f'<section id="indicateurs"><h2>Indicateurs</h2>{_flags_html(data)}</section>'
        f'<section id="identite"><h2>Identité</h2>{_identity_html(data["identite"], p)}</section>'
        f'<section id="position"><h2>Position</h2>{_position_html(p, national)}</section>'
        f'<section id="compensation"><h2>Compensation</h2>{_offsetting_html(data)}</section>'
        f'<section id="dettes"><h2>Dettes ({n_debts} ligne(s), toutes situations)</h2>'
        f"{_lines_html(data['dettes'], debts=True, national=national, blocage=data['blocage'])}</section>"
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
    )


def write_fiche(con: duckdb.DuckDBPyConnection, siren: str, departement: str | None, out: Path) -> Path:
    """Writes the sheet of one SIREN (``departement=None``: national sheet).

    ``out`` is the file when it ends in ``.html``, else a folder where the file
    is named by `fiche_filename` (the name dashboards link to, under ``fiches/``).
    Raises `PositionIntrouvable` (a `ValueError`) when the SIREN has no position.
    """
    data = load_fiche(con, siren, departement)
    out = Path(out)
    path = out if out.suffix.lower() == ".html" else out / fiche_filename(data["siren"], departement)
    if path.parent.name == FICHES_DIR:
        index_href: str | None = f"../{INDEX}"
    elif (path.parent / INDEX).exists():
        index_href = INDEX
    else:
        index_href = None
    write_text_atomic(path, render_fiche(data, index_href))
    return path
