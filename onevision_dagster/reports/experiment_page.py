"""The experiment's dashboard (SOURCES.md section 9, issue 10 point 4, issue 12 points 4 and 6): one offline
page comparing the pilot departments with the others, week by week.

Same frame as the other dashboards (`html_page`), plotly.js served beside the page, every text from the data
escaped. Tables carry the exact figures the charts draw, so the page still reads printed or without scripts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from onevision_dagster.app.outcomes import MOTIFS
from onevision_dagster.app.worklists import LISTS
from onevision_dagster.experiment.evaluation import (
    PLACEBO_PREFIX,
    contains_zero,
    interval_text,
    placebo_verdict,
    verdict,
)
from onevision_dagster.experiment.indicators import INDICATORS, PRINCIPAL
from onevision_dagster.experiment.outcomes_check import (
    CONFIRME,
    EN_ATTENTE,
    NON_CONSTATE,
    WEEKS,
    count_by_department,
)
from onevision_dagster.history.tables import OTHERS, PILOT
from onevision_dagster.reports import freshness
from onevision_dagster.reports.charts_experiment import (
    chart_departement,
    chart_groupes,
    chart_resultats,
    chart_stocks,
    chart_taux,
    chart_usage,
    group_label,
    month_label,
    rate_text,
    week_label,
    week_span,
)
from onevision_dagster.reports.dashboard import PLOTLY_JS, ensure_plotly_js, figure_div
from onevision_dagster.reports.experiment_data import ExperimentData
from onevision_dagster.reports.experiment_followup import FollowUp
from onevision_dagster.reports.formatting import MISSING, format_date, format_euros, format_nombre
from onevision_dagster.reports.html_page import (
    EXPERIMENT_FILENAME,
    INDEX,
    PAGE_KIND_EXPERIMENT,
    company_sheet_link,
    esc,
    page_html,
    table_html,
    write_text_atomic,
)
from onevision_dagster.reports.index_page import write_index
from onevision_dagster.reports.refunds_at_risk import AT_RISK_CSV

TITLE = "One Vision — expérimentation : départements pilotes et autres départements"
LIST_TITLES = {key: worklist.title for key, worklist in LISTS.items()}

_HELP = {
    "verdict": "Différence de différences : l'évolution du taux des départements pilotes entre les semaines avant "
    "et après le début de l'expérimentation, moins celle des autres départements sur les mêmes semaines (chaque "
    "taux pondéré par son dénominateur). La p-valeur compare cet écart à celui de toutes les façons de choisir "
    "autant de « pilotes » parmi les départements (inférence par randomisation) ; l'intervalle à 95 % réunit les "
    "effets que ce test ne rejette pas. Le placebo refait le calcul sur les seules semaines d'avant, avec un faux "
    "début en leur milieu : il ne doit rien trouver. Méthode, hypothèses et limites : docs/evaluation.md.",
    "taux": "Part de ce que l'outil signalait comme compensable au début de chaque période (montant compensable "
    "des positions) qui a été compensé pendant la période : par entreprise, le plus petit de ses imputations et de "
    "son montant compensable au début, rapporté au montant compensable au début (au plus 100 %). Les périodes "
    "sont regroupées par semaine ISO de leur fin ; pilotes et autres départements sur les mêmes semaines.",
    "recouvre": "Paiements reçus sur les dettes suivies (amendes, produits locaux, impôts professionnels, recettes "
    "non fiscales) entre deux instantanés, par tous moyens : une dette payée par compensation y figure aussi. Les "
    "compensations faites sont donc « dont par compensation » : les mêmes euros, jamais un second résultat.",
    "compensations": "Créances imputées sur des dettes (compensations faites) : une partie du recouvré, pas un "
    "résultat de plus ; en plein, la part que l'outil avait signalée comme compensable au début de la période.",
    "remboursements": "Créances remboursées par l'État ; en plein, la part « à risque » : remboursée à une "
    "entreprise qui, au début de la période, devait des impôts échus et poursuivables compensables (le plus petit "
    "des deux). "
    "C'est le chiffre que l'outil doit faire baisser.",
    "stocks": "Sommes des positions des départements du groupe à la fin des périodes de la semaine : dettes "
    "échues, créances certaines et dues (côte à côte, jamais soustraites), montant compensable.",
    "pilotes": "Chaque département pilote, instantané par instantané : en haut les flux de la période qui se "
    "termine à cette date, en bas les stocks à cette date.",
    "a-risque": "Pour chaque département, sa dernière période : les entreprises remboursées alors qu'elles "
    "devaient au début de la période des impôts échus et poursuivables compensables. À risque = le plus petit du "
    "montant "
    "remboursé et du montant compensable au début ; la somme d'un département est son « remboursé à risque ».",
    "suivi": "Ce que les agents ont fait des listes de travail de l'application (la dernière suite enregistrée "
    "par élément compte) et l'usage de l'application (fiches entreprises consultées, utilisateurs distincts).",
    "verification": "Une compensation déclarée « faite » est confirmée quand l'un des "
    f"{WEEKS} instantanés suivant le jour où elle a été enregistrée montre, pour ce SIREN, une imputation de créance "
    "ou un paiement d'impôts professionnels ; non constatée quand ces "
    f"{WEEKS} instantanés hebdomadaires ne montrent rien ; en attente tant qu'il y en a moins.",
}


_CARDS = (
    ("Taux de compensation", lambda r: rate_text(r["taux_compensation"]),
     lambda r: f"{format_euros(r['compense_signale'])} signalés compensés sur {format_euros(r['compensable_debut'])}"),
    ("Remboursé à risque", lambda r: format_euros(r["rembourse_a_risque"]),
     lambda r: f"sur {format_euros(r['rembourse'])} remboursés ; {format_nombre(r['nb_departements'])} "
               "département(s)"),
    ("Recouvré (tous moyens)", lambda r: format_euros(r["recouvre"]),
     lambda r: f"dont par compensation : {format_euros(r['compense'])} (les mêmes euros, pas un second résultat)"),
)


def _cards(data: ExperimentData) -> str:
    week = data.derniere_semaine
    if week is None:
        return "<p>Aucune période dans l'historique : il faut au moins deux instantanés d'un département.</p>"
    last = data.semaines[data.semaines["semaine"] == week].set_index("groupe")
    groups = [g for g in (PILOT, OTHERS) if g in last.index]
    # the two groups side by side, measure by measure
    cards = [(f"{name} — {group_label(g).lower()}", value(last.loc[g]), detail(last.loc[g]))
             for name, value, detail in _CARDS for g in groups]
    body = "".join(
        f'<div class="chiffre"><div class="libelle">{esc(label)}</div><div class="valeur">{esc(value)}</div>'
        f'<div class="detail">{esc(detail)}</div></div>' for label, value, detail in cards)
    return f'<p>Dernière semaine : {esc(week_span(week))}.</p><div class="chiffres">{body}</div>'


def _points_cell(value: object) -> str:
    if value is None or pd.isna(value):
        return MISSING
    return format_nombre(float(value) * 100, 1)


def _verdict_table(evaluation: pd.DataFrame) -> str:
    headers = [("Indicateur", False), ("Verdict", False), ("Écart (points)", True), ("Intervalle et p-valeur", False),
               ("Régression à effets fixes (contrôle)", True), ("Placebo (points)", True),
               ("Placebo : intervalle et p-valeur", False)]
    placebos = {str(r["indicateur"]).removeprefix(PLACEBO_PREFIX): r
                for r in evaluation[evaluation["placebo"].astype(bool)].to_dict("records")}
    rows = []
    for r in evaluation[~evaluation["placebo"].astype(bool)].to_dict("records"):
        code = str(r["indicateur"])
        pl = placebos.get(code)
        estimated = r["estimation"] is not None and not pd.isna(r["estimation"])
        pl_estimated = pl is not None and pl["estimation"] is not None and not pd.isna(pl["estimation"])
        rows.append([esc(INDICATORS[code].libelle),
                     esc(("non concluant" if contains_zero(r) else "effet") if estimated else "pas d'estimation"),
                     esc(_points_cell(r["estimation"])), esc(interval_text(r) if estimated else MISSING),
                     esc(_points_cell(r["estimation_regression"])),
                     esc(_points_cell(pl["estimation"]) if pl_estimated else MISSING),
                     esc(interval_text(pl) if pl_estimated else MISSING)])
    return f'<div class="defile">{table_html(headers, rows, caption="Tous les indicateurs")}</div>'


def _verdict_html(data: ExperimentData) -> str:
    evaluation = data.evaluation
    if evaluation is None:
        return ('<p class="encadre">Le verdict n\'a pas encore été calculé dans cet entrepôt : lancez '
                "<code>onevision run</code> ou matérialisez l'asset « experiment/evaluation ».</p>")
    main = evaluation[(evaluation["indicateur"] == PRINCIPAL)].to_dict("records")
    if not main:
        return "<p class=\"encadre\">Aucune période dans l'historique : pas de verdict.</p>"
    row = main[0]
    placebo = evaluation[evaluation["indicateur"] == PLACEBO_PREFIX + PRINCIPAL].to_dict("records")
    start = data.debut
    context = (f"Début de l'expérimentation : {format_date(start)} (ONEVISION_DEBUT_PILOTE) ; "
               if start is not None else "")
    context += (f"{format_nombre(row['pilotes'])} département(s) pilote(s) "
                f"({row['liste_pilotes'].replace(',', ', ') or MISSING}) et {format_nombre(row['temoins'])} autre(s) ; "
                f"{format_nombre(row['semaines_avant'])} semaine(s) avant, "
                f"{format_nombre(row['semaines_apres'])} après.")
    return (f'<p class="encadre" id="verdict-phrase"><strong>{esc(verdict(row))}</strong></p>'
            + (f"<p>{esc(placebo_verdict(placebo[0]))}</p>" if placebo else "")
            + f"<p>{esc(context)}</p>{_verdict_table(evaluation)}")


_WEEK_HEADERS = [("Semaine", False), ("Groupe", False), ("Départements", True), ("Recouvré (tous moyens)", True),
                 ("dont par compensation", True), ("dont signalé par l'outil", True), ("Compensable au début", True),
                 ("Taux de compensation", True), ("Remboursé", True), ("dont à risque", True),
                 ("Dettes échues (fin)", True), ("Créances certaines (fin)", True), ("Compensable (fin)", True)]


def _weeks_table(semaines: pd.DataFrame) -> str:
    if semaines.empty:
        return ""
    rows = [[esc(week_label(r.semaine)), esc(group_label(r.groupe)), esc(format_nombre(r.nb_departements)),
             *(esc(format_euros(getattr(r, c))) for c in ("recouvre", "compense", "compense_signale",
                                                        "compensable_debut")),
             esc(rate_text(r.taux_compensation)),
             *(esc(format_euros(getattr(r, c))) for c in ("rembourse", "rembourse_a_risque", "stock_dettes",
                                                        "stock_creances", "stock_compensable"))]
            for r in semaines.sort_values(["semaine", "groupe"], ascending=[False, False]).itertuples(index=False)]
    table = table_html(_WEEK_HEADERS, rows, caption="Par semaine, pilotes et autres départements (la plus récente "
                       "d'abord)")
    return f'<div class="defile">{table}</div>'



def _pilot_table(evolution: pd.DataFrame) -> str:
    headers = [("Instantané", False), ("Période", False), ("Entreprises", True), ("Recouvré (tous moyens)", True),
               ("dont par compensation", True), ("dont signalé par l'outil", True), ("Taux de compensation", True),
               ("Remboursé", True), ("dont à risque", True), ("Dettes échues", True), ("Créances certaines", True),
               ("Compensable", True)]
    rows = []
    for r in evolution.itertuples(index=False):
        first = r.date_debut is None or pd.isna(r.date_debut)
        period = "premier instantané" if first else f"depuis le {format_date(r.date_debut)}"
        flows = [MISSING if first else format_euros(getattr(r, c)) for c in ("recouvre", "compense",
                                                                              "compense_signale")]
        refunds = [MISSING if first else format_euros(getattr(r, c)) for c in ("rembourse", "rembourse_a_risque")]
        rows.append([esc(format_date(r.date_situation)), esc(period), esc(format_nombre(r.nb_entreprises)),
                     *map(esc, flows), esc(rate_text(r.taux_compensation)), *map(esc, refunds),
                     *(esc(format_euros(getattr(r, c))) for c in ("stock_dettes", "stock_creances",
                                                                "stock_compensable"))])
    return f'<div class="defile">{table_html(headers, rows)}</div>'


def _pilots_html(data: ExperimentData) -> str:
    if not data.pilotes:
        return "<p>Aucun département pilote configuré (ONEVISION_PILOTES).</p>"
    parts = []
    for dept in data.pilotes:
        part = data.evolution[data.evolution["departement"] == dept]
        parts.append(f'<h3 id="pilote-{esc(dept)}">Département {esc(dept)}</h3>')
        if part.empty:
            parts.append("<p>Aucun instantané de ce département dans l'historique.</p>")
            continue
        parts.append(figure_div(f"pilote-{dept}", chart_departement(part, dept)) + _pilot_table(part))
    return "".join(parts)


def _at_risk_html(data: ExperimentData, out_dir: Path) -> str:
    totals = data.a_risque_totaux
    if totals.empty:
        return "<p>Aucune période dans l'historique.</p>"
    parts = []
    if (out_dir / AT_RISK_CSV).exists():
        parts.append(f'<p>Liste complète, tous départements : <a href="{esc(AT_RISK_CSV)}">{esc(AT_RISK_CSV)}</a> '
                     "(format des exports pour les agents, à ouvrir dans un tableur).</p>")
    headers = [("SIREN", False), ("Entreprise", False), ("Département", False), ("Remboursé", True),
               ("Compensable au début", True), ("À risque", True)]
    for t in totals.itertuples(index=False):
        dept = str(t.departement)
        period = f"du {format_date(t.date_debut)} au {format_date(t.date_fin)}"
        parts.append(f'<h3 id="a-risque-{esc(dept)}">Département {esc(dept)} — période {esc(period)}</h3>')
        if not t.nb_entreprises:
            parts.append("<p>Aucun remboursement à risque sur cette période.</p>")
            continue
        rows = [[esc(r.siren), company_sheet_link(r.siren, esc(r.denomination)), esc(dept),
                 esc(format_euros(r.rembourse)), esc(format_euros(r.compensable_debut)), esc(format_euros(r.a_risque))]
                for r in data.a_risque[data.a_risque["departement"] == dept].itertuples(index=False)]
        shown = len(rows)
        caption = (f"{format_nombre(t.nb_entreprises)} entreprise(s), {format_euros(t.a_risque)} à risque"
                   + (f" ; les {format_nombre(shown)} plus importantes" if shown < t.nb_entreprises else ""))
        footer = [["", "Total du département", "", "", "", esc(format_euros(t.a_risque))]]
        parts.append(table_html(headers, rows, caption=caption, footer=footer))
    return "".join(parts)


def _outcomes_tables(followup: FollowUp) -> str:
    headers = [("Liste de travail", False), ("Groupe", False), ("Éléments enregistrés", True), ("Faits", True),
               ("Non pertinents", True), ("Taux d'acceptation", True), ("Montant obtenu", True)]
    g = followup.resultats_groupes
    rows = [[esc(LIST_TITLES.get(r.liste, r.liste)), esc(group_label(r.groupe)), esc(format_nombre(r.decides)),
             esc(format_nombre(r.faits)), esc(format_nombre(r.non_pertinents)), esc(rate_text(r.taux_acceptation)),
             esc(format_euros(r.montant_obtenu))] for r in g.itertuples(index=False)]
    html = table_html(headers, rows, caption="Par liste, pilotes et autres départements") if rows else \
        "<p>Aucune suite enregistrée sur les listes de travail.</p>"
    d = followup.resultats
    if not d.empty:
        headers_d = [("Département", False), *headers[:1], *headers[2:]]
        rows_d = [[esc(r.departement), esc(LIST_TITLES.get(r.liste, r.liste)), esc(format_nombre(r.decides)),
                   esc(format_nombre(r.faits)), esc(format_nombre(r.non_pertinents)),
                   esc(rate_text(r.taux_acceptation)), esc(format_euros(r.montant_obtenu))]
                  for r in d.itertuples(index=False)]
        html += table_html(headers_d, rows_d, caption="Par département et liste")
    return html


def _usage_table(usage: pd.DataFrame) -> str:
    if usage.empty:
        return "<p>Aucune consultation de fiche entreprise enregistrée.</p>"
    headers = [("Mois", False), ("Département", False), ("Groupe", False), ("Utilisateurs distincts", True),
               ("Fiches consultées", True)]
    rows = [[esc(month_label(r.mois)), esc("toute la France" if r.groupe == "national" else r.departement),
             esc(group_label(r.groupe)), esc(format_nombre(r.utilisateurs)), esc(format_nombre(r.consultations))]
            for r in usage.sort_values(["mois", "departement"], ascending=[False, True]).itertuples(index=False)]
    return table_html(headers, rows, caption="Par mois et département (un agent habilité sur plusieurs "
                      "départements compte dans chacun)")


def _verification_html(followup: FollowUp, pilotes: tuple[str, ...]) -> str:
    """Issue 19 point 5: the offsets declared done, confirmed or not by the later snapshots."""
    if followup.faits.empty:
        return "<p>Aucune compensation déclarée « faite » dans l'application.</p>"
    if followup.verification is None:
        return "<p>Les compensations déclarées faites n'ont pas pu être vérifiées : pas d'historique calculé.</p>"
    counts = count_by_department(followup.verification)
    headers = [("Département", False), ("Groupe", False), ("Déclarées faites", True), ("Confirmées", True),
               ("Non constatées", True), ("En attente", True)]
    rows = [[esc(r["departement"]), esc(group_label(PILOT if r["departement"] in pilotes else OTHERS)),
             *(esc(format_nombre(r[c])) for c in ("faits", CONFIRME, NON_CONSTATE, EN_ATTENTE))]
            for r in counts.to_dict("records")]
    footer = [["Total", "", *(esc(format_nombre(int(counts[c].sum())))
                              for c in ("faits", CONFIRME, NON_CONSTATE, EN_ATTENTE))]]
    return (f'<p class="aide">{esc(_HELP["verification"])}</p>'
            + table_html(headers, rows, caption="Compensations déclarées faites, vérifiées dans les extraits",
                         footer=footer))


def _followup_html(followup: FollowUp, pilotes: tuple[str, ...] = ()) -> str:
    if not followup.available:
        return f'<p class="encadre">Aucune donnée de suivi : {esc(followup.note)}</p>'
    motifs = ", ".join(MOTIFS.values())
    return (f"{figure_div('resultats', chart_resultats(followup.resultats_groupes, LIST_TITLES))}"
            f"{_outcomes_tables(followup)}"
            f"<h3 id=\"verification\">Compensations faites : vérification dans les extraits</h3>"
            f"{_verification_html(followup, pilotes)}"
            f'<p class="aide">Motifs possibles d\'un élément non pertinent : {esc(motifs)}.</p>'
            f"{figure_div('usage', chart_usage(followup.usage))}{_usage_table(followup.usage)}")


def render_experiment(data: ExperimentData, followup: FollowUp, out_dir: Path,
                      freshness_days: int | None = None) -> str:
    s = data.semaines
    charts: list[tuple[str, str, Any]] = [
        ("taux", "Taux de compensation", chart_taux(s, data.debut)),
        ("recouvre", "Montants recouvrés", chart_groupes(
            s, "recouvre", "Recouvré (tous moyens)", "Montants recouvrés par semaine, dont par compensation",
            subset="compense", subset_label="dont par compensation")),
        ("compensations", "Compensations faites (une partie du recouvré)", chart_groupes(
            s, "compense", "Compensé", "Compensations faites par semaine (déjà comptées dans le recouvré)",
            subset="compense_signale", subset_label="dont signalé")),
        ("remboursements", "Remboursements et remboursé à risque", chart_groupes(
            s, "rembourse", "Remboursé", "Remboursements par semaine et remboursé à risque",
            subset="rembourse_a_risque", subset_label="dont à risque")),
        ("stocks", "Stocks", chart_stocks(s)),
    ]
    missing = ""
    if data.tables_absentes:
        missing = ('<p class="alerte">L\'historique n\'a pas encore été calculé dans cet entrepôt (tables absentes : '
                   f"{esc(', '.join(data.tables_absentes))}) : lancez <code>onevision run</code> ou matérialisez "
                   "le groupe « historique ».</p>")
    sections = [f'<section id="{key}"><h2>{esc(title)}</h2><p class="aide">{esc(_HELP[key])}</p>'
                f"{figure_div(key, fig)}{_weeks_table(s) if key == 'stocks' else ''}</section>"
                for key, title, fig in charts]
    sections += [
        f'<section id="pilotes"><h2>Départements pilotes</h2><p class="aide">{esc(_HELP["pilotes"])}</p>'
        f"{_pilots_html(data)}</section>",
        f'<section id="a-risque"><h2>Remboursements à risque, par département</h2>'
        f'<p class="aide">{esc(_HELP["a-risque"])}</p>{_at_risk_html(data, out_dir)}</section>',
        f'<section id="suivi"><h2>Suivi par les agents</h2><p class="aide">{esc(_HELP["suivi"])}</p>'
        f"{_followup_html(followup, data.pilotes)}</section>",
    ]
    nav_items = [("verdict", "Verdict")] + [(k, t) for k, t, _ in charts] + [("pilotes", "Départements pilotes"),
                                                 ("a-risque", "Remboursements à risque"), ("suivi", "Suivi")]
    nav = " ".join(f'<a href="#{esc(k)}">{esc(t)}</a>' for k, t in nav_items)
    body = (f'{missing}<section id="verdict"><h2>Verdict de l\'expérimentation</h2>{_verdict_html(data)}'
            f'<p class="aide">{esc(_HELP["verdict"])}</p></section>'
            f'<section id="chiffres-cles"><h2>Chiffres clés</h2>{_cards(data)}</section>'
            f'<nav class="sommaire">Aller à : {nav}</nav>' + "".join(sections))
    pilots = ", ".join(data.pilotes) or "aucun"
    subtitle = (f"<p>Départements pilotes : <strong>{esc(pilots)}</strong> (ONEVISION_PILOTES) — "
                f'<a href="{INDEX}">tous les tableaux de bord</a></p>')
    if data.fraicheur:  # the latest snapshot of each department in the history: what the figures run up to
        subtitle += freshness.paragraph(freshness.flag(data.fraicheur, freshness.limit_days(freshness_days)),
                                        "page produite")
    return page_html(TITLE, body, kind=PAGE_KIND_EXPERIMENT, perimetre="experimentation", subtitle_html=subtitle,
                     head_extra=f'<script src="./{PLOTLY_JS}" charset="utf-8"></script>', synthetic=data.synthetique)


def write_experiment_dashboard(data: ExperimentData, followup: FollowUp, out_dir: Path,
                               freshness_days: int | None = None) -> Path:
    """Writes the page, plotly.js beside it (once), and refreshes ``index.html``."""
    out_dir = Path(out_dir)
    ensure_plotly_js(out_dir)
    path = out_dir / EXPERIMENT_FILENAME
    write_text_atomic(path, render_experiment(data, followup, out_dir, freshness_days))
    write_index(out_dir)
    return path

