"""Writes the three OpenDocument templates of `templates/` with odfdo (no hand-written XML).

`python -m onevision_dagster.documents.make_templates` (odfdo is in the `dev` extra) rewrites them; they can
also be edited in LibreOffice: a template is an ordinary .odt whose relatorio directives are hyperlinks
`relatorio://EXPR` showing `EXPR` (values, `for each="x in xs"` … `/for`, `if test="…"` … `/if`) and whose
fields to fill by hand are bracketed, highlighted text. docs/documents.md lists the values each one receives.
"""

from __future__ import annotations

import re
from pathlib import Path

from odfdo import Cell, Column, Document, Link, Paragraph, Row, Span, Style, Table

TEMPLATES = Path(__file__).with_name("templates")
# {expr} is a relatorio value or directive, [texte] a field the agent fills in
_TOKEN = re.compile(r"(\{[^{}]+\}|\[[^\[\]]+\])")

CELL_BORDER = "0.5pt solid #808080"


def _styles(doc: Document) -> None:
    def paragraph(name: str, size: str = "10pt", bold: bool = False, align: str | None = None,
                  space_before: str = "0cm", space_after: str = "0.15cm", italic: bool = False,
                  color: str | None = None, page_break: bool = False) -> None:
        style = Style("paragraph", name=name, area="text", bold=bold, italic=italic, color=color,
                      **{"fo:font-size": size, "style:font-name": "Liberation Sans"})
        props = {"fo:margin-top": space_before, "fo:margin-bottom": space_after}
        if align:
            props["fo:text-align"] = align
        if page_break:
            props["fo:break-before"] = "page"
        style.set_properties(props, area="paragraph")
        doc.insert_style(style, automatic=False)

    paragraph("OV Texte", align="justify")
    paragraph("OV Titre", size="13pt", bold=True, align="center", space_before="0.4cm", space_after="0.3cm")
    paragraph("OV Sous-titre", align="center", space_after="0.3cm")
    paragraph("OV Groupe", size="9pt", bold=True, space_before="0.25cm", space_after="0.1cm")
    paragraph("OV Intertitre", size="11pt", bold=True, space_before="0.35cm", space_after="0.15cm")
    paragraph("OV Annexe", size="11pt", bold=True, space_after="0.15cm", page_break=True)
    paragraph("OV Service", size="10pt", bold=True, space_after="0cm")
    paragraph("OV Destinataire", size="10pt", align="end", space_after="0cm")
    paragraph("OV Cellule", size="9pt", space_after="0cm")
    paragraph("OV Cellule entete", size="9pt", bold=True, space_after="0cm")
    paragraph("OV Montant", size="9pt", align="end", space_after="0cm")
    paragraph("OV Total", size="10pt", bold=True, align="end", space_before="0.1cm")
    paragraph("OV Mention", size="8pt", italic=True, color="#555555", align="justify", space_before="0.3cm")
    doc.insert_style(Style("text", name="OV A completer", background_color="#fff2a8"), automatic=False)
    doc.insert_style(Style("table-cell", name="OV Case", border=CELL_BORDER, padding="0.08cm"), automatic=True)
    doc.insert_style(Style("table-cell", name="OV Case entete", border=CELL_BORDER, padding="0.08cm",
                           background_color="#e6e6e6"), automatic=True)


def _fill(paragraph: Paragraph, text: str) -> Paragraph:
    for token in _TOKEN.split(text):
        if not token:
            continue
        if token.startswith("{"):
            expr = token[1:-1]
            paragraph.append(Link(url=f"relatorio://{expr}", text=expr))
        elif token.startswith("["):
            paragraph.append(Span(token, style="OV A completer"))
        else:
            paragraph.append(token)
    return paragraph


def p(text: str, style: str = "OV Texte") -> Paragraph:
    return _fill(Paragraph(style=style), text)


def directive(expr: str) -> Paragraph:
    """A paragraph holding only a directive (`if`, `for`, `/if`...): relatorio removes it from the output."""
    return p("{" + expr + "}")


def table(doc: Document, name: str, headers: list[str], each: str, cells: list[str], amounts: set[int],
          widths: list[float], total: list[str] | None = None) -> Table:
    """Header row, one row per item of `each` (`x in xs`), an optional total row; `amounts`: right-aligned columns;
    `widths` in centimetres (17 in all, the A4 text width)."""
    t = Table(name, style=_table_style(doc, sum(widths)))
    for width in widths:
        t.append(Column(style=_column_style(doc, width)))

    def row(values: list[str], header: bool = False, total_row: bool = False) -> None:
        r = Row()
        for i, value in enumerate(values):
            cell = Cell(style="OV Case entete" if header or total_row else "OV Case")
            style = "OV Cellule entete" if header else "OV Montant" if i in amounts else "OV Cellule"
            if total_row and i not in amounts:
                style = "OV Cellule entete"
            cell.append(p(value, style))
            r.append(cell)
        t.append(r)

    row(headers, header=True)
    row(["{for each=\"" + each + "\"}"] + [""] * (len(headers) - 1))
    row(cells)
    row(["{/for}"] + [""] * (len(headers) - 1))
    if total:
        row(total, total_row=True)
    return t


def _table_style(doc: Document, width: float) -> str:
    name = f"OV Tableau {width:g}"
    doc.insert_style(Style("table", name=name, width=f"{width:g}cm", align="left"), automatic=True)
    return name


def _column_style(doc: Document, width: float) -> str:
    name = f"OV Colonne {width:g}"
    doc.insert_style(Style("table-column", name=name, width=f"{width:g}cm"), automatic=True)
    return name


def _heading(doc: Document) -> None:
    body = doc.body
    body.append(p("[Nom du service]", "OV Service"))
    body.append(p("[Adresse du service]", "OV Service"))
    body.append(p("Affaire suivie par : [nom, téléphone, courriel]", "OV Cellule"))
    body.append(p("{destinataire_titre}", "OV Destinataire"))
    body.append(p("{destinataire_nom}", "OV Destinataire"))
    body.append(p("{destinataire_adresse}", "OV Destinataire"))
    body.append(p("{destinataire_commune}", "OV Destinataire"))
    body.append(p("[Lieu], le {date_document}", "OV Destinataire"))


def _company(doc: Document) -> None:
    doc.body.append(p("Entreprise : {denomination} — SIREN {siren_affiche}{adresse_entreprise}"))
    doc.body.append(p("Situation du {date_situation} (département {departement}), établie par One Vision le "
                      "{date_document} d'après les extractions des applications de recouvrement."))


def _signature(doc: Document) -> None:
    doc.body.append(p("Le comptable public,", "OV Destinataire"))
    doc.body.append(p("[Nom, qualité et signature]", "OV Destinataire"))


def _footer(doc: Document, what: str) -> None:
    doc.body.append(p(f"Projet de {what} établi automatiquement par One Vision à partir des données du "
                      "{date_situation} : l'agent vérifie chaque montant dans les applications de recouvrement, "
                      "complète les champs surlignés et signe avant tout envoi. Montants en euros.", "OV Mention"))


def _new() -> Document:
    doc = Document("text")
    doc.body.clear()
    _styles(doc)
    return doc


def notification() -> Document:
    doc = _new()
    body = doc.body
    _heading(doc)
    body.append(p("Notification d'affectation d'une créance au paiement d'impositions", "OV Titre"))
    body.append(p("(art. L. 257 B et R. 257 B-1 du livre des procédures fiscales)", "OV Sous-titre"))
    _company(doc)
    body.append(p("Objet : affectation de sommes dues par l'État au paiement de vos impositions", "OV Intertitre"))
    body.append(p("Madame, Monsieur,"))
    body.append(p("L'article L. 257 B du livre des procédures fiscales permet au comptable public d'affecter les "
                  "remboursements, restitutions et autres sommes que l'État doit à un contribuable au paiement "
                  "de ses impôts, droits, taxes, pénalités et intérêts, lorsque ces créances sont liquides et "
                  "exigibles. Conformément à l'article R. 257 B-1 du même livre, je vous informe que "
                  "{montant_affecte} des sommes qui vous sont dues sont affectés au paiement des impositions "
                  "ci-dessous."))
    body.append(directive('if test="inter_departements"'))
    body.append(p("{phrase_departements}"))
    body.append(directive("/if"))
    body.append(p("1. Sommes dues par l'État affectées", "OV Intertitre"))
    body.append(table(doc, "Creances", ["Origine", "Référence", "Détail", "Montant dû", "Montant affecté",
                                        "Reste dû par l'État"], "c in creances",
                      ["{c.source}", "{c.reference}", "{c.detail}", "{c.montant}", "{c.affecte}", "{c.reste}"],
                      {3, 4, 5}, [3.3, 3.2, 3.1, 2.4, 2.5, 2.5],
                          ["Total", "", "", "{total_creances}", "{montant_affecte}", "{reste_creances}"]))
    body.append(p("2. Impositions payées par cette affectation", "OV Intertitre"))
    body.append(table(doc, "Impositions", ["Référence", "Impôt", "Période", "Exigible le", "Dépt", "Montant dû",
                                           "Montant affecté", "Reste à payer"], "d in impositions",
                      ["{d.reference}", "{d.impot}", "{d.periode}", "{d.date_exigibilite}", "{d.departement}",
                       "{d.montant}", "{d.affecte}", "{d.reste}"],
                      {5, 6, 7}, [2.8, 1.3, 1.6, 2.2, 1.2, 2.6, 2.7, 2.6],
                          ["Total", "", "", "", "", "{total_impositions}", "{montant_affecte}",
                                  "{reste_impositions}"]))
    body.append(p("Montant affecté : {montant_affecte}", "OV Total"))
    body.append(p("Après cette affectation, l'État vous reste redevable de {reste_creances} et vos impositions "
                  "ci-dessus restent dues pour {reste_impositions}."))
    body.append(p("Les impositions sont payées dans l'ordre de leurs dates d'exigibilité, les plus anciennes "
                  "d'abord. Seules des impositions échues et non suspendues sont concernées : une imposition sous "
                  "sursis de paiement n'est ni poursuivie ni compensée (art. L. 277 du livre des procédures "
                  "fiscales)."))
    body.append(p("Voies de recours", "OV Intertitre"))
    body.append(p("Si vous contestez cette affectation, vous pouvez adresser une réclamation au responsable du "
                  "service dont relève le comptable public signataire, dans les deux mois de la réception de la "
                  "présente notification (art. L. 281 et R. 281-1 et suivants du livre des procédures fiscales). "
                  "La contestation du montant de l'impôt lui-même relève de la réclamation prévue à "
                  "l'article L. 190 du même livre."))
    body.append(p("Je vous prie d'agréer, Madame, Monsieur, l'expression de ma considération distinguée."))
    _signature(doc)
    _footer(doc, "notification")
    return doc


def declaration() -> Document:
    doc = _new()
    body = doc.body
    _heading(doc)
    body.append(p("Déclaration de créances", "OV Titre"))
    body.append(p("(art. L. 622-24 et L. 622-25 du Code de commerce)", "OV Sous-titre"))
    _company(doc)
    body.append(p("Procédure : {procedure} ouverte par jugement du {date_jugement} du [tribunal], publié au "
                  "BODACC {publication}."))
    body.append(p("Date limite de déclaration : {date_limite}", "OV Intertitre"))
    body.append(p("{phrase_delai}"))
    body.append(p("Le comptable public soussigné déclare au passif de la procédure les créances suivantes, dues au "
                  "jour du jugement d'ouverture, avec l'indication des sommes à échoir et de la date de leurs "
                  "échéances (art. L. 622-25 du Code de commerce), sous réserve des impôts et autres créances non "
                  "établis à la date de la déclaration (art. L. 622-24 du Code de commerce)."))
    body.append(directive('for each="g in groupes"'))
    body.append(p("{g.titre}", "OV Intertitre"))
    body.append(table(doc, "Creances", ["Référence", "Nature", "Née le", "Échéance", "Montant", "État"],
                      "l in g.lignes", ["{l.reference}", "{l.nature}", "{l.date_origine}", "{l.echeance}",
                                        "{l.montant}", "{l.etat}"], {4}, [2.9, 3.6, 2.1, 2.1, 2.3, 4.0],
                                            ["Sous-total", "", "", "", "{g.total}", ""]))
    body.append(directive("/for"))
    body.append(p("Créances échues : {total_echu}", "OV Total"))
    body.append(p("Créances à échoir : {total_a_echoir}{echeances_a_echoir}", "OV Total"))
    body.append(p("Total déclaré : {total_declare}", "OV Total"))
    body.append(p("Privilège ou sûreté dont la créance est assortie (art. L. 622-25 du Code de commerce) : "
                  "[à préciser]. Pièces justificatives jointes sous bordereau (art. R. 622-23 du Code de commerce) : "
                  "[à préciser]."))
    body.append(p("Je certifie sincères les créances déclarées ci-dessus."))
    _signature(doc)
    body.append(directive('for each="a in annexes_comptables"'))
    body.append(p("Annexe — {a.titre}", "OV Annexe"))
    body.append(p("Ces créances ne sont pas déclarées par le présent service : le comptable qui en a la charge les "
                  "déclare lui-même (art. L. 622-24 du Code de commerce). Elles lui sont signalées avec leur date "
                  "limite."))
    body.append(table(doc, "Annexe", ["Référence", "Nature", "Née le", "Échéance", "Montant", "État"],
                      "l in a.lignes", ["{l.reference}", "{l.nature}", "{l.date_origine}", "{l.echeance}",
                                        "{l.montant}", "{l.etat}"], {4}, [2.9, 3.6, 2.1, 2.1, 2.3, 4.0],
                                            ["Total", "", "", "", "{a.total}", ""]))
    body.append(directive("/for"))
    body.append(directive('if test="a_qualifier"'))
    body.append(p("Annexe — créances nées après le jugement, à qualifier ({article_qualifier} du Code de commerce)",
                  "OV Annexe"))
    body.append(p("Ces créances ne figurent pas dans la déclaration. Une créance née régulièrement après le jugement "
                  "pour les besoins de la procédure ou en contrepartie d'une prestation fournie au débiteur est "
                  "payée à son échéance ({article_qualifier} I) ; les autres se déclarent dans les délais de "
                  "l'article R. 622-24, qui courent alors de leur date d'exigibilité (art. L. 622-24, "
                  "sixième alinéa). L'agent qualifie chacune."))
    body.append(table(doc, "Qualifier", ["Référence", "Nature", "Née le", "Échéance", "Montant", "Comptable"],
                      "l in a_qualifier", ["{l.reference}", "{l.nature}", "{l.date_origine}", "{l.echeance}",
                                           "{l.montant}", "{l.service}"], {4}, [2.9, 3.6, 2.1, 2.1, 2.3, 4.0],
                      ["Total", "", "", "", "{total_a_qualifier}", ""]))
    body.append(directive("/if"))
    _footer(doc, "déclaration")
    return doc


def satd() -> Document:
    doc = _new()
    body = doc.body
    _heading(doc)
    body.append(p("Projet de saisie administrative à tiers détenteur commune", "OV Titre"))
    body.append(p("(art. L. 262 du livre des procédures fiscales)", "OV Sous-titre"))
    _company(doc)
    body.append(p("En application de l'article L. 262 du livre des procédures fiscales, le tiers détenteur est tenu "
                  "de verser au comptable public, à concurrence des sommes ci-dessous, les fonds qu'il détient ou "
                  "doit à {denomination} (SIREN {siren_affiche}). La saisie emporte l'effet d'attribution immédiate "
                  "prévu à l'article L. 211-2 du code des procédures civiles d'exécution ; elle est notifiée en "
                  "même temps au redevable."))
    body.append(p("Créances poursuivies, par nature et titre exécutoire", "OV Intertitre"))
    body.append(directive('for each="g in groupes"'))
    body.append(p("{g.titre} — titre exécutoire : {g.titre_executoire}", "OV Groupe"))
    body.append(table(doc, "Creances", ["Référence", "Détail", "Date", "Comptable", "Montant"], "l in g.lignes",
                      ["{l.reference}", "{l.detail}", "{l.date}", "{l.service}", "{l.montant}"], {4},
                      [3.0, 4.2, 2.0, 5.2, 2.6],
                      ["Sous-total", "", "", "", "{g.total}"]))
    body.append(directive("/for"))
    body.append(p("Montant total de la saisie : {total_poursuivable}", "OV Total"))
    body.append(p("Seules les dettes échues poursuivables (non suspendues d'après les données) sont reprises. "
                  "{phrase_exclues}"))
    body.append(p("Le redevable peut contester la saisie dans les conditions des articles L. 281 et R. 281-1 et "
                  "suivants du livre des procédures fiscales."))
    _signature(doc)
    _footer(doc, "saisie administrative à tiers détenteur")
    return doc


BUILDERS = {"notification": notification, "declaration": declaration, "satd": satd}


def main() -> None:
    TEMPLATES.mkdir(exist_ok=True)
    for kind, build in BUILDERS.items():
        build().save(TEMPLATES / f"{kind}.odt")
        print(TEMPLATES / f"{kind}.odt")


if __name__ == "__main__":
    main()
